/**
 * Access to ../shared/golden (or $PMXCFS_GOLDEN): fixtures, state snapshots and
 * CPG transcripts recorded from real C nodes. When the folder is absent the golden
 * tests skip with that reason; in CI it is present and they run.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run compiled from dist/test/...). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const goldenDir: string = process.env['PMXCFS_GOLDEN'] ?? resolve(repoRoot, '../shared/golden');
export const goldenMissing: string | false = existsSync(join(goldenDir, 'README.md')) ? false : `golden vectors not found at ${goldenDir} (set PMXCFS_GOLDEN)`;

export interface GoldenState {
  readonly name: string;
  readonly dir: string;
  readonly db: string;
  readonly index: Buffer;
  readonly checksum: string;
  readonly tree: { root: object; index: object; checksum: string; entries: GoldenEntry[] };
}

export interface GoldenEntry {
  inode: number;
  parent: number;
  version: number;
  writer: number;
  mtime: number;
  type: 'dir' | 'file';
  type_code: number;
  name: string;
  path: string;
  size: number;
  sha256?: string;
}

function loadState(name: string, dir: string): GoldenState {
  return {
    name,
    dir,
    db: join(dir, 'config.db'),
    index: readFileSync(join(dir, 'index.bin')),
    checksum: readFileSync(join(dir, 'checksum.hex'), 'utf8').trim(),
    tree: JSON.parse(readFileSync(join(dir, 'tree.json'), 'utf8')),
  };
}

/** Every fixture and every transcript state snapshot. */
export function goldenStates(): GoldenState[] {
  if (goldenMissing) return [];
  const out: GoldenState[] = [];
  for (const base of ['fixtures', 'transcripts/states']) {
    const root = join(goldenDir, base);
    for (const name of readdirSync(root).sort()) out.push(loadState(`${base}/${name}`, join(root, name)));
  }
  return out;
}

export function goldenState(rel: string): GoldenState {
  return loadState(rel, join(goldenDir, rel));
}

export type TranscriptLine =
  | { i: number; from: { nodeid: number; pid: number }; len: number; hex: string }
  | { i: number; confchg: { members: [number, number][]; left: [number, number][]; joined: [number, number][] } };

export function transcript(name: string): TranscriptLine[] {
  return readFileSync(join(goldenDir, 'transcripts', `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as TranscriptLine);
}

export const transcriptNames = ['join-full-copy', 'ops', 'rejoin-diff', 'churn', 'shutdown', 'verify'];

/** A scratch copy of a database file (tests never write to the golden folder). */
export function scratchCopy(file: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-test-'));
  const dest = join(dir, 'config.db');
  copyFileSync(file, dest);
  return dest;
}

export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'pmxcfs-ts-test-'));
}
