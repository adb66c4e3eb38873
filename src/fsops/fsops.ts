/**
 * The file operations a local client performs (FUSE, or `pmxcfs-ts fs` through the
 * control socket), with cfs-plug-memdb.c's behaviour: reads from the local memdb,
 * changes as replicated messages in cluster mode (the result is this node's own
 * message applied on delivery) or directly on memdb in local mode (writer 0,
 * mtime now).
 *
 * Sending-side guards (allowed: they cannot make replicas diverge) avoid what C
 * would send but no receiver handles well: renames onto themselves or into
 * themselves, and a truncate to a non-zero length sent as "count 0 at offset N",
 * which gives a file size without data wherever the file was emptied meanwhile
 * (memdb.md pitfall 2; a node holding such a file fails its next sync commit). We
 * send such a truncate as a truncating write of the first N bytes instead. Writes and
 * truncates beyond MEMDB_MAX_FILE_SIZE are refused with EFBIG before sending (the
 * fuse message's offset is a u32; C cuts a larger one).
 *
 * | here       | C (cfs-plug-memdb.c)                  |
 * |------------|---------------------------------------|
 * | create     | cfs_plug_memdb_create                 |
 * | write      | cfs_plug_memdb_write                  |
 * | truncate   | cfs_plug_memdb_truncate               |
 * | mkdir      | cfs_plug_memdb_mkdir                  |
 * | unlink     | cfs_plug_memdb_unlink / _rmdir        |
 * | rename     | cfs_plug_memdb_rename                 |
 * | utimens    | cfs_plug_memdb_utimens (unlock flow)  |
 * | read       | cfs_plug_memdb_read                   |
 * | statfs     | cfs_plug_memdb_statfs                 |
 * | close      | (daemon stop: no new changes)         |
 *
 * The layer below both local front ends (src/fuse and the control socket); it never
 * imports either.
 */
import type { Dcdb } from '../dcdb/dcdb.js';
import { EBUSY, EFBIG, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOTDIR } from '../memdb/errno.js';
import { MAX_FILE_SIZE, type Memdb } from '../memdb/memdb.js';
import { FUSE_NAME_MAX, pathIsLockdir, splitPath } from '../memdb/path.js';
import type { TreeEntry } from '../memdb/tree.js';
import { type Clock, nowSeconds, systemClock } from '../util/clock.js';
import { DcdbMessageType } from '../wire/dcdb.js';
import { DT_DIR } from '../wire/entry.js';
import { entryCsum } from '../wire/hash.js';

/** Paths inside the filesystem are relative byte strings without leading slashes (pmxcfs.c: find_plug). */
/**
 * A name no listing could show (longer than FUSE_NAME_MAX; newer kernels pass such
 * names to us, older ones fail a listing holding one): refused before sending, so
 * what a local user creates is always listable. C accepts them.
 */
function unlistable(path: string): boolean {
  return splitPath(path).basename.length > FUSE_NAME_MAX;
}

/**
 * A result known at once, as the promise every change returns. The changes are plain
 * functions returning the DFSM's own promise: as `async` functions each layer would
 * wrap it in one more promise, two more microtasks per FUSE request and layer.
 */
export function immediate(result: number): Promise<number> {
  return Promise.resolve(result);
}

export function normalizePath(path: string): string {
  let i = 0;
  while (path[i] === '/') i++;
  return path.slice(i);
}

export class FsOps {
  private readonly memdb: Memdb;
  /** null in local mode. */
  private readonly dcdb: Dcdb | null;
  private readonly clock: Clock;
  /** Set by close(): the daemon is stopping and takes no new changes. */
  private closed = false;

  constructor(memdb: Memdb, dcdb: Dcdb | null, clock: Clock = systemClock) {
    this.memdb = memdb;
    this.dcdb = dcdb;
    this.clock = clock;
  }

  /** The mtime of a local-mode change: C's time(NULL). */
  private now(): number {
    return nowSeconds(this.clock);
  }

  get localMode(): boolean {
    return this.dcdb === null;
  }

  /**
   * Refuse every later change with −EBUSY (the first step of the daemon's stop: C's
   * FUSE loop has ended by then, and a writer released by dfsm_finalize gets −EBUSY).
   * Reads keep working until the unmount.
   */
  close(): void {
    this.closed = true;
  }

  /** memdb_statfs. */
  statfs(): ReturnType<Memdb['statfs']> {
    return this.memdb.statfs();
  }

  getattr(path: string): TreeEntry | null {
    return this.memdb.getattr(normalizePath(path));
  }

  readdir(path: string): TreeEntry[] | number {
    const p = normalizePath(path);
    const e = this.memdb.getattr(p);
    if (e === null) return -ENOENT;
    if (e.type !== DT_DIR) return -ENOTDIR;
    return this.memdb.readdir(p);
  }

  /** Bytes from offset (at most size), as the FUSE read. */
  read(path: string, offset = 0, size = MAX_FILE_SIZE): Buffer | number {
    const p = normalizePath(path);
    const e = this.memdb.getattr(p);
    if (e !== null && e.type === DT_DIR) return -EISDIR;
    const data = this.memdb.read(p);
    if (typeof data === 'number') return data;
    if (offset >= data.length) return Buffer.alloc(0);
    return data.subarray(offset, Math.min(data.length, offset + size));
  }

