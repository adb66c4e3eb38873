/**
 * A lazy open (Memdb lazyData, the daemon's): the tree first, file data afterwards in
 * chunks or on first use. Every operation on a file whose bytes are still only in the
 * database keeps them, and the index, checksum and data equal those of a full open.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { EIO } from '../../src/memdb/errno.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { DT_REG } from '../../src/wire/entry.js';
import { scratchDir } from '../helpers/golden.js';

const T = 1_700_000_100;
const FILES = 25;

/** A database of FILES files in two directories, each with its own bytes. */
function database(): string {
  const file = join(scratchDir(), 'config.db');
  const memdb = Memdb.open(file);
  assert.equal(memdb.mkdir('d1', 1, T), 0);
  assert.equal(memdb.mkdir('d1/d2', 1, T), 0);
  for (let i = 0; i < FILES; i++) {
    assert.equal(memdb.create(pathOf(i), 1, T), 0);
    assert.equal(memdb.write(pathOf(i), 1, T, contentOf(i), 0, true), contentOf(i).length);
  }
  memdb.close();
  return file;
}

const pathOf = (i: number): string => (i % 2 === 0 ? `d1/f${i}` : `d1/d2/f${i}`);
const contentOf = (i: number): Buffer => Buffer.from(`file ${i} `.repeat(1 + i * 7));

function rowCount(file: string, table: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** File entries with size > 0 whose data is not in memory yet. */
function unread(memdb: Memdb): number {
  return [...memdb.index.values()].filter((e) => e.type === DT_REG && e.size > 0 && e.data === null).length;
}

describe('lazy open', () => {
  it('reads the tree first and the data in chunks; then index, checksum and bytes equal a full open', () => {
    const file = database();
    const full = Memdb.open(file);
    const [index, sum] = [full.encodeIndex(), full.checksum()];
    full.close();
    const lazy = Memdb.open(file, { lazyData: true });
    assert.equal(unread(lazy), FILES);
    let steps = 1;
    while (!lazy.fillData(4)) steps++;
    assert.equal(steps, Math.ceil(FILES / 4) + (FILES % 4 === 0 ? 1 : 0));
    assert.equal(unread(lazy), 0);
    assert.ok(lazy.encodeIndex().equals(index));
    assert.ok(lazy.checksum().equals(sum));
    for (let i = 0; i < FILES; i++) assert.deepEqual(lazy.read(pathOf(i)), contentOf(i));
    lazy.close();
  });

  it('index and checksum read all data first (no fillData)', () => {
    const file = database();
    const full = Memdb.open(file);
    const sum = full.checksum();
    full.close();
    const lazy = Memdb.open(file, { lazyData: true });
    assert.ok(lazy.checksum().equals(sum));
    assert.equal(unread(lazy), 0);
    lazy.close();
  });

  it('a read, a partial write, a truncate, a rename, an mtime and a delete of unread files keep their bytes', () => {
    const file = database();
    const lazy = Memdb.open(file, { lazyData: true });
    assert.deepEqual(lazy.read(pathOf(0)), contentOf(0));
    assert.equal(unread(lazy), FILES - 1, 'one file read, the others still unread');
    assert.equal(lazy.write(pathOf(1), 2, T + 1, Buffer.from('XY'), 3, false), 2);
    assert.equal(lazy.write(pathOf(2), 2, T + 1, null, 5, true), 0);
    assert.equal(lazy.rename(pathOf(3), 'd1/moved', 2, T + 1), 0);
    assert.equal(lazy.mtime(pathOf(4), 2, T + 2), 0);
    assert.equal(lazy.delete(pathOf(5), 2, T + 2), 0);
    // The fill goes on past the changed and the deleted files.
    while (!lazy.fillData(3));
    const [index, sum] = [lazy.encodeIndex(), lazy.checksum()];
    lazy.close();
    const again = Memdb.open(file);
    const patched = Buffer.from(contentOf(1));
    patched.write('XY', 3, 'latin1');
    assert.deepEqual(again.read(pathOf(1)), patched);
    assert.deepEqual(again.read(pathOf(2)), contentOf(2).subarray(0, 5));
    assert.deepEqual(again.read('d1/moved'), contentOf(3));
    assert.deepEqual(again.read(pathOf(4)), contentOf(4));
    assert.equal(again.getattr(pathOf(5)), null);
    for (let i = 6; i < FILES; i++) assert.deepEqual(again.read(pathOf(i)), contentOf(i));
    assert.ok(again.encodeIndex().equals(index));
    assert.ok(again.checksum().equals(sum));
    again.close();
  });

  it('a file whose data cannot be read any more: a clear error, no more changes, nothing lost', () => {
    const file = database();
    const before = rowCount(file, 'tree');
    const lazy = Memdb.open(file, { lazyData: true });
    // The rows vanish under the open memdb (another process renamed the table).
    const other = new BetterSqlite3(file);
    other.exec('ALTER TABLE tree RENAME TO moved');
    other.close();
    assert.throws(() => lazy.fillData(4), /no such table/);
    assert.equal(lazy.errors, true);
    assert.equal(lazy.create('d1/new', 1, T + 1), -EIO);
    lazy.close();
    assert.equal(rowCount(file, 'moved'), before);
  });

  it('the tree equals a full open across chunks: 20,000 rows, inodes from 2^63, NUL-cut, non-ASCII and long names', () => {
    const file = join(scratchDir(), 'config.db');
    Memdb.open(file).close();
    const db = new BetterSqlite3(file);
    const insert = db.prepare('INSERT INTO tree VALUES (?, ?, 1, 1, 1, ?, CAST(? AS TEXT), ?)');
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) insert.run(1000 + i, 0, DT_REG, `f${i}`, Buffer.from(`${i}`));
      // u64 inodes from 2^63 are negative in SQL: first in the scan, a child before its parent.
      insert.run(-9n, -5n, DT_REG, 'under a later dir', Buffer.from('x'));
      insert.run(-5n, 0, 4, 'high', null);
      insert.run(-4n, -5n, DT_REG, Buffer.from('cut\0here'), Buffer.from('y'));
      insert.run(-3n, -5n, DT_REG, Buffer.from([0xff, 0xfe, 0x41, 0xc3]), Buffer.from('z'));
      insert.run(-2n, -5n, DT_REG, 'n'.repeat(4000), null);
      insert.run(-1n, -5n, DT_REG, Buffer.alloc(2000, 0xe9), Buffer.from('w'));
    })();
    db.close();
    const full = Memdb.open(file);
    const [index, sum] = [full.encodeIndex(), full.checksum()];
    full.close();
    const lazy = Memdb.open(file, { lazyData: true });
    assert.equal(lazy.index.size, full.index.size);
    assert.equal(lazy.index.size, 20_000 + 7);
    for (const name of ['cut', Buffer.from([0xff, 0xfe, 0x41, 0xc3]).toString('latin1'), 'n'.repeat(4000), '\xe9'.repeat(2000), 'under a later dir']) {
      assert.ok(lazy.getattr(`high/${name}`), `high/${name.slice(0, 20)}`);
    }
    assert.ok(lazy.encodeIndex().equals(index));
    assert.ok(lazy.checksum().equals(sum));
    lazy.close();
  });

  it('unread files are not mistaken for files with size but no data', () => {
    const file = database();
    const lazy = Memdb.open(file, { lazyData: true });
    assert.deepEqual(lazy.reloadDatalessFiles(lazy.index.keys()), []);
    assert.deepEqual(lazy.read(pathOf(7)), contentOf(7));
    lazy.close();
  });
});
