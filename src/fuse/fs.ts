/**
 * The /etc/pve request handlers: libfuse 2's high-level path layer (node ids handed
 * out in lookup order, root = 1, paths rebuilt from names) on top of the libfuse3
 * low-level binding, and pmxcfs.c's cfs_fuse_* dispatch to the root, memdb, link and
 * function plugs (fuse.md §2–§5).
 *
 * Node ids are libfuse 2's, not memdb inodes (fuse.md pitfall 1): a node is a
 * (parent, name) pair, so an open file or a cached dentry follows the *path*, as in
 * C — after another node replaces a file by rename, readers see the new file instead
 * of a stale inode. Unlinking an open file removes it at once (hard_remove
 * semantics, no `.fuse_hidden*` files: pitfall 11, deliberate).
 *
 * | here            | C / libfuse 2                                  |
 * |-----------------|------------------------------------------------|
 * | NodeTable       | fuse.c: struct node, lookup_node, next_id,     |
 * |                 | unhash_name, rename_node, forget_node          |
 * | resolve         | pmxcfs.c: find_plug                            |
 * | attrOf          | pmxcfs.c: cfs_fuse_getattr + plug getattr      |
 * | create ... read | pmxcfs.c: cfs_fuse_* (path operations)         |
 * | handle          | fuse.c: fuse_lib_* via the table in handlers.ts |
 */
import { EACCES, EIO, ENOENT, EPERM } from '../memdb/errno.js';
import { STATFS_BSIZE } from '../memdb/memdb.js';
import { unlistableName } from '../memdb/path.js';
import type { TreeEntry } from '../memdb/tree.js';
import { type FsOps, immediate } from '../fsops/fsops.js';
import { DT_DIR } from '../wire/entry.js';
import { type Log, silentLog } from '../util/log.js';
import { type Clock, nowSeconds, systemClock } from '../util/clock.js';
import { type FuseAddon, type FuseAttr, type FuseRequest, type FuseStatfs, SetAttr } from './native.js';
import { ATTR_TIMEOUT, childPath, type FuseOpCode, REQUEST_HANDLERS, unsupported } from './handlers.js';
import { chmodAllowed, chownAllowed, linkRawMode, maskMode, memdbRawMode, S_IFDIR, S_IFREG } from './perms.js';
import { FIXED_NAMES, type FixedName, generate, isFixedName, isLink, linkTarget, type PluginSources, writeDebug } from './plugins.js';

const ROOT_ID = 1;
const UNKNOWN_INO = 0xffffffff;

interface Node {
  readonly id: number;
  parent: Node | null;
  /** null once unhashed (unlinked or overwritten). */
  name: string | null;
  nlookup: number;
  /** path() as computed at generation `pathGen` of the table (−1: never). */
  cachedPath: string | null;
  pathGen: number;
  /** The hashed nodes below this one by name (libfuse 2's name hash, per parent: no key string to build per lookup). */
  children: Map<string, Node> | null;
}

/** libfuse 2's node table: ids for (parent, name) pairs, kept while the kernel knows them. */
export class NodeTable {
  private readonly byId = new Map<number, Node>();
  private ctr = 0;
  /**
   * Bumped by every rename and unhash, the only changes that move a node's path (of
   * the node and of everything below it): a cached path of an older generation is
   * rebuilt. Every request resolves its node's path, renames are rare.
   */
  private gen = 0;
  readonly root: Node = { id: ROOT_ID, parent: null, name: '', nlookup: 1, cachedPath: '', pathGen: 0, children: null };

  constructor() {
    this.byId.set(ROOT_ID, this.root);
  }

  get(id: number): Node | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The memdb path of a node ('' = root), or null if it was unlinked. */
  path(node: Node): string | null {
    if (node.pathGen === this.gen) return node.cachedPath;
    node.cachedPath = this.buildPath(node);
    node.pathGen = this.gen;
    return node.cachedPath;
  }

  /** The parent's (cached) path plus the name: a new file's path costs one concatenation. */
  private buildPath(node: Node): string | null {
    if (node === this.root) return '';
    if (node.name === null || node.parent === null) return null;
    if (node.parent === this.root) return node.name;
    const parentPath = this.path(node.parent);
    return parentPath === null ? null : `${parentPath}/${node.name}`;
  }

  private nextId(): number {
    do {
      this.ctr = (this.ctr + 1) >>> 0;
    } while (this.ctr === 0 || this.ctr === UNKNOWN_INO || this.byId.has(this.ctr));
    return this.ctr;
  }

