/** Invariant assertions that stay on in production (TigerStyle): a broken invariant stops the process loudly. */
export class AssertionError extends Error {}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/**
 * A broken invariant, for `if (!condition) fail(`...${detail}`)`: on paths run per
 * operation, a message with numbers in it is then only formatted when it fails
 * (assert's argument is built on every call: number-to-string conversions per write).
 */
export function fail(message: string): never {
  throw new AssertionError(`assertion failed: ${message}`);
}
