/**
 * Where a replicated write's time goes, for `npm run bench`: hrtime stamps at FUSE
 * receive → CPG send → send returned → own delivery → SQLite commit → FUSE reply,
 * summed per FUSE operation. Off (one boolean test per stamp) unless the daemon runs
 * with PMXCFS_STAGES=FILE; then the sums are written to FILE (JSON) at most every
 * DUMP_INTERVAL_MS, and the bench reads differences between two dumps.
 *
 * Attribution: send/sent/deliver/commit stamps go to the oldest request still in
 * flight that lacks that stamp. Exact with one writer (one modifying request in
 * flight at a time); with several writers the sums are approximate.
 */
import { writeFileSync } from 'node:fs';

export const STAGES = ['send', 'sent', 'deliver', 'commit'] as const;
export type Stage = (typeof STAGES)[number];

/** Milliseconds between dumps (each one a file write: kept rare); the bench waits longer before reading. */
export const DUMP_INTERVAL_MS = 1000;
/** Requests in flight at once that are tracked (FUSE has at most a few dozen). */
const MAX_IN_FLIGHT = 256;

interface InFlight {
  readonly id: number;
  readonly op: number;
  readonly t0: bigint;
  readonly at: Partial<Record<Stage, bigint>>;
}

/** Cumulative sums (µs) per FUSE op: count, total, and each segment between stamps. */
export interface StageSums {
  count: number;
  totalUs: number;
  /** Requests that reached a CPG send (the segments below are summed over these). */
  replicated: number;
  recvToSendUs: number;
  sendUs: number;
  sentToDeliverUs: number;
  deliverToCommitUs: number;
  commitToReplyUs: number;
}

const file = process.env['PMXCFS_STAGES'];
const flight: InFlight[] = [];
const sums = new Map<number, StageSums>();
const spans = new Map<string, StageSums>();
let dirty = false;
let timer: NodeJS.Timeout | undefined;

/** Whether stamps are recorded (PMXCFS_STAGES set). */
export const stagesOn = file !== undefined && file !== '';

/** A FUSE request arrived. */
export function stageBegin(id: number, op: number): void {
  if (!stagesOn || flight.length >= MAX_IN_FLIGHT) return;
  flight.push({ id, op, t0: process.hrtime.bigint(), at: {} });
}

/** A stage of the oldest in-flight request that has not passed it yet. */
export function stageMark(stage: Stage): void {
  if (!stagesOn) return;
  const r = flight.find((f) => f.at[stage] === undefined && (stage === 'send' || f.at.send !== undefined));
  if (r !== undefined) r.at[stage] = process.hrtime.bigint();
}

const us = (a: bigint | undefined, b: bigint | undefined): number => (a === undefined || b === undefined ? 0 : Number(b - a) / 1000);

/** The request was answered. */
export function stageEnd(id: number): void {
  if (!stagesOn) return;
  const k = flight.findIndex((f) => f.id === id);
  if (k < 0) return;
  const r = flight[k]!;
  flight.splice(k, 1);
  const t = process.hrtime.bigint();
  const s = sums.get(r.op) ?? { count: 0, totalUs: 0, replicated: 0, recvToSendUs: 0, sendUs: 0, sentToDeliverUs: 0, deliverToCommitUs: 0, commitToReplyUs: 0 };
  s.count++;
  s.totalUs += us(r.t0, t);
  const a = r.at;
  if (a.send !== undefined && a.sent !== undefined && a.deliver !== undefined && a.commit !== undefined) {
    s.replicated++;
    s.recvToSendUs += us(r.t0, a.send);
    s.sendUs += us(a.send, a.sent);
    s.sentToDeliverUs += us(a.sent, a.deliver);
    s.deliverToCommitUs += us(a.deliver, a.commit);
    s.commitToReplyUs += us(a.commit, t);
  }
  sums.set(r.op, s);
  dirty = true;
  timer ??= setInterval(dump, DUMP_INTERVAL_MS).unref();
}

/**
 * A span measured by the caller from `t0` (process.hrtime.bigint()) to now, summed
 * under `name` beside the FUSE ops (e.g. the JS work of one CPG delivery).
 */
export function stageSpan(name: string, t0: bigint): void {
  if (!stagesOn) return;
  const s = spans.get(name) ?? { count: 0, totalUs: 0, replicated: 0, recvToSendUs: 0, sendUs: 0, sentToDeliverUs: 0, deliverToCommitUs: 0, commitToReplyUs: 0 };
  s.count++;
  s.totalUs += Number(process.hrtime.bigint() - t0) / 1000;
  spans.set(name, s);
  dirty = true;
  timer ??= setInterval(dump, DUMP_INTERVAL_MS).unref();
}

function dump(): void {
  if (!dirty || file === undefined) return;
  dirty = false;
  try {
    writeFileSync(file, JSON.stringify({ ...Object.fromEntries(sums), ...Object.fromEntries(spans) }));
  } catch {
    // A diagnostics file that cannot be written must not take the daemon down.
    clearInterval(timer);
  }
}
