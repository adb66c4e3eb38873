/**
 * The distributed finite state machine (dfsm.md), wrapping the xstate mode actor.
 *
 * | here                         | C (dfsm.c)                                       |
 * |------------------------------|--------------------------------------------------|
 * | Dfsm (fields)                | struct dfsm                                      |
 * | attach / initialize          | dfsm_initialize (handle kept across restarts)    |
 * | join / leave / finalize      | dfsm_join / dfsm_leave / dfsm_finalize           |
 * | restartable                  | dfsm_restartable                                 |
 * | confchg                      | dfsm_cpg_confchg_callback                        |
 * | deliver / deliverMessage     | dfsm_cpg_deliver_callback                        |
 * | queueAdd                     | dfsm_queue_add_message                           |
 * | deliverQueue                 | dfsm_deliver_queue                               |
 * | deliverSyncQueue             | dfsm_deliver_sync_queue                          |
 * | resendQueue                  | dfsm_resend_queue                                |
 * | releaseSyncResources         | dfsm_release_sync_resources                      |
 * | setMode / setErrorMode       | dfsm_set_mode / dfsm_set_errormode               |
 * | sendState / sendUpdate(...)  | dfsm_send_state_message_full, dfsm_send_update(_complete) |
 * | sendMessage                  | dcdb_send_fuse_message + dfsm_send_message_sync  |
 * | sendMessageNoWait            | dcdb_send_unlock + dfsm_send_message             |
 * | recordLocalResult / abort    | dfsm_record_local_result / dfsm_send_sync_message_abort |
 * | verifyRequest                | dfsm_verify_request                              |
 * | isLowestNodeid / isLocal     | dfsm_lowest_nodeid / dfsm_nodeid_is_local        |
 *
 * Single-threaded: C's FUSE threads block in dfsm_send_message_sync; here the send is
 * synchronous (count assignment and multicast are one step, so per-sender count order
 * holds) and the wait is a Promise resolved when the own message comes back.
 */
import { strict as assert } from 'node:assert';
import { CsError, type ConfChange, type MemberId, type Transport } from '../cluster/transport.js';
import {
  BASE_HEADER_SIZE,
  DfsmMessageType,
  type Epoch,
  NORMAL_HEADER_SIZE,
  STATE_HEADER_SIZE,
  decodeBaseHeader,
  decodeEpoch,
  encodeNormalHeader,
  encodeStateHeader,
  encodeVerify,
  epochEquals,
} from '../wire/dfsm.js';
import { type Clock, nowSeconds, systemClock } from './clock.js';
import { actorMode, createModeActor, type DfsmModeActor } from './machine.js';
import { type DfsmGroupMetrics, metrics } from '../metrics/metrics.js';
import { insertByCount, lowestNodeid, memberKey, sortMembers } from './members.js';
import {
  DCDB_CPG_GROUP,
  DCDB_PROTOCOL_VERSION,
  type DeliverResult,
  type DfsmApi,
  type DfsmCallbacks,
  DfsmMode,
  type DfsmStatus,
  isErrorMode,
  type Logger,
  modeName,
  nullLogger,
  type StateUpdateResult,
  type SyncInfo,
  type SyncMember,
  type VerifyOutcome,
} from './types.js';

/** errno values handed to writers (Linux). */
export const EACCES = 13;
export const EBUSY = 16;

/**
 * Queue bounds. C's queues are unbounded; messages pile up only while a sync round
 * is running, and a round that does not finish within these bounds is stuck: leaving
 * and resyncing (what C does on any queue failure) is the recovery.
 */
export const MAX_QUEUED_MESSAGES = 1_000_000;
export const MAX_QUEUED_BYTES = 2 * 1024 * 1024 * 1024;
/** Waiting writers are bounded by the caller (FUSE threads in C); this catches leaks. */
export const MAX_WAITING_WRITERS = 100_000;

const ZERO_EPOCH: Epoch = { epoch: 0, time: 0, nodeid: 0, pid: 0 };

interface QueuedMessage {
  readonly nodeid: number;
  readonly pid: number;
  readonly count: bigint;
  /** The whole message, header included (a copy). */
  readonly msg: Buffer;
}

