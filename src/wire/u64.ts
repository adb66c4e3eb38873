/**
 * u64 fields as JavaScript numbers. Inodes and versions are u64 on the wire but grow
 * by one per change, so 2^53 − 1 is an explicit limit (centuries of writes at any
 * realistic rate). Decoders reject larger values instead of losing precision.
 */

export const MAX_U64_AS_NUMBER = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 value out of range: ${value}`);
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** The value, or −1 when it exceeds MAX_U64_AS_NUMBER. */
export function readU64(buf: Buffer, offset: number): number {
  const lo = buf.readUInt32LE(offset);
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1fffff) return -1;
  return hi * TWO_32 + lo;
}
