/**
 * The local side of the status module (src/status, src/clusterlog): key/value versions,
 * errors as cfs_status_set, node IPs and online flags in `.members`, the cluster log
 * entry layout and escaping (checked against entries C sent in the golden transcripts),
 * the RRD table and dump cache, and RRD files written with librrd.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fnv1a64, packEntry, utf8ToAscii } from '../../src/clusterlog/entry.js';
import { GHashTable, gStrHash } from '../../src/status/ghash.js';
import { Rng } from '../../src/util/rng.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { rrdTarget } from '../../src/status/rrd.js';
import { RrdFiles, rrdAddon } from '../../src/status/rrdfile.js';
import { Status } from '../../src/status/status.js';
import { silentLog } from '../../src/util/log.js';
import { decodeKvUpdate, KvMessageType } from '../../src/wire/kvstore.js';
import { goldenDir, goldenMissing } from '../helpers/golden.js';
import type { Clock } from '../../src/util/clock.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A clock the test moves by setting `now.v` (seconds); the status code sets no timers. */
function secondsClock(now: { v: number }): Clock {
  return { nowMs: () => now.v * 1000, setTimer: () => assert.fail('Status sets no timers') };
}

function setup(o: { now?: { v: number }; rrdDir?: string } = {}) {
  const memdb = Memdb.open(join(tmp('status-'), 'config.db'));
  const now = o.now ?? { v: 1_700_000_000 };
  const sent: { subtype: number; payload: Buffer }[] = [];
  const rrdFiles = o.rrdDir === undefined ? null : new RrdFiles({ dir: o.rrdDir, cachedAddress: null, log: silentLog });
  const status = new Status({ nodename: 'n1', nodeip: '10.0.0.1', memdb, isQuorate: () => true, clock: secondsClock(now), log: silentLog, rrdFiles, pid: 77 });
  status.sender = { send: (subtype, payload) => sent.push({ subtype, payload: Buffer.concat(payload) }) };
  status.setClusterInfo({ clusterName: 'lab', configVersion: 3, configVersionMissing: false, nodes: [{ name: 'n1', nodeid: 1, votes: 1, ring0Addr: undefined }, { name: 'n2', nodeid: 2, votes: 1, ring0Addr: undefined }] });
  return { status, sent, now, memdb };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const z = (s: string): Buffer => Buffer.concat([b(s), Buffer.alloc(1)]);

describe('status key/value tables', () => {
  it('versions: 0 on create, +1 per set, delete by empty value; every set is broadcast', () => {
    const { status, sent } = setup();
    assert.equal(status.setStatus(b('kv/a'), z('x')), 0);
    assert.equal(status.setStatus(b('kv/a'), z('x')), 0);
    assert.deepEqual(status.getStatus(b('kv/a'), b('')), z('x'));
    assert.match(status.versionText().toString(), /"kvstore": \{\n"n1": \{\n"kv\/a": 1\}\n\}\n\}\n$/);
    assert.equal(status.setStatus(b('kv/a'), Buffer.alloc(0)), 0);
    assert.equal(status.getStatus(b('kv/a'), b('n1')), -2);
    assert.equal(sent.length, 3);
    const u = decodeKvUpdate(sent[0]!.payload);
    assert.ok(u.ok);
    assert.equal(u.value.key.toString(), 'kv/a');
    assert.deepEqual(u.value.value, z('x'));
  });

  it('EFBIG above 32 KiB (nothing sent); ENOMEM for a bad nodeip or rrd value, still broadcast', () => {
    const { status, sent } = setup();
    assert.equal(status.setStatus(b('kv/big'), Buffer.alloc(32 * 1024 + 1, 0x41)), -27);
    assert.equal(sent.length, 0);
    assert.equal(status.setStatus(b('nodeip'), b('10.0.0.9')), -12);
    assert.equal(status.setStatus(b('rrd/pve2-node/n1'), b('1:2')), -12);
    assert.equal(sent.length, 2);
  });

  it('remote updates: per-node tables, nodeip → .members ip, unknown nodeids ignored', () => {
    const { status } = setup();
    status.nodeSet(2, b('kv/r'), z('v'));
    status.nodeSet(2, b('kv/r'), z('v'));
    status.nodeSet(9, b('kv/r'), z('ignored'));
    status.nodeSet(2, b('nodeip'), z('10.0.0.2'));
    status.setOnline([{ nodeid: 1, pid: 5 }, { nodeid: 2, pid: 6 }]);
    assert.deepEqual(status.getStatus(b('kv/r'), b('n2')), z('v'));
    assert.match(status.versionText().toString(), /,\n"n2": \{\n"kv\/r": 1\}\n\}\n\}\n$/);
    const m = status.memberListText().toString();
    assert.match(m, /"n2": \{ "id": 2, "online": 1, "ip": "10\.0\.0\.2"\}/);
    assert.match(m, /"n1": \{ "id": 1, "online": 1\}/);
    status.announceIp();
    assert.match(status.memberListText().toString(), /"n1": \{ "id": 1, "online": 1, "ip": "10\.0\.0\.1"\}/);
  });
});

