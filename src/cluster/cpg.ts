/**
 * The real CPG transport: libcpg through the native addon (native/corosync.cc).
 *
 * Policy kept here, not in C++:
 * - the group name is passed as its exact bytes plus the trailing NUL (as C pmxcfs
 *   does, so both meet in the same group);
 * - send: CS_ERR_TRY_AGAIN queues the message; the queue is retried in order from a
 *   timer (never blocking the event loop); while the queue is not empty, new messages
 *   go behind it, so each sender's order is kept;
 * - send(..., background): the message goes to the addon's sender thread (a leader's
 *   full copy, which C sends from its CPG thread while FUSE keeps being served); until
 *   that thread reports idle every message goes behind it, so the wire order is the
 *   order of the send calls and only one thread multicasts at a time;
 * - CS_ERR_LIBRARY / CS_ERR_BAD_HANDLE on send or dispatch: the handle is finalized,
 *   the queue dropped and `handlers.failure(code)` called once. The transport is dead
 *   afterwards; the service layer opens a new one (C retries every ~6 s, forever).
 */

import { CsError, type ConfChange, type MemberId, type Transport, type TransportHandlers } from './transport.js';
import { stageMark, stageSpan, stagesOn } from '../util/stages.js';
import { CorosyncError, isFatalCsError, loadCorosync, type CorosyncAddon, type NativeCpg, type NativeCpgAddress } from './native.js';

/** cpg_guarantee_t */
export const CpgType = { UNORDERED: 0, FIFO: 1, AGREED: 2, SAFE: 3 } as const;

export interface CpgTransportOptions {
  /** Delay between retries of a TRY_AGAIN send (ms). Default 10. */
  readonly retryDelayMs?: number;
  /** Totem ring changes (CPG model v1), optional. */
  readonly totem?: (ringNodeid: number, ringSeq: number, members: number[]) => void;
  /** The addon to use (tests pass a fake); default: loadCorosync(). */
  readonly addon?: Pick<CorosyncAddon, 'Cpg'>;
  /**
   * Hand a small delivered message to the handler as a view of the addon's staging
   * Buffer (`borrowed`), as libcpg hands C its ring memory, instead of a copy per
   * message. Only for handlers that copy what they keep (DfsmService).
   */
  readonly borrowDeliveries?: boolean;
}

/**
 * Bytes waiting for a TRY_AGAIN retry. C blocks its writer under the sync mutex
 * instead; here the queue grows only while corosync refuses, by what local writers
 * and a leader's full copy send: twice the filesystem's size (statfs: 128 MiB) is
 * more than one round can need. Beyond it the connection is given up like a fatal
 * error (the service reconnects and the DFSM resyncs), never a message dropped.
 */
export const MAX_RETRY_QUEUE_BYTES = 256 * 1024 * 1024;

/**
 * A multicast of several parts up to this size is joined in one reused Buffer (the
 * addon copies it into corosync's ring before mcastJoined returns): every replicated
 * write (FUSE max_write 128 KiB plus headers and path) without a new Buffer per send.
 */
const SEND_SCRATCH_BYTES = 192 * 1024;

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuf, 0, 0, ms);
}

function toMembers(list: NativeCpgAddress[]): { nodeid: number; pid: number; reason: number }[] {
  return list.map((m) => ({ nodeid: m.nodeid, pid: m.pid, reason: m.reason }));
}

export class CpgTransport implements Transport {
  readonly local: MemberId;
  private readonly cpg: NativeCpg;
  /** Where the addon puts a small delivered message (its "deliver" passes the length). */
  private readonly deliveryBuffer: Buffer;
  private readonly borrowDeliveries: boolean;
  private readonly sendScratch = Buffer.allocUnsafeSlow(SEND_SCRATCH_BYTES);
  private readonly retryDelayMs: number;
  private group: Buffer | undefined;
  /** Messages waiting for a TRY_AGAIN retry, each as one Buffer. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: (() => void)[] = [];
  /** The addon's sender thread holds messages (cleared by its sendIdle event). */
  private background = false;
  /** Background messages of the current JS task, handed over in one call after it. */
  private corked: Buffer[] = [];

