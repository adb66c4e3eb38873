/**
 * The daemon: a drop-in for C's pmxcfs (daemon.md). Start-up order as pmxcfs.c: main
 * — identity, directories, the single-instance lock, the database (with the
 * corosync.conf import on a fresh file), the mode decision, the services (quorum,
 * dcdb DFSM on CPG), local access (control socket, FUSE), then readiness.
 * Corosync may be absent or go away at any time: services retry forever.
 *
 * | here                 | C                                              |
 * |----------------------|------------------------------------------------|
 * | runDaemon            | pmxcfs.c: main                                 |
 * | resolveNodeIp        | pmxcfs.c: lookup_node_ip                       |
 * | acquireLock          | pmxcfs.c: main (flock on .pmxcfs.lockfile)     |
 * | QuorumService        | quorum.c + loop.c restart policy               |
 * | daemonize            | pmxcfs.c: main fork + readiness pipe           |
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { CpgTransport } from '../cluster/cpg.js';
import { CorosyncError, csErrorName } from '../cluster/native.js';
import type { TransportHandlers } from '../cluster/transport.js';
import { posix } from '../util/posix.js';
import { COROSYNC_CONF } from '../dcdb/apply.js';
import { atomicWriteFile, syncCorosyncConf } from '../dcdb/corosync-conf.js';
import { Dcdb } from '../dcdb/dcdb.js';
import { Dfsm } from '../dfsm/dfsm.js';
import { DfsmService } from '../dfsm/service.js';
import { systemClock as dfsmClock } from '../dfsm/clock.js';
import { modeName } from '../dfsm/types.js';
import { Memdb, MemdbOpenError } from '../memdb/memdb.js';
import { systemClock, type Log } from '../util/log.js';
import { createLogger, domainLog, setDebug } from '../util/logger.js';
import { controlSocketPath, startControlServer } from './control.js';
import { FsOps } from './fsops.js';
import { ClusterInfoService, QuorumService } from './services.js';
import { mountPve, type PveMount } from '../fuse/mount.js';
import { KVSTORE_DFSM_OPTIONS, KvstoreApp } from '../status/group.js';
import { RrdFiles } from '../status/rrdfile.js';
import { Status } from '../status/status.js';
import { type DaemonOptions, parseDaemonArgs } from './options.js';
import { IpcServer } from '../ipc/server.js';
import { wwwDataGid } from '../fuse/perms.js';

/** pmxcfs.c: 11 flock attempts, 1 s apart. */
const LOCK_ATTEMPTS = 11;
const CHILD_ENV = 'PMXCFS_TS_DAEMON_CHILD';

class StartupError extends Error {
  constructor(message: string, readonly exitCode = 255) {
    super(message);
  }
}

/** The first non-loopback address of the node name (daemon.md §3). */
async function resolveNodeIp(nodename: string): Promise<string> {
  let addrs: { address: string; family: number }[] = [];
  try {
    addrs = await lookup(nodename, { all: true });
  } catch {
    addrs = [];
  }
  const ip = addrs.find((a) => (a.family === 4 ? !a.address.startsWith('127.') : a.address !== '::1'));
  if (ip === undefined) {
    throw new StartupError(`Unable to resolve node name '${nodename}' to a non-loopback IP address - missing entry in '/etc/hosts' or DNS?`);
  }
  return ip.address;
}

