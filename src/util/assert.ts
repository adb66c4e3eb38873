/** Invariant assertions that stay on in production (TigerStyle): a broken invariant stops the process loudly. */
export class AssertionError extends Error {}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`assertion failed: ${message}`);
}
