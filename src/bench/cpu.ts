/**
 * CPU time per operation per process, from /proc/PID/stat (utime + stime, clock
 * ticks): the bench samples the daemons and corosyncs of every lab node around a
 * batch of writes. On a shared 2-core machine this is the figure that turns into
 * latency, and it is far less noisy than wall-clock time.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ on Linux (sysconf(_SC_CLK_TCK)); /proc/PID/stat counts in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in µs, or NaN when it is gone. */
export function cpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** A process counts as idle while it uses less than this share of one core. */
const IDLE_CPU_SHARE = 0.05;
/** How long it has to stay below IDLE_CPU_SHARE. */
const IDLE_WINDOW_MS = 2_000;

/**
 * Resolves once every process has been idle for IDLE_WINDOW_MS (or has exited): a
 * daemon whose JIT is still compiling the warm-up's hot functions is not. Rejects
 * after `timeoutMs`.
 */
export async function untilIdle(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let since = pids.map(cpuUs);
  for (;;) {
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const now = pids.map(cpuUs);
    const busy = now.some((us, k) => us - since[k]! > IDLE_CPU_SHARE * IDLE_WINDOW_MS * 1000);
    if (!busy) return;
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} still busy after ${timeoutMs} ms`);
    since = now;
  }
}

/** Named processes to sample, e.g. { 'pmxcfs n1': 1234, 'corosync n1': 1200 }. */
export type Pids = Readonly<Record<string, number>>;

export interface CpuSample {
  readonly at: Readonly<Record<string, number>>;
}

export function sampleCpu(pids: Pids): CpuSample {
  return { at: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuUs(pid)])) };
}

/** µs of CPU per operation for each process between two samples. */
export function cpuPerOp(a: CpuSample, b: CpuSample, ops: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.at)) out[k] = (v - (a.at[k] ?? NaN)) / Math.max(1, ops);
  return out;
}

/** Add per-op figures of several runs (for averaging by the caller). */
export function addInto(acc: Record<string, number[]>, x: Record<string, number>): void {
  for (const [k, v] of Object.entries(x)) (acc[k] ??= []).push(v);
}

/**
 * utime + stime in µs per thread name of a process (/proc/PID/task/TID; threads of
 * one name summed): splits a daemon's CPU into its loop thread, the CPG sender
 * thread, the libuv pool and the FUSE thread. Threads that exited are not counted.
 */
export function threadCpuUs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/** "name ms, ..." of b − a (threads above 5 ms), largest first. */
export function threadCpuText(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): string {
  const MIN_SHOWN_MS = 5;
  return Object.entries(b)
    .map(([k, v]) => [k, (v - (a[k] ?? 0)) / 1000] as const)
    .filter(([, ms]) => ms >= MIN_SHOWN_MS)
    .sort((x, y) => y[1] - x[1])
    .map(([k, ms]) => `${k} ${ms.toFixed(0)}`)
    .join(', ');
}
