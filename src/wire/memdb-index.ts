/**
 * The memdb index: the STATE payload (wire.md §7, memdb.h: memdb_index_t).
 *
 * | here         | C                                             |
 * |--------------|-----------------------------------------------|
 * | encodeIndex  | memdb.c: memdb_encode_index                   |
 * | decodeIndex  | validation of dcdb.c: dcdb_process_state_update (+ stricter checks) |
 */
import { type Decoded, fail, ok } from './result.js';
import { readU64, type U64, writeU64 } from './u64.js';

export const INDEX_HEADER_SIZE = 32;
export const INDEX_ENTRY_SIZE = 40;

export interface IndexHeader {
  readonly version: U64;
  readonly lastInode: U64;
  readonly writer: number;
  readonly mtime: number;
  /** Number of entries. */
  readonly size: number;
  /** Total encoded length. */
  readonly bytes: number;
}

export interface IndexEntry {
  readonly inode: U64;
  readonly digest: Buffer;
}

export interface MemdbIndex extends IndexHeader {
  /**
   * The entries' inodes, ascending; the digests stay in `raw` (indexEntries makes
   * objects of both). A sync round decodes one index per member: at 60k inodes an object
   * and a digest view per entry took ~70 ms per index, the inodes alone a few.
   */
  readonly inodes: readonly U64[];
  /** The exact bytes received or encoded (C compares indexes with memcmp). */
  readonly raw: Buffer;
}

/** Root values for the header plus entries sorted by inode with their digests (bytes, or a byte string). */
export function encodeIndex(root: { version: U64; writer: number; mtime: number }, entries: readonly { readonly inode: U64; readonly digest: Buffer | string }[]): Buffer {
  const bytes = INDEX_HEADER_SIZE + INDEX_ENTRY_SIZE * entries.length;
  const buf = Buffer.allocUnsafe(bytes);
  let lastInode: U64 = 0;
  let prev: U64 = -1;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.inode <= prev) throw new RangeError('index entries must be sorted by inode and unique');
    if (e.digest.length !== 32) throw new RangeError('digest must be 32 bytes');
    prev = e.inode;
    if (e.inode > lastInode) lastInode = e.inode;
    const off = INDEX_HEADER_SIZE + i * INDEX_ENTRY_SIZE;
    writeU64(buf, off, e.inode);
    if (typeof e.digest === 'string') buf.write(e.digest, off + 8, 32, 'latin1');
    else e.digest.copy(buf, off + 8);
  }
  writeU64(buf, 0, root.version);
  writeU64(buf, 8, lastInode);
  buf.writeUInt32LE(root.writer >>> 0, 16);
  buf.writeUInt32LE(root.mtime >>> 0, 20);
  buf.writeUInt32LE(entries.length, 24);
  buf.writeUInt32LE(bytes, 28);
  return buf;
}

/**
 * Parse a STATE payload. C checks only `len >= 32 && len == bytes` and then trusts
 * `size`; we also require `bytes == 32 + 40·size` and strictly ascending inodes,
 * because the leader's diff and the commit's delete walk index into the entries.
 * A C sender always satisfies both.
 */
export function decodeIndex(payload: Buffer): Decoded<MemdbIndex> {
  if (payload.length < INDEX_HEADER_SIZE) return fail('SHORT', `index of ${payload.length} bytes is shorter than 32`);
  const bytes = payload.readUInt32LE(28);
  if (bytes !== payload.length) return fail('LENGTH', `index says ${bytes} bytes but ${payload.length} arrived`);
  const size = payload.readUInt32LE(24);
  if (bytes !== INDEX_HEADER_SIZE + INDEX_ENTRY_SIZE * size) return fail('LENGTH', `index of ${size} entries cannot be ${bytes} bytes`);
  const version = readU64(payload, 0);
  const lastInode = readU64(payload, 8);
  const inodes: U64[] = new Array(size);
  let prev: U64 = -1;
  for (let i = 0; i < size; i++) {
    const inode = readU64(payload, INDEX_HEADER_SIZE + i * INDEX_ENTRY_SIZE);
    if (inode <= prev) return fail('ORDER', `index entry ${i} (inode ${inode}) is not in ascending order`);
    prev = inode;
    inodes[i] = inode;
  }
  return ok({
    version,
    lastInode,
    writer: payload.readUInt32LE(16),
    mtime: payload.readUInt32LE(20),
    size,
    bytes,
    inodes,
    raw: payload,
  });
}

/** The entries with their digests (views of `raw`), for tools and tests. */
export function indexEntries(index: MemdbIndex): IndexEntry[] {
  return index.inodes.map((inode, i) => {
    const off = INDEX_HEADER_SIZE + i * INDEX_ENTRY_SIZE + 8;
    return { inode, digest: index.raw.subarray(off, off + 32) };
  });
}

/** C's "identical" test: same `bytes` and memcmp over the whole index. */
export function indexEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

/** The 40 raw bytes (inode + digest) of entry i, as the leader compares them. */
export function indexEntryBytes(index: MemdbIndex, i: number): Buffer {
  const off = INDEX_HEADER_SIZE + i * INDEX_ENTRY_SIZE;
  return index.raw.subarray(off, off + INDEX_ENTRY_SIZE);
}
