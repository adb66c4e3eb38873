/**
 * The memdb: the in-memory tree persisted in SQLite (memdb.md). Every operation has
 * C's checks in C's order and returns C's result (>= 0 or −errno). Writer and mtime
 * always come from the caller (the replicated message), never from the local clock;
 * the clock is used only for the lock cache, as in C.
 *
 * Unlike C, each change is written to SQLite first and applied to memory only after
 * the commit succeeded, so a database failure never leaves memory ahead of disk.
 *
 * | here                 | C (memdb.c / database.c)                     |
 * |----------------------|----------------------------------------------|
 * | Memdb.open           | memdb_open + bdb_backend_open               |
 * | lookup               | memdb_lookup_path                           |
 * | create / write       | memdb_create / memdb_write (memdb_pwrite)   |
 * | mkdir                | memdb_mkdir                                 |
 * | delete               | memdb_delete                                |
 * | rename               | memdb_rename                                |
 * | mtime                | memdb_mtime                                 |
 * | read/readdir/getattr | memdb_read / memdb_readdir / memdb_getattr   |
 * | statfs               | memdb_statfs                                |
 * | lockExpired          | memdb_lock_expired                          |
 * | updateLocks          | memdb_update_locks                          |
 * | recreateVmlist       | memdb_recreate_vmlist                       |
 * | encodeIndex          | memdb_encode_index                          |
 * | checksum             | memdb_compute_checksum                      |
 * | commitUpdate         | database.c: bdb_backend_commit_update       |
 * | onChange / onReload  | status.c: record_memdb_change / _reload     |
 */
import { DT_DIR, DT_REG, type EntryFields } from '../wire/entry.js';
import { type U64, u64Compare, u64Inc } from '../wire/u64.js';
import { databaseChecksum, entryCsum } from '../wire/hash.js';
import { encodeIndex, indexEquals, type MemdbIndex } from '../wire/memdb-index.js';
import { type Log, silentLog } from '../util/log.js';
import { type Clock, nowSeconds, systemClock } from '../util/clock.js';
import { assert, fail } from '../util/assert.js';
import { Database, DatabaseError, type RowWrite, SQL_INT_MIN, VERSION_FILENAME } from './database.js';
import { EACCES, EEXIST, EFBIG, EINVAL, EIO, ENOENT, ENOTDIR, ENOTEMPTY } from './errno.js';
import { indexMatchesTree } from './invariants.js';
import { type DataOf, LoadError, type LoadedTree, loadTree } from './load.js';
import { isForbiddenName, pathIsLockdir, splitPath } from './path.js';
import { digestOf, type DirEntry, type FileEntry, makeDir, makeFile, makeRoot, replaceEntry, type TreeEntry } from './tree.js';
import { pathVmConfig, validNodename, type VmInfo, VmList, vmTypeOfSubdir, nameIsVmConfig } from './vmlist.js';

/** memdb.c: MEMDB_MAX_FILE_SIZE — the only size limit C enforces on the replicated path. */
export const MAX_FILE_SIZE = 1024 * 1024;
/** memdb.c: CFS_LOCK_TIMEOUT. */
export const LOCK_TIMEOUT = 120;
/** Reported by statfs only (memdb.md §7.9); not enforced, as in C. */
export const STATFS_BLOCKS = 32768;
export const STATFS_FILES = 262144;
export const STATFS_BSIZE = 4096;
export const STATFS_NAMEMAX = 256;

export interface LockInfo {
  readonly path: string;
  ltime: number;
  csum: Buffer;
}

export interface Statfs {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
  readonly namemax: number;
}

export interface MemdbOptions {
  /** For the lock cache and a new file's root mtime (seconds via nowSeconds). */
  readonly clock?: Clock;
  readonly log?: Log;
  /**
   * Check "index equals tree" (a walk of the whole tree) after every change: for tests
   * and debugging only. Defaults to the environment variable PMXCFS_CHECK_INVARIANTS=1.
   */
  readonly checkInvariants?: boolean;
  /**
   * Open with the tree (names, sizes, versions) only and read the file data afterwards:
   * in chunks by fillData (the daemon, after the mount) and at once by whatever needs
   * all of it first (index, checksum, sync). A single file's bytes are read on its first
   * use (fileData). At 60k files the blobs are about half of the load.
   */
  readonly lazyData?: boolean;
}

