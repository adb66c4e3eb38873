/**
 * The node status of one daemon (kvstore.md §3, §5, §8–§10): the local and per-node
 * key/value tables, node IPs, online flags, RRD samples, the cluster log, and the
 * texts clients read. One object serves FUSE and IPC (StatusBackend). It exists in
 * local mode too; in cluster mode the kvstore group (group.ts) sets `sender` and
 * feeds it what peers send.
 *
 * | here               | C (status.c)                                         |
 * |--------------------|------------------------------------------------------|
 * | Status             | cfs_status_t + cfs_status_init ("starting cluster log") |
 * | setClusterInfo     | cfs_status_set_clinfo (kv tables, online carried by id) |
 * | setOnline          | dfsm_confchg                                          |
 * | setStatus          | cfs_status_set                                        |
 * | nodeSet            | cfs_kvstore_node_set                                  |
 * | getStatus          | cfs_create_status_msg                                 |
 * | logClusterMessage  | clog_pack + cfs_cluster_log                           |
 * | announceIp         | dfsm_synced                                           |
 * | versionText ...    | cfs_create_version_msg / _memberlist_msg / _vmlist_msg |
 * | rrdDump            | cfs_rrd_dump                                          |
 */
import type { ClusterConfig } from '../cluster/cmap.js';
import type { MemberId } from '../cluster/transport.js';
import { ClusterLog } from '../clusterlog/clusterlog.js';
import { cString } from '../clusterlog/entry.js';
import { EFBIG, ENOENT, ENOMEM } from '../memdb/errno.js';
import type { Memdb } from '../memdb/memdb.js';
import type { Log } from '../util/log.js';
import { type Clock, nowSeconds } from '../util/clock.js';
import { encodeKvUpdate, KvMessageType } from '../wire/kvstore.js';
import type { ClusterLogRequest, StatusBackend } from './backend.js';
import { StatusCounters } from './counters.js';
import { GHashTable, gInt32Hash } from './ghash.js';
import { CFS_MAX_STATUS_SIZE, KvTable } from './kv.js';
import { RrdTable, rrdTarget } from './rrd.js';
import type { RrdFiles } from './rrdfile.js';
import { type ClusterInfo, membersText, versionText, vmlistText } from './text.js';

/** syslog LOG_INFO: the priority of "starting cluster log". */
const LOG_INFO = 6;
/** nodeip_hash_set: 0 < len < 256, NUL-terminated. */
const MAX_IP_LEN = 256;

/** Sends a kvstore NORMAL message if the group's CPG handle exists (dfsm_is_initialized). */
export interface KvSender {
  send(subtype: number, payload: readonly Buffer[]): void;
}

interface ClusterNode {
  readonly name: string;
  readonly nodeid: number;
  online: boolean;
  kv: KvTable | null;
}

export interface StatusOptions {
  readonly nodename: string;
  /** The IP resolved at start-up (cfs.ip). */
  readonly nodeip: string;
  readonly memdb: Memdb;
  readonly isQuorate: () => boolean;
  readonly clock: Clock;
  readonly log: Log;
  /** null: RRD samples are kept for the dump but no files are written. */
  readonly rrdFiles: RrdFiles | null;
  readonly pid?: number;
}

export class Status implements StatusBackend {
  readonly nodename: string;
  readonly starttime: number;
  readonly clusterlog: ClusterLog;
  readonly counters: StatusCounters;
  sender: KvSender | null = null;
  private clinfoVersion = 0;
  private cluster: { name: string; configVersion: number; nodes: ClusterNode[] } | null = null;
  /** The nodeids of the last kvstore membership (null before the first confchg). */
  private groupMembers: ReadonlySet<number> | null = null;
  private readonly localKv = new KvTable();
  private readonly rrd = new RrdTable();
  private readonly ips = new Map<string, string>();

  constructor(private readonly o: StatusOptions) {
    this.nodename = o.nodename;
    this.starttime = nowSeconds(o.clock);
    this.counters = new StatusCounters(o.memdb);
    this.clusterlog = new ClusterLog(Buffer.from(o.nodename, 'latin1'));
    const first = this.clusterlog.pack({ ident: Buffer.from('root'), tag: Buffer.from('cluster'), pid: o.pid ?? process.pid, priority: LOG_INFO, msg: Buffer.from('starting cluster log'), time: this.starttime });
    if (first !== null) this.clusterlog.insert(first);
  }

