/**
 * One node's cluster log (kvstore.md §7): the ring buffer, its duplicate table, the
 * uid counter, the STATE it announces, the merge after a sync round and the JSON
 * dump clients read.
 *
 * | here               | C (logger.c)                                    |
 * |--------------------|-------------------------------------------------|
 * | ClusterLog         | clusterlog_t (+ the static uid_counter)         |
 * | add                | clusterlog_add / clog_pack + clusterlog_insert  |
 * | insert             | clusterlog_insert                               |
 * | getState           | clusterlog_get_state (clog_sort in place)       |
 * | merge              | clusterlog_merge                                |
 * | dumpJson           | clusterlog_dump → clog_dump_json                |
 */
import { clogStrings, readClogEntry } from '../wire/kvstore.js';
import { fnv1a64, packEntry } from './entry.js';
import { DedupTable, mergeLogs } from './merge.js';
import { type Clog, clogCopy, clogSort, entryAt, newClog, walkNewestFirst } from './ring.js';

/** `.clusterlog` shows this many entries (cfs-plug-func / status.c: cfs_cluster_log_dump). */
export const CLUSTERLOG_FILE_ENTRIES = 50;

export interface NewEntry {
  readonly ident: Buffer;
  readonly tag: Buffer;
  readonly pid: number;
  readonly priority: number;
  readonly msg: Buffer;
  readonly time: number;
}

export class ClusterLog {
  private base: Clog = newClog();
  private dedup = new DedupTable();
  private uidCounter = 0;

  constructor(private readonly nodename: Buffer) {}

  /** clog_pack with the next uid: the entry bytes, or null (priority > 7: uid not consumed). */
  pack(e: NewEntry): Buffer | null {
    const entry = packEntry({ node: this.nodename, ident: e.ident, tag: e.tag, pid: e.pid, time: e.time, priority: e.priority, msg: e.msg, uid: this.uidCounter + 1 });
    if (entry !== null) this.uidCounter++;
    return entry;
  }

  /** clusterlog_insert: false (nothing stored) for a duplicate or an entry C cannot copy. */
  insert(entry: Buffer): boolean {
    const ref = entryAt(entry, 0);
    if (ref === null || !this.dedup.accept(ref)) return false;
    clogCopy(this.base, ref);
    return true;
  }

  /** clusterlog_get_state: sort in place, then the whole buffer (a copy). */
  getState(): Buffer {
    this.base = clogSort(this.base);
    return Buffer.from(this.base);
  }

  /** clusterlog_merge: `states` in member order, the local member's slot replaced by this log. */
  merge(states: readonly (Buffer | null)[], localIndex: number): void {
    const inputs = states.map((s, i) => (i === localIndex ? this.base : s));
    const r = mergeLogs(inputs);
    this.base = r.clog;
    this.dedup = r.dedup;
  }

  /** Entries a walk of the log visits (status, tests). */
  entryCount(): number {
    let n = 0;
    for (const _ of walkNewestFirst(this.base)) n++;
    return n;
  }

  /** The raw buffer (tests, the simulator). */
  get buffer(): Clog {
    return this.base;
  }

  /** clog_dump_json: newest first, at most `max` printed, ident filter when `user` is non-empty. */
  dumpJson(user: Buffer, max: number): Buffer {
    const want = user.length > 0 ? fnv1a64(Buffer.concat([user, Buffer.alloc(1)])) : null;
    const parts: Buffer[] = [Buffer.from('{\n"data": [\n')];
    let count = 0;
    for (const { entry, wrapped } of walkNewestFirst(this.base)) {
      if (wrapped || count >= max) break;
      const f = readClogEntry(entry.buf, entry.off);
      if (want !== null && want !== entry.buf.readBigUInt64LE(entry.off + 24)) continue;
      const s = clogStrings(entry.buf, entry.off, f);
      if (count > 0) parts.push(Buffer.from(',\n'));
      parts.push(
        Buffer.from(`{"uid": ${f.uid}, "time": ${f.time}, "pri": ${f.priority}, "tag": "`),
        s.tag,
        Buffer.from(`", "pid": ${f.pid}, "node": "`),
        s.node,
        Buffer.from('", "user": "'),
        s.ident,
        Buffer.from('", "msg": "'),
        s.msg,
        Buffer.from('"}'),
      );
      count++;
    }
    if (count > 0) parts.push(Buffer.from('\n'));
    parts.push(Buffer.from(']\n}\n'));
    return Buffer.concat(parts);
  }
}
