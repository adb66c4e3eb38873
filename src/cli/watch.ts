/**
 * `pmxcfs-ts status --watch [--interval S] [--count N]`: a live view redrawn every
 * second from the control socket (status + metrics): members, modes and queue depths
 * per DFSM group, write rate and latency percentiles over the last interval, the last
 * verify and a running full copy. On a terminal it redraws in place (works over
 * ssh: only "home" and "clear to end" escapes); otherwise it prints plain frames.
 */
import { controlRequest, controlSocketPath } from '../daemon/control.js';
import { type Family, parseExposition, type Sample } from '../metrics/parse.js';
import { FUSE_WRITE_OPS } from '../metrics/requests.js';
import type { ProgressSnapshot } from '../metrics/progress.js';

interface WatchStatus {
  nodename: string;
  nodeip: string;
  quorate: boolean;
  db: { version: number; entries: number };
  dfsm: null | { members: { nodeid: number; pid: number; synced: boolean }[]; lastVerify: { time: number; result: string } | null };
  sync?: ProgressSnapshot | null;
}

/** Write-op latency buckets summed over operations: upper bounds and cumulative counts. */
export interface Buckets {
  readonly bounds: number[];
  readonly counts: number[];
}

export function writeBuckets(families: Map<string, Family>): Buckets {
  const f = families.get('pmxcfs_fuse_request_duration_seconds');
  const byLe = new Map<number, number>();
  for (const s of f?.samples ?? []) {
    if (!s.name.endsWith('_bucket') || !FUSE_WRITE_OPS.has(s.labels['op'] ?? '')) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const bounds = [...byLe.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => byLe.get(b)!) };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket. */
export function quantile(b: Buckets, q: number): number | null {
  const total = b.counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  const i = b.counts.findIndex((c) => c >= rank);
  const upper = b.bounds[i]!;
  const lower = i === 0 ? 0 : b.bounds[i - 1]!;
  if (upper === Infinity) return lower;
  const below = i === 0 ? 0 : b.counts[i - 1]!;
  const inBucket = b.counts[i]! - below;
  return lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
}

function minus(now: Buckets, before: Buckets | null): Buckets {
  if (before === null || before.bounds.length !== now.bounds.length) return now;
  return { bounds: now.bounds, counts: now.counts.map((c, i) => c - (before.counts[i] ?? 0)) };
}

const ms = (s: number | null): string => (s === null ? '-' : `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`);

function groupRows(families: Map<string, Family>): string[] {
  const modes = families.get('pmxcfs_dfsm_mode')?.samples ?? [];
  const groups = [...new Set(modes.map((s) => s.labels['group'] ?? ''))];
  const val = (name: string, group: string, extra: Record<string, string> = {}): string => {
    const s = families.get(name)?.samples.find((x: Sample) => x.labels['group'] === group && Object.entries(extra).every(([k, v]) => x.labels[k] === v));
    return s === undefined ? '-' : String(s.value);
  };
  const rows = ['group   mode         epoch  members  synced  msg-queue  sync-queue  waiting'];
  for (const g of groups) {
    const mode = modes.find((s) => s.labels['group'] === g && s.value === 1)?.labels['mode'] ?? '-';
    const cells = [g.padEnd(7), mode.padEnd(12), val('pmxcfs_dfsm_epoch', g).padStart(5), val('pmxcfs_dfsm_members', g).padStart(8), val('pmxcfs_dfsm_members_synced', g).padStart(7)];
    cells.push(val('pmxcfs_dfsm_queue_messages', g, { queue: 'msg' }).padStart(10), val('pmxcfs_dfsm_queue_messages', g, { queue: 'sync' }).padStart(11), val('pmxcfs_dfsm_waiting_writers', g).padStart(8));
    rows.push(cells.join(' '));
  }
  return groups.length === 0 ? ['groups:      none (local mode or not connected)'] : rows;
}

export function progressLine(p: ProgressSnapshot): string {
  const bytes = `${(p.bytes / 1e6).toFixed(1)}${p.totalBytes === null ? '' : `/${(p.totalBytes / 1e6).toFixed(1)}`} MB`;
  const eta = p.running ? `, ETA ${p.etaSeconds === null ? '-' : `${p.etaSeconds} s`}` : ' (done)';
  return `full copy:   ${p.role} ${p.percent}% ${p.inodes}/${p.totalInodes} inodes, ${bytes}, ${p.inodesPerSecond} inodes/s${eta}`;
}

/** One frame of the view; `prev` is the previous frame's write buckets (null: since start). */
export function renderFrame(s: WatchStatus, families: Map<string, Family>, prev: Buckets | null, seconds: number, now: Date): { text: string; buckets: Buckets } {
  const buckets = writeBuckets(families);
  const d = minus(buckets, prev);
  const writes = d.counts.at(-1) ?? 0;
  const window = prev === null ? 'since start' : `last ${seconds.toFixed(1)} s`;
  const members = s.dfsm?.members.map((m) => `${m.nodeid}/${m.pid}${m.synced ? '' : '*'}`).join(' ') ?? '-';
  const v = s.dfsm?.lastVerify ?? null;
  const lines = [
    `pmxcfs-ts ${s.nodename} (${s.nodeip})  ${now.toISOString()}  quorate ${s.quorate ? 'yes' : 'NO'}  db version ${s.db.version}, ${s.db.entries} inodes`,
    `members:     ${members || '-'}${members.includes('*') ? '   (* not synced)' : ''}`,
    ...groupRows(families),
    `writes:      ${prev === null ? writes : (writes / Math.max(seconds, 1e-3)).toFixed(1) + '/s'} (${window}), latency p50 ${ms(quantile(d, 0.5))}  p90 ${ms(quantile(d, 0.9))}  p99 ${ms(quantile(d, 0.99))}`,
    `last verify: ${v === null ? '-' : `${v.result} at ${new Date(v.time * 1000).toISOString()}`}`,
  ];
  if (s.sync) lines.push(progressLine(s.sync));
  return { text: lines.join('\n') + '\n', buckets };
}

/** One status and one metrics request; a message instead when the daemon does not answer (it may be restarting). */
async function fetchFrame(runDir: string): Promise<{ status: WatchStatus; families: Map<string, Family> } | string> {
  const socket = controlSocketPath(runDir);
  try {
    const st = await controlRequest(socket, { cmd: 'status' }, 5000);
    const mt = await controlRequest(socket, { cmd: 'metrics' }, 5000);
    if (!st.ok) return st.error;
    if (!mt.ok) return mt.error;
    return { status: st.data as WatchStatus, families: parseExposition(String(mt.data)) };
  } catch (err) {
    return `no answer from the daemon at ${socket}: ${(err as Error).message}`;
  }
}

export async function watch(runDir: string, opts: { intervalMs: number; count: number | null }): Promise<number> {
  const tty = process.stdout.isTTY === true;
  let prev: Buckets | null = null;
  let last = performance.now();
  let stop = false;
  let answered = false;
  const onSig = (): void => void (stop = true);
  process.once('SIGINT', onSig);
  if (tty) process.stdout.write('\x1b[?25l\x1b[2J');
  for (let frame = 0; !stop && (opts.count === null || frame < opts.count); frame++) {
    if (frame > 0) await new Promise((r) => setTimeout(r, opts.intervalMs));
    const f = await fetchFrame(runDir);
    const t = performance.now();
    let body = `pmxcfs-ts: ${typeof f === 'string' ? f : ''}\n`;
    answered = typeof f !== 'string';
    if (typeof f !== 'string') {
      const r = renderFrame(f.status, f.families, prev, (t - last) / 1000, new Date());
      prev = r.buckets;
      body = r.text;
    }
    last = t;
    process.stdout.write(tty ? `\x1b[H${body.replaceAll('\n', '\x1b[K\n')}\x1b[J` : `${body}\n`);
  }
  if (tty) process.stdout.write('\x1b[?25h');
  process.removeListener('SIGINT', onSig);
  return answered ? 0 : 1;
}
