/**
 * The cluster services of the daemon (cluster mode only), in pmxcfs.c: main's order:
 * quorum, cmap (cluster info), the dcdb DFSM on CPG group pve_dcdb_v1, the status
 * DFSM on pve_kvstore_v1. Each is a DaemonService the Daemon starts in list order and
 * stops in reverse.
 *
 * | here               | C                                                   |
 * |--------------------|-----------------------------------------------------|
 * | clusterServices    | pmxcfs.c: main (service_quorum_new, service_confdb_new, dcdb_new + service_dfsm_new, cfs_status_dfsm_new + service_dfsm_new) |
 * | dfsmGroupService   | dfsm.c: service_dfsm_new (one per CPG group)        |
 */
import { CpgTransport } from '../cluster/cpg.js';
import { CorosyncError } from '../cluster/native.js';
import { syncCorosyncConf } from '../dcdb/corosync-conf.js';
import { Dcdb } from '../dcdb/dcdb.js';
import { systemClock } from '../util/clock.js';
import { Dfsm } from '../dfsm/dfsm.js';
import { DfsmService } from '../dfsm/service.js';
import type { Memdb } from '../memdb/memdb.js';
import { KVSTORE_DFSM_OPTIONS, KvstoreApp } from '../status/group.js';
import type { Status } from '../status/status.js';
import type { Log } from '../util/log.js';
import type { DaemonService } from './service.js';
import { ClusterInfoService, QuorumService } from './services.js';

export interface ClusterParts {
  readonly quorum: QuorumService;
  readonly cmap: ClusterInfoService;
  readonly dfsm: Dfsm;
  readonly dcdb: Dcdb;
  readonly dcdbService: DfsmService;
  /** The status group pve_kvstore_v1 (status.c). */
  readonly kvDfsm: Dfsm;
  readonly kvApp: KvstoreApp;
  /** In start order. */
  readonly services: readonly DaemonService[];
}

/** A DFSM on its CPG group as a daemon service (the status group of kvstore.md is a second one). */
export function dfsmGroupService(name: string, dfsm: Dfsm, verifyPeriodSec: number, log: Log): { service: DfsmService; entry: DaemonService } {
  const service = new DfsmService({
    dfsm,
    clock: systemClock,
    logger: log,
    verifyPeriodSec,
    createTransport: (handlers) => {
      try {
        return CpgTransport.open(handlers, { borrowDeliveries: true });
      } catch (err) {
        return err instanceof CorosyncError ? err.code : 2;
      }
    },
  });
  return { service, entry: { name, start: () => service.start(), stop: () => service.stop() } };
}

export interface ClusterOptions {
  readonly memdb: Memdb;
  readonly corosyncConf: string;
  readonly verifyPeriodSec: number;
  readonly log: (domain: string) => Log;
  /** The status module: fed by cmap and by the kvstore group. */
  readonly status: Status;
}

export function clusterServices(o: ClusterOptions): ClusterParts {
  const dcdbLog = o.log('dcdb');
  const quorum = new QuorumService(o.log('quorum'));
  const cmap = new ClusterInfoService(o.log('confdb'), (config) => o.status.setClusterInfo(config));
  const corosyncSync = (notify: boolean): void => {
    syncCorosyncConf(o.memdb, notify, { hostPath: o.corosyncConf, log: dcdbLog });
  };
  let dcdb: Dcdb | null = null;
  const dfsm = new Dfsm({
    callbacks: (d) => (dcdb = new Dcdb(d, { memdb: o.memdb, log: dcdbLog, syncCorosyncConf: corosyncSync })),
    isQuorate: () => quorum.quorate,
    logger: dcdbLog,
  });
  const group = dfsmGroupService('dcdb', dfsm, o.verifyPeriodSec, dcdbLog);
  // status.c: cfs_status_dfsm_new — protocol 0, no verify timer.
  const statusLog = o.log('status');
  let kvApp: KvstoreApp | null = null;
  const kvDfsm = new Dfsm({ ...KVSTORE_DFSM_OPTIONS, callbacks: (d) => (kvApp = new KvstoreApp(o.status, statusLog, d)), logger: statusLog });
  const kvGroup = dfsmGroupService('kvstore', kvDfsm, 0, statusLog);
  const services: DaemonService[] = [
    // dcdb_new: the host's corosync.conf is brought in line with the database first.
    { name: 'corosync.conf', start: () => corosyncSync(true), stop: () => undefined },
    { name: 'quorum', start: () => quorum.start(), stop: () => quorum.stop() },
    { name: 'cmap', start: () => cmap.start(), stop: () => cmap.stop() },
    group.entry,
    kvGroup.entry,
  ];
  return { quorum, cmap, dfsm, dcdb: dcdb!, dcdbService: group.service, kvDfsm, kvApp: kvApp!, services };
}