interface WriterSlot {
  readonly count: bigint;
  result: number;
  processed: boolean;
  readonly resolve: (result: number) => void;
}

class Member implements SyncMember {
  state: Buffer | null = null;
  synced = false;
  constructor(
    readonly nodeid: number,
    readonly pid: number,
  ) {}
}

class Round implements SyncInfo {
  data: unknown = undefined;
  constructor(
    readonly members: readonly Member[],
    readonly localOrNull: Member | null,
  ) {}
  get local(): Member {
    assert(this.localOrNull !== null, 'invariant: sync info without local member');
    return this.localOrNull;
  }
}

export interface DfsmOptions {
  readonly callbacks: DfsmCallbacks | ((dfsm: Dfsm) => DfsmCallbacks);
  /** CPG group; default pve_dcdb_v1. */
  readonly groupName?: string;
  /** Own protocol version; default 1. */
  readonly protocolVersion?: number;
  readonly clock?: Clock;
  /** Quorum (C: cfs_is_quorate); default always quorate. */
  readonly isQuorate?: () => boolean;
  readonly logger?: Logger;
}

export class Dfsm implements DfsmApi {
  readonly groupName: string;
  readonly protocolVersion: number;
  private readonly cb: DfsmCallbacks;
  private readonly clock: Clock;
  private readonly quorate: () => boolean;
  private readonly log: Logger;
  private readonly actor: DfsmModeActor;
  private readonly metrics: DfsmGroupMetrics;

  private transport: Transport | null = null;
  private nodeid = 0;
  private pid = 0;
  private weAreMemberFlag = false;
  private joinedFlag = false;

  private localEpochCounter = 0;
  private syncEpoch: Epoch = ZERO_EPOCH;
  private lowest = 0;
  private round: Round | null = null;
  private members = new Map<string, Member>();
  private msgQueue: QueuedMessage[] = [];
  private syncQueue: QueuedMessage[] = [];
  private queuedBytes = 0;

  private msgcount = 0n;
  private msgcountRcvd = 0n;
  private readonly results = new Map<bigint, WriterSlot>();

  private csum: Buffer = Buffer.alloc(32);
  private csumEpoch: Epoch = ZERO_EPOCH;
  private csumId = 0n;
  private csumCounter = 0n;

  private lastLeader: MemberId | null = null;
  private lastVerify: { time: number; result: VerifyOutcome } | null = null;

  constructor(opts: DfsmOptions) {
    this.groupName = opts.groupName ?? DCDB_CPG_GROUP;
    this.protocolVersion = opts.protocolVersion ?? DCDB_PROTOCOL_VERSION;
    this.clock = opts.clock ?? systemClock;
    this.quorate = opts.isQuorate ?? (() => true);
    this.log = opts.logger ?? nullLogger;
    this.actor = createModeActor();
    this.metrics = metrics.dfsm(this.groupName);
    this.metrics.snapshot = () => this.status();
    this.cb = typeof opts.callbacks === 'function' ? opts.callbacks(this) : opts.callbacks;
  }

  // ---- identity and state -----------------------------------------------------------

  get local(): MemberId {
    return { nodeid: this.nodeid, pid: this.pid };
  }
  get mode(): DfsmMode {
    return actorMode(this.actor);
  }
  get joined(): boolean {
    return this.joinedFlag;
  }
  get weAreMember(): boolean {
    return this.weAreMemberFlag;
  }
  get hasTransport(): boolean {
    return this.transport !== null;
  }
  /** dfsm_restartable: not ERROR and not VERSION_ERROR. */
  restartable(): boolean {
    const m = this.mode;
    return m !== DfsmMode.ERROR && m !== DfsmMode.VERSION_ERROR;
  }
  isLowestNodeid(): boolean {
    return this.lowest !== 0 && this.lowest === this.nodeid;
  }
  isLocal(m: MemberId): boolean {
    return m.nodeid === this.nodeid && m.pid === this.pid;
  }
  isQuorate(): boolean {
    return this.quorate();
  }
  setErrorMode(): void {
    this.setMode(DfsmMode.ERROR);
  }

