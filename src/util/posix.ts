/** POSIX calls Node lacks, from build/Release/posix.node (native/posix.cc). */
import { addonLoader } from './addon.js';

interface PosixAddon {
  /** flock(fd, LOCK_EX|LOCK_NB): 0 or −errno. */
  flockExclusive(fd: number): number;
  /** mallopt(M_TRIM_THRESHOLD, trim) + mallopt(M_TOP_PAD, pad): 0, or −1 if refused. */
  keepMallocHeap(trimBytes: number, padBytes: number): number;
  /** prctl(PR_SET_THP_DISABLE, 1): 0 or −errno. */
  disableHugePages(): number;
}

export const posix = addonLoader<PosixAddon>('posix');