  /**
   * Connect to corosync (cpg_model_initialize + local nodeid). Throws CorosyncError
   * (code CS_ERR_LIBRARY while corosync is not running).
   */
  static open(handlers: TransportHandlers, options: CpgTransportOptions = {}): CpgTransport {
    return new CpgTransport(handlers, options);
  }

  private constructor(
    private readonly handlers: TransportHandlers,
    options: CpgTransportOptions,
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 10;
    this.borrowDeliveries = options.borrowDeliveries ?? false;
    const { Cpg } = options.addon ?? loadCorosync();
    const totem = options.totem;
    this.cpg = new Cpg({
      deliver: (nodeid, pid, message) => {
        const t0 = stagesOn ? process.hrtime.bigint() : 0n;
        if (nodeid === this.local.nodeid && pid === this.local.pid) stageMark('deliver');
        if (!this.closed) this.handOver({ nodeid, pid }, message);
        stageSpan('cpg delivery (JS)', t0);
      },
      confchg: (members, left, joined) => {
        if (this.closed) return;
        const change: ConfChange = { members: toMembers(members), left: toMembers(left), joined: toMembers(joined) };
        this.handlers.confchg(change);
      },
      totem: (ringNodeid, ringSeq, members) => {
        if (!this.closed && totem !== undefined) totem(ringNodeid, ringSeq, members);
      },
      error: (code) => this.fail(code),
      sendIdle: () => {
        this.background = false;
        this.wake();
      },
      sendError: (code) => this.fail(code),
    });
    this.deliveryBuffer = this.cpg.deliveryBuffer;
    const err = this.cpg.initialize();
    if (err !== CsError.OK) throw new CorosyncError('cpg_initialize', err);
    const local = this.cpg.localGet();
    if (local.err !== CsError.OK) {
      this.cpg.finalize();
      throw new CorosyncError('cpg_local_get', local.err);
    }
    this.local = { nodeid: local.nodeid, pid: process.pid };
  }