export class MemdbOpenError extends Error {}

export class Memdb {
  root: DirEntry;
  index: Map<U64, TreeEntry>;
  /** Sticky: once set every change returns −EIO until the daemon restarts (memdb.md §11). */
  errors = false;
  locks = new Map<string, LockInfo>();
  readonly vmlist = new VmList();
  readonly db: Database;
  /** Called with the path of every successful create/write/mtime/delete and both rename paths. */
  onChange: (path: string) => void = () => {};
  /** Called after the whole database was (re)loaded by a sync commit. */
  onReload: () => void = () => {};
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly checkInvariants: boolean;
  /**
   * A lazy open's cursor: the SQL inode from which file data is still to be read; null
   * once all is in memory. While set, a file entry with size > 0 and data null holds
   * its bytes in the database only (the file is unchanged since the open: every change
   * reads the bytes it keeps first), or is in the "size without data" state.
   */
  private dataCursor: bigint | null = null;

  private constructor(db: Database, root: DirEntry, index: Map<U64, TreeEntry>, options: MemdbOptions) {
    this.db = db;
    this.root = root;
    this.index = index;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLog;
    this.checkInvariants = options.checkInvariants ?? process.env.PMXCFS_CHECK_INVARIANTS === '1';
  }

  /** memdb_open: open or create the database read-write and load it. */
  static open(file: string, options: MemdbOptions = {}): Memdb {
    return Memdb.openWith(openDatabase(file, false), options, true);
  }

  /** Load a database for inspection; the file is opened read-only and never changed. */
  static openReadonly(file: string, options: MemdbOptions = {}): Memdb {
    return Memdb.openWith(openDatabase(file, true), options, false);
  }

  private static openWith(db: Database, options: MemdbOptions, initialize: boolean): Memdb {
    let memdb: Memdb;
    const lazy = options.lazyData === true;
    try {
      const { root, index } = lazy ? db.loadRows((rows) => loadTree(rows, () => null), { sized: true }) : db.loadRows((rows) => loadTree(rows));
      memdb = new Memdb(db, root, index, options);
      if (lazy) memdb.dataCursor = SQL_INT_MIN;
      if (!memdb.recreateVmlist()) throw new LoadError('detected duplicate VMID or invalid VM directory');
      // Only a database that loaded is changed (WAL, schema, version 1): a refused file stays byte-identical.
      if (initialize) db.activate();
      if (initialize && root.version === 0) {
        // A new file: C gives it version 1, writer 0, mtime now.
        const fresh = { version: 1, writer: 0, mtime: nowSeconds(memdb.clock) };
        db.writeRoot(fresh);
        memdb.root = makeRoot(fresh.version, fresh.writer, fresh.mtime, root.children);
        memdb.index.set(0, memdb.root);
      }
    } catch (err) {
      db.close();
      if (err instanceof LoadError || err instanceof DatabaseError) throw new MemdbOpenError(`unable to load database ${db.file}: ${err.message}`);
      throw err;
    }
    memdb.updateLocks();
    return memdb;
  }

  get created(): boolean {
    return this.db.created;
  }

  close(): void {
    this.db.close();
  }

  // ---- file data of a lazy open ---------------------------------------------

