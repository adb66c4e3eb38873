/**
 * The DFSM as a restartable service (dfsm.md §4): join, dispatch, leave, rejoin.
 *
 * | here                       | C                                                    |
 * |----------------------------|------------------------------------------------------|
 * | DfsmService.startJob       | loop.c: service_start_job (10 ms, then every 1 s;    |
 * |                            |   initialize iff restartable, not initialized and    |
 * |                            |   now − last_init > 5 s)                             |
 * | DfsmService.timerJob       | loop.c: service_timer_job (every 1 s; verify when    |
 * |                            |   now − last_timeout >= period)                      |
 * | DfsmService.initializeFn   | dfsm.c: service_dfsm_initialize                      |
 * | DfsmService.afterDispatch  | dfsm.c: service_dfsm_dispatch (after cpg_dispatch)   |
 * |                            |   + loop.c: poll_dispatch_fn (fd removed on false)   |
 * | DfsmService.onFailure      | service_dfsm_dispatch's CS_ERR_LIBRARY/BAD_HANDLE    |
 * | DfsmService.stop           | loop end: service finalize (dfsm_finalize)           |
 *
 * As in C the CPG connection is kept across LEAVE/rejoin (C's comment: calling
 * cpg_initialize/cpg_finalize repeatedly confuses corosync); it is closed and created
 * again through the factory only after a transport failure, or after every leave if
 * `recreateTransportOnLeave` is set. While the service is "not initialized" (C: fd not
 * polled) transport events are held back and dispatched after the next initialize.
 */
import { CsError, type ConfChange, type MemberId, type Transport, type TransportHandlers } from '../cluster/transport.js';
import { type Clock, nowSeconds, type TimerHandle } from '../util/clock.js';
import type { Dfsm } from './dfsm.js';
import { DCDB_VERIFY_TIME, isErrorMode, type Logger, nullLogger } from './types.js';

/** loop.c: the start job re-initializes only if more than this many seconds passed. */
export const SERVICE_RESTART_INTERVAL_SEC = 5;
/** loop.c: period of the start and timer jobs. */
export const SERVICE_TICK_MS = 1000;
/** loop.c: delay of the first start job. */
export const SERVICE_FIRST_START_MS = 10;
/**
 * Events held while not initialized (C: unread data on the CPG socket). Between a
 * leave and the next initialize only the tail of the old session arrives (its
 * departure confchg, messages already in flight): one per member and queued message.
 */
export const MAX_BACKLOG_EVENTS = 100_000;

export type TransportFactory = (handlers: TransportHandlers) => Transport | number;

export interface DfsmServiceOptions {
  readonly dfsm: Dfsm;
  /** Create a CPG connection (cpg_initialize); a number is a cs_error. */
  readonly createTransport: TransportFactory;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly restartIntervalSec?: number;
  readonly tickMs?: number;
  readonly firstStartMs?: number;
  /** Verify period in seconds (dcdb: 3600); 0 disables. */
  readonly verifyPeriodSec?: number;
  readonly recreateTransportOnLeave?: boolean;
}

type Held = { kind: 'deliver'; from: MemberId; msg: Buffer; borrowed: boolean } | { kind: 'confchg'; change: ConfChange };

export class DfsmService {
  private readonly dfsm: Dfsm;
  private readonly opts: DfsmServiceOptions;
  private readonly log: Logger;
  private initialized = false;
  private restartable = true;
  private lastInit = 0;
  private lastTimeout = 0;
  private errcount = 0;
  private running = false;
  private startTimer: TimerHandle | null = null;
  private tickTimer: TimerHandle | null = null;
  private backlog: Held[] = [];
  private transportGen = 0;
  /** Number of successful initializations (joins), for tests and status. */
  starts = 0;

  constructor(opts: DfsmServiceOptions) {
    this.opts = opts;
    this.dfsm = opts.dfsm;
    this.log = opts.logger ?? nullLogger;
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastTimeout = nowSeconds(this.opts.clock);
    this.startTimer = this.opts.clock.setTimer(this.opts.firstStartMs ?? SERVICE_FIRST_START_MS, () => this.startJob());
    this.tickTimer = this.opts.clock.setTimer(this.opts.tickMs ?? SERVICE_TICK_MS, () => this.timerJob());
  }

  stop(): void {
    this.running = false;
    this.startTimer?.cancel();
    this.tickTimer?.cancel();
    this.startTimer = this.tickTimer = null;
    this.dfsm.finalize();
    this.initialized = false;
    this.backlog = [];
  }

  private startJob(): void {
    if (!this.running) return;
    const now = nowSeconds(this.opts.clock);
    const interval = this.opts.restartIntervalSec ?? SERVICE_RESTART_INTERVAL_SEC;
    if (this.restartable && !this.initialized && now - this.lastInit > interval) {
      const ok = this.initializeFn();
      this.lastInit = now;
      if (ok) {
        this.initialized = true;
        this.errcount = 0;
        this.starts++;
        this.drainBacklog();
      } else {
        if (this.errcount === 0) this.log.error({}, "can't initialize service");
        this.errcount++;
      }
    }
    if (this.running) this.startTimer = this.opts.clock.setTimer(this.opts.tickMs ?? SERVICE_TICK_MS, () => this.startJob());
  }

