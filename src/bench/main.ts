/**
 * `npm run bench` — pmxcfs-ts against the C pmxcfs ($PMXCFS_C_BIN) and the raw CPG
 * limit on the 3-node lab `pmxbench`, in one run (issue 8). Without $PMXCFS_C_BIN
 * only pmxcfs-ts is measured.
 *
 *   1. replicated writes through /etc/pve (FUSE) from node 1: create+write+close of
 *      100 B / 4 KiB / 64 KiB files, 1 and 4 writers (ops/s, median, p99), timed by
 *      src/bench/writer.ts running inside the node, 3 alternating rounds per kind
 *      (rate and median: the median of the rounds'); for pmxcfs-ts also `fs batch`;
 *      in full runs (or `--only=sched`) also 100 B files with and without corosync's
 *      RR priority, which says whether the ratio is the machine's (src/bench/sched.ts);
 *   2. full-copy sync: nodes 1, 2 hold a generated DB, node 3 starts empty; time from
 *      its daemon's start to its "all data is up to date" log line, its RSS after;
 *   3. DB load: daemon start in local mode (-l) on node 1 until /etc/pve is mounted,
 *      RSS; plus in-process Memdb load, cold index and checksum (src/bench/dbload.ts,
 *      node:crypto vs @noble/hashes);
 *   4. raw CPG round trip and throughput (src/bench/cpg-measure.ts), the limit;
 *   5. IPC `pve2` round trips (GET_FS_VERSION, GET_CONFIG 4 KiB, guest properties
 *      over 100 guests) on a local-mode daemon on node 1 (src/bench/ipc.ts);
 *   6. with `--instructions` (or `--only=instructions`): user-space instructions per
 *      replicated 4 KiB file on the writer and a follower, by component, counted by
 *      callgrind — the figure the machine's load does not move (src/bench/instructions.ts).
 *
 * C and pmxcfs-ts are measured alternately in the same run; a node runs one of them.
 * Prints a Markdown table and writes bench/run-STAMP.json. `--quick` is a short run;
 * `--only=cpg|writes|sched|sync|load|ipc|instructions` runs one part. Full copy: `--rounds=N`
 * per DB, `--sync-db=6k|60k` one DB, `--no-probe` without the senders' `stat` probe
 * (the leader's CPU is then the copy's alone); each run logs the CPU per thread of
 * leader and joiner and (pmxcfs-ts) the joiner's start/sync timeline.
 * `--metrics-cost`: only metrics on vs --no-metrics (src/bench/metrics-cost.ts).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../cluster/native.js';
import { daemonEnv, DaemonLab } from '../lab/daemons.js';
import { type TotemCounters, totemCounters, totemPerOp } from './totem.js';
import { Lab, labUnavailable, ownedLabPrefix, type ProcInfo } from '../lab/lab.js';
import { SETTLE_MS, diffStages, mergeStages, readStages, type StageDump } from './breakdown.js';
import { addInto, cpuPerOp, cpuUs, sampleCpu, threadCpuText, threadCpuUs, type Pids } from './cpu.js';
import { measureCpg, type CpgRow } from './cpg-measure.js';
import { extraReport } from './report.js';
import { cachedDb } from './gendb.js';
import { fmt, markdownTable, median, percentile, rssMiB } from './stats.js';
import { type IpcFigure, ipcBenchDb, measureIpc, waitIpc } from './ipc.js';
import { IPC_BENCH_OPS, type IpcMeasure } from './ipc-measure.js';
import { INSTRUCTION_COMPONENTS, type InstructionsFigure, type InstructionsHost, instructionsUnavailable, measureKind } from './instructions.js';
import { measureSched, type SchedFigure, type SchedHost, schedTable } from './sched.js';

type Kind = InstructionsFigure['kind'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const WRITER = fileURLToPath(new URL('./writer.js', import.meta.url));
const DBLOAD = fileURLToPath(new URL('./dbload.js', import.meta.url));
const STATLOOP = fileURLToPath(new URL('./statloop.js', import.meta.url));
const CACHE = '/var/tmp/pmxcfs-bench';
/**
 * Files written before the write figures of each cluster (see writes()): V8 tiers up the
 * functions run once or twice per file only after 2,000–4,000 files (`--trace-opt`,
 * 4 KiB files in batches of 250: applyFuse at 2,000, the chart's deliverNormal at 2,500,
 * fsops/PveFs create at 3,500, the FUSE lookup at 4,000).
 */
const WRITE_WARMUP_FILES = 4000;
/**
 * The warm-up makes a directory every this many files (src/bench/writer.ts: perDir), as
 * a long-running node sees mkdirs among its writes: after a write-only warm-up the
 * measured round's first mkdir deoptimized the followers' Dcdb.deliver (`--trace-deopt`:
 * "Insufficient type feedback"), and it stayed unoptimised through the round.
 */
const WARMUP_FILES_PER_DIR = 100;
/** Write rounds per kind in a full run: the median of three survives one disturbed round (on this host one was seen at a third of the others' rate). */
const WRITE_ROUNDS = 3;
/** Rounds per kind of each `-l` start (about 1 s each): a start moves by ±20% from one to the next. */
const LOAD_ROUNDS = 5;
const LOAD_ROUNDS_QUICK = 3;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export interface WriteFigure {
  kind: Kind | 'TS fs batch';
  size: number;
  writers: number;
  ops: number;
  /** Median over rounds of each round's rate (roundsOpsPerSec). */
  opsPerSec: number;
  roundsOpsPerSec: number[];
  /** Median over rounds of each round's median latency. */
  medianMs?: number;
  p99Ms?: number;
  errors: string[];
  /** Median over rounds of µs CPU per file for each daemon and corosync. */
  cpuUsPerOp?: Record<string, number>;
  /** Node 1's corosync per file: token rotations received, messages multicast (median of rounds). */
  totemPerOp?: Record<string, number>;
  /** TS: stage sums of node 1 over all rounds (src/util/stages.ts). */
  stages?: StageDump;
  /** Ascending latencies (µs), for the charts; not written to the JSON. */
  latUs?: number[];
}

export interface SyncFigure {
  /** The joiner's kind (and the senders', unless `senders` says otherwise). */
  kind: Kind;
  /** A mixed round's senders (nodes 1, 2): C senders + TS joiner, or the reverse. */
  senders?: Kind;
  /** The worst p99 (ms) over the rounds of `stat` on the leader's (node 1's) own /etc/pve while it sends the full copy: issue 14's figure. */
  leaderStatP99Ms: number;
  /** The same on node 2, the other sender: a synced member that receives the copy and ignores it. */
  otherSenderStatP99Ms: number;
  db: string;
  inodes: number;
  bytes: number;
  runsS: number[];
  seconds: number;
  joinerRssMiB: number;
  leaderRssMiB: number;
}