  /**
   * Read the data of up to `limit` more files (-1: all) into their entries; true once
   * every file's data is in memory. Entries changed since the open hold their bytes
   * already and are skipped; a deleted file's row is gone.
   */
  fillData(limit: number): boolean {
    if (this.dataCursor === null) return true;
    let chunk: ReturnType<Database['dataFrom']>;
    try {
      chunk = this.db.dataFrom(this.dataCursor, limit);
    } catch (err) {
      // C reads every blob at the open and refuses a file it cannot read; here the
      // daemon is up already: no more changes (memory lacks bytes the file holds).
      this.errors = true;
      this.log.error({ err: (err as Error).message }, 'reading file data failed - memdb is now read-only until restart');
      throw err;
    }
    const { rows, next } = chunk;
    for (const [inode, bytes] of rows) {
      const e = this.index.get(inode);
      if (e !== undefined && e.type === DT_REG && e.data === null) this.setData(e, bytes);
    }
    this.dataCursor = next;
    return next === null;
  }

  /** All file data in memory (a lazy open's rest, read now). */
  ensureData(): void {
    if (this.dataCursor !== null) this.fillData(-1);
  }

  /** The bytes of a file entry, read from the database first if a lazy open has not yet. */
  fileData(e: FileEntry): Buffer | null {
    if (e.data === null && e.size > 0 && this.dataCursor !== null) {
      const stored = this.db.dataOf(e.inode);
      if (stored !== null) this.setData(e, stored);
    }
    return e.data;
  }

  private setData(e: FileEntry, bytes: Buffer): void {
    // Data is hashed: it is set before any digest of the entry exists, and only once.
    assert(e.digest === undefined && e.data === null && bytes.length === e.size, `inode ${e.inode}: ${bytes.length} bytes read for size ${e.size}`);
    (e as { data: Buffer | null }).data = bytes;
  }

  // ---- lookup ---------------------------------------------------------------

  /** memdb_lookup_path: the entry (or null) and the last directory searched (the entry's parent when found). */
  lookup(path: string): { entry: TreeEntry | null; parent: DirEntry | null } {
    let cur: TreeEntry | null = this.root;
    let parent: DirEntry | null = null;
    // The non-empty components of pathComponents, walked without an array per lookup.
    // "." is the root (no components). One result literal for every outcome: a literal
    // on a path the warm-up never took (".", below a file) has no type feedback, and
    // its first use deoptimized the optimized lookup.
    const length = path === '.' ? 0 : path.length;
    for (let i = 0; i < length && cur !== null; ) {
      let end = path.indexOf('/', i);
      if (end < 0) end = path.length;
      if (end > i) {
        // Looking up below a file fails (C: g_return_val_if_fail on DT_DIR).
        if (cur.type !== DT_DIR) {
          cur = null;
          break;
        }
        parent = cur;
        cur = cur.children.get(path.slice(i, end)) ?? null;
      }
      i = end + 1;
    }
    return { entry: cur, parent };
  }

  /** The directory named by `dirname`, or the errno C returns for it. */
  private lookupDir(dirname: string): DirEntry | number {
    const dir = this.lookup(dirname).entry;
    if (dir === null) return -ENOENT;
    if (dir.type !== DT_DIR) return -ENOTDIR;
    return dir;
  }

  // ---- persistence helpers --------------------------------------------------

  /** Write a change to SQLite; on failure set the errors flag (memdb.md §11). */
  private persist(change: { deleteInode?: U64; entry?: RowWrite; root: { version: U64; writer: number; mtime: number } }): boolean {
    try {
      this.db.writeChange(change);
      return true;
    } catch (err) {
      this.databaseFailed(err);
      return false;
    }
  }

  private databaseFailed(err: unknown): void {
    this.errors = true;
    this.log.error({ err: (err as Error).message }, 'database write failed - memdb is now read-only until restart');
  }

  /**
   * The last step of every change: the root takes the change's version, exactly one
   * above the previous (C: memdb->root->version++), after the entry was placed.
   */
  private setRoot(version: U64, writer: number, mtime: number): void {
    if (version !== u64Inc(this.root.version)) fail(`root version ${version} does not follow ${this.root.version}`);
    this.root = makeRoot(version, writer, mtime, this.root.children);
    this.index.set(0, this.root);
    if (this.checkInvariants) this.assertIndexMatchesTree();
  }