/** cpg_initialize for a DFSM service; a cs_error number on failure. */
function openCpg(handlers: TransportHandlers): CpgTransport | number {
  try {
    return CpgTransport.open(handlers);
  } catch (err) {
    return err instanceof CorosyncError ? err.code : 2;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** flock(LOCK_EX|LOCK_NB) with C's retries; the descriptor stays open for the process lifetime. */
async function acquireLock(file: string, log: Log): Promise<number> {
  let fd: number;
  try {
    fd = openSync(file, 'a+', 0o600);
  } catch (err) {
    throw new StartupError(`unable to create lock '${file}': ${(err as Error).message}`);
  }
  const { flockExclusive: flock } = posix();
  for (let attempt = 1; attempt <= LOCK_ATTEMPTS; attempt++) {
    const r = flock(fd);
    if (r === 0) return fd;
    if (attempt === 1) log.warn({ file }, 'unable to acquire pmxcfs lock - trying again');
    if (attempt === LOCK_ATTEMPTS) throw new StartupError(`unable to acquire pmxcfs lock: another pmxcfs holds ${file} (errno ${-r})`);
    await sleep(1000);
  }
  throw new StartupError('unreachable');
}

/**
 * Without -f: start a detached copy of this process and wait for its readiness byte
 * on an extra pipe; then write the pid file with the child's pid and exit 0, as
 * C's parent does. The child's stdout/stderr stay attached (journal), stdin is null.
 */
async function daemonize(argv: readonly string[], pidFile: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const ready = await new Promise<boolean>((resolve) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.once('data', (b: Buffer) => resolve(b[0] === 0x31));
    pipe.once('end', () => resolve(false));
    child.once('exit', () => resolve(false));
  });
  if (!ready || child.pid === undefined) {
    process.stderr.write('pmxcfs-ts: child failed to send \'1\'\n');
    child.kill('SIGKILL');
    return 255;
  }
  atomicWriteFile(pidFile, Buffer.from(`${child.pid}\n`));
  child.unref();
  return 0;
}

export interface RunningDaemon {
  readonly stopped: Promise<number>;
  stop(): Promise<void>;
}

export async function runDaemon(argv: readonly string[]): Promise<number> {
  const parsed = parseDaemonArgs(argv);
  if (!parsed.ok) {
    (parsed.exitCode === 0 ? process.stdout : process.stderr).write(parsed.message.endsWith('\n') ? parsed.message : parsed.message + '\n');
    return parsed.exitCode;
  }
  const opts = parsed.options;
  const isChild = process.env[CHILD_ENV] === '1';
  if (!opts.foreground && !isChild) return daemonize(argv, opts.pidFile);
  const logger = createLogger({ debug: opts.debug, pretty: opts.pretty });
  const log = domainLog(logger, 'main');
  try {
    const daemon = await startDaemon(opts, logger, isChild);
    return await daemon.stopped;
  } catch (err) {
    if (err instanceof StartupError) {
      log.error({}, err.message);
      return err.exitCode;
    }
    log.error({ err: (err as Error).stack }, 'start-up failed');
    return 255;
  }
}

async function startDaemon(opts: DaemonOptions, logger: ReturnType<typeof createLogger>, isChild: boolean): Promise<RunningDaemon> {
  const log = domainLog(logger, 'main');
  const nodename = hostname().split('.')[0]!;
  const nodeip = await resolveNodeIp(nodename);
  log.info({ nodename, nodeip }, `resolved node name '${nodename}' to '${nodeip}' for default node IP address`);

  process.umask(0o027);
  mkdirSync(opts.libDir, { recursive: true, mode: 0o750 });
  mkdirSync(opts.runDir, { recursive: true, mode: 0o750 });
  try {
    const wwwData = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
    if (wwwData !== undefined) chownSync(opts.runDir, 0, Number(wwwData.split(':')[2]));
  } catch {
    // errors ignored, as C
  }
  const lockFd = await acquireLock(join(opts.libDir, '.pmxcfs.lockfile'), log);

  let memdb: Memdb;
  try {
    memdb = Memdb.open(opts.db, { log: domainLog(logger, 'database') });
  } catch (err) {
    if (err instanceof MemdbOpenError) throw new StartupError(`memdb_open failed - unable to open database '${opts.db}': ${err.message}`);
    throw err;
  }
  if (memdb.created && !opts.local && existsSync(opts.corosyncConf)) {
    let conf: Buffer | null = null;
    try {
      conf = readFileSync(opts.corosyncConf);
    } catch {
      conf = null;
    }
    if (conf !== null) {
      const now = systemClock();
      if (memdb.create(COROSYNC_CONF, 0, now) < 0 || memdb.write(COROSYNC_CONF, 0, now, conf, 0, true) < 0) {
        throw new StartupError('memdb_write failed - unable to import corosync.conf');
      }
      log.info({ path: opts.corosyncConf }, 'imported corosync.conf into the new database');
    }
  }

  const clusterMode = !opts.local && memdb.getattr(COROSYNC_CONF) !== null;
  const statusLog = domainLog(logger, 'status');
  let quorumRef: QuorumService | null = null;
  // status.c: cfs_status_init — in local mode too (only the kvstore group is cluster-only).
  const status = new Status({ nodename, nodeip, memdb, isQuorate: () => quorumRef?.quorate ?? true, clock: systemClock, log: statusLog, rrdFiles: new RrdFiles({ log: statusLog }) });
  if (opts.local && memdb.getattr(COROSYNC_CONF) !== null) log.info({}, 'forcing local mode (although corosync.conf exists)');
  else if (!clusterMode) log.debug({}, 'using local mode (corosync.conf does not exist)');

  let quorum: QuorumService | null = null;
  let cmap: ClusterInfoService | null = null;
  let dfsm: Dfsm | null = null;
  let dcdb: Dcdb | null = null;
  let service: DfsmService | null = null;
  let kvService: DfsmService | null = null;
  let kvDfsm: Dfsm | null = null;
  let kvApp: KvstoreApp | null = null;
  if (clusterMode) {
    const dcdbLog = domainLog(logger, 'dcdb');
    quorum = new QuorumService(domainLog(logger, 'quorum'));
    quorumRef = quorum;
    const q = quorum;
    const corosyncSync = (notify: boolean): void => {
      syncCorosyncConf(memdb, notify, { hostPath: opts.corosyncConf, log: dcdbLog });
    };
    dfsm = new Dfsm({
      callbacks: (d) => (dcdb = new Dcdb(d, { memdb, log: dcdbLog, syncCorosyncConf: corosyncSync })),
      isQuorate: () => q.quorate,
      logger: dcdbLog,
    });
    corosyncSync(true);
    quorum.start();
    cmap = new ClusterInfoService(domainLog(logger, 'confdb'), (config) => status.setClusterInfo(config));
    cmap.start();
    service = new DfsmService({
      dfsm,
      clock: dfsmClock,
      logger: dcdbLog,
      verifyPeriodSec: opts.verifyPeriod,
      createTransport: openCpg,
    });
    service.start();
    // The status group pve_kvstore_v1 (status.c: cfs_status_dfsm_new): no verify timer.
    kvDfsm = new Dfsm({ ...KVSTORE_DFSM_OPTIONS, callbacks: (d) => (kvApp = new KvstoreApp(status, statusLog, d)), logger: statusLog });
    kvService = new DfsmService({ dfsm: kvDfsm, clock: dfsmClock, logger: statusLog, verifyPeriodSec: 0, createTransport: openCpg });
    kvService.start();
  }

  const fs = new FsOps(memdb, dcdb);
  const statusReport = () => {
    const d = dfsm?.status();
    return {
      nodename,
      nodeip,
      pid: process.pid,
      mode: clusterMode ? 'cluster' : 'local',
      starttime: status.starttime,
      quorate: quorum === null ? true : quorum.quorate,
      corosync:
        quorum === null
          ? 'not used (local mode)'
          : { quorum: quorum.connected ? 'connected' : 'disconnected', cpg: service?.isInitialized ? 'connected' : 'disconnected', cmap: cmap?.connected ? 'connected' : 'disconnected' },
      cluster: cmap?.config ? { name: cmap.config.clusterName, configVersion: cmap.config.configVersion, nodes: cmap.config.nodes.map((n) => ({ name: n.name, nodeid: n.nodeid })) } : null,
      db: { file: opts.db, version: memdb.root.version, mtime: memdb.root.mtime, writer: memdb.root.writer, entries: memdb.index.size, errors: memdb.errors },
      dfsm:
        d === undefined
          ? null
          : {
              mode: modeName(d.mode),
              epoch: d.epoch,
              members: d.members.map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced })),
              lowestNodeid: d.lowestNodeid,
              lastLeader: d.lastLeader,
              lastVerify: d.lastVerify,
              msgQueue: d.msgQueue,
              syncQueue: d.syncQueue,
              waitingWriters: d.waitingWriters,
            },
      kvstore: kvDfsm === null ? null : { mode: modeName(kvDfsm.status().mode), members: kvDfsm.status().members.map((m) => ({ nodeid: m.nodeid, pid: m.pid, synced: m.synced })), lastRound: kvApp?.lastRound ?? null, ...status.summary() },
    };
  };
  const socketPath = controlSocketPath(opts.runDir);
  let server: Server;
  try {
    server = await startControlServer(
      socketPath,
      {
        fs,
        status: statusReport,
        verify: () => {
          if (dfsm === null) return { started: false, reason: 'local mode: nothing to verify' };
          if (!dfsm.isLowestNodeid()) return { started: false, reason: 'only the lowest node id starts a verify round' };
          const r = dfsm.verifyRequest();
          return r === 1 ? { started: true } : { started: false, reason: `send failed: ${csErrorName(r)}` };
        },
      },
      domainLog(logger, 'ipcs'),
    );
  } catch (err) {
    throw new StartupError(`unable to listen on ${socketPath}: ${(err as Error).message}`);
  }

  // ---- FUSE mount of /etc/pve (src/fuse) ----
  let pve: PveMount | null = null;
  if (opts.fuse) {
    try {
      pve = await mountPve({
        mountpoint: opts.mount,
        fsops: fs,
        nodename,
        isQuorate: () => (quorum === null ? true : quorum.quorate),
        status,
        log: domainLog(logger, 'fuse'),
        // /etc/pve/.debug switches debug logging at run time, as in C (-d sets it at start).
        debug: { get: () => logger.level === 'debug', set: (on) => setDebug(logger, on) },
        onLoopExit: () => process.kill(process.pid, 'SIGTERM'),
      });
    } catch (err) {
      server.close();
      throw new StartupError(`fuse_mount error - unable to mount ${opts.mount}: ${(err as Error).message}`);
    }
  }
  // ---- end FUSE mount ----

  // ---- IPC service pve2 (src/ipc): after the cluster services, before readiness (C: server_start) ----
  let ipc: IpcServer;
  try {
    ipc = IpcServer.start({ memdb, status, wwwGid: wwwDataGid(), log: domainLog(logger, 'ipcs') });
  } catch (err) {
    await pve?.unmount();
    server.close();
    throw new StartupError(`server_start failed: ${(err as Error).message}`);
  }
  // ---- end IPC service ----

  const restartFlag = join(opts.runDir, 'cfs-restart-flag');
  try {
    unlinkSync(restartFlag);
  } catch {
    // not present
  }
  if (isChild) {
    try {
      writeSync(3, '1');
      closeSync(3);
    } catch {
      // parent gone
    }
  } else {
    atomicWriteFile(opts.pidFile, Buffer.from(`${process.pid}\n`));
  }
  log.info({ mode: clusterMode ? 'cluster' : 'local', socket: socketPath }, 'pmxcfs-ts ready');

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      writeFileSync(restartFlag, '', { mode: 0o440 });
    } catch {
      // run dir gone
    }
    log.info({}, 'teardown filesystem');
    ipc.stop(); // first to go, as C's server_stop
    await new Promise<void>((r) => server.close(() => r()));
    await pve?.unmount(); // FUSE (src/fuse)
    service?.stop();
    kvService?.stop();
    quorum?.stop();
    cmap?.stop();
    memdb.close();
    closeSync(lockFd);
    try {
      const pid = readFileSync(opts.pidFile, 'utf8').trim();
      if (pid === String(process.pid) || isChild) unlinkSync(opts.pidFile);
    } catch {
      // no pid file
    }
    log.info({}, 'exit proxmox configuration filesystem (0)');
    resolveStopped(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop());
  process.on('SIGPIPE', () => {});
  return { stopped, stop };
}
