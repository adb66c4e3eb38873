/**
 * Merging the members' logs after a sync round (kvstore.md §7.5) and the duplicate
 * table (§7.4). Written once: the daemon, the simulator and the property tests all
 * call `mergeLogs`.
 *
 * | here         | C (logger.c)        |
 * |--------------|---------------------|
 * | DedupTable   | dedup_lookup        |
 * | mergeLogs    | clusterlog_merge    |
 */
import { CLOG_BASE_SIZE, CLOG_DEFAULT_SIZE, CLOG_MAX_ENTRY_SIZE } from '../wire/kvstore.js';
import { type Clog, clogCpos, type EntryRef, entryAt, SortedEntries } from './ring.js';

/** Per node digest: (time, uid) of the newest entry accepted from that node. */
export class DedupTable {
  private readonly map = new Map<string, { time: number; uid: number }>();

  /** dedup_lookup: true (and recorded) iff the entry is newer than the node's last one. */
  accept(e: EntryRef): boolean {
    const key = `${e.nodeHi}:${e.nodeLo}`;
    const dd = this.map.get(key);
    if (dd === undefined) {
      this.map.set(key, { time: e.time, uid: e.uid });
      return true;
    }
    if (e.time > dd.time || (e.time === dd.time && e.uid > dd.uid)) {
      dd.time = e.time;
      dd.uid = e.uid;
      return true;
    }
    return false;
  }

  get size(): number {
    return this.map.size;
  }
}

/** res->size − sizeof(clog_base_t) − CLOG_MAX_ENTRY_SIZE: bytes the merged log may use. */
export const MERGE_BUDGET = CLOG_DEFAULT_SIZE - CLOG_BASE_SIZE - CLOG_MAX_ENTRY_SIZE;

/** The cursor of one input after visiting the entry at `cur` (null = exhausted). */
function nextCursor(log: Clog, cur: EntryRef): number {
  const top = clogCpos(log);
  if (cur.prev === 0 || (cur.off < cur.prev && cur.prev <= top)) return 0;
  const p = cur.prev;
  return p <= top || p > top + CLOG_MAX_ENTRY_SIZE ? p : 0;
}

export interface MergeResult {
  readonly clog: Clog;
  readonly dedup: DedupTable;
}

/**
 * clusterlog_merge over the inputs in member order (null = a member whose state was
 * rejected). Repeatedly take the newest current entry (greatest time > 0, ties to
 * the lowest index), keep it unless an equal one was kept, stop at the byte budget;
 * the result holds the kept entries in ascending order.
 */
export function mergeLogs(inputs: readonly (Clog | null)[]): MergeResult {
  const cursors = inputs.map((l) => (l === null || l.length < CLOG_BASE_SIZE ? 0 : clogCpos(l)));
  const tree = new SortedEntries();
  const dedup = new DedupTable();
  let used = 0;
  for (;;) {
    let found = -1;
    let last = 0;
    let cur: EntryRef | null = null;
    for (let i = 0; i < inputs.length; i++) {
      if (cursors[i] === 0) continue;
      const e = entryAt(inputs[i]!, cursors[i]!);
      if (e === null) {
        cursors[i] = 0; // a peer's pointer out of its buffer ends that input
        continue;
      }
      if (e.time > last) {
        last = e.time;
        found = i;
        cur = e;
      }
    }
    if (found < 0 || cur === null) break;
    if (!tree.has(cur)) {
      tree.insert(cur);
      dedup.accept(cur);
      used += (cur.next - cur.off) >>> 0;
      if (used >= MERGE_BUDGET) break;
    }
    cursors[found] = nextCursor(inputs[found]!, cur);
  }
  return { clog: tree.toClog(), dedup };
}