  /**
   * Put an entry object in place of its predecessor (same inode) in parent and index,
   * after its row was persisted. Pre: the parent is an indexed directory and the
   * entry's parent field names it; the inode is new, or held by the entry being
   * replaced under the same name (inodes stay unique).
   */
  private place(parent: DirEntry, entry: TreeEntry): void {
    if (this.index.get(parent.inode) !== parent) fail(`parent ${parent.inode} of inode ${entry.inode} is not an indexed directory`);
    if (entry.parent !== parent.inode) fail(`inode ${entry.inode} has parent ${entry.parent}, placed in ${parent.inode}`);
    const previous = this.index.get(entry.inode);
    if (previous !== undefined && previous !== parent.children.get(entry.name)) fail(`inode ${entry.inode} is already in the tree elsewhere`);
    if (entry.inode === 0 || entry.version === 0) fail(`inode ${entry.inode} placed with version ${entry.version}`);
    parent.children.set(entry.name, entry);
    this.index.set(entry.inode, entry);
  }

  private assertIndexMatchesTree(): void {
    const broken = indexMatchesTree(this);
    assert(broken === null, `index equals tree: ${broken}`);
  }

  private unlinkFromMemory(parent: DirEntry, entry: TreeEntry): void {
    if (parent.inode !== entry.parent) fail(`entry ${entry.inode} is not a child of ${parent.inode}`);
    parent.children.delete(entry.name);
    this.index.delete(entry.inode);
  }

  // ---- operations -----------------------------------------------------------

  create(path: string, writer: number, mtime: number): number {
    return this.pwrite(path, writer, mtime, null, 0, false, true);
  }

  /** memdb_write: `data` null with truncate is a truncate to `offset` bytes. */
  write(path: string, writer: number, mtime: number, data: Buffer | null, offset: number, truncate: boolean): number {
    return this.pwrite(path, writer, mtime, data, offset, truncate, false);
  }

  private pwrite(path: string, writer: number, mtime: number, data: Buffer | null, offset: number, truncate: boolean, create: boolean): number {
    if (this.errors) return -EIO;
    const count = data === null ? 0 : data.length;
    if (offset + count > MAX_FILE_SIZE) return -EFBIG;
    const { dirname, basename } = splitPath(path);
    const parent = this.lookupDir(dirname);
    if (typeof parent === 'number') return parent;
    if (isForbiddenName(basename)) return -EACCES;
    const vm = pathVmConfig(path);
    if (vm !== null && this.vmlist.differentExists(vm)) return -EEXIST;
    const old = parent.children.get(basename) ?? null;
    if (old !== null) {
      if (old.type !== DT_REG) return -ENOTDIR;
      if (create) return -EEXIST;
    } else if (!create) {
      return -ENOENT;
    }

    const version = u64Inc(this.root.version);
    let size = offset + count;
    let content: Buffer | null = null;
    const oldData = old === null ? null : this.fileData(old);
    // Unpooled and not zero-filled (the bytes live as long as the file; a pool slice
    // would pin its whole pool): every byte is copied below, or zeroed where C's
    // g_malloc0/memset leave a hole (before `offset`).
    if (old !== null && oldData !== null) {
      if (size > old.size) {
        content = Buffer.allocUnsafeSlow(size);
        oldData.copy(content, 0, 0, old.size);
        content.fill(0, old.size, offset);
      } else {
        if (!truncate) size = old.size;
        content = Buffer.allocUnsafeSlow(size);
        oldData.copy(content, 0, 0, size);
      }
      if (count > 0) data!.copy(content, offset);
    } else if (count > 0) {
      content = Buffer.allocUnsafeSlow(size);
      content.fill(0, 0, offset);
      data!.copy(content, offset);
    }
    // g_malloc0(0) is NULL in C: an empty file has no buffer. A count-0 write on a
    // file without buffer keeps size = offset with no data (memdb.md pitfall 2).
    if (content !== null && content.length === 0) content = null;

    const entry = makeFile({ inode: old?.inode ?? version, parent: parent.inode, version, writer, mtime, size, type: DT_REG, name: basename, data: content });
    if (!this.persist({ entry: fileRow(entry), root: { version, writer, mtime } })) return -EIO;
    this.place(parent, entry);
    this.setRoot(version, writer, mtime);
    if (vm !== null) this.vmlist.register(vm);
    this.onChange(path);
    return count;
  }

