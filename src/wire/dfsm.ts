/**
 * DFSM message headers (wire.md §3–5). Pure functions over Buffer.
 *
 * | here                 | C (dfsm.c)                                   |
 * |----------------------|----------------------------------------------|
 * | BaseHeader           | dfsm_message_header_t (16 bytes)             |
 * | StateHeader / Epoch  | dfsm_message_state_header_t (32), dfsm_sync_epoch_t |
 * | NormalHeader         | dfsm_message_normal_header_t (24)            |
 * | decodeDfsmMessage    | length checks of dfsm_cpg_deliver_callback   |
 */
import { type Decoded, fail, ok } from './result.js';

export const BASE_HEADER_SIZE = 16;
export const STATE_HEADER_SIZE = 32;
export const NORMAL_HEADER_SIZE = 24;
export const EPOCH_SIZE = 16;

export const DfsmMessageType = {
  NORMAL: 0,
  SYNC_START: 1,
  STATE: 2,
  UPDATE: 3,
  UPDATE_COMPLETE: 4,
  VERIFY_REQUEST: 5,
  VERIFY: 6,
} as const;
export type DfsmMessageType = (typeof DfsmMessageType)[keyof typeof DfsmMessageType];

export interface Epoch {
  readonly epoch: number;
  readonly time: number;
  readonly nodeid: number;
  readonly pid: number;
}

export interface BaseHeader {
  readonly type: number;
  readonly subtype: number;
  readonly protocolVersion: number;
  readonly time: number;
  readonly reserved: number;
}

/**
 * A received message split into its headers; `payload` is a view into the input.
 * Every type other than NORMAL is a state message to C (dfsm_cpg_deliver_callback
 * checks the 32-byte length and the epoch before it looks at the type), so an unknown
 * type decodes as a state message and the DFSM refuses it by type.
 */
export type DfsmMessage =
  | { readonly kind: 'normal'; readonly base: BaseHeader; readonly count: bigint; readonly payload: Buffer }
  | { readonly kind: 'state'; readonly base: BaseHeader; readonly epoch: Epoch; readonly payload: Buffer };

function writeBase(buf: Buffer, type: number, subtype: number, protocolVersion: number, time: number): void {
  buf.writeUInt16LE(type, 0);
  buf.writeUInt16LE(subtype, 2);
  buf.writeUInt32LE(protocolVersion >>> 0, 4);
  buf.writeUInt32LE(time >>> 0, 8);
  buf.writeUInt32LE(0, 12);
}

export function encodeEpoch(buf: Buffer, offset: number, epoch: Epoch): void {
  buf.writeUInt32LE(epoch.epoch >>> 0, offset);
  buf.writeUInt32LE(epoch.time >>> 0, offset + 4);
  buf.writeUInt32LE(epoch.nodeid >>> 0, offset + 8);
  buf.writeUInt32LE(epoch.pid >>> 0, offset + 12);
}

export function decodeEpoch(buf: Buffer, offset: number): Epoch {
  return {
    epoch: buf.readUInt32LE(offset),
    time: buf.readUInt32LE(offset + 4),
    nodeid: buf.readUInt32LE(offset + 8),
    pid: buf.readUInt32LE(offset + 12),
  };
}

/** C compares epochs with memcmp over the 16 bytes. */
export function epochEquals(a: Epoch, b: Epoch): boolean {
  return a.epoch === b.epoch && a.time === b.time && a.nodeid === b.nodeid && a.pid === b.pid;
}

/** The 24-byte header of a NORMAL message; the payload follows as separate buffers. */
export function encodeNormalHeader(subtype: number, protocolVersion: number, time: number, count: bigint): Buffer {
  const buf = Buffer.alloc(NORMAL_HEADER_SIZE);
  writeBase(buf, DfsmMessageType.NORMAL, subtype, protocolVersion, time);
  buf.writeBigUInt64LE(count, 16);
  return buf;
}

