/**
 * Public types of the DFSM (C: dfsm.h) and the application interface.
 *
 * | here                 | C (dfsm.h / dfsm.c)                                   |
 * |----------------------|-------------------------------------------------------|
 * | DfsmMode             | dfsm_mode_t                                           |
 * | SyncMember           | dfsm_node_info_t (nodeid, pid, state, synced)         |
 * | SyncInfo             | dfsm_sync_info_t (nodes sorted, local, data)          |
 * | DfsmCallbacks        | dfsm_callbacks_t                                      |
 * | DeliverResult        | return value + *res_ptr of dfsm_deliver_fn_t          |
 * | DfsmApi              | the dfsm_t functions an application calls             |
 *
 * How an application (dcdb) plugs in
 * ----------------------------------
 * Construct `new Dfsm({ callbacks: (dfsm) => app })` (or pass the callbacks object and
 * keep the Dfsm reference yourself). The DFSM never looks at payloads; it calls:
 *
 * - `getState()` on SYNC_START: the bytes this member announces in its STATE
 *   (dcdb: `memdb_encode_index`). `null` or empty → the DFSM leaves (LEAVE).
 * - `processStateUpdate(sync)` once all STATEs of the round are in. `sync.members` is
 *   sorted by C's comparator and each has `state` set. The application decides the data
 *   leader, sets `synced = true` on the leader and on every member that needs no update
 *   (dcdb: byte-identical index), may keep round data in `sync.data` (then `cleanup`
 *   is called when the round's resources are released), and, if the local member is
 *   the data leader, sends the UPDATE messages with `dfsm.sendUpdate(size, write)` followed by
 *   `dfsm.sendUpdateComplete()` before returning. Return false (or `{ ok: false }`) →
 *   LEAVE. Optionally return `{ ok: true, leader }` so the status shows the leader.
 * - `processUpdate(sync, from, payload)` for each UPDATE while in UPDATE mode; false →
 *   LEAVE. (The sender is not checked, as in C.)
 * - `commit(sync)` at UPDATE_COMPLETE in UPDATE mode; false → LEAVE. On success every
 *   member is marked synced and the queues are delivered.
 * - `cleanup(sync)` whenever sync resources are released while `sync.data` is set.
 * - `checksum()` for VERIFY_REQUEST: 32 bytes, `null` → LEAVE. Without it verify
 *   messages are ignored (as in C when dfsm_checksum_fn is NULL).
 * - `deliver(msg)` for every NORMAL message in agreed order once SYNCED (queued
 *   before). Return `{ ok: true, result }`; `result` goes to the local writer if the
 *   message is this process's own (`sendMessage` resolves with it). `{ ok: false }` →
 *   LEAVE; the writer then gets `result` (default −1, C's `msg_res` initial value).
 *   To reach ERROR (dcdb: memdb->errors), call `dfsm.setErrorMode()` and return
 *   `{ ok: false, result }` — the later LEAVE request is refused because ERROR is higher.
 * - `confchg(members)` and `synced()` are optional notifications (dcdb uses neither).
 *
 * Payload buffers handed to callbacks are views into the received message; copy
 * them if you keep them beyond the call (STATE payloads in `sync.members` are copies).
 */
import type { Epoch } from '../wire/dfsm.js';
import type { MemberId } from '../cluster/transport.js';

export type { MemberId } from '../cluster/transport.js';

export const DfsmMode = {
  START: 0,
  START_SYNC: 1,
  SYNCED: 2,
  UPDATE: 3,
  LEAVE: 253,
  VERSION_ERROR: 254,
  ERROR: 255,
} as const;
export type DfsmMode = (typeof DfsmMode)[keyof typeof DfsmMode];
export type DfsmModeName = keyof typeof DfsmMode;

/** Values >= 128 are error modes (dfsm.c: DFSM_ERROR_MODE_START). */
export const ERROR_MODE_START = 128;

export function isErrorMode(mode: number): boolean {
  return mode >= ERROR_MODE_START;
}

export function modeName(mode: DfsmMode): DfsmModeName {
  for (const [k, v] of Object.entries(DfsmMode)) if (v === mode) return k as DfsmModeName;
  throw new Error(`invariant: unknown mode ${mode}`);
}

/** dcdb.h: DCDB_CPG_GROUP_NAME (the transport adds the NUL: 12 bytes on the wire). */
export const DCDB_CPG_GROUP = 'pve_dcdb_v1';
/** dcdb.h: DCDB_PROTOCOL_VERSION. */
export const DCDB_PROTOCOL_VERSION = 1;
/** dcdb.h: DCDB_VERIFY_TIME (seconds). */
export const DCDB_VERIFY_TIME = 3600;

