/**
 * The daemon: a drop-in for C's pmxcfs (daemon.md), started in explicit phases as
 * pmxcfs.c: main does —
 *
 *   lock → database → services → mount → ready
 *
 * and stopped in reverse after SIGTERM/SIGINT/SIGHUP (pmxcfs.c: main after
 * fuse_loop_mt returns): refuse new writers, stop the services in reverse (the
 * local IPC first; the DFSM's finalize answers its waiting writers with −EBUSY as
 * dfsm_send_sync_message_abort), unmount /etc/pve, close the database, release the
 * lock. Corosync may be absent or go away at any time: services retry forever.
 *
 * Extension points: a cluster service (the status DFSM group) is one more entry in
 * clusterServices (cluster.ts); a local service (an IPC server) is one more entry
 * in `localServices` below: started after the cluster services and before the mount,
 * stopped first.
 *
 * | here                 | C                                              |
 * |----------------------|------------------------------------------------|
 * | runDaemon            | pmxcfs.c: main                                 |
 * | Daemon.lock          | pmxcfs.c: main (dirs, flock on .pmxcfs.lockfile) |
 * | Daemon.database      | memdb_open + import of corosync.conf, mode decision |
 * | Daemon.services      | service_*_new + cfs_loop_start_worker          |
 * | Daemon.mount         | fuse_mount + fuse_new                          |
 * | Daemon.ready         | readiness pipe / pid file, "ready" notice      |
 * | Daemon.stop          | main after fuse_loop_mt: teardown in order     |
 */
