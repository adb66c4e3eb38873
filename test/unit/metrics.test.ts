/**
 * src/metrics: the exposition parses with the strict text-format parser (promtool's
 * rules), the DFSM wiring counts what a real Dfsm sends and receives, SQLite commits
 * of a real Memdb are timed, sync rounds and leaves are classified, the progress
 * tracker logs every 10% of a 6k-inode copy, and the watch view renders.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Memdb } from '../../src/memdb/memdb.js';
import { Metrics, metrics } from '../../src/metrics/metrics.js';
import { ExpositionError, type Family, parseExposition, sampleValue } from '../../src/metrics/parse.js';
import { PROGRESS_MIN_INODES, SyncProgress } from '../../src/metrics/progress.js';
import { parseListen } from '../../src/daemon/options.js';
import { quantile, renderFrame } from '../../src/cli/watch.js';
import { DfsmMessageType } from '../../src/wire/dfsm.js';
import { conf, lone, normalMsg, stateMsg } from './dfsm-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function scrape(m: Metrics = metrics): Promise<Map<string, Family>> {
  return parseExposition(await m.text());
}

const v = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => sampleValue(f, name, labels) ?? 0;

describe('metrics exposition', () => {
  it('parses strictly, with process metrics, typed families and Prometheus names', async () => {
    const m = new Metrics();
    const g = m.dfsm('pve_dcdb_v1');
    g.message('in', DfsmMessageType.UPDATE, 120);
    m.sqliteCommit(0.0003);
    m.ipcRequest(1, 0, 0.0001);
    m.ipcRequest(5, -2);
    m.ipcRequest(0x7fffffff, -22); // a hostile op number: one bounded "unknown" row
    m.ipcRequest(9, -22);
    m.ipcClients(1);
    const f = await scrape(m);
    for (const [name, fam] of f) {
      if (fam.type === 'counter') assert.ok(name.endsWith('_total'), name);
      if (fam.type === 'histogram') assert.ok(name.endsWith('_seconds') || !name.startsWith('pmxcfs_'), name);
      assert.ok(fam.help.length > 0, `${name} has HELP`);
    }
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'pmxcfs_dfsm_messages_total', 'pmxcfs_sqlite_commit_duration_seconds', 'pmxcfs_ipc_requests_total', 'pmxcfs_fuse_requests_total']) {
      assert.ok(f.has(name), `family ${name}`);
    }
    assert.equal(v(f, 'pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'in', type: 'update' }), 1);
    assert.equal(v(f, 'pmxcfs_dfsm_message_bytes_total', { group: 'dcdb', direction: 'in', type: 'update' }), 120);
    assert.equal(v(f, 'pmxcfs_sqlite_commit_duration_seconds_count'), 1);
    assert.equal(v(f, 'pmxcfs_sqlite_commit_duration_seconds_bucket', { le: '0.00025' }), 0);
    assert.equal(v(f, 'pmxcfs_sqlite_commit_duration_seconds_bucket', { le: '0.0005' }), 1);
    assert.equal(v(f, 'pmxcfs_ipc_requests_total', { op: 'get_fs_version', errno: 'OK' }), 1);
    assert.equal(v(f, 'pmxcfs_ipc_requests_total', { op: 'get_status', errno: 'ENOENT' }), 1);
    assert.equal(v(f, 'pmxcfs_ipc_request_duration_seconds_count', { op: 'get_fs_version' }), 1);
    assert.equal(v(f, 'pmxcfs_ipc_requests_total', { op: 'unknown', errno: 'EINVAL' }), 2);
    assert.equal(v(f, 'pmxcfs_ipc_connections_total', { event: 'opened' }), 1);
    assert.equal(v(f, 'pmxcfs_ipc_clients'), 1);
  });

  it('setEnabled(false) makes every hot call a no-op', async () => {
    const m = new Metrics();
    m.setEnabled(false);
    m.dfsm('dcdb').message('out', 0, 10);
    m.sqliteCommit(1);
    m.fuse.request(1, 13);
    m.fuse.reply(1, 0);
    const f = await scrape(m);
    assert.equal(v(f, 'pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'out', type: 'normal' }), 0);
    assert.equal(v(f, 'pmxcfs_sqlite_commit_duration_seconds_count'), 0);
    assert.equal(f.get('pmxcfs_fuse_requests_total')!.samples.length, 0);
  });

  it('times FUSE requests to their reply by op and errno', async () => {
    const m = new Metrics();
    m.fuse.request(7, 13); // write
    m.fuse.request(8, 1); // lookup
    m.fuse.reply(8, 2);
    m.fuse.reply(7, 0);
    m.fuse.reply(7, 0); // a second reply to the same id is not counted
    const f = await scrape(m);
    assert.equal(v(f, 'pmxcfs_fuse_requests_total', { op: 'write', errno: 'OK' }), 1);
    assert.equal(v(f, 'pmxcfs_fuse_requests_total', { op: 'lookup', errno: 'ENOENT' }), 1);
    assert.equal(v(f, 'pmxcfs_fuse_request_duration_seconds_count', { op: 'write' }), 1);
  });

  it('times the SQLite commits of a real Memdb', async () => {
    const before = v(await scrape(), 'pmxcfs_sqlite_commit_duration_seconds_count');
    const db = Memdb.open(join(dir, 'commit.db'));
    for (let k = 0; k < 20; k++) assert.equal(db.create(`f${k}`, 0, 1000 + k), 0);
    db.close();
    const after = await scrape();
    assert.equal(v(after, 'pmxcfs_sqlite_commit_duration_seconds_count') - before, 20);
    assert.ok(v(after, 'pmxcfs_sqlite_commit_duration_seconds_sum') > 0);
  });
});

describe('DFSM group metrics through a real Dfsm', () => {
  it('counts sends and deliveries by type, mode changes, rounds and the leave reason', async () => {
    const f0 = await scrape();
    const { dfsm, t } = lone(1, 100);
    const me = { nodeid: 1, pid: 100 };
    const peer = { nodeid: 2, pid: 200 };
    dfsm.confchg(conf([me, peer], [peer]));
    assert.equal(dfsm.status().modeName, 'START_SYNC');
    const epoch = dfsm.status().epoch;
    dfsm.deliver(me, t.sent[0]!); // our SYNC_START back: we send our STATE
    const state = t.sent[1]!;
    dfsm.deliver(me, state);
    dfsm.deliver(peer, stateMsg(DfsmMessageType.STATE, epoch, Buffer.from(JSON.stringify({ version: 0, kv: [] }))));
    assert.equal(dfsm.status().modeName, 'SYNCED');
    dfsm.deliver(peer, normalMsg(99, 1n, 'x')); // the KvApp refuses subtype 99: leave
    assert.equal(dfsm.status().modeName, 'LEAVE');
    const f = await scrape();
    const d = (name: string, labels: Record<string, string>): number => v(f, name, labels) - v(f0, name, labels);
    // as leader: SYNC_START, STATE, the UPDATE of its one difference, UPDATE_COMPLETE
    const sent = t.sent.map((b) => b.readUInt16LE(0));
    assert.deepEqual(sent, [DfsmMessageType.SYNC_START, DfsmMessageType.STATE, DfsmMessageType.UPDATE, DfsmMessageType.UPDATE_COMPLETE]);
    for (const type of ['sync_start', 'state', 'update', 'update_complete']) assert.equal(d('pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'out', type }), 1, type);
    assert.equal(d('pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'in', type: 'sync_start' }), 1);
    assert.equal(d('pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'in', type: 'state' }), 2);
    assert.equal(d('pmxcfs_dfsm_messages_total', { group: 'dcdb', direction: 'in', type: 'normal' }), 1);
    assert.equal(d('pmxcfs_dfsm_message_bytes_total', { group: 'dcdb', direction: 'out', type: 'state' }), state.length);
    assert.equal(d('pmxcfs_dfsm_sync_rounds_total', { group: 'dcdb', result: 'ok' }), 1);
    assert.equal(d('pmxcfs_dfsm_sync_duration_seconds_count', { group: 'dcdb' }), 1);
    assert.equal(d('pmxcfs_dfsm_leaves_total', { group: 'dcdb', reason: 'normal' }), 1);
    assert.equal(d('pmxcfs_dfsm_mode_changes_total', { group: 'dcdb', mode: 'LEAVE' }), 1);
    // the gauges come from the last Dfsm of the group
    assert.equal(v(f, 'pmxcfs_dfsm_mode', { group: 'dcdb', mode: 'LEAVE' }), 1);
    assert.equal(v(f, 'pmxcfs_dfsm_members', { group: 'dcdb' }), 2);
    assert.equal(v(f, 'pmxcfs_dfsm_epoch', { group: 'dcdb' }), epoch.epoch);
  });

  it('a membership change during a round counts the round as interrupted', async () => {
    const f0 = await scrape();
    const { dfsm } = lone(1, 100);
    const me = { nodeid: 1, pid: 100 };
    dfsm.confchg(conf([me, { nodeid: 2, pid: 200 }]));
    dfsm.confchg(conf([me, { nodeid: 3, pid: 300 }]));
    const f = await scrape();
    const labels = { group: 'dcdb', result: 'interrupted' };
    assert.equal(v(f, 'pmxcfs_dfsm_sync_rounds_total', labels) - v(f0, 'pmxcfs_dfsm_sync_rounds_total', labels), 1);
  });
});

describe('exposition parser', () => {
  const bad: [string, string][] = [
    ['# TYPE a_total counter\na_total 1\na_total 2\n', 'duplicate series'],
    ['# TYPE a counter\na 1\n', 'does not end in _total'],
    ['# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 2\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_count 1\nh_seconds_sum 0\n', 'not cumulative'],
    ['# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_count 2\nh_seconds_sum 0\n', '!= count'],
    ['# TYPE a gauge\na{x="\\q"} 1\n', 'bad escape'],
    ['# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{y="1"} 2\n', 'not contiguous'],
    ['a 1\n# TYPE a gauge\n', 'TYPE of a after'],
    ['a{1x="1"} 1\n', 'bad label name'],
    ['a one\n', 'bad value'],
  ];
  for (const [text, why] of bad) {
    it(`rejects: ${why}`, () => {
      assert.throws(() => parseExposition(text), (e: unknown) => e instanceof ExpositionError && e.message.includes(why));
    });
  }
  it('reads escapes, timestamps and special values', () => {
    const f = parseExposition('# HELP a x\n# TYPE a gauge\na{p="q\\"\\\\\\n"} NaN 123\na{p="z"} -Inf\n');
    assert.equal(f.get('a')!.samples[0]!.labels['p'], 'q"\\\n');
    assert.ok(Number.isNaN(f.get('a')!.samples[0]!.value));
    assert.equal(f.get('a')!.samples[1]!.value, -Infinity);
  });
});

describe('full-copy progress', () => {
  it('logs every 10% of a 6k-inode copy with rate and ETA, and nothing for a small diff', () => {
    const lines: Record<string, unknown>[] = [];
    const rec = { debug() {}, info: (o: object, msg?: string) => msg === 'sync progress' && lines.push(o as Record<string, unknown>), warn() {}, error() {} };
    let now = 0;
    const p = new SyncProgress(rec, () => now);
    p.start('receive', 6000, null);
    for (let k = 0; k < 6000; k++) {
      now += 0.5; // 2000 inodes/s
      p.step(1000);
      if (k === 2999) assert.deepEqual({ ...p.snapshot(), etaSeconds: Math.round(p.snapshot()!.etaSeconds!) }, { role: 'receive', inodes: 3000, totalInodes: 6000, bytes: 3_000_000, totalBytes: null, percent: 50, inodesPerSecond: 2000, bytesPerSecond: 2_000_000, etaSeconds: 2, running: true });
    }
    p.finish();
    assert.deepEqual(lines.map((l) => l['percent']), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert.equal(lines[0]!['inodes'], 600);
    assert.equal(lines[9]!['etaSeconds'], 0);
    assert.equal(p.snapshot()!.running, false);
    lines.length = 0;
    p.start('send', PROGRESS_MIN_INODES - 1, 10);
    for (let k = 0; k < PROGRESS_MIN_INODES - 1; k++) p.step(0);
    assert.equal(lines.length, 0);
  });
});

describe('status --watch frame', () => {
  it('estimates quantiles like histogram_quantile', () => {
    const b = { bounds: [0.001, 0.01, Infinity], counts: [50, 100, 100] };
    assert.equal(quantile(b, 0.5), 0.001);
    assert.ok(Math.abs(quantile(b, 0.75)! - 0.0055) < 1e-12);
    assert.equal(quantile({ bounds: [1, Infinity], counts: [0, 0] }, 0.5), null);
  });

  it('renders groups, members, write rate, latency percentiles and verify as plain text', async () => {
    const m = new Metrics();
    const before = await scrape(m);
    for (let k = 1; k <= 10; k++) {
      m.fuse.request(k, 13);
      m.fuse.reply(k, 0);
    }
    const s = {
      nodename: 'n1',
      nodeip: '10.0.0.1',
      quorate: true,
      db: { version: 9, entries: 4 },
      dfsm: { members: [{ nodeid: 1, pid: 5, synced: true }, { nodeid: 2, pid: 6, synced: false }], lastVerify: { time: 1_700_000_000, result: 'ok' } },
      sync: { role: 'receive' as const, inodes: 10, totalInodes: 20, bytes: 2e6, totalBytes: null, percent: 50, inodesPerSecond: 5, bytesPerSecond: 1, etaSeconds: 2, running: true },
    };
    const first = renderFrame(s, before, null, 1, new Date(0));
    const { text } = renderFrame(s, await scrape(m), first.buckets, 2, new Date(0));
    assert.match(text, /^pmxcfs-ts n1 \(10\.0\.0\.1\) {2}1970-01-01T00:00:00\.000Z {2}quorate yes/);
    assert.match(text, /members: {5}1\/5 2\/6\*/);
    assert.match(text, /groups: +none/); // no Dfsm registered in this Metrics
    assert.match(text, /writes: {6}5\.0\/s \(last 2\.0 s\), latency p50 [\d.]+ ms/);
    assert.match(text, /last verify: ok at 2023-11-14T22:13:20\.000Z/);
    assert.match(text, /full copy: {3}receive 50% 10\/20 inodes, 2\.0 MB, 5 inodes\/s, ETA 2 s/);
    assert.doesNotMatch(text, /\x1b/);
  });
});

describe('--metrics-listen', () => {
  it('takes [ADDR:]PORT, loopback by default', () => {
    assert.deepEqual(parseListen('9100'), { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(parseListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
    assert.deepEqual(parseListen('[::1]:9100'), { host: '::1', port: 9100 });
    assert.equal(parseListen('host:').port, 0);
  });
});
