/**
 * Observability on a real 3-node lab (issue 17): metrics through the control socket
 * and HTTP parse strictly; counters only go up across a write burst through
 * /etc/pve, whose FUSE and DFSM counts are exactly the messages it needed; a rejoin
 * shows the sync rounds' message counts; a 6k-inode full copy logs progress every
 * 10% on leader and joiner and `status` shows it while it runs; `status --watch`
 * redraws in a tmux pseudo-terminal and prints plain frames when not a TTY.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateDb } from '../../src/bench/gendb.js';
import { packageRoot } from '../../src/cluster/native.js';
import { DaemonLab } from '../../src/lab/daemons.js';
import { Lab, labUnavailable, ownedLabPrefix, which } from '../../src/lab/lab.js';
import { type Family, parseExposition, sampleValue } from '../../src/metrics/parse.js';

const PREFIX = ownedLabPrefix('testm');
const addon = join(packageRoot(), 'build', 'Release', 'fuse.node');
const skip = labUnavailable() ?? (existsSync(addon) ? undefined : `addon not built (${addon})`);
const PORT = 9100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Scrape = Map<string, Family>;
const val = (f: Scrape, name: string, labels: Record<string, string> = {}): number => sampleValue(f, name, labels) ?? 0;
const msgs = (f: Scrape, direction: string, type: string): number => val(f, 'pmxcfs_dfsm_messages_total', { group: 'dcdb', direction, type });

/** Every counter and histogram series of `a` is present in `b` and not smaller. */
function assertMonotonic(a: Scrape, b: Scrape, node: number): number {
  let checked = 0;
  for (const [name, fam] of a) {
    if (fam.type !== 'counter' && fam.type !== 'histogram') continue;
    for (const s of fam.samples) {
      const later = b.get(name)?.samples.find((x) => x.name === s.name && JSON.stringify(x.labels) === JSON.stringify(s.labels));
      assert.ok(later !== undefined, `n${node}: ${s.name}${JSON.stringify(s.labels)} disappeared`);
      assert.ok(later.value >= s.value, `n${node}: ${s.name}${JSON.stringify(s.labels)} went down ${s.value} -> ${later.value}`);
      checked++;
    }
  }
  return checked;
}