  /** Find or create the node of parent/name and count one lookup. */
  lookup(parent: Node, name: string): Node {
    let n = parent.children?.get(name);
    if (n === undefined) {
      n = { id: this.nextId(), parent, name, nlookup: 0, cachedPath: null, pathGen: -1, children: null };
      this.byId.set(n.id, n);
      (parent.children ??= new Map()).set(name, n);
    }
    n.nlookup++;
    return n;
  }

  forget(id: number, count: number): void {
    const n = this.byId.get(id);
    if (n === undefined || n === this.root) return;
    n.nlookup -= count;
    if (n.nlookup <= 0) {
      this.unhash(n);
      this.byId.delete(id);
    }
  }

  private unhash(n: Node): void {
    this.gen++;
    if (n.name !== null && n.parent !== null && n.parent.children?.get(n.name) === n) n.parent.children.delete(n.name);
    n.name = null;
  }

  remove(parent: Node, name: string): void {
    const n = parent.children?.get(name);
    if (n !== undefined) this.unhash(n);
  }

  rename(parent: Node, name: string, newParent: Node, newName: string): void {
    const n = parent.children?.get(name);
    if (n === undefined) return;
    this.gen++;
    this.remove(newParent, newName);
    parent.children!.delete(name);
    n.parent = newParent;
    n.name = newName;
    (newParent.children ??= new Map()).set(newName, n);
  }
}

type Target = { kind: 'root' } | { kind: 'fixed'; name: FixedName } | { kind: 'below-fixed' } | { kind: 'memdb'; path: string };

/** pmxcfs.c: find_plug (leading slashes already absent). */
export function resolve(path: string): Target {
  if (path === '') return { kind: 'root' };
  const slash = path.indexOf('/');
  const first = slash < 0 ? path : path.slice(0, slash);
  if (isFixedName(first)) return slash < 0 ? { kind: 'fixed', name: first } : { kind: 'below-fixed' };
  return { kind: 'memdb', path };
}

export interface PveFsOptions {
  readonly fsops: FsOps;
  readonly sources: PluginSources;
  readonly nodename: string;
  /** Quorum (cfs_is_quorate); local mode: always true. Changes modes and refuses writes. */
  readonly isQuorate: () => boolean;
  readonly wwwGid: number;
  readonly log?: Log;
  /** For utimens(UTIME_NOW) in local plugins' mtime (seconds via nowSeconds). */
  readonly clock?: Clock;
  readonly onLoopExit?: () => void;
}

/** Attributes of an object (without ino), or −errno. */
export type AttrResult = Omit<FuseAttr, 'ino'> | number;

export class PveFs {
  readonly nodes = new NodeTable();
  private readonly o: PveFsOptions;
  private readonly log: Log;
  private readonly clock: Clock;
  /** Function-file content generated at the last getattr (cfs-plug-func.c: fplug->data). */
  private readonly stored = new Map<FixedName, Buffer>();
  private readonly dirListings = new Map<number, { names: Buffer[]; types: number[] }>();
  private nextFh = 1;

  constructor(options: PveFsOptions) {
    this.o = options;
    this.log = options.log ?? silentLog;
    this.clock = options.clock ?? systemClock;
  }

  // ---- attributes -------------------------------------------------------------------

  /** pmxcfs.c: cfs_fuse_getattr for a path. */
  getattr(path: string): AttrResult {
    const t = resolve(path);
    if (t.kind === 'root') return this.attr(S_IFDIR | 0o755, 2, 0, 0, 0);
    if (t.kind === 'below-fixed') return -EACCES;
    const quorate = this.o.isQuorate();
    if (t.kind === 'fixed') {
      if (isLink(t.name)) {
        const target = linkTarget(t.name, this.o.nodename);
        return this.attr(maskMode(path, linkRawMode(quorate)), 1, Buffer.byteLength(target, 'latin1'), 0, 0);
      }
      const data = generate(t.name, this.o.sources);
      this.stored.set(t.name, data);
      const raw = S_IFREG | (t.name === '.debug' ? 0o640 : 0o440);
      return this.attr(maskMode(path, raw), 1, data.length, 0, 0);
    }
    const e = this.o.fsops.getattr(t.path);
    if (e === null) return -ENOENT;
    const isDir = e.type === DT_DIR;
    return this.attr(maskMode(path, memdbRawMode(isDir, e.name, quorate)), isDir ? 2 : 1, e.size, Math.ceil(e.size / STATFS_BSIZE), e.mtime);
  }

  /** One attribute object, built in one shape (getattr runs on every lookup and stat). */
  private attr(mode: number, nlink: number, size: number, blocks: number, mtime: number): Omit<FuseAttr, 'ino'> {
    return { mode, nlink, uid: 0, gid: this.o.wwwGid, size, blocks, mtime };
  }

