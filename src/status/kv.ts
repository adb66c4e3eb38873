/**
 * A key/value status table with C's entry versions (kvstore.md §8.1): a new key
 * starts at 0, every later set increments the version (even with the same value),
 * an empty value deletes the key.
 *
 * | here          | C (status.c)        |
 * |---------------|---------------------|
 * | KvTable       | kventry_hash_new    |
 * | KvTable.set   | kventry_hash_set    |
 *
 * Iteration is GLib's bucket order (ghash.ts), as C prints and re-sends the keys.
 */
import { GHashTable, gStrHash } from './ghash.js';

/** status.h: CFS_MAX_STATUS_SIZE, the largest value cfs_status_set accepts. */
export const CFS_MAX_STATUS_SIZE = 32 * 1024;

interface KvEntry {
  data: Buffer;
  version: number;
}

export class KvTable {
  /** Keys are C strings kept as latin1 (byte-preserving). */
  private readonly map = new GHashTable<string, KvEntry>(gStrHash);

  set(key: string, data: Buffer): void {
    if (data.length === 0) {
      this.map.delete(key);
      return;
    }
    const e = this.map.get(key);
    if (e === undefined) this.map.set(key, { data: Buffer.from(data), version: 0 });
    else {
      e.data = Buffer.from(data);
      e.version = (e.version + 1) >>> 0;
    }
  }

  get(key: string): Buffer | undefined {
    return this.map.get(key)?.data;
  }

  /** (key, version) pairs for `.version`. */
  versions(): [string, number][] {
    return [...this.map.entries()].map(([k, e]) => [k, e.version]);
  }

  /** (key, value) pairs for the re-broadcast after a sync round. */
  entries(): [string, Buffer][] {
    return [...this.map.entries()].map(([k, e]) => [k, e.data]);
  }

  get size(): number {
    return this.map.count;
  }
}