/** One member of the current configuration (dfsm_node_info_t). */
export interface SyncMember extends MemberId {
  /** The STATE payload received in this round (a copy), or null. */
  readonly state: Buffer | null;
  /** Whether this member's data is current; set by the application (see header). */
  synced: boolean;
}

/** The round's member list (dfsm_sync_info_t). */
export interface SyncInfo {
  /** Sorted by (nodeid, pid) with C's 32-bit signed subtraction. */
  readonly members: readonly SyncMember[];
  /** The local member. */
  readonly local: SyncMember;
  /** Application round data (dcdb: master/local index, collected updates). */
  data: unknown;
}

export interface DeliveredMessage {
  readonly from: MemberId;
  /** The header subtype (dcdb message type). */
  readonly subtype: number;
  /** Sender's header time (seconds). */
  readonly time: number;
  /** The payload after the 24-byte normal header (a view). */
  readonly payload: Buffer;
  /** True iff the message was sent by this process. */
  readonly local: boolean;
}

export interface DeliverResult {
  /** false → the DFSM leaves the group (C: deliver_fn returned < 0). */
  readonly ok: boolean;
  /** Result for the local writer (C: *res_ptr); default −1. */
  readonly result?: number;
}

export interface StateUpdateResult {
  readonly ok: boolean;
  /** The data leader chosen, for status/logging only. */
  readonly leader?: MemberId;
}

export interface DfsmCallbacks {
  /**
   * true: deliver() copies what it keeps of `msg.payload` (C's contract for
   * dfsm_deliver_fn), so a NORMAL message reaches it as a view of the transport's
   * buffer, without a copy. Otherwise the engine copies a borrowed message.
   */
  readonly copiesPayload?: boolean;
  deliver(msg: DeliveredMessage): DeliverResult;
  getState(): Buffer | null;
  processStateUpdate(sync: SyncInfo): boolean | StateUpdateResult;
  processUpdate(sync: SyncInfo, from: MemberId, payload: Buffer): boolean;
  commit(sync: SyncInfo): boolean;
  cleanup?(sync: SyncInfo): void;
  checksum?(): Buffer | null;
  confchg?(members: readonly MemberId[]): void;
  synced?(): void;
}

/** Writes a payload at `offset` of `buf` and returns the offset after it. */
export type PayloadWriter = (buf: Buffer, offset: number) => number;

/** What an application may call on the DFSM (the dfsm_t functions dcdb uses). */
export interface DfsmApi {
  /** Own (nodeid, pid). */
  readonly local: MemberId;
  /**
   * dfsm_send_update: an UPDATE with the current sync epoch. true iff sent. The payload
   * of `size` bytes is written by `write(buf, offset)` straight into the message (which
   * returns the offset after it): one buffer per message of a full copy.
   */
  sendUpdate(size: number, write: PayloadWriter): boolean;
  /** dfsm_send_update_complete. true iff sent. */
  sendUpdateComplete(): boolean;
  /** dcdb_send_fuse_message + dfsm_send_message_sync: resolves with the result. */
  sendMessage(subtype: number, payload: readonly Buffer[]): Promise<number>;
  /** dcdb_send_unlock + dfsm_send_message (no wait). false if not quorate or failed. */
  sendMessageNoWait(subtype: number, payload: readonly Buffer[]): boolean;
  /** dfsm_lowest_nodeid. */
  isLowestNodeid(): boolean;
  /** dfsm_nodeid_is_local. */
  isLocal(m: MemberId): boolean;
  /** dfsm_set_errormode. */
  setErrorMode(): void;
  isQuorate(): boolean;
}

export type VerifyOutcome = 'ok' | 'mismatch' | 'skipped';

export interface DfsmStatus {
  readonly mode: DfsmMode;
  readonly modeName: DfsmModeName;
  readonly nodeid: number;
  readonly pid: number;
  readonly joined: boolean;
  readonly weAreMember: boolean;
  readonly epoch: Epoch;
  readonly localEpochCounter: number;
  readonly lowestNodeid: number;
  readonly members: readonly { nodeid: number; pid: number; synced: boolean; hasState: boolean }[];
  readonly msgQueue: number;
  readonly syncQueue: number;
  readonly waitingWriters: number;
  readonly msgcount: bigint;
  readonly msgcountRcvd: bigint;
  readonly lastLeader: MemberId | null;
  readonly lastVerify: { readonly time: number; readonly result: VerifyOutcome } | null;
  readonly csumCounter: bigint;
  readonly csumId: bigint;
}

/** The project's logging surface (pino-compatible), shared with every module. */
export type { Log as Logger } from '../util/log.js';
export { silentLog as nullLogger } from '../util/log.js';