interface LoadFigure {
  kind: Kind;
  db: string;
  runsMs: number[];
  ms: number;
  rssMiB: number;
}

/**
 * When the joiner's log (pmxcfs-ts, JSON lines) shows each step of its start and
 * sync, in ms after its spawn: the part before `members` is start-up, the rest the
 * copy (states, the leader's UPDATEs, the commit).
 */
export function joinerTimeline(logText: string, spawnedAt: number): string {
  const steps: [string, (l: { domain?: string; msg?: string }) => boolean][] = [
    ['first log line', () => true],
    ['ready', (l) => l.msg === 'pmxcfs-ts ready'],
    ['members', (l) => l.domain === 'dcdb' && l.msg === 'members'],
    ['states in', (l) => l.domain === 'dcdb' && l.msg === 'waiting for updates from leader'],
    ['committed', (l) => l.domain === 'dcdb' && l.msg === 'all data is up to date'],
  ];
  const lines = logText
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { domain?: string; msg?: string; time: number });
  return steps
    .map(([name, match]) => {
      const l = lines.find(match);
      return `${name} ${l === undefined ? '?' : (l.time - spawnedAt).toFixed(0)}`;
    })
    .join(', ');
}

/**
 * One write configuration over the rounds: per round the rate and the median latency
 * (the figure is their median: one disturbed round cannot move it); the p99 and the
 * chart pool all files.
 */
interface WriteRounds {
  kind: WriteFigure['kind'];
  size: number;
  writers: number;
  lat: number[];
  rates: number[];
  roundMedians: number[];
  ops: number;
  errors: string[];
  cpu: Record<string, number[]>;
  totem: Record<string, number[]>;
  stages: StageDump;
}

function writeFigure(a: WriteRounds): WriteFigure {
  const lat = a.lat.sort((x, y) => x - y);
  return {
    kind: a.kind,
    size: a.size,
    writers: a.writers,
    ops: a.ops,
    opsPerSec: median(a.rates),
    roundsOpsPerSec: a.rates,
    ...(lat.length > 0 ? { medianMs: median(a.roundMedians), p99Ms: percentile(lat, 99) / 1000, latUs: lat } : {}),
    errors: a.errors.slice(0, 5),
    ...(Object.keys(a.cpu).length > 0 && { cpuUsPerOp: medians(a.cpu) }),
    ...(Object.keys(a.totem).length > 0 && { totemPerOp: medians(a.totem) }),
    ...(Object.keys(a.stages).length > 0 && { stages: a.stages }),
  };
}

/** The median of each key's values. */
function medians(x: Readonly<Record<string, readonly number[]>>): Record<string, number> {
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, median(v)]));
}

interface SyncResult {
  seconds: number;
  joinerRssMiB: number;
  leaderRssMiB: number;
  leaderStatP99Ms: number;
  otherSenderStatP99Ms: number;
}

/** Median time and worst RSS and p99 over a figure's rounds. */
function syncFigure(spec: DbSpec, kind: Kind, rs: readonly SyncResult[]): SyncFigure {
  return {
    kind,
    db: spec.label,
    inodes: spec.inodes,
    bytes: spec.bytes,
    runsS: rs.map((x) => x.seconds),
    seconds: median(rs.map((x) => x.seconds)),
    joinerRssMiB: Math.max(...rs.map((x) => x.joinerRssMiB)),
    leaderRssMiB: Math.max(...rs.map((x) => x.leaderRssMiB)),
    leaderStatP99Ms: Math.max(...rs.map((x) => x.leaderStatP99Ms)),
    otherSenderStatP99Ms: Math.max(...rs.map((x) => x.otherSenderStatP99Ms)),
  };
}

interface DbSpec {
  label: string;
  inodes: number;
  bytes: number;
}

class Bench {
  readonly lab = new Lab({ prefix: ownedLabPrefix('bench') });
  readonly d = new DaemonLab(this.lab);
  readonly kinds: Kind[];

  constructor(
    readonly cBin: string | undefined,
    readonly quick: boolean,
    /** Run the `stat` probe on the senders during a full copy (off: CPU figures of the copy alone). */
    readonly probe = true,
  ) {
    this.kinds = cBin !== undefined ? ['C', 'TS'] : ['TS'];
  }

  /** Kinds in alternating order for round r. */
  order(r: number): Kind[] {
    return r % 2 === 0 ? this.kinds : [...this.kinds].reverse();
  }

  dbPath(i: number): string {
    return join(this.lab.nodeRoot(i), 'var-lib-pve-cluster', 'config.db');
  }

  resetDb(i: number, from?: string): void {
    for (const ext of ['', '-wal', '-shm']) rmSync(this.dbPath(i) + ext, { force: true });
    if (from !== undefined) copyFileSync(from, this.dbPath(i));
  }

  /** In /tmp, which the nodes share with the host (their /run is private). */
  stagesFile(i: number): string {
    return `/tmp/pmxcfs-bench-${this.lab.prefix}-n${i}-stages.json`;
  }

