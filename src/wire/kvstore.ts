/**
 * Payloads of the status group `pve_kvstore_v1` (kvstore.md §2–§4, §6.1): UPDATE
 * (key + value), LOG (one cluster-log entry) and the STATE header (the cluster-log
 * ring buffer). Pure, never throws: malformed input yields a typed error that the
 * receiver logs as C does.
 *
 * | here               | C                                                        |
 * |--------------------|----------------------------------------------------------|
 * | encodeKvUpdate     | status.c: kvstore_send_update_message                    |
 * | decodeKvUpdate     | status.c: kvstore_parse_update_message                   |
 * | decodeLogEntry     | status.c: kvstore_parse_log_message                      |
 * | clogEntrySize      | logger.c: clog_entry_size                                |
 * | readClogEntry      | logger.h: clog_entry_t (the fields)                      |
 * | decodeClogHeader   | logger.c: clog_base_t + the size check of                |
 * |                    |   status.c: dfsm_process_state_update                    |
 */
import { type Decoded, fail, ok } from './result.js';

/** status.c: KVSTORE_CPG_GROUP_NAME (the transport adds the NUL: 15 bytes). */
export const KVSTORE_CPG_GROUP = 'pve_kvstore_v1';
/** status.c: cfs_status_dfsm_new passes protocol version 0. */
export const KVSTORE_PROTOCOL_VERSION = 0;

/** status.c: kvstore_message_t. */
export const KvMessageType = { UPDATE: 1, UPDATE_COMPLETE: 2, LOG: 3 } as const;

/** The fixed key field of an UPDATE (char name[256]). */
export const KV_KEY_SIZE = 256;

/** logger.h: the strings of clog_entry_t start here (flexible member after 44 bytes). */
export const CLOG_ENTRY_DATA_OFFSET = 44;
/** sizeof(clog_entry_t): 48 because of the struct's 8-byte alignment. */
export const CLOG_ENTRY_SIZEOF = 48;
/** logger.h: CLOG_MAX_ENTRY_SIZE. */
export const CLOG_MAX_ENTRY_SIZE = 4096;
/** logger.h: CLOG_DEFAULT_SIZE. */
export const CLOG_DEFAULT_SIZE = 128 * 1024;
/** sizeof(clog_base_t): size + cpos. */
export const CLOG_BASE_SIZE = 8;

/** UPDATE payload: the key (truncated to 255 bytes) in a 256-byte field, then the value. */
export function encodeKvUpdate(key: Buffer, value: Buffer): Buffer {
  const buf = Buffer.alloc(KV_KEY_SIZE + value.length);
  const nul = key.indexOf(0);
  const k = key.subarray(0, Math.min(nul >= 0 ? nul : key.length, KV_KEY_SIZE - 1));
  k.copy(buf, 0);
  value.copy(buf, KV_KEY_SIZE);
  return buf;
}

export interface KvUpdate {
  /** The key bytes up to its NUL (what follows the NUL is garbage in C's messages). */
  readonly key: Buffer;
  /** Value bytes as sent; empty = delete. A view into the payload. */
  readonly value: Buffer;
}

export function decodeKvUpdate(payload: Buffer): Decoded<KvUpdate> {
  if (payload.length < KV_KEY_SIZE) return fail('SHORT', `received short kvstore message (${payload.length} < 256)`);
  const nul = payload.subarray(0, KV_KEY_SIZE).indexOf(0);
  if (nul < 0) return fail('NUL', 'kvstore key is not NUL-terminated');
  return ok({ key: payload.subarray(0, nul), value: payload.subarray(KV_KEY_SIZE) });
}

/** The fixed fields of a clog_entry_t. */
export interface ClogEntryFields {
  readonly prev: number;
  readonly next: number;
  readonly uid: number;
  readonly time: number;
  /** node_digest as (low, high) 32-bit halves: the comparator uses the low half. */
  readonly nodeDigestLo: number;
  readonly nodeDigestHi: number;
  readonly identDigestLo: number;
  readonly identDigestHi: number;
  readonly pid: number;
  readonly priority: number;
  readonly nodeLen: number;
  readonly identLen: number;
  readonly tagLen: number;
  readonly msgLen: number;
}

