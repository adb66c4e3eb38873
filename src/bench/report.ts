/**
 * The parts of the bench output added for issue 14: CPU per file per process, the
 * per-stage breakdown of pmxcfs-ts on node 1, the senders' own `stat` latency during
 * a full copy, and the SVG charts (latency distributions, sync time against inodes).
 */
import { writeFileSync } from 'node:fs';
import { breakdownRows, breakdownTable } from './breakdown.js';
import type { SyncFigure, WriteFigure } from './main.js';
import { fmt, markdownTable } from './stats.js';
import { cdf, lineChart, type Series } from './svg.js';

const SIZE_COLORS: Record<number, string> = { 100: '#1f77b4', 4096: '#d62728', 65536: '#2ca02c' };
const sizeLabel = (size: number): string => (size === 100 ? '100 B' : size === 4096 ? '4 KiB' : '64 KiB');

function cpuTable(writes: readonly WriteFigure[]): string {
  const rows: string[][] = [];
  for (const w of writes) {
    const c = w.cpuUsPerOp;
    if (c === undefined || w.kind === 'TS fs batch') continue;
    const corosync = ['n1', 'n2', 'n3'].reduce((sum, n) => sum + (c[`corosync ${n}`] ?? 0), 0);
    const t = w.totemPerOp;
    rows.push([`${w.kind} ${sizeLabel(w.size)} × ${w.writers}`, fmt(c['pmxcfs n1'], 0), fmt(c['pmxcfs n2'], 0), fmt(c['pmxcfs n3'], 0), fmt(corosync, 0), fmt(t?.['tokens'], 2), fmt(t?.['multicasts'], 2)]);
  }
  return markdownTable(['CPU µs per file (median of rounds)', 'daemon n1 (writer)', 'daemon n2', 'daemon n3', 'corosync n1+n2+n3', 'n1 totem tokens / file', 'n1 multicasts / file'], rows);
}

function stageSection(writes: readonly WriteFigure[]): string {
  const out: string[] = [];
  for (const w of writes) {
    if (w.kind !== 'TS' || w.writers !== 1 || w.stages === undefined) continue;
    out.push(`pmxcfs-ts node 1, ${sizeLabel(w.size)}, 1 writer: FUSE requests per file and where a replicated request's time goes (mean µs):`, '', breakdownTable(breakdownRows(w.stages, w.ops)), '');
  }
  return out.join('\n');
}

function statTable(syncs: readonly SyncFigure[]): string {
  const rows = [...new Set(syncs.map((s) => s.db))].flatMap((db) => {
    const c = syncs.find((s) => s.db === db && s.kind === 'C' && s.senders === undefined);
    const t = syncs.find((s) => s.db === db && s.kind === 'TS' && s.senders === undefined);
    const ok = t === undefined ? '' : t.leaderStatP99Ms <= 10 ? ' ✓' : ' ✗';
    return [
      [`full copy ${db}: leader's own /etc/pve stat p99 ms`, fmt(c?.leaderStatP99Ms, 2), fmt(t?.leaderStatP99Ms, 2), `≤ 10${ok}`],
      [`full copy ${db}: the other sender's (synced, ignores the copy) stat p99 ms`, fmt(c?.otherSenderStatP99Ms, 2), fmt(t?.otherSenderStatP99Ms, 2), ''],
    ];
  });
  return markdownTable(['figure', 'C', 'pmxcfs-ts', 'target'], rows);
}

/** Writes `${base}-latency.svg` and `${base}-sync.svg`; returns their paths. */
function charts(writes: readonly WriteFigure[], syncs: readonly SyncFigure[], base: string): string[] {
  const lat: Series[] = [];
  for (const w of writes) {
    if (w.writers !== 1 || w.latUs === undefined || w.kind === 'TS fs batch') continue;
    lat.push({ name: `${w.kind === 'TS' ? 'pmxcfs-ts' : 'C'} ${sizeLabel(w.size)}`, points: cdf(w.latUs.map((u) => u / 1000)), color: SIZE_COLORS[w.size] ?? '#555', dashed: w.kind === 'C' });
  }
  const sync: Series[] = (['C', 'TS'] as const).map((kind) => ({
    name: kind === 'TS' ? 'pmxcfs-ts' : 'C',
    points: syncs.filter((s) => s.kind === kind && s.senders === undefined).map((s) => [s.inodes, s.seconds] as const).sort((a, b) => a[0] - b[0]),
    color: kind === 'TS' ? '#d62728' : '#1f77b4',
    dashed: kind === 'C',
  }));
  const files = [`${base}-latency.svg`, `${base}-sync.svg`];
  writeFileSync(files[0]!, lineChart({ title: 'create+write+close latency, 1 writer (CDF)', xLabel: 'latency ms (log)', yLabel: 'fraction of files', series: lat, logX: true }));
  writeFileSync(files[1]!, lineChart({ title: 'full-copy sync: start → synced', xLabel: 'inodes', yLabel: 'seconds', series: sync.filter((s) => s.points.length > 0) }));
  return files;
}

/** The added sections as Markdown, and the chart files written next to the JSON. */
export function extraReport(writes: readonly WriteFigure[], syncs: readonly SyncFigure[], base: string): { text: string; files: string[] } {
  const text = ['', cpuTable(writes), '', stageSection(writes), statTable(syncs), ''].join('\n');
  return { text, files: charts(writes, syncs, base) };
}