  /**
   * Start node i's daemon; `wrap` goes in front of the command (valgrind); `stages`:
   * it dumps its per-stage sums (the writes breakdown; it costs per delivery, so only there).
   */
  start(kind: Kind, i: number, extra: string[] = [], wrap: readonly string[] = [], stages = false): ProcInfo {
    // PMXCFS_BENCH_NODE_ARGS: node flags for the pmxcfs-ts daemons (--cpu-prof ... for a profile).
    const nodeArgs = (process.env['PMXCFS_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    const [node, ...cli] = this.d.cli('-f', ...extra);
    const argv = [...wrap, ...(kind === 'C' ? [this.cBin!, '-f', ...extra] : [node!, ...nodeArgs, ...cli])];
    rmSync(this.stagesFile(i), { force: true });
    if (kind === 'C') return this.lab.spawn(i, 'pmxcfs', argv);
    return this.lab.spawn(i, 'pmxcfs', argv, { env: daemonEnv(stages ? { PMXCFS_STAGES: this.stagesFile(i) } : {}) });
  }

  /** What src/bench/instructions.ts needs of the bench. */
  instructionsHost(): InstructionsHost {
    return {
      labPrefix: this.lab.prefix,
      startWrapped: (kind, i, wrap) => this.start(kind, i, [], wrap).pid,
      startPlain: (kind, i) => void this.start(kind, i),
      stopAll: () => this.stopAll(),
      resetDb: (i) => this.resetDb(i),
      waitSynced: (kind, nodes, timeoutMs) => this.waitSynced(kind, nodes, timeoutMs),
      waitMounted: (i, pid, timeoutMs) => this.waitMounted(i, pid, timeoutMs),
      warmUp: (dir) => this.warmUp(dir),
      writer: (dir, size, count, writers) => this.writer(dir, size, count, writers),
    };
  }

  /** What src/bench/sched.ts needs of the bench. */
  schedHost(): SchedHost {
    return {
      cluster: (kind) => this.cluster(kind),
      warmUp: (dir) => this.warmUp(dir),
      pids: () => this.pids(),
      measured: async (kind, dir, size, count) => {
        const { w, cpu } = await this.measuredWriter(kind, dir, size, count, 1);
        return { opsPerSec: (w.ops * 1000) / w.wallMs, cpu };
      },
    };
  }

  /** Instructions per file (callgrind), C and TS in turn. */
  async instructions(): Promise<InstructionsFigure[]> {
    const why = instructionsUnavailable();
    if (why !== undefined) {
      log(`instructions: skipped: ${why}`);
      return [];
    }
    const out: InstructionsFigure[] = [];
    for (const kind of this.kinds) {
      log(`instructions: ${kind} (nodes 1 and 2 under callgrind)`);
      out.push(...(await measureKind(this.instructionsHost(), kind, this.quick ? 300 : 500)));
    }
    return out;
  }

  /** The daemons and corosyncs of nodes 1..3 by name, for CPU sampling. */
  pids(): Pids {
    const out: Record<string, number> = {};
    for (const i of [1, 2, 3]) {
      for (const name of ['pmxcfs', 'corosync']) {
        const p = this.lab.proc(i, name);
        if (p !== undefined) out[`${name} n${i}`] = p.pid;
      }
    }
    return out;
  }

  /** One writer run with CPU per op of every process and (TS) node 1's stage sums. */
  async measuredWriter(kind: Kind, dir: string, size: number, count: number, writers: number): Promise<{ w: Awaited<ReturnType<Bench['writer']>>; cpu: Record<string, number>; totem: TotemCounters; stages: StageDump }> {
    const pids = this.pids();
    const s0 = kind === 'TS' ? readStages(this.stagesFile(1)) : {};
    const t0 = await totemCounters(this.lab);
    const c0 = sampleCpu(pids);
    const w = await this.writer(dir, size, count, writers);
    const c1 = sampleCpu(pids);
    const t1 = await totemCounters(this.lab);
    if (kind === 'TS') await sleep(SETTLE_MS);
    const stages = kind === 'TS' ? diffStages(s0, readStages(this.stagesFile(1))) : {};
    return { w, cpu: cpuPerOp(c0, c1, w.ops), totem: totemPerOp(t0, t1, w.ops), stages };
  }

  async stop(i: number): Promise<void> {
    await this.lab.kill(i, 'pmxcfs', 'SIGTERM', true, 20_000);
    // A daemon that had to be killed leaves its FUSE mount behind.
    await this.lab.exec(i, ['sh', '-c', "grep -q ' /etc/pve fuse' /proc/mounts && umount -l /etc/pve; true"]);
  }

  async stopAll(): Promise<void> {
    await Promise.all([1, 2, 3].map((i) => this.stop(i)));
  }

  /** dcdb mode lines of node i's daemon log, oldest first (not the status group's, which logs the same words). */
  modeLines(kind: Kind, i: number): string[] {
    return this.lab
      .readLog(i, 'pmxcfs')
      .split('\n')
      .filter((l) => (kind === 'C' ? l.startsWith('[dcdb] ') : l.startsWith('{') && l.includes('"domain":"dcdb"')))
      .filter((l) => /notice: members: |starting data syncronisation|all data is up to date|leaving CPG group|start cluster connection|waiting for updates from leader|"msg":"members"/.test(l));
  }

  /** The last membership has `n` members and the mode after it is SYNCED. */
  synced(kind: Kind, i: number, n: number): boolean {
    const lines = this.modeLines(kind, i);
    let k = lines.length - 1;
    if (k < 0 || !lines[k]!.includes('all data is up to date')) return false;
    while (k >= 0 && !/notice: members: |"msg":"members"/.test(lines[k]!)) k--;
    if (k < 0) return false;
    const m = lines[k]!;
    const count = kind === 'C' ? m.slice(m.indexOf('members: ') + 9).split(',').length : (JSON.parse(m) as { members: unknown[] }).members.length;
    return count === n;
  }

  /** `nodes` (all of `kind`) are SYNCED in a membership of `members` daemons. */
  async waitSynced(kind: Kind, nodes: readonly number[], timeoutMs = 120_000, members = nodes.length): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!nodes.every((i) => this.synced(kind, i, members))) {
      for (const i of nodes) {
        if (!this.lab.isRunning(i, 'pmxcfs')) throw new Error(`n${i} (${kind}) daemon exited:\n${this.lab.readLog(i, 'pmxcfs').slice(-2000)}`);
      }
      if (Date.now() > deadline) throw new Error(`${kind} nodes ${nodes.join(',')} not synced after ${timeoutMs} ms:\n${nodes.map((i) => this.modeLines(kind, i).slice(-4).join('\n')).join('\n---\n')}`);
      await sleep(50);
    }
  }