/** The caller guarantees 48 bytes at `off`. */
export function readClogEntry(buf: Buffer, off: number): ClogEntryFields {
  return {
    prev: buf.readUInt32LE(off),
    next: buf.readUInt32LE(off + 4),
    uid: buf.readUInt32LE(off + 8),
    time: buf.readUInt32LE(off + 12),
    nodeDigestLo: buf.readUInt32LE(off + 16),
    nodeDigestHi: buf.readUInt32LE(off + 20),
    identDigestLo: buf.readUInt32LE(off + 24),
    identDigestHi: buf.readUInt32LE(off + 28),
    pid: buf.readUInt32LE(off + 32),
    priority: buf.readUInt8(off + 36),
    nodeLen: buf.readUInt8(off + 37),
    identLen: buf.readUInt8(off + 38),
    tagLen: buf.readUInt8(off + 39),
    msgLen: buf.readUInt32LE(off + 40),
  };
}

/** clog_entry_size: 48 + the four string lengths (may exceed 2^32 for garbage: wide sum). */
export function clogEntrySize(f: ClogEntryFields): number {
  return CLOG_ENTRY_SIZEOF + f.nodeLen + f.identLen + f.tagLen + f.msgLen;
}

/** The four NUL-terminated strings of an entry (without their NUL), as views. */
export interface ClogStrings {
  readonly node: Buffer;
  readonly ident: Buffer;
  readonly tag: Buffer;
  readonly msg: Buffer;
}

/** The C strings of an entry: each printed up to its first NUL (C's %s). */
export function clogStrings(buf: Buffer, off: number, f: ClogEntryFields): ClogStrings {
  const cstr = (start: number, len: number): Buffer => {
    const end = Math.min(start + len, buf.length);
    const s = buf.subarray(Math.min(start, end), end);
    const nul = s.indexOf(0);
    return nul >= 0 ? s.subarray(0, nul) : s;
  };
  let p = off + CLOG_ENTRY_DATA_OFFSET;
  const node = cstr(p, f.nodeLen);
  p += f.nodeLen;
  const ident = cstr(p, f.identLen);
  p += f.identLen;
  const tag = cstr(p, f.tagLen);
  p += f.tagLen;
  return { node, ident, tag, msg: cstr(p, f.msgLen) };
}

/** kvstore_parse_log_message: the payload must be exactly one entry with four terminated strings. */
export function decodeLogEntry(payload: Buffer): Decoded<ClogEntryFields> {
  if (payload.length < CLOG_ENTRY_SIZEOF) return fail('SHORT', `received short log message (${payload.length} < ${CLOG_ENTRY_SIZEOF})`);
  const f = readClogEntry(payload, 0);
  const size = clogEntrySize(f);
  // C sums in 32 bits; msg_len near 2^32 could wrap there. A wide sum rejects those too.
  if (payload.length !== size) return fail('LENGTH', `received log message with wrong size (${payload.length} != ${size >>> 0})`);
  let p = CLOG_ENTRY_DATA_OFFSET;
  for (const len of [f.nodeLen, f.identLen, f.tagLen, f.msgLen]) {
    // A zero length makes C read the byte before the string; that byte is the previous
    // string's NUL or the last header byte. Reading it the same way keeps C's verdict.
    if (payload[p + len - 1] !== 0) return fail('NUL', 'unterminated string in log message');
    p += len;
  }
  return ok(f);
}

export interface ClogHeader {
  readonly size: number;
  readonly cpos: number;
}

/** dfsm_process_state_update: a state is a log iff its length is > 8 and equals its size field. */
export function decodeClogHeader(state: Buffer): Decoded<ClogHeader> {
  if (state.length <= CLOG_BASE_SIZE) return fail('SHORT', `received log with wrong size ${state.length}`);
  const size = state.readUInt32LE(0);
  if (size !== state.length) return fail('LENGTH', `received log with wrong size ${state.length}`);
  return ok({ size, cpos: state.readUInt32LE(4) });
}
