/**
 * The text of the status function files (`.version`, `.members`, `.vmlist`)
 * and of the IPC replies that carry the same bytes, byte-exact with C.
 *
 * | here            | C (status.c)                                         |
 * |-----------------|------------------------------------------------------|
 * | TRACKED_PATHS   | memdb_change_array                                   |
 * | versionText     | cfs_create_version_msg (+ dump_kvstore_versions)     |
 * | membersText     | cfs_create_memberlist_msg                            |
 * | vmlistText      | cfs_create_vmlist_msg                                |
 */
import { type VmEntry, VmType } from '../memdb/vmlist.js';

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
