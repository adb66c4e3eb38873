/**
 * JSON text where a bigint (a u64 above 2^53, see wire/u64.ts) is written as its exact
 * decimal digits, as pino does in the logs. JSON.stringify alone throws on a bigint.
 * The marker carries a per-process nonce so that no string value can imitate it.
 */
import { randomBytes } from 'node:crypto';

const NONCE = randomBytes(8).toString('hex');
const MARK = `\u0000u64:${NONCE}:`;
const MARKED = new RegExp(`"\\\\u0000u64:${NONCE}:(\\d+)"`, 'g');

export function toJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? MARK + v.toString() : v), indent);
  return text.replace(MARKED, '$1');
}