  mkdir(path: string, writer: number, mtime: number): number {
    if (this.errors) return -EIO;
    const { dirname, basename } = splitPath(path);
    const parent = this.lookupDir(dirname);
    if (typeof parent === 'number') return parent;
    if (isForbiddenName(basename)) return -EACCES;
    if (parent.children.has(basename)) return -EEXIST;
    const version = u64Inc(this.root.version);
    const entry = makeDir({ inode: version, parent: parent.inode, version, writer, mtime, size: 0, type: DT_DIR, name: basename, data: null }, new Map());
    if (!this.persist({ entry: rowOf(entry, null), root: { version, writer, mtime } })) return -EIO;
    this.place(parent, entry);
    this.setRoot(version, writer, mtime);
    if (dirname === 'priv/lock') {
      this.locks.delete(path);
      this.lockExpired(path, entryCsum(entry));
    }
    return 0;
  }

  delete(path: string, writer: number, mtime: number): number {
    if (this.errors) return -EIO;
    const { entry, parent } = this.lookup(path);
    if (entry === null) return -ENOENT;
    if (parent === null) return -EACCES;
    if (entry.type === DT_DIR) {
      if (entry.children.size > 0) return -ENOTEMPTY;
      this.locks.delete(path);
    }
    const version = u64Inc(this.root.version);
    if (!this.persist({ deleteInode: entry.inode, root: { version, writer, mtime } })) return -EIO;
    this.unlinkFromMemory(parent, entry);
    this.setRoot(version, writer, mtime);
    const vm = pathVmConfig(path);
    if (vm !== null) this.vmlist.remove(vm.vmid);
    this.onChange(path);
    return 0;
  }

  rename(from: string, to: string, writer: number, mtime: number): number {
    if (this.errors) return -EIO;
    const { entry: source, parent: sourceParent } = this.lookup(from);
    if (source === null) return -ENOENT;
    if (sourceParent === null) return -EACCES;
    const fromVm = pathVmConfig(from);
    let toVm: VmInfo | null = null;
    if (source.type === DT_REG) {
      toVm = pathVmConfig(to);
      if (toVm !== null && this.vmlist.differentExists(toVm) && !(fromVm !== null && fromVm.vmid === toVm.vmid)) return -EEXIST;
    }
    if (source.type === DT_DIR && pathIsLockdir(from)) return -EACCES;

    let target: DirEntry;
    let name: string;
    let deleteInode: U64 = 0;
    const existing = this.lookup(to);
    if (existing.entry !== null) {
      const victim = existing.entry;
      // Renaming an entry onto itself is a use-after-free in C (memdb.md pitfall 4);
      // refuse it deterministically instead. The kernel never sends it.
      if (victim === source) return -EINVAL;
      if (existing.parent === null) return -EACCES;
      if (victim.type === DT_DIR && victim.children.size > 0) return -ENOTEMPTY;
      // C unlinks the target from memory here, before the last check below, so a
      // failing rename of a non-empty directory still drops it from memory (pitfall 3).
      this.unlinkFromMemory(existing.parent, victim);
      name = victim.name;
      deleteInode = victim.inode;
      target = existing.parent;
    } else {
      const split = splitPath(to);
      const dir = this.lookupDir(split.dirname);
      if (typeof dir === 'number') return dir;
      target = dir;
      name = split.basename;
    }
    if (source.type === DT_DIR && source.children.size > 0) return this.dropVictimRow(deleteInode, -ENOTEMPTY);
    // Moving a directory into itself detaches it and reads freed memory in C
    // (pitfall 5); refuse it. Only reachable with an empty directory.
    if (target === source) return this.dropVictimRow(deleteInode, -EINVAL);

    const version = u64Inc(this.root.version);
    const data = source.type === DT_REG ? this.fileData(source) : null;
    const moved = replaceEntry(source, { inode: source.inode, parent: target.inode, version, writer, mtime, size: source.size, type: source.type, name, data });
    if (!this.persist({ deleteInode, entry: touchedRow(moved), root: { version, writer, mtime } })) return -EIO;
    this.unlinkFromMemory(sourceParent, source);
    this.place(target, moved);
    this.setRoot(version, writer, mtime);
    if (moved.type === DT_REG) {
      if (fromVm !== null) this.vmlist.remove(fromVm.vmid);
      if (toVm !== null) this.vmlist.register(toVm);
    }
    this.onChange(from);
    this.onChange(to);
    return 0;
  }

