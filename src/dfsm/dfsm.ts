/**
 * The distributed finite state machine (dfsm.md): the engine that runs the chart of
 * chart.ts for one CPG group. It holds the chart's context (identity, epoch, the
 * sorted member list with the collected states, the queues, the waiting writers),
 * classifies every delivered message with the common checks of
 * dfsm_cpg_deliver_callback into a chart event, and implements the chart's guards
 * and actions. One engine serves any application (dcdb, the status group): group
 * name, protocol version and callbacks are options.
 *
 * | here                         | C (dfsm.c)                                       |
 * |------------------------------|--------------------------------------------------|
 * | Dfsm (fields)                | struct dfsm                                      |
 * | attach / initialize          | dfsm_initialize (handle kept across restarts)    |
 * | join / leave / finalize      | dfsm_join / dfsm_leave / dfsm_finalize           |
 * | restartable                  | dfsm_restartable                                 |
 * | confchg                      | dfsm_cpg_confchg_callback                        |
 * | deliver / classify           | dfsm_cpg_deliver_callback (common checks)        |
 * | send (the chart engine)      | dfsm_set_mode + the mode switch of the callbacks |
 * | actions.*                    | the bodies of those callbacks (see the chart)    |
 * | sendState / sendUpdate(...)  | dfsm_send_state_message_full, dfsm_send_update(_complete) |
 * | sendMessage                  | dcdb_send_fuse_message + dfsm_send_message_sync  |
 * | sendMessageNoWait            | dcdb_send_unlock + dfsm_send_message             |
 * | verifyRequest                | dfsm_verify_request                              |
 * | isLowestNodeid / isLocal     | dfsm_lowest_nodeid / dfsm_nodeid_is_local        |
 *
 * Single-threaded: C's FUSE threads block in dfsm_send_message_sync; here the send is
 * synchronous (count assignment and multicast are one step, so per-sender count order
 * holds) and the wait is a Promise resolved when the own message comes back.
 */
import { CsError, type ConfChange, type MemberId, type Transport } from '../cluster/transport.js';
import { EACCES, EBUSY } from '../memdb/errno.js';
import { assert, fail } from '../util/assert.js';
import { DfsmMessageType, type Epoch, STATE_HEADER_SIZE, decodeBaseHeader, decodeDfsmBody, encodeNormalHeader, encodeStateHeader, encodeVerifyRequest, epochEquals, writeStateHeader } from '../wire/dfsm.js';
import { type ChartTable, compileChart, type DfsmEvent, type DfsmEventType, type GuardName, type Step, stepsFor } from './chart.js';
import { type Clock, nowSeconds, systemClock } from '../util/clock.js';
import { lowestNodeid, memberKey, sortMembers } from './members.js';
import { MessageQueues } from './queues.js';
import { actionsOf, type ActionImpl } from './actions.js';
import {
  DCDB_CPG_GROUP,
  DCDB_PROTOCOL_VERSION,
  type DfsmApi,
  type DfsmCallbacks,
  DfsmMode,
  type DfsmModeName,
  type DfsmStatus,
  isErrorMode,
  type Logger,
  nullLogger,
  type PayloadWriter,
  type SyncInfo,
  type SyncMember,
  type VerifyOutcome,
} from './types.js';
import { WaitingWriters } from './writers.js';
import { type DfsmGroupMetrics, metrics } from '../metrics/metrics.js';

export { EACCES, EBUSY };

/**
 * Events processed inside one outermost event (nested sends from callbacks, raised
 * events, queue deliveries). One per queued message at most, plus a few per step: a
 * chain longer than this is a loop in the chart.
 */
export const MAX_EVENT_DEPTH = 64;

