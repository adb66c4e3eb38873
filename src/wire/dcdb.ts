/**
 * dcdb NORMAL payloads (wire.md §6): the fuse message (types 1–6) and the unlock
 * message (types 7, 8).
 *
 * | here               | C (dcdb.c)                                   |
 * |--------------------|----------------------------------------------|
 * | encodeFuseMessage  | dcdb_send_fuse_message (iovec layout)        |
 * | decodeFuseMessage  | dcdb_parse_fuse_message                      |
 * | encodeUnlock       | dcdb_send_unlock                             |
 * | decodeUnlock       | dcdb_parse_unlock_request                    |
 */
import { bytesToName } from './entry.js';
import { type Decoded, fail, ok } from './result.js';

export const DcdbMessageType = {
  WRITE: 1,
  MKDIR: 2,
  DELETE: 3,
  RENAME: 4,
  CREATE: 5,
  MTIME: 6,
  UNLOCK_REQUEST: 7,
  UNLOCK: 8,
} as const;
export type DcdbMessageType = (typeof DcdbMessageType)[keyof typeof DcdbMessageType];

export const FUSE_HEADER_SIZE = 20;
const MAX_U32 = 0xffff_ffff;
export const UNLOCK_CSUM_SIZE = 32;

export interface FuseMessage {
  /** WRITE: file offset, truncate: new length, MTIME: the new mtime; else 0. */
  readonly offset: number;
  /** WRITE: nonzero = truncate. */
  readonly flags: number;
  /** Byte-string path without a leading slash; null when absent (pathlen 0). */
  readonly path: string | null;
  /** RENAME target; null when absent. */
  readonly to: string | null;
  /** Data bytes (WRITE); null when size is 0. */
  readonly data: Buffer | null;
}

function cString(s: string): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(s, 'latin1') + 1);
  b.write(s, 0, 'latin1');
  return b;
}

/** The payload as the separate buffers C puts in its iovec (header, path, to, data). */
export function encodeFuseMessage(m: FuseMessage): Buffer[] {
  // The offset field is 32 bits: a larger value would be cut and land elsewhere.
  if (!Number.isInteger(m.offset) || m.offset < 0 || m.offset > MAX_U32) throw new RangeError(`fuse message offset ${m.offset} does not fit in 32 bits`);
  const path = m.path === null ? null : cString(m.path);
  const to = m.to === null ? null : cString(m.to);
  const size = m.data === null ? 0 : m.data.length;
  const header = Buffer.alloc(FUSE_HEADER_SIZE);
  header.writeUInt32LE(size, 0);
  header.writeUInt32LE(m.offset >>> 0, 4);
  header.writeUInt32LE(path === null ? 0 : path.length, 8);
  header.writeUInt32LE(to === null ? 0 : to.length, 12);
  header.writeUInt32LE(m.flags >>> 0, 16);
  const parts: Buffer[] = [header];
  if (path !== null) parts.push(path);
  if (to !== null) parts.push(to);
  if (m.data !== null && size > 0) parts.push(m.data);
  return parts;
}

function nulTerminated(buf: Buffer, start: number, len: number, what: string): Decoded<string | null> {
  if (len === 0) return ok(null);
  if (buf[start + len - 1] !== 0) return fail('NUL', `${what} is not NUL-terminated`);
  const raw = buf.subarray(start, start + len - 1);
  const nul = raw.indexOf(0);
  // Used as a C string by the receiver: an embedded NUL ends it.
  return ok(bytesToName(nul >= 0 ? raw.subarray(0, nul) : raw));
}

export function decodeFuseMessage(payload: Buffer): Decoded<FuseMessage> {
  if (payload.length < FUSE_HEADER_SIZE) return fail('SHORT', `fuse message of ${payload.length} bytes is shorter than 20`);
  const size = payload.readUInt32LE(0);
  const offset = payload.readUInt32LE(4);
  const pathlen = payload.readUInt32LE(8);
  const tolen = payload.readUInt32LE(12);
  const flags = payload.readUInt32LE(16);
  // Wide arithmetic on purpose: C's 32-bit sum can wrap (wire.md pitfall 3).
  if (payload.length - FUSE_HEADER_SIZE !== size + pathlen + tolen) {
    return fail('LENGTH', `fuse message has ${payload.length - FUSE_HEADER_SIZE} bytes after the header, fields say ${size + pathlen + tolen}`);
  }
  const path = nulTerminated(payload, FUSE_HEADER_SIZE, pathlen, 'path');
  if (!path.ok) return path;
  const to = nulTerminated(payload, FUSE_HEADER_SIZE + pathlen, tolen, 'to');
  if (!to.ok) return to;
  const dataStart = FUSE_HEADER_SIZE + pathlen + tolen;
  return ok({
    offset,
    flags,
    path: path.value,
    to: to.value,
    data: size > 0 ? payload.subarray(dataStart, dataStart + size) : null,
  });
}

export interface UnlockMessage {
  readonly csum: Buffer;
  readonly path: string;
}

export function encodeUnlock(m: UnlockMessage): Buffer[] {
  if (m.csum.length !== UNLOCK_CSUM_SIZE) throw new RangeError('unlock checksum must be 32 bytes');
  return [m.csum, cString(m.path)];
}

export function decodeUnlock(payload: Buffer): Decoded<UnlockMessage> {
  if (payload.length < UNLOCK_CSUM_SIZE + 1) return fail('SHORT', `unlock message of ${payload.length} bytes is shorter than 33`);
  const path = nulTerminated(payload, UNLOCK_CSUM_SIZE, payload.length - UNLOCK_CSUM_SIZE, 'unlock path');
  if (!path.ok) return path;
  return ok({ csum: Buffer.from(payload.subarray(0, UNLOCK_CSUM_SIZE)), path: path.value ?? '' });
}
