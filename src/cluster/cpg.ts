/**
 * The real CPG transport: libcpg through the native addon (native/corosync.cc).
 *
 * Policy kept here, not in C++:
 * - the group name is passed as its exact bytes plus the trailing NUL (as C pmxcfs
 *   does, so both meet in the same group);
 * - send: CS_ERR_TRY_AGAIN queues the message; the queue is retried in order from a
 *   timer (never blocking the event loop); while the queue is not empty, new messages
 *   go behind it, so each sender's order is kept;
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
}

/**
 * Bytes waiting for a TRY_AGAIN retry. C blocks its writer under the sync mutex
 * instead; here the queue grows only while corosync refuses, by what local writers
 * and a leader's full copy send: twice the filesystem's size (statfs: 128 MiB) is
 * more than one round can need. Beyond it the connection is given up like a fatal
 * error (the service reconnects and the DFSM resyncs), never a message dropped.
 */
export const MAX_RETRY_QUEUE_BYTES = 256 * 1024 * 1024;

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
  private readonly retryDelayMs: number;
  private group: Buffer | undefined;
  private readonly queue: Buffer[][] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: (() => void)[] = [];

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
    const { Cpg } = options.addon ?? loadCorosync();
    const totem = options.totem;
    this.cpg = new Cpg({
      deliver: (nodeid, pid, message) => {
        const t0 = stagesOn ? process.hrtime.bigint() : 0n;
        if (nodeid === this.local.nodeid && pid === this.local.pid) stageMark('deliver');
        if (!this.closed) this.handlers.deliver({ nodeid, pid }, message);
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
    });
    const err = this.cpg.initialize();
    if (err !== CsError.OK) throw new CorosyncError('cpg_initialize', err);
    const local = this.cpg.localGet();
    if (local.err !== CsError.OK) {
      this.cpg.finalize();
      throw new CorosyncError('cpg_local_get', local.err);
    }
    this.local = { nodeid: local.nodeid, pid: process.pid };
  }

  /** Messages waiting for a TRY_AGAIN retry. */
  get pending(): number {
    return this.queue.length;
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

  send(buffers: readonly Buffer[]): number {
    if (this.closed) return CsError.BAD_HANDLE;
    if (this.queue.length > 0) return this.enqueue(buffers);
    stageMark('send');
    const err = this.cpg.mcastJoined(buffers, CpgType.AGREED);
    stageMark('sent');
    if (err === CsError.OK) return err;
    if (err === CsError.TRY_AGAIN) {
      const r = this.enqueue(buffers);
      this.schedule();
      return r;
    }
    if (isFatalCsError(err)) this.fail(err);
    return err;
  }

  private enqueue(buffers: readonly Buffer[]): number {
    const size = buffers.reduce((n, b) => n + b.length, 0);
    if (this.queuedBytes + size > MAX_RETRY_QUEUE_BYTES) {
      this.fail(CsError.TRY_AGAIN);
      return CsError.TRY_AGAIN;
    }
    this.queue.push([...buffers]);
    this.queuedBytes += size;
    return CsError.OK;
  }

  /** Resolves when the TRY_AGAIN queue is empty (or the transport closed). */
  flushed(): Promise<void> {
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopQueue();
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
        for (const b of this.queue.shift()!) this.queuedBytes -= b.length;
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
    this.wake();
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
    this.cpg.finalize();
    this.handlers.failure(code);
  }
}
