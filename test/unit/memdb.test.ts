/**
 * memdb semantics against memdb.md: every operation's checks in C's order with C's
 * errno, the content rules of pwrite, locks, VM list, the errors flag, commitUpdate,
 * and a seeded property: random operations keep SQLite and memory in step.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { EACCES, EEXIST, EFBIG, EINVAL, EIO, ENOENT, ENOTDIR, ENOTEMPTY } from '../../src/memdb/errno.js';
import { LOCK_TIMEOUT, MAX_FILE_SIZE, Memdb, MemdbOpenError } from '../../src/memdb/memdb.js';
import { splitPath } from '../../src/memdb/path.js';
import { nameIsVmConfig, pathVmConfig, VmType } from '../../src/memdb/vmlist.js';
import { Rng } from '../../src/util/rng.js';
import { DT_DIR } from '../../src/wire/entry.js';
import { entryCsum } from '../../src/wire/hash.js';
import { decodeIndex, type MemdbIndex } from '../../src/wire/memdb-index.js';
import { repoRoot, scratchDir } from '../helpers/golden.js';
import { u64Inc } from '../../src/wire/u64.js';
import { ManualClock, nowSeconds } from '../../src/util/clock.js';

function fresh(now = 1_700_000_000): { memdb: Memdb; file: string; clock: ManualClock } {
  const file = join(scratchDir(), 'config.db');
  const clock = ManualClock.atSeconds(now);
  return { memdb: Memdb.open(file, { clock }), file, clock };
}

const T = 1_700_000_100;

describe('open and create', () => {
  it('a new file gets the __version__ row: version 1, writer 0, mtime now, type 8, C schema', () => {
    const { memdb, file } = fresh();
    assert.equal(memdb.created, true);
    memdb.close();
    const db = new BetterSqlite3(file, { readonly: true });
    assert.deepEqual(db.prepare('SELECT inode, parent, version, writer, mtime, type, name, data FROM tree').all(), [
      { inode: 0, parent: 0, version: 1, writer: 0, mtime: 1_700_000_000, type: 8, name: '__version__', data: null },
    ]);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.match(String(db.prepare("SELECT sql FROM sqlite_master WHERE name='tree'").pluck().get()), /CHECK\(typeof\(parent\)=='integer'\)/);
    db.close();
  });

  it('inode = new version; writer and mtime come from the caller', () => {
    const { memdb } = fresh();
    assert.equal(memdb.mkdir('d', 3, T), 0);
    const e = memdb.getattr('d')!;
    assert.deepEqual([e.inode, e.version, e.writer, e.mtime, e.type], [2, 2, 3, T, DT_DIR]);
    assert.deepEqual([memdb.root.version, memdb.root.writer, memdb.root.mtime], [2, 3, T]);
    memdb.close();
  });

  it('a corrupt database (duplicate names) fails to open with a clear error and db check reports it', () => {
    const { memdb, file } = fresh();
    memdb.mkdir('a', 1, T);
    memdb.close();
    const db = new BetterSqlite3(file);
    db.prepare("INSERT INTO tree VALUES (9, 0, 9, 1, 1, 4, 'a', NULL)").run();
    db.prepare("INSERT INTO tree VALUES (10, 77, 1, 1, 1, 8, 'orphan', NULL)").run();
    db.close();
    const before = readFileSync(file);
    assert.throws(() => Memdb.open(file), (e: unknown) => e instanceof MemdbOpenError && /duplicate name 'a'/.test(e.message));
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/pmxcfs-ts.mjs'), 'db', 'check', file], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /duplicate name/);
    assert.match(r.stdout, /orphan, parent inode 77/);
    assert.match(r.stdout, /version 1 is lower than its inode/);
    assert.ok(readFileSync(file).equals(before), 'neither open nor check modified the file');
  });

  it('duplicate VMIDs prevent opening, as in C', () => {
    const { memdb, file } = fresh();
    for (const p of ['nodes', 'nodes/a', 'nodes/b', 'nodes/a/qemu-server', 'nodes/b/lxc']) memdb.mkdir(p, 1, T);
    memdb.create('nodes/a/qemu-server/100.conf', 1, T);
    memdb.close();
    const db = new BetterSqlite3(file);
    db.prepare("INSERT INTO tree VALUES (50, (SELECT inode FROM tree WHERE name='lxc'), 50, 1, 1, 8, '100.conf', NULL)").run();
    db.prepare('UPDATE tree SET version = 50 WHERE inode = 0').run();
    db.close();
    assert.throws(() => Memdb.open(file), /duplicate VMID/);
  });

  it('a file that is not a database gives a clear error', () => {
    const file = join(scratchDir(), 'config.db');
    execFileSync('sh', ['-c', `printf 'garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage' > ${file}`]);
    assert.throws(() => Memdb.open(file), /not a pmxcfs database|file is not a database|unable to load/);
  });
});

describe('create and write (memdb_pwrite)', () => {
  it('checks in C order', () => {
    const { memdb } = fresh();
    memdb.mkdir('d', 1, T);
    memdb.create('f', 1, T);
    assert.equal(memdb.write('x', 1, T, Buffer.alloc(1), MAX_FILE_SIZE, false), -EFBIG);
    assert.equal(memdb.write('missing/x', 1, T, Buffer.alloc(1), MAX_FILE_SIZE, false), -EFBIG, 'EFBIG before ENOENT');
    assert.equal(memdb.create('missing/x', 1, T), -ENOENT);
    assert.equal(memdb.create('f/x', 1, T), -ENOTDIR, 'the dirname is a file');
    assert.equal(memdb.create('f/x/y', 1, T), -ENOENT, 'below a file: lookup fails');
    assert.equal(memdb.create('d/..', 1, T), -EACCES);
    assert.equal(memdb.create('d/.', 1, T), -EACCES);
    assert.equal(memdb.create('', 1, T), -EACCES);
    assert.equal(memdb.create('d', 1, T), -ENOTDIR, 'exists as a directory');
    assert.equal(memdb.write('d', 1, T, Buffer.from('x'), 0, false), -ENOTDIR);
    assert.equal(memdb.create('f', 1, T), -EEXIST);
    assert.equal(memdb.write('nope', 1, T, Buffer.from('x'), 0, false), -ENOENT);
    assert.equal(memdb.write('f', 1, T, Buffer.alloc(MAX_FILE_SIZE), 0, false), MAX_FILE_SIZE, 'exactly 1 MiB is allowed');
    assert.equal(memdb.write('f', 1, T, null, MAX_FILE_SIZE + 1, true), -EFBIG, 'truncate beyond 1 MiB');
    assert.equal(memdb.root.version, 4, 'rejected operations do not bump the version');
    memdb.close();
  });

  it('content rules (memdb.md §7.1 examples)', () => {
    const { memdb } = fresh();
    memdb.create('f', 1, T);
    assert.equal(memdb.write('f', 1, T, Buffer.from('abcdef'), 0, false), 6);
    memdb.write('f', 1, T, Buffer.from('XY'), 1, false);
    assert.equal((memdb.read('f') as Buffer).toString(), 'aXYdef');
    memdb.write('f', 1, T, Buffer.from('Z'), 1, true);
    assert.equal((memdb.read('f') as Buffer).toString(), 'aZ');
    memdb.write('f', 1, T, null, 4, true);
    assert.deepEqual(memdb.read('f'), Buffer.from('aZ\0\0'));
    memdb.write('f', 1, T, null, 0, true);
    assert.equal(memdb.getattr('f')!.size, 0);
    assert.equal(memdb.getattr('f')!.data, null);
    memdb.create('g', 1, T);
    memdb.write('g', 1, T, Buffer.from('Q'), 3, false);
    assert.deepEqual(memdb.read('g'), Buffer.from('\0\0\0Q'));
    const v = memdb.root.version;
    assert.equal(memdb.write('g', 1, T, Buffer.alloc(0), 0, false), 0);
    assert.equal(memdb.root.version, u64Inc(v), 'zero-length writes bump the version');
    memdb.close();
  });

  it('truncate-extending an empty file keeps size without data (pitfall 2), and reloads as size 0', () => {
    const { memdb, file } = fresh();
    memdb.create('e', 1, T);
    memdb.write('e', 1, T, null, 4, true);
    assert.equal(memdb.getattr('e')!.size, 4);
    assert.equal(memdb.getattr('e')!.data, null);
    memdb.close();
    const again = Memdb.open(file);
    assert.equal(again.getattr('e')!.size, 0);
    again.close();
  });
});

describe('mkdir, delete, rename, mtime', () => {
  it('mkdir checks', () => {
    const { memdb } = fresh();
    memdb.create('f', 1, T);
    assert.equal(memdb.mkdir('a/b', 1, T), -ENOENT);
    assert.equal(memdb.mkdir('f/b', 1, T), -ENOTDIR);
    assert.equal(memdb.mkdir('f/b/c', 1, T), -ENOENT);
    assert.equal(memdb.mkdir('..', 1, T), -EACCES);
    assert.equal(memdb.mkdir('f', 1, T), -EEXIST);
    assert.equal(memdb.mkdir('d/', 1, T), 0, 'trailing slash is stripped');
    assert.equal(memdb.mkdir('d', 1, T), -EEXIST);
    memdb.close();
  });

  it('delete checks', () => {
    const { memdb } = fresh();
    memdb.mkdir('d', 1, T);
    memdb.create('d/f', 1, T);
    assert.equal(memdb.delete('nope', 1, T), -ENOENT);
    assert.equal(memdb.delete('', 1, T), -EACCES);
    assert.equal(memdb.delete('/', 1, T), -EACCES);
    assert.equal(memdb.delete('d', 1, T), -ENOTEMPTY);
    assert.equal(memdb.delete('d/f', 1, T), 0);
    assert.equal(memdb.delete('d/', 1, T), 0, 'trailing slash tolerated');
    assert.deepEqual(memdb.readdir(''), []);
    memdb.close();
  });

  it('rename checks and semantics', () => {
    const { memdb, file } = fresh();
    memdb.mkdir('d', 1, T);
    memdb.mkdir('e', 1, T);
    memdb.create('d/f', 1, T);
    memdb.create('g', 1, T);
    assert.equal(memdb.rename('nope', 'x', 1, T), -ENOENT);
    assert.equal(memdb.rename('', 'x', 1, T), -EACCES);
    assert.equal(memdb.rename('g', 'missing/x', 1, T), -ENOENT);
    assert.equal(memdb.rename('g', 'd/f/x', 1, T), -ENOTDIR);
    memdb.create('h', 1, T);
    assert.equal(memdb.rename('h', 'e/..', 1, T), 0, 'the target basename is not checked (pitfall 6)');
    assert.equal(memdb.getattr('e/..')!.name, '..');
    assert.equal(memdb.delete('e/..', 1, T), 0);
    assert.equal(memdb.rename('d', 'x', 1, T), -ENOTEMPTY, 'only empty directories can be renamed');
    assert.equal(memdb.rename('g', '', 1, T), -EACCES, 'the root as target');
    const inode = memdb.getattr('g')!.inode;
    assert.equal(memdb.rename('g', 'd/f', 2, T + 5), 0, 'over an existing file');
    const moved = memdb.getattr('d/f')!;
    assert.deepEqual([moved.inode, moved.writer, moved.mtime, moved.version], [inode, 2, T + 5, memdb.root.version]);
    assert.equal(memdb.getattr('g'), null);
    assert.equal(memdb.rename('e', 'e2', 1, T), 0, 'empty directory');
    memdb.mkdir('priv', 1, T);
    memdb.mkdir('priv/lock', 1, T);
    memdb.mkdir('priv/lock/l', 1, T);
    assert.equal(memdb.rename('priv/lock/l', 'priv/lock/m', 1, T), -EACCES, 'locks cannot be renamed');
    assert.equal(memdb.rename('e2', 'e2', 1, T), -EINVAL, 'onto itself (C: use-after-free)');
    assert.equal(memdb.rename('e2', 'e2/x', 1, T), -EINVAL, 'into itself (C: detaches)');
    const index = memdb.encodeIndex();
    memdb.close();
    const again = Memdb.open(file);
    assert.ok(again.encodeIndex().equals(index));
    again.close();
  });

  it('a failing rename of a non-empty directory drops an existing empty target from memory, as C (pitfall 3)', () => {
    const { memdb } = fresh();
    memdb.mkdir('full', 1, T);
    memdb.create('full/x', 1, T);
    memdb.mkdir('empty', 1, T);
    const v = memdb.root.version;
    assert.equal(memdb.rename('full', 'empty', 1, T), -ENOTEMPTY);
    assert.equal(memdb.getattr('empty'), null);
    assert.equal(memdb.root.version, v);
    memdb.close();
  });

  it('mtime checks, lock protection and directory rows with an empty blob', () => {
    const { memdb, file } = fresh();
    memdb.mkdir('priv', 1, T);
    memdb.mkdir('priv/lock', 1, T);
    memdb.mkdir('priv/lock/l', 1, T);
    memdb.mkdir('d', 1, T);
    assert.equal(memdb.mtime('x/y', 1, T), -ENOENT);
    assert.equal(memdb.mtime('', 1, T), -EACCES, 'the root cannot be touched');
    assert.equal(memdb.mtime('nope', 1, T), -ENOENT);
    assert.equal(memdb.mtime('priv/lock/l', 1, T - 1), -EACCES, 'a lock moves only forward');
    assert.equal(memdb.mtime('priv/lock/l', 2, T + 1), -EACCES, 'only by its writer');
    assert.equal(memdb.mtime('priv/lock/l', 1, 0), -EACCES, 'utime(lock, 0)');
    assert.equal(memdb.mtime('priv/lock/l', 1, T + 10), 0);
    assert.equal(memdb.mtime('d', 2, 5), 0, 'non-lock entries accept any mtime');
    assert.equal(memdb.root.mtime, 5, 'the root mtime follows the requested mtime');
    memdb.close();
    const db = new BetterSqlite3(file, { readonly: true });
    assert.equal(db.prepare("SELECT typeof(data) FROM tree WHERE name='d'").pluck().get(), 'blob');
    assert.equal(db.prepare("SELECT length(data) FROM tree WHERE name='d'").pluck().get(), 0);
    db.close();
    Memdb.open(file).close();
  });
});

describe('locks', () => {
  it('expiry after more than 120 s with an unchanged checksum; csum change resets', () => {
    const { memdb, clock } = fresh(1000);
    memdb.mkdir('priv', 1, T);
    memdb.mkdir('priv/lock', 1, T);
    memdb.mkdir('priv/lock/l', 1, T);
    const csum = entryCsum(memdb.getattr('priv/lock/l')!);
    assert.equal(memdb.locks.get('priv/lock/l')!.ltime, 1000);
    clock.advanceTo((1000 + LOCK_TIMEOUT) * 1000);
    assert.equal(memdb.lockExpired('priv/lock/l', csum), false, '120 s exactly is not expired');
    clock.advance(1000);
    assert.equal(memdb.lockExpired('priv/lock/l', csum), true);
    assert.equal(memdb.lockExpired('priv/lock/l', Buffer.alloc(32)), false, 'wrong csum resets');
    assert.equal(memdb.locks.get('priv/lock/l')!.ltime, nowSeconds(clock));
    assert.equal(memdb.lockExpired('priv/lock/other', csum), false, 'unknown path: inserted');
    assert.ok(memdb.locks.has('priv/lock/other'));
    memdb.delete('priv/lock/l', 1, T);
    assert.ok(!memdb.locks.has('priv/lock/l'), 'deleting the directory drops its cache entry');
    memdb.close();
  });

  it('update_locks resets every timer to now', () => {
    const { memdb, clock } = fresh(1000);
    memdb.mkdir('priv', 1, T);
    memdb.mkdir('priv/lock', 1, T);
    memdb.mkdir('priv/lock/a', 1, T);
    memdb.create('priv/lock/file', 1, T);
    clock.advanceTo(5000 * 1000);
    memdb.updateLocks();
    assert.deepEqual([...memdb.locks.keys()], ['priv/lock/a']);
    assert.equal(memdb.locks.get('priv/lock/a')!.ltime, 5000);
    memdb.close();
  });
});

describe('VM list', () => {
  it('recognises VM config paths as C does', () => {
    assert.deepEqual(pathVmConfig('nodes/n1/qemu-server/100.conf'), { vmid: 100, type: VmType.QEMU, node: 'n1' });
    assert.deepEqual(pathVmConfig('nodes/n-1/lxc/4294967295.conf'), { vmid: 4294967295, type: VmType.LXC, node: 'n-1' });
    for (const p of ['/nodes/n1/qemu-server/100.conf', 'nodes/n1/qemu-server/0100.conf', 'nodes/n1/qemu-server/100.conf.tmp', 'nodes/-n/lxc/1.conf', 'nodes/n1/x/qemu-server/1.conf', 'nodes/n1/qemu-server/4294967296.conf']) {
      assert.equal(pathVmConfig(p), null, p);
    }
    assert.equal(nameIsVmConfig('1a.conf'), null);
  });

  it('uniqueness on create, write and rename; moving a guest between nodes is allowed', () => {
    const { memdb } = fresh();
    for (const p of ['nodes', 'nodes/a', 'nodes/b', 'nodes/a/qemu-server', 'nodes/b/qemu-server', 'nodes/b/lxc']) memdb.mkdir(p, 1, T);
    assert.equal(memdb.create('nodes/a/qemu-server/100.conf', 1, T), 0);
    assert.equal(memdb.create('nodes/b/qemu-server/100.conf', 1, T), -EEXIST);
    assert.equal(memdb.create('nodes/b/lxc/100.conf', 1, T), -EEXIST, 'other type');
    assert.equal(memdb.write('nodes/a/qemu-server/100.conf', 1, T, Buffer.from('x'), 0, false), 1, 'own file passes');
    memdb.create('tmp', 1, T);
    assert.equal(memdb.rename('tmp', 'nodes/b/qemu-server/100.conf', 1, T), -EEXIST);
    assert.equal(memdb.rename('nodes/a/qemu-server/100.conf', 'nodes/b/qemu-server/100.conf', 1, T), 0, 'migration');
    assert.deepEqual(memdb.vmlist.get(100), { vmid: 100, type: VmType.QEMU, node: 'b', version: 3 }, 'each registration is a new guest version');
    assert.equal(memdb.delete('nodes/b/qemu-server/100.conf', 1, T), 0);
    assert.equal(memdb.vmlist.get(100), undefined);
    memdb.close();
  });
});

describe('errors flag', () => {
  it('a failed database write sets the flag; every later change returns EIO, reads still work, memory untouched', () => {
    const { memdb, file } = fresh();
    memdb.create('f', 1, T);
    const index = memdb.encodeIndex();
    // Another connection holds an exclusive lock, so our next write fails at once.
    const lock = new BetterSqlite3(file);
    lock.exec('BEGIN EXCLUSIVE');
    (memdb.db as unknown as { db: BetterSqlite3.Database }).db.exec('PRAGMA busy_timeout = 0');
    assert.equal(memdb.mkdir('d', 1, T), -EIO);
    lock.exec('ROLLBACK');
    lock.close();
    assert.equal(memdb.errors, true);
    assert.ok(memdb.encodeIndex().equals(index), 'memory unchanged by the failed change');
    assert.equal(memdb.create('g', 1, T), -EIO);
    assert.equal(memdb.mtime('f', 1, T), -EIO);
    assert.equal(memdb.rename('f', 'g', 1, T), -EIO);
    assert.equal(memdb.delete('f', 1, T), -EIO);
    assert.equal(memdb.write('f', 1, T, Buffer.from('x'), 0, false), -EIO);
    assert.deepEqual(memdb.read('f'), Buffer.alloc(0));
    memdb.close();
  });
});

/** A leader holding a/f = 'data', a fresh follower (after `prepare`), and both indexes. */
function syncPair(prepare: (m: Memdb) => void = () => {}): { leader: ReturnType<typeof fresh>; follower: ReturnType<typeof fresh>; master: MemdbIndex; local: MemdbIndex } {
  const leader = fresh();
  leader.memdb.mkdir('a', 1, T);
  leader.memdb.create('a/f', 1, T);
  leader.memdb.write('a/f', 1, T, Buffer.from('data'), 0, false);
  const follower = fresh();
  prepare(follower.memdb);
  const master = decodeIndex(leader.memdb.encodeIndex());
  const local = decodeIndex(follower.memdb.encodeIndex());
  assert.ok(master.ok && local.ok);
  return { leader, follower, master: master.value, local: local.value };
}

