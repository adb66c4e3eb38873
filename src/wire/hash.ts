/**
 * The three SHA-256 preimages of wire.md §7.2, §9, §10.
 *
 * | here             | C (memdb.c)                                   |
 * |------------------|-----------------------------------------------|
 * | entryDigest      | digest in memdb_encode_index (no inode)       |
 * | entryCsum        | memdb_tree_entry_csum (inode first)           |
 * | databaseChecksum | memdb_compute_checksum (all entries, sorted)  |
 */
import type { Hash } from 'node:crypto';
import { nodeCrypto } from '../util/lazy.js';
import { DT_REG, type EntryFields } from './entry.js';
import { writeU64 } from './u64.js';

/** version u64, writer u32, mtime u32, size u32, type u8, parent u64 = 29 bytes. */
const FIXED = 29;
const INODE = 8;
/**
 * An entry's preimage up to this size is laid out in one scratch buffer and hashed in
 * one call (crypto.hash; for a checksum, many entries per update): per entry a Hash
 * object and three update calls cost more than SHA-256 itself for the small entries
 * of a config tree (6,000 digests of 1.7 KiB files: 30 → 16 ms). A larger entry is
 * streamed, not copied.
 */
const PACKED_BYTES = 64 * 1024;
const scratch = Buffer.allocUnsafe(PACKED_BYTES);

/** The bytes of a file that C hashes: `size` of them (fewer if the buffer is shorter, the truncate quirk); none without a buffer. */
function hashedData(e: EntryFields): Buffer | null {
  const length = hashedLength(e);
  return length > 0 ? e.data!.subarray(0, length) : null;
}

/** hashedData's length, without making the view (per entry of every index and checksum). */
function hashedLength(e: EntryFields): number {
  return e.type === DT_REG && e.size > 0 && e.data !== null ? Math.min(e.size, e.data.length) : 0;
}

function entryBytes(e: EntryFields, withInode: boolean): number {
  return (withInode ? INODE : 0) + FIXED + e.name.length + hashedLength(e);
}

/** The preimage of `e` (inode first when asked) written into scratch at `at`; its end. The caller checks it fits. */
function packEntry(e: EntryFields, withInode: boolean, at: number): number {
  let o = at;
  if (withInode) {
    writeU64(scratch, o, e.inode);
    o += INODE;
  }
  writeU64(scratch, o, e.version);
  scratch.writeUInt32LE(e.writer >>> 0, o + 8);
  scratch.writeUInt32LE(e.mtime >>> 0, o + 12);
  scratch.writeUInt32LE(e.size >>> 0, o + 16);
  scratch.writeUInt8(e.type & 0xff, o + 20);
  writeU64(scratch, o + 21, e.parent);
  o += FIXED;
  o += scratch.write(e.name, o, 'latin1');
  const length = hashedLength(e);
  return length === 0 ? o : o + e.data!.copy(scratch, o, 0, length);
}

/**
 * The preimage of `e` (inode first when asked) in parts, for streaming: one view of
 * scratch (valid until the next hashing) when it fits, else the fields, the name and
 * the data (not copied). The bench feeds other SHA-256 implementations from it.
 */
export function entryPreimage(e: EntryFields, withInode: boolean): Buffer[] {
  if (entryBytes(e, withInode) <= PACKED_BYTES) return [scratch.subarray(0, packEntry(e, withInode, 0))];
  const head = Buffer.from(scratch.subarray(0, packEntry({ ...e, name: '', data: null }, withInode, 0)));
  // C hashes `size` bytes of data for files; with no buffer (the truncate quirk)
  // GLib refuses the NULL pointer and nothing is hashed.
  const data = hashedData(e);
  return [head, Buffer.from(e.name, 'latin1'), ...(data === null ? [] : [data])];
}

function updateWithEntry(h: Hash, e: EntryFields, withInode: boolean): void {
  for (const part of entryPreimage(e, withInode)) h.update(part);
}

function digestOfEntry(e: EntryFields, withInode: boolean, as: 'buffer'): Buffer;
function digestOfEntry(e: EntryFields, withInode: boolean, as: 'binary'): string;
function digestOfEntry(e: EntryFields, withInode: boolean, as: 'buffer' | 'binary'): Buffer | string {
  // 'binary' is Node's name for latin1: one char per byte.
  const parts = entryPreimage(e, withInode);
  // One part: the packed preimage in scratch, hashed in one call.
  if (parts.length === 1) return nodeCrypto().hash('sha256', parts[0]!, as as 'buffer');
  const h = nodeCrypto().createHash('sha256');
  for (const part of parts) h.update(part);
  return as === 'buffer' ? h.digest() : h.digest(as);
}

/** The per-entry digest carried in the index (STATE). The inode is not hashed. */
export function entryDigest(e: EntryFields): Buffer {
  return digestOfEntry(e, false, 'buffer');
}

/** entryDigest as a byte string (latin1), the form the tree caches it in (tree.ts: digestOf). */
export function entryDigestLatin1(e: EntryFields): string {
  return digestOfEntry(e, false, 'binary');
}

/** memdb_tree_entry_csum: the lock checksum of one entry. */
export function entryCsum(e: EntryFields): Buffer {
  return digestOfEntry(e, true, 'buffer');
}

/** memdb_compute_checksum over entries that the caller passes sorted by inode. */
export function databaseChecksum(sorted: Iterable<EntryFields>): Buffer {
  const h = nodeCrypto().createHash('sha256');
  let used = 0;
  for (const e of sorted) {
    const n = entryBytes(e, true);
    if (used + n > PACKED_BYTES) {
      h.update(scratch.subarray(0, used));
      used = 0;
    }
    if (n > PACKED_BYTES) updateWithEntry(h, e, true);
    else used = packEntry(e, true, used);
  }
  h.update(scratch.subarray(0, used));
  return h.digest();
}
