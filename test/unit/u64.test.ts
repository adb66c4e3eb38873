/**
 * Issue 16 finding 2: versions and inodes over the whole u64 range C supports
 * (guint64). A database whose __version__ is 2^63 − 1 loads, takes writes (inodes
 * 2^63, 2^63 + 1, stored by SQLite as negative INTEGERs, as C binds them), syncs
 * between simulated nodes, and the `db` tools print its index and checksum.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Memdb } from '../../src/memdb/memdb.js';
import { DfsmMode } from '../../src/dfsm/types.js';
import { SimCluster } from '../../src/sim/cluster.js';
import { toJson } from '../../src/util/json.js';
import { DT_REG, type EntryFields } from '../../src/wire/entry.js';
import { databaseChecksum } from '../../src/wire/hash.js';
import { decodeIndex, encodeIndex } from '../../src/wire/memdb-index.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';
import { readU64, u64, u64Compare, u64Inc, writeU64 } from '../../src/wire/u64.js';
import { repoRoot } from '../helpers/golden.js';
import { ManualClock } from '../../src/util/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-u64-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MAX63 = 2n ** 63n - 1n;
const T = 1_700_000_000;

/** A database C could hold: a file, then __version__ moved to 2^63 − 1. */
function hugeVersionDb(file: string): void {
  const m = Memdb.open(file, { clock: ManualClock.atSeconds(T) });
  assert.equal(m.create('a', 1, T), 0);
  assert.equal(m.write('a', 1, T, Buffer.from('x'), 0, false), 1);
  m.close();
  const db = new BetterSqlite3(file);
  db.prepare('UPDATE tree SET version = ? WHERE inode = 0').run(MAX63);
  db.close();
}