  /** The listing of a directory (cfs_fuse_readdir): names and d_type mode bits. */
  listing(path: string): { names: string[]; types: number[] } {
    const names = ['.', '..'];
    const types = [0, 0];
    const t = resolve(path);
    if (t.kind === 'root') {
      for (const n of FIXED_NAMES) {
        names.push(n);
        types.push(0);
      }
    }
    if (t.kind === 'root' || t.kind === 'memdb') {
      const r = this.o.fsops.readdir(t.kind === 'root' ? '' : t.path);
      if (typeof r !== 'number') {
        for (const e of r) {
          if (t.kind === 'root' && isFixedName(e.name)) continue;
          if (this.unlistable(e)) continue;
          names.push(e.name);
          types.push(e.type === DT_DIR ? S_IFDIR : S_IFREG);
        }
      }
    }
    return { names, types };
  }

  /** Names no listing can carry (a '/' makes the kernel fail the whole readdir with EIO): skipped, logged once per entry. */
  private unlistable(e: TreeEntry): boolean {
    const why = unlistableName(e.name);
    if (why === null) return false;
    const name = Buffer.from(e.name, 'latin1').toString('hex');
    const key = `${e.inode}/${name}`;
    if (!this.unlistedLogged.has(key)) {
      this.unlistedLogged.add(key);
      this.log.warn({ inode: e.inode, name }, `directory entry not listed: ${why}`);
    }
    return true;
  }

  private readonly unlistedLogged = new Set<string>();

  // ---- modifying operations (by path), with the plug rules ------------------------

  /**
   * The memdb path a change by path acts on ('' for the root), or −EACCES: outside the
   * memdb (the plug rules), or without quorum (cfs_plug_memdb).
   */
  private changeTarget(path: string): string | number {
    const t = resolve(path);
    if ((t.kind !== 'memdb' && t.kind !== 'root') || !this.o.isQuorate()) return -EACCES;
    return t.kind === 'root' ? '' : t.path;
  }

  create(path: string): Promise<number> {
    const p = this.changeTarget(path);
    return typeof p === 'number' ? immediate(p) : this.o.fsops.create(p);
  }

  mkdir(path: string): Promise<number> {
    const p = this.changeTarget(path);
    return typeof p === 'number' ? immediate(p) : this.o.fsops.mkdir(p);
  }

  remove(path: string): Promise<number> {
    const p = this.changeTarget(path);
    return typeof p === 'number' ? immediate(p) : this.o.fsops.remove(p);
  }

  rename(from: string, to: string): Promise<number> {
    const f = resolve(from);
    const t = resolve(to);
    if (f.kind !== 'memdb' || t.kind !== 'memdb' || !this.o.isQuorate()) return immediate(-EACCES);
    return this.o.fsops.rename(f.path, t.path);
  }

  truncate(path: string, size: number): Promise<number> {
    const t = resolve(path);
    if (t.kind === 'fixed') return immediate(t.name === '.debug' ? 0 : -EIO);
    if (t.kind === 'below-fixed' || !this.o.isQuorate()) return immediate(-EACCES);
    return this.o.fsops.truncate(t.kind === 'root' ? '' : t.path, size);
  }

  utimens(path: string, mtime: number): Promise<number> {
    const p = this.changeTarget(path);
    return typeof p === 'number' ? immediate(p) : this.o.fsops.utimens(p, mtime);
  }

  write(path: string, data: Buffer, offset: number, append = false): Promise<number> {
    const t = resolve(path);
    if (t.kind === 'fixed') return immediate(t.name === '.debug' ? writeDebug(this.o.sources, data, offset) : -EIO);
    if (t.kind !== 'memdb' || !this.o.isQuorate()) return immediate(-EACCES);
    return this.o.fsops.write(t.path, data, offset, append);
  }

  read(path: string, offset: number, size: number): Buffer | number {
    const t = resolve(path);
    if (t.kind === 'fixed') {
      if (isLink(t.name)) return -EACCES;
      let data = this.stored.get(t.name);
      if (data === undefined) {
        data = generate(t.name, this.o.sources);
        this.stored.set(t.name, data);
      }
      return offset >= data.length ? Buffer.alloc(0) : data.subarray(offset, Math.min(data.length, offset + size));
    }
    if (t.kind !== 'memdb') return -EACCES;
    const r = this.o.fsops.read(t.path, offset, size);
    return typeof r === 'number' ? -ENOENT : r;
  }

  // ---- request dispatch -------------------------------------------------------------

  nodePath(ino: number): string | number {
    const n = this.nodes.get(ino);
    if (n === undefined) return -ENOENT;
    const p = this.nodes.path(n);
    return p === null ? -ENOENT : p;
  }

