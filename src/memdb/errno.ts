/**
 * Negative errno results as C returns them. Operations return `number`: >= 0 is
 * success (bytes written for writes), < 0 is −errno, exactly like memdb.c.
 */
import { constants } from 'node:os';

const E = constants.errno;

export const EPERM = E.EPERM;
export const ENOENT = E.ENOENT;
export const EIO = E.EIO;
export const EBUSY = E.EBUSY;
export const EEXIST = E.EEXIST;
export const ENOTDIR = E.ENOTDIR;
export const EISDIR = E.EISDIR;
export const EINVAL = E.EINVAL;
export const EFBIG = E.EFBIG;
export const EACCES = E.EACCES;
export const ENOTEMPTY = E.ENOTEMPTY;
export const ENAMETOOLONG = E.ENAMETOOLONG;
export const ENOSPC = E.ENOSPC;
export const ENOTCONN = E.ENOTCONN;
export const ENOMEM = E.ENOMEM;
export const ENOSYS = E.ENOSYS;
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
