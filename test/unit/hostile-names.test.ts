/**
 * Issue 16 finding 4: names C accepts from a database or a leader but no directory
 * listing can carry ('/' inside, '.', '..', more than 1024 bytes). They stay in the tree,
 * index and checksum byte-exact (C nodes hold them), listings skip them with one log
 * line per entry, and `db check` reports them (also empty names, embedded NULs and
 * names longer than 255 bytes, which are listed as C lists them).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { FsOps } from '../../src/fsops/fsops.js';
import { PveFs } from '../../src/fuse/fs.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { Status } from '../../src/status/status.js';
import { silentLog } from '../../src/util/log.js';
import { DT_REG } from '../../src/wire/entry.js';
import { entryDigest } from '../../src/wire/hash.js';
import { decodeIndex, indexEntries } from '../../src/wire/memdb-index.js';
import { repoRoot } from '../helpers/golden.js';
import { ManualClock } from '../../src/util/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LONG = 'x'.repeat(1100);
const HOSTILE = ['a/b', '.', '..', LONG];

/** A database holding good.txt and one file per hostile name (rows written as C's REPLACE would). */
function hostileDb(name: string, extra = ''): string {
  const file = join(dir, name);
  Memdb.open(file).close();
  const db = new BetterSqlite3(file);
  const ins = db.prepare('INSERT INTO tree VALUES (?, 0, ?, 1, 1700000000, 8, CAST(? AS TEXT), ?)');
  ins.run(2, 2, Buffer.from('good.txt'), Buffer.from('g'));
  HOSTILE.forEach((n, k) => ins.run(3 + k, 3 + k, Buffer.from(n, 'latin1'), Buffer.from(`h${k}`)));
  db.prepare('UPDATE tree SET version = 10 WHERE inode = 0').run();
  if (extra !== '') db.exec(extra);
  db.close();
  return file;
}

describe('hostile names', () => {
  it('are loaded and kept byte-exact in the index; listings skip them and log once', () => {
    const memdb = Memdb.open(hostileDb('load.db'));
    const idx = decodeIndex(memdb.encodeIndex());
    assert.ok(idx.ok);
    assert.deepEqual(idx.value.inodes, [0, 2, 3, 4, 5, 6]);
    const slash = memdb.index.get(3)!;
    assert.equal(slash.name, 'a/b');
    const expected = entryDigest({ inode: 3, parent: 0, version: 3, writer: 1, mtime: 1700000000, size: 2, type: DT_REG, name: 'a/b', data: Buffer.from('h0') });
    assert.ok(indexEntries(idx.value)[2]!.digest.equals(expected), 'digest over the raw name');
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
    const fsops = new FsOps(memdb, null, ManualClock.atSeconds(1000));
    const status = new Status({ nodename: 'n1', nodeip: '10.0.0.1', memdb, isQuorate: () => true, clock: ManualClock.atSeconds(1), log: silentLog, rrdFiles: null, pid: 9 });
    const sources = { status, getDebug: () => false, setDebug() {} };
    const fs = new PveFs({ fsops, sources, nodename: 'n1', isQuorate: () => true, wwwGid: 33, clock: ManualClock.atSeconds(2000), log });
    for (let k = 0; k < 3; k++) {
      const names = fs.listing('').names;
      assert.ok(names.includes('good.txt'));
      for (const n of HOSTILE) assert.equal(names.filter((x) => x === n).length, n === '.' || n === '..' ? 1 : 0, `'${n.slice(0, 10)}' not listed`);
    }
    assert.equal(warnings.length, 4, `one warning per hostile entry, not per listing: ${warnings.join(' | ')}`);
    assert.match(warnings.join('\n'), /name contains '\/'/);
    memdb.close();
  });

  it('non-ASCII names load as their bytes, up to the first NUL (the loader reads ASCII names as TEXT)', () => {
    // é in UTF-8, invalid UTF-8, NUL then a high byte, control bytes, a lone continuation byte
    const names = ['c3a9', 'ff61', '6100ff', '017f', '80'];
    const rows = names.map((hex, k) => `INSERT INTO tree VALUES (${30 + k}, 0, 10, 1, 1, 8, CAST(X'${hex}' AS TEXT), NULL);`).join(' ');
    const memdb = Memdb.openReadonly(hostileDb('bytes.db', rows));
    const loaded = names.map((_, k) => memdb.index.get(30 + k)!.name);
    assert.deepEqual(loaded, ['\xc3\xa9', '\xffa', 'a', '\x01\x7f', '\x80']);
    memdb.close();
  });

  it('`db check` reports each of them (and empty names, embedded NULs)', () => {
    const file = hostileDb('check.db', `INSERT INTO tree VALUES (20, 0, 10, 1, 1, 8, CAST(X'6e00756c' AS TEXT), NULL); INSERT INTO tree VALUES (21, 0, 10, 1, 1, 8, '${'y'.repeat(300)}', NULL);`);
    let out = '';
    try {
      execFileSync(process.execPath, [join(repoRoot, 'bin/pmxcfs-ts.mjs'), 'db', 'check', file], { encoding: 'utf8' });
    } catch (err) {
      out = String((err as { stdout: string }).stdout);
    }
    assert.match(out, /inode 3 'a\/b': name contains '\/', not listed by readdir/);
    assert.match(out, /inode 4 '\.': name '\.', not listed/);
    assert.match(out, /inode 5 '\.\.': name '\.\.', not listed/);
    assert.match(out, /inode 6 'x+': name of 1100 bytes \(more than 1024\), not listed/);
    assert.match(out, /inode 21 'y+': name of 300 bytes is longer than NAME_MAX \(255\); listed/);
    assert.match(out, /inode 20 .*: name contains NUL/);
  });
});
