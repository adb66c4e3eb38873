/**
 * One database measured in a fresh process (so RSS is this DB's): load time
 * (Memdb.openReadonly), RSS after the load, cold index (every entry digest computed)
 * and checksum times, and the same hashing with @noble/hashes for comparison when it
 * is installed (devDependency). Prints one JSON line.
 *
 *   node dbload.js FILE [--hash]
 */
import { createHash } from 'node:crypto';
import { Memdb } from '../memdb/memdb.js';
import type { TreeEntry } from '../memdb/tree.js';
import type { EntryFields } from '../wire/entry.js';
import { entryPreimage } from '../wire/hash.js';
import { median } from './stats.js';

type Hasher = { update(b: Uint8Array): Hasher; digest(): Uint8Array };
type MakeHash = () => Hasher;

function feed(h: Hasher, e: EntryFields, withInode: boolean): void {
  for (const part of entryPreimage(e, withInode)) h.update(part);
}

/** Hashing only: every entry digest (index) and the database checksum, with `make`. */
function hashAll(sorted: readonly TreeEntry[], make: MakeHash): { digestsMs: number; checksumMs: number; checksum: string } {
  let t = performance.now();
  for (const e of sorted) {
    const h = make();
    feed(h, e, false);
    h.digest();
  }
  const digestsMs = performance.now() - t;
  t = performance.now();
  const h = make();
  for (const e of sorted) feed(h, e, true);
  const checksum = Buffer.from(h.digest()).toString('hex');
  return { digestsMs, checksumMs: performance.now() - t, checksum };
}

const nodeHash: MakeHash = () => {
  const h = createHash('sha256');
  const w: Hasher = {
    update: (b) => (h.update(b), w),
    digest: () => h.digest(),
  };
  return w;
};

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const withHash = process.argv.includes('--hash');
  const rss0 = process.memoryUsage().rss;
  let t = performance.now();
  const memdb = Memdb.openReadonly(file);
  const loadMs = performance.now() - t;
  const rss = process.memoryUsage().rss;
  const entries = memdb.index.size;
  let bytes = 0;
  for (const e of memdb.index.values()) bytes += e.data?.length ?? 0;
  const out: Record<string, unknown> = { file, entries, bytes, loadMs, rssMiB: rss / 1048576, rssDeltaMiB: (rss - rss0) / 1048576 };
  if (withHash) {
    const sorted = memdb.sortedEntries();
    const reps = 3;
    const index: number[] = [];
    const checksum: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (const e of sorted) e.digest = undefined; // cold: every digest computed again
      t = performance.now();
      memdb.encodeIndex();
      index.push(performance.now() - t);
      t = performance.now();
      memdb.checksum();
      checksum.push(performance.now() - t);
    }
    out['indexMs'] = median(index);
    out['checksumMs'] = median(checksum);
    const impls: [string, MakeHash][] = [['node:crypto', nodeHash]];
    try {
      const { sha256 } = (await import('@noble/hashes/sha2.js')) as { sha256: { create(): Hasher } };
      impls.push(['@noble/hashes', () => sha256.create()]);
    } catch {
      /* not installed: node:crypto only */
    }
    const hashing: Record<string, { digestsMs: number; checksumMs: number }> = {};
    const sums = new Set<string>();
    for (let r = 0; r < reps; r++) {
      for (const [name, make] of r % 2 === 0 ? impls : [...impls].reverse()) {
        const h = hashAll(sorted, make);
        sums.add(h.checksum);
        const prev = hashing[name];
        if (prev === undefined || h.digestsMs + h.checksumMs < prev.digestsMs + prev.checksumMs) hashing[name] = { digestsMs: h.digestsMs, checksumMs: h.checksumMs };
      }
    }
    if (sums.size !== 1 || !sums.has(memdb.checksum().toString('hex'))) throw new Error('hash implementations disagree');
    out['hashing'] = hashing;
  }
  memdb.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`dbload: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
