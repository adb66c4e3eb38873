/**
 * GLib's GHashTable layout (GLib 2.74, Debian 12), so that everything C prints by
 * iterating a hash table comes out in C's order: the nodes of `.members` and the
 * node blocks of `.version` (nodes_byid), the keys of a `.version` kvstore block and
 * the post-sync re-broadcast (kvhash), the lines of `.rrd` (rrdhash). Only the bucket
 * layout is modelled (open addressing with quadratic probing, tombstones, resizes with
 * in-place relocation); iteration is bucket order.
 *
 * | here              | GLib (glib/ghash.c, 2.74)                               |
 * |-------------------|---------------------------------------------------------|
 * | gStrHash          | g_str_hash (djb2 over signed chars)                     |
 * | GHashTable.index  | g_hash_table_lookup_node (+ g_hash_table_hash_to_index) |
 * | set               | g_hash_table_replace → g_hash_table_insert_node         |
 * | delete            | g_hash_table_remove_internal                            |
 * | deleteWhere       | g_hash_table_foreach_remove                             |
 * | resize            | g_hash_table_resize + resize_map                        |
 * | maybeResize       | g_hash_table_maybe_resize                               |
 * | values / entries  | GHashTableIter (bucket order)                           |
 */

/** HASH_TABLE_MIN_SHIFT: 8 buckets. */
const MIN_SHIFT = 3;
/** prime_mod[shift]: the first prime below 2^shift (up to 2^20 buckets, far beyond any node count). */
const PRIME_MOD = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573];
const UNUSED = 0;
const TOMBSTONE = 1;

/** g_str_hash: h = h * 33 + c over the bytes as signed chars, from 5381, mod 2^32. */
export function gStrHash(key: string): number {
  let h = 5381;
  for (let i = 0; i < key.length; i++) {
    const b = key.charCodeAt(i) & 0xff;
    h = (Math.imul(h, 33) + (b >= 128 ? b - 256 : b)) >>> 0;
  }
  return h;
}

/** status.c: g_int32_hash (the nodeid itself). */
export function gInt32Hash(key: number): number {
  return key >>> 0;
}

export class GHashTable<K extends string | number, V> {
  private size = 0;
  private mod = 0;
  private mask = 0;
  private hashes: number[] = [];
  private keys: (K | undefined)[] = [];
  private vals: (V | undefined)[] = [];
  private nnodes = 0;
  private noccupied = 0;

  constructor(private readonly hashFn: (key: K) => number) {
    this.setShift(MIN_SHIFT);
    this.hashes = new Array<number>(this.size).fill(UNUSED);
  }

  private setShift(shift: number): void {
    if (shift >= PRIME_MOD.length) throw new RangeError(`hash table beyond 2^${PRIME_MOD.length - 1} buckets`);
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
  }

  private hashOf(key: K): number {
    const h = this.hashFn(key);
    return h <= TOMBSTONE ? 2 : h;
  }

  private toIndex(hash: number): number {
    return (Math.imul(hash, 11) >>> 0) % this.mod;
  }

  /** The bucket of `key`, or where it would be inserted (first tombstone on the way, else the empty bucket). */
  private index(key: K, hash: number): number {
    let i = this.toIndex(hash);
    let step = 0;
    let tombstone = -1;
    while (this.hashes[i] !== UNUSED) {
      if (this.hashes[i] === hash && this.keys[i] === key) return i;
      if (this.hashes[i] === TOMBSTONE && tombstone < 0) tombstone = i;
      step++;
      i = (i + step) & this.mask;
    }
    return tombstone >= 0 ? tombstone : i;
  }

  get(key: K): V | undefined {
    const hash = this.hashOf(key);
    const i = this.index(key, hash);
    return this.hashes[i] === hash && this.keys[i] === key ? this.vals[i] : undefined;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  get count(): number {
    return this.nnodes;
  }

  /** g_hash_table_replace: a new key takes its bucket and may trigger a resize. */
  set(key: K, value: V): void {
    const hash = this.hashOf(key);
    const i = this.index(key, hash);
    const old = this.hashes[i]!;
    this.keys[i] = key;
    this.vals[i] = value;
    if (old > TOMBSTONE) return;
    this.hashes[i] = hash;
    this.nnodes++;
    if (old === UNUSED) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  private removeAt(i: number): void {
    this.hashes[i] = TOMBSTONE;
    this.keys[i] = undefined;
    this.vals[i] = undefined;
    this.nnodes--;
  }

  delete(key: K): boolean {
    const hash = this.hashOf(key);
    const i = this.index(key, hash);
    if (this.hashes[i] !== hash || this.keys[i] !== key) return false;
    this.removeAt(i);
    this.maybeResize();
    return true;
  }

  /** g_hash_table_foreach_remove: remove in bucket order, then one maybe-resize. */
  deleteWhere(pred: (key: K, value: V) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.hashes[i]! > TOMBSTONE && pred(this.keys[i]!, this.vals[i]!)) {
        this.removeAt(i);
        n++;
      }
    }
    this.maybeResize();
    return n;
  }

  *entries(): Generator<[K, V]> {
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! > TOMBSTONE) yield [this.keys[i]!, this.vals[i]!];
  }

  *values(): Generator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  private maybeResize(): void {
    const size = this.size;
    const occ = this.noccupied;
    if ((size > this.nnodes * 4 && size > 1 << MIN_SHIFT) || size <= occ + Math.trunc(occ / 16)) this.resize();
  }

  /** g_hash_table_resize + resize_map: relocate in place, evicting entries not yet moved. */
  private resize(): void {
    const oldSize = this.size;
    let n = Math.trunc(this.nnodes * 1.333);
    let shift = 0;
    for (; n; shift++) n >>= 1;
    this.setShift(Math.max(shift, MIN_SHIFT));
    for (let i = oldSize; i < this.size; i++) this.hashes[i] = UNUSED;
    const moved = new Array<boolean>(Math.max(oldSize, this.size)).fill(false);
    for (let i = 0; i < oldSize; i++) {
      let hash = this.hashes[i]!;
      if (hash <= TOMBSTONE) {
        this.hashes[i] = UNUSED;
        continue;
      }
      if (moved[i]) continue;
      this.hashes[i] = UNUSED;
      let key = this.keys[i];
      let val = this.vals[i];
      for (;;) {
        let j = this.toIndex(hash);
        for (let step = 1; moved[j]; step++) j = (j + step) & this.mask;
        moved[j] = true;
        const replaced = this.hashes[j]!;
        const k2 = this.keys[j];
        const v2 = this.vals[j];
        this.hashes[j] = hash;
        this.keys[j] = key;
        this.vals[j] = val;
        if (replaced <= TOMBSTONE) break;
        hash = replaced;
        key = k2;
        val = v2;
      }
    }
    this.hashes.length = this.size;
    this.keys.length = this.size;
    this.vals.length = this.size;
    this.noccupied = this.nnodes;
  }
}
