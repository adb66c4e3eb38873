/**
 * RRD samples (kvstore.md §9): which file a key's samples go to and how the sample
 * string is adjusted (pure), the table behind `.rrd` with its dump cache and expiry.
 * Writing the files is rrdfile.ts (librrd).
 *
 * | here            | C (status.c)                                           |
 * |-----------------|--------------------------------------------------------|
 * | rrdTarget       | update_rrd_data (key checks, file name, skip, cut)     |
 * | skipColumns     | rrd_skip_data                                          |
 * | RrdTable.set    | rrdentry_hash_set (copy + local receive time)          |
 * | RrdTable.dump   | cfs_rrd_dump (2 s cache, 300 s expiry, trailing NUL)   |
 */
import { cString } from '../clusterlog/entry.js';
import { GHashTable, gStrHash } from './ghash.js';

/** rrdentry_hash_set: 0 < len < 4096 and NUL-terminated. */
export const RRD_MAX_DATA = 4096;
/** cfs_rrd_dump: entries whose local receive time is older than this are dropped. */
export const RRD_EXPIRE_SEC = 300;
/** cfs_rrd_dump: a dump younger than this is served from the cache. */
export const RRD_DUMP_CACHE_SEC = 2;

export type RrdKind = 'node' | 'vm' | 'storage';

interface KindRule {
  readonly kind: RrdKind;
  /** The pve2-era prefix (appends `:U` columns) and the versioned prefix. */
  readonly legacy: string;
  readonly versioned: string;
  /** Live columns before the sample time. */
  readonly skip: number;
  /** Values of the current (9.0) format. */
  readonly values: number;
  /** `:U` columns appended to pve2-era samples. */
  readonly legacyPad: number;
}

const RULES: readonly KindRule[] = [
  { kind: 'node', legacy: 'pve2-node/', versioned: 'pve-node-', skip: 2, values: 19, legacyPad: 7 },
  { kind: 'vm', legacy: 'pve2.3-vm/', versioned: 'pve-vm-', skip: 4, values: 17, legacyPad: 7 },
  { kind: 'storage', legacy: 'pve2-storage/', versioned: 'pve-storage-', skip: 0, values: 2, legacyPad: 0 },
];

/** The directory of the current format for each kind. */
export const RRD_FORMAT_DIR: Record<RrdKind, string> = { node: 'pve-node-9.0', vm: 'pve-vm-9.0', storage: 'pve-storage-9.0' };
const CURRENT_VERSION = '9.0';

export interface RrdTarget {
  readonly kind: RrdKind;
  /** Relative to the RRD directory, e.g. `pve-vm-9.0/100`. */
  readonly file: string;
  /** The directories C makes (one plain mkdir each), relative. */
  readonly dirs: readonly string[];
  /** The update string for librrd. */
  readonly sample: string;
  /** Index in the data where C writes a NUL (the "keep n values" cut), or null. */
  readonly cutAt: number | null;
}

/** rrd_skip_data: the index after the `count`-th ':' (or the end). */
export function skipColumns(data: Buffer, from: number, count: number): number {
  let i = from;
  let found = 0;
  while (i < data.length && data[i] !== 0 && found < count) {
    if (data[i++] === 0x3a) found++;
  }
  return i;
}

function splitId(rule: KindRule, rest: string): string | null {
  const parts = rest.split('/');
  if (rule.kind === 'storage') return parts.length === 2 && parts[1]!.length > 0 ? rest : null;
  return parts.length === 1 && rest.length > 0 ? rest : null;
}

/** update_rrd_data's key and data handling; null = "unknown/wrong key". `data` is the NUL-terminated value. */
export function rrdTarget(key: string, data: Buffer): RrdTarget | null {
  for (const rule of RULES) {
    let version: string;
    let rest: string;
    if (key.startsWith(rule.legacy)) {
      version = 'legacy';
      rest = key.slice(rule.legacy.length);
    } else if (key.startsWith(rule.versioned)) {
      const slash = key.indexOf('/', rule.versioned.length);
      if (slash < 0) return null;
      version = key.slice(rule.versioned.length, slash);
      rest = key.slice(slash + 1);
    } else continue;
    const id = splitId(rule, rest);
    if (id === null) return null;
    const dir = RRD_FORMAT_DIR[rule.kind];
    const dirs = rule.kind === 'storage' ? [dir, `${dir}/${id.split('/')[0]!}`] : [dir];
    const str = cString(data);
    const start = rule.skip > 0 ? skipColumns(str, 0, rule.skip) : 0;
    let sample = str.subarray(start).toString('latin1');
    let cutAt: number | null = null;
    if (version === 'legacy') sample += ':U'.repeat(rule.legacyPad);
    else if (version !== CURRENT_VERSION) {
      // Keep the sample time + `values` values: C writes a NUL over the character before
      // where rrd_skip_data stopped — the next ':' or, if there is none, the last character.
      const stop = skipColumns(str, start, rule.values + 1);
      cutAt = stop - 1;
      sample = str.subarray(start, Math.max(start, cutAt)).toString('latin1');
    }
    return { kind: rule.kind, file: `${dir}/${id}`, dirs, sample, cutAt };
  }
  return null;
}

interface RrdEntry {
  data: Buffer;
  time: number;
}

export class RrdTable {
  /** rrdhash, in GLib's bucket order (the order of the dump lines). */
  private readonly entries = new GHashTable<string, RrdEntry>(gStrHash);
  private cache: Buffer | null = null;
  private cacheTime = 0;

  /** rrdentry_hash_set's checks: false (GLib critical in C) if violated. */
  static valid(data: Buffer): boolean {
    return data.length > 0 && data.length < RRD_MAX_DATA && data[data.length - 1] === 0;
  }

  set(key: string, data: Buffer, now: number): void {
    const e = this.entries.get(key);
    if (e === undefined) this.entries.set(key, { data: Buffer.from(data), time: now });
    else {
      e.data = Buffer.from(data);
      e.time = now;
    }
  }

  get size(): number {
    return this.entries.count;
  }

  /** cfs_rrd_dump: the text with a trailing NUL when rebuilt, the cached copy (no NUL) otherwise. */
  dump(now: number): Buffer {
    if (this.cache !== null && now - this.cacheTime < RRD_DUMP_CACHE_SEC) return Buffer.from(this.cache);
    this.entries.deleteWhere((_k, e) => ((now - e.time) | 0) > RRD_EXPIRE_SEC);
    const parts: Buffer[] = [];
    for (const [key, e] of this.entries.entries()) parts.push(Buffer.from(`${key}:`, 'latin1'), cString(e.data), Buffer.from('\n'));
    const text = Buffer.concat(parts);
    this.cache = text;
    this.cacheTime = now;
    return Buffer.concat([text, Buffer.alloc(1)]);
  }
}