  /** Messages waiting for a TRY_AGAIN retry or for the sender thread. */
  get pending(): number {
    return this.queue.length + this.corked.length + (this.background ? this.cpg.sendQueueLength() : 0);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * cpg_join with the name plus NUL. TRY_AGAIN is retried (like C: up to 100 times,
   * here 10 ms apart, synchronously — it only happens around membership changes).
   */
  join(group: string): number {
    if (this.closed) return CsError.BAD_HANDLE;
    const name = Buffer.from(group + '\0', 'utf8');
    const err = this.retrySync(() => this.cpg.join(name));
    if (err === CsError.OK) this.group = name;
    else if (isFatalCsError(err)) this.fail(err);
    return err;
  }

  leave(): number {
    if (this.closed) return CsError.BAD_HANDLE;
    if (this.group === undefined) return CsError.NOT_EXIST;
    const name = this.group;
    const err = this.retrySync(() => this.cpg.leave(name));
    if (err === CsError.OK) this.group = undefined;
    else if (isFatalCsError(err)) this.fail(err);
    return err;
  }

  /** Current members of the joined group (cpg_membership_get). */
  members(): { err: number; members: { nodeid: number; pid: number; reason: number }[] } {
    if (this.closed || this.group === undefined) return { err: CsError.BAD_HANDLE, members: [] };
    const r = this.cpg.membershipGet(this.group);
    return { err: r.err, members: toMembers(r.members) };
  }

  send(buffers: readonly Buffer[], background = false): number {
    if (this.closed) return CsError.BAD_HANDLE;
    if (this.queue.length > 0) return this.enqueue(joined(buffers));
    if (background || this.background) return this.sendBackground(joined(buffers));
    const message = this.joinedInScratch(buffers);
    stageMark('send');
    const err = this.cpg.mcastJoined(message, CpgType.AGREED);
    stageMark('sent');
    if (err === CsError.OK) return err;
    if (err === CsError.TRY_AGAIN) {
      const r = this.enqueue(message.buffer === this.sendScratch.buffer ? Buffer.from(message) : message);
      this.schedule();
      return r;
    }
    if (isFatalCsError(err)) this.fail(err);
    return err;
  }

  /**
   * Queue the message for the sender thread (the TRY_AGAIN queue is empty here). A
   * leader's full copy is thousands of sends in one JS task: they are handed over
   * together when the task ends, so the thread starts once instead of competing with
   * the loop for the CPU at every message.
   */
  private sendBackground(message: Buffer): number {
    if (this.corked.length === 0) queueMicrotask(() => this.uncork());
    this.corked.push(message);
    this.background = true;
    return CsError.OK;
  }

  private uncork(): void {
    const batch = this.corked;
    this.corked = [];
    if (this.closed || batch.length === 0) return;
    const err = this.cpg.sendQueued(batch, this.retryDelayMs);
    if (err !== CsError.OK) this.fail(err);
  }

  private enqueue(message: Buffer): number {
    if (this.queuedBytes + message.length > MAX_RETRY_QUEUE_BYTES) {
      this.fail(CsError.TRY_AGAIN);
      return CsError.TRY_AGAIN;
    }
    this.queue.push(message);
    this.queuedBytes += message.length;
    return CsError.OK;
  }

  /** Resolves when the TRY_AGAIN queue is empty (or the transport closed). */
  flushed(): Promise<void> {
    if ((this.queue.length === 0 && !this.background) || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopQueue();
    this.background = false;
    this.cpg.finalize();
  }

  private retrySync(op: () => number): number {
    let err = op();
    for (let i = 0; err === CsError.TRY_AGAIN && i < 100; i++) {
      sleepSync(10);
      err = op();
    }
    return err;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, this.retryDelayMs);
  }

  private drain(): void {
    while (!this.closed && this.queue.length > 0) {
      const err = this.cpg.mcastJoined(this.queue[0]!, CpgType.AGREED);
      if (err === CsError.OK) {
        this.queuedBytes -= this.queue.shift()!.length;
        continue;
      }
      if (err === CsError.TRY_AGAIN) {
        this.schedule();
        return;
      }
      // Fatal or unexpected: the connection is not usable for ordered delivery.
      this.fail(err);
      return;
    }
    this.wake();
  }

  private stopQueue(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.corked = [];
    this.wake();
  }

  /** The parts as one Buffer for a send that completes now: in the scratch Buffer when they fit. */
  private joinedInScratch(buffers: readonly Buffer[]): Buffer {
    if (buffers.length === 1) return buffers[0]!;
    let length = 0;
    for (const b of buffers) length += b.length;
    if (length > SEND_SCRATCH_BYTES) return Buffer.concat(buffers, length);
    let at = 0;
    for (const b of buffers) at += b.copy(this.sendScratch, at);
    return this.sendScratch.subarray(0, length);
  }

  /** A delivered message to the handler: a large one as the addon's Buffer, a staged one (its length) borrowed or copied. */
  private handOver(from: MemberId, message: Buffer | number): void {
    if (typeof message !== 'number') this.handlers.deliver(from, message, false);
    else if (this.borrowDeliveries) this.handlers.deliver(from, this.deliveryBuffer.subarray(0, message), true);
    else this.handlers.deliver(from, this.copyDelivered(message), false);
  }

  /** A message the addon staged: a pooled copy, kept by the handlers as long as they need. */
  private copyDelivered(length: number): Buffer {
    const message = Buffer.allocUnsafe(length);
    message.set(this.deliveryBuffer.subarray(0, length));
    return message;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private fail(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.stopQueue();
    this.background = false;
    this.cpg.finalize();
    this.handlers.failure(code);
  }
}

/** The parts of a message that is kept (queued or handed to the sender thread) as one Buffer of its own. */
function joined(buffers: readonly Buffer[]): Buffer {
  return buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
}
