/**
 * The FUSE request handlers as a table, one entry per low-level operation: libfuse 2's
 * fuse_lib_* layer (node ids, replies) over pmxcfs.c's cfs_fuse_* (the path operations
 * of PveFs). A request names a node id; handlers that work on a path resolve it first
 * (an unlinked or forgotten node is ENOENT, as libfuse 2's get_path).
 *
 * | here            | C / libfuse 2                                          |
 * |-----------------|--------------------------------------------------------|
 * | LOOKUP          | fuse.c: fuse_lib_lookup (+ lookup_path)                |
 * | FORGET          | fuse.c: fuse_lib_forget / forget_node                  |
 * | GETATTR/SETATTR | fuse_lib_getattr / fuse_lib_setattr → cfs_fuse_getattr |
 * | MKNOD/CREATE    | fuse_lib_mknod / fuse_lib_create → cfs_fuse_create     |
 * | MKDIR           | fuse_lib_mkdir → cfs_fuse_mkdir                        |
 * | UNLINK/RMDIR    | fuse_lib_unlink / _rmdir → cfs_fuse_unlink / _rmdir    |
 * | RENAME          | fuse_lib_rename → cfs_fuse_rename                      |
 * | OPEN/READ/WRITE | fuse_lib_open / _read / _write → cfs_fuse_*            |
 * | OPENDIR/READDIR | fuse_lib_opendir / _readdir → cfs_fuse_readdir         |
 * | STATFS          | fuse_lib_statfs → cfs_fuse_statfs                      |
 */
import { constants } from 'node:fs';
import { EACCES, ENOSYS } from '../memdb/errno.js';
import type { PveFs } from './fs.js';
import { type FuseAddon, FuseOp, type FuseRequest } from './native.js';
import { S_IFMT, S_IFREG } from './perms.js';

/** open(2) flag, passed by the kernel with each write (fuse_write_in.flags). */
const { O_APPEND } = constants;

/** libfuse 2 attr_timeout / entry_timeout defaults (seconds). */
export const ATTR_TIMEOUT = 1.0;

export type FuseOpCode = (typeof FuseOp)[keyof typeof FuseOp];
export type Handler = (fs: PveFs, addon: FuseAddon, req: FuseRequest) => void | Promise<void>;
/** A handler of an operation on a resolved path (`name` is the request's name, latin1). */
type PathHandler = (fs: PveFs, addon: FuseAddon, req: FuseRequest, path: string, name: string) => void | Promise<void>;

export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Answer 0 or −errno. */
function replyResult(addon: FuseAddon, id: number, r: number): void {
  addon.replyErr(id, r < 0 ? -r : 0);
}

export const unsupported: Handler = (_fs, addon, req) => {
  addon.replyErr(req.id, ENOSYS);
};

/** Resolve the request's node to its path first (libfuse 2: get_path / get_path_name). */
function onPath(h: PathHandler): Handler {
  return (fs, addon, req) => {
    const path = fs.nodePath(req.ino);
    if (typeof path === 'number') {
      addon.replyErr(req.id, -path);
      return;
    }
    return h(fs, addon, req, path, req.name ?? '');
  };
}

/** create/mkdir/mknod: the operation, then libfuse 2's lookup of the new entry. */
function creating(op: (fs: PveFs, path: string) => Promise<number>, withFh: boolean): PathHandler {
  return async (fs, addon, req, path, name) => {
    const r = await op(fs, childPath(path, name));
    if (r < 0) replyResult(addon, req.id, r);
    else fs.replyNewEntry(addon, req, path, name, withFh ? fs.newFh() : null);
  };
}

const lookup: PathHandler = (fs, addon, req, path, name) => {
  const parent = fs.nodes.get(req.ino)!;
  const attr = fs.getattr(childPath(path, name));
  if (typeof attr === 'number') {
    addon.replyErr(req.id, -attr);
    return;
  }
  const node = fs.nodes.lookup(parent, name);
  if (addon.replyEntry(req.id, { ino: node.id, ...attr }, ATTR_TIMEOUT) !== 0) fs.nodes.forget(node.id, 1);
};

const getattr: PathHandler = (fs, addon, req, path) => {
  const attr = fs.getattr(path);
  if (typeof attr === 'number') addon.replyErr(req.id, -attr);
  else addon.replyAttr(req.id, { ino: req.ino, ...attr }, ATTR_TIMEOUT);
};