  /**
   * A failing rename that already dropped its target from memory (pitfall 3) also
   * deletes the target's row. C leaves the row, so memory and database disagree: the
   * next sync commit, which deletes only the rows of the announced (in-memory) index,
   * then loads a duplicate name and fails for good, and a restart resurrects the entry.
   * Peers cannot see the difference (no version change, memory as in C).
   */
  private dropVictimRow(inode: U64, result: number): number {
    if (inode === 0) return result;
    try {
      this.db.deleteRow(inode);
    } catch (err) {
      this.databaseFailed(err);
    }
    return result;
  }

  mtime(path: string, writer: number, mtime: number): number {
    if (this.errors) return -EIO;
    const { dirname, basename } = splitPath(path);
    const parent = this.lookupDir(dirname);
    if (typeof parent === 'number') return parent;
    if (isForbiddenName(basename)) return -EACCES;
    const old = parent.children.get(basename);
    if (old === undefined) return -ENOENT;
    const isLock = dirname === 'priv/lock' && old.type === DT_DIR;
    // utime(lock, 0) means "unlock"; a lock's mtime moves only forward, by its writer.
    if (isLock && (mtime < old.mtime || old.writer !== writer)) return -EACCES;
    const version = u64Inc(this.root.version);
    if (old.type === DT_REG) this.fileData(old); // the row is written with its bytes
    const entry = replaceEntry(old, { ...old, version, writer, mtime });
    if (!this.persist({ entry: touchedRow(entry), root: { version, writer, mtime } })) return -EIO;
    this.place(parent, entry);
    this.setRoot(version, writer, mtime);
    if (isLock) {
      this.locks.delete(path);
      this.lockExpired(path, entryCsum(entry));
    }
    this.onChange(path);
    return 0;
  }

  /** memdb_read: the file's bytes, or −ENOENT for a missing path or a directory. */
  read(path: string): Buffer | number {
    const { entry } = this.lookup(path);
    if (entry === null || entry.type !== DT_REG) return -ENOENT;
    return this.fileData(entry) ?? Buffer.alloc(0);
  }

  /** memdb_readdir: the children (hash order in C; insertion order here), or [] if not a directory. */
  readdir(path: string): TreeEntry[] {
    const { entry } = this.lookup(path);
    if (entry === null || entry.type !== DT_DIR) return [];
    return [...entry.children.values()];
  }

  getattr(path: string): TreeEntry | null {
    return this.lookup(path).entry;
  }

  statfs(): Statfs {
    let size = 0;
    for (const e of this.index.values()) size += e.size;
    const used = Math.ceil(size / STATFS_BSIZE);
    // C computes these unsigned; clamp instead of wrapping when the data exceeds them.
    const bfree = Math.max(0, STATFS_BLOCKS - used);
    return {
      bsize: STATFS_BSIZE,
      blocks: STATFS_BLOCKS,
      bfree,
      bavail: bfree,
      files: STATFS_FILES,
      ffree: Math.max(0, STATFS_FILES - this.index.size),
      namemax: STATFS_NAMEMAX,
    };
  }

  // ---- locks ----------------------------------------------------------------

