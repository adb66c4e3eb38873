/**
 * JSON text where a bigint (a u64 above 2^53, see wire/u64.ts) is written as its exact
 * decimal digits, as pino does in the logs. JSON.stringify alone throws on a bigint.
 * The marker carries a per-process nonce so that no string value can imitate it.
 */
import { nodeCrypto, once } from './lazy.js';

/** The marker and its pattern, made at the first use (node:crypto is not loaded at start: util/lazy.ts). */
const marker = once(() => {
  const nonce = nodeCrypto().randomBytes(8).toString('hex');
  return { mark: `\u0000u64:${nonce}:`, marked: new RegExp(`"\\\\u0000u64:${nonce}:(\\d+)"`, 'g') };
});

export function toJson(value: unknown, indent?: number): string {
  const { mark, marked } = marker();
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? mark + v.toString() : v), indent);
  return text.replace(marked, '$1');
}
