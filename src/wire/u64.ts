/**
 * u64 fields (inodes, versions) over the whole range C supports (guint64).
 *
 * A value is a `number` while it is at most 2^53 − 1 and a `bigint` only above that:
 * one canonical representation per value, so `===`, Map keys and `<`/`>` (which JS
 * defines between number and bigint) stay correct, and the common case costs nothing.
 * Arithmetic and sorting go through the helpers below. C wraps at 2^64 (guint64 +1);
 * SQLite stores the same 64 bits as a signed INTEGER (sqlite3_bind_int64 of a guint64).
 */

export type U64 = number | bigint;

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The canonical U64 of any integer, taken modulo 2^64 as C's guint64 does. */
export function u64(v: number | bigint): U64 {
  if (typeof v === 'bigint') {
    if (v >= 0n && v <= MAX_SAFE) return Number(v);
  } else {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    if (!Number.isInteger(v)) throw new RangeError(`u64 value is not an integer: ${v}`);
    v = BigInt(v);
  }
  const w = BigInt.asUintN(64, v);
  return w <= MAX_SAFE ? Number(w) : w;
}

/** v + 1 with C's wrap at 2^64. */
export function u64Inc(v: U64): U64 {
  return typeof v === 'number' && v < Number.MAX_SAFE_INTEGER ? v + 1 : u64(BigInt(v) + 1n);
}

/** Unsigned order for sort(). */
export function u64Compare(a: U64, b: U64): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function writeU64(buf: Buffer, offset: number, value: U64): void {
  if (typeof value === 'bigint') {
    buf.writeBigUInt64LE(value, offset);
    return;
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 value out of range: ${value}`);
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

export function readU64(buf: Buffer, offset: number): U64 {
  const lo = buf.readUInt32LE(offset);
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1fffff) return buf.readBigUInt64LE(offset);
  return hi * TWO_32 + lo;
}

/** The SQLite INTEGER holding v (the signed view of the same 64 bits, as C binds it). */
export function u64ToSql(v: U64): number | bigint {
  return typeof v === 'number' ? v : BigInt.asIntN(64, v);
}