  status(): DfsmStatus {
    const mode = this.mode;
    return {
      mode,
      modeName: modeName(mode),
      nodeid: this.nodeid,
      pid: this.pid,
      joined: this.joinedFlag,
      weAreMember: this.weAreMemberFlag,
      epoch: this.syncEpoch,
      localEpochCounter: this.localEpochCounter,
      lowestNodeid: this.lowest,
      members: (this.round?.members ?? []).map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced, hasState: m.state !== null })),
      msgQueue: this.msgQueue.length,
      syncQueue: this.syncQueue.length,
      waitingWriters: this.results.size,
      msgcount: this.msgcount,
      msgcountRcvd: this.msgcountRcvd,
      lastLeader: this.lastLeader,
      lastVerify: this.lastVerify,
      csumCounter: this.csumCounter,
      csumId: this.csumId,
    };
  }

  // ---- lifecycle (driven by service.ts) ---------------------------------------------

  /** Give the DFSM its CPG connection; identity comes from it (cpg_local_get, getpid). */
  attach(transport: Transport): void {
    assert(this.transport === null, 'invariant: a transport is already attached');
    this.transport = transport;
    this.nodeid = transport.local.nodeid >>> 0;
    this.pid = transport.local.pid >>> 0;
  }

  /** dfsm_initialize: drop msg_queue, release writers, mode START. */
  initialize(): void {
    this.dropMsgQueue();
    this.abortWriters();
    this.joinedFlag = false;
    this.weAreMemberFlag = false;
    this.setMode(DfsmMode.START);
  }

  join(): number {
    assert(this.transport !== null, 'join without transport');
    assert(!this.joinedFlag, 'join while joined');
    const r = this.transport.join(this.groupName);
    if (r !== CsError.OK) {
      this.log.error({ code: r }, 'cpg_join failed');
      return r;
    }
    this.joinedFlag = true;
    return CsError.OK;
  }

  leave(): number {
    if (this.transport === null || !this.joinedFlag) return CsError.NOT_EXIST;
    const r = this.transport.leave();
    if (r !== CsError.OK) {
      this.log.error({ code: r }, 'cpg_leave failed');
      return r;
    }
    this.joinedFlag = false;
    return CsError.OK;
  }

  /** dfsm_finalize: release writers, leave if joined, close the connection. */
  finalize(): void {
    this.abortWriters();
    if (this.joinedFlag) this.leave();
    if (this.transport !== null) {
      this.transport.close();
      this.transport = null;
    }
    this.joinedFlag = false;
    this.weAreMemberFlag = false;
  }

  // ---- mode ---------------------------------------------------------------------------

  private setMode(to: DfsmMode): void {
    const from = this.mode;
    if (from === to) return;
    this.actor.send({ type: modeName(to) });
    if (this.mode !== to) return; // refused by the transition rule
    this.metrics.mode(to);
    const ctx = { from: modeName(from), to: modeName(to), nodeid: this.nodeid, pid: this.pid };
    switch (to) {
      case DfsmMode.START:
        this.log.info(ctx, 'start cluster connection');
        break;
      case DfsmMode.START_SYNC:
        this.log.info(ctx, 'starting data syncronisation');
        break;
      case DfsmMode.SYNCED:
        this.log.info(ctx, 'all data is up to date');
        this.call(() => this.cb.synced?.(), undefined);
        break;
      case DfsmMode.UPDATE:
        this.log.info(ctx, 'waiting for updates from leader');
        break;
      case DfsmMode.LEAVE:
        this.log.error(ctx, 'leaving CPG group');
        break;
      case DfsmMode.ERROR:
        this.log.error(ctx, 'serious internal error - stop cluster connection');
        break;
      case DfsmMode.VERSION_ERROR:
        this.log.error(ctx, 'detected newer protocol - please update this node');
        break;
    }
  }

  /** Run an application callback; an exception is logged and counts as failure. */
  private call<T>(fn: () => T, onThrow: T): T {
    try {
      return fn();
    } catch (err) {
      this.log.error({ err }, 'application callback threw');
      return onThrow;
    }
  }

  // ---- sending --------------------------------------------------------------------------

  private sendRaw(buffers: readonly Buffer[]): number {
    if (this.transport === null) return CsError.BAD_HANDLE;
    const r = this.transport.send(buffers);
    if (r !== CsError.OK) this.log.error({ code: r }, 'cpg_send_message failed');
    else this.metrics.sent(buffers);
    return r;
  }

  private sendState(type: DfsmMessageType, payload: readonly Buffer[]): number {
    assert(type >= DfsmMessageType.SYNC_START && type <= DfsmMessageType.VERIFY, 'not a state message type');
    const header = encodeStateHeader(type, this.protocolVersion, nowSeconds(this.clock), this.syncEpoch);
    return this.sendRaw([header, ...payload]);
  }

  sendUpdate(payload: readonly Buffer[]): boolean {
    return this.sendState(DfsmMessageType.UPDATE, payload) === CsError.OK;
  }

  sendUpdateComplete(): boolean {
    return this.sendState(DfsmMessageType.UPDATE_COMPLETE, []) === CsError.OK;
  }

  /** Assign the next count and multicast a NORMAL message (the sync-mutex section). */
  private sendNormal(subtype: number, payload: readonly Buffer[], slot: ((count: bigint) => WriterSlot) | null): number {
    assert(Number.isInteger(subtype) && subtype >= 0 && subtype <= 0xffff, 'subtype is u16');
    this.msgcount += 1n;
    const count = this.msgcount;
    if (slot) this.results.set(count, slot(count));
    const header = encodeNormalHeader(subtype, this.protocolVersion, nowSeconds(this.clock), count);
    const r = this.sendRaw([header, ...payload]);
    if (r !== CsError.OK && slot) this.results.delete(count);
    return r;
  }

  /**
   * Send a NORMAL message and wait until it is delivered back; resolves with the
   * application's result (dfsm.md §11.2): −EACCES if not quorate (nothing sent),
   * −EBUSY if the multicast failed or the wait was aborted by initialize/finalize.
   */
  sendMessage(subtype: number, payload: readonly Buffer[]): Promise<number> {
    if (!this.quorate()) return Promise.resolve(-EACCES);
    if (this.results.size >= MAX_WAITING_WRITERS) return Promise.resolve(-EBUSY);
    let resolve!: (r: number) => void;
    const done = new Promise<number>((res) => (resolve = res));
    const r = this.sendNormal(subtype, payload, (count) => ({ count, result: -EBUSY, processed: false, resolve }));
    if (r !== CsError.OK) return Promise.resolve(-EBUSY);
    return done;
  }

  /** Send without waiting (unlock messages). Skipped when not quorate. */
  sendMessageNoWait(subtype: number, payload: readonly Buffer[]): boolean {
    if (!this.quorate()) return false;
    return this.sendNormal(subtype, payload, null) === CsError.OK;
  }

  private recordLocalResult(count: bigint, result: number, processed: boolean): void {
    const slot = this.results.get(count);
    if (slot) {
      slot.result = result;
      slot.processed = processed;
    }
    this.msgcountRcvd = count;
    this.wakeWriters();
  }

  private abortWriters(): void {
    this.msgcountRcvd = this.msgcount;
    this.wakeWriters();
  }

  /** C's waiters loop on `msgcount_rcvd < count`; release every slot that passes. */
  private wakeWriters(): void {
    for (const [count, slot] of this.results) {
      if (this.msgcountRcvd >= count) {
        this.results.delete(count);
        slot.resolve(slot.result);
      }
    }
  }

  /** dfsm_verify_request (the service's hourly timer). */
  verifyRequest(): number {
    if (!this.isLowestNodeid()) return CsError.OK;
    if (this.mode !== DfsmMode.SYNCED) return CsError.OK;
    if (this.csumCounter !== this.csumId) {
      this.log.info({ next: (this.csumCounter + 1n).toString() }, 'delay verify request');
      return CsError.OK;
    }
    this.csumCounter += 1n;
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(this.csumCounter, 0);
    const r = this.sendState(DfsmMessageType.VERIFY_REQUEST, [id]);
    if (r !== CsError.OK) this.log.error({ code: r }, 'failed to send VERIFY_REQUEST message');
    return r;
  }

  // ---- queues -------------------------------------------------------------------------

  private dropMsgQueue(): void {
    for (const qm of this.msgQueue) this.queuedBytes -= qm.msg.length;
    this.msgQueue = [];
  }

  private dropSyncQueue(): void {
    for (const qm of this.syncQueue) this.queuedBytes -= qm.msg.length;
    this.syncQueue = [];
  }

  private queueAdd(from: MemberId, count: bigint, msg: Buffer): boolean {
    const ni = this.members.get(memberKey(from));
    if (!ni) {
      this.log.error({ from: memberKey(from) }, 'dfsm_node_info_lookup failed');
      return false;
    }
    if (this.msgQueue.length + this.syncQueue.length >= MAX_QUEUED_MESSAGES || this.queuedBytes + msg.length > MAX_QUEUED_BYTES) {
      this.log.error({ messages: this.msgQueue.length + this.syncQueue.length, bytes: this.queuedBytes }, 'message queue limit reached');
      return false;
    }
    const qm: QueuedMessage = { nodeid: from.nodeid >>> 0, pid: from.pid >>> 0, count, msg: Buffer.from(msg) };
    this.queuedBytes += qm.msg.length;
    if (this.mode === DfsmMode.UPDATE && ni.synced) this.syncQueue.push(qm);
    else insertByCount(this.msgQueue, qm);
    return true;
  }

  private deliverQueue(): boolean {
    if (this.msgQueue.length === 0) return true;
    this.log.debug({ length: this.msgQueue.length }, 'dfsm_deliver_queue');
    let i = 0;
    while (i < this.msgQueue.length) {
      const qm = this.msgQueue[i] as QueuedMessage;
      const ni = this.members.get(memberKey(qm));
      if (!ni) {
        this.log.info({ from: memberKey(qm) }, 'remove message from non-member');
        this.msgQueue.splice(i, 1);
        this.queuedBytes -= qm.msg.length;
        continue;
      }
      const mode = this.mode;
      if (mode === DfsmMode.SYNCED) {
        if (ni.synced) {
          this.msgQueue.splice(i, 1);
          this.queuedBytes -= qm.msg.length;
          this.deliverMessage({ nodeid: qm.nodeid, pid: qm.pid }, qm.msg);
        } else {
          i++;
        }
      } else if (mode === DfsmMode.UPDATE) {
        if (ni.synced) {
          this.msgQueue.splice(i, 1);
          this.syncQueue.push(qm);
        } else {
          i++;
        }
      } else {
        return false;
      }
    }
    return true;
  }

  private deliverSyncQueue(): boolean {
    if (this.syncQueue.length === 0) return true;
    this.log.debug({ length: this.syncQueue.length }, 'dfsm_deliver_sync_queue');
    const q = this.syncQueue;
    this.syncQueue = [];
    let res = true;
    for (const qm of q) {
      this.queuedBytes -= qm.msg.length;
      if (res && this.mode === DfsmMode.SYNCED) this.deliverMessage({ nodeid: qm.nodeid, pid: qm.pid }, qm.msg);
      else res = false;
    }
    return res;
  }

  private resendQueue(): boolean {
    let res = true;
    for (const qm of this.msgQueue) {
      if (this.isLocal(qm)) {
        if (this.sendRaw([qm.msg]) !== CsError.OK) {
          res = false;
          break;
        }
      }
    }
    this.dropMsgQueue();
    return res;
  }

  /** dfsm_release_sync_resources; with a member list: rebuild the sorted list. */
  private releaseSyncResources(memberList: readonly MemberId[] | null): void {
    const round = this.round;
    if (round) {
      if (round.data !== undefined && this.cb.cleanup) {
        this.call(() => this.cb.cleanup?.(round), undefined);
        round.data = undefined;
      }
      for (const m of round.members) m.state = null;
    }
    if (memberList) {
      const sorted = sortMembers(memberList.map((m) => new Member(m.nodeid >>> 0, m.pid >>> 0)));
      this.members = new Map();
      let local: Member | null = null;
      for (const m of sorted) {
        this.members.set(memberKey(m), m);
        if (this.isLocal(m)) local = m;
      }
      this.round = new Round(sorted, local);
    }
  }

  // ---- transport events ---------------------------------------------------------------

  /** dfsm_cpg_confchg_callback. */
  confchg(change: ConfChange): void {
    this.metrics.confchg();
    this.weAreMemberFlag = false;
    this.localEpochCounter = (this.localEpochCounter + 1) >>> 0;
    this.syncEpoch = { epoch: this.localEpochCounter, time: nowSeconds(this.clock) >>> 0, nodeid: this.nodeid, pid: this.pid };
    this.csumId = this.csumCounter;
    this.csumEpoch = ZERO_EPOCH;
    this.dropSyncQueue();

    const mode = this.mode;
    if (isErrorMode(mode)) return;

    this.lowest = lowestNodeid(change.members);
    this.weAreMemberFlag = change.members.some((m) => this.isLocal(m));
    if (this.weAreMemberFlag || mode !== DfsmMode.START) {
      this.log.info({ members: change.members.map(memberKey), lowest: this.lowest, epoch: this.localEpochCounter }, 'members');
    }

    this.releaseSyncResources(change.members);

    if (!this.weAreMemberFlag) {
      if (mode === DfsmMode.START) return; // ignore leave message
      this.log.info({ nodeid: this.nodeid, pid: this.pid }, 'we left the process group');
      this.setMode(DfsmMode.LEAVE);
      return;
    }

    const round = this.round;
    assert(round !== null && round.localOrNull !== null, 'invariant: member without local entry');

    if (change.members.length > 1) {
      if (change.joined.length > 0 && this.msgQueue.length > 0) {
        this.log.info({ length: this.msgQueue.length }, 'queue not empty - resending messages');
        if (!this.resendQueue()) {
          this.log.error({}, 'dfsm_resend_queue failed');
          this.setMode(DfsmMode.LEAVE);
          return;
        }
      }
      this.setMode(DfsmMode.START_SYNC);
      if (this.lowest === this.nodeid) {
        if (this.sendState(DfsmMessageType.SYNC_START, []) !== CsError.OK) {
          this.log.error({}, 'failed to send SYNC_START message');
          this.setMode(DfsmMode.LEAVE);
          return;
        }
      }
    } else {
      this.setMode(DfsmMode.SYNCED);
      round.local.synced = true;
      if (!this.deliverQueue()) {
        this.setMode(DfsmMode.LEAVE);
        return;
      }
    }

    const cb = this.cb.confchg;
    if (cb) this.call(() => cb.call(this.cb, change.members.map((m) => ({ nodeid: m.nodeid, pid: m.pid }))), undefined);
  }

  /** dfsm_cpg_deliver_callback, entry from the transport. */
  deliver(from: MemberId, msg: Buffer): void {
    this.metrics.received(msg);
    this.deliverMessage({ nodeid: from.nodeid >>> 0, pid: from.pid >>> 0 }, msg);
  }

  /** The "goto leave" epilogue of dfsm_cpg_deliver_callback. */
  private leaveAndRelease(): void {
    this.setMode(DfsmMode.LEAVE);
    this.releaseSyncResources(null);
  }

  private deliverMessage(from: MemberId, msg: Buffer): void {
    const mode = this.mode;
    if (isErrorMode(mode)) return this.leaveAndRelease();
    if (this.round === null) {
      this.log.error({}, 'no dfsm_sync_info - internal error');
      return this.leaveAndRelease();
    }
    const baseDecoded = decodeBaseHeader(msg);
    if (!baseDecoded.ok || msg.length < BASE_HEADER_SIZE) {
      this.log.error({ length: msg.length }, 'received short message');
      return this.leaveAndRelease();
    }
    const base = baseDecoded.value;
    if (base.protocolVersion > this.protocolVersion) {
      this.log.error({ version: base.protocolVersion }, 'received message with protocol version');
      this.setMode(DfsmMode.VERSION_ERROR);
      return;
    }
    if (base.protocolVersion < this.protocolVersion) {
      this.log.info({ version: base.protocolVersion }, 'ignore message with wrong protocol version');
      return;
    }

    if (base.type === DfsmMessageType.NORMAL) {
      if (msg.length < NORMAL_HEADER_SIZE) {
        this.log.error({ subtype: base.subtype, length: msg.length }, 'received short message');
        return this.leaveAndRelease();
      }
      const count = msg.readBigUInt64LE(BASE_HEADER_SIZE);
      if (mode !== DfsmMode.SYNCED) {
        if (!this.queueAdd(from, count, msg)) return this.leaveAndRelease();
        return;
      }
      const local = this.isLocal(from);
      const payload = msg.subarray(NORMAL_HEADER_SIZE);
      const res: DeliverResult = this.call(
        () => this.cb.deliver({ from, subtype: base.subtype, time: base.time, payload, local }),
        { ok: false },
      );
      if (local) this.recordLocalResult(count, res.result ?? -1, true);
      if (!res.ok) return this.leaveAndRelease();
      return;
    }

    if (msg.length < STATE_HEADER_SIZE) {
      this.log.error({ type: base.type, length: msg.length }, 'received short state message');
      return this.leaveAndRelease();
    }
    const epoch = decodeEpoch(msg, BASE_HEADER_SIZE);
    if (base.type !== DfsmMessageType.SYNC_START && !epochEquals(epoch, this.syncEpoch)) {
      this.log.debug({ type: base.type, epoch }, 'ignore message with wrong epoch');
      return;
    }
    const payload = msg.subarray(STATE_HEADER_SIZE);
    const round = this.round;

    if (mode === DfsmMode.SYNCED) {
      switch (base.type) {
        case DfsmMessageType.UPDATE_COMPLETE:
          for (const m of round.members) m.synced = true;
          this.lastLeader = { nodeid: from.nodeid, pid: from.pid };
          if (!this.deliverQueue()) return this.leaveAndRelease();
          return;
        case DfsmMessageType.VERIFY_REQUEST:
          return this.onVerifyRequest(from, epoch, payload);
        case DfsmMessageType.VERIFY:
          return this.onVerify(epoch, payload);
        default:
          this.log.debug({ type: base.type }, 'ignore state sync message');
          return;
      }
    } else if (mode === DfsmMode.START_SYNC) {
      if (base.type === DfsmMessageType.SYNC_START) return this.onSyncStart(from, epoch);
      if (base.type === DfsmMessageType.STATE) return this.onState(from, payload);
    } else if (mode === DfsmMode.UPDATE) {
      if (base.type === DfsmMessageType.UPDATE) {
        const ok = this.call(() => this.cb.processUpdate(round, from, payload), false);
        if (!ok) return this.leaveAndRelease();
        return;
      }
      if (base.type === DfsmMessageType.UPDATE_COMPLETE) return this.onUpdateComplete(from);
    } else {
      this.log.error({ mode }, 'internal error - unknown mode');
      return this.leaveAndRelease();
    }

    if (base.type === DfsmMessageType.VERIFY_REQUEST || base.type === DfsmMessageType.VERIFY) {
      this.log.debug({ type: base.type }, 'ignore verify message while not synced');
      return;
    }
    this.log.error({ type: base.type, length: payload.length }, 'received unknown state message type');
    return this.leaveAndRelease();
  }

  private onSyncStart(from: MemberId, epoch: Epoch): void {
    if (from.nodeid !== this.lowest) {
      this.log.error({ from: memberKey(from) }, 'ignore sync request from wrong member');
    }
    this.log.info({ epoch }, 'received sync request');
    this.syncEpoch = epoch;
    this.releaseSyncResources(null);
    const state = this.call(() => this.cb.getState(), null);
    if (!state || state.length === 0) {
      this.log.error({}, 'dfsm_get_state_fn failed');
      return this.leaveAndRelease();
    }
    if (this.sendState(DfsmMessageType.STATE, [state]) !== CsError.OK) return this.leaveAndRelease();
  }

  private onState(from: MemberId, payload: Buffer): void {
    const round = this.round;
    assert(round !== null, 'invariant: state without round');
    const ni = this.members.get(memberKey(from));
    if (!ni) {
      this.log.error({ from: memberKey(from) }, 'received state for non-member');
      return this.leaveAndRelease();
    }
    if (ni.state !== null) {
      this.log.error({ from: memberKey(from) }, 'received duplicate state for member');
      return this.leaveAndRelease();
    }
    ni.state = Buffer.from(payload);
    if (!round.members.every((m) => m.state !== null)) return;

    this.log.debug({ members: round.members.length }, 'received all states');
    const raw = this.call<boolean | StateUpdateResult>(() => this.cb.processStateUpdate(round), false);
    const res: StateUpdateResult = typeof raw === 'boolean' ? { ok: raw } : raw;
    if (!res.ok) return this.leaveAndRelease();
    if (res.leader) this.lastLeader = { nodeid: res.leader.nodeid, pid: res.leader.pid };
    this.log.info(
      {
        leader: res.leader ? memberKey(res.leader) : undefined,
        synced: round.members.filter((m) => m.synced).map(memberKey),
        epoch: this.syncEpoch,
      },
      'sync round: all states received',
    );
    if (round.local.synced) {
      this.setMode(DfsmMode.SYNCED);
      this.releaseSyncResources(null);
      if (!this.deliverQueue()) return this.leaveAndRelease();
    } else {
      this.setMode(DfsmMode.UPDATE);
      if (!this.deliverQueue()) return this.leaveAndRelease();
    }
  }

  private onUpdateComplete(from: MemberId): void {
    const round = this.round;
    assert(round !== null, 'invariant: update complete without round');
    const ok = this.call(() => this.cb.commit(round), false);
    if (!ok) return this.leaveAndRelease();
    for (const m of round.members) m.synced = true;
    this.lastLeader = { nodeid: from.nodeid, pid: from.pid };
    this.setMode(DfsmMode.SYNCED);
    if (!this.deliverSyncQueue()) return this.leaveAndRelease();
    if (!this.deliverQueue()) return this.leaveAndRelease();
    this.releaseSyncResources(null);
  }

  private onVerifyRequest(from: MemberId, epoch: Epoch, payload: Buffer): void {
    if (payload.length !== 8) {
      this.log.error({ length: payload.length, from: memberKey(from) }, 'cpg received verify request with wrong length');
      return this.leaveAndRelease();
    }
    const id = payload.readBigUInt64LE(0);
    const checksum = this.cb.checksum;
    if (!checksum) return;
    const c = this.call(() => checksum.call(this.cb), null);
    if (!c || c.length !== 32) {
      this.log.error({}, 'unable to compute data checksum');
      return this.leaveAndRelease();
    }
    this.csum = Buffer.from(c);
    this.csumEpoch = epoch;
    this.csumId = id;
    if (this.isLocal(from)) {
      if (this.sendState(DfsmMessageType.VERIFY, [encodeVerify(this.csumId, this.csum)]) !== CsError.OK) {
        return this.leaveAndRelease();
      }
    }
  }

  private onVerify(epoch: Epoch, payload: Buffer): void {
    if (!this.cb.checksum) return;
    if (payload.length !== 40) {
      this.log.error({ length: payload.length }, 'cpg received verify message with wrong length');
      return this.leaveAndRelease();
    }
    const id = payload.readBigUInt64LE(0);
    const time = nowSeconds(this.clock);
    if (this.csumId === id && epochEquals(this.csumEpoch, epoch)) {
      const theirs = payload.subarray(8, 40);
      if (!theirs.equals(this.csum)) {
        this.lastVerify = { time, result: 'mismatch' };
        this.metrics.verify('mismatch');
        this.log.error({ theirs: theirs.toString('hex'), ours: this.csum.toString('hex') }, 'wrong checksum - restarting');
        return this.leaveAndRelease();
      }
      this.lastVerify = { time, result: 'ok' };
      this.metrics.verify('ok');
      this.log.info({ csumId: id.toString() }, 'data verification successful');
    } else {
      this.lastVerify = { time, result: 'skipped' };
      this.metrics.verify('skipped');
      this.log.info({ csumId: id.toString() }, 'skip verification - no checksum saved');
    }
  }
}