describe('commitUpdate', () => {
  it('rejects an update stream that does not produce the master index, all or nothing', () => {
    const { leader, follower, master, local } = syncPair((m) => m.mkdir('z', 2, T));
    const before = follower.memdb.encodeIndex();
    const partial = [leader.memdb.getattr('a')!];
    assert.equal(follower.memdb.commitUpdate(master, local, partial), false);
    assert.equal(follower.memdb.errors, true);
    assert.ok(follower.memdb.encodeIndex().equals(before), 'memory unchanged');
    follower.memdb.close();
    const reopened = Memdb.open(follower.file);
    assert.ok(reopened.encodeIndex().equals(before), 'database rolled back');
    reopened.close();
    leader.memdb.close();
  });

  it('keeps the received bytes, and reads a row whose length differs from memory', () => {
    const { leader, follower, master, local } = syncPair();
    assert.equal(follower.memdb.commitUpdate(master, local, leader.memdb.sortedEntries()), true);
    assert.equal(follower.memdb.getattr('a/f')!.data, leader.memdb.getattr('a/f')!.data, 'the update Buffer itself, no second copy');
    leader.memdb.close();

    // A row changed behind the memdb's back (another length): the reload reads it.
    const other = new BetterSqlite3(follower.file);
    other.prepare("UPDATE tree SET data = X'6c6f6e676572' WHERE name = 'f'").run();
    other.close();
    const fromDisk = Memdb.openReadonly(follower.file);
    const master2 = decodeIndex(fromDisk.encodeIndex());
    fromDisk.close();
    const local2 = decodeIndex(follower.memdb.encodeIndex());
    assert.ok(master2.ok && local2.ok);
    assert.equal(follower.memdb.commitUpdate(master2.value, local2.value, []), true);
    assert.deepEqual(follower.memdb.read('a/f'), Buffer.from('longer'));
    follower.memdb.close();
  });
});

