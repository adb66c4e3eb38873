/**
 * A rogue CPG member in the lab (issue 16): a cpg-agent in --rogue mode joins
 * pve_dcdb_v1 beside three pmxcfs-ts daemons (with /etc/pve mounted) and sends hostile
 * messages (src/sim/hostile.ts): random bytes, valid headers with garbage, mutations of
 * what it sees, oversized messages, huge versions; then future protocol versions. The
 * daemons never crash, SIGTERM ends each within 10 s, and after the rogue left a
 * restart of the daemons brings the cluster back (synced, identical checksums).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/cluster/native.js';
import { Agent } from '../../src/lab/agent-client.js';
import { DaemonLab } from '../../src/lab/daemons.js';
import { Lab, labUnavailable, ownedLabPrefix } from '../../src/lab/lab.js';

const build = join(packageRoot(), 'build', 'Release');
const skip = labUnavailable() ?? (!existsSync(join(build, 'fuse.node')) ? 'FUSE addon not built' : !existsSync('/dev/fuse') ? '/dev/fuse missing' : undefined);
const NODES = [1, 2, 3];

describe('a rogue CPG member in the lab', { skip, timeout: 600_000 }, () => {
  const lab = new Lab({ prefix: ownedLabPrefix('rogue'), token: 1000 });
  const d = new DaemonLab(lab);

  /** Every daemon still runs: its control socket answers. */
  async function allAlive(what: string): Promise<void> {
    for (const i of NODES) {
      const r = await lab.exec(i, d.cli('status', '--json'), { timeoutMs: 20_000 });
      assert.equal(r.code, 0, `n${i} status ${what}: ${r.stderr}\n${lab.readLog(i, 'pmxcfs').slice(-2000)}`);
    }
  }

  async function rogueRound(seed: number, count: number, late: boolean): Promise<void> {
    const rogue = new Agent(lab, 1, ['pve_dcdb_v1', '--rogue', String(seed)]);
    try {
      await rogue.waitFor((e) => e.ev === 'connected', 20_000);
      const r = await rogue.request({ cmd: 'rogue', count, late }, 'rogue-sent', 120_000);
      assert.ok(Number(r['sent']) >= count / 2, `rogue sent ${String(r['sent'])} of ${count}`);
    } finally {
      await rogue.close();
    }
  }

  before(async () => {
    await lab.down();
    await lab.up(3, { wait: true, timeoutMs: 60_000 });
    for (const i of NODES) d.start(i, [], { fuse: true });
    await d.waitSynced(NODES, 60_000);
  });

  after(async () => {
    await lab.down();
  });

  it('3000 hostile messages, then future protocol versions: no daemon crashes', async () => {
    await rogueRound(7, 3000, false);
    await allAlive('after 3000 hostile messages');
    // the daemons left on the bad messages; once they are back, future protocol versions
    await d.waitSynced(NODES, 90_000);
    await rogueRound(8, 0, true);
    await allAlive('after future protocol versions');
    for (const i of NODES) assert.doesNotMatch(lab.readLog(i, 'pmxcfs'), /uncaught|unhandled|RangeError|TypeError/i, `n${i} log`);
    // the rogue was heard: the daemons logged its bad messages and the newer protocol
    const logs = NODES.map((i) => lab.readLog(i, 'pmxcfs')).join('\n');
    assert.match(logs, /protocol/i, 'a future protocol version was seen');
  });

  it('SIGTERM ends every daemon within 10 s; a restart after the rogue left brings the cluster back', async () => {
    for (const i of NODES) {
      const t0 = Date.now();
      await lab.kill(i, 'pmxcfs', 'SIGTERM', true, 15_000);
      assert.ok(Date.now() - t0 < 10_000, `n${i} took ${Date.now() - t0} ms to stop on SIGTERM`);
    }
    for (const i of NODES) d.start(i, [], { fuse: true });
    await d.waitSynced(NODES, 90_000);
    await d.waitConverged(NODES, 60_000);
    const w = await d.sh(2, 'echo back > /etc/pve/after-rogue.txt && cat /etc/pve/after-rogue.txt');
    assert.equal(w.stdout, 'back\n', w.stderr);
  });
});
