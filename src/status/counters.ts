/**
 * The path change counters of `.version` (status.c: memdb_change_array), fed by the
 * memdb's change hooks so local, remote and resync changes all count.
 *
 * | here                   | C (status.c)           |
 * |------------------------|------------------------|
 * | StatusCounters.record  | record_memdb_change    |
 * | StatusCounters.reload  | record_memdb_reload    |
 */
import type { Memdb } from '../memdb/memdb.js';
import { TRACKED_PATHS } from './text.js';

/**
 * The path change counters of status.c shown in `.version`, fed by the memdb's
 * change hooks (so local, remote and resync changes all count).
 */
export class StatusCounters {
  readonly paths = new Map<string, number>(TRACKED_PATHS.map((p) => [p, 0]));

  constructor(memdb: Memdb) {
    this.reload();
    memdb.onChange = (path) => this.record(path);
    memdb.onReload = () => this.reload();
  }

  /** record_memdb_change: the exact path (leading slashes ignored). */
  record(path: string): void {
    let i = 0;
    while (path[i] === '/') i++;
    const p = path.slice(i);
    const v = this.paths.get(p);
    if (v !== undefined) this.paths.set(p, v + 1);
  }

  /** record_memdb_reload: database (re)load bumps every counter. */
  reload(): void {
    for (const [p, v] of this.paths) this.paths.set(p, v + 1);
  }
}
