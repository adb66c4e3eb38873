/**
 * What the daemon shows about itself: the `status` control command (`.members` and
 * the other status texts come from the status module, src/status).
 *
 * | here          | C                                                          |
 * |---------------|------------------------------------------------------------|
 * | daemonStatus  | (no C equivalent: `pmxcfs-ts status`)                      |
 */
import { modeName } from '../dfsm/types.js';
import type { Memdb } from '../memdb/memdb.js';
import type { Status } from '../status/status.js';
import type { ClusterParts } from './cluster.js';

export interface Identity {
  readonly nodename: string;
  readonly nodeip: string;
  readonly starttime: number;
  readonly dbFile: string;
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

/** The status group: its DFSM, its last sync round and the status tables. */
function kvstoreStatus(c: ClusterParts | null, status: Status): unknown {
  if (c === null) return null;
  const d = c.kvDfsm.status();
  return { mode: modeName(d.mode), members: d.members.map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced })), lastRound: c.kvApp.lastRound, ...status.summary() };
}

/** The `pmxcfs-ts status` answer. */
export function daemonStatus(id: Identity, memdb: Memdb, cluster: ClusterParts | null, status: Status): unknown {
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
    kvstore: kvstoreStatus(cluster, status),
    sync: cluster?.dcdb.progress.snapshot() ?? null,
  };
}
