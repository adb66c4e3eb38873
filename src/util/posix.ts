/** POSIX calls Node lacks, from build/Release/posix.node (native/posix.cc). */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../cluster/native.js';

interface PosixAddon {
  /** flock(fd, LOCK_EX|LOCK_NB): 0 or −errno. */
  flockExclusive(fd: number): number;
}

let addon: PosixAddon | undefined;

export function posix(): PosixAddon {
  if (addon === undefined) {
    const dir = process.env['PMXCFS_NATIVE_DIR'] ?? join(packageRoot(), 'build', 'Release');
    addon = createRequire(import.meta.url)(join(dir, 'posix.node')) as PosixAddon;
  }
  return addon;
}
