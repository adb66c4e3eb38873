/**
 * Metrics of one DFSM group (label group="dcdb" or "status"). Counters are bumped by
 * one-line calls at the points where dfsm.c's callbacks run; gauges (mode, epoch,
 * members, queues) are read from the group's status snapshot when scraped.
 *
 * | call            | C (dfsm.c)                                                |
 * |-----------------|-----------------------------------------------------------|
 * | sent            | dfsm_send_message_full, after cpg_mcast_joined succeeded  |
 * | received        | dfsm_cpg_deliver_callback, on entry (queued ones once)    |
 * | confchg         | dfsm_cpg_confchg_callback, on entry                       |
 * | mode            | dfsm_set_mode (sync rounds, leaves, mode changes)         |
 * | verify          | the VERIFY branch of dfsm_cpg_deliver_callback            |
 */
import { type Epoch, peekMessageType } from '../wire/dfsm.js';
import type { CounterTable, HistogramTable } from './table.js';

/** DFSM message type → label (wire: DfsmMessageType); anything else is "unknown". */
export const MESSAGE_TYPES = ['normal', 'sync_start', 'state', 'update', 'update_complete', 'verify_request', 'verify'] as const;
const UNKNOWN_TYPE = MESSAGE_TYPES.length;

/** dfsm modes (dfsm.c: cfs_dfsm_mode_t) by number. */
export const MODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'START'],
  [1, 'START_SYNC'],
  [2, 'SYNCED'],
  [3, 'UPDATE'],
  [253, 'LEAVE'],
  [254, 'VERSION_ERROR'],
  [255, 'ERROR'],
]);
const START = 0;
const START_SYNC = 1;
const SYNCED = 2;
const LEAVE = 253;
const ERROR_MODE_START = 128;

export type VerifyResult = 'ok' | 'mismatch' | 'skipped';

/** What a group's status() gives (DfsmStatus has more; only these are read). */
export interface DfsmSnapshot {
  readonly mode: number;
  readonly epoch: Epoch;
  readonly members: readonly { readonly synced: boolean }[];
  readonly msgQueue: number;
  readonly syncQueue: number;
  readonly waitingWriters: number;
  readonly lastVerify: { readonly time: number; readonly result: string } | null;
}

export interface DfsmFamilies {
  readonly messages: CounterTable;
  readonly bytes: CounterTable;
  readonly rounds: CounterTable;
  readonly roundSeconds: HistogramTable;
  readonly leaves: CounterTable;
  readonly modeChanges: CounterTable;
  readonly verifies: CounterTable;
}

const LEAVE_REASONS = ['membership', ...MESSAGE_TYPES, 'unknown', 'internal'] as const;

export class DfsmGroupMetrics {
  private readonly msgRows: Int32Array;
  private readonly byteRows: Int32Array;
  private readonly leaveRows: Int32Array;
  private readonly modeRows = new Map<number, number>();
  private readonly roundRows: { ok: number; failed: number; interrupted: number };
  private readonly roundSecondsRow: number;
  private readonly verifyRows: Record<VerifyResult, number>;
  /** Index into LEAVE_REASONS: what the group handled last (the cause of a leave). */
  private trigger = LEAVE_REASONS.indexOf('internal');
  private roundStart = -1;
  snapshot: (() => DfsmSnapshot | null) | null = null;

  constructor(
    readonly group: string,
    private readonly f: DfsmFamilies,
    private readonly on: () => boolean,
  ) {
    const types = [...MESSAGE_TYPES, 'unknown'];
    this.msgRows = Int32Array.from(['in', 'out'].flatMap((d) => types.map((t) => f.messages.row(group, d, t))));
    this.byteRows = Int32Array.from(['in', 'out'].flatMap((d) => types.map((t) => f.bytes.row(group, d, t))));
    this.leaveRows = Int32Array.from(LEAVE_REASONS.map((r) => f.leaves.row(group, r)));
    for (const [n, name] of MODE_NAMES) this.modeRows.set(n, f.modeChanges.row(group, name));
    this.roundRows = { ok: f.rounds.row(group, 'ok'), failed: f.rounds.row(group, 'failed'), interrupted: f.rounds.row(group, 'interrupted') };
    this.roundSecondsRow = f.roundSeconds.row(group);
    this.verifyRows = { ok: f.verifies.row(group, 'ok'), mismatch: f.verifies.row(group, 'mismatch'), skipped: f.verifies.row(group, 'skipped') };
  }

  /** One message of DFSM type `type` (−1: too short) and `bytes` bytes, header included. */
  message(dir: 'in' | 'out', type: number, bytes: number): void {
    if (!this.on()) return;
    const t = type >= 0 && type < UNKNOWN_TYPE ? type : UNKNOWN_TYPE;
    const i = (dir === 'in' ? 0 : UNKNOWN_TYPE + 1) + t;
    this.f.messages.add(this.msgRows[i]!);
    this.f.bytes.add(this.byteRows[i]!, bytes);
    if (dir === 'in') this.trigger = 1 + t;
  }

  /** A delivered message, as the transport handed it over. */
  received(msg: Buffer): void {
    this.message('in', peekMessageType(msg), msg.length);
  }

  /** A multicast that corosync accepted: header buffer first. */
  sent(buffers: readonly Buffer[]): void {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    this.message('out', buffers.length > 0 ? peekMessageType(buffers[0]!) : -1, bytes);
  }

  /** A membership change arrives; a sync round still running is cut short by it. */
  confchg(): void {
    if (!this.on()) return;
    this.trigger = 0;
    if (this.roundStart >= 0) {
      this.f.rounds.add(this.roundRows.interrupted);
      this.roundStart = performance.now();
    }
  }

  /** Every mode change (dfsm_set_mode after the transition was accepted). */
  mode(to: number): void {
    if (!this.on()) return;
    const row = this.modeRows.get(to);
    if (row !== undefined) this.f.modeChanges.add(row);
    if (to === START_SYNC) this.roundStart = performance.now();
    else if (to === SYNCED && this.roundStart >= 0) this.endRound(this.roundRows.ok);
    else if (to >= ERROR_MODE_START && this.roundStart >= 0) this.endRound(this.roundRows.failed);
    else if (to === START) this.roundStart = -1; // restarted (dfsm_initialize)
    if (to === LEAVE) this.f.leaves.add(this.leaveRows[this.trigger]!);
  }

  private endRound(row: number): void {
    this.f.rounds.add(row);
    this.f.roundSeconds.record(this.roundSecondsRow, (performance.now() - this.roundStart) / 1000);
    this.roundStart = -1;
  }

  /** The result of one verify round on this node. */
  verify(result: VerifyResult): void {
    if (this.on()) this.f.verifies.add(this.verifyRows[result]);
  }
}
