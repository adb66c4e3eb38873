/**
 * What the daemon shows about itself: the `status` control command and the
 * cluster info behind /etc/pve/.members.
 *
 * | here          | C                                                          |
 * |---------------|------------------------------------------------------------|
 * | membersInfo   | status.c: cfs_status_set_clinfo + the kvstore membership   |
 * | daemonStatus  | (no C equivalent: `pmxcfs-ts status`)                      |
 */
import { modeName } from '../dfsm/types.js';
import type { ClusterInfo } from '../fuse/plugins.js';
import type { Memdb } from '../memdb/memdb.js';
import type { ClusterParts } from './cluster.js';

export interface Identity {
  readonly nodename: string;
  readonly nodeip: string;
  readonly starttime: number;
  readonly dbFile: string;
}

/**
 * .members: the cmap nodelist; "online" is membership of our CPG group (C uses the
 * kvstore group, which every pmxcfs joins alongside; that group is issue 12). Only our
 * own IP is known without the kvstore (C learns the others' from its `nodeip` keys).
 * The membership is looked at lazily; a change bumps the clinfo version.
 */
export function membersInfo(id: Identity, cluster: ClusterParts | null): () => ClusterInfo | null {
  let lastOnline = '';
  return () => {
    const config = cluster?.cmap.config ?? null;
    if (config === null || cluster === null) return null;
    const online = new Set(cluster.dfsm.status().members.map((m) => m.nodeid));
    const key = [...online].sort().join(',');
    if (key !== lastOnline) {
      lastOnline = key;
      cluster.cmap.bump();
    }
    return {
      name: config.clusterName,
      configVersion: config.configVersion,
      quorate: cluster.quorum.quorate,
      nodes: config.nodes.map((n) => ({ name: n.name, nodeid: n.nodeid, online: online.has(n.nodeid), ...(n.name === id.nodename ? { ip: id.nodeip } : {}) })),
    };
  };
}

function corosyncStatus(c: ClusterParts | null): unknown {
  if (c === null) return 'not used (local mode)';
  const on = (b: boolean): string => (b ? 'connected' : 'disconnected');
  return { quorum: on(c.quorum.connected), cpg: on(c.dcdbService.isInitialized), cmap: on(c.cmap.connected) };
}

function dfsmStatus(c: ClusterParts | null): unknown {
  if (c === null) return null;
  const d = c.dfsm.status();
  return {
    mode: modeName(d.mode),
    epoch: d.epoch,
    members: d.members.map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced })),
    lowestNodeid: d.lowestNodeid,
    lastLeader: d.lastLeader,
    lastVerify: d.lastVerify,
    msgQueue: d.msgQueue,
    syncQueue: d.syncQueue,
    waitingWriters: d.waitingWriters,
  };
}

/** The `pmxcfs-ts status` answer. */
export function daemonStatus(id: Identity, memdb: Memdb, cluster: ClusterParts | null): unknown {
  const config = cluster?.cmap.config;
  return {
    nodename: id.nodename,
    nodeip: id.nodeip,
    pid: process.pid,
    mode: cluster === null ? 'local' : 'cluster',
    starttime: id.starttime,
    quorate: cluster === null ? true : cluster.quorum.quorate,
    corosync: corosyncStatus(cluster),
    cluster: config ? { name: config.clusterName, configVersion: config.configVersion, nodes: config.nodes.map((n) => ({ name: n.name, nodeid: n.nodeid })) } : null,
    db: { file: id.dbFile, version: memdb.root.version, mtime: memdb.root.mtime, writer: memdb.root.writer, entries: memdb.index.size, errors: memdb.errors },
    dfsm: dfsmStatus(cluster),
    sync: cluster?.dcdb.progress.snapshot() ?? null,
  };
}