/** The 32-byte header of a state message (types 1–6), subtype 0. */
export function encodeStateHeader(type: DfsmMessageType, protocolVersion: number, time: number, epoch: Epoch): Buffer {
  const buf = Buffer.alloc(STATE_HEADER_SIZE);
  writeStateHeader(buf, type, protocolVersion, time, epoch);
  return buf;
}

/** The state header into the first STATE_HEADER_SIZE bytes of `buf` (a message built in place). */
export function writeStateHeader(buf: Buffer, type: DfsmMessageType, protocolVersion: number, time: number, epoch: Epoch): void {
  writeBase(buf, type, 0, protocolVersion, time);
  encodeEpoch(buf, BASE_HEADER_SIZE, epoch);
}

export function decodeBaseHeader(buf: Buffer): Decoded<BaseHeader> {
  if (buf.length < BASE_HEADER_SIZE) return fail('SHORT', `message of ${buf.length} bytes is shorter than the 16-byte header`);
  return ok({
    type: buf.readUInt16LE(0),
    subtype: buf.readUInt16LE(2),
    protocolVersion: buf.readUInt32LE(4),
    time: buf.readUInt32LE(8),
    reserved: buf.readUInt32LE(12),
  });
}

/**
 * Split a delivered message into headers and payload with the length checks C
 * makes before looking at the mode. The protocol version is not judged here: the
 * DFSM checks it on the base header first (a short message of a newer protocol is a
 * version error, not a short message) and decides what a foreign version means.
 */
export function decodeDfsmMessage(buf: Buffer): Decoded<DfsmMessage> {
  const base = decodeBaseHeader(buf);
  if (!base.ok) return base;
  return decodeDfsmBody(buf, base.value);
}

/** decodeDfsmMessage after the base header was decoded (and judged) already. */
export function decodeDfsmBody(buf: Buffer, base: BaseHeader): Decoded<DfsmMessage> {
  if (base.type === DfsmMessageType.NORMAL) {
    if (buf.length < NORMAL_HEADER_SIZE) return fail('SHORT', `NORMAL message of ${buf.length} bytes is shorter than 24`);
    return ok({ kind: 'normal', base, count: buf.readBigUInt64LE(16), payload: buf.subarray(NORMAL_HEADER_SIZE) });
  }
  if (buf.length < STATE_HEADER_SIZE) return fail('SHORT', `state message of ${buf.length} bytes is shorter than 32`);
  return ok({ kind: 'state', base, epoch: decodeEpoch(buf, BASE_HEADER_SIZE), payload: buf.subarray(STATE_HEADER_SIZE) });
}

/** VERIFY_REQUEST payload: exactly one u64 csum_id. */
export function encodeVerifyRequest(csumId: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(csumId, 0);
  return buf;
}

export function decodeVerifyRequest(payload: Buffer): Decoded<bigint> {
  if (payload.length !== 8) return fail('LENGTH', `VERIFY_REQUEST payload is ${payload.length} bytes, not 8`);
  return ok(payload.readBigUInt64LE(0));
}

export interface VerifyPayload {
  readonly csumId: bigint;
  readonly csum: Buffer;
}

/** VERIFY payload: u64 csum_id + 32-byte checksum, exactly 40 bytes. */
export function encodeVerify(csumId: bigint, csum: Buffer): Buffer {
  if (csum.length !== 32) throw new RangeError('checksum must be 32 bytes');
  const buf = Buffer.alloc(40);
  buf.writeBigUInt64LE(csumId, 0);
  csum.copy(buf, 8);
  return buf;
}

export function decodeVerify(payload: Buffer): Decoded<VerifyPayload> {
  if (payload.length !== 40) return fail('LENGTH', `VERIFY payload is ${payload.length} bytes, not 40`);
  return ok({ csumId: payload.readBigUInt64LE(0), csum: Buffer.from(payload.subarray(8, 40)) });
}

/** The DFSM message type of a message or header buffer (its first u16), or −1 if shorter. */
export function peekMessageType(buf: Buffer): number {
  return buf.length >= 2 ? buf.readUInt16LE(0) : -1;
}