describe('metrics, progress and the live view on a 3-node lab', { skip, timeout: 900_000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const d = new DaemonLab(lab);
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-metrics-lab-'));

  const scrape = async (i: number): Promise<Scrape> => {
    const r = await lab.exec(i, d.cli('metrics'), { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    return parseExposition(r.stdout);
  };
  const http = (i: number, host: string) => lab.exec(i, [process.execPath, '-e', `fetch('http://${host}:${PORT}/metrics').then(async (r) => { process.stdout.write(r.headers.get('content-type') + '\\n' + await r.text()); }, (e) => { console.error(e.cause?.code ?? e.message); process.exit(3); })`], { timeoutMs: 20_000 });
  const start = (i: number): void => d.start(i, ['--metrics-listen', String(PORT)], { fuse: true });
  const stop = async (i: number): Promise<void> => {
    await lab.kill(i, 'pmxcfs', 'SIGTERM', true, 20_000);
    await lab.exec(i, ['sh', '-c', "grep -q ' /etc/pve fuse' /proc/mounts && umount -l /etc/pve; true"]);
  };
  const mounted = async (i: number): Promise<void> => {
    for (let k = 0; (await lab.exec(i, ['grep', '-q', ' /etc/pve fuse', '/proc/mounts'])).code !== 0; k++) {
      assert.ok(k < 300, `n${i}: /etc/pve not mounted`);
      await sleep(100);
    }
  };

  before(async () => {
    await lab.down();
    await lab.up(3, { wait: true, timeoutMs: 60_000 });
    for (const i of [1, 2, 3]) start(i);
    await d.waitSynced([1, 2, 3], 60_000);
    await mounted(1);
  });

  after(async () => {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a write burst: metrics parse on every node, counters only go up, the counts are the messages it needed', async () => {
    const before = await Promise.all([1, 2, 3].map(scrape));
    const K = 40;
    const w = await d.sh(1, `mkdir /etc/pve/burst && for k in $(seq 1 ${K}); do echo data$k > /etc/pve/burst/f$k; done`);
    assert.equal(w.code, 0, w.stderr);
    await d.waitConverged([1, 2, 3]);
    const after = await Promise.all([1, 2, 3].map(scrape));
    for (const i of [0, 1, 2]) {
      const n = assertMonotonic(before[i]!, after[i]!, i + 1);
      assert.ok(n >= 50, `n${i + 1}: only ${n} counter and histogram series compared`);
    }
    const fuse = (op: string): number => val(after[0]!, 'pmxcfs_fuse_requests_total', { op, errno: 'OK' }) - val(before[0]!, 'pmxcfs_fuse_requests_total', { op, errno: 'OK' });
    assert.equal(fuse('create'), K);
    assert.equal(fuse('write'), K);
    assert.equal(fuse('mkdir'), 1);
    // one mkdir, one create and one write per file: 2K + 1 NORMAL messages, seen by all
    for (const i of [0, 1, 2]) assert.equal(msgs(after[i]!, 'in', 'normal') - msgs(before[i]!, 'in', 'normal'), 2 * K + 1, `n${i + 1} in`);
    assert.equal(msgs(after[0]!, 'out', 'normal') - msgs(before[0]!, 'out', 'normal'), 2 * K + 1);
    assert.equal(msgs(after[1]!, 'out', 'normal') - msgs(before[1]!, 'out', 'normal'), 0);
    assert.ok(val(after[0]!, 'pmxcfs_sqlite_commit_duration_seconds_count') - val(before[0]!, 'pmxcfs_sqlite_commit_duration_seconds_count') >= 2 * K + 1);
    assert.ok(val(after[0]!, 'pmxcfs_fuse_request_duration_seconds_count', { op: 'write' }) >= K);
    for (const f of after) {
      assert.equal(val(f, 'pmxcfs_dfsm_mode', { group: 'dcdb', mode: 'SYNCED' }), 1);
      assert.equal(val(f, 'pmxcfs_dfsm_members', { group: 'dcdb' }), 3);
      assert.equal(val(f, 'pmxcfs_quorate'), 1);
      assert.ok(val(f, 'process_resident_memory_bytes') > 10e6);
      assert.ok(val(f, 'pmxcfs_db_inodes') >= K + 2);
    }
  });

  it('serves the same metrics over HTTP on loopback only', async () => {
    const r = await http(1, '127.0.0.1');
    assert.equal(r.code, 0, r.stderr);
    const [type, ...body] = r.stdout.split('\n');
    assert.match(type!, /^text\/plain; version=0\.0\.4/);
    assert.ok(parseExposition(body.join('\n')).has('pmxcfs_dfsm_messages_total'));
    const remote = await http(2, lab.address(1));
    assert.notEqual(remote.code, 0, 'not reachable from another node');
    assert.match(remote.stderr, /ECONNREFUSED/);
  });

  it('status --watch redraws in a tmux pseudo-terminal and prints plain frames otherwise', async (t) => {
    const plain = await lab.exec(1, d.cli('status', '--watch', '--count', '2', '--interval', '0.5'), { timeoutMs: 30_000 });
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /\x1b/);
    assert.equal(plain.stdout.match(/^pmxcfs-ts n1 /gm)?.length, 2, plain.stdout);
    assert.match(plain.stdout, /^dcdb +SYNCED +\d+ +3 +3 +0 +0 +0$/m);
    assert.match(plain.stdout, /^writes: .*latency p50 /m);
    if (which('tmux') === undefined) return t.skip('tmux not installed (scripts/install-deps.sh installs it)');
    const sock = `pmxcfs-${PREFIX}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', 'watch', '-x', '120', '-y', '24', [...lab.enter(1), ...d.cli('status', '--watch')].join(' '));
    try {
      const screen = async (pred: (s: string) => boolean): Promise<string> => {
        for (let k = 0; k < 100; k++) {
          const s = tmux('capture-pane', '-p', '-t', 'watch');
          if (pred(s)) return s;
          await sleep(100);
        }
        throw new Error(`screen never matched:\n${tmux('capture-pane', '-p', '-t', 'watch')}`);
      };
      const first = await screen((s) => /dcdb +SYNCED/.test(s));
      const stamp = /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(first)![0];
      const second = await screen((s) => /dcdb +SYNCED/.test(s) && !s.includes(stamp));
      for (const s of [first, second]) {
        assert.match(s, /^pmxcfs-ts n1 \(/, 'the frame starts at the top (redrawn in place)');
        assert.equal(s.match(/pmxcfs-ts n1 /g)?.length, 1, 'one frame on the screen');
        assert.match(s, /^members: +1\/\d+ 2\/\d+ 3\/\d+/m);
        assert.match(s, /^last verify: /m);
      }
    } finally {
      tmux('kill-server');
    }
  });

  it('a rejoin shows the sync rounds and their message counts', async () => {
    await stop(3);
    await d.waitFor(1, (s) => s.dfsm?.mode === 'SYNCED' && s.dfsm.members.length === 2, 30_000, 'n1 synced with 2');
    const b1 = await scrape(1);
    const w = await d.sh(1, 'for k in 1 2 3 4 5; do echo x > /etc/pve/burst/while-down$k; done');
    assert.equal(w.code, 0, w.stderr);
    start(3);
    await d.waitSynced([1, 2, 3], 60_000);
    const [a1, a3] = [await scrape(1), await scrape(3)];
    const d1 = (dir: string, type: string): number => msgs(a1, dir, type) - msgs(b1, dir, type);
    // n3's first membership already has all three: one round
    assert.deepEqual(
      ['sync_start', 'state', 'update_complete'].map((t) => msgs(a3, 'in', t)),
      [1, 3, 1],
    );
    assert.equal(msgs(a3, 'out', 'state'), 1);
    assert.equal(msgs(a3, 'out', 'sync_start'), 0);
    assert.equal(val(a3, 'pmxcfs_dfsm_sync_rounds_total', { group: 'dcdb', result: 'ok' }), 1);
    // n1 (lowest, leader: highest version) led the round of the join
    assert.equal(d1('out', 'sync_start'), 1);
    assert.equal(d1('in', 'state'), 3);
    assert.equal(d1('out', 'update_complete'), 1);
    assert.ok(d1('out', 'update') >= 5, `updates sent ${d1('out', 'update')}`);
    assert.equal(msgs(a3, 'in', 'update'), d1('out', 'update'), 'the joiner received what the leader sent');
    assert.equal(val(a1, 'pmxcfs_dfsm_sync_duration_seconds_count', { group: 'dcdb' }) - val(b1, 'pmxcfs_dfsm_sync_duration_seconds_count', { group: 'dcdb' }), 1);
  });

  it('a 6k-inode full copy logs progress every 10% on leader and joiner; status shows it while it runs', async () => {
    for (const i of [1, 2, 3]) await stop(i);
    const conf = readFileSync(join(lab.nodeRoot(1), 'etc-corosync', 'corosync.conf'));
    const gen = generateDb(join(dir, 'gen.db'), { inodes: 6000, bytes: 3_000_000, corosyncConf: conf });
    const dbPath = (i: number): string => join(lab.nodeRoot(i), 'var-lib-pve-cluster', 'config.db');
    for (const i of [1, 2, 3]) for (const ext of ['', '-wal', '-shm']) rmSync(dbPath(i) + ext, { force: true });
    for (const i of [1, 2]) copyFileSync(join(dir, 'gen.db'), dbPath(i));
    for (const i of [1, 2]) start(i);
    await d.waitSynced([1, 2], 60_000);
    // A poller inside n3 asks for status every 20 ms from before the daemon starts.
    const control = join(packageRoot(), 'dist', 'src', 'daemon', 'control.js');
    const poller = lab.exec(3, [process.execPath, '--input-type=module', '-e', `
      const { controlRequest } = await import(${JSON.stringify(control)});
      const seen = [];
      for (const end = Date.now() + 120000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
        const r = await controlRequest('/run/pve-cluster/pmxcfs-ts.sock', { cmd: 'status' }, 5000).catch(() => null);
        if (r?.ok && r.data.sync) seen.push(r.data.sync);
        if (r?.ok && r.data.dfsm?.mode === 'SYNCED' && r.data.dfsm.members.length === 3) break;
      }
      process.stdout.write(JSON.stringify(seen));`], { timeoutMs: 150_000 });
    await sleep(300);
    start(3);
    const p = await poller;
    assert.equal(p.code, 0, p.stderr);
    await d.waitSynced([1, 2, 3], 60_000);
    const progress = (i: number, role: string): { percent: number; inodes: number; totalInodes: number; etaSeconds: number | null }[] =>
      lab.readLog(i, 'pmxcfs').split('\n').filter((l) => l.includes('"msg":"sync progress"')).map((l) => JSON.parse(l)).filter((l) => l.role === role);
    const sent = progress(1, 'send');
    const got = progress(3, 'receive');
    for (const lines of [sent, got]) {
      assert.deepEqual(lines.slice(-10).map((l) => l.percent), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
      assert.ok(lines.at(-1)!.totalInodes >= gen.inodes - 1, `total ${lines.at(-1)!.totalInodes} of ${gen.inodes}`);
      assert.equal(lines.at(-1)!.inodes, lines.at(-1)!.totalInodes);
    }
    const seen = JSON.parse(p.stdout) as { running: boolean; role: string; percent: number; totalInodes: number }[];
    assert.ok(seen.some((s) => s.running && s.role === 'receive' && s.percent < 100), `status showed the copy running: ${JSON.stringify(seen.slice(0, 5))}`);
    const final = seen.at(-1)!;
    assert.deepEqual([final.running, final.percent, final.totalInodes], [false, 100, got.at(-1)!.totalInodes]);
  });
});
