/**
 * The three SHA-256 preimages of wire.md §7.2, §9, §10.
 *
 * | here             | C (memdb.c)                                   |
 * |------------------|-----------------------------------------------|
 * | entryDigest      | digest in memdb_encode_index (no inode)       |
 * | entryCsum        | memdb_tree_entry_csum (inode first)           |
 * | databaseChecksum | memdb_compute_checksum (all entries, sorted)  |
 */
import { createHash, type Hash } from 'node:crypto';
import { DT_REG, type EntryFields } from './entry.js';
import { type U64, writeU64 } from './u64.js';

/** version u64, writer u32, mtime u32, size u32, type u8, parent u64 = 29 bytes. */
const FIXED = 29;

function fixedFields(e: EntryFields): Buffer {
  const buf = Buffer.allocUnsafe(FIXED);
  writeU64(buf, 0, e.version);
  buf.writeUInt32LE(e.writer >>> 0, 8);
  buf.writeUInt32LE(e.mtime >>> 0, 12);
  buf.writeUInt32LE(e.size >>> 0, 16);
  buf.writeUInt8(e.type & 0xff, 20);
  writeU64(buf, 21, e.parent);
  return buf;
}

function updateWithEntry(h: Hash, e: EntryFields): void {
  h.update(fixedFields(e));
  if (e.name.length > 0) h.update(e.name, 'latin1');
  // C hashes `size` bytes of data for files; with no buffer (the truncate quirk)
  // GLib refuses the NULL pointer and nothing is hashed.
  if (e.type === DT_REG && e.size > 0 && e.data !== null) h.update(e.data.subarray(0, e.size));
}

function inodeBytes(inode: U64): Buffer {
  const buf = Buffer.allocUnsafe(8);
  writeU64(buf, 0, inode);
  return buf;
}

/** The per-entry digest carried in the index (STATE). The inode is not hashed. */
export function entryDigest(e: EntryFields): Buffer {
  const h = createHash('sha256');
  updateWithEntry(h, e);
  return h.digest();
}

/** memdb_tree_entry_csum: the lock checksum of one entry. */
export function entryCsum(e: EntryFields): Buffer {
  const h = createHash('sha256');
  h.update(inodeBytes(e.inode));
  updateWithEntry(h, e);
  return h.digest();
}

/** memdb_compute_checksum over entries that the caller passes sorted by inode. */
export function databaseChecksum(sorted: Iterable<EntryFields>): Buffer {
  const h = createHash('sha256');
  for (const e of sorted) {
    h.update(inodeBytes(e.inode));
    updateWithEntry(h, e);
  }
  return h.digest();
}
