/** Loader and types of build/Release/fuse.node (native/fuse.cc), and the JS face of it. */
import { addonLoader } from '../util/addon.js';
import { stageBegin, stageEnd } from '../util/stages.js';

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
  OPENDIR: 14,
  READDIR: 15,
  RELEASEDIR: 16,
  STATFS: 17,
  CREATE: 18,
  /** The session loop ended without stop() (e.g. `umount` from outside). */
  EXIT: 19,
} as const;

/** fuse_lowlevel.h FUSE_SET_ATTR_* */
export const SetAttr = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256, CTIME: 1024 } as const;

export interface FuseRequest {
  readonly id: number;
  readonly op: number;
  /** Node id the request refers to (parent for name operations). */
  readonly ino: number;
  /** The entry name, latin1 (one char per byte). */
  readonly name?: string;
  readonly newparent?: number;
  readonly newname?: string;
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
  /**
   * WRITE: a view of the addon's staging Buffer, which the next request overwrites:
   * valid during the handler's synchronous part only (where the write is encoded and
   * multicast, or applied to the memdb, both copying it). No copy per write: at 64 KiB
   * each one was external garbage that brought V8's GC and fresh heap pages.
   */
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

/** The addon as JS sees it (src/fuse/fs.ts, src/fuse/mount.ts). */
export interface FuseAddon {
  mount(mountpoint: string, options: string, handler: (req: FuseRequest) => void): number;
  stop(handle: number): number;
  done(handle: number): boolean;
  /** Answers every request still pending (EIO) and frees the session; true if the connection had ended. */
  destroy(handle: number): boolean;
  /** Requests handed to JS and not yet answered. */
  pendingCount(handle: number): number;
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

/** Slots of the Float64Array that carries a request's numbers (native/fuse.cc: enum Slot). */
const Slot = { SIZE: 0, OFF: 1, FLAGS: 2, FH: 3, MODE: 4, TOSET: 5, UID: 6, GID: 7, ATIME: 8, MTIME: 9, CTX_UID: 10, CTX_GID: 11, CTX_PID: 12, INO2: 13 } as const;

type RawHandler = (op: number, id: number, ino: number, name: string | undefined, name2: string | undefined) => void;

/**
 * build/Release/fuse.node: attributes travel as positional numbers and a request's
 * numbers in a shared Float64Array, because each property read or write across
 * N-API costs more than the whole JS-side object construction.
 */
interface RawFuseAddon
  extends Pick<FuseAddon, 'MNT_FORCE' | 'MNT_DETACH' | 'stop' | 'done' | 'destroy' | 'pendingCount' | 'umount2' | 'replyErr' | 'replyNone' | 'replyOpen' | 'replyBuf' | 'replyWrite' | 'replyReadlink' | 'replyDir'> {
  readonly SLOTS: number;
  /** Bytes of the write staging Buffer: FUSE's max_write. */
  readonly MAX_WRITE: number;
  mount(mountpoint: string, options: string, handler: RawHandler, nums: Float64Array, data: Buffer): number;
  replyEntry(id: number, ino: number, mode: number, nlink: number, uid: number, gid: number, size: number, blocks: number, mtime: number, timeout: number): number;
  replyCreate(id: number, ino: number, mode: number, nlink: number, uid: number, gid: number, size: number, blocks: number, mtime: number, timeout: number, fh: number): number;
  replyAttr(id: number, ino: number, mode: number, nlink: number, uid: number, gid: number, size: number, blocks: number, mtime: number, timeout: number): number;
  replyStatfs(id: number, bsize: number, frsize: number, blocks: number, bfree: number, bavail: number, files: number, ffree: number, namemax: number): number;
}

/**
 * The FuseRequest of one raw handler call; reads the slots before they are reused.
 * Every field is always set (undefined where the op has none), in one order, so all
 * requests share one hidden class and the handlers' property reads stay monomorphic.
 */
function request(n: Float64Array, staged: Buffer, op: number, id: number, ino: number, name: string | undefined, name2: string | undefined): FuseRequest {
  const setattr = op === FuseOp.SETATTR;
  const rename = op === FuseOp.RENAME;
  const data = op === FuseOp.WRITE ? staged.subarray(0, n[Slot.SIZE]!) : undefined;
  return {
    id,
    op,
    ino,
    name,
    newparent: rename ? n[Slot.INO2]! : undefined,
    newname: rename ? name2! : undefined,
    size: n[Slot.SIZE]!,
    off: n[Slot.OFF]!,
    flags: n[Slot.FLAGS]!,
    fh: n[Slot.FH]!,
    mode: n[Slot.MODE]!,
    toSet: setattr ? n[Slot.TOSET]! : undefined,
    uid: setattr ? n[Slot.UID]! : n[Slot.CTX_UID]!,
    gid: setattr ? n[Slot.GID]! : undefined,
    atime: setattr ? n[Slot.ATIME]! : undefined,
    mtime: setattr ? n[Slot.MTIME]! : undefined,
    data,
    ctxUid: n[Slot.CTX_UID]!,
    ctxGid: n[Slot.CTX_GID]!,
    ctxPid: n[Slot.CTX_PID]!,
  };
}

/** A reply went out: the end of the request's stage timing. */
function answered<T>(id: number, result: T): T {
  stageEnd(id);
  return result;
}

function wrap(raw: RawFuseAddon): FuseAddon {
  return {
    MNT_FORCE: raw.MNT_FORCE,
    MNT_DETACH: raw.MNT_DETACH,
    mount(mountpoint, options, handler) {
      const nums = new Float64Array(raw.SLOTS);
      const staged = Buffer.alloc(raw.MAX_WRITE);
      return raw.mount(
        mountpoint,
        options,
        (op, id, ino, name, name2) => {
          stageBegin(id, op);
          handler(request(nums, staged, op, id, ino, name, name2));
        },
        nums,
        staged,
      );
    },
    stop: (h) => raw.stop(h),
    done: (h) => raw.done(h),
    destroy: (h) => raw.destroy(h),
    pendingCount: (h) => raw.pendingCount(h),
    umount2: (p, f) => raw.umount2(p, f),
    replyErr: (id, e) => answered(id, raw.replyErr(id, e)),
    replyNone: (id) => answered(id, raw.replyNone(id)),
    replyEntry: (id, a, t) => answered(id, raw.replyEntry(id, a.ino, a.mode, a.nlink, a.uid, a.gid, a.size, a.blocks, a.mtime, t)),
    replyCreate: (id, a, t, fh) => answered(id, raw.replyCreate(id, a.ino, a.mode, a.nlink, a.uid, a.gid, a.size, a.blocks, a.mtime, t, fh)),
    replyAttr: (id, a, t) => answered(id, raw.replyAttr(id, a.ino, a.mode, a.nlink, a.uid, a.gid, a.size, a.blocks, a.mtime, t)),
    replyOpen: (id, fh, d) => answered(id, raw.replyOpen(id, fh, d)),
    replyBuf: (id, b) => answered(id, raw.replyBuf(id, b)),
    replyWrite: (id, n) => answered(id, raw.replyWrite(id, n)),
    replyReadlink: (id, b) => answered(id, raw.replyReadlink(id, b)),
    replyStatfs: (id, s) => answered(id, raw.replyStatfs(id, s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.namemax)),
    replyDir: (id, names, types, off, size) => answered(id, raw.replyDir(id, names, types, off, size)),
  };
}

const rawFuse = addonLoader<RawFuseAddon>('fuse');
let wrapped: FuseAddon | undefined;

export function fuseAddon(): FuseAddon {
  return (wrapped ??= wrap(rawFuse()));
}
