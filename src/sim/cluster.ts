/**
 * A deterministic simulated pmxcfs cluster on the REAL stack: every node is a Memdb on
 * its own SQLite file, a Dcdb, a Dfsm and a DfsmService, connected through a seeded
 * SimNetwork (in-memory CPG) and driven by one ManualClock (virtual time; the memdb
 * clock reads the same virtual time). Local clients act through FsOps in cluster mode.
 *
 * The cluster also records what the invariant checks need:
 * - every NORMAL message applied by any node (`Recorder`): the first application of a
 *   message anywhere gets a global stamp, and every successful change records the paths
 *   it touched with that stamp (C applies messages in the same order on all members of
 *   a configuration, so first-application stamps follow that order);
 * - for a node's own messages, a snapshot of the touched entries right after the local
 *   application (the state its writer was acknowledged with);
 * - DFSM mode transitions (LEAVE / ERROR / VERSION_ERROR) from the DFSM's log;
 * - "hazards": a SYNCED member applying a NORMAL message from a member that is not
 *   synced in the current round (dfsm.md pitfall 3). C members can legitimately apply
 *   messages in different orders after that, so replicas may differ until the next
 *   verification restarts the odd ones out.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SimNetwork, type SimTransport } from '../cluster/sim.js';
import type { TransportHandlers } from '../cluster/transport.js';
import { ManualClock } from '../util/clock.js';
import { Dfsm } from '../dfsm/dfsm.js';
import { DfsmService } from '../dfsm/service.js';
import { DfsmMode, type DeliveredMessage, type DeliverResult, type DfsmApi, type Logger, type SyncInfo } from '../dfsm/types.js';
import { Dcdb } from '../dcdb/dcdb.js';
import { FsOps } from '../fsops/fsops.js';
import { indexMatchesTree } from '../memdb/invariants.js';
import { Memdb } from '../memdb/memdb.js';
import type { TreeEntry } from '../memdb/tree.js';
import type { Log } from '../util/log.js';
import { DcdbMessageType, decodeFuseMessage, decodeUnlock } from '../wire/dcdb.js';
import { DfsmMessageType, NORMAL_HEADER_SIZE } from '../wire/dfsm.js';
import { DT_DIR, type EntryFields } from '../wire/entry.js';
import { KVSTORE_DFSM_OPTIONS, KvstoreApp } from '../status/group.js';
import { Status } from '../status/status.js';
import { silentLog } from '../util/log.js';
import { toJson } from '../util/json.js';

/** A copy of one tree entry's fields (no children), for comparisons. */
export type EntrySnap = EntryFields;

export function snapEntry(e: TreeEntry | null): EntrySnap | null {
  if (e === null) return null;
  return {
    inode: e.inode,
    parent: e.parent,
    version: e.version,
    writer: e.writer,
    mtime: e.mtime,
    size: e.size,
    type: e.type,
    name: e.name,
    data: e.data === null ? null : Buffer.from(e.data),
  };
}

const EMPTY = Buffer.alloc(0);

export function snapEquals(a: EntrySnap | null, b: EntrySnap | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.inode === b.inode &&
    a.parent === b.parent &&
    a.version === b.version &&
    a.writer === b.writer &&
    a.mtime === b.mtime &&
    a.size === b.size &&
    a.type === b.type &&
    a.name === b.name &&
    (a.data ?? EMPTY).equals(b.data ?? EMPTY)
  );
}

export function describeSnap(s: EntrySnap | null): string {
  if (s === null) return 'absent';
  const data = s.data === null ? 'null' : `${s.data.length}B:${s.data.subarray(0, 8).toString('hex')}`;
  return `{inode ${s.inode} parent ${s.parent} v${s.version} w${s.writer} mtime ${s.mtime} size ${s.size} type ${s.type} data ${data}}`;
}

/** A change made by the first application of a message. */
interface Change {
  readonly stamp: number;
  readonly paths: readonly string[];
  /** Directory renames move everything below these prefixes. */
  readonly prefixes: readonly string[];
}

/** Shared bookkeeping of all applications, see the header. */
export class Recorder {
  private stampCounter = 0;
  /** message key → stamp of its first application anywhere */
  readonly firstApply = new Map<string, number>();
  /** path → stamp of the last first-application that changed it */
  readonly lastChange = new Map<string, number>();
  /** directory-rename prefix changes, in stamp order */
  readonly prefixChanges: { stamp: number; prefix: string }[] = [];
  /** message key → entries of the touched paths right after the sender applied it */
  readonly localSnaps = new Map<string, Map<string, EntrySnap | null>>();
  hazards = 0;
  /** Files that got "size without data" (memdb.md pitfall 2, reachable by racing truncates). */
  dataless = 0;
  unlocksApplied = 0;
  applied = 0;
  /** The first broken "index equals tree" seen (memdb/invariants.ts), or null. */
  treeBroken: string | null = null;

