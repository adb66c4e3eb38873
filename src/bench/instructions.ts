/**
 * `npm run bench -- --only=instructions`: user-space instructions per replicated file,
 * per node and per component, C and pmxcfs-ts, counted by valgrind's callgrind.
 *
 * Why: on this 2-core host the three corosyncs run at SCHED_RR and take most of the
 * CPU while messages are in flight, so wall and CPU times of a daemon swing with every
 * other process. An instruction count does not: the same binary and input give the
 * same count whatever else runs. What it leaves out is the kernel's share (system
 * calls, page faults, context switches), which the syscall counts of the README cover.
 *
 * Method: node 1 (the writer) and node 2 (a follower) run under
 * `valgrind --tool=callgrind`, node 3 natively; the bench's warm-up (main.ts: warmUp) warms the JIT, the daemons
 * are left until idle (their compile jobs done), the counters are zeroed (`callgrind_control -z`), COUNT files of 4 KiB are written through
 * /etc/pve on node 1, the counters dumped (`-d`) and read with
 * `callgrind_annotate --inclusive=yes`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { untilIdle } from './cpu.js';

export type Kind = 'C' | 'TS';

/** What the bench lends this measurement (src/bench/main.ts: Bench). */
export interface InstructionsHost {
  readonly labPrefix: string;
  startWrapped(kind: Kind, i: number, wrap: readonly string[]): number;
  startPlain(kind: Kind, i: number): void;
  stopAll(): Promise<void>;
  resetDb(i: number): void;
  waitSynced(kind: Kind, nodes: readonly number[], timeoutMs: number): Promise<void>;
  waitMounted(i: number, pid: number, timeoutMs: number): Promise<number>;
  warmUp(dir: string): Promise<void>;
  writer(dir: string, size: number, count: number, writers: number): Promise<{ ops: number }>;
}

export interface InstructionsFigure {
  readonly kind: Kind;
  /** 1 = the writer, 2 = a follower. */
  readonly node: 1 | 2;
  readonly files: number;
  /** Component → instructions per file (inclusive). */
  readonly perFile: Record<string, number>;
}

/** callgrind_annotate lines (inclusive counts) that name each component. */
const COMPONENTS: Record<Kind, Record<string, RegExp>> = {
  TS: {
    total: /PROGRAM TOTALS/,
    'CPG deliveries (DFSM, dcdb, memdb, SQLite)': /Cpg::OnDeliver\(.*\)::\{lambda/,
    'FUSE requests (incl. the CPG send)': /\(anonymous namespace\)::OnReadable\(uv_poll_s/,
    'SQLite (sqlite3_step)': /\?\?\?:sqlite3_step \[/,
    'V8 GC on the main thread': /v8::internal::Heap::CollectGarbage\(/,
    'V8 worker threads (GC marking and sweeping, JIT)': /node::\(anonymous namespace\)::PlatformWorkerThread/,
    'of which JIT (TurboFan)': /OptimizingCompileDispatcher::CompileTask::RunInternal/,
  },
  C: {
    total: /PROGRAM TOTALS/,
    'CPG deliveries (DFSM, dcdb, memdb, SQLite)': /dfsm\.c:dfsm_cpg_deliver_callback \[/,
    'FUSE requests (incl. the CPG send)': /\?\?\?:fuse_session_process_buf \[/,
    'SQLite (sqlite3_step)': /\?\?\?:sqlite3_step \[/,
  },
};

export const INSTRUCTION_COMPONENTS: readonly string[] = Object.keys(COMPONENTS.TS);

/** The count on the first line matching each component, divided by `files`. */
export function parseAnnotate(text: string, kind: Kind, files: number): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  for (const [name, re] of Object.entries(COMPONENTS[kind])) {
    const line = lines.find((l) => re.test(l));
    const m = line === undefined ? null : /^\s*([\d,]+)/.exec(line);
    if (m !== null) out[name] = Number(m[1]!.replace(/,/g, '')) / files;
  }
  return out;
}

function outFile(host: InstructionsHost, kind: Kind, i: number): string {
  return `/tmp/pmxcfs-bench-${host.labPrefix}-${kind}-n${i}.callgrind`;
}

function control(flag: '-z' | '-d', pid: number): void {
  execFileSync('callgrind_control', [flag, String(pid)], { stdio: 'ignore', timeout: 60_000 });
}

/** Why the measurement cannot run here, or undefined. */
export function instructionsUnavailable(): string | undefined {
  for (const tool of ['valgrind', 'callgrind_control', 'callgrind_annotate']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt install valgrind)`;
    }
  }
  return undefined;
}

/** One kind: nodes 1 and 2 under callgrind, node 3 native; warm, zero, write, dump. */
export async function measureKind(host: InstructionsHost, kind: Kind, count: number): Promise<InstructionsFigure[]> {
  await host.stopAll();
  for (const i of [1, 2, 3]) host.resetDb(i);
  const pids: number[] = [];
  for (const i of [1, 2]) {
    const file = outFile(host, kind, i);
    for (const f of [file, `${file}.1`]) rmSync(f, { force: true });
    pids.push(host.startWrapped(kind, i, ['valgrind', '--tool=callgrind', `--callgrind-out-file=${file}`]));
  }
  host.startPlain(kind, 3);
  await host.waitSynced(kind, [1, 2, 3], 300_000);
  await host.waitMounted(1, pids[0]!, 300_000);
  await host.warmUp('/etc/pve/cg-warm');
  // The measured directory exists before the count: the first mkdir after thousands of
  // file writes deoptimizes and recompiles the write path, once per daemon life.
  await host.writer('/etc/pve/cg-measure', 4096, 0, 1);
  // Under valgrind the threads take turns: TurboFan's compile jobs for the warm-up's
  // hot functions finish only while the main thread is idle. Counting before they are
  // done measures baseline code a running daemon no longer executes.
  await untilIdle(pids, 300_000);
  for (const pid of pids) control('-z', pid);
  const w = await host.writer('/etc/pve/cg-measure', 4096, count, 1);
  for (const pid of pids) control('-d', pid);
  const figures = ([1, 2] as const).map((node) => {
    const dump = `${outFile(host, kind, node)}.1`;
    if (!existsSync(dump)) throw new Error(`callgrind wrote no ${dump}`);
    const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', dump], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return { kind, node, files: w.ops, perFile: parseAnnotate(text, kind, w.ops) };
  });
  await host.stopAll();
  return figures;
}