describe('path handling', () => {
  it('split_path with GLib semantics', () => {
    assert.deepEqual(splitPath('a/b'), { dirname: 'a', basename: 'b' });
    assert.deepEqual(splitPath('a'), { dirname: '.', basename: 'a' });
    assert.deepEqual(splitPath(''), { dirname: '.', basename: '.' });
    assert.deepEqual(splitPath('/'), { dirname: '.', basename: '.' });
    assert.deepEqual(splitPath('x//z'), { dirname: 'x', basename: 'z' });
    assert.deepEqual(splitPath('a/b//'), { dirname: 'a', basename: 'b' });
    assert.deepEqual(splitPath('/z'), { dirname: '/', basename: 'z' });
  });

  it('long and unusual names: memdb has no name limit, bytes round-trip', () => {
    const { memdb, file } = fresh();
    const long = 'n'.repeat(4000);
    assert.equal(memdb.create(long, 1, T), 0);
    const binary = Buffer.from([0xff, 0xfe, 0x41, 0xc3]).toString('latin1');
    assert.equal(memdb.mkdir(binary, 1, T), 0);
    const index = memdb.encodeIndex();
    memdb.close();
    const again = Memdb.open(file);
    assert.ok(again.getattr(binary));
    assert.ok(again.encodeIndex().equals(index));
    again.close();
  });
});