  record(key: string, change: Omit<Change, 'stamp'> | null): number {
    let stamp = this.firstApply.get(key);
    if (stamp !== undefined) return stamp;
    stamp = ++this.stampCounter;
    this.firstApply.set(key, stamp);
    if (change !== null) {
      for (const p of change.paths) this.lastChange.set(p, stamp);
      for (const prefix of change.prefixes) this.prefixChanges.push({ stamp, prefix });
    }
    return stamp;
  }

  /** Was `path` changed by a message first applied after `stamp` (directly or by a directory move)? */
  changedAfter(path: string, stamp: number): boolean {
    const last = this.lastChange.get(path);
    if (last !== undefined && last > stamp) return true;
    for (let i = this.prefixChanges.length - 1; i >= 0; i--) {
      const c = this.prefixChanges[i]!;
      if (c.stamp <= stamp) break;
      if (path.startsWith(c.prefix + '/')) return true;
    }
    return false;
  }
}

/** The count field of the NORMAL header in front of a delivered payload (a view into the message). */
function headerCount(msg: DeliveredMessage): bigint | null {
  const p = msg.payload;
  if (p.byteOffset < NORMAL_HEADER_SIZE) return null;
  const hdr = Buffer.from(p.buffer, p.byteOffset - NORMAL_HEADER_SIZE, NORMAL_HEADER_SIZE);
  if (hdr.readUInt16LE(0) !== DfsmMessageType.NORMAL || hdr.readUInt16LE(2) !== msg.subtype) return null;
  return hdr.readBigUInt64LE(16);
}

/** The paths a NORMAL message may change (path, and `to` for RENAME). */
function touchedPaths(msg: DeliveredMessage): string[] {
  if (msg.subtype >= DcdbMessageType.WRITE && msg.subtype <= DcdbMessageType.MTIME) {
    const f = decodeFuseMessage(msg.payload);
    if (!f.ok || f.value.path === null) return [];
    return msg.subtype === DcdbMessageType.RENAME && f.value.to !== null ? [f.value.path, f.value.to] : [f.value.path];
  }
  if (msg.subtype === DcdbMessageType.UNLOCK || msg.subtype === DcdbMessageType.UNLOCK_REQUEST) {
    const u = decodeUnlock(msg.payload);
    return u.ok ? [u.value.path] : [];
  }
  return [];
}

/** Dcdb with the recording hooks of the simulation; behaviour is unchanged. */
export class RecordingDcdb extends Dcdb {
  constructor(
    dfsm: DfsmApi,
    memdb: Memdb,
    private readonly proc: NodeProcess,
    private readonly recorder: Recorder,
    log?: Log,
  ) {
    super(dfsm, log ? { memdb, log } : { memdb });
  }

  override deliver(msg: DeliveredMessage): DeliverResult {
    const dfsm = this.proc.dfsm;
    if (dfsm.mode === DfsmMode.SYNCED) {
      const m = dfsm.status().members.find((x) => x.nodeid === msg.from.nodeid && x.pid === msg.from.pid);
      if (m !== undefined && !m.synced) this.recorder.hazards++;
    }
    const paths = touchedPaths(msg);
    const before = this.memdb.root.version;
    const snapsBefore = paths.map((p) => snapEntry(this.memdb.getattr(p)));
    const res = super.deliver(msg);
    this.checkTree('deliver');
    const count = headerCount(msg);
    if (count === null) throw new Error('invariant: delivered payload is not a view into a NORMAL message');
    const key = `${msg.from.nodeid}/${msg.from.pid}/${count}`;
    this.recorder.applied++;
    // A change: a new version, or an entry that changed without one (a failing rename
    // onto an existing target drops the target from memory, memdb.md pitfall 3).
    const changed = this.memdb.root.version !== before || paths.some((p, i) => !snapEquals(snapsBefore[i]!, snapEntry(this.memdb.getattr(p))));
    let prefixes: string[] = [];
    if (changed && msg.subtype === DcdbMessageType.RENAME && paths.length === 2 && this.memdb.getattr(paths[1]!)?.type === DT_DIR) {
      prefixes = [paths[0]!, paths[1]!];
    }
    if (changed && msg.subtype === DcdbMessageType.UNLOCK && !this.recorder.firstApply.has(key)) this.recorder.unlocksApplied++;
    if (changed && !this.recorder.firstApply.has(key)) {
      for (const p of paths) {
        const e = this.memdb.getattr(p);
        if (e !== null && e.type !== DT_DIR && e.size > 0 && e.data === null) this.recorder.dataless++;
      }
    }
    this.recorder.record(key, changed ? { paths, prefixes } : null);
    if (msg.local && !this.recorder.localSnaps.has(key)) {
      const snaps = new Map<string, EntrySnap | null>();
      for (const p of paths) snaps.set(p, snapEntry(this.memdb.getattr(p)));
      this.recorder.localSnaps.set(key, snaps);
    }
    return res;
  }