  private timerJob(): void {
    if (!this.running) return;
    const period = this.opts.verifyPeriodSec ?? DCDB_VERIFY_TIME;
    if (this.initialized && period > 0) {
      const now = nowSeconds(this.opts.clock);
      if (now - this.lastTimeout >= period) {
        this.lastTimeout = now;
        this.dfsm.verifyRequest();
      }
    }
    if (this.running) this.tickTimer = this.opts.clock.setTimer(this.opts.tickMs ?? SERVICE_TICK_MS, () => this.timerJob());
  }

  /** service_dfsm_initialize (+ the cpg_initialize part of dfsm_initialize). */
  private initializeFn(): boolean {
    if (!this.dfsm.restartable()) return false;
    this.dfsm.initialize();
    // Events held since the last dispatch failure belong to the session we left
    // (after cpg_leave nothing else can arrive until the next join). C leaves them
    // unread in the kept CPG handle and dispatches them after the rejoin, where a stale
    // confchg/SYNC_START from the old session makes the fresh session leave again, and
    // that leaves the new session's own events unread: an endless leave/rejoin loop
    // (found by the simulation, src/sim). Drop them instead.
    this.backlog = [];
    if (!this.dfsm.hasTransport) {
      const gen = ++this.transportGen;
      const t = this.opts.createTransport(this.handlersFor(gen));
      if (typeof t === 'number') {
        this.log.error({ code: t }, 'cpg_initialize failed');
        return false;
      }
      this.dfsm.attach(t);
    }
    if (this.dfsm.join() !== CsError.OK) {
      this.dfsm.finalize();
      return false;
    }
    return true;
  }

  private handlersFor(gen: number): TransportHandlers {
    const current = () => gen === this.transportGen && this.running;
    return {
      deliver: (from, msg, borrowed) => {
        if (current()) this.event({ kind: 'deliver', from, msg, borrowed });
      },
      confchg: (change) => {
        if (current()) this.event({ kind: 'confchg', change });
      },
      failure: (code) => {
        if (current()) this.onFailure(code);
      },
    };
  }

  private event(ev: Held): void {
    if (!this.initialized) {
      if (this.backlog.length >= MAX_BACKLOG_EVENTS) {
        // Dropping one event would break virtual synchrony unnoticed: drop them all and
        // leave, so the next initialize starts a fresh session and a full resync.
        this.log.error({ limit: MAX_BACKLOG_EVENTS }, 'event backlog full - leaving to resync');
        this.backlog = [];
        this.dfsm.send({ type: 'FAULT', reason: 'event backlog full' });
        return;
      }
      // A held message outlives the transport's call: it must own its bytes.
      this.backlog.push(ev.kind === 'deliver' && ev.borrowed ? { ...ev, msg: Buffer.from(ev.msg), borrowed: false } : ev);
      return;
    }
    this.dispatchOne(ev);
  }

  private drainBacklog(): void {
    while (this.initialized && this.backlog.length > 0) {
      const ev = this.backlog.shift() as Held;
      this.dispatchOne(ev);
    }
  }

  private dispatchOne(ev: Held): void {
    if (ev.kind === 'deliver') this.dfsm.deliver(ev.from, ev.msg, ev.borrowed);
    else this.dfsm.confchg(ev.change);
    this.afterDispatch();
  }

  /** service_dfsm_dispatch after a successful cpg_dispatch. */
  private afterDispatch(): void {
    if (!isErrorMode(this.dfsm.mode)) return;
    if (this.dfsm.joined) {
      if (this.dfsm.leave() !== CsError.OK) {
        this.dfsm.finalize();
        this.restartable = this.dfsm.restartable();
        this.dispatchFailed();
      }
      return;
    }
    if (!this.dfsm.weAreMember) this.dispatchFailed();
  }

  /**
   * poll_dispatch_fn when dispatch returned false. service_dfsm_dispatch sets the
   * service's restartable flag from the mode first: after ERROR or VERSION_ERROR the
   * DFSM is finalized (waiting writers get −EBUSY, later sends fail at once) instead of
   * keeping a CPG handle whose messages never come back.
   */
  private dispatchFailed(): void {
    this.restartable = this.dfsm.restartable();
    this.initialized = false;
    this.errcount = 0;
    if (!this.restartable || this.opts.recreateTransportOnLeave) this.dfsm.finalize();
  }

  private onFailure(code: number): void {
    this.log.error({ code }, 'cpg_dispatch failed');
    this.dfsm.finalize();
    this.restartable = this.dfsm.restartable();
    this.initialized = false;
    this.errcount = 0;
    this.transportGen++; // ignore anything the dead transport might still report
  }
}
