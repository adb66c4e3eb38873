/**
 * `npm run sim -- [--seeds N] [--seed S] [--start S0] [--nodes K] [--steps M] [--profile calm|faulty] [--verbose]`
 * `npm run sim -- --rogue [MESSAGES] [--seed S]`: a rogue CPG member (src/sim/rogue.ts), 1M messages by default
 *
 * Runs deterministic simulations of the real pmxcfs stack (src/sim/run.ts): one seed
 * (--seed), or N consecutive seeds from --start (default 1). Without --nodes each seed
 * picks 2..7 nodes. Prints every failure with the command that replays it, then a
 * summary with schedules per second. Exit code 1 if any seed failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_STEPS, runSeed, type Profile, type RunResult } from './run.js';
import { runRogue } from './rogue.js';

interface CliOptions {
  seeds: number;
  start: number;
  seed: number | null;
  nodes: number | undefined;
  steps: number;
  profile: Profile | undefined;
  verbose: boolean;
}

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error('usage: sim [--seeds N] [--seed S] [--start S0] [--nodes 2..7] [--steps M] [--profile calm|faulty] [--verbose]');
  process.exit(2);
}

function parse(argv: string[]): CliOptions {
  const o: CliOptions = { seeds: 100, start: 1, seed: null, nodes: undefined, steps: DEFAULT_STEPS, profile: undefined, verbose: false };
  const int = (v: string | undefined, name: string): number => {
    if (v === undefined || !/^-?\d+$/.test(v)) usage(`${name} needs an integer`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--seeds':
        o.seeds = int(argv[++i], a);
        break;
      case '--start':
        o.start = int(argv[++i], a);
        break;
      case '--seed':
        o.seed = int(argv[++i], a);
        break;
      case '--nodes':
        o.nodes = int(argv[++i], a);
        if (o.nodes < 1 || o.nodes > 64) usage('--nodes must be 1..64');
        break;
      case '--steps':
        o.steps = int(argv[++i], a);
        break;
      case '--profile': {
        const p = argv[++i];
        if (p !== 'calm' && p !== 'faulty') usage('--profile is calm or faulty');
        o.profile = p;
        break;
      }
      case '--verbose':
        o.verbose = true;
        break;
      case '-h':
      case '--help':
        usage();
      // falls through (usage exits)
      default:
        usage(`unknown option ${a}`);
    }
  }
  return o;
}

/** `--rogue [MESSAGES]`: the rogue-member simulation (src/sim/rogue.ts), 1M messages by default. */
function rogueMain(argv: string[]): void {
  const i = argv.indexOf('--rogue');
  const messages = /^\d+$/.test(argv[i + 1] ?? '') ? Number(argv[i + 1]) : 1_000_000;
  const s = argv.indexOf('--seed');
  const seed = s >= 0 ? Number(argv[s + 1]) : 1;
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-rogue-'));
  const t0 = performance.now();
  try {
    const r = runRogue({ seed, messages, dir });
    console.log(JSON.stringify({ seed, ...r, seconds: Math.round((performance.now() - t0) / 100) / 10 }));
    if (!r.ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--rogue')) return rogueMain(process.argv.slice(2));
  const o = parse(process.argv.slice(2));
  const seeds = o.seed !== null ? [o.seed] : Array.from({ length: o.seeds }, (_, i) => o.start + i);
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-sim-'));
  const t0 = process.hrtime.bigint();
  const failures: RunResult[] = [];
  const totals = { ops: 0, acked: 0, leaves: 0, hazards: 0, knownDivergences: 0, unlocks: 0, faults: 0, calm: 0, faulty: 0, checkedPaths: 0 };
  try {
    for (const seed of seeds) {
      const r = await runSeed({ seed, nodes: o.nodes, steps: o.steps, dir, profile: o.profile, verbose: o.verbose });
      totals.ops += r.stats.ops;
      totals.acked += r.stats.acked;
      totals.leaves += r.stats.leaves;
      totals.hazards += r.stats.hazards;
      totals.knownDivergences += r.stats.knownDivergences;
      totals.unlocks += r.stats.unlocks;
      totals.faults += r.stats.faults;
      totals.checkedPaths += r.stats.checkedPaths;
      totals[r.profile]++;
      if (o.seed !== null || o.verbose) console.log(JSON.stringify({ seed, nodes: r.nodes, profile: r.profile, ok: r.ok, stats: r.stats }));
      if (!r.ok) {
        failures.push(r);
        console.log(`FAIL seed ${seed} (${r.nodes} nodes, ${r.profile}): ${r.failure}\n  replay: ${r.replay}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${seeds.length} schedules in ${secs.toFixed(1)} s (${(seeds.length / secs).toFixed(2)} schedules/s): ` +
      `${seeds.length - failures.length} passed, ${failures.length} failed; ` +
      `${totals.calm} calm / ${totals.faulty} faulty; ops ${totals.ops} (acked ${totals.acked}, ${totals.checkedPaths} paths checked), ` +
      `faults ${totals.faults}, LEAVEs ${totals.leaves}, unlocks ${totals.unlocks}, pitfall-3 hazards ${totals.hazards} ` +
      `(${totals.knownDivergences} C-legal divergences seen)`,
  );
  if (failures.length > 0) {
    console.log('failing seeds:');
    for (const f of failures) console.log(`  ${f.replay}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
