/**
 * Issue 16 finding 5: a database the daemon refuses stays byte-identical (it is read
 * before anything switches it to WAL or adds a table), and a SQLite file without a
 * `tree` table is refused instead of being given an empty one. Every case runs on a
 * fresh file and compares its bytes (and mode) before and after.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Memdb, MemdbOpenError } from '../../src/memdb/memdb.js';
import { repoRoot } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-refused-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/** A SQLite file (rollback journal, mode 0644) made by `sql`. */
function sqliteFile(name: string, sql: string): string {
  const file = join(dir, name);
  const db = new BetterSqlite3(file);
  db.exec(sql);
  db.close();
  chmodSync(file, 0o644);
  return file;
}

const GOOD_SCHEMA = `CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL, version INTEGER NOT NULL,
  writer INTEGER NOT NULL, mtime INTEGER NOT NULL, type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB);
  INSERT INTO tree VALUES (0, 0, 5, 0, 1700000000, 8, '__version__', NULL);`;

function expectRefused(file: string, message: RegExp): void {
  const before = sha(file);
  const mode = statSync(file).mode;
  assert.equal(readFileSync(file)[18], 1, 'the file starts in rollback-journal mode (header bytes 18/19 = 1)');
  assert.throws(() => Memdb.open(file), (err: unknown) => err instanceof MemdbOpenError && message.test(err.message));
  assert.equal(sha(file), before, 'the refused file is byte-identical');
  assert.equal(statSync(file).mode, mode, 'and keeps its mode');
  assert.equal(existsSync(file + '-wal') && statSync(file + '-wal').size > 0, false, 'nothing was written to a WAL');
}

describe('a refused database is left byte-identical', () => {
  it('a SQLite file without a tree table is refused, no table is created', () => {
    const file = sqliteFile('notree.db', 'CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1);');
    expectRefused(file, /has no table tree/);
    const db = new BetterSqlite3(file, { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), [{ name: 'other' }]);
    db.close();
  });

  it('a tree table with the wrong columns', () => {
    expectRefused(sqliteFile('columns.db', 'CREATE TABLE tree (inode INTEGER PRIMARY KEY, name TEXT);'), /not a pmxcfs database/);
  });

  it('rows the loader rejects (a directory with data, a duplicate name, an unknown type)', () => {
    const cases = [
      "INSERT INTO tree VALUES (1, 0, 1, 0, 1, 4, 'd', X'00');",
      "INSERT INTO tree VALUES (1, 0, 1, 0, 1, 8, 'f', NULL); INSERT INTO tree VALUES (2, 0, 2, 0, 1, 8, 'f', NULL);",
      "INSERT INTO tree VALUES (1, 0, 1, 0, 1, 1, 'x', NULL);",
    ];
    cases.forEach((rows, k) => expectRefused(sqliteFile(`rows${k}.db`, GOOD_SCHEMA + rows), /unable to load database/));
  });

  it('a valid file is switched to WAL and 0600 only after it loaded', () => {
    const file = sqliteFile('good.db', GOOD_SCHEMA + "INSERT INTO tree VALUES (1, 0, 1, 0, 1, 8, 'f', X'61');");
    const m = Memdb.open(file);
    assert.deepEqual(m.read('f'), Buffer.from('a'));
    m.close();
    assert.equal(readFileSync(file)[18], 2, 'WAL');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('a read-only database file (read-only bind mount): a clear open error, the file untouched', { skip: process.getuid?.() !== 0 || !existsSync('/usr/bin/unshare') ? 'needs root and unshare' : false }, () => {
    const file = sqliteFile('ro.db', GOOD_SCHEMA);
    const before = sha(file);
    const memdb = join(repoRoot, 'dist/src/memdb/memdb.js');
    const js = `import('${memdb}').then((m) => { try { m.Memdb.open('${file}'); console.log('opened'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); } })`;
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${file} ${file} && mount -o remount,bind,ro ${file} && ${process.execPath} -e "${js}"`], { encoding: 'utf8' });
    assert.match(out, /^MemdbOpenError: unable to load database .*cannot open .* for writing: .*read-only file system/m);
    assert.equal(sha(file), before);
  });

  it('`db check` names the missing table and leaves the file alone', () => {
    const file = sqliteFile('notree-cli.db', 'CREATE TABLE other (x INTEGER);');
    const before = sha(file);
    let out = '';
    try {
      execFileSync(process.execPath, [join(repoRoot, 'bin/pmxcfs-ts.mjs'), 'db', 'check', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      out = String((err as { stderr: string }).stderr);
    }
    assert.match(out, /has no table tree/);
    assert.equal(sha(file), before);
  });
});
