/**
 * Parse results. Decoders never throw: every byte string yields either a value or
 * a typed error naming what was wrong, so a malformed message can be answered the
 * way C answers it (usually: leave the group and resync) without crashing.
 */

export type WireErrorCode =
  | 'SHORT' // fewer bytes than the fixed part needs
  | 'LENGTH' // declared lengths disagree with the buffer length
  | 'NUL' // a string is not NUL-terminated
  | 'TYPE' // an enumerated field has a value C rejects
  | 'ORDER'; // entries not sorted / inconsistent header (stricter than C, see wire.md §7.3)

export interface WireError {
  readonly code: WireErrorCode;
  readonly message: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fail<T>(code: WireErrorCode, message: string): Decoded<T> {
  return { ok: false, error: { code, message } };
}
