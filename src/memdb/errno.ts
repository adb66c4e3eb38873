/**
 * Negative errno results as C returns them. Operations return `number`: >= 0 is
 * success (bytes written for writes), < 0 is −errno, exactly like memdb.c.
 */
import { constants } from 'node:os';

/**
 * The one errno table of the project: the Linux values C returns (asm-generic/errno*.h),
 * as literal types so an `Errno` cannot be any number. Checked against the running
 * system at load.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENOTCONN: 107,
} as const;
export type ErrnoName = keyof typeof ERRNO;
/** A positive errno value of the table. Operations return −Errno (or a count >= 0). */
export type Errno = (typeof ERRNO)[ErrnoName];

for (const [name, value] of Object.entries(ERRNO)) {
  if (constants.errno[name as ErrnoName] !== value) throw new Error(`errno table: ${name} is ${constants.errno[name as ErrnoName]} here, not ${value}`);
}

export const { EPERM, ENOENT, EIO, ENOMEM, EBUSY, EEXIST, ENOTDIR, EISDIR, EINVAL, EFBIG, EACCES, ENOTEMPTY, ENAMETOOLONG, ENOSPC, ENOTCONN, ENOSYS } = ERRNO;

const E = constants.errno;
/** Linux's value; Node's constants type lacks it (IPC: unknown operation). */
export const ECHRNG = 44;

const names = new Map<number, string>([...Object.entries(E).map(([name, value]): [number, string] => [value, name]), [ECHRNG, 'ECHRNG']]);

/** "ENOENT" for −2 (or 2); "OK" for results >= 0. */
export function errnoName(result: number): string {
  if (result >= 0) return 'OK';
  return names.get(-result) ?? `E${-result}`;
}

/** A typed error for code paths that throw (CLI, open): carries the errno name. */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(result: number, message: string) {
    super(`${message}: ${errnoName(result)}`);
    this.errno = result;
    this.code = errnoName(result);
  }
}