/** Where the base header holds the protocol version (wire.md §3). */
const BASE_PROTOCOL_OFFSET = 4;
const ZERO_EPOCH: Epoch = { epoch: 0, time: 0, nodeid: 0, pid: 0 };
const STATE_TYPES: Partial<Record<number, DfsmEventType>> = {
  [DfsmMessageType.SYNC_START]: 'SYNC_START',
  [DfsmMessageType.STATE]: 'STATE',
  [DfsmMessageType.UPDATE]: 'UPDATE',
  [DfsmMessageType.UPDATE_COMPLETE]: 'UPDATE_COMPLETE',
  [DfsmMessageType.VERIFY_REQUEST]: 'VERIFY_REQUEST',
  [DfsmMessageType.VERIFY]: 'VERIFY',
};
/** Built once: the chart does not change at run time. */
let chartTable: ChartTable | null = null;

export class Member implements SyncMember {
  state: Buffer | null = null;
  synced = false;
  constructor(
    readonly nodeid: number,
    readonly pid: number,
  ) {}
}

export class Round implements SyncInfo {
  data: unknown = undefined;
  constructor(
    readonly members: readonly Member[],
    readonly localOrNull: Member | null,
  ) {}
  get local(): Member {
    assert(this.localOrNull !== null, 'sync info has a local member');
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

/** The chart's context: what the guards read and the actions change (struct dfsm). */
export interface DfsmContext {
  nodeid: number;
  pid: number;
  weAreMember: boolean;
  localEpochCounter: number;
  syncEpoch: Epoch;
  lowest: number;
  round: Round | null;
  members: Map<string, Member>;
  readonly queues: MessageQueues;
  readonly writers: WaitingWriters;
  msgcount: bigint;
  csum: Buffer;
  csumEpoch: Epoch;
  csumId: bigint;
  csumCounter: bigint;
  lastLeader: MemberId | null;
  lastVerify: { time: number; result: VerifyOutcome } | null;
}

export class Dfsm implements DfsmApi {
  readonly groupName: string;
  readonly protocolVersion: number;
  readonly cb: DfsmCallbacks;
  readonly clock: Clock;
  readonly log: Logger;
  private readonly quorate: () => boolean;
  private readonly table: ChartTable;
  private readonly actions: Readonly<Record<string, ActionImpl | undefined>>;
  /** Counters of this group (src/metrics); its gauges read status() when scraped. */
  readonly metrics: DfsmGroupMetrics;
  private state: DfsmModeName = 'START';
  private depth = 0;
  private transport: Transport | null = null;
  private joinedFlag = false;
  readonly ctx: DfsmContext = {
    nodeid: 0,
    pid: 0,
    weAreMember: false,
    localEpochCounter: 0,
    syncEpoch: ZERO_EPOCH,
    lowest: 0,
    round: null,
    members: new Map(),
    queues: new MessageQueues(),
    writers: new WaitingWriters(),
    msgcount: 0n,
    csum: Buffer.alloc(32),
    csumEpoch: ZERO_EPOCH,
    csumId: 0n,
    csumCounter: 0n,
    lastLeader: null,
    lastVerify: null,
  };

  constructor(opts: DfsmOptions) {
    this.groupName = opts.groupName ?? DCDB_CPG_GROUP;
    this.protocolVersion = opts.protocolVersion ?? DCDB_PROTOCOL_VERSION;
    this.clock = opts.clock ?? systemClock;
    this.quorate = opts.isQuorate ?? (() => true);
    this.log = opts.logger ?? nullLogger;
    this.table = chartTable ??= compileChart();
    this.actions = actionsOf(this);
    this.metrics = metrics.dfsm(this.groupName);
    this.metrics.snapshot = () => this.status();
    this.cb = typeof opts.callbacks === 'function' ? opts.callbacks(this) : opts.callbacks;
  }

  // ---- identity and state -----------------------------------------------------------

  get local(): MemberId {
    return { nodeid: this.ctx.nodeid, pid: this.ctx.pid };
  }
  get mode(): DfsmMode {
    return DfsmMode[this.state];
  }
  get modeName(): DfsmModeName {
    return this.state;
  }
  get joined(): boolean {
    return this.joinedFlag;
  }
  get weAreMember(): boolean {
    return this.ctx.weAreMember;
  }
  get hasTransport(): boolean {
    return this.transport !== null;
  }
  /** dfsm_restartable: not ERROR and not VERSION_ERROR. */
  restartable(): boolean {
    return this.state !== 'ERROR' && this.state !== 'VERSION_ERROR';
  }
  isLowestNodeid(): boolean {
    return this.ctx.lowest !== 0 && this.ctx.lowest === this.ctx.nodeid;
  }
  isLocal(m: MemberId): boolean {
    return m.nodeid === this.ctx.nodeid && m.pid === this.ctx.pid;
  }
  isQuorate(): boolean {
    return this.quorate();
  }
  setErrorMode(): void {
    this.send({ type: 'SET_ERROR' });
  }

  status(): DfsmStatus {
    const c = this.ctx;
    return {
      mode: this.mode,
      modeName: this.state,
      nodeid: c.nodeid,
      pid: c.pid,
      joined: this.joinedFlag,
      weAreMember: c.weAreMember,
      epoch: c.syncEpoch,
      localEpochCounter: c.localEpochCounter,
      lowestNodeid: c.lowest,
      members: (c.round?.members ?? []).map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced, hasState: m.state !== null })),
      msgQueue: c.queues.msg.length,
      syncQueue: c.queues.sync.length,
      waitingWriters: c.writers.size,
      msgcount: c.msgcount,
      msgcountRcvd: c.writers.lastReceived,
      lastLeader: c.lastLeader,
      lastVerify: c.lastVerify,
      csumCounter: c.csumCounter,
      csumId: c.csumId,
    };
  }

  // ---- the chart engine (semantics in chart.ts) ------------------------------------

  /** Process one event of the chart now (re-entrant, as C's dfsm_set_mode). */
  send(ev: DfsmEvent): void {
    if (this.depth >= MAX_EVENT_DEPTH) fail(`chart event depth within ${MAX_EVENT_DEPTH}`);
    this.depth++;
    try {
      this.step(ev);
    } finally {
      this.depth--;
    }
  }

  private step(ev: DfsmEvent): void {
    const t = this.firstEnabled(stepsFor(this.table, this.state, ev.type), ev);
    if (t === null) return;
    if (t.target !== null && t.target !== this.state) this.enter(t.target);
    let raised: DfsmEvent[] | null = null; // most steps raise nothing: no array per delivery
    for (const a of t.actions) {
      if (typeof a !== 'string') {
        (raised ??= []).push({ type: a.raise });
        continue;
      }
      const impl = this.actions[a];
      if (impl === undefined) fail(`chart action ${a} is implemented`);
      if (impl(ev) === false) {
        this.send({ type: 'FAULT', reason: a });
        return;
      }
    }
    if (raised !== null) for (const r of raised) this.send(r);
  }

  /** The first step whose guard holds (the chart's order decides). */
  private firstEnabled(steps: readonly Step[], ev: DfsmEvent): Step | null {
    for (const s of steps) if (s.guard === null || this.guard(s.guard, ev)) return s;
    return null;
  }

  private guard(g: GuardName, ev: DfsmEvent): boolean {
    const c = this.ctx;
    switch (g) {
      case 'notMember':
        return ev.type === 'CONFCHG' && !ev.member;
      case 'alone':
        return ev.type === 'CONFCHG' && ev.change.members.length <= 1;
      case 'unknownSender':
        return 'from' in ev && !c.members.has(memberKey(ev.from));
      case 'duplicateState':
        return 'from' in ev && c.members.get(memberKey(ev.from))?.state != null;
      case 'allStatesIn':
        return c.round !== null && c.round.members.every((m) => m.state !== null);
      case 'localSynced':
        return c.round?.localOrNull?.synced === true;
    }
  }

  /** dfsm_set_mode: the chart only has the moves C's rule allows. */
  private enter(to: DfsmModeName): void {
    const from = this.state;
    assert(from !== to, 'a mode change changes the mode');
    assert(!isErrorMode(DfsmMode[from]) || !isErrorMode(DfsmMode[to]) || DfsmMode[to] >= DfsmMode[from], 'error modes only move up');
    this.state = to;
    this.metrics.mode(DfsmMode[to]);
    const ctx = { from, to, nodeid: this.ctx.nodeid, pid: this.ctx.pid };
    const message = MODE_MESSAGES[to];
    if (isErrorMode(DfsmMode[to])) this.log.error(ctx, message);
    else this.log.info(ctx, message);
    if (to === 'SYNCED') this.call(() => this.cb.synced?.(), undefined);
  }

  /** Run an application callback; an exception is logged and counts as failure. */
  call<T>(fn: () => T, onThrow: T): T {
    try {
      return fn();
    } catch (err) {
      this.log.error({ err }, 'application callback threw');
      return onThrow;
    }
  }

  // ---- lifecycle (driven by service.ts) ---------------------------------------------

  /** Give the DFSM its CPG connection; identity comes from it (cpg_local_get, getpid). */
  attach(transport: Transport): void {
    assert(this.transport === null, 'no transport attached yet');
    this.transport = transport;
    this.ctx.nodeid = transport.local.nodeid >>> 0;
    this.ctx.pid = transport.local.pid >>> 0;
  }

  /** dfsm_initialize: drop msg_queue, release writers, mode START. */
  initialize(): void {
    this.send({ type: 'INITIALIZE' });
  }

  /** The INITIALIZE action (dfsm_initialize without the CPG part). */
  reset(): void {
    this.ctx.queues.dropMsg();
    this.abortWriters();
    this.joinedFlag = false;
    this.ctx.weAreMember = false;
  }

  join(): number {
    assert(this.transport !== null, 'join with a transport');
    assert(!this.joinedFlag, 'join while not joined');
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
    this.ctx.weAreMember = false;
  }

  // ---- sending --------------------------------------------------------------------------

  sendRaw(buffers: readonly Buffer[], background = false): number {
    if (this.transport === null) return CsError.BAD_HANDLE;
    const r = this.transport.send(buffers, background);
    if (r !== CsError.OK) this.log.error({ code: r }, 'cpg_send_message failed');
    else this.metrics.sent(buffers);
    return r;
  }

  sendState(type: DfsmMessageType, payload: readonly Buffer[], background = false): number {
    assert(type >= DfsmMessageType.SYNC_START && type <= DfsmMessageType.VERIFY, 'a state message type');
    const header = encodeStateHeader(type, this.protocolVersion, nowSeconds(this.clock), this.ctx.syncEpoch);
    return this.sendRaw([header, ...payload], background);
  }

  // The full copy goes out in the background (C sends it from its CPG thread while
  // FUSE is served); the transport keeps every later message behind it.
  sendUpdate(size: number, write: PayloadWriter): boolean {
    const message = Buffer.allocUnsafe(STATE_HEADER_SIZE + size);
    writeStateHeader(message, DfsmMessageType.UPDATE, this.protocolVersion, nowSeconds(this.clock), this.ctx.syncEpoch);
    assert(write(message, STATE_HEADER_SIZE) === message.length, 'an UPDATE payload fills its size');
    return this.sendRaw([message], true) === CsError.OK;
  }

  sendUpdateComplete(): boolean {
    return this.sendState(DfsmMessageType.UPDATE_COMPLETE, [], true) === CsError.OK;
  }

  /** Assign the next count and multicast a NORMAL message (the sync-mutex section). */
  private sendNormal(subtype: number, payload: readonly Buffer[], resolve: ((r: number) => void) | null): number {
    assert(Number.isInteger(subtype) && subtype >= 0 && subtype <= 0xffff, 'subtype is u16');
    this.ctx.msgcount += 1n;
    const count = this.ctx.msgcount;
    if (resolve) this.ctx.writers.register(count, -EBUSY, resolve);
    const header = encodeNormalHeader(subtype, this.protocolVersion, nowSeconds(this.clock), count);
    const r = this.sendRaw([header, ...payload]);
    if (r !== CsError.OK && resolve) this.ctx.writers.forget(count);
    return r;
  }

  /**
   * Send a NORMAL message and wait until it is delivered back; resolves with the
   * application's result (dfsm.md §11.2): −EACCES if not quorate (nothing sent),
   * −EBUSY if the multicast failed or the wait was aborted by initialize/finalize.
   * In ERROR and VERSION_ERROR nothing is delivered any more: −EBUSY at once.
   */
  sendMessage(subtype: number, payload: readonly Buffer[]): Promise<number> {
    if (!this.quorate()) return Promise.resolve(-EACCES);
    if (!this.restartable() || this.ctx.writers.full) return Promise.resolve(-EBUSY);
    let resolve!: (r: number) => void;
    const done = new Promise<number>((res) => (resolve = res));
    if (this.sendNormal(subtype, payload, resolve) !== CsError.OK) return Promise.resolve(-EBUSY);
    return done;
  }

  /** Send without waiting (unlock messages). Skipped when not quorate. */
  sendMessageNoWait(subtype: number, payload: readonly Buffer[]): boolean {
    if (!this.quorate()) return false;
    return this.sendNormal(subtype, payload, null) === CsError.OK;
  }

  /** dfsm_send_sync_message_abort. */
  private abortWriters(): void {
    this.ctx.writers.abortAll(this.ctx.msgcount);
  }

  /** dfsm_verify_request (the service's hourly timer). */
  verifyRequest(): number {
    const c = this.ctx;
    if (!this.isLowestNodeid() || this.state !== 'SYNCED') return CsError.OK;
    if (c.csumCounter !== c.csumId) {
      this.log.info({ next: (c.csumCounter + 1n).toString() }, 'delay verify request');
      return CsError.OK;
    }
    c.csumCounter += 1n;
    const r = this.sendState(DfsmMessageType.VERIFY_REQUEST, [encodeVerifyRequest(c.csumCounter)]);
    if (r !== CsError.OK) this.log.error({ code: r }, 'failed to send VERIFY_REQUEST message');
    return r;
  }

  // ---- transport events ---------------------------------------------------------------

  /** dfsm_cpg_confchg_callback. */
  confchg(change: ConfChange): void {
    this.metrics.confchg();
    this.send({ type: 'CONFCHG', change, member: change.members.some((m) => this.isLocal(m)) });
  }

  /**
   * dfsm_cpg_deliver_callback, entry from the transport (and from the queues).
   * `borrowed` (the transport's buffer, valid during this call): a NORMAL message goes
   * on as it is to an application that copies what it keeps (the queues copy what they
   * hold, as dfsm_queue_add_message); any other message is copied, as the sync round
   * keeps STATE and UPDATE payloads.
   */
  deliver(from: MemberId, msg: Buffer, borrowed = false): void {
    if (this.depth === 0) this.metrics.received(msg); // from the transport, not a queue
    if (this.ignoredUpdate(msg)) return;
    const message = borrowed && !this.lentToApplication(msg) ? Buffer.from(msg) : msg;
    this.send(this.classify({ nodeid: from.nodeid >>> 0, pid: from.pid >>> 0 }, message));
  }

  private lentToApplication(msg: Buffer): boolean {
    return this.cb.copiesPayload === true && msg.length >= 2 && msg.readUInt16LE(0) === DfsmMessageType.NORMAL;
  }

  /**
   * An UPDATE at a SYNCED member: every member of a full copy gets all of them, the
   * leader its own (6,000 for 6k inodes). C ignores them after its common checks
   * ("ignore state sync message", or the wrong epoch); so does the chart, so they
   * skip building the event. Same checks as classify, in its order.
   */
  private ignoredUpdate(msg: Buffer): boolean {
    return (
      this.state === 'SYNCED' &&
      this.ctx.round !== null &&
      msg.length >= STATE_HEADER_SIZE &&
      msg.readUInt32LE(BASE_PROTOCOL_OFFSET) === this.protocolVersion &&
      msg.readUInt16LE(0) === DfsmMessageType.UPDATE
    );
  }

  /** The common checks of dfsm_cpg_deliver_callback, in C's order, as one chart event. */
  private classify(from: MemberId, msg: Buffer): DfsmEvent {
    if (isErrorMode(this.mode)) return { type: 'FAULT', reason: 'message in an error mode' };
    if (this.ctx.round === null) return this.malformed('no dfsm_sync_info - internal error', msg);
    const base = decodeBaseHeader(msg);
    if (!base.ok) return this.malformed(base.error.message, msg);
    if (base.value.protocolVersion > this.protocolVersion) return { type: 'NEWER_PROTOCOL' };
    if (base.value.protocolVersion < this.protocolVersion) return { type: 'OLDER_PROTOCOL' };
    const decoded = decodeDfsmBody(msg, base.value);
    if (!decoded.ok) return this.malformed(decoded.error.message, msg);
    const m = decoded.value;
    if (m.kind === 'normal') return { type: 'NORMAL', from, count: m.count, subtype: m.base.subtype, time: m.base.time, msg, payload: m.payload };
    if (m.base.type !== DfsmMessageType.SYNC_START && !epochEquals(m.epoch, this.ctx.syncEpoch)) return { type: 'WRONG_EPOCH' };
    const type = STATE_TYPES[m.base.type];
    switch (type) {
      case 'SYNC_START':
        return { type, from, epoch: m.epoch };
      case 'STATE':
      case 'UPDATE':
        return { type, from, payload: m.payload };
      case 'UPDATE_COMPLETE':
        return { type, from };
      case 'VERIFY_REQUEST':
      case 'VERIFY':
        return { type, from, epoch: m.epoch, payload: m.payload };
      default:
        return { type: 'UNKNOWN_TYPE', msgType: m.base.type };
    }
  }

  private malformed(reason: string, msg: Buffer): DfsmEvent {
    this.log.error({ length: msg.length }, `received bad message - ${reason}`);
    return { type: 'FAULT', reason };
  }

  // ---- context changes the actions share -------------------------------------------------

  /** dfsm_release_sync_resources; with a member list: rebuild the sorted list. */
  releaseSyncResources(memberList: readonly MemberId[] | null): void {
    const round = this.ctx.round;
    if (round) {
      if (round.data !== undefined && this.cb.cleanup) {
        this.call(() => this.cb.cleanup?.(round), undefined);
        round.data = undefined;
      }
      for (const m of round.members) m.state = null;
    }
    if (memberList) {
      const sorted = sortMembers(memberList.map((m) => new Member(m.nodeid >>> 0, m.pid >>> 0)));
      this.ctx.members = new Map();
      let local: Member | null = null;
      for (const m of sorted) {
        this.ctx.members.set(memberKey(m), m);
        if (this.isLocal(m)) local = m;
      }
      this.ctx.round = new Round(sorted, local);
    }
  }

  /** The confchg bookkeeping every mode does (C: before the error-mode return). */
  newEpoch(): void {
    const c = this.ctx;
    c.weAreMember = false;
    c.localEpochCounter = (c.localEpochCounter + 1) >>> 0;
    c.syncEpoch = { epoch: c.localEpochCounter, time: nowSeconds(this.clock) >>> 0, nodeid: c.nodeid, pid: c.pid };
    c.csumId = c.csumCounter;
    c.csumEpoch = ZERO_EPOCH;
    c.queues.dropSync();
  }

  /** The membership part of the confchg (normal modes). */
  newMembers(change: ConfChange, member: boolean): void {
    const c = this.ctx;
    c.lowest = lowestNodeid(change.members);
    c.weAreMember = member;
    if (member || this.state !== 'START') {
      this.log.info({ members: change.members.map(memberKey), lowest: c.lowest, epoch: c.localEpochCounter }, 'members');
    }
    this.releaseSyncResources(change.members);
  }

  /** dfsm_record_local_result. */
  recordLocalResult(count: bigint, result: number): void {
    this.ctx.writers.record(count, result);
  }
}

/** dfsm_set_mode's log line per mode. */
const MODE_MESSAGES: Record<DfsmModeName, string> = {
  START: 'start cluster connection',
  START_SYNC: 'starting data syncronisation',
  SYNCED: 'all data is up to date',
  UPDATE: 'waiting for updates from leader',
  LEAVE: 'leaving CPG group',
  ERROR: 'serious internal error - stop cluster connection',
  VERSION_ERROR: 'detected newer protocol - please update this node',
};