  override commit(sync: SyncInfo): boolean {
    const ok = super.commit(sync);
    this.checkTree('commit');
    return ok;
  }

  /** Index equals tree after every change (memdb's structural invariant). */
  private checkTree(after: string): void {
    // Not thrown: the DFSM turns a throwing callback into LEAVE, which would hide it.
    const broken = indexMatchesTree(this.memdb);
    if (broken !== null) this.recorder.treeBroken ??= `${this.proc.name}: index differs from tree after ${after}: ${broken}`;
  }
}

/** The node name of a nodeid in the simulated nodelist. */
export function nodeName(nodeid: number): string {
  return `node${nodeid}`;
}

/** One incarnation (process) of a node. */
export class NodeProcess {
  readonly memdb: Memdb;
  readonly dfsm: Dfsm;
  readonly dcdb: RecordingDcdb;
  readonly service: DfsmService;
  readonly fs: FsOps;
  transport: SimTransport | null = null;
  /** The status group pve_kvstore_v1 beside dcdb (status.c), on its own CPG connection. */
  readonly status: Status;
  readonly kvDfsm: Dfsm;
  readonly kvService: DfsmService;
  kvTransport: SimTransport | null = null;
  /** The handlers the service gave its transport: `handlers.deliver` injects a delivery (hostile-input tests). */
  handlers: TransportHandlers | null = null;
  /** A local client operation is outstanding (clients are sequential per node). */
  busy = false;
  alive = true;

  constructor(
    readonly cluster: SimCluster,
    readonly nodeid: number,
    readonly pid: number,
    file: string,
  ) {
    const clock = cluster.clock;
    const log = cluster.appLog(this);
    this.memdb = Memdb.open(file, log ? { clock, log } : { clock });
    const holder: { dcdb?: RecordingDcdb } = {};
    this.dfsm = new Dfsm({
      callbacks: (d) => (holder.dcdb = new RecordingDcdb(d, this.memdb, this, cluster.recorder, cluster.appLog(this))),
      clock,
      isQuorate: () => cluster.net.isQuorate(nodeid),
      logger: cluster.dfsmLogger(this),
    });
    this.dcdb = holder.dcdb!;
    this.fs = new FsOps(this.memdb, this.dcdb, clock);
    this.service = new DfsmService({
      dfsm: this.dfsm,
      clock,
      verifyPeriodSec: 0,
      createTransport: (h) => ((this.handlers = h), (this.transport = cluster.net.connect(nodeid, pid, h))),
    });
    this.status = new Status({ nodename: nodeName(nodeid), nodeip: `10.0.0.${nodeid}`, memdb: this.memdb, isQuorate: () => true, clock, log: log ?? silentLog, rrdFiles: null, pid });
    const nodes = cluster.nodeids.map((n) => ({ name: nodeName(n), nodeid: n, votes: 1, ring0Addr: undefined }));
    this.status.setClusterInfo({ clusterName: 'sim', configVersion: 1, configVersionMissing: false, nodes });
    this.kvDfsm = new Dfsm({ ...KVSTORE_DFSM_OPTIONS, callbacks: (d) => new KvstoreApp(this.status, log ?? silentLog, d), clock, logger: cluster.dfsmLogger(this) });
    this.kvService = new DfsmService({ dfsm: this.kvDfsm, clock, verifyPeriodSec: 0, createTransport: (h) => (this.kvTransport = cluster.net.connect(nodeid, pid, h, 'kvstore')) });
  }

  get name(): string {
    return `${this.nodeid}/${this.pid}`;
  }
}

export interface ModeEvent {
  readonly proc: string;
  readonly to: 'LEAVE' | 'ERROR' | 'VERSION_ERROR';
  readonly step: number;
}