  /** memdb_lock_expired: also creates or resets the cache entry, as C does. */
  lockExpired(path: string, csum: Buffer): boolean {
    const now = nowSeconds(this.clock);
    const li = this.locks.get(path);
    if (li === undefined) {
      this.locks.set(path, { path, ltime: now, csum: Buffer.from(csum) });
      return false;
    }
    if (!li.csum.equals(csum)) {
      li.ltime = now;
      li.csum = Buffer.from(csum);
      this.log.warn({ path }, 'wrong lock csum - reset timeout');
      return false;
    }
    return now > li.ltime && now - li.ltime > LOCK_TIMEOUT;
  }

  /** memdb_update_locks: rebuild from priv/lock; every timer restarts at now (C's lookup never hits). */
  updateLocks(): void {
    const { entry } = this.lookup('priv/lock');
    if (entry === null || entry.type !== DT_DIR) return;
    const now = nowSeconds(this.clock);
    const locks = new Map<string, LockInfo>();
    for (const child of entry.children.values()) {
      if (child.type !== DT_DIR) continue;
      const path = `priv/lock/${child.name}`;
      locks.set(path, { path, ltime: now, csum: entryCsum(child) });
    }
    this.locks = locks;
  }

  // ---- VM list --------------------------------------------------------------

  /** memdb_recreate_vmlist: false on a duplicate VMID or a VM directory that is a file. */
  recreateVmlist(): boolean {
    const { entry: nodes } = this.lookup('nodes');
    if (nodes === null || nodes.type !== DT_DIR) return true;
    const list = new Map<number, VmInfo>();
    let ok = true;
    for (const node of nodes.children.values()) {
      if (node.type !== DT_DIR || !validNodename(node.name)) continue;
      for (const sub of ['qemu-server', 'openvz', 'lxc']) {
        const dir = node.children.get(sub);
        if (dir === undefined) continue;
        if (dir.type !== DT_DIR) {
          ok = false;
          continue;
        }
        const type = vmTypeOfSubdir(sub)!;
        for (const file of dir.children.values()) {
          if (file.type !== DT_REG) continue;
          const vmid = nameIsVmConfig(file.name);
          if (vmid === null) continue;
          if (list.has(vmid)) {
            this.log.error({ vmid, node: node.name }, 'detected duplicate VMID');
            ok = false;
            continue;
          }
          list.set(vmid, { vmid, type, node: node.name });
        }
      }
    }
    this.vmlist.replaceAll(list.values());
    return ok;
  }

  /**
   * Files in the "size without data" state of memdb.md pitfall 2 cannot be sent in an
   * UPDATE (C would read `size` bytes from NULL and crash). Reload them as a restart
   * would: the row has no data, so the file becomes empty (size 0). Memory only; the
   * database row is already empty. Returns the inodes changed.
   */
  reloadDatalessFiles(inodes: Iterable<U64>): U64[] {
    this.ensureData(); // an entry not read yet is not dataless
    const changed: U64[] = [];
    for (const inode of inodes) {
      const e = this.index.get(inode);
      if (e === undefined || e.type !== DT_REG || e.size === 0 || e.data !== null) continue;
      const parent = this.index.get(e.parent);
      assert(parent !== undefined && parent.type === DT_DIR, `invariant: parent of inode ${inode} missing`);
      this.place(parent, makeFile({ ...e, size: 0, data: null }));
      changed.push(inode);
    }
    return changed;
  }

  // ---- index, checksum, sync ------------------------------------------------

  /** All entries sorted by inode (unsigned compare). */
  sortedEntries(): TreeEntry[] {
    this.ensureData(); // for digests, checksums and UPDATEs
    return [...this.index.values()].sort(byInode);
  }

  encodeIndex(): Buffer {
    return encodeTreeIndex(this.root, this.sortedEntries());
  }

  checksum(): Buffer {
    return databaseChecksum(this.sortedEntries());
  }