  private send(type: number, path: string, fields: { offset?: number; flags?: number; to?: string | null; data?: Buffer | null }): Promise<number> {
    return this.dcdb!.sendFuse(type, { path, offset: fields.offset ?? 0, flags: fields.flags ?? 0, to: fields.to ?? null, data: fields.data ?? null });
  }

  create(path: string): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const p = normalizePath(path);
    if (unlistable(p)) return immediate(-ENAMETOOLONG);
    if (this.dcdb === null) return immediate(this.memdb.create(p, 0, this.now()));
    return this.send(DcdbMessageType.CREATE, p, {});
  }

  /**
   * `append` (O_APPEND): the kernel's offset is the size it cached, stale when another
   * node changed the file; the size in this node's memdb is the latest it knows. C
   * writes at the kernel's offset and loses more appends racing from several nodes.
   */
  write(path: string, data: Buffer, offset: number, append = false): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const p = normalizePath(path);
    if (append) offset = this.memdb.getattr(p)?.size ?? offset;
    // memdb_pwrite's limit, checked before sending: the wire offset is 32 bits, so a
    // larger offset would be cut and applied at the wrong place on every node.
    if (offset + data.length > MAX_FILE_SIZE) return immediate(-EFBIG);
    if (this.dcdb === null) return immediate(this.memdb.write(p, 0, this.now(), data, offset, false));
    return this.send(DcdbMessageType.WRITE, p, { offset, data });
  }

  async truncate(path: string, length: number): Promise<number> {
    if (this.closed) return -EBUSY;
    const p = normalizePath(path);
    if (length === 0) {
      // "count 0 at offset 0" leaves no data and size 0 everywhere: C's form is safe.
      if (this.dcdb === null) return this.memdb.write(p, 0, this.now(), null, 0, true);
      return this.send(DcdbMessageType.WRITE, p, { offset: 0, flags: 1 });
    }
    // Refused here rather than sent (the receivers would give the same errno, but a
    // file created meanwhile would get a size without data).
    if (length > MAX_FILE_SIZE) return -EFBIG;
    const current = this.read(p);
    if (typeof current === 'number') return current;
    // The first `length` bytes as this node sees them, zero-filled: with count > 0 every
    // receiver ends with exactly `length` bytes of data, whatever raced before.
    const head = Buffer.alloc(length);
    current.copy(head, 0, 0, Math.min(length, current.length));
    const r = this.dcdb === null ? this.memdb.write(p, 0, this.now(), head, 0, true) : await this.send(DcdbMessageType.WRITE, p, { offset: 0, flags: 1, data: head });
    return r < 0 ? r : 0;
  }

  mkdir(path: string): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const p = normalizePath(path);
    if (unlistable(p)) return immediate(-ENAMETOOLONG);
    if (this.dcdb === null) return immediate(this.memdb.mkdir(p, 0, this.now()));
    return this.send(DcdbMessageType.MKDIR, p, {});
  }

  /** unlink and rmdir both send DELETE. */
  remove(path: string): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const p = normalizePath(path);
    if (this.dcdb === null) return immediate(this.memdb.delete(p, 0, this.now()));
    return this.send(DcdbMessageType.DELETE, p, {});
  }

  rename(from: string, to: string): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const f = normalizePath(from);
    const t = normalizePath(to);
    if (unlistable(t)) return immediate(-ENAMETOOLONG);
    const source = this.memdb.getattr(f);
    const target = this.memdb.getattr(t);
    if (source !== null && target === source) return immediate(0); // rename(2) onto the same entry is a no-op
    if (source !== null && source.type === DT_DIR && this.memdb.getattr(splitPath(t).dirname) === source) return immediate(-EINVAL);
    if (this.dcdb === null) return immediate(this.memdb.rename(f, t, 0, this.now()));
    return this.send(DcdbMessageType.RENAME, f, { to: t });
  }

  /**
   * utimens: only the modification time is used. mtime 0 on a lock directory is an
   * unlock request; in cluster mode the request goes to the lowest member and the
   * MTIME is still sent (normally refused with EACCES), as C does.
   */
  utimens(path: string, mtime: number): Promise<number> {
    if (this.closed) return immediate(-EBUSY);
    const p = normalizePath(path);
    const e = this.memdb.getattr(p);
    const unlock = mtime === 0 && e !== null && e.type === DT_DIR && pathIsLockdir(p);
    if (this.dcdb === null) {
      if (unlock && this.memdb.lockExpired(p, entryCsum(e))) return immediate(this.memdb.delete(p, 0, this.now()));
      return immediate(this.memdb.mtime(p, 0, mtime));
    }
    if (unlock) this.dcdb.sendUnlock(p, entryCsum(e), true);
    // mtimes are u32 everywhere in the memdb; C passes the time as guint32 (cut modulo 2^32).
    return this.send(DcdbMessageType.MTIME, p, { offset: mtime >>> 0 });
  }
}
