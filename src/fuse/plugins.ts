/**
 * The fixed root entries of /etc/pve (fuse.md §2, §7): four symlinks and six
 * function files. Their text comes from src/status (status.c's generators).
 *
 * | here                 | C                                                       |
 * |----------------------|---------------------------------------------------------|
 * | FIXED_NAMES          | pmxcfs.c: create_symlinks + the cfs_plug_func_new calls |
 * | generate             | cfs-plug-func.c: the read callbacks of the function files |
 * | StatusCounters       | status.c: record_memdb_change / record_memdb_reload,    |
 * |                      | vmlist_version and vminfo_version_counter               |
 *
 * The status/kvstore module does not exist yet: `.rrd` is empty, `.clusterlog` holds
 * the "starting cluster log" entry every C node starts with, `.members` has no
 * cluster section unless a provider is given, and the kvstore block of `.version`
 * is the empty block of the local node. The providers in PluginSources are the
 * hooks for the status module.
 */
import type { Memdb } from '../memdb/memdb.js';
import { type ClusterInfo, type ClusterLogEntry, type KvBlock, TRACKED_PATHS, clusterlogText, membersText, versionText, vmlistText } from '../status/text.js';

/** Root listing order as observed on C (GLib hash order of the fixed table). */
export const FIXED_NAMES = ['.debug', '.vmlist', '.members', 'lxc', 'local', '.rrd', '.version', '.clusterlog', 'openvz', 'qemu-server'] as const;
export type FixedName = (typeof FIXED_NAMES)[number];

export function isFixedName(name: string): name is FixedName {
  return (FIXED_NAMES as readonly string[]).includes(name);
}

export const LINK_SUBDIRS: Partial<Record<FixedName, string>> = { local: '', 'qemu-server': '/qemu-server', openvz: '/openvz', lxc: '/lxc' };

export function isLink(name: FixedName): boolean {
  return LINK_SUBDIRS[name] !== undefined;
}

export function linkTarget(name: FixedName, nodename: string): string {
  return `nodes/${nodename}${LINK_SUBDIRS[name]!}`;
}

/**
 * The path change counters of status.c shown in `.version`, fed by the memdb's
 * change hooks (so local, remote and resync changes all count). Per-guest versions
 * live in the VM list itself. To move into the Wave 2 status module.
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

/** Providers for the function files; each may be replaced by the status module later. */
export interface PluginSources {
  readonly nodename: string;
  readonly starttime: number;
  readonly memdb: Memdb;
  readonly counters: StatusCounters;
  /** status.c clinfo_version (0 without cluster information). */
  clinfoVersion?(): number;
  /** null: no cluster information (local mode, or corosync never reached). */
  clusterInfo?(): ClusterInfo | null;
  /** kvstore blocks; the first is the local node's (always present in C). */
  kvstore?(): readonly KvBlock[];
  /** `.rrd` content (without a trailing NUL). */
  rrdDump?(): string;
  /** Newest first, at most 50. */
  clusterLog?(): readonly ClusterLogEntry[];
  getDebug(): boolean;
  setDebug(on: boolean): void;
}

/** Content of a function file, generated now. */
export function generate(name: FixedName, src: PluginSources): Buffer {
  switch (name) {
    case '.version':
      return Buffer.from(
        versionText({
          starttime: src.starttime,
          clinfo: src.clinfoVersion?.() ?? 0,
          vmlist: src.memdb.vmlist.version,
          paths: src.counters.paths,
          kvstore: src.kvstore?.() ?? [{ node: src.nodename, entries: [] }],
        }),
        'latin1',
      );
    case '.members':
      return Buffer.from(membersText(src.nodename, src.clinfoVersion?.() ?? 0, src.clusterInfo?.() ?? null), 'latin1');
    case '.vmlist':
      return Buffer.from(
        vmlistText(
          src.memdb.vmlist.version,
          [...src.memdb.vmlist.entries()],
        ),
        'latin1',
      );
    case '.rrd':
      return Buffer.from(src.rrdDump?.() ?? '', 'latin1');
    case '.clusterlog':
      return Buffer.from(
        clusterlogText(
          src.clusterLog?.() ?? [{ uid: 1, time: src.starttime, pri: 6, tag: 'cluster', pid: process.pid, node: src.nodename, user: 'root', msg: 'starting cluster log' }],
        ),
        'latin1',
      );
    case '.debug':
      return Buffer.from(src.getDebug() ? '1\n' : '0\n');
    default:
      return Buffer.alloc(0);
  }
}

/** pmxcfs.c: write_debug_setting_cb: bytes consumed (2) or −EIO. */
export function writeDebug(src: PluginSources, data: Buffer, offset: number): number {
  if (offset !== 0 || data.length < 2 || data[1] !== 0x0a || (data[0] !== 0x30 && data[0] !== 0x31)) return -5;
  src.setDebug(data[0] === 0x31);
  return 2;
}
