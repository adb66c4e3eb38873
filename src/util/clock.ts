/**
 * The one clock of the daemon: wall time in milliseconds and one-shot timers,
 * injectable so that tests and the simulation run on virtual time. Whole seconds
 * (C's time(NULL): mtimes, lock timers, message headers, status) come from
 * `nowSeconds(clock)`, never from a second clock type.
 *
 * | here            | C                                               |
 * |-----------------|-------------------------------------------------|
 * | Clock.nowMs()   | g_get_real_time / qb_util_nano_from_epoch_get   |
 * | nowSeconds      | time(NULL)                                      |
 * | Clock.setTimer  | qb_loop_timer_add (loop.c jobs)                 |
 * | ManualClock     | (test only) virtual time, advanced explicitly   |
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** C's time(NULL): whole seconds since the epoch (truncated to u32 where it goes on the wire). */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time. Timers fire only inside advance()/advanceTo(), in (due time,
 * creation order) order, so a run is reproducible.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startMs = 1_795_000_000_000) {
    this.t = startMs;
  }

  /** A clock standing at `seconds` since the epoch. */
  static atSeconds(seconds: number): ManualClock {
    return new ManualClock(seconds * 1000);
  }

  nowMs(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    if (!(ms >= 0)) throw new RangeError(`timer delay must be >= 0, got ${ms}`);
    const timer: PendingTimer = { at: this.t + ms, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of live timers. */
  pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    let best: PendingTimer | undefined;
    for (const x of this.timers) if (!x.cancelled && (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq))) best = x;
    return best?.at;
  }

  /**
   * Move time forward by `ms`, firing due timers in order. `between` runs after each
   * fired timer (e.g. `() => network.runUntilIdle()`), so events caused by a timer
   * are processed before the next timer fires.
   */
  advance(ms: number, between?: () => void): void {
    this.advanceTo(this.t + ms, between);
  }

  advanceTo(target: number, between?: () => void): void {
    for (;;) {
      let best: PendingTimer | undefined;
      for (const x of this.timers) {
        if (x.cancelled || x.at > target) continue;
        if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
      }
      if (!best) break;
      this.t = Math.max(this.t, best.at);
      best.cancelled = true;
      this.timers = this.timers.filter((x) => !x.cancelled);
      best.fn();
      between?.();
    }
    this.t = Math.max(this.t, target);
  }
}