const readlink: PathHandler = (fs, addon, req, path) => {
  const target = fs.readlink(path);
  if (target === null) addon.replyErr(req.id, EACCES);
  else addon.replyReadlink(req.id, target);
};

const mknod: PathHandler = (fs, addon, req, path, name) => {
  if ((req.mode & S_IFMT) !== S_IFREG) {
    addon.replyErr(req.id, ENOSYS);
    return;
  }
  return creating((f, p) => f.create(p), false)(fs, addon, req, path, name);
};

const remove: PathHandler = async (fs, addon, req, path, name) => {
  const r = await fs.remove(childPath(path, name));
  if (r >= 0) {
    const parent = fs.nodes.get(req.ino);
    if (parent !== undefined) fs.nodes.remove(parent, name);
  }
  replyResult(addon, req.id, r);
};

const rename: PathHandler = async (fs, addon, req, path, name) => {
  const newParentPath = fs.nodePath(req.newparent!);
  if (typeof newParentPath === 'number') {
    addon.replyErr(req.id, -newParentPath);
    return;
  }
  const newName = req.newname!;
  const r = await fs.rename(childPath(path, name), childPath(newParentPath, newName));
  if (r >= 0) {
    const parent = fs.nodes.get(req.ino);
    const newParent = fs.nodes.get(req.newparent!);
    if (parent !== undefined && newParent !== undefined) fs.nodes.rename(parent, name, newParent, newName);
  }
  replyResult(addon, req.id, r);
};

const open: PathHandler = (fs, addon, req, path) => {
  const r = fs.openCheck(path);
  if (r < 0) addon.replyErr(req.id, -r);
  else addon.replyOpen(req.id, fs.newFh(), true);
};

const read: PathHandler = (fs, addon, req, path) => {
  const r = fs.read(path, req.off, req.size);
  if (typeof r === 'number') addon.replyErr(req.id, -r);
  else addon.replyBuf(req.id, r);
};

const write: PathHandler = async (fs, addon, req, path) => {
  const r = await fs.write(path, req.data!, req.off, (req.flags & O_APPEND) !== 0);
  if (r < 0) addon.replyErr(req.id, -r);
  else addon.replyWrite(req.id, r);
};

const readdir: PathHandler = (fs, addon, req, path) => {
  const l = fs.dirListing(req.fh, path, req.off);
  addon.replyDir(req.id, l.names, l.types, req.off, req.size);
};

/** The dispatch table; an operation without an entry is ENOSYS. */
export const REQUEST_HANDLERS: Readonly<Partial<Record<FuseOpCode, Handler>>> = {
  [FuseOp.FORGET]: (fs, addon, req) => {
    fs.nodes.forget(req.ino, req.size);
    addon.replyNone(req.id);
  },
  [FuseOp.EXIT]: (fs, _addon, req) => fs.loopExited(req.off),
  [FuseOp.RELEASEDIR]: (fs, addon, req) => {
    fs.releaseDir(req.fh);
    addon.replyErr(req.id, 0);
  },
  [FuseOp.STATFS]: (fs, addon, req) => void addon.replyStatfs(req.id, fs.statfs()),
  [FuseOp.LOOKUP]: onPath(lookup),
  [FuseOp.GETATTR]: onPath(getattr),
  [FuseOp.SETATTR]: onPath((fs, addon, req, path) => fs.setattr(addon, req, path)),
  [FuseOp.READLINK]: onPath(readlink),
  [FuseOp.MKNOD]: onPath(mknod),
  [FuseOp.CREATE]: onPath(creating((f, p) => f.create(p), true)),
  [FuseOp.MKDIR]: onPath(creating((f, p) => f.mkdir(p), false)),
  [FuseOp.UNLINK]: onPath(remove),
  [FuseOp.RMDIR]: onPath(remove),
  [FuseOp.RENAME]: onPath(rename),
  [FuseOp.OPEN]: onPath(open),
  [FuseOp.READ]: onPath(read),
  [FuseOp.WRITE]: onPath(write),
  [FuseOp.OPENDIR]: onPath((fs, addon, req) => void addon.replyOpen(req.id, fs.newFh(), false)),
  [FuseOp.READDIR]: onPath(readdir),
};
