/**
 * Requests by operation and errno with their latency: FUSE requests (request →
 * reply, as pmxcfs.c's cfs_fuse_* functions return) and IPC requests (cfs-ipc-ops.h
 * operations as served by server.c's s1_msg_process_fn).
 *
 * | here        | C                                                        |
 * |-------------|----------------------------------------------------------|
 * | FUSE_OPS    | pmxcfs.c: fuse_operations (native/fuse.cc: enum Op)      |
 * | IPC_OPS     | cfs-ipc-ops.h: CFS_IPC_*                                 |
 * | meterFuse   | the reply of each cfs_fuse_* (fuse_reply_*)              |
 */
import type { FuseAddon, FuseRequest } from '../fuse/native.js';
import { errnoName } from '../memdb/errno.js';
import type { CounterTable, HistogramTable } from './table.js';

/** native/fuse.cc enum Op, by number. */
export const FUSE_OPS = ['', 'lookup', 'forget', 'getattr', 'setattr', 'readlink', 'mknod', 'mkdir', 'unlink', 'rmdir', 'rename', 'open', 'read', 'write', 'release', 'opendir', 'readdir', 'releasedir', 'statfs', 'create'] as const;

/** FUSE operations that change the tree (each waits for its cluster message). */
export const FUSE_WRITE_OPS: ReadonlySet<string> = new Set(['setattr', 'mknod', 'mkdir', 'unlink', 'rmdir', 'rename', 'write', 'create']);

/** cfs-ipc-ops.h request numbers. */
export const IPC_OPS: ReadonlyMap<number, string> = new Map([
  [1, 'get_fs_version'],
  [2, 'get_cluster_info'],
  [3, 'get_guest_list'],
  [4, 'set_status'],
  [5, 'get_status'],
  [6, 'get_config'],
  [7, 'log_cluster_msg'],
  [8, 'get_cluster_log'],
  [10, 'get_rrd_dump'],
  [11, 'get_guest_config_property'],
  [12, 'verify_token'],
  [13, 'get_guest_config_properties'],
]);

/** Latency buckets (s): a local read is ~50 µs, a replicated write ms, a stall seconds. */
export const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Counter rows by (op, errno) resolved once per pair; the key is a number. */
export class OpErrnoRows {
  private readonly rows = new Map<number, number>();
  private readonly timeRows = new Map<number, number>();
  constructor(
    private readonly counter: CounterTable,
    private readonly seconds: HistogramTable,
    private readonly opName: (op: number) => string,
  ) {}

  /** Count one request; `result` is 0/positive or −errno; `seconds` < 0: not timed. */
  count(op: number, result: number, seconds: number): void {
    const e = result < 0 ? -result : 0;
    const key = op * 65536 + (e & 0xffff);
    let row = this.rows.get(key);
    if (row === undefined) {
      row = this.counter.row(this.opName(op), errnoName(-e));
      this.rows.set(key, row);
    }
    this.counter.add(row);
    if (seconds < 0) return;
    let t = this.timeRows.get(op);
    if (t === undefined) {
      t = this.seconds.row(this.opName(op));
      this.timeRows.set(op, t);
    }
    this.seconds.record(t, seconds);
  }
}

/**
 * Requests in flight by id, in a ring: ids come from native/fuse.cc's counter, and
 * far fewer than RING requests are ever outstanding (the kernel's max_background
 * plus synchronous ones), so a slot whose id differs was already answered.
 */
const RING = 4096;

export class FuseMeter {
  private readonly ids = new Float64Array(RING);
  private readonly ops = new Uint8Array(RING);
  private readonly started = new Float64Array(RING);
  constructor(
    private readonly rows: OpErrnoRows,
    private readonly on: () => boolean,
  ) {}

  request(id: number, op: number): void {
    if (!this.on()) return;
    const slot = id % RING;
    this.ids[slot] = id;
    this.ops[slot] = op;
    this.started[slot] = performance.now();
  }

  /** errno: 0 for a successful reply, else the positive errno sent to the kernel. */
  reply(id: number, errno: number): void {
    const slot = id % RING;
    if (this.ids[slot] !== id) return;
    this.ids[slot] = 0;
    this.rows.count(this.ops[slot]!, -errno, (performance.now() - this.started[slot]!) / 1000);
  }
}

/** The addon with every request and reply seen by `meter` (one wrapper at mount). */
export function meterFuse(addon: FuseAddon, meter: FuseMeter): FuseAddon {
  const ok = (id: number): void => meter.reply(id, 0);
  return {
    ...addon,
    mount: (mountpoint, options, handler) =>
      addon.mount(mountpoint, options, (req: FuseRequest) => {
        meter.request(req.id, req.op);
        handler(req);
      }),
    replyErr: (id, errno) => (meter.reply(id, errno), addon.replyErr(id, errno)),
    replyNone: (id) => (ok(id), addon.replyNone(id)),
    replyEntry: (id, attr, timeout) => (ok(id), addon.replyEntry(id, attr, timeout)),
    replyCreate: (id, attr, timeout, fh) => (ok(id), addon.replyCreate(id, attr, timeout, fh)),
    replyAttr: (id, attr, timeout) => (ok(id), addon.replyAttr(id, attr, timeout)),
    replyOpen: (id, fh, directIo) => (ok(id), addon.replyOpen(id, fh, directIo)),
    replyBuf: (id, data) => (ok(id), addon.replyBuf(id, data)),
    replyWrite: (id, count) => (ok(id), addon.replyWrite(id, count)),
    replyReadlink: (id, target) => (ok(id), addon.replyReadlink(id, target)),
    replyStatfs: (id, st) => (ok(id), addon.replyStatfs(id, st)),
    replyDir: (id, names, types, offset, size) => (ok(id), addon.replyDir(id, names, types, offset, size)),
  };
}
