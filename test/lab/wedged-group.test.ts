/**
 * Issue 16 item 3 on a real cluster: a foreign CPG member in pve_dcdb_v1 sends a message
 * whose header claims a newer protocol; every daemon goes to VERSION_ERROR ("detected
 * newer protocol", as C). Afterwards a write through /etc/pve is answered at once with
 * EBUSY instead of blocking, SIGTERM still ends the daemon cleanly within 10 s, and once
 * the foreign member is gone a restart of the daemons brings the cluster back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/lab/agent-client.js';
import { DaemonLab, fuseLabUnavailable } from '../../src/lab/daemons.js';
import { Lab, ownedLabPrefix } from '../../src/lab/lab.js';

const PREFIX = ownedLabPrefix('wedge');
/** A writer's answer must come within this (it used to never come). */
const WRITE_BOUND_MS = 3000;
const STOP_BOUND_MS = 10_000;
const skip = fuseLabUnavailable();

describe('a wedged dcdb group (VERSION_ERROR) never blocks writers nor the stop', { skip, timeout: 300_000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const d = new DaemonLab(lab);

  before(async () => {
    await lab.down();
    await lab.up(2, { wait: true, timeoutMs: 60_000 });
    for (const i of [1, 2]) d.start(i, [], { fuse: true });
    await d.waitSynced([1, 2], 60_000);
  });

  after(async () => {
    await lab.down();
  });

  it('newer protocol seen: writes get EBUSY at once, SIGTERM works, a restart without the intruder syncs', async () => {
    const made = await d.sh(1, 'echo before > /etc/pve/before.txt && cat /etc/pve/before.txt');
    assert.equal(made.stdout, 'before\n', made.stderr);
    // The lab agent's messages start with its tag ("2/<pid>:0"): as a DFSM header that is
    // a state message with protocol version 0x303a....: newer than ours.
    const agent = new Agent(lab, 2, ['pve_dcdb_v1']);
    try {
      await agent.waitFor((e) => e.ev === 'connected', 10_000);
      await agent.request({ cmd: 'send', count: 1, size: 64 }, 'sent');
      for (const i of [1, 2]) await d.waitFor(i, (s) => s.dfsm?.mode === 'VERSION_ERROR', 20_000, 'VERSION_ERROR');
      assert.match(lab.readLog(1, 'pmxcfs'), /detected newer protocol/);
      const t0 = Date.now();
      const w = await d.sh(1, 'echo after > /etc/pve/after.txt; echo "rc=$?"');
      const took = Date.now() - t0;
      assert.ok(took < WRITE_BOUND_MS, `the write was answered in ${took} ms`);
      assert.match(w.stdout, /rc=[1-9]/, "the write failed");
      assert.match(w.stderr, /Device or resource busy/);
      assert.equal((await d.sh(1, 'cat /etc/pve/before.txt')).stdout, 'before\n', 'reads keep working');
      const s0 = Date.now();
      assert.ok(await lab.kill(1, 'pmxcfs', 'SIGTERM', true, STOP_BOUND_MS + 5000));
      assert.ok(Date.now() - s0 < STOP_BOUND_MS, `stopped in ${Date.now() - s0} ms`);
      assert.match(lab.readLog(1, 'pmxcfs'), /exit proxmox configuration filesystem \(0\)/);
      assert.equal((await d.sh(1, "awk '$2 == \"/etc/pve\" && $3 ~ /^fuse/' /proc/self/mounts")).stdout, '', '/etc/pve unmounted');
    } finally {
      await agent.close();
    }
    // VERSION_ERROR is permanent for a running daemon (as C): a restart recovers.
    await lab.kill(2, 'pmxcfs', 'SIGTERM');
    for (const i of [1, 2]) d.start(i, [], { fuse: true });
    await d.waitSynced([1, 2], 60_000);
    const w = await d.sh(1, 'echo again > /etc/pve/again.txt && echo ok');
    assert.equal(w.stdout, 'ok\n', w.stderr);
    await d.waitConverged([1, 2]);
  });
});
