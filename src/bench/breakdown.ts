/**
 * The per-stage breakdown of replicated writes (src/util/stages.ts), as the bench
 * prints it: the daemon on node 1 dumps cumulative sums per FUSE operation; the bench
 * takes the difference around one batch of writes and divides by the files written.
 */
import { readFileSync } from 'node:fs';
import { FuseOp } from '../fuse/native.js';
import { DUMP_INTERVAL_MS, type StageSums } from '../util/stages.js';
import { fmt, markdownTable } from './stats.js';

export type StageDump = Record<string, StageSums>;

/** Wait this long after a batch before reading: the daemon dumps at most every DUMP_INTERVAL_MS. */
export const SETTLE_MS = DUMP_INTERVAL_MS * 2 + 100;

export function readStages(file: string): StageDump {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StageDump;
  } catch {
    return {};
  }
}

const FIELDS = ['count', 'totalUs', 'replicated', 'recvToSendUs', 'sendUs', 'sentToDeliverUs', 'deliverToCommitUs', 'commitToReplyUs'] as const;

export function diffStages(a: StageDump, b: StageDump): StageDump {
  const out: StageDump = {};
  for (const [op, s] of Object.entries(b)) {
    const d = { ...s };
    for (const f of FIELDS) d[f] = s[f] - (a[op]?.[f] ?? 0);
    if (d.count > 0) out[op] = d;
  }
  return out;
}

/** Field-wise sum of two dumps (several rounds of one configuration). */
export function mergeStages(a: StageDump, b: StageDump): StageDump {
  const out: StageDump = { ...a };
  for (const [op, s] of Object.entries(b)) {
    const d = { ...s };
    for (const f of FIELDS) d[f] = s[f] + (a[op]?.[f] ?? 0);
    out[op] = d;
  }
  return out;
}

const opName = (op: string): string => Object.entries(FuseOp).find(([, v]) => String(v) === op)?.[0].toLowerCase() ?? op;

/** Rows: FUSE op, requests per file, mean µs, then the replicated segments (µs). */
export function breakdownRows(d: StageDump, files: number): string[][] {
  return Object.entries(d).map(([op, s]) => {
    const r = Math.max(1, s.replicated);
    const seg = (v: number): string => (s.replicated > 0 ? fmt(v / r, 0) : '');
    return [opName(op), fmt(s.count / Math.max(1, files), 2), fmt(s.totalUs / s.count, 0), seg(s.recvToSendUs), seg(s.sendUs), seg(s.sentToDeliverUs), seg(s.deliverToCommitUs), seg(s.commitToReplyUs)];
  });
}

export function breakdownTable(rows: readonly (readonly string[])[]): string {
  return markdownTable(['FUSE op', 'per file', 'mean µs', 'recv → CPG send', 'send (IPC)', 'sent → own delivery', 'delivery → commit', 'commit → reply'], rows);
}
