/**
 * The daemon on a real 3-node corosync lab (issue 5): convergence under mixed
 * writes, crash and restart, partition and heal, full restart from SQLite, corosync
 * restart under a running daemon, and local mode. Each daemon is a real process in
 * its node's namespaces with that node's private /var/lib/pve-cluster and /run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/cluster/native.js';
import { Lab, labUnavailable, ownedLabPrefix } from '../../src/lab/lab.js';
import { DaemonLab, type FsResult } from '../../src/lab/daemons.js';

const PREFIX = ownedLabPrefix('testd');
const addon = join(packageRoot(), 'build', 'Release', 'corosync.node');
const skip = labUnavailable() ?? (existsSync(addon) ? undefined : `addon not built (${addon}); run npm install`);

/** A deterministic mix of every operation type for node i. */
function mixedOps(i: number, count: number): object[] {
  const ops: object[] = [{ op: 'mkdir', path: `mix${i}` }, { op: 'mkdir', path: `mix${i}/sub` }];
  for (let k = 0; ops.length < count; k++) {
    const f = `mix${i}/f${k}`;
    ops.push({ op: 'write', path: f, data: `node ${i} file ${k}\n`.repeat(1 + (k % 7)) });
    if (k % 3 === 0) ops.push({ op: 'write', path: f, data: 'APPEND', offset: 5 });
    if (k % 4 === 0) ops.push({ op: 'truncate', path: f, length: 3 });
    if (k % 5 === 0) ops.push({ op: 'mv', path: f, to: `mix${i}/sub/moved${k}` });
    if (k % 6 === 0) ops.push({ op: 'touch', path: `mix${i}/sub`, mtime: 1_700_000_000 + k });
    if (k % 9 === 0) ops.push({ op: 'rm', path: `mix${i}/f${k - 1}` });
    if (k % 11 === 0) ops.push({ op: 'mkdir', path: `mix${i}/d${k}` }, { op: 'rmdir', path: `mix${i}/d${k}` });
  }
  return ops.slice(0, count);
}