  /**
   * The bytes of the rows a sync commit reloads, from memory where it holds them: the
   * last update of an inode, else the current entry. Reading every blob back from
   * SQLite (C does) would hold all data twice until the received copies are collected,
   * and their freed memory stays in the process (~+170 MiB RSS at 60k inodes / 100 MB).
   * A length that differs from the row's reads the row.
   */
  private heldData(updates: readonly EntryFields[]): DataOf {
    const sent = new Map<U64, Buffer>();
    for (const u of updates) {
      if (u.type === DT_REG && u.size > 0 && u.data !== null) sent.set(u.inode, u.data);
      else sent.delete(u.inode);
    }
    return (inode, size) => {
      const held = sent.get(inode) ?? this.index.get(inode)?.data ?? null;
      if (held !== null && held.length === size) return held;
      const stored = this.db.dataOf(inode);
      assert(stored !== null && stored.length === size, `inode ${inode}: data of ${stored?.length} bytes read back, row says ${size}`);
      return stored;
    };
  }

  /**
   * bdb_backend_commit_update: delete what the leader lacks, write every received
   * entry, reload from the database inside the transaction and require the new
   * index to equal the leader's byte for byte; all or nothing. On failure the
   * errors flag is set and memory is untouched.
   */
  commitUpdate(master: MemdbIndex, local: MemdbIndex, updates: readonly EntryFields[]): boolean {
    this.ensureData();
    let loaded: LoadedTree;
    try {
      loaded = this.db.transaction(() => {
        const keep = new Set(master.inodes);
        for (const inode of local.inodes) if (!keep.has(inode)) this.db.deleteRow(inode);
        for (const u of updates) {
          this.db.writeRow({
            inode: u.inode,
            parent: u.parent,
            version: u.version,
            writer: u.writer,
            mtime: u.mtime,
            type: u.type,
            name: u.inode === 0 ? VERSION_FILENAME : u.name,
            data: u.type === DT_REG && u.size > 0 ? u.data : null,
          });
        }
        const tree = loadTree(this.db.loadRowsSized(), this.heldData(updates));
        if (this.root.version === 0) throw new LoadError('new index has version 0 - internal error');
        const encoded = encodeTreeIndex(tree.root, [...tree.index.values()].sort(byInode));
        if (!indexEquals(encoded, master.raw)) throw new LoadError('new index does not match master index - internal error');
        return tree;
      });
    } catch (err) {
      this.errors = true;
      this.log.error({ err: (err as Error).message }, 'sync commit failed - database left unchanged');
      return false;
    }
    this.root = loaded.root;
    this.index = loaded.index;
    if (this.checkInvariants) this.assertIndexMatchesTree();
    this.onReload();
    if (!this.recreateVmlist()) {
      this.errors = true;
      return false;
    }
    this.updateLocks();
    return true;
  }
}

function openDatabase(file: string, readonly: boolean): Database {
  try {
    return Database.open(file, { readonly });
  } catch (err) {
    if (err instanceof DatabaseError) throw new MemdbOpenError(`unable to load database ${file}: ${err.message}`);
    throw err;
  }
}

function byInode(a: TreeEntry, b: TreeEntry): number {
  return u64Compare(a.inode, b.inode);
}

export function encodeTreeIndex(root: TreeEntry, sorted: readonly TreeEntry[]): Buffer {
  return encodeIndex(
    root,
    sorted.map((e) => ({ inode: e.inode, digest: digestOf(e) })),
  );
}

/** The row of an entry with `data`: one object literal, so every row has one hidden class. */
function rowOf(e: TreeEntry, data: Buffer | null): RowWrite {
  return { inode: e.inode, parent: e.parent, version: e.version, writer: e.writer, mtime: e.mtime, type: e.type, name: e.name, data };
}

/** The row of a file: data only when size > 0 (NULL otherwise, also for the truncate quirk). */
function fileRow(e: FileEntry): RowWrite {
  return rowOf(e, e.size > 0 ? e.data : null);
}

/** Rows written by memdb_mtime and memdb_rename: a directory gets an empty blob (memdb.md §2.3). */
function touchedRow(e: TreeEntry): RowWrite {
  return e.type === DT_DIR ? rowOf(e, Buffer.alloc(0)) : fileRow(e);
}