describe('property: random operations keep SQLite and memory in step', () => {
  const ops = ['create', 'write', 'truncate', 'mkdir', 'delete', 'rename', 'mtime'] as const;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    // The second half runs on a reopened file: opened as the daemon opens it (lazyData:
    // file data read in chunks, interleaved with the operations) for the odd seeds.
    const lazy = seed % 2 === 1;
    it(`seed ${seed}: 400 operations${lazy ? ' (the last 200 on a lazy open)' : ''}, then reopening yields the identical index and checksum`, () => {
      const rng = new Rng(seed);
      const start = fresh();
      let memdb = start.memdb;
      const file = start.file;
      const names = ['a', 'b', 'c', 'd', 'priv', 'lock', 'nodes', 'n1', 'qemu-server', '100.conf', '101.conf'];
      const randomPath = () => Array.from({ length: 1 + rng.int(3) }, () => rng.pick(names)).join('/');
      let t = T;
      const outcomes = new Map<number, number>();
      for (let i = 0; i < 400; i++) {
        if (i === 200) {
          memdb.close();
          memdb = Memdb.open(file, { lazyData: lazy });
        }
        if (lazy && rng.chance(0.05)) memdb.fillData(2);
        t += rng.int(3);
        const op = rng.pick(ops);
        const w = 1 + rng.int(3);
        const path = randomPath();
        const to = randomPath();
        // The two C quirks that make memory differ from disk by design (memdb.md
        // pitfalls 2 and 3) are tested on their own above; the generator avoids them.
        const target = memdb.getattr(path);
        if (op === 'truncate' && target !== null && (target.type === DT_DIR || memdb.fileData(target) === null)) continue;
        if (op === 'rename' && target !== null && target.type === DT_DIR && target.children.size > 0 && memdb.getattr(to) !== null) continue;
        let r: number;
        switch (op) {
          case 'create': r = memdb.create(path, w, t); break;
          case 'write': r = memdb.write(path, w, t, Buffer.alloc(rng.int(50), 0x61 + rng.int(5)), rng.int(100), rng.chance(0.3)); break;
          case 'truncate': r = memdb.write(path, w, t, null, rng.int(40), true); break;
          case 'mkdir': r = memdb.mkdir(path, w, t); break;
          case 'delete': r = memdb.delete(path, w, t); break;
          case 'rename': r = memdb.rename(path, to, w, t); break;
          case 'mtime': r = memdb.mtime(path, w, t - rng.int(5)); break;
        }
        outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
      }
      assert.ok((outcomes.get(0) ?? 0) > 20, `enough successful operations: ${JSON.stringify([...outcomes])}`);
      const index = memdb.encodeIndex();
      const sum = memdb.checksum();
      const mem = memdb.sortedEntries().map((e) => e.inode);
      memdb.close();
      const again = Memdb.open(file);
      const disk = again.sortedEntries().map((e) => e.inode);
      if (again.encodeIndex().equals(index)) {
        assert.ok(again.checksum().equals(sum));
      } else {
        assert.fail(`index differs after reopen (memory inodes ${mem.length}, disk ${disk.length})`);
      }
      again.close();
    });
  }
});

describe('read-only tools', () => {
  it('db dump works on a read-only database file and changes nothing', () => {
    const { memdb, file } = fresh();
    memdb.mkdir('x', 1, T);
    memdb.close();
    const before = readFileSync(file);
    chmodSync(file, 0o400);
    const out = execFileSync(process.execPath, [join(repoRoot, 'bin/pmxcfs-ts.mjs'), 'db', 'dump', file], { encoding: 'utf8' });
    assert.match(out, /\/x/);
    assert.ok(readFileSync(file).equals(before));
  });
});