  async waitMounted(i: number, pid: number, timeoutMs = 60_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      let mounts = '';
      try {
        mounts = readFileSync(`/proc/${pid}/mounts`, 'utf8');
      } catch {
        throw new Error(`n${i}: daemon ${pid} exited:\n${this.lab.readLog(i, 'pmxcfs').slice(-2000)}`);
      }
      if (mounts.includes(' /etc/pve fuse')) return performance.now();
      if (performance.now() > deadline) throw new Error(`n${i}: /etc/pve not mounted after ${timeoutMs} ms`);
      await sleep(2);
    }
  }

  /** All three nodes of `kind` from empty DBs, synced, /etc/pve mounted on node 1 (the only one with stage stamps: nobody reads the others'). */
  async cluster(kind: Kind): Promise<void> {
    await this.stopAll();
    const procs = [1, 2, 3].map((i) => {
      this.resetDb(i);
      return this.start(kind, i, [], [], i === 1);
    });
    await this.waitSynced(kind, [1, 2, 3]);
    await this.waitMounted(1, procs[0]!.pid);
  }

  /** 4. Raw CPG round trip and throughput (measured first, on an idle cluster). */
  async cpg(quick: boolean): Promise<CpgRow[]> {
    log('raw CPG');
    return measureCpg(this.lab, quick ? 0.2 : 1);
  }

  // ---- 1. writes --------------------------------------------------------------

  async writer(dir: string, size: number, count: number, writers: number, perDir = 0): Promise<{ ops: number; wallMs: number; latUs: number[]; errors: string[] }> {
    const r = await this.lab.exec(1, [process.execPath, WRITER, JSON.stringify({ dir, size, count, writers, perDir })], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`writer: exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { ops: number; wallMs: number; latUs: number[]; errors: string[] };
  }

  /** WRITE_WARMUP_FILES of 4 KiB on node 1, a new directory every WARMUP_FILES_PER_DIR. */
  async warmUp(dir: string): Promise<void> {
    await this.writer(dir, 4096, WRITE_WARMUP_FILES, 1, WARMUP_FILES_PER_DIR);
  }

  async fsBatch(dir: string, size: number, count: number): Promise<{ ops: number; opsPerSec: number; errors: string[] }> {
    const data = 'a'.repeat(size);
    const run = async (n: number, sub: string): Promise<number> => {
      const ops = [{ op: 'mkdir', path: `${dir}/${sub}` }, ...Array.from({ length: n }, (_, k) => ({ op: 'write', path: `${dir}/${sub}/f${k}`, data }))];
      const t = performance.now();
      const res = await this.d.batch(1, ops);
      const ms = performance.now() - t;
      const bad = res.filter((x) => !x.ok);
      if (bad.length > 0) throw new Error(`fs batch: ${JSON.stringify(bad.slice(0, 3))}`);
      return ms;
    };
    await this.d.batch(1, [{ op: 'mkdir', path: dir }]);
    const base = await run(1, 'base'); // process start, connect, mkdir, one write
    const full = await run(count, 'full');
    return { ops: count - 1, opsPerSec: ((count - 1) * 1000) / Math.max(1, full - base), errors: [] };
  }

  async writes(rounds: number): Promise<WriteFigure[]> {
    const sizes: [number, number][] = this.quick
      ? [
          [100, 200],
          [4096, 200],
          [65536, 60],
        ]
      : [
          [100, 1000],
          [4096, 1000],
          [65536, 300],
        ];
    const acc = new Map<string, WriteRounds>();
    const add = (kind: WriteFigure['kind'], size: number, writers: number, ops: number, wallMs: number, lat: number[], errors: string[]): WriteRounds => {
      const key = `${kind}/${size}/${writers}`;
      const a = acc.get(key) ?? { kind, size, writers, lat: [], rates: [], roundMedians: [], ops: 0, errors: [], cpu: {}, totem: {}, stages: {} };
      a.lat.push(...lat);
      a.rates.push((ops * 1000) / wallMs);
      if (lat.length > 0) a.roundMedians.push(median(lat) / 1000);
      a.ops += ops;
      a.errors.push(...errors);
      acc.set(key, a);
      return a;
    };
    for (let r = 0; r < rounds; r++) {
      for (const kind of this.order(r)) {
        log(`writes: round ${r + 1}/${rounds}, ${kind} cluster`);
        await this.cluster(kind);
        // Steady state, as a long-running daemon is: V8's JIT needs ~4,000 files to
        // optimise the write path (C needs no warm-up; it costs both the same wall time).
        // 4 KiB files only: after a warm-up with 64 KiB files the small writes that
        // follow cost pmxcfs-ts ~30% more CPU per file on every node (not explained yet;
        // README, issue 14), which a warm-up of mixed sizes would mix into the figures.
        await this.warmUp(`/etc/pve/warm${r}`);
        for (const [size, count] of sizes) {
          for (const writers of [1, 4]) {
            const { w, cpu, totem, stages } = await this.measuredWriter(kind, `/etc/pve/b${r}-${size}-${writers}`, size, count, writers);
            const a = add(kind, size, writers, w.ops, w.wallMs, w.latUs, w.errors);
            addInto(a.cpu, cpu);
            addInto(a.totem, totem);
            a.stages = mergeStages(a.stages, stages);
            log(`  ${kind} ${size} B x${writers}: ${((w.ops * 1000) / w.wallMs).toFixed(0)} ops/s`);
          }
          if (kind === 'TS') {
            const b = await this.fsBatch(`fb${r}-${size}`, size, Math.min(count, this.quick ? 100 : 300));
            add('TS fs batch', size, 1, b.ops, (b.ops * 1000) / b.opsPerSec, [], b.errors);
          }
        }
      }
    }
    await this.stopAll();
    return [...acc.values()].map(writeFigure);
  }

  /** 1b. src/bench/sched.ts: 100 B writes with and without corosync's RR priority, each kind on its own cluster (full runs, or --only=sched). */
  async sched(files: number): Promise<SchedFigure[]> {
    log(`corosync scheduling: ${files} files of 100 B per variant, ${this.kinds.join(' and ')}`);
    const figs = await measureSched(this.schedHost(), this.kinds, files);
    for (const f of figs) log(`  ${f.kind} ${f.variant}: ${f.opsPerSec.toFixed(0)} ops/s`);
    await this.stopAll();
    return figs;
  }

  // ---- 2. full-copy sync ----------------------------------------------------------

  /** One full copy to node 3 (`kind`) from nodes 1 and 2 (`sendersKind`, by default the same). */
  async syncOnce(kind: Kind, db: string, sendersKind: Kind = kind): Promise<SyncResult> {
    await this.stopAll();
    this.resetDb(1, db);
    this.resetDb(2, db);
    this.resetDb(3);
    const senders = [this.start(sendersKind, 1), this.start(sendersKind, 2)];
    await this.waitSynced(sendersKind, [1, 2], 300_000);
    await Promise.all(senders.map((p, k) => this.waitMounted(k + 1, p.pid)));
    const probe = this.probe ? this.statProbe() : null;
    if (probe !== null) await sleep(1000); // the probes are running before the joiner starts
    const leaderPid = this.lab.proc(1, 'pmxcfs')!.pid;
    const leaderCpu0 = cpuUs(leaderPid);
    const leaderThreads0 = threadCpuUs(leaderPid);
    const others = this.pids();
    const others0 = sampleCpu(others);
    const t0 = performance.now();
    const spawnedAt = Date.now();
    const p = this.start(kind, 3);
    const { at: t1, cpuBeforeCopyUs } = await this.waitJoined(kind, t0 + 600_000, p.pid);
    const joinerThreads = threadCpuUs(p.pid);
    log(`  ${kind}: CPU during the copy: leader ${((cpuUs(leaderPid) - leaderCpu0) / 1000).toFixed(0)} ms, joiner ${(cpuUs(p.pid) / 1000).toFixed(0)} ms (since its start; ${(cpuBeforeCopyUs / 1000).toFixed(0)} ms of it before the UPDATEs)`);
    const others1 = sampleCpu(others);
    log(`  ${kind}: CPU ms of the others: ${Object.entries(cpuPerOp(others0, others1, 1000)).filter(([k]) => k !== 'pmxcfs n1').map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    log(`  ${kind}: threads ms: leader ${threadCpuText(leaderThreads0, threadCpuUs(leaderPid))}; joiner ${threadCpuText({}, joinerThreads)}`);
    if (kind === 'TS') log(`  ${kind}: joiner timeline ms after spawn: ${joinerTimeline(this.lab.readLog(3, 'pmxcfs'), spawnedAt)}`);
    const [leaderStatP99Ms, otherSenderStatP99Ms] = probe === null ? [NaN, NaN] : await probe.stop();
    await sleep(1000);
    const joinerRssMiB = (await rssMiB(p.pid)) ?? NaN;
    const leaderRssMiB = (await rssMiB(this.lab.proc(1, 'pmxcfs')!.pid)) ?? NaN;
    await this.waitSynced(sendersKind, [1, 2], 300_000, 3);
    await this.waitSynced(kind, [3], 300_000, 3);
    await this.sameChecksum(kind);
    this.keepLogs(kind);
    return { seconds: (t1 - t0) / 1000, joinerRssMiB, leaderRssMiB, leaderStatP99Ms, otherSenderStatP99Ms };
  }

  /** $PMXCFS_BENCH_LOG_DIR: the daemons' and corosyncs' logs of each full copy are copied there (the lab is removed at the end). */
  keepLogs(kind: Kind): void {
    const dir = process.env['PMXCFS_BENCH_LOG_DIR'];
    if (dir === undefined || dir === '') return;
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const i of [1, 2, 3]) {
      writeFileSync(join(dir, `${stamp}-${kind}-n${i}.log`), this.lab.readLog(i, 'pmxcfs'));
      // corosync's "Q empty, queued:N" lines: a daemon's event ring was full and corosync
      // re-ran its outq flush as a busy loop job until the daemon read (exec/ipc_glue.c).
      writeFileSync(join(dir, `${stamp}-${kind}-n${i}-corosync.log`), this.lab.readLog(i, 'corosync'));
    }
  }

  /** n1 and n3 hold the same data; a difference must vanish within CONVERGE_MS (writes in flight). */
  async sameChecksum(kind: Kind): Promise<void> {
    const CONVERGE_MS = 10_000;
    const deadline = performance.now() + CONVERGE_MS;
    for (let k = 0; ; k++) {
      const sums = await Promise.all([1, 3].map((i) => this.d.checksum(i)));
      if (sums[0] === sums[1]) {
        if (k > 0) log(`  ${kind}: n1 and n3 checksums agreed after ${k} retries`);
        return;
      }
      if (performance.now() > deadline) throw new Error(`${kind}: n3 checksum ${sums[1]} differs from n1 ${sums[0]} for ${CONVERGE_MS} ms`);
      await sleep(500);
    }
  }

  /** performance.now() when node 3 logged "all data is up to date". */
  async waitJoined(kind: Kind, deadline: number, pid: number): Promise<{ at: number; cpuBeforeCopyUs: number }> {
    let cpuBeforeCopyUs = NaN;
    for (;;) {
      const lines = this.modeLines(kind, 3);
      if (lines.some((l) => l.includes('all data is up to date'))) return { at: performance.now(), cpuBeforeCopyUs };
      // Its CPU when it starts waiting for the UPDATEs: start-up and the state exchange.
      if (Number.isNaN(cpuBeforeCopyUs) && lines.some((l) => l.includes('waiting for updates from leader'))) cpuBeforeCopyUs = cpuUs(pid);
      if (!this.lab.isRunning(3, 'pmxcfs')) throw new Error(`n3 (${kind}) exited during sync:\n${this.lab.readLog(3, 'pmxcfs').slice(-2000)}`);
      if (performance.now() > deadline) throw new Error(`n3 (${kind}) not synced after 600 s`);
      await sleep(5);
    }
  }

  /**
   * `stat` of a missing name in nodes 1 and 2's own /etc/pve in a loop (a negative
   * lookup is not cached by the kernel, so each one is a FUSE request the daemon must
   * answer); stop() ends both and returns their p99s in ms: node 1 (the leader), node 2.
   */
  statProbe(): { stop(): Promise<[number, number]> } {
    const stopFile = `/tmp/pmxcfs-bench-${this.lab.prefix}-statloop.stop`;
    rmSync(stopFile, { force: true });
    const runs = [1, 2].map((i) => this.lab.exec(i, [process.execPath, STATLOOP, '/etc/pve/.bench-stat-probe', stopFile], { timeoutMs: 900_000 }));
    return {
      stop: async (): Promise<[number, number]> => {
        writeFileSync(stopFile, '');
        const p99 = (await Promise.all(runs)).map((r, k) => {
          const lat = (JSON.parse(r.stdout || '{"latUs":[]}') as { latUs: number[] }).latUs.sort((a, b) => a - b);
          const ms = (q: number): string => (percentile(lat, q) / 1000).toFixed(1);
          log(`  stat probe n${k + 1}: ${lat.length} probes, p50 ${ms(50)} p99 ${ms(99)} max ${ms(100)} ms`);
          return percentile(lat, 99) / 1000;
        });
        return [p99[0]!, p99[1]!];
      },
    };
  }

  async syncs(dbs: readonly (DbSpec & { file: string; rounds: number })[]): Promise<SyncFigure[]> {
    const out: SyncFigure[] = [];
    for (const spec of dbs) {
      const runs = new Map<Kind, SyncResult[]>();
      for (let r = 0; r < spec.rounds; r++) {
        for (const kind of this.order(r)) {
          log(`sync ${spec.label}: round ${r + 1}/${spec.rounds}, ${kind}`);
          const res = await this.syncOnce(kind, spec.file);
          log(`  ${kind}: ${res.seconds.toFixed(2)} s, joiner RSS ${res.joinerRssMiB.toFixed(0)} MiB, stat p99 leader ${res.leaderStatP99Ms.toFixed(1)} ms, other sender ${res.otherSenderStatP99Ms.toFixed(1)} ms`);
          runs.set(kind, [...(runs.get(kind) ?? []), res]);
        }
      }
      for (const kind of this.kinds) out.push(syncFigure(spec, kind, runs.get(kind)!));
      if (this.kinds.length === 2 && spec.inodes < 60_000) out.push(...(await this.mixedSyncs(spec)));
    }
    await this.stopAll();
    return out;
  }

  /**
   * The copy with one side C and the other pmxcfs-ts (C senders + TS joiner, TS senders
   * + C joiner): on this host the lab is CPU-bound during a copy, so these show
   * whether one side's cost or only the sum of both makes the all-TS copy slower.
   */
  async mixedSyncs(spec: DbSpec & { file: string; rounds: number }): Promise<SyncFigure[]> {
    const mixes: [Kind, Kind][] = [['C', 'TS'], ['TS', 'C']];
    const out: SyncFigure[] = [];
    for (const [senders, joiner] of mixes) {
      const rs: SyncResult[] = [];
      for (let r = 0; r < spec.rounds; r++) {
        log(`sync ${spec.label}: round ${r + 1}/${spec.rounds}, ${senders} senders + ${joiner} joiner`);
        const res = await this.syncOnce(joiner, spec.file, senders);
        log(`  ${senders} senders + ${joiner} joiner: ${res.seconds.toFixed(2)} s`);
        rs.push(res);
      }
      out.push({ ...syncFigure(spec, joiner, rs), senders });
    }
    return out;
  }

  // ---- 3. DB load ----------------------------------------------------------------

  async loadOnce(kind: Kind, db: string): Promise<{ ms: number; rssMiB: number }> {
    await this.stop(1);
    this.resetDb(1, db);
    const t0 = performance.now();
    const p = this.start(kind, 1, ['-l']);
    const t1 = await this.waitMounted(1, p.pid);
    await sleep(500);
    const rss = (await rssMiB(p.pid)) ?? NaN;
    await this.stop(1);
    return { ms: t1 - t0, rssMiB: rss };
  }

  async loads(dbs: readonly (DbSpec & { file: string })[], rounds: number): Promise<LoadFigure[]> {
    await this.stopAll();
    const out: LoadFigure[] = [];
    for (const spec of dbs) {
      const runs = new Map<Kind, { ms: number; rssMiB: number }[]>();
      for (let r = 0; r < rounds; r++) {
        for (const kind of this.order(r)) {
          const res = await this.loadOnce(kind, spec.file);
          log(`load ${spec.label} ${kind}: ${res.ms.toFixed(0)} ms, RSS ${res.rssMiB.toFixed(0)} MiB`);
          runs.set(kind, [...(runs.get(kind) ?? []), res]);
        }
      }
      for (const kind of this.kinds) {
        const rs = runs.get(kind)!;
        out.push({ kind, db: spec.label, runsMs: rs.map((x) => x.ms), ms: percentile(rs.map((x) => x.ms).sort((a, b) => a - b), 50), rssMiB: Math.max(...rs.map((x) => x.rssMiB)) });
      }
    }
    return out;
  }

  // ---- 5. IPC round trips ------------------------------------------------------------

  async ipc(rounds: number, count: number): Promise<IpcFigure[]> {
    await this.stopAll();
    mkdirSync(CACHE, { recursive: true });
    const db = join(CACHE, 'ipc.db');
    ipcBenchDb(db, this.lab.nodeName(1));
    const runs = new Map<string, IpcMeasure[]>();
    for (let r = 0; r < rounds; r++) {
      for (const kind of this.order(r)) {
        this.resetDb(1, db);
        this.start(kind, 1, ['-l']);
        await waitIpc(this.lab, 1);
        const m = await measureIpc(this.lab, 1, count);
        await this.stop(1);
        for (const [op, f] of Object.entries(m)) {
          log(`ipc ${kind} ${op}: ${f.opsPerSec.toFixed(0)}/s, median ${f.medianUs.toFixed(1)} µs`);
          runs.set(`${kind}\t${op}`, [...(runs.get(`${kind}\t${op}`) ?? []), f]);
        }
      }
    }
    // Per kind and op: the round with the median rate.
    return [...runs].map(([key, fs]) => {
      const [kind, op] = key.split('\t') as ['C' | 'TS', string];
      const mid = [...fs].sort((a, b) => a.opsPerSec - b.opsPerSec)[Math.floor(fs.length / 2)]!;
      return { kind, op, ...mid };
    });
  }
}