  get clinfo(): number {
    return this.clinfoVersion;
  }

  /**
   * cfs_status_set_clinfo: a new nodelist; tables and online flags carried over by
   * nodeid. The nodes are kept in the bucket order of C's nodes_byid table (nodelist
   * order of insertion), the order `.members` and `.version` print them in.
   * A node without a previous entry is online if it is in the last kvstore membership:
   * C starts it offline, so a nodelist read after the group's confchg (cmap refused
   * at start-up, corosync not ready yet, the CPG a moment later) lists every node
   * offline until the next membership change. Ours lists the membership it knows.
   */
  setClusterInfo(config: ClusterConfig): void {
    this.clinfoVersion++;
    const old = new Map((this.cluster?.nodes ?? []).map((n) => [n.nodeid, n]));
    const byid = new GHashTable<number, ClusterNode>(gInt32Hash);
    for (const n of config.nodes) {
      const prev = old.get(n.nodeid);
      const online = prev?.online ?? this.groupMembers?.has(n.nodeid) ?? false;
      byid.set(n.nodeid, { name: n.name, nodeid: n.nodeid, online, kv: prev?.kv ?? null });
    }
    this.cluster = { name: config.clusterName, configVersion: config.configVersion, nodes: [...byid.values()] };
  }

  /** dfsm_confchg: online = member of the kvstore group. */
  setOnline(members: readonly MemberId[]): void {
    const ids = new Set(members.map((m) => m.nodeid));
    this.groupMembers = ids;
    if (this.cluster === null) return;
    for (const n of this.cluster.nodes) n.online = ids.has(n.nodeid);
    this.clinfoVersion++;
  }

  /** nodeip_hash_set; false if the value is not an IP C string. */
  private setIp(node: string, value: Buffer): boolean {
    if (value.length === 0 || value.length >= MAX_IP_LEN || value[value.length - 1] !== 0) return false;
    const ip = cString(value).toString('latin1');
    if (this.ips.get(node) !== ip) {
      this.clinfoVersion++;
      this.ips.set(node, ip);
    }
    return true;
  }

  /** rrdentry_hash_set + update_rrd_data; returns the index C overwrites with NUL, or null. */
  private setRrd(key: string, value: Buffer): { ok: boolean; cutAt: number | null } {
    if (!RrdTable.valid(value)) {
      this.o.log.error({ key }, "rrdentry_hash_set: assertion 'len > 0 && len < 4096 && data[len - 1] == 0' failed");
      return { ok: false, cutAt: null };
    }
    const now = nowSeconds(this.o.clock);
    this.rrd.set(key, value, now);
    const t = rrdTarget(key, value);
    if (t === null) {
      this.o.log.error({ key }, `RRD update error: unknown/wrong key ${key}`);
      return { ok: true, cutAt: null };
    }
    this.o.rrdFiles?.write(t, now);
    return { ok: true, cutAt: t.cutAt };
  }

  setStatus(name: Buffer, value: Buffer): number {
    if (value.length > CFS_MAX_STATUS_SIZE) return -EFBIG;
    const key = cString(name).toString('latin1');
    let ok = true;
    let sent = value;
    if (key.startsWith('rrd/')) {
      const r = this.setRrd(key.slice(4), value);
      ok = r.ok;
      if (r.cutAt !== null) {
        sent = Buffer.from(value); // C cuts the caller's buffer, which is then broadcast
        sent[r.cutAt] = 0;
      }
    } else if (key === 'nodeip') {
      ok = this.setIp(this.nodename, value);
      if (!ok) this.o.log.error({ key }, "nodeip_hash_set: assertion 'len > 0 && len < 256 && ip[len - 1] == 0' failed");
    } else this.localKv.set(key, value);
    this.sender?.send(KvMessageType.UPDATE, [encodeKvUpdate(name, sent)]);
    return ok ? 0 : -ENOMEM;
  }

  /** cfs_kvstore_node_set: an UPDATE from another member. */
  nodeSet(nodeid: number, key: Buffer, value: Buffer): void {
    const node = this.cluster?.nodes.find((n) => n.nodeid === nodeid);
    if (node === undefined) return; // no cluster info or not in the nodelist: ignored
    const k = key.toString('latin1');
    if (k.startsWith('rrd/')) this.setRrd(k.slice(4), value);
    else if (k === 'nodeip') {
      if (!this.setIp(node.name, value)) this.o.log.error({ node: node.name }, "nodeip_hash_set: assertion failed");
    } else {
      node.kv ??= new KvTable();
      node.kv.set(k, value);
    }
  }