describe('status: .members online flags', () => {
  it('a nodelist read after the kvstore confchg lists the group members online (C: offline until the next confchg)', () => {
    const memdb = Memdb.open(join(tmp('status-'), 'config.db'));
    const status = new Status({ nodename: 'n1', nodeip: '10.0.0.1', memdb, isQuorate: () => true, clock: secondsClock({ v: 1_700_000_000 }), log: silentLog, rrdFiles: null, pid: 77 });
    status.setOnline([{ nodeid: 1, pid: 5 }, { nodeid: 3, pid: 7 }]);
    const node = (name: string, nodeid: number) => ({ name, nodeid, votes: 1, ring0Addr: undefined });
    status.setClusterInfo({ clusterName: 'lab', configVersion: 1, configVersionMissing: false, nodes: [node('n1', 1), node('n2', 2), node('n3', 3)] });
    const m = status.memberListText().toString();
    assert.match(m, /"n1": \{ "id": 1, "online": 1/);
    assert.match(m, /"n2": \{ "id": 2, "online": 0/);
    assert.match(m, /"n3": \{ "id": 3, "online": 1/);
    status.setOnline([{ nodeid: 1, pid: 5 }]);
    status.setClusterInfo({ clusterName: 'lab', configVersion: 2, configVersionMissing: false, nodes: [node('n1', 1), node('n3', 3)] });
    assert.match(status.memberListText().toString(), /"n3": \{ "id": 3, "online": 0/, 'carried over by nodeid from the last confchg');
  });
});

describe('GLib hash order (ghash.ts)', () => {
  it('g_str_hash is djb2 over signed chars', () => {
    assert.equal(gStrHash(''), 5381);
    assert.equal(gStrHash('a'), (5381 * 33 + 97) >>> 0);
    assert.equal(gStrHash('\xff'), (5381 * 33 - 1) >>> 0);
  });

  it('.members of a 4-node cluster lists the nodes in nodes_byid bucket order (n1, n2, n4, n3)', () => {
    const { status } = setup();
    const nodes = [1, 2, 3, 4].map((id) => ({ name: `n${id}`, nodeid: id, votes: 1, ring0Addr: undefined }));
    status.setClusterInfo({ clusterName: 'lab', configVersion: 1, configVersionMissing: false, nodes });
    const m = status.memberListText().toString();
    assert.deepEqual([...m.matchAll(/"(n\d)": \{ "id"/g)].map((x) => x[1]), ['n1', 'n2', 'n4', 'n3']);
  });

  it('random inserts, replaces and deletes through resizes: exactly the live keys, each once', () => {
    const rng = new Rng(5);
    const t = new GHashTable<string, number>(gStrHash);
    const live = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const k = `key${rng.int(300)}`;
      if (rng.chance(0.35)) {
        assert.equal(t.delete(k), live.delete(k));
      } else {
        t.set(k, i);
        live.set(k, i);
      }
      if (i % 500 === 0) t.deleteWhere((key) => key.endsWith('7') && live.delete(key));
    }
    assert.equal(t.count, live.size);
    assert.deepEqual(new Map(t.entries()), live);
  });
});

describe('cluster log entries', () => {
  it('FNV-1a 64 of the name with its NUL', () => {
    assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
    assert.equal(fnv1a64(b('a')), 0xaf63dc4c8601ec8cn);
  });

  it('escaping as utf8_to_ascii: quotes, controls, BMP, dropped emoji, raw backslash, invalid UTF-8', () => {
    assert.equal(utf8ToAscii(Buffer.from('spec "quote" back\\slash ü tab\tend'), 4000).toString(), 'spec \\"quote\\" back\\slash \\u00fc tab#009end');
    assert.equal(utf8ToAscii(Buffer.from('a😀b'), 4000).toString(), 'ab');
    assert.equal(utf8ToAscii(Buffer.from([0x41, 0xff, 0x09, 0x22]), 4000).toString(), 'A?#009\\"');
  });

  it('priority > 7 creates nothing and does not consume a uid; the first entry is "starting cluster log"', () => {
    const { status, sent } = setup();
    status.logClusterMessage({ priority: 8, ident: b('root@pam'), tag: b('t'), message: b('no'), pid: 1 });
    assert.equal(sent.length, 0);
    status.logClusterMessage({ priority: 6, ident: b('root@pam'), tag: b('t'), message: b('yes'), pid: 1 });
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.subtype, KvMessageType.LOG);
    assert.equal(sent[0]!.payload.readUInt32LE(8), 2); // uid 1 was "starting cluster log"
    const json = status.clusterLogJson(50, b('')).toString();
    assert.match(json, /^\{\n"data": \[\n\{"uid": 2, .*"msg": "yes"\},\n\{"uid": 1, "time": 1700000000, "pri": 6, "tag": "cluster", "pid": 77, "node": "n1", "user": "root", "msg": "starting cluster log"\}\n\]\n\}\n$/);
    assert.equal(status.clusterLogJson(50, b('root@pam')).toString().split('"uid"').length, 2);
  });

  it('every LOG entry C sent in the golden kv-ops transcript is reproduced byte for byte by packEntry', { skip: goldenMissing }, () => {
    const lines = readFileSync(join(goldenDir, 'kvstore/transcripts/kv-ops.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { hex?: string });
    let n = 0;
    for (const l of lines) {
      if (l.hex === undefined) continue;
      const m = Buffer.from(l.hex, 'hex');
      if (m.readUInt16LE(0) !== 0 || m.readUInt16LE(2) !== KvMessageType.LOG) continue;
      const e = m.subarray(24);
      const str = (off: number, len: number): Buffer => e.subarray(off, off + len - 1);
      const nl = e[37]!, il = e[38]!, tl = e[39]!;
      // The original message is not in the transcript; re-escaping the stored (ASCII) text is the identity
      // except for the escapes themselves, so rebuild from a message with the same escaped form instead:
      const stored = str(44 + nl + il + tl, e.readUInt32LE(40));
      const packed = packEntry({ node: str(44, nl), ident: str(44 + nl, il), tag: str(44 + nl + il, tl), pid: e.readUInt32LE(32), time: e.readUInt32LE(12), priority: e[36]!, msg: unescape(stored), uid: e.readUInt32LE(8) });
      assert.ok(packed !== null);
      assert.deepEqual(packed.subarray(0, packed.length - 4), e.subarray(0, e.length - 4), `entry uid ${e.readUInt32LE(8)}`);
      n++;
    }
    assert.equal(n, 10);
  });
});

/** Inverse of the escaping for the golden texts (\" → ", #DDD → control, \uXXXX → BMP). */
function unescape(s: Buffer): Buffer {
  const t = s.toString('latin1').replace(/\\"/g, '"').replace(/#(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d))).replace(/\\u([0-9a-f]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(t, 'utf8');
}

describe('RRD', () => {
  it('keys and adjustments of kvstore.md §9.1', () => {
    assert.equal(rrdTarget('pve2-node/n1', z('100:0:1700000000:1:2:3:4:5:6:7:8:9:10:11:12'))!.sample, '1700000000:1:2:3:4:5:6:7:8:9:10:11:12:U:U:U:U:U:U:U');
    assert.equal(rrdTarget('pve2-vm/100', z('1:2')), null);
    assert.equal(rrdTarget('pve2-storage//st', z('1:2:3'))!.file, 'pve-storage-9.0//st');
    const cut = rrdTarget('pve-storage-9.9/probe/st', z('1700000000:100:50:7:8'))!;
    assert.equal(cut.sample, '1700000000:100:50');
    assert.equal(cut.cutAt, 17);
    assert.equal(rrdTarget('pve-storage-9.9/probe/st', z('1700000000:100:50'))!.sample, '1700000000:100:5');
    assert.equal(rrdTarget('pve-node-9.0/a/b', z('1')), null);
  });

  it('dump: fresh with trailing NUL, cached for 2 s without it, entries expire after 300 s', () => {
    const { status, now } = setup();
    assert.deepEqual(status.rrdDump(), Buffer.alloc(1));
    now.v += 2;
    status.setStatus(b('rrd/pve2-vm/100'), z('1:2:3'));
    assert.equal(status.rrdDump().toString('latin1'), 'pve2-vm/100:1:2:3\n\0');
    assert.equal(status.rrdDump().toString('latin1'), 'pve2-vm/100:1:2:3\n');
    now.v += 301;
    assert.deepEqual(status.rrdDump(), Buffer.alloc(1));
  });

  it('the local sender keeps the uncut string, the broadcast is cut (C cuts the caller\'s buffer)', () => {
    const { status, sent, now } = setup();
    status.setStatus(b('rrd/pve-storage-9.9/probe/st'), z('1700000000:100:50:7:8'));
    now.v += 5;
    assert.equal(status.rrdDump().toString('latin1'), 'pve-storage-9.9/probe/st:1700000000:100:50:7:8\n\0');
    const u = decodeKvUpdate(sent[0]!.payload);
    assert.ok(u.ok);
    assert.equal(u.value.value.toString('latin1'), '1700000000:100:50\x007:8\0');
  });

  it('files are created with C\'s data sources and archives and receive the samples (librrd)', () => {
    const dir = tmp('rrd-');
    const now = { v: Math.floor(Date.now() / 1000) };
    const { status } = setup({ rrdDir: dir, now });
    const t = now.v - (now.v % 60);
    status.setStatus(b('rrd/pve2.3-vm/100'), z(`100:vm100:running:0:${t}:4:0.5:1024:512:2048:1024:10:20:30:40`));
    status.setStatus(b('rrd/pve2-storage/n1/local'), z(`${t}:1000:500`));
    const vm = join(dir, 'pve-vm-9.0/100');
    assert.ok(existsSync(vm) && existsSync(join(dir, 'pve-storage-9.0/n1/local')));
    const info = rrdAddon().info(vm);
    assert.equal(typeof info, 'object');
    const i = info as Record<string, number | string>;
    assert.equal(i['step'], 60);
    assert.equal(i['last_update'], t);
    assert.equal(i['ds[netin].type'], 'DERIVE');
    assert.equal(i['ds[pressurememoryfull].type'], 'GAUGE');
    assert.equal(i['ds[maxcpu].last_ds'], '4');
    assert.equal(i['rra[7].cf'], 'MAX');
    assert.equal(i['rra[7].rows'], 570);
    assert.equal(i['rra[3].pdp_per_row'], 10080);
    assert.equal(Object.keys(i).filter((k) => /^ds\[[a-z]+\]\.type$/.test(k)).length, 17);
  });

  it('without rrdcached listening the update goes to the file directly (rrdc_connect fails, librrd writes)', () => {
    const dir = tmp('rrdc-');
    const files = new RrdFiles({ dir, cachedAddress: `unix:${join(dir, 'no-such.sock')}`, log: silentLog });
    const t = Math.floor(Date.now() / 1000);
    assert.deepEqual(rrdAddon().cachedUpdate(`unix:${join(dir, 'no-such.sock')}`, join(dir, 'x'), `${t}:1:2`), { connected: false, status: 0 });
    files.write(rrdTarget('pve2-storage/n1/st', z(`${t - (t % 60)}:5:6`))!, t);
    const info = rrdAddon().info(join(dir, 'pve-storage-9.0/n1/st'));
    assert.equal(typeof info === 'object' && info['ds[used].last_ds'], '6');
  });

  const RRDCACHED = '/usr/bin/rrdcached';
  it('through rrdcached when it listens: the sample goes over its socket and reaches the file at its flush', { skip: existsSync(RRDCACHED) ? false : `${RRDCACHED} not installed` }, async () => {
    const dir = tmp('rrdcached-');
    const sock = join(dir, 'rrdcached.sock');
    mkdirSync(join(dir, 'journal'));
    // foreground, write timeout 1 h: nothing reaches the file before the flush at exit (-F)
    const daemon = spawn(RRDCACHED, ['-g', '-F', '-B', '-b', dir, '-j', join(dir, 'journal'), '-w', '3600', '-z', '1', '-f', '7200', '-p', join(dir, 'pid'), '-l', `unix:${sock}`], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => daemon.once('exit', () => r()));
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(sock), 'rrdcached socket');
    const files = new RrdFiles({ dir, cachedAddress: `unix:${sock}`, log: silentLog });
    const now = Math.floor(Date.now() / 1000);
    const t = now - (now % 60);
    files.write(rrdTarget('pve2-storage/n1/cached', z(`${t}:7:8`))!, now);
    const file = join(dir, 'pve-storage-9.0/n1/cached');
    const before = rrdAddon().info(file) as Record<string, number | string>;
    assert.notEqual(before['last_update'], t, 'not written directly');
    daemon.kill('SIGTERM');
    await exited;
    const after = rrdAddon().info(file) as Record<string, number | string>;
    assert.equal(after['last_update'], t, 'flushed by rrdcached');
    assert.equal(after['ds[used].last_ds'], '8');
  });
});