function dbload(file: string, hash: boolean): Record<string, unknown> {
  const out = execFileSync(process.execPath, [DBLOAD, file, ...(hash ? ['--hash'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as Record<string, unknown>;
}

function machine(): Record<string, string> {
  const corosync = (() => {
    try {
      return execFileSync('corosync', ['-v'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      return 'corosync ?';
    }
  })();
  return {
    cpu: cpus()[0]?.model ?? '?',
    cores: String(cpus().length),
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    corosync,
    load: loadavg()[0]!.toFixed(1),
  };
}

const ratio = (ts: number | undefined, c: number | undefined): number | undefined => (ts === undefined || c === undefined || c === 0 ? undefined : ts / c);

interface Measured {
  readonly have: boolean;
  readonly dbs: readonly DbSpec[];
  readonly writes: readonly WriteFigure[];
  readonly syncs: readonly SyncFigure[];
  readonly loads: readonly LoadFigure[];
  readonly inproc: readonly Record<string, unknown>[];
  readonly cpg: readonly CpgRow[];
  readonly ipc: readonly IpcFigure[];
  readonly instructions: readonly InstructionsFigure[];
}

type RowFn = (figure: string, c: number | undefined, ts: number | undefined, digits: number, target: string, ok?: boolean) => void;
const label = (size: number): string => (size === 100 ? '100 B' : size === 4096 ? '4 KiB' : '64 KiB');

/** Write rows, with issue 14's must-reach ratios as targets (ops/s TS/C ≥ 1, median ≤ 1× C). */
function writeRows(row: RowFn, writes: readonly WriteFigure[]): void {
  const w = (kind: WriteFigure['kind'], size: number, writers: number): WriteFigure | undefined => writes.find((x) => x.kind === kind && x.size === size && x.writers === writers);
  for (const writers of [1, 4]) {
    for (const size of [100, 4096, 65536]) {
      const c = w('C', size, writers);
      const t = w('TS', size, writers);
      const r = ratio(t?.opsPerSec, c?.opsPerSec);
      const what = `write ${label(size)}, ${writers === 1 ? '1 writer' : `${writers} writers`}`;
      row(`${what}: ops/s`, c?.opsPerSec, t?.opsPerSec, 0, 'TS/C ≥ 1.0', r === undefined ? undefined : r >= 1);
      const rm = ratio(t?.medianMs, c?.medianMs);
      row(`${what}: median ms`, c?.medianMs, t?.medianMs, 2, 'TS/C ≤ 1.0', rm === undefined ? undefined : rm <= 1);
      row(`${what}: p99 ms`, c?.p99Ms, t?.p99Ms, 2, '');
    }
  }
  for (const size of [100, 4096, 65536]) {
    const f = w('TS fs batch', size, 1);
    if (f !== undefined) row(`\`pmxcfs-ts fs batch\` write ${label(size)}: ops/s`, undefined, f.opsPerSec, 0, 'control socket, TS only');
  }
}

/** Full-copy rows: time (6k ≤ 1.0, 60k ≤ 0.8), RSS (≤ 1.3 at 60k); the stat p99 is in report.ts. */
function syncRows(row: RowFn, dbs: readonly DbSpec[], syncs: readonly SyncFigure[]): void {
  for (const spec of dbs) {
    const pure = (kind: Kind): SyncFigure | undefined => syncs.find((x) => x.kind === kind && x.senders === undefined && x.db === spec.label);
    const c = pure('C');
    const t = pure('TS');
    const big = spec.inodes >= 60_000;
    const limit = big ? 0.8 : 1.0;
    const r = ratio(t?.seconds, c?.seconds);
    row(`full-copy sync ${spec.label}: s (start → synced)`, c?.seconds, t?.seconds, 2, `TS/C ≤ ${limit.toFixed(1)}`, r === undefined ? undefined : r <= limit);
    const rr = ratio(t?.joinerRssMiB, c?.joinerRssMiB);
    row(`full-copy sync ${spec.label}: joiner RSS MiB`, c?.joinerRssMiB, t?.joinerRssMiB, 0, big ? 'TS/C ≤ 1.3' : '', big && rr !== undefined ? rr <= 1.3 : undefined);
    row(`full-copy sync ${spec.label}: leader RSS MiB`, c?.leaderRssMiB, t?.leaderRssMiB, 0, '');
    for (const m of syncs.filter((x) => x.senders !== undefined && x.db === spec.label)) {
      row(`full-copy sync ${spec.label}, ${m.senders} senders + ${m.kind} joiner: s (TS column; C: all C)`, c?.seconds, m.seconds, 2, 'breakdown');
    }
  }
}

/** `-l` start rows (≤ 1.5× C at 60k). */
function loadRows(row: RowFn, loads: readonly LoadFigure[]): void {
  for (const lbl of [...new Set(loads.map((x) => x.db))]) {
    const c = loads.find((x) => x.kind === 'C' && x.db === lbl);
    const t = loads.find((x) => x.kind === 'TS' && x.db === lbl);
    const big = lbl.startsWith('60k');
    const r = ratio(t?.ms, c?.ms);
    row(`daemon start -l ${lbl}: ms to mounted`, c?.ms, t?.ms, 0, big ? 'TS/C ≤ 1.5' : '', big && r !== undefined ? r <= 1.5 : undefined);
    row(`daemon start -l ${lbl}: RSS MiB`, c?.rssMiB, t?.rssMiB, 0, '');
  }
}

/** Instructions per 4 KiB file by node and component (thousands). */
function instructionRows(row: RowFn, figures: readonly InstructionsFigure[]): void {
  for (const node of [1, 2] as const) {
    for (const component of INSTRUCTION_COMPONENTS) {
      const c = figures.find((x) => x.kind === 'C' && x.node === node)?.perFile[component];
      const t = figures.find((x) => x.kind === 'TS' && x.node === node)?.perFile[component];
      if (c === undefined && t === undefined) continue;
      row(`instructions per 4 KiB file, ${node === 1 ? 'writer' : 'follower'}: ${component} (k)`, c === undefined ? undefined : c / 1000, t === undefined ? undefined : t / 1000, 0, 'callgrind');
    }
  }
}

/** The rows of the result table: writes, syncs, loads, in-process figures, IPC, instructions. */
function tableRows(x: Measured): string[][] {
  const { have, dbs, writes, syncs, loads, inproc, ipc, instructions } = x;
  const rows: string[][] = [];
  const row: RowFn = (figure, c, ts, digits, target, ok) => {
    rows.push([figure, have ? fmt(c, digits) : '–', fmt(ts, digits), have ? fmt(ratio(ts, c), 2) : '–', target + (ok === undefined ? '' : ok ? ' ✓' : ' ✗')]);
  };
  writeRows(row, writes);
  syncRows(row, dbs, syncs);
  loadRows(row, loads);
  inprocRows(row, inproc);
  for (const op of Object.keys(IPC_BENCH_OPS)) {
    const c = ipc.find((x) => x.kind === 'C' && x.op === op);
    const t = ipc.find((x) => x.kind === 'TS' && x.op === op);
    if (t === undefined) continue;
    const r = ratio(t.opsPerSec, c?.opsPerSec);
    row(`IPC ${op}: round trips/s`, c?.opsPerSec, t.opsPerSec, 0, 'TS/C ≥ 1', r === undefined ? undefined : r >= 1);
    row(`IPC ${op}: median µs`, c?.medianUs, t.medianUs, 1, '');
  }
  instructionRows(row, instructions);
  return rows;
}

function inprocRows(row: RowFn, inproc: readonly Record<string, unknown>[]): void {
  for (const x of inproc) {
    const r = x as Record<string, unknown> & { label: string; loadMs: number; rssDeltaMiB: number };
    row(`Memdb load ${r.label} (in-process): ms`, undefined, r.loadMs, 0, 'TS only');
    row(`Memdb load ${r.label} (in-process): RSS growth MiB`, undefined, r.rssDeltaMiB, 0, 'TS only');
    if (r['indexMs'] !== undefined) {
      row(`index (cold) ${r.label}: ms`, undefined, r['indexMs'] as number, 0, 'TS only');
      row(`checksum ${r.label}: ms`, undefined, r['checksumMs'] as number, 0, 'TS only');
      const h = r['hashing'] as Record<string, { digestsMs: number; checksumMs: number }>;
      for (const [name, v] of Object.entries(h)) row(`SHA-256 ${name} ${r.label}: digests + checksum ms`, undefined, v.digestsMs + v.checksumMs, 0, 'hashing only');
    }
  }
}

/** The printed report: the table and the raw CPG limit. */
function reportText(b: Bench, cBin: string | undefined, quick: boolean, results: Record<string, unknown>, rows: string[][], cpg: readonly CpgRow[], began: number, extra: string): string {
  const cpgRows = cpg.map((r) => [r.label, r.rttMedianMs.toFixed(3), r.rttP99Ms.toFixed(3), Math.round(r.msgPerSec).toString(), r.mibPerSec.toFixed(1)]);
  const m = results['machine'] as Record<string, string>;
  const text = [
    '',
    `pmxcfs-ts benchmark, ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick)' : ''}: ${m['cpu']}, ${m['cores']} cores, ${m['memGiB']} GiB, Linux ${m['kernel']}, Node ${m['node']}, ${m['corosync']}`,
    `lab '${b.lab.prefix}': 3 nodes (network namespaces on this machine), writes from node 1 through /etc/pve (FUSE); C = ${cBin ?? 'not measured (PMXCFS_C_BIN unset)'}`,
    '',
    markdownTable(['figure', 'C', 'pmxcfs-ts', 'TS/C', 'target'], rows.filter((r) => r[1] !== '–' || r[2] !== '–')), // parts not run: no row
    extra,
    `load average (1 min) at start ${m['load']}, at end ${loadavg()[0]!.toFixed(1)} on ${m['cores']} cores (other work shares the machine: wall-clock figures vary, CPU per file less)`,
    '',
    'Raw CPG limit (cpg-agent on node 1, send → own agreed delivery):',
    '',
    markdownTable(['size', 'rtt median ms', 'rtt p99 ms', 'msg/s', 'MiB/s'], cpgRows),
    '',
    `total ${((Date.now() - began) / 1000).toFixed(0)} s`,
  ].join('\n');
  return text;
}

/** Generated databases (cached), with the lab's corosync.conf; none when no part needs them. */
function benchDbs(b: Bench, quick: boolean, needed: boolean): { dbs: (DbSpec & { rounds: number; file: string })[]; big: DbSpec; bigFile: string } {
  const big = { label: '128 MiB', inodes: 20_000, bytes: 128 * 2 ** 20 };
  if (!needed) return { dbs: [], big, bigFile: '' };
  const conf = readFileSync(join(b.lab.nodeRoot(1), 'etc-corosync', 'corosync.conf'));
  const specs: (DbSpec & { rounds: number })[] = quick
    ? [{ label: '6k / 10 MB', inodes: 6000, bytes: 10_000_000, rounds: 1 }]
    : [
        { label: '6k / 10 MB', inodes: 6000, bytes: 10_000_000, rounds: 2 },
        { label: '60k / 100 MB', inodes: 60_000, bytes: 100_000_000, rounds: 1 },
      ];
  const rounds = Number(argValue('rounds') ?? NaN);
  const only = argValue('sync-db');
  const chosen = specs.filter((s) => only === undefined || s.label.startsWith(only + ' ')).map((s) => (Number.isInteger(rounds) && rounds > 0 ? { ...s, rounds } : s));
  log('generating databases (cached in ' + CACHE + ')');
  const dbs = chosen.map((s) => ({ ...s, file: cachedDb(CACHE, 'bench', { inodes: s.inodes, bytes: s.bytes, corosyncConf: conf }) }));
  return { dbs, big, bigFile: cachedDb(CACHE, 'bench', { inodes: big.inodes, bytes: big.bytes, corosyncConf: conf }) };
}

/** The value of `--name=value` on the command line. */
function argValue(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(): Promise<number> {
  const why = labUnavailable();
  if (why !== undefined) {
    process.stderr.write(`bench: ${why}\n`);
    return 1;
  }
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--metrics-cost')) return (await import('./metrics-cost.js')).runMetricsCost(quick);
  const only = argValue('only');
  const want = (part: string): boolean => only === undefined || only === part;
  const cBin = process.env['PMXCFS_C_BIN'] || undefined;
  if (cBin !== undefined && !existsSync(cBin)) {
    process.stderr.write(`bench: PMXCFS_C_BIN=${cBin} does not exist\n`);
    return 1;
  }
  if (cBin === undefined) log('PMXCFS_C_BIN is not set: pmxcfs-ts figures only');
  const began = Date.now();
  const b = new Bench(cBin, quick, !process.argv.includes('--no-probe'));
  await b.lab.down();
  log(`lab '${b.lab.prefix}': 3 nodes`);
  await b.lab.up(3, { timeoutMs: 60_000 });
  const results: Record<string, unknown> = { date: new Date().toISOString(), quick, machine: machine(), cBin: cBin ?? null };
  try {
    const { dbs, big, bigFile } = benchDbs(b, quick, want('sync') || want('load'));

    // 4. raw CPG first, on an idle cluster.
    const cpg = want('cpg') ? await b.cpg(quick) : [];
    results['cpg'] = cpg;

    // 1. writes
    const writes = want('writes') ? await b.writes(quick ? 1 : WRITE_ROUNDS) : [];
    results['writes'] = writes.map(({ latUs: _lat, ...w }) => w);
    const sched = only === 'sched' || (only === undefined && !quick) ? await b.sched(quick ? 500 : 1000) : [];
    results['sched'] = sched;

    // 2. full-copy sync
    const syncs = want('sync') ? await b.syncs(dbs) : [];
    results['sync'] = syncs;

    // 3. DB load: daemons, then in-process breakdown and hashing.
    const loads = want('load') ? await b.loads(quick ? dbs : [...dbs, { ...big, file: bigFile }], quick ? LOAD_ROUNDS_QUICK : LOAD_ROUNDS) : [];
    results['load'] = loads;
    if (want('load')) log('in-process load, index and checksum');
    const inproc = want('load') ? [...dbs.map((d) => ({ label: d.label, ...dbload(d.file, false) })), { label: big.label, ...dbload(bigFile, true) }] : [];
    results['inproc'] = inproc;

    // 5. IPC round trips
    const ipc = want('ipc') ? await b.ipc(quick ? 1 : 3, quick ? 500 : 2000) : [];
    results['ipc'] = ipc;

    // 6. instructions per file (callgrind): opt-in, it takes minutes.
    const instructions = only === 'instructions' || process.argv.includes('--instructions') ? await b.instructions() : [];
    results['instructions'] = instructions;

    const dir = join(packageRoot(), 'bench');
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const extra = extraReport(writes, syncs, base);
    const text = reportText(b, cBin, quick, results, tableRows({ have: cBin !== undefined, dbs, writes, syncs, loads, inproc, cpg, ipc, instructions }), cpg, began, extra.text + schedTable(sched));
    results['table'] = text;
    process.stdout.write(text + '\n');
    const file = `${base}.json`;
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    log(`wrote ${file}, ${extra.files.join(', ')}`);
    return 0;
  } finally {
    await b.lab.down();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
