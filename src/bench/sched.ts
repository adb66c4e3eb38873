/**
 * Part of `npm run bench` (full runs, or `--only=sched`): whether the write ratios are
 * an artefact of this machine's scheduling. One writer's 100 B files on one cluster of
 * each kind, twice in a row on the same warmed-up daemons:
 *
 * | variant                 | what changes                         |
 * |-------------------------|--------------------------------------|
 * | as deployed             | nothing (corosync at SCHED_RR)       |
 * | corosync at SCHED_OTHER | the corosyncs lose their RR priority |
 *
 * The three corosyncs at RR preempt a daemon whenever a token arrives, so each µs of a
 * daemon's CPU costs more than a µs of wall time on two cores. Without RR both kinds
 * get faster; if the ratio stays, the gap is the daemons' own CPU per file, not the
 * preemption. (Followers at SCHED_IDLE were tried and dropped: a follower that does not
 * read fills its ring and corosync's busy-looping flush then costs everyone.) The
 * corosyncs' RR priority is put back afterwards.
 */
import { execFileSync } from 'node:child_process';
import type { Pids } from './cpu.js';
import type { Kind } from './instructions.js';
import { fmt, markdownTable } from './stats.js';

export const SCHED_VARIANTS = ['as deployed', 'corosync at SCHED_OTHER'] as const;
export type SchedVariant = (typeof SCHED_VARIANTS)[number];

/** The file size of every variant's run (one writer; the smallest files show the per-file costs most). */
const SCHED_FILE_BYTES = 100;

/** What the bench lends this measurement (src/bench/main.ts: Bench). */
export interface SchedHost {
  cluster(kind: Kind): Promise<void>;
  warmUp(dir: string): Promise<void>;
  pids(): Pids;
  measured(kind: Kind, dir: string, size: number, count: number): Promise<{ opsPerSec: number; cpu: Record<string, number> }>;
}

export interface SchedFigure {
  readonly kind: Kind;
  readonly variant: SchedVariant;
  readonly opsPerSec: number;
  /** µs of CPU per file: node 1's daemon, nodes 2+3's daemons, the three corosyncs. */
  readonly writerUs: number;
  readonly followersUs: number;
  readonly corosyncUs: number;
}

/** `chrt` on every thread of a process: policy flag (-o, -r) and priority. */
function chrt(pid: number, policy: '-o' | '-r', priority: number): void {
  execFileSync('chrt', [policy, '-a', '-p', String(priority), String(pid)], { stdio: 'ignore' });
}

/** A process's RR priority (corosync sets its own, normally the maximum, 99). */
function rrPriority(pid: number): number {
  const out = execFileSync('chrt', ['-p', String(pid)], { encoding: 'utf8' });
  const m = /priority: (\d+)/.exec(out);
  return m === null ? 99 : Number(m[1]);
}

function named(pids: Pids, prefix: string, nodes: readonly number[]): number[] {
  return nodes.map((i) => pids[`${prefix} n${i}`]).filter((p): p is number => p !== undefined);
}

function sum(cpu: Record<string, number>, keys: readonly string[]): number {
  return keys.reduce((n, k) => n + (cpu[k] ?? NaN), 0);
}

/** Apply a variant; returns the function that undoes it. */
function applyVariant(v: SchedVariant, pids: Pids): () => void {
  if (v === 'corosync at SCHED_OTHER') {
    const corosyncs = named(pids, 'corosync', [1, 2, 3]).map((p) => ({ p, prio: rrPriority(p) }));
    for (const c of corosyncs) chrt(c.p, '-o', 0);
    return () => corosyncs.forEach((c) => chrt(c.p, '-r', c.prio));
  }
  return () => undefined;
}

export async function measureSched(host: SchedHost, kinds: readonly Kind[], files: number): Promise<SchedFigure[]> {
  const out: SchedFigure[] = [];
  for (const kind of kinds) {
    await host.cluster(kind);
    await host.warmUp(`/etc/pve/sched-warm`);
    const pids = host.pids();
    for (const variant of SCHED_VARIANTS) {
      const undo = applyVariant(variant, pids);
      try {
        const r = await host.measured(kind, `/etc/pve/sched-${SCHED_VARIANTS.indexOf(variant)}`, SCHED_FILE_BYTES, files);
        out.push({
          kind,
          variant,
          opsPerSec: r.opsPerSec,
          writerUs: sum(r.cpu, ['pmxcfs n1']),
          followersUs: sum(r.cpu, ['pmxcfs n2', 'pmxcfs n3']),
          corosyncUs: sum(r.cpu, ['corosync n1', 'corosync n2', 'corosync n3']),
        });
      } finally {
        undo();
      }
    }
  }
  return out;
}

/** The section of the report (Markdown). */
export function schedTable(figs: readonly SchedFigure[]): string {
  if (figs.length === 0) return '';
  const of = (kind: Kind, v: SchedVariant): SchedFigure | undefined => figs.find((f) => f.kind === kind && f.variant === v);
  const pair = (c: number | undefined, t: number | undefined): string => `${fmt(c, 0)} / ${fmt(t, 0)}`;
  const rows = SCHED_VARIANTS.map((v) => {
    const c = of('C', v);
    const t = of('TS', v);
    const ratio = c !== undefined && t !== undefined ? t.opsPerSec / c.opsPerSec : undefined;
    return [v, fmt(c?.opsPerSec, 0), fmt(t?.opsPerSec, 0), fmt(ratio, 2), pair(c?.writerUs, t?.writerUs), pair(c?.followersUs, t?.followersUs), pair(c?.corosyncUs, t?.corosyncUs)];
  });
  return [
    '',
    `Write ${SCHED_FILE_BYTES} B, 1 writer, with and without corosync's RR priority (CPU µs per file, C / TS; src/bench/sched.ts):`,
    '',
    markdownTable(['variant', 'C ops/s', 'TS ops/s', 'TS/C', 'writer daemon', 'follower daemons', 'corosyncs'], rows),
    '',
  ].join('\n');
}
