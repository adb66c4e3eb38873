/**
 * Member ordering and queue ordering exactly as C computes them.
 *
 * | here               | C (dfsm.c)                                               |
 * |--------------------|----------------------------------------------------------|
 * | compareMembers     | dfsm_sync_info_compare (uint32 difference cast to int)   |
 * | sortMembers        | qsort(sync_info->nodes) — glibc's merge sort             |
 * | lowestNodeid       | the loop in dfsm_cpg_confchg_callback                    |
 * | compareCount       | message_queue_sort_fn (u64 difference truncated to int)  |
 * | insertByCount      | g_sequence_insert_sorted (after equal elements: stable)  |
 */
import type { MemberId } from '../cluster/transport.js';

/** (int)(a - b) on uint32 nodeids, then on pids (dfsm.md Pitfall 6). */
export function compareMembers(a: MemberId, b: MemberId): number {
  if (a.nodeid !== b.nodeid) return ((a.nodeid >>> 0) - (b.nodeid >>> 0)) | 0;
  return ((a.pid >>> 0) - (b.pid >>> 0)) | 0;
}

/**
 * glibc qsort (msort.c: top-down merge sort, left half n/2, taking from the left on
 * cmp <= 0). With C's possibly non-transitive comparator only an identical algorithm
 * gives an identical order, so we reproduce it rather than use Array.prototype.sort.
 */
export function sortMembers<T extends MemberId>(list: readonly T[]): T[] {
  const b = list.slice();
  const tmp: T[] = new Array<T>(b.length);
  const msort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = Math.floor(n / 2);
    const n2 = n - n1;
    msort(lo, n1);
    msort(lo + n1, n2);
    let i = lo;
    let j = lo + n1;
    let k = 0;
    let r1 = n1;
    let r2 = n2;
    while (r1 > 0 && r2 > 0) {
      if (compareMembers(b[i] as T, b[j] as T) <= 0) {
        tmp[k++] = b[i++] as T;
        r1--;
      } else {
        tmp[k++] = b[j++] as T;
        r2--;
      }
    }
    while (r1-- > 0) tmp[k++] = b[i++] as T;
    // the rest of the right run is already in place
    for (let x = 0; x < k; x++) b[lo + x] = tmp[x] as T;
  };
  msort(0, b.length);
  return b;
}

/** Smallest nodeid (unsigned), C's `lowest == 0 || lowest > nodeid` loop; 0 if empty. */
export function lowestNodeid(list: readonly MemberId[]): number {
  let lowest = 0;
  for (const m of list) {
    const n = m.nodeid >>> 0;
    if (lowest === 0 || lowest > n) lowest = n;
  }
  return lowest;
}

export function sameMember(a: MemberId, b: MemberId): boolean {
  return a.nodeid === b.nodeid && a.pid === b.pid;
}

export function memberKey(m: MemberId): string {
  return `${m.nodeid >>> 0}/${m.pid >>> 0}`;
}

/** (gint)(a - b) on uint64 counts (dfsm.md Pitfall 6). */
export function compareCount(a: bigint, b: bigint): number {
  return Number(BigInt.asIntN(32, BigInt.asUintN(64, a - b)));
}

/**
 * Insert after the last element that compares <= the new one (GLib's
 * g_sequence_insert_sorted walks to the last equal node), by binary search.
 */
export function insertByCount<T extends { readonly count: bigint }>(queue: T[], item: T): void {
  let lo = 0;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareCount((queue[mid] as T).count, item.count) > 0) hi = mid;
    else lo = mid + 1;
  }
  queue.splice(lo, 0, item);
}
