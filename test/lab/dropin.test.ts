/**
 * The drop-in process (issue 15): `pmxcfs` (bin/pmxcfs.mjs, C's flags, daemonizing
 * as C does) runs as a process named `pmxcfs`, so `pidof pmxcfs`, `pgrep -x pmxcfs`
 * and `killall pmxcfs` find it, and killall stops it cleanly (SIGTERM: the exit log
 * line, the pid file removed, the database intact, a restart works).
 *
 * The daemon runs in a lab node (its corosync, its private paths) inside a PID
 * namespace of its own, with `sleep` as that namespace's init: pidof and killall
 * then see only this daemon, never another pmxcfs on the machine.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/cluster/native.js';
import { Lab, labUnavailable, ownedLabPrefix, which } from '../../src/lab/lab.js';
import { DaemonLab } from '../../src/lab/daemons.js';

const PREFIX = ownedLabPrefix('dropin');
const addon = join(packageRoot(), 'build', 'Release', 'corosync.node');
const DROPIN = join(packageRoot(), 'bin', 'pmxcfs.mjs');
const skip =
  labUnavailable() ??
  (existsSync(addon) ? undefined : `addon not built (${addon}); run npm install`) ??
  (['pidof', 'pgrep', 'killall'].every((t) => which(t) !== undefined) ? undefined : 'pidof, pgrep (procps) and killall (psmisc) are needed');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('drop-in process: pmxcfs found by pidof, stopped by killall', { skip, timeout: 300_000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const d = new DaemonLab(lab);

  /** `sh -c` prefix that runs "$@" in the daemon's PID namespace (and its /proc). */
  function inPidNsArgv(argv: string[]): string[] {
    const init = lab.proc(1, 'pidns');
    assert.ok(init !== undefined, 'pid namespace holder started');
    // The recorded pid is `unshare`; its child `sleep` is pid 1 inside: enter through it.
    return ['sh', '-c', 'exec nsenter -t "$(pgrep -P "$0" -x sleep)" -p -m -- "$@"', String(init.pid), ...argv];
  }

  async function inPidNs(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return lab.exec(1, inPidNsArgv(argv), { timeoutMs: 20_000 });
  }

  async function pidof(): Promise<string[]> {
    const r = await inPidNs(['pidof', 'pmxcfs']);
    return r.stdout.trim().split(/\s+/).filter((s) => s !== '');
  }

  async function waitPidof(count: number, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pids = await pidof();
      if (pids.length === count) return pids;
      if (Date.now() > deadline) throw new Error(`pidof pmxcfs: ${pids.length} processes, want ${count}\n${lab.readLog(1, 'pmxcfs').slice(-3000)}`);
      await sleep(200);
    }
  }

  /**
   * The daemon is up once its parent wrote the pid file and exited (C's daemonizing
   * parent writes it after the child's readiness byte): then pidof shows only it.
   */
  async function waitDaemon(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pidFile = (await lab.exec(1, ['cat', '/run/pve-cluster.pid'])).stdout.trim();
      const pids = await pidof();
      if (pidFile !== '' && pids.length === 1 && pids[0] === pidFile) return pidFile;
      if (Date.now() > deadline) throw new Error(`daemon not up: pid file '${pidFile}', pidof ${pids.join(' ')}\n${lab.readLog(1, 'pmxcfs').slice(-3000)}`);
      await sleep(200);
    }
  }

  /**
   * Start `pmxcfs` (no -f: it daemonizes, as under pve-cluster.service) inside the PID
   * namespace; its output goes to the node's `pmxcfs` log.
   */
  function startDaemon(): void {
    lab.spawn(1, 'pmxcfs', inPidNsArgv([process.execPath, DROPIN, '--no-fuse']), { append: true });
  }

  before(async () => {
    await lab.down();
    await lab.up(1, { wait: true, timeoutMs: 60_000 });
    // sleep is the namespace's init: the daemonizing parent may exit, the daemon stays.
    lab.spawn(1, 'pidns', ['unshare', '--pid', '--fork', '--mount-proc', 'sleep', 'infinity']);
    const deadline = Date.now() + 10_000;
    while ((await inPidNs(['true'])).code !== 0) {
      if (Date.now() > deadline) throw new Error('pid namespace did not come up');
      await sleep(100);
    }
  });

  after(async () => {
    await lab.down();
  });

  it('pidof and pgrep -x find the daemonized pmxcfs; comm, argv[0] and the pid file agree', async () => {
    startDaemon();
    const pid = await waitDaemon(30_000);
    const comm = await inPidNs(['cat', `/proc/${pid}/comm`]);
    assert.equal(comm.stdout.trim(), 'pmxcfs');
    const cmdline = await inPidNs(['cat', `/proc/${pid}/cmdline`]);
    assert.equal(cmdline.stdout.split('\0')[0], 'pmxcfs');
    const pgrep = await inPidNs(['pgrep', '-x', 'pmxcfs']);
    assert.equal(pgrep.stdout.trim(), pid);
    const st = await d.waitFor(1, (s) => s.quorate, 30_000, 'quorate');
    assert.equal(st.mode, 'cluster');
  });

  it('killall pmxcfs stops it cleanly; the database is intact and it starts again', async () => {
    const before = await d.status(1);
    const k = await inPidNs(['killall', 'pmxcfs']);
    assert.equal(k.code, 0, k.stderr);
    await waitPidof(0, 20_000);
    const log = lab.readLog(1, 'pmxcfs');
    assert.match(log, /exit proxmox configuration filesystem \(0\)/);
    assert.equal((await lab.exec(1, ['test', '-e', '/run/pve-cluster.pid'])).code, 1, 'pid file removed');
    const check = await lab.exec(1, d.cli('db', 'check', '/var/lib/pve-cluster/config.db'));
    assert.equal(check.code, 0, check.stdout + check.stderr);
    startDaemon();
    await waitDaemon(30_000);
    const after = await d.waitFor(1, (s) => s.quorate, 30_000, 'quorate after restart');
    assert.equal(after.db.version, before.db.version);
    const k2 = await inPidNs(['killall', 'pmxcfs']);
    assert.equal(k2.code, 0, k2.stderr);
    await waitPidof(0, 20_000);
  });
});
