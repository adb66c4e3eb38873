/** Loader and types of build/Release/fuse.node (native/fuse.cc). */
import { addonLoader } from '../util/addon.js';

/** Request kinds (native/fuse.cc: enum Op). */
export const FuseOp = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  MKNOD: 6,
  MKDIR: 7,
  UNLINK: 8,
  RMDIR: 9,
  RENAME: 10,
  OPEN: 11,
  READ: 12,
  WRITE: 13,
  RELEASE: 14,
  OPENDIR: 15,
  READDIR: 16,
  RELEASEDIR: 17,
  STATFS: 18,
  CREATE: 19,
  /** The session loop ended without stop() (e.g. `umount` from outside). */
  EXIT: 20,
} as const;

/** fuse_lowlevel.h FUSE_SET_ATTR_* */
export const SetAttr = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256, CTIME: 1024 } as const;

export interface FuseRequest {
  readonly id: number;
  readonly op: number;
  /** Node id the request refers to (parent for name operations). */
  readonly ino: number;
  readonly name?: Buffer;
  readonly newparent?: number;
  readonly newname?: Buffer;
  readonly size: number;
  readonly off: number;
  readonly flags: number;
  readonly fh: number;
  readonly mode: number;
  readonly toSet?: number;
  /** setattr: requested uid; otherwise the caller's uid. */
  readonly uid: number;
  readonly gid?: number;
  readonly atime?: number;
  readonly mtime?: number;
  readonly data?: Buffer;
  readonly ctxUid: number;
  readonly ctxGid: number;
  readonly ctxPid: number;
}

export interface FuseAttr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  blocks: number;
  mtime: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namemax: number;
}

export interface FuseAddon {
  mount(mountpoint: string, options: string, handler: (req: FuseRequest) => void): number;
  stop(handle: number): number;
  done(handle: number): boolean;
  destroy(handle: number): boolean;
  umount2(path: string, flags: number): number;
  replyErr(id: number, errno: number): number;
  replyNone(id: number): void;
  replyEntry(id: number, attr: FuseAttr, timeout: number): number;
  replyCreate(id: number, attr: FuseAttr, timeout: number, fh: number): number;
  replyAttr(id: number, attr: FuseAttr, timeout: number): number;
  replyOpen(id: number, fh: number, directIo: boolean): number;
  replyBuf(id: number, data: Buffer): number;
  replyWrite(id: number, count: number): number;
  replyReadlink(id: number, target: Buffer): number;
  replyStatfs(id: number, st: FuseStatfs): number;
  replyDir(id: number, names: Buffer[], types: number[], offset: number, size: number): number;
  readonly MNT_FORCE: number;
  readonly MNT_DETACH: number;
}

export const fuseAddon = addonLoader<FuseAddon>('fuse');
