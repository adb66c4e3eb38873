/**
 * UPDATE payload: one tree entry (wire.md §8).
 *
 * | here                                  | C (dcdb.c)              |
 * |---------------------------------------|-------------------------|
 * | encodeUpdate, updateSize, writeUpdate | dcdb_send_update_inode  |
 * | decodeUpdate                          | dcdb_parse_update_inode |
 */
import { bytesToName, DT_DIR, DT_REG, type EntryFields } from './entry.js';
import { type Decoded, fail, ok } from './result.js';
import { readU64, writeU64 } from './u64.js';

export const UPDATE_FIXED_SIZE = 41;

export function encodeUpdate(e: EntryFields): Buffer {
  const buf = Buffer.allocUnsafe(updateSize(e));
  writeUpdate(e, buf, 0);
  return buf;
}

/** The UPDATE's length in bytes; throws for an entry that cannot be sent (see writeUpdate). */
export function updateSize(e: EntryFields): number {
  if (e.type !== DT_DIR && e.type !== DT_REG) throw new RangeError(`entry type ${e.type} cannot be sent`);
  // Directories carry no data; a file with the truncate quirk (size without a
  // buffer) cannot be represented, C would send `size` bytes from NULL.
  const dataLen = e.type === DT_REG ? e.size : 0;
  if (dataLen > 0 && (e.data === null || e.data.length < dataLen)) throw new RangeError(`file ${e.inode} has size ${e.size} but no data`);
  return UPDATE_FIXED_SIZE + e.name.length + 1 + dataLen;
}

/**
 * The UPDATE written at `offset` of `buf`, every byte of its updateSize(e) (so `buf` may
 * be uninitialised); returns the offset after it. Written in place, a leader's full copy
 * allocates and copies each file once per message instead of once per part and again
 * to join them. Names are byte strings (one char per byte, latin1).
 */
export function writeUpdate(e: EntryFields, buf: Buffer, offset: number): number {
  const dataLen = e.type === DT_REG ? e.size : 0;
  const namelen = e.name.length + 1;
  writeU64(buf, offset, e.parent);
  writeU64(buf, offset + 8, e.inode);
  writeU64(buf, offset + 16, e.version);
  buf.writeUInt32LE(e.writer >>> 0, offset + 24);
  buf.writeUInt32LE(e.mtime >>> 0, offset + 28);
  buf.writeUInt32LE(e.size >>> 0, offset + 32);
  buf.writeUInt32LE(namelen, offset + 36);
  buf.writeUInt8(e.type, offset + 40);
  let at = offset + UPDATE_FIXED_SIZE;
  at += buf.write(e.name, at, 'latin1');
  buf[at++] = 0;
  if (dataLen > 0) at += e.data!.copy(buf, at, 0, dataLen);
  return at;
}

export function decodeUpdate(payload: Buffer): Decoded<EntryFields> {
  if (payload.length < UPDATE_FIXED_SIZE) return fail('SHORT', `UPDATE of ${payload.length} bytes is shorter than 41`);
  const type = payload.readUInt8(40);
  if (type !== DT_DIR && type !== DT_REG) return fail('TYPE', `UPDATE entry type ${type} is neither 4 nor 8`);
  const size = payload.readUInt32LE(32);
  const namelen = payload.readUInt32LE(36);
  // Wide arithmetic: C sums in 32 bits and can be fooled by a wrap (wire.md pitfall 3).
  if (payload.length - UPDATE_FIXED_SIZE !== size + namelen) {
    return fail('LENGTH', `UPDATE has ${payload.length - UPDATE_FIXED_SIZE} bytes after the header, size+namelen is ${size + namelen}`);
  }
  if (namelen === 0) return fail('NUL', 'UPDATE name length is 0');
  if (payload[UPDATE_FIXED_SIZE + namelen - 1] !== 0) return fail('NUL', 'UPDATE name is not NUL-terminated');
  const parent = readU64(payload, 0);
  const inode = readU64(payload, 8);
  const version = readU64(payload, 16);
  const rawName = payload.subarray(UPDATE_FIXED_SIZE, UPDATE_FIXED_SIZE + namelen - 1);
  const nul = rawName.indexOf(0);
  // C copies the name as a C string: an embedded NUL shortens it.
  const name = bytesToName(nul >= 0 ? rawName.subarray(0, nul) : rawName);
  const dataStart = UPDATE_FIXED_SIZE + namelen;
  return ok({
    parent,
    inode,
    version,
    writer: payload.readUInt32LE(24),
    mtime: payload.readUInt32LE(28),
    size,
    type,
    name,
    // A view, not a copy: a CPG delivery is one Buffer per message, so the entry keeps
    // only its own message alive (~60 B of headers more than the data). A copy here
    // left the whole received volume behind as freed, fragmented heap after a full
    // copy (60k inodes / 100 MB: joiner RSS +~90 MiB). Payloads are never written to.
    data: type === DT_REG && size > 0 ? payload.subarray(dataStart, dataStart + size) : null,
  });
}