describe('u64 helpers', () => {
  it('one representation per value: number up to 2^53 − 1, bigint above', () => {
    assert.equal(u64(5n), 5);
    assert.equal(u64(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
    assert.equal(u64(2n ** 53n), 2n ** 53n);
    assert.equal(u64Inc(Number.MAX_SAFE_INTEGER), 2n ** 53n);
    assert.equal(u64Inc(2n ** 64n - 1n), 0, 'wraps as guint64');
    assert.equal(u64(-1n), 2n ** 64n - 1n, 'a negative SQLite INTEGER is the upper half');
    assert.equal(u64Compare(2n ** 60n, 7), 1);
    assert.deepEqual([2n ** 60n, 3, 2n ** 54n, 0].sort(u64Compare), [0, 3, 2n ** 54n, 2n ** 60n]);
  });

  it('read/write: the same 8 little-endian bytes as writeBigUInt64LE', () => {
    for (const v of [0n, 1n, 2n ** 32n + 7n, 2n ** 53n - 1n, 2n ** 53n, MAX63, 2n ** 64n - 1n]) {
      const a = Buffer.alloc(8);
      const b = Buffer.alloc(8);
      writeU64(a, 0, u64(v));
      b.writeBigUInt64LE(v);
      assert.deepEqual(a, b, String(v));
      assert.equal(BigInt(readU64(a, 0)), v);
    }
  });

  it('JSON prints a bigint as its exact digits', () => {
    assert.equal(toJson({ v: MAX63, n: 3, s: 'x' }), '{"v":9223372036854775807,"n":3,"s":"x"}');
  });
});

describe('wire codecs over the full u64 range', () => {
  it('UPDATE and index round-trip 2^63 − 1 and 2^64 − 1', () => {
    const e: EntryFields = { inode: 2n ** 64n - 1n, parent: MAX63, version: 2n ** 64n - 1n, writer: 1, mtime: T, size: 1, type: DT_REG, name: 'f', data: Buffer.from('z') };
    const buf = encodeUpdate(e);
    assert.equal(buf.readBigUInt64LE(8), 2n ** 64n - 1n);
    const d = decodeUpdate(buf);
    assert.ok(d.ok);
    assert.equal(d.value.inode, 2n ** 64n - 1n);
    assert.equal(d.value.parent, MAX63);
    const idx = encodeIndex({ version: MAX63, writer: 1, mtime: T }, [
      { inode: 5, digest: Buffer.alloc(32, 1) },
      { inode: 2n ** 63n, digest: Buffer.alloc(32, 2) },
    ]);
    assert.equal(idx.readBigUInt64LE(8), 2n ** 63n, 'last_inode');
    const di = decodeIndex(idx);
    assert.ok(di.ok);
    assert.equal(di.value.version, MAX63);
    assert.deepEqual(di.value.inodes, [5, 2n ** 63n]);
  });
});

describe('a database with __version__ 2^63 − 1', () => {
  it('loads, takes writes past 2^63 (negative INTEGERs in SQLite) and reloads them exactly', () => {
    const file = join(dir, 'huge.db');
    hugeVersionDb(file);
    let m = Memdb.open(file, { clock: ManualClock.atSeconds(T) });
    assert.equal(m.root.version, MAX63);
    assert.equal(m.create('b', 1, T), 0);
    assert.equal(m.mkdir('d', 1, T), 0);
    assert.equal(m.getattr('b')!.inode, 2n ** 63n);
    assert.equal(m.getattr('d')!.inode, 2n ** 63n + 1n);
    const index = m.encodeIndex();
    const sum = m.checksum();
    m.close();
    const raw = new BetterSqlite3(file, { readonly: true });
    const stored = raw.prepare("SELECT inode FROM tree WHERE name = 'b'").safeIntegers(true).get() as { inode: bigint };
    raw.close();
    assert.equal(stored.inode, -(2n ** 63n), 'stored as C binds a guint64 (sqlite3_bind_int64)');
    m = Memdb.open(file, { clock: ManualClock.atSeconds(T) });
    assert.ok(m.encodeIndex().equals(index));
    assert.ok(m.checksum().equals(sum));
    assert.ok(databaseChecksum(m.sortedEntries()).equals(sum));
    assert.equal(m.root.version, 2n ** 63n + 1n);
    m.close();
  });

  it('the db tools print index, checksum, dump and check, and leave the file byte-identical', () => {
    const file = join(dir, 'tools.db');
    hugeVersionDb(file);
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const bin = join(repoRoot, 'bin/pmxcfs-ts.mjs');
    const run = (sub: string, ...flags: string[]) => execFileSync(process.execPath, [bin, 'db', sub, file, ...flags], { encoding: 'utf8' });
    assert.match(run('index'), /^version 9223372036854775807 /);
    assert.match(run('checksum'), /^[0-9a-f]{64}\n$/);
    assert.match(run('dump', '--json'), /"version": 9223372036854775807/);
    assert.match(run('check'), /clean/);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), before);
  });

  it('syncs between simulated nodes: the holder leads, a new node gets inodes beyond 2^63', () => {
    const c = new SimCluster({ seed: 16, nodes: 2, dir });
    hugeVersionDb(c.file(1));
    const n1 = c.start(1);
    const settle = () => {
      for (let i = 0; i < 30; i++) c.clock.advance(1000, () => c.net.runUntilIdle());
    };
    settle();
    assert.equal(n1.dfsm.mode, DfsmMode.SYNCED);
    const now = Math.floor(c.clock.nowMs() / 1000);
    assert.equal(n1.memdb.create('big', 1, now), 0);
    const n2 = c.start(2);
    settle();
    assert.equal(n2.dfsm.mode, DfsmMode.SYNCED);
    assert.equal(n2.memdb.getattr('big')!.inode, 2n ** 63n);
    assert.ok(n1.memdb.encodeIndex().equals(n2.memdb.encodeIndex()));
    assert.equal(c.modeEvents.length, 0, `no node left: ${JSON.stringify(c.modeEvents)}`);
    c.stop(1, false);
    c.stop(2, false);
  });
});
