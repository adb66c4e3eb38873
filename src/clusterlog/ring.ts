/**
 * The cluster-log ring buffer (kvstore.md §6.1, §7.2, §7.3) and the comparator that
 * orders and deduplicates entries everywhere (§7.5). A buffer is the exact bytes of
 * C's clog_base_t, so a local log and a peer's STATE are read the same way.
 *
 * | here             | C (logger.c)                                             |
 * |------------------|----------------------------------------------------------|
 * | newClog          | clog_new                                                 |
 * | clogCopy         | clog_copy + clog_alloc_entry                             |
 * | walkNewestFirst  | the walk of clog_dump / clog_sort / clusterlog_merge      |
 * | compareEntries   | clog_entry_sort_fn                                       |
 * | SortedEntries    | the GTree of clog_sort / clusterlog_merge                 |
 * | clogSort         | clog_sort                                                |
 *
 * Peer buffers are untrusted: every offset is bounds-checked before use, and a walk
 * that would leave the buffer stops there (C would read out of bounds).
 */
import { CLOG_BASE_SIZE, CLOG_DEFAULT_SIZE, CLOG_ENTRY_SIZEOF, CLOG_MAX_ENTRY_SIZE, clogEntrySize, readClogEntry } from '../wire/kvstore.js';

/** A log buffer: `size` at 0, `cpos` at 4, entries after. */
export type Clog = Buffer;

export function newClog(size = CLOG_DEFAULT_SIZE): Clog {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, 0);
  return b;
}

export function clogCpos(clog: Clog): number {
  return clog.readUInt32LE(4);
}

/** One entry in a buffer: where it is and the key fields the algorithms use. */
export interface EntryRef {
  readonly buf: Buffer;
  readonly off: number;
  readonly time: number;
  readonly uid: number;
  readonly nodeLo: number;
  readonly nodeHi: number;
  readonly prev: number;
  readonly next: number;
  /** clog_entry_size (48 + string lengths). */
  readonly size: number;
}

/** The entry at `off`, or null if its header does not fit in the buffer. */
export function entryAt(buf: Buffer, off: number): EntryRef | null {
  if (off + CLOG_ENTRY_SIZEOF > buf.length) return null;
  const f = readClogEntry(buf, off);
  return { buf, off, time: f.time, uid: f.uid, nodeLo: f.nodeDigestLo, nodeHi: f.nodeDigestHi, prev: f.prev, next: f.next, size: clogEntrySize(f) };
}

/**
 * clog_entry_sort_fn: time, then the low 32 bits of the node-digest difference, then
 * uid, each as a signed 32-bit difference (C's int conversion). 0 = "the same entry".
 */
export function compareEntries(a: EntryRef, b: EntryRef): number {
  if (a.time !== b.time) return Math.sign((a.time - b.time) | 0);
  if (a.nodeLo !== b.nodeLo || a.nodeHi !== b.nodeHi) return Math.sign((a.nodeLo - b.nodeLo) | 0);
  return Math.sign((a.uid - b.uid) | 0);
}

/**
 * Offsets of a buffer's entries, newest first: from cpos while the offset is non-zero
 * and not in the 4096 bytes after the newest entry; an entry whose prev points
 * forward into [offset, cpos] ends the walk after it (`wrapped` marks it, clog_dump_json
 * does not print it).
 */
export function* walkNewestFirst(clog: Buffer): Generator<{ readonly entry: EntryRef; readonly wrapped: boolean }> {
  if (clog.length < CLOG_BASE_SIZE) return;
  const top = clogCpos(clog);
  let cpos = top;
  while (cpos !== 0 && (cpos <= top || cpos > top + CLOG_MAX_ENTRY_SIZE)) {
    const e = entryAt(clog, cpos);
    if (e === null) return;
    const wrapped = cpos < e.prev && e.prev <= top;
    yield { entry: e, wrapped };
    if (wrapped) return;
    cpos = e.prev;
  }
}

/** clog_alloc_entry + clog_copy: append a copy of `e` (its bytes from offset 8 on). */
export function clogCopy(clog: Clog, e: EntryRef): void {
  // clog_alloc_entry refuses these sizes (g_return_val_if_fail); a peer's entry that
  // claims more bytes than its buffer holds cannot be copied either.
  if (e.size <= CLOG_ENTRY_SIZEOF || e.size > CLOG_MAX_ENTRY_SIZE || e.off + e.size > e.buf.length) return;
  const real = (e.size + 7) & ~7;
  const cpos = clogCpos(clog);
  let pos = CLOG_BASE_SIZE;
  if (cpos !== 0) {
    pos = clog.readUInt32LE(cpos + 4);
    if (pos + real >= clog.length) pos = CLOG_BASE_SIZE;
  }
  clog.writeUInt32LE(cpos, pos);
  clog.writeUInt32LE(pos + real, pos + 4);
  clog.writeUInt32LE(pos, 4);
  e.buf.copy(clog, pos + 8, e.off + 8, e.off + e.size);
}

/**
 * The GTree keyed by compareEntries: a sorted array with binary search (same order
 * and same equality for C's comparator on real logs). `insert` with an equal key
 * replaces the value (g_tree_insert keeps the key, stores the new value).
 */
export class SortedEntries {
  private readonly items: EntryRef[] = [];

  get length(): number {
    return this.items.length;
  }

  private search(e: EntryRef): { found: boolean; index: number } {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareEntries(e, this.items[mid]!);
      if (c === 0) return { found: true, index: mid };
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return { found: false, index: lo };
  }

  has(e: EntryRef): boolean {
    return this.search(e).found;
  }

  insert(e: EntryRef): void {
    const s = this.search(e);
    if (s.found) this.items[s.index] = e;
    else this.items.splice(s.index, 0, e);
  }

  /** Ascending order; the clog built from it has the newest entry at cpos. */
  toClog(size = CLOG_DEFAULT_SIZE): Clog {
    const clog = newClog(size);
    for (const e of this.items) clogCopy(clog, e);
    return clog;
  }
}

/** clog_sort: entries oldest first from offset 8; an empty log is returned as is. */
export function clogSort(clog: Clog): Clog {
  if (clogCpos(clog) === 0) return clog;
  const tree = new SortedEntries();
  for (const { entry } of walkNewestFirst(clog)) tree.insert(entry);
  return tree.toClog(clog.length);
}
