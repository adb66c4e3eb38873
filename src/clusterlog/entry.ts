/**
 * Creating a cluster-log entry (kvstore.md §4.1, §7.1): the FNV-1a digests, the
 * message conversion to escaped ASCII and the packed clog_entry_t bytes.
 *
 * | here          | C                                                     |
 * |---------------|-------------------------------------------------------|
 * | fnv1a64       | logger.c: fnv_64a_buf (FNV1A_64_INIT)                 |
 * | utf8ToAscii   | cfs-utils.c: utf8_to_ascii (quotequote = TRUE)        |
 * | packEntry     | logger.c: clog_pack                                   |
 */
import { CLOG_ENTRY_DATA_OFFSET, CLOG_ENTRY_SIZEOF, CLOG_MAX_ENTRY_SIZE } from '../wire/kvstore.js';

const FNV_INIT = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** Longest stored node/ident/tag including the NUL (a u8 length field). */
export const CLOG_MAX_NAME_LEN = 255;
/** Syslog priorities 0..7; clog_pack refuses anything else. */
export const CLOG_MAX_PRIORITY = 7;
/** utf8_to_ascii stops when fewer than this many bytes of room remain (the longest escape + NUL). */
const ESCAPE_ROOM = 7;

export function fnv1a64(bytes: Buffer): bigint {
  let h = FNV_INIT;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & U64;
  return h;
}

/** C string: the bytes before the first NUL. */
export function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul >= 0 ? b.subarray(0, nul) : b;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(b: Buffer): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

/**
 * utf8_to_ascii with quote escaping into a buffer of `room` bytes (NUL included).
 * Valid UTF-8: `"` → `\"`, controls and DEL → `#` + 3 digits, BMP → `\uXXXX`, the
 * rest dropped; invalid: byte-wise, `#0` + 2 digits, `?` for bytes >= 127.
 */
export function utf8ToAscii(msg: Buffer, room: number): Buffer {
  const end = room - ESCAPE_ROOM;
  const out: number[] = [];
  const push = (s: string): void => {
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  };
  const text = validUtf8(msg);
  if (text === null) {
    for (let i = 0; i < msg.length && out.length < end; i++) {
      const c = msg[i]!;
      if (c === 0x22) push('\\"');
      else if (c < 32) push(`#0${Math.floor(c / 10) % 10}${c % 10}`);
      else if (c < 127) out.push(c);
      else out.push(0x3f);
    }
    return Buffer.from(out);
  }
  for (const ch of text) {
    if (out.length >= end) break;
    const u = ch.codePointAt(0)!;
    if (u === 0x22) push('\\"');
    else if (u < 32 || u === 127) push(`#${String(u).padStart(3, '0')}`);
    else if (u < 127) out.push(u);
    else if (u < 0x10000) push(`\\u${u.toString(16).padStart(4, '0')}`);
    // code points beyond the BMP are dropped
  }
  return Buffer.from(out);
}

export interface PackInput {
  readonly node: Buffer;
  readonly ident: Buffer;
  readonly tag: Buffer;
  readonly pid: number;
  readonly time: number;
  readonly priority: number;
  readonly msg: Buffer;
  readonly uid: number;
}

/**
 * clog_pack: the entry bytes (prev = next = 0), or null for a priority outside 0..7.
 * The strings are C strings (cut at their first NUL). Unlike C, an entry cut to
 * 4096 bytes keeps its message NUL-terminated (C can lose it, kvstore.md pitfall 17).
 */
export function packEntry(p: PackInput): Buffer | null {
  if (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > CLOG_MAX_PRIORITY) return null;
  const names = [cString(p.node), cString(p.ident), cString(p.tag)];
  const lens = names.map((n) => Math.min(n.length + 1, CLOG_MAX_NAME_LEN));
  const [nodeLen, identLen, tagLen] = lens as [number, number, number];
  const msgStart = CLOG_ENTRY_DATA_OFFSET + nodeLen + identLen + tagLen;
  const text = utf8ToAscii(cString(p.msg), CLOG_MAX_ENTRY_SIZE - msgStart);
  let msgLen = text.length + 1;
  let size = CLOG_ENTRY_SIZEOF + nodeLen + identLen + tagLen + msgLen;
  if (size > CLOG_MAX_ENTRY_SIZE) {
    msgLen -= size - CLOG_MAX_ENTRY_SIZE;
    size = CLOG_MAX_ENTRY_SIZE;
  }
  const e = Buffer.alloc(size);
  e.writeUInt32LE(p.uid >>> 0, 8);
  e.writeUInt32LE(p.time >>> 0, 12);
  // The digests cover node_len/ident_len bytes of the original strings (with the NUL
  // up to 254 characters, the first 255 characters without it beyond).
  e.writeBigUInt64LE(fnv1a64(digestBytes(names[0]!, nodeLen)), 16);
  e.writeBigUInt64LE(fnv1a64(digestBytes(names[1]!, identLen)), 24);
  e.writeUInt32LE(p.pid >>> 0, 32);
  e.writeUInt8(p.priority, 36);
  e.writeUInt8(nodeLen, 37);
  e.writeUInt8(identLen, 38);
  e.writeUInt8(tagLen, 39);
  e.writeUInt32LE(msgLen, 40);
  let o = CLOG_ENTRY_DATA_OFFSET;
  for (let i = 0; i < 3; i++) {
    names[i]!.copy(e, o, 0, lens[i]! - 1); // g_strlcpy: len − 1 bytes + NUL (already 0)
    o += lens[i]!;
  }
  text.copy(e, o, 0, msgLen - 1);
  return e;
}

function digestBytes(name: Buffer, len: number): Buffer {
  if (name.length + 1 <= len) return Buffer.concat([name, Buffer.alloc(1)]);
  return name.subarray(0, len);
}