  /** Answer one request through the handler table; never throws (an unexpected error is EIO). */
  handle(addon: FuseAddon, req: FuseRequest): void {
    const h = REQUEST_HANDLERS[req.op as FuseOpCode] ?? unsupported;
    const failed = (err: unknown): void => {
      this.log.error({ op: req.op, err: (err as Error).stack }, 'fuse request failed');
      addon.replyErr(req.id, EIO);
    };
    try {
      // Only the writes return a promise; lookup, getattr, readdir... answer at once
      // and need none (one fewer promise and callback per request).
      const p = h(this, addon, req);
      if (p !== undefined) p.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Look up parent/name after a successful create/mkdir/mknod, as libfuse 2 does. */
  replyNewEntry(addon: FuseAddon, req: FuseRequest, parentPath: string, name: string, fh: number | null): void {
    const parent = this.nodes.get(req.ino);
    const attr = this.getattr(childPath(parentPath, name));
    if (typeof attr === 'number' || parent === undefined) {
      addon.replyErr(req.id, typeof attr === 'number' ? -attr : ENOENT);
      return;
    }
    const node = this.nodes.lookup(parent, name);
    const full = { ino: node.id, ...attr };
    if (fh === null) addon.replyEntry(req.id, full, ATTR_TIMEOUT);
    else if (addon.replyCreate(req.id, full, ATTR_TIMEOUT, fh) !== 0) this.nodes.forget(node.id, 1);
  }

  /** A fresh file handle (open, opendir, create). */
  newFh(): number {
    return this.nextFh++;
  }

  /** The listing of an open directory handle; rebuilt at offset 0 (cfs_fuse_readdir). */
  dirListing(fh: number, path: string, offset: number): { names: Buffer[]; types: number[] } {
    let l = this.dirListings.get(fh);
    if (l === undefined || offset === 0) {
      const fresh = this.listing(path);
      l = { names: fresh.names.map((n) => Buffer.from(n, 'latin1')), types: fresh.types };
      this.dirListings.set(fh, l);
    }
    return l;
  }

  releaseDir(fh: number): void {
    this.dirListings.delete(fh);
  }

  statfs(): FuseStatfs {
    const s = this.o.fsops.statfs();
    return { bsize: s.bsize, frsize: 0, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namemax: s.namemax };
  }

  /** The target of a fixed symlink, or null for anything else. */
  readlink(path: string): Buffer | null {
    const t = resolve(path);
    return t.kind === 'fixed' && isLink(t.name) ? Buffer.from(linkTarget(t.name, this.o.nodename), 'latin1') : null;
  }

  /** cfs_fuse_open: −errno, or 0 when the object may be opened. */
  openCheck(path: string): number {
    const t = resolve(path);
    if (t.kind === 'root' || t.kind === 'below-fixed') return -EACCES;
    if (t.kind === 'memdb' && this.o.fsops.getattr(t.path) === null) return -ENOENT;
    return 0;
  }

  /** The session loop ended without unmount(). */
  loopExited(result: number): void {
    this.log.warn({ result }, 'fuse session loop ended (unmounted from outside?)');
    this.o.onLoopExit?.();
  }

  /** fuse.c (libfuse 2): fuse_lib_setattr — chmod, chown, truncate, utimens (only with both times), then getattr. */
  async setattr(addon: FuseAddon, req: FuseRequest, path: string): Promise<void> {
    const v = req.toSet ?? 0;
    let r = 0;
    if (v & SetAttr.MODE) r = chmodAllowed(path, req.mode) ? 0 : -EPERM;
    if (r === 0 && v & (SetAttr.UID | SetAttr.GID)) {
      r = chownAllowed(v & SetAttr.UID ? req.uid : null, v & SetAttr.GID ? req.gid! : null, this.o.wwwGid) ? 0 : -EPERM;
    }
    if (r === 0 && v & SetAttr.SIZE) {
      const t = await this.truncate(path, req.size);
      r = t < 0 ? t : 0;
    }
    if (r === 0 && (v & (SetAttr.ATIME | SetAttr.MTIME)) === (SetAttr.ATIME | SetAttr.MTIME)) {
      const mtime = v & SetAttr.MTIME_NOW ? nowSeconds(this.clock) : req.mtime!;
      const u = await this.utimens(path, mtime);
      r = u < 0 ? u : 0;
    }
    if (r < 0) {
      addon.replyErr(req.id, -r);
      return;
    }
    const attr = this.getattr(path);
    if (typeof attr === 'number') addon.replyErr(req.id, -attr);
    else addon.replyAttr(req.id, { ino: req.ino, ...attr }, ATTR_TIMEOUT);
  }
}