export interface SimClusterOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Directory for the SQLite files (reused; files are removed first). */
  readonly dir: string;
  /** Print DFSM errors (mode changes to LEAVE etc.). */
  readonly verbose?: boolean;
}

/** The nodes 1..N of one simulated cluster. */
export class SimCluster {
  readonly net: SimNetwork;
  readonly clock = new ManualClock();
  readonly recorder = new Recorder();
  readonly nodeids: number[];
  readonly procs = new Map<number, NodeProcess>();
  readonly modeEvents: ModeEvent[] = [];
  /** The schedule step, for event records. */
  step = 0;
  private nextPid: number;

  constructor(readonly opts: SimClusterOptions) {
    this.nodeids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    this.net = new SimNetwork({ seed: opts.seed, nodes: this.nodeids, borrowDeliveries: true });
    this.nextPid = 1000 + (opts.seed % 1000) * 10;
    for (const n of this.nodeids) for (const ext of ['', '-wal', '-shm']) rmSync(this.file(n) + ext, { force: true });
  }

  file(nodeid: number): string {
    return join(this.opts.dir, `node${nodeid}.db`);
  }

  dfsmLogger(proc: NodeProcess): Logger {
    const onError = (obj: object, msg: string): void => {
      if (this.opts.verbose) console.log(`[${this.step}] ${proc.name} dfsm: ${msg} ${JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Error ? v.stack : v))}`);
      const to = (obj as { to?: string }).to;
      if (to === 'LEAVE' || to === 'ERROR' || to === 'VERSION_ERROR') {
        this.modeEvents.push({ proc: proc.name, to, step: this.step });
        void msg;
      }
    };
    return { info() {}, warn() {}, debug() {}, error: onError };
  }

  /** The dcdb/memdb log: errors printed in verbose mode. */
  appLog(proc: NodeProcess): Log | undefined {
    if (!this.opts.verbose) return undefined;
    const print = (obj: object, msg?: string) => console.log(`[${this.step}] ${proc.name} dcdb: ${msg ?? ''} ${toJson(obj)}`);
    return { debug() {}, info() {}, warn: print, error: print };
  }

  running(): NodeProcess[] {
    return [...this.procs.values()].filter((p) => p.alive);
  }

  isRunning(nodeid: number): boolean {
    return this.procs.get(nodeid)?.alive ?? false;
  }

  /** Start a new process for the node (reopening its database file). */
  start(nodeid: number): NodeProcess {
    if (this.isRunning(nodeid)) throw new Error(`node ${nodeid} already running`);
    this.nextPid += 1;
    const proc = new NodeProcess(this, nodeid, this.nextPid, this.file(nodeid));
    this.procs.set(nodeid, proc);
    proc.service.start();
    proc.kvService.start();
    return proc;
  }

  /** Stop a process: `crash` kills it (PROCDOWN, random prefix of its sends out), else a clean stop (cpg_leave, finalize). */
  stop(nodeid: number, crash: boolean): void {
    const proc = this.procs.get(nodeid);
    if (!proc || !proc.alive) return;
    if (crash && proc.transport !== null) this.net.crash(proc.transport);
    if (crash && proc.kvTransport !== null) this.net.crash(proc.kvTransport);
    proc.service.stop();
    proc.kvService.stop();
    proc.alive = false;
    proc.memdb.close();
  }

  stopAll(): void {
    for (const p of this.running()) {
      p.service.stop();
      p.kvService.stop();
      p.alive = false;
      p.memdb.close();
    }
  }

  /** The member list key of a node's current configuration. */
  viewKey(p: NodeProcess): string {
    return p.dfsm
      .status()
      .members.map((m) => `${m.nodeid}/${m.pid}`)
      .join(',');
  }

  modes(): string {
    return this.nodeids.map((n) => `${n}:${this.isRunning(n) ? this.procs.get(n)!.dfsm.status().modeName : 'down'}`).join(' ');
  }

  /** Mode, CPG and service state of every node, for failure reports. */
  describe(): string {
    return this.nodeids
      .map((n) => {
        const p = this.procs.get(n);
        if (!p || !p.alive) return `${n}: down`;
        const s = p.dfsm.status();
        return (
          `${p.name}: ${s.modeName} joined=${s.joined} member=${s.weAreMember} initialized=${p.service.isInitialized} ` +
          `starts=${p.service.starts} transport=${p.transport === null ? 'none' : p.transport.alive ? 'alive' : 'dead'} ` +
          `quorate=${this.net.isQuorate(n)} members=[${this.viewKey(p)}] v${p.memdb.root.version}`
        );
      })
      .join('\n');
  }
}