describe('pmxcfs-ts daemon on a 3-node lab', { skip, timeout: 600_000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const d = new DaemonLab(lab);

  before(async () => {
    await lab.down();
    await lab.up(3, { wait: true, timeoutMs: 60_000 });
    for (const i of [1, 2, 3]) d.start(i);
    await d.waitSynced([1, 2, 3], 60_000);
  });

  after(async () => {
    await lab.down();
  });

  it('300 mixed writes spread over all nodes converge; a forced verify round passes on all', async () => {
    const results = await Promise.all([1, 2, 3].map((i) => d.batch(i, mixedOps(i, 100))));
    const all = results.flat();
    assert.equal(all.length, 300);
    assert.ok(all.filter((r) => r.ok).length >= 280, `most operations succeed: ${all.filter((r) => !r.ok).map((r) => `${r.op} ${r.path} ${r.error}`).join('; ')}`);
    await d.waitConverged([1, 2, 3]);
    const before = (await d.status(1)).dfsm!.lastVerify;
    const v = await lab.exec(1, d.cli('verify'));
    assert.equal(v.code, 0, v.stderr);
    for (const i of [1, 2, 3]) {
      await d.waitFor(i, (s) => s.dfsm!.lastVerify !== null && JSON.stringify(s.dfsm!.lastVerify) !== JSON.stringify(before), 20_000, 'verify result');
      assert.equal((await d.status(i)).dfsm!.lastVerify!.result, 'ok', `n${i} verify`);
    }
  });

  it('kill -9 of one node during a write storm: it resyncs and every acknowledged write is there', async () => {
    const storm = (i: number) => d.batch(i, Array.from({ length: 120 }, (_, k) => ({ op: 'write', path: `storm-n${i}-${k}`, data: `storm ${i} ${k}\n` })));
    const before = (await d.status(1)).db.version;
    const pending = Promise.all([storm(1), storm(2)]);
    // Kill n3 in the middle of the storm: once n1 has applied some of it.
    await d.waitFor(1, (s) => s.db.version >= before + 20, 30_000, 'the storm under way');
    await lab.kill(3, 'pmxcfs', 'SIGKILL');
    const results = (await pending).flat();
    const acked = results.filter((r) => r.ok);
    // n1 and n2 keep quorum (2 of 3): their writes queue through the new sync round and succeed.
    assert.equal(acked.length, 240, `all writes of n1 and n2 acknowledged: ${results.filter((r) => !r.ok).map((r) => `${r.path} ${r.error}`).join('; ')}`);
    d.start(3);
    await d.waitSynced([1, 2, 3], 60_000);
    await d.waitConverged([1, 2, 3]);
    const listing = await d.batch(3, acked.map((r) => ({ op: 'cat', path: r.path })));
    for (const [k, r] of listing.entries()) {
      assert.ok(r.ok, `${acked[k]!.path} present on n3`);
      assert.match(String(r.data), /^storm \d \d+\n$/);
    }
  });

  it('a partitioned node loses quorum: writes fail with EACCES, reads work; after heal it converges', async () => {
    const [made] = await d.batch(1, [{ op: 'write', path: 'before-partition', data: 'readable\n' }]);
    assert.ok(made!.ok, made!.error);
    await d.waitConverged([1, 2, 3]);
    lab.linkDown(3);
    try {
      await d.waitFor(3, (s) => !s.quorate, 30_000, 'n3 loses quorum');
      const [w] = await d.batch(3, [{ op: 'write', path: 'from-n3-partitioned', data: 'x' }]);
      assert.equal(w!.ok, false);
      assert.equal(w!.error, 'EACCES');
      const [r] = await d.batch(3, [{ op: 'cat', path: 'before-partition' }]);
      assert.equal(r!.data, 'readable\n', 'reads work without quorum');
      const [w1] = await d.batch(1, [{ op: 'write', path: 'during-partition', data: 'majority side\n' }]);
      assert.ok(w1!.ok, 'the majority keeps writing');
    } finally {
      lab.linkUp(3);
    }
    await d.waitSynced([1, 2, 3], 90_000);
    await d.waitConverged([1, 2, 3]);
    const [r3] = await d.batch(3, [{ op: 'cat', path: 'during-partition' }]);
    assert.equal(r3!.data, 'majority side\n');
  });

  it('corosync restart under a running daemon: it reconnects and resyncs without a daemon restart', async () => {
    const pid = (await d.status(2)).pid;
    await lab.stopCorosync(2);
    await d.waitFor(2, (s) => !s.quorate, 30_000, 'n2 notices corosync is gone');
    await lab.startCorosync(2);
    await d.waitSynced([1, 2, 3], 90_000);
    assert.equal((await d.status(2)).pid, pid, 'same daemon process');
    const [w] = await d.batch(2, [{ op: 'write', path: 'after-corosync-restart', data: 'ok\n' }]);
    assert.ok(w!.ok, w!.error);
    await d.waitConverged([1, 2, 3]);
  });

  it('stop all three and start again: state preserved from SQLite, db check clean', async () => {
    await d.waitConverged([1, 2, 3]);
    const sums = await Promise.all([1, 2, 3].map((i) => d.checksum(i)));
    for (const i of [1, 2, 3]) await lab.kill(i, 'pmxcfs', 'SIGTERM');
    for (const i of [1, 2, 3]) {
      const c = await lab.exec(i, d.cli('db', 'check', '/var/lib/pve-cluster/config.db'));
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.equal(await d.checksum(i), sums[i - 1]);
    }
    for (const i of [1, 2, 3]) d.start(i);
    await d.waitSynced([1, 2, 3], 60_000);
    for (const i of [1, 2, 3]) assert.equal(await d.checksum(i), sums[0]);
    // Huge pages only while loading: once the file data is in, the heap grows in 4 KiB pages.
    for (const i of [1, 2, 3]) {
      const pid = (await d.status(i)).pid;
      const thp = (): string | undefined => /^THP_enabled:\s*(\d)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      const deadline = Date.now() + 20_000;
      while (thp() !== '0') {
        assert.ok(Date.now() < deadline, `node ${i}: THP_enabled is still ${thp()} after the data fill`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it('local mode: read and write through fs with no corosync', async () => {
    await lab.kill(1, 'pmxcfs', 'SIGTERM');
    await lab.stopCorosync(1);
    d.start(1, ['-l']);
    await d.waitFor(1, (s) => s.mode === 'local', 20_000, 'local mode');
    const res: FsResult[] = await d.batch(1, [
      { op: 'mkdir', path: 'local-dir' },
      { op: 'write', path: 'local-dir/file', data: 'written in local mode\n' },
      { op: 'cat', path: 'local-dir/file' },
    ]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true]);
    assert.equal(res[2]!.data, 'written in local mode\n');
    const s = await d.status(1);
    assert.equal(s.quorate, true);
    assert.equal(s.dfsm, null);
  });

  it('without -f it daemonizes: the parent exits 0 after readiness and writes the child pid; a second start is refused; SIGTERM cleans up', async () => {
    await lab.kill(2, 'pmxcfs', 'SIGTERM');
    // The detached child keeps stdout/stderr (the journal under systemd): send them to a file.
    const started = await lab.exec(2, ['sh', '-c', `${d.cli('--no-fuse').join(' ')} >>/run/pmxcfs-daemon.log 2>&1`], { timeoutMs: 30_000 });
    assert.equal(started.code, 0, started.stderr);
    const pidText = await lab.exec(2, ['cat', '/run/pve-cluster.pid']);
    const pid = Number(pidText.stdout.trim());
    const s = await d.status(2);
    assert.equal(s.pid, pid, 'the pid file names the running daemon');
    assert.equal((await lab.exec(2, ['test', '-e', '/run/pve-cluster/cfs-restart-flag'])).code, 1, 'restart flag removed at start');
    const second = await lab.exec(2, d.cli('-f', '--no-fuse'), { timeoutMs: 30_000 });
    assert.equal(second.code, 255);
    assert.match(second.stdout + second.stderr, /unable to acquire pmxcfs lock/);
    await lab.exec(2, ['kill', '-TERM', String(pid)]);
    const deadline = Date.now() + 10_000;
    while ((await lab.exec(2, ['test', '-e', '/run/pve-cluster.pid'])).code === 0) {
      assert.ok(Date.now() < deadline, 'pid file removed after SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await lab.exec(2, ['test', '-e', '/run/pve-cluster/cfs-restart-flag'])).code, 0, 'restart flag written at orderly stop');
  });

  it('started before corosync, the daemon waits (never exits) and joins once corosync runs', async () => {
    await lab.kill(1, 'pmxcfs', 'SIGTERM'); // the local-mode daemon; corosync on n1 is still stopped
    d.start(1);
    d.start(2);
    const s = await d.waitFor(1, (x) => x.mode === 'cluster', 20_000, 'cluster mode without corosync');
    assert.equal(s.quorate, false);
    await new Promise((r) => setTimeout(r, 7000)); // more than one ~6 s retry period
    assert.ok(lab.isRunning(1, 'pmxcfs'), 'still running without corosync');
    await lab.startCorosync(1);
    await d.waitSynced([1, 2, 3], 90_000);
    await d.waitConverged([1, 2, 3]);
  });
});