  /** The local key/value table (simulation checks). */
  localEntries(): [string, Buffer][] {
    return this.localKv.entries();
  }

  /** cfs_kvstore_sync: one UPDATE per local key/value entry. */
  resendLocal(): number {
    const entries = this.localKv.entries();
    for (const [k, v] of entries) this.sender?.send(KvMessageType.UPDATE, [encodeKvUpdate(Buffer.from(k, 'latin1'), v)]);
    return entries.length;
  }

  /** dfsm_synced: announce our IP (the stored one for our name, else the start-up IP). */
  announceIp(): void {
    const ip = this.ips.get(this.nodename) ?? this.o.nodeip;
    this.setStatus(Buffer.from('nodeip'), Buffer.concat([Buffer.from(ip, 'latin1'), Buffer.alloc(1)]));
  }

  getStatus(name: Buffer, nodeName: Buffer): Buffer | number {
    const node = nodeName.toString('latin1');
    const key = cString(name).toString('latin1');
    const table = node === '' || node === this.nodename ? this.localKv : (this.cluster?.nodes.find((n) => n.name === node)?.kv ?? null);
    const v = table?.get(key);
    return v === undefined ? -ENOENT : Buffer.from(v);
  }

  logClusterMessage(req: ClusterLogRequest): void {
    const entry = this.clusterlog.pack({ ident: req.ident, tag: req.tag, pid: req.pid, priority: req.priority, msg: req.message, time: nowSeconds(this.o.clock) });
    if (entry === null) {
      this.o.log.error({ priority: req.priority }, "clog_pack: assertion 'priority < 8' failed");
      return;
    }
    this.insertLog(entry);
    this.sender?.send(KvMessageType.LOG, [entry]);
  }

  /** clusterlog_insert with C's notice for a duplicate. */
  insertLog(entry: Buffer): boolean {
    const ok = this.clusterlog.insert(entry);
    if (!ok) this.o.log.info({}, 'ignore insert of duplicate cluster log');
    return ok;
  }

  clusterLogJson(maxEntries: number, user: Buffer): Buffer {
    return this.clusterlog.dumpJson(cString(user), maxEntries);
  }

  rrdDump(): Buffer {
    return this.rrd.dump(nowSeconds(this.o.clock));
  }

  /** The `.members` view: nodelist order, online flags, known IPs. */
  clusterInfo(): ClusterInfo | null {
    const c = this.cluster;
    if (c === null || c.nodes.length === 0) return null;
    const nodes = c.nodes.map((n) => {
      const ip = this.ips.get(n.name);
      return { name: n.name, nodeid: n.nodeid, online: n.online, ...(ip !== undefined && { ip }) };
    });
    return { name: c.name, configVersion: c.configVersion, quorate: this.o.isQuorate(), nodes };
  }

  versionText(): Buffer {
    const blocks = [{ node: this.nodename, entries: this.localKv.versions() }];
    for (const n of this.cluster?.nodes ?? []) if (n.kv !== null) blocks.push({ node: n.name, entries: n.kv.versions() });
    const vmlist = this.o.memdb.vmlist.version;
    return Buffer.from(versionText({ starttime: this.starttime, clinfo: this.clinfoVersion, vmlist, paths: this.counters.paths, kvstore: blocks }), 'latin1');
  }

  memberListText(): Buffer {
    return Buffer.from(membersText(this.nodename, this.clinfoVersion, this.clusterInfo()), 'latin1');
  }

  vmListText(): Buffer {
    const vl = this.o.memdb.vmlist;
    return Buffer.from(vmlistText(vl.version, [...vl.entries()]), 'latin1');
  }

  /** Counts for `pmxcfs-ts status`. */
  summary(): { clinfo: number; localKeys: number; nodesWithKeys: number; rrdEntries: number; ips: number } {
    const nodesWithKeys = (this.cluster?.nodes ?? []).filter((n) => n.kv !== null).length;
    return { clinfo: this.clinfoVersion, localKeys: this.localKv.size, nodesWithKeys, rrdEntries: this.rrd.size, ips: this.ips.size };
  }
}
