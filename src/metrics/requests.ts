/**
 * Requests by operation and errno with their latency: FUSE requests (request →
 * reply, as pmxcfs.c's cfs_fuse_* functions return) and IPC requests (cfs-ipc-ops.h
 * operations as served by server.c's s1_msg_process_fn).
 *
 * | here        | C                                                        |
 * |-------------|----------------------------------------------------------|
 * | FUSE_OPS    | pmxcfs.c: fuse_operations (native/fuse.cc: enum Op)      |
 * | IPC_OPS     | cfs-ipc-ops.h: CFS_IPC_*                                 |
 * | FuseMeter   | the reply of each cfs_fuse_* (fuse_reply_*), via src/fuse/metered.ts |
 */
import { constants } from 'node:os';
import type { CounterTable, HistogramTable } from './table.js';

/** native/fuse.cc enum Op, by number (0: not an op). */
export const FUSE_OPS = ['unknown', 'lookup', 'forget', 'getattr', 'setattr', 'readlink', 'mknod', 'mkdir', 'unlink', 'rmdir', 'rename', 'open', 'read', 'write', 'opendir', 'readdir', 'releasedir', 'statfs', 'create'] as const;

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

/** "ENOENT" for 2, "OK" for 0 (this folder imports nothing of the daemon's, so no memdb/errno). */
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoLabel = (e: number): string => (e === 0 ? 'OK' : (ERRNO_NAMES.get(e) ?? `E${e}`));

/** errno values above this share one row (ours are < 134 on Linux). */
const MAX_ERRNO = 255;

/**
 * Counter rows by (op, errno) and histogram rows by op, resolved on first use into
 * flat arrays. `names[op]` labels an op; an op outside the table (a hostile IPC
 * client can send any number) counts as names[0] = "unknown", so rows stay bounded.
 */
export class OpErrnoRows {
  private readonly rows: Int32Array;
  private readonly timeRows: Int32Array;
  constructor(
    private readonly counter: CounterTable,
    private readonly seconds: HistogramTable,
    private readonly names: readonly string[],
  ) {
    this.rows = new Int32Array(names.length * (MAX_ERRNO + 1)).fill(-1);
    this.timeRows = new Int32Array(names.length).fill(-1);
  }

  /** Count one request; `result` is 0/positive or −errno; `seconds` < 0: not timed. */
  count(op: number, result: number, seconds: number): void {
    const o = op > 0 && op < this.names.length && this.names[op] !== '' ? op : 0;
    const e = result < 0 ? Math.min(-result, MAX_ERRNO) : 0;
    const k = o * (MAX_ERRNO + 1) + e;
    if (this.rows[k]! < 0) this.rows[k] = this.counter.row(this.names[o]!, errnoLabel(e));
    this.counter.add(this.rows[k]!);
    if (seconds < 0) return;
    if (this.timeRows[o]! < 0) this.timeRows[o] = this.seconds.row(this.names[o]!);
    this.seconds.record(this.timeRows[o]!, seconds);
  }
}

/** A sparse op table (number → name) as the array OpErrnoRows takes. */
export function opNames(ops: ReadonlyMap<number, string>): string[] {
  const names = new Array<string>(Math.max(...ops.keys()) + 1).fill('');
  names[0] = 'unknown';
  for (const [n, name] of ops) names[n] = name;
  return names;
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