import { performance } from 'node:perf_hooks';
import { closeSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { csErrorName } from '../cluster/native.js';
import { COROSYNC_CONF } from '../dcdb/apply.js';
import { FsOps } from '../fsops/fsops.js';
import { clearStaleMount, mountPve, type PveMount } from '../fuse/mount.js';
import { Memdb, MemdbOpenError } from '../memdb/memdb.js';
import type { Log } from '../util/log.js';
import { nowSeconds, systemClock } from '../util/clock.js';
import { createLogger, domainLog, setDebug } from '../util/logger.js';
// Imported statically although a local-mode start (-l) does not use it: from the
// bundle's code cache it costs such a start nothing measurable (6k, 6 alternated
// starts: Node's boot to the lock phase 60–82 ms with the dynamic import, 66–75
// without), and a dynamic import made esbuild wrap the 46 modules it reaches in lazy
// initializers.
import { type ClusterParts, clusterServices } from './cluster.js';
import { controlSocketPath, startControlServer } from './control.js';
import { applyDaemonV8Flags, type DaemonOptions, parseDaemonArgs } from './options.js';
import { acquireLock, CHILD_ENV, daemonize, hugePagesDone, keepMallocHeap, prepareDirs, resolveNodeIp, signalReady, StartupError } from './process.js';
import type { DaemonService } from './service.js';
import { daemonStatus, type Identity } from './status.js';
import { IpcServer } from '../ipc/server.js';
import { wwwDataGid } from '../fuse/perms.js';
import { RrdFiles } from '../status/rrdfile.js';
import { Status } from '../status/status.js';
import type { Server as HttpServer } from 'node:http';
import { startMetricsHttp } from '../metrics/http.js';
import { metrics } from '../metrics/metrics.js';

/** The control socket's `metrics` command: `enabled` switches recording first. */
function metricsText(enabled?: boolean): Promise<string> {
  if (enabled !== undefined) metrics.setEnabled(enabled);
  return metrics.text();
}

/** SIGTERM ends the daemon within 10 s (systemd's default stop timeout is longer). */
export const STOP_DEADLINE_MS = 9000;
/** How long a stopping control server waits for its open connections. */
const SERVER_CLOSE_MS = 1000;
/** Files whose data a loop turn reads after a lazy open: 2,000 blobs take ~10 ms here. */
const DATA_FILL_ROWS = 2000;

/** A stop signal arrived before the daemon was ready. */
class StoppedDuringStart extends Error {
  constructor() {
    super('stopped during start-up');
  }
}

export type DaemonPhase = 'new' | 'lock' | 'database' | 'services' | 'mount' | 'ready' | 'stopping' | 'stopped';
type Logger = ReturnType<typeof createLogger>;

export class Daemon {
  phase: DaemonPhase = 'new';
  /** The duration of each start phase, for the ready line. */
  private readonly startMs: Partial<Record<DaemonPhase, number>> = {};
  private readonly log: Log;
  private id: Identity | null = null;
  private lockFd: number | null = null;
  private memdb: Memdb | null = null;
  private fsops: FsOps | null = null;
  private status: Status | null = null;
  private cluster: ClusterParts | null = null;
  private readonly running: DaemonService[] = [];
  private pve: PveMount | null = null;
  private stopping: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  private stopRequested = false;

  constructor(
    private readonly opts: DaemonOptions,
    private readonly logger: Logger,
    private readonly isChild: boolean,
  ) {
    this.log = domainLog(logger, 'main');
  }

  /**
   * All phases; on failure what was started is stopped again and the error rethrown.
   * A stop requested meanwhile (a signal during start-up) lets the running phase end,
   * then stops: nothing is mounted or started after the teardown.
   */
  async start(): Promise<void> {
    const run = this.runPhases();
    this.starting = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async runPhases(): Promise<void> {
    const phases = [() => this.lock(), () => this.database(), () => this.services(), () => this.mount()];
    for (const phase of phases) {
      if (this.stopRequested) throw new StoppedDuringStart();
      const began = performance.now();
      await phase();
      this.startMs[this.phase] = Math.round(performance.now() - began);
    }
    if (this.stopRequested) throw new StoppedDuringStart();
    this.ready();
  }

  private async lock(): Promise<void> {
    this.phase = 'lock';
    const nodename = hostname().split('.')[0]!;
    const nodeip = await resolveNodeIp(nodename);
    this.log.info({ nodename, nodeip }, `resolved node name '${nodename}' to '${nodeip}' for default node IP address`);
    this.id = { nodename, nodeip, starttime: nowSeconds(systemClock), dbFile: this.opts.db };
    prepareDirs(this.opts.libDir, this.opts.runDir);
    this.lockFd = await acquireLock(join(this.opts.libDir, '.pmxcfs.lockfile'), this.log);
    keepMallocHeap(this.log);
  }

  private async database(): Promise<void> {
    this.phase = 'database';
    const o = this.opts;
    try {
      this.memdb = Memdb.open(o.db, { log: domainLog(this.logger, 'database'), lazyData: true });
    } catch (err) {
      if (err instanceof MemdbOpenError) throw new StartupError(`memdb_open failed - unable to open database '${o.db}': ${err.message}`);
      throw err;
    }
    if (this.memdb.created && !o.local && existsSync(o.corosyncConf)) this.importCorosyncConf(this.memdb);
    const hasConf = this.memdb.getattr(COROSYNC_CONF) !== null;
    if (o.local && hasConf) this.log.info({}, 'forcing local mode (although corosync.conf exists)');
    else if (!hasConf) this.log.debug({}, 'using local mode (corosync.conf does not exist)');
    // status.c: cfs_status_init — in local mode too (only the kvstore group is cluster-only).
    const statusLog = domainLog(this.logger, 'status');
    const id = this.id!;
    const status = new Status({ nodename: id.nodename, nodeip: id.nodeip, memdb: this.memdb, isQuorate: () => this.cluster?.quorum.quorate ?? true, clock: systemClock, log: statusLog, rrdFiles: new RrdFiles({ log: statusLog }) });
    this.status = status;
    if (!o.local && hasConf) {
      const log = (domain: string): Log => domainLog(this.logger, domain);
      this.cluster = clusterServices({ memdb: this.memdb, corosyncConf: o.corosyncConf, verifyPeriodSec: o.verifyPeriod, log, status });
    }
    this.fsops = new FsOps(this.memdb, this.cluster?.dcdb ?? null);
  }

  /** A fresh database of a configured node starts with the host's corosync.conf. */
  private importCorosyncConf(memdb: Memdb): void {
    let conf: Buffer;
    try {
      conf = readFileSync(this.opts.corosyncConf);
    } catch {
      return;
    }
    const now = nowSeconds(systemClock);
    if (memdb.create(COROSYNC_CONF, 0, now) < 0 || memdb.write(COROSYNC_CONF, 0, now, conf, 0, true) < 0) {
      throw new StartupError('memdb_write failed - unable to import corosync.conf');
    }
    this.log.info({ path: this.opts.corosyncConf }, 'imported corosync.conf into the new database');
  }

  private async services(): Promise<void> {
    this.phase = 'services';
    for (const s of [...(this.cluster?.services ?? []), ...this.localServices()]) {
      await s.start();
      this.running.push(s);
    }
  }

  /** Local access besides FUSE; started after the cluster services, stopped first. */
  private localServices(): DaemonService[] {
    return [this.controlService(), this.metricsService(), this.ipcService()];
  }

  /** The pve2 IPC service (src/ipc), answering from the status module (C: server_start). */
  private ipcService(): DaemonService {
    let ipc: IpcServer | null = null;
    const start = (): void => {
      try {
        ipc = IpcServer.start({ memdb: this.memdb!, status: this.status!, wwwGid: wwwDataGid(), log: domainLog(this.logger, 'ipcs') });
      } catch (err) {
        throw new StartupError(`server_start failed: ${(err as Error).message}`);
      }
    };
    return { name: 'ipc', start, stop: () => ipc?.stop() };
  }

  private controlService(): DaemonService {
    const socketPath = controlSocketPath(this.opts.runDir);
    let server: Server | null = null;
    const verify = (): { started: boolean; reason?: string } => {
      const dfsm = this.cluster?.dfsm;
      if (dfsm === undefined) return { started: false, reason: 'local mode: nothing to verify' };
      if (!dfsm.isLowestNodeid()) return { started: false, reason: 'only the lowest node id starts a verify round' };
      const r = dfsm.verifyRequest();
      return r === 1 ? { started: true } : { started: false, reason: `send failed: ${csErrorName(r)}` };
    };
    const start = async (): Promise<void> => {
      const handlers = { fs: this.fsops!, status: () => daemonStatus(this.id!, this.memdb!, this.cluster, this.status!), verify, metrics: metricsText };
      try {
        server = await startControlServer(socketPath, handlers, domainLog(this.logger, 'ipcs'));
      } catch (err) {
        throw new StartupError(`unable to listen on ${socketPath}: ${(err as Error).message}`);
      }
    };
    const stop = async (): Promise<void> => {
      const s = server;
      if (s === null) return;
      await new Promise<void>((r) => {
        s.close(() => r());
        setTimeout(r, SERVER_CLOSE_MS).unref();
      });
    };
    return { name: 'control socket', start, stop };
  }

  /** Recording switch, DB and quorum gauges, and `--metrics-listen` (src/metrics). */
  private metricsService(): DaemonService {
    let http: HttpServer | null = null;
    metrics.setEnabled(this.opts.metrics); // before any service starts
    const start = async (): Promise<void> => {
      const memdb = this.memdb!;
      const quorum = this.cluster?.quorum ?? null;
      metrics.node(() => ({ dbFile: this.opts.db, inodes: memdb.index.size, version: Number(memdb.root.version) /* a float gauge: exact up to 2^53 */, quorate: quorum === null ? true : quorum.quorate }));
      const listen = this.opts.metricsListen;
      if (listen === null) return;
      try {
        http = await startMetricsHttp(metrics, listen, domainLog(this.logger, 'metrics'));
      } catch (err) {
        throw new StartupError(`unable to serve metrics on ${listen.host}:${listen.port}: ${(err as Error).message}`);
      }
    };
    const stop = (): void => {
      http?.close();
      http?.closeAllConnections();
    };
    return { name: 'metrics', start, stop };
  }

  private async mount(): Promise<void> {
    this.phase = 'mount';
    if (!this.opts.fuse) return;
    const id = this.id!;
    const quorum = this.cluster?.quorum ?? null;
    try {
      this.pve = await mountPve({
        mountpoint: this.opts.mount,
        fsops: this.fsops!,
        nodename: id.nodename,
        isQuorate: () => (quorum === null ? true : quorum.quorate),
        status: this.status!,
        log: domainLog(this.logger, 'fuse'),
        // /etc/pve/.debug switches debug logging at run time, as in C (-d sets it at start).
        debug: { get: () => this.logger.level === 'debug', set: (on) => setDebug(this.logger, on) },
        onLoopExit: () => process.kill(process.pid, 'SIGTERM'),
      });
    } catch (err) {
      throw new StartupError(`fuse_mount error - unable to mount ${this.opts.mount}: ${(err as Error).message}`);
    }
  }

  private ready(): void {
    this.phase = 'ready';
    try {
      unlinkSync(this.restartFlag());
    } catch {
      // not present
    }
    signalReady(this.isChild, this.opts.pidFile);
    // Where the start went, in ms: Node's own boot (to its first line of JavaScript), then each phase.
    const startMs = { node: Math.round(performance.nodeTiming.bootstrapComplete), ...this.startMs, total: Math.round(performance.now()) };
    this.log.info({ mode: this.cluster === null ? 'local' : 'cluster', socket: controlSocketPath(this.opts.runDir), startMs }, 'pmxcfs-ts ready');
    this.fillFileData();
  }

  /**
   * The file data of the lazy open (Memdb.lazyData), DATA_FILL_ROWS files per loop
   * turn: /etc/pve answers meanwhile, and whatever needs all data first (a sync round's
   * index) reads the rest at once.
   */
  private fillFileData(): void {
    const memdb = this.memdb!;
    const step = (): void => {
      if (this.phase !== 'ready' || this.memdb !== memdb) return;
      let done: boolean;
      try {
        done = memdb.fillData(DATA_FILL_ROWS);
      } catch {
        return; // logged by the memdb, which takes no more changes
      }
      if (done) hugePagesDone(this.log);
      else setImmediate(step);
    };
    setImmediate(step);
  }

  private restartFlag(): string {
    return join(this.opts.runDir, 'cfs-restart-flag');
  }

  /** The phases in reverse; idempotent (a second signal joins the running stop). */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= (async () => {
      await this.starting;
      await this.teardown();
    })();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    const wasReady = this.phase === 'ready';
    this.phase = 'stopping';
    if (wasReady) {
      try {
        writeFileSync(this.restartFlag(), '', { mode: 0o440 });
      } catch {
        // run dir gone
      }
      this.log.info({}, 'teardown filesystem');
    }
    this.fsops?.close();
    await this.stopServices();
    // Answers to writers released above are sent from promise callbacks: let them run
    // before the session goes away.
    await new Promise((r) => setImmediate(r));
    await this.pve?.unmount();
    this.pve = null;
    this.memdb?.close();
    this.memdb = null;
    this.releaseLock();
    this.phase = 'stopped';
  }

  private async stopServices(): Promise<void> {
    while (this.running.length > 0) {
      const s = this.running.pop()!;
      try {
        await s.stop();
      } catch (err) {
        this.log.error({ service: s.name, err: (err as Error).message }, 'service stop failed');
      }
    }
  }

  private releaseLock(): void {
    if (this.lockFd === null) return;
    closeSync(this.lockFd);
    this.lockFd = null;
    try {
      const pid = readFileSync(this.opts.pidFile, 'utf8').trim();
      if (pid === String(process.pid) || this.isChild) unlinkSync(this.opts.pidFile);
    } catch {
      // no pid file
    }
  }

  /**
   * The stop did not finish within the deadline (a wedged native session): detach the
   * mount and close the database anyway, so the next start finds neither busy.
   */
  forceStop(): void {
    this.log.error({ phase: this.phase, deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time - forcing unmount and database close');
    if (this.opts.fuse) clearStaleMount(this.opts.mount);
    try {
      this.memdb?.close();
    } catch {
      // already closed
    }
    this.memdb = null;
    this.releaseLock();
  }
}

export async function runDaemon(argv: readonly string[]): Promise<number> {
  applyDaemonV8Flags();
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
  const daemon = new Daemon(opts, logger, isChild);
  const stopped = onStopSignal(daemon, log);
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof StoppedDuringStart) return stopped;
    if (err instanceof StartupError) log.error({}, err.message);
    else log.error({ err: (err as Error).stack }, 'start-up failed');
    return err instanceof StartupError ? err.exitCode : 255;
  }
  return stopped;
}

/** SIGTERM, SIGINT and SIGHUP all terminate (libfuse's handlers); SIGPIPE is ignored. */
function onStopSignal(daemon: Daemon, log: Log): Promise<number> {
  process.on('SIGPIPE', () => {});
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) return; // a second signal joins the running stop
      signalled = true;
      const deadline = setTimeout(() => {
        daemon.forceStop();
        log.info({}, 'exit proxmox configuration filesystem (1)');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      void daemon.stop().then(() => {
        clearTimeout(deadline);
        log.info({}, 'exit proxmox configuration filesystem (0)');
        // Nothing of ours is left; a handle still held by an addon must not keep us alive.
        setTimeout(() => process.exit(0), SERVER_CLOSE_MS).unref();
        resolve(0);
      });
    };
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, onSignal);
  });
}
