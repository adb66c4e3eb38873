/**
 * The fixed root entries of /etc/pve (fuse.md §2, §7): four symlinks and six
 * function files, with byte-exact content generators.
 *
 * | here                 | C                                                       |
 * |----------------------|---------------------------------------------------------|
 * | FIXED_NAMES          | pmxcfs.c: create_symlinks + the cfs_plug_func_new calls |
 * | versionText          | status.c: cfs_create_version_msg                        |
 * | membersText          | status.c: cfs_create_memberlist_msg                     |
 * | vmlistText           | status.c: cfs_create_vmlist_msg                         |
 * | clusterlogText       | status.c: cfs_cluster_log_dump → clusterlog_dump        |
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
import { type VmEntry, VmType } from '../memdb/vmlist.js';

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

/** The 43 paths whose change counters `.version` shows (status.c: memdb_change_array). */
export const TRACKED_PATHS = [
  'corosync.conf',
  'corosync.conf.new',
  'storage.cfg',
  'user.cfg',
  'domains.cfg',
  'notifications.cfg',
  'priv/notifications.cfg',
  'priv/shadow.cfg',
  'priv/acme/plugins.cfg',
  'priv/tfa.cfg',
  'priv/token.cfg',
  'priv/wg-keys.cfg',
  'datacenter.cfg',
  'vzdump.cron',
  'vzdump.conf',
  'jobs.cfg',
  'ha/crm_commands',
  'ha/manager_status',
  'ha/resources.cfg',
  'ha/rules.cfg',
  'ha/groups.cfg',
  'ha/fence.cfg',
  'status.cfg',
  'replication.cfg',
  'ceph.conf',
  'sdn/vnets.cfg',
  'sdn/zones.cfg',
  'sdn/controllers.cfg',
  'sdn/subnets.cfg',
  'sdn/ipams.cfg',
  'sdn/mac-cache.json',
  'sdn/pve-ipam-state.json',
  'sdn/dns.cfg',
  'sdn/fabrics.cfg',
  'sdn/route-maps.cfg',
  'sdn/prefix-lists.cfg',
  'sdn/.running-config',
  'virtual-guest/cpu-models.conf',
  'virtual-guest/profiles.cfg',
  'firewall/cluster.fw',
  'mapping/directory.cfg',
  'mapping/pci.cfg',
  'mapping/usb.cfg',
] as const;

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

export interface ClusterNodeInfo {
  readonly name: string;
  readonly nodeid: number;
  readonly online: boolean;
  readonly ip?: string;
}

export interface ClusterInfo {
  readonly name: string;
  readonly configVersion: number;
  readonly quorate: boolean;
  readonly nodes: readonly ClusterNodeInfo[];
}

export interface ClusterLogEntry {
  readonly uid: number;
  readonly time: number;
  readonly pri: number;
  readonly tag: string;
  readonly pid: number;
  readonly node: string;
  readonly user: string;
  /** Already escaped as kvstore.md §7 describes. */
  readonly msg: string;
}

export interface KvBlock {
  readonly node: string;
  readonly entries: readonly (readonly [string, number])[];
}

export function versionText(v: { starttime: number; clinfo: number; vmlist: number; paths: ReadonlyMap<string, number>; kvstore: readonly KvBlock[] }): string {
  let s = `{\n"starttime": ${v.starttime},\n"clinfo": ${v.clinfo},\n"vmlist": ${v.vmlist},\n`;
  for (const p of TRACKED_PATHS) s += `"${p}": ${v.paths.get(p) ?? 0},\n`;
  s += '"kvstore": {\n';
  s += v.kvstore.map((b) => `"${b.node}": {\n${b.entries.map(([k, n]) => `"${k}": ${n}`).join(',\n')}}\n`).join(',\n');
  s += '}\n}\n';
  return s;
}

export function membersText(nodename: string, clinfoVersion: number, cluster: ClusterInfo | null): string {
  if (cluster === null) return `{\n"nodename": "${nodename}",\n"version": ${clinfoVersion}\n}\n`;
  let s = `{\n"nodename": "${nodename}",\n"version": ${clinfoVersion},\n`;
  s += `"cluster": { "name": "${cluster.name}", "version": ${cluster.configVersion}, "nodes": ${cluster.nodes.length}, "quorate": ${cluster.quorate ? 1 : 0} },\n`;
  s += '"nodelist": {\n';
  s += cluster.nodes.map((n) => `  "${n.name}": { "id": ${n.nodeid}, "online": ${n.online ? 1 : 0}${n.ip !== undefined ? `, "ip": "${n.ip}"` : ''}}`).join(',\n');
  s += '\n  }\n}\n';
  return s;
}

const VM_TYPE_NAMES: Record<number, string> = { [VmType.QEMU]: 'qemu', [VmType.LXC]: 'lxc', [VmType.OPENVZ]: 'openvz' };

export function vmlistText(version: number, vms: readonly VmEntry[]): string {
  if (vms.length === 0) return `{\n"version": ${version}\n\n}\n`;
  let s = `{\n"version": ${version},\n"ids": {\n`;
  s += vms.map((vm) => `"${vm.vmid}": { "node": "${vm.node}", "type": "${VM_TYPE_NAMES[vm.type] ?? 'unknown'}", "version": ${vm.version} }`).join(',\n');
  s += '}\n\n}\n';
  return s;
}

export function clusterlogText(entries: readonly ClusterLogEntry[]): string {
  const lines = entries.map(
    (e) => `{"uid": ${e.uid}, "time": ${e.time}, "pri": ${e.pri}, "tag": "${e.tag}", "pid": ${e.pid}, "node": "${e.node}", "user": "${e.user}", "msg": "${e.msg}"}`,
  );
  return `{\n"data": [\n${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}]\n}\n`;
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
