/**
 * UPDATE payload: one tree entry (wire.md §8).
 *
 * | here                          | C (dcdb.c)                 |
 * |-------------------------------|----------------------------|
 * | encodeUpdate, encodeUpdateParts | dcdb_send_update_inode   |
 * | decodeUpdate                  | dcdb_parse_update_inode    |
 */
import { bytesToName, DT_DIR, DT_REG, type EntryFields } from './entry.js';
import { type Decoded, fail, ok } from './result.js';
import { readU64, writeU64 } from './u64.js';

export const UPDATE_FIXED_SIZE = 41;

export function encodeUpdate(e: EntryFields): Buffer {
  const parts = encodeUpdateParts(e);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * The UPDATE as the header with the name, then the entry's data itself (when it has
 * any): a sender that concatenates its parts (the CPG addon copies each message into
 * its send queue) needs no full-size JS copy of every file during a full copy.
 */
export function encodeUpdateParts(e: EntryFields): Buffer[] {
  if (e.type !== DT_DIR && e.type !== DT_REG) throw new RangeError(`entry type ${e.type} cannot be sent`);
  const name = Buffer.from(e.name, 'latin1');
  const namelen = name.length + 1;
  // Directories carry no data; a file with the truncate quirk (size without a
  // buffer) cannot be represented, C would send `size` bytes from NULL.
  const dataLen = e.type === DT_REG ? e.size : 0;
  if (dataLen > 0 && (e.data === null || e.data.length < dataLen)) throw new RangeError(`file ${e.inode} has size ${e.size} but no data`);
  const head = Buffer.alloc(UPDATE_FIXED_SIZE + namelen);
  writeU64(head, 0, e.parent);
  writeU64(head, 8, e.inode);
  writeU64(head, 16, e.version);
  head.writeUInt32LE(e.writer >>> 0, 24);
  head.writeUInt32LE(e.mtime >>> 0, 28);
  head.writeUInt32LE(e.size >>> 0, 32);
  head.writeUInt32LE(namelen, 36);
  head.writeUInt8(e.type, 40);
  name.copy(head, 41);
  return dataLen > 0 ? [head, e.data!.subarray(0, dataLen)] : [head];
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
