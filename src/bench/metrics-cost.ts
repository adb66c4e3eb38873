/**
 * `npm run bench -- --metrics-cost [--quick]`: what metrics cost in write throughput.
 * One 3-node pmxcfs-ts cluster on the bench's lab (ownedLabPrefix); recording is
 * switched on and off at run time on all three daemons (`pmxcfs-ts metrics
 * --on/--off`) between blocks of writes, in ABBA order, so both variants share the
 * same processes, database and background load. Each block creates+writes+closes
 * new files through /etc/pve on node 1 (src/bench/writer.ts). Reports the median
 * ops/s of each variant, the CPU time the three daemons spent per write (schedstat)
 * and the cost in percent (issue 17: ≤ 3%), plus the nanoseconds of each hot-path
 * call measured in-process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DaemonLab } from '../lab/daemons.js';
import { Lab, ownedLabPrefix } from '../lab/lab.js';
import { metrics } from '../metrics/metrics.js';
import { fmt, markdownTable, median } from './stats.js';

const WRITER = fileURLToPath(new URL('./writer.js', import.meta.url));
type Variant = 'metrics' | 'no-metrics';
const CONFIGS = [
  { size: 100, writers: 1 },
  { size: 100, writers: 4 },
  { size: 4096, writers: 1 },
] as const;

function log(msg: string): void {
  process.stderr.write(`[bench metrics ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function cluster(lab: Lab, d: DaemonLab): Promise<void> {
  for (const i of [1, 2, 3]) d.start(i, [], { fuse: true });
  await d.waitSynced([1, 2, 3], 120_000);
  const deadline = Date.now() + 30_000;
  while ((await lab.exec(1, ['grep', '-q', ' /etc/pve fuse', '/proc/mounts'])).code !== 0) {
    if (Date.now() > deadline) throw new Error('n1: /etc/pve not mounted');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function switchMetrics(lab: Lab, d: DaemonLab, v: Variant): Promise<void> {
  for (const i of [1, 2, 3]) {
    const r = await lab.exec(i, d.cli('metrics', v === 'metrics' ? '--on' : '--off'), { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`n${i} metrics switch: ${r.stderr}`);
  }
}

/** CPU time of all threads of a process in ns (schedstat: exact, unlike the 10 ms ticks of stat). */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return ns;
}

/** ops/s of one writer run and the CPU µs per op the three daemons spent on it. */
async function writeOps(lab: Lab, dir: string, size: number, count: number, writers: number): Promise<{ opsPerSec: number; cpuUsPerOp: number }> {
  const pids = [1, 2, 3].map((i) => lab.proc(i, 'pmxcfs')!.pid);
  const cpu0 = pids.reduce((n, p) => n + cpuNs(p), 0);
  const r = await lab.exec(1, [process.execPath, WRITER, JSON.stringify({ dir, size, count, writers })], { timeoutMs: 600_000 });
  const cpu1 = pids.reduce((n, p) => n + cpuNs(p), 0);
  if (r.code !== 0) throw new Error(`writer: exit ${r.code}: ${r.stderr}`);
  const w = JSON.parse(r.stdout) as { ops: number; wallMs: number; errors: string[] };
  if (w.errors.length > 0) throw new Error(`writer errors: ${w.errors.slice(0, 3).join('; ')}`);
  return { opsPerSec: (w.ops * 1000) / w.wallMs, cpuUsPerOp: (cpu1 - cpu0) / 1000 / w.ops };
}

/** ns per call of the hot-path calls, in this process (no daemon). */
function hotPathNs(): Record<string, number> {
  const n = 2_000_000;
  const g = metrics.dfsm('bench');
  const time = (fn: (k: number) => void): number => {
    for (let k = 0; k < 10_000; k++) fn(k);
    const t = process.hrtime.bigint();
    for (let k = 0; k < n; k++) fn(k);
    return Number(process.hrtime.bigint() - t) / n;
  };
  return {
    'dfsm message': time((k) => g.message('in', k & 7, 100)),
    'fuse request + reply': time((k) => (metrics.fuse.request(k + 1, 13), metrics.fuse.reply(k + 1, 0))),
    'sqlite commit': time(() => metrics.sqliteCommit(0.0002)),
  };
}

export async function runMetricsCost(quick: boolean): Promise<number> {
  const lab = new Lab({ prefix: ownedLabPrefix('bench') });
  const d = new DaemonLab(lab);
  const blocks = quick ? 4 : 12;
  const count = quick ? 100 : 200;
  const ops = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  await lab.down();
  await lab.up(3, { timeoutMs: 60_000 });
  try {
    await cluster(lab, d);
    await writeOps(lab, '/etc/pve/warm', 100, 100, 1);
    for (const c of CONFIGS) {
      for (let b = 0; b < blocks; b++) {
        const v: Variant = [0, 3].includes(b % 4) ? 'metrics' : 'no-metrics'; // ABBA
        await switchMetrics(lab, d, v);
        const x = await writeOps(lab, `/etc/pve/m-${c.size}-${c.writers}-${b}`, c.size, count, c.writers);
        const key = `${v}/${c.size}/${c.writers}`;
        ops.set(key, [...(ops.get(key) ?? []), x.opsPerSec]);
        cpu.set(key, [...(cpu.get(key) ?? []), x.cpuUsPerOp]);
        log(`${c.size} B x${c.writers} block ${b + 1}/${blocks} ${v}: ${x.opsPerSec.toFixed(0)} ops/s, daemons' CPU ${x.cpuUsPerOp.toFixed(0)} µs/op`);
      }
    }
  } finally {
    await lab.down();
  }
  const rows = CONFIGS.flatMap((c) => {
    const what = `write ${c.size} B, ${c.writers} writer${c.writers > 1 ? 's' : ''}`;
    const get = (m: Map<string, number[]>, v: Variant): number => median(m.get(`${v}/${c.size}/${c.writers}`)!);
    const [on, off] = [get(ops, 'metrics'), get(ops, 'no-metrics')];
    const [cOn, cOff] = [get(cpu, 'metrics'), get(cpu, 'no-metrics')];
    return [
      [`${what}: ops/s`, fmt(on, 0), fmt(off, 0), `${fmt(((off - on) / off) * 100, 1)} %`],
      [`${what}: daemons' CPU µs/op`, fmt(cOn, 0), fmt(cOff, 0), `${fmt(((cOn - cOff) / cOff) * 100, 1)} %`],
    ];
  });
  const ns = Object.entries(hotPathNs()).map(([k, v]) => [`hot path: ${k}`, `${fmt(v, 0)} ns`, '', '']);
  process.stdout.write(`\nmetrics cost, ${blocks / 2} blocks of ${count} writes per variant and figure (ABBA, median):\n\n${markdownTable(['figure', 'metrics on', 'off', 'cost'], [...rows, ...ns])}\n`);
  return 0;
}
