/**
 * The daemon's metrics (Prometheus text format, prom-client registry). All metric
 * names live here; the rest of the daemon calls this small typed API:
 *
 *   metrics.dfsm(group)           per DFSM group: .sent/.received/.message, .mode, .confchg, .verify
 *   metrics.fuse                  FuseMeter (wrapped around the addon by meterFuse)
 *   metrics.ipcRequest(op, res, s)  one IPC request (res 0 or −errno; s seconds or −1)
 *   metrics.ipcClients(delta)     IPC connections opened (+1) / closed (−1)
 *   metrics.sqliteCommit(s)       one BEGIN..COMMIT of a database change
 *   metrics.node(fn)              scrape-time source of DB and quorum gauges
 *
 * Hot calls add into preallocated arrays (table.ts); gauges are read from status
 * snapshots when scraped. `setEnabled(false)` (daemon --no-metrics) turns every hot
 * call into a return, for the bench's with/without comparison.
 */
import { statSync } from 'node:fs';
import type { Gauge, Registry } from 'prom-client';
import { type DfsmFamilies, DfsmGroupMetrics, type DfsmSnapshot, MODE_NAMES } from './dfsm.js';

export type { DfsmGroupMetrics } from './dfsm.js';
import { FUSE_OPS, FuseMeter, IPC_OPS, OpErrnoRows, opNames, REQUEST_BUCKETS } from './requests.js';
import { CounterTable, HistogramTable, type TableMetric } from './table.js';

type PromClient = typeof import('prom-client');

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE (the registry exists only after the first scrape). */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** CPG group name → label (C: pve_dcdb_v1 = dcdb.c, pve_kvstore_v1 = status.c). */
export function groupLabel(cpgGroup: string): string {
  if (cpgGroup === 'pve_dcdb_v1' || cpgGroup === 'dcdb') return 'dcdb';
  if (cpgGroup === 'pve_kvstore_v1' || cpgGroup === 'status') return 'status';
  return cpgGroup;
}

/** What the daemon knows about its node, read at scrape time. */
export interface NodeSnapshot {
  readonly dbFile: string;
  readonly inodes: number;
  readonly version: number;
  readonly quorate: boolean;
}

const ROUND_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const COMMIT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];

export class Metrics {
  /** The tables in registration order; prom-client's registry takes them at the first scrape. */
  private readonly families: TableMetric[] = [];
  private registry: Promise<Registry> | null = null;
  private enabled = true;
  private readonly on = (): boolean => this.enabled;
  private readonly groups = new Map<string, DfsmGroupMetrics>();
  private readonly dfsmF: DfsmFamilies;
  private readonly ipc: OpErrnoRows;
  private readonly commitSeconds: HistogramTable;
  private readonly commitRow: number;
  private readonly ipcConnections: CounterTable;
  private readonly ipcRows: { opened: number; closed: number };
  private nodeSource: (() => NodeSnapshot) | null = null;
  readonly fuse: FuseMeter;

  constructor() {
    const r = this.families;
    this.dfsmF = {
      messages: new CounterTable(r, 'pmxcfs_dfsm_messages_total', 'DFSM messages by direction and message type', ['group', 'direction', 'type']),
      bytes: new CounterTable(r, 'pmxcfs_dfsm_message_bytes_total', 'DFSM message bytes (headers included) by direction and type', ['group', 'direction', 'type']),
      rounds: new CounterTable(r, 'pmxcfs_dfsm_sync_rounds_total', 'sync rounds ended: ok (SYNCED), failed (error mode), interrupted (new membership)', ['group', 'result']),
      roundSeconds: new HistogramTable(r, 'pmxcfs_dfsm_sync_duration_seconds', 'sync round from START_SYNC to SYNCED', ['group'], ROUND_BUCKETS),
      leaves: new CounterTable(r, 'pmxcfs_dfsm_leaves_total', 'entries into LEAVE by what the group was handling (membership or a message type)', ['group', 'reason']),
      modeChanges: new CounterTable(r, 'pmxcfs_dfsm_mode_changes_total', 'mode changes by target mode', ['group', 'mode']),
      verifies: new CounterTable(r, 'pmxcfs_dfsm_verify_total', 'verify rounds on this node by result', ['group', 'result']),
    };
    const fuseSeconds = new HistogramTable(r, 'pmxcfs_fuse_request_duration_seconds', 'FUSE request to reply by operation', ['op'], REQUEST_BUCKETS);
    const fuseCount = new CounterTable(r, 'pmxcfs_fuse_requests_total', 'FUSE requests by operation and errno of the reply (OK: success)', ['op', 'errno']);
    this.fuse = new FuseMeter(new OpErrnoRows(fuseCount, fuseSeconds, FUSE_OPS), this.on);
    const ipcCount = new CounterTable(r, 'pmxcfs_ipc_requests_total', 'IPC requests by operation and errno (OK: success)', ['op', 'errno']);
    const ipcSeconds = new HistogramTable(r, 'pmxcfs_ipc_request_duration_seconds', 'IPC request to response by operation', ['op'], REQUEST_BUCKETS);
    this.ipc = new OpErrnoRows(ipcCount, ipcSeconds, opNames(IPC_OPS));
    this.ipcConnections = new CounterTable(r, 'pmxcfs_ipc_connections_total', 'IPC client connections opened and closed', ['event']);
    this.ipcRows = { opened: this.ipcConnections.row('opened'), closed: this.ipcConnections.row('closed') };
    this.commitSeconds = new HistogramTable(r, 'pmxcfs_sqlite_commit_duration_seconds', 'one database change from BEGIN to COMMIT', [], COMMIT_BUCKETS);
    this.commitRow = this.commitSeconds.row();
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  /** The metrics of a DFSM group by CPG group name or label. */
  dfsm(group: string): DfsmGroupMetrics {
    const label = groupLabel(group);
    let g = this.groups.get(label);
    if (g === undefined) {
      g = new DfsmGroupMetrics(label, this.dfsmF, this.on);
      this.groups.set(label, g);
    }
    return g;
  }

  ipcRequest(op: number, result: number, seconds = -1): void {
    if (this.enabled) this.ipc.count(op, result, seconds);
  }

  /** Counted even while recording is off, so the connected-clients gauge stays right. */
  ipcClients(delta: 1 | -1): void {
    this.ipcConnections.add(delta > 0 ? this.ipcRows.opened : this.ipcRows.closed);
  }

  sqliteCommit(seconds: number): void {
    if (this.enabled) this.commitSeconds.record(this.commitRow, seconds);
  }

  node(source: () => NodeSnapshot): void {
    this.nodeSource = source;
  }

  /** The exposition text (Prometheus 0.0.4). prom-client and its process metrics start with the first scrape. */
  async text(): Promise<string> {
    this.registry ??= import('prom-client').then((pc) => this.makeRegistry(pc));
    return (await this.registry).metrics();
  }

  get contentType(): string {
    return CONTENT_TYPE;
  }

  /** The tables, then the gauges, then prom-client's default process metrics. */
  private makeRegistry(pc: PromClient): Registry {
    const r = new pc.Registry();
    // registerMetric reads only name, type and get() (lib/registry.js); its type asks for a whole Metric.
    for (const t of this.families) r.registerMetric(t as unknown as Parameters<Registry['registerMetric']>[0]);
    this.gauges(r, pc.Gauge);
    this.nodeGauges(r, pc.Gauge);
    pc.collectDefaultMetrics({ register: r });
    return r;
  }

  private gauges(r: Registry, GaugeClass: PromClient['Gauge']): void {
    const snapshots = (): [string, DfsmSnapshot][] => {
      const out: [string, DfsmSnapshot][] = [];
      for (const [label, g] of this.groups) {
        const s = g.snapshot?.() ?? null;
        if (s !== null) out.push([label, s]);
      }
      return out;
    };
    const perGroup = (name: string, help: string, labelNames: string[], set: (g: Gauge<string>, group: string, s: DfsmSnapshot) => void): void => {
      new GaugeClass({
        name, help, labelNames, registers: [r],
        collect() {
          this.reset();
          for (const [group, s] of snapshots()) set(this, group, s);
        },
      });
    };
    perGroup('pmxcfs_dfsm_mode', 'current DFSM mode (1 for the mode the group is in)', ['group', 'mode'], (g, group, s) => {
      for (const [n, mode] of MODE_NAMES) g.set({ group, mode }, s.mode === n ? 1 : 0);
    });
    perGroup('pmxcfs_dfsm_epoch', 'sync epoch counter', ['group'], (g, group, s) => g.set({ group }, s.epoch.epoch));
    perGroup('pmxcfs_dfsm_members', 'members of the CPG group', ['group'], (g, group, s) => g.set({ group }, s.members.length));
    perGroup('pmxcfs_dfsm_members_synced', 'members known to be synced', ['group'], (g, group, s) => g.set({ group }, s.members.filter((m) => m.synced).length));
    perGroup('pmxcfs_dfsm_queue_messages', 'messages queued (msg: until synced, sync: during UPDATE)', ['group', 'queue'], (g, group, s) => {
      g.set({ group, queue: 'msg' }, s.msgQueue);
      g.set({ group, queue: 'sync' }, s.syncQueue);
    });
    perGroup('pmxcfs_dfsm_waiting_writers', 'local writers waiting for their message to come back', ['group'], (g, group, s) => g.set({ group }, s.waitingWriters));
    perGroup('pmxcfs_dfsm_last_verify_timestamp_seconds', 'time of the last verify result', ['group', 'result'], (g, group, s) => {
      if (s.lastVerify !== null) g.set({ group, result: s.lastVerify.result }, s.lastVerify.time);
    });
  }

  private nodeGauges(r: Registry, GaugeClass: PromClient['Gauge']): void {
    const node = (): NodeSnapshot | null => this.nodeSource?.() ?? null;
    const gauge = (name: string, help: string, value: (n: NodeSnapshot) => number | null): void => {
      new GaugeClass({
        name, help, registers: [r],
        collect() {
          this.reset();
          const n = node();
          const v = n === null ? null : value(n);
          if (v !== null) this.set(v);
        },
      });
    };
    gauge('pmxcfs_db_inodes', 'entries of the tree (root included)', (n) => n.inodes);
    gauge('pmxcfs_db_version', 'database version (root version)', (n) => n.version);
    gauge('pmxcfs_db_file_bytes', 'size of config.db plus its WAL', (n) => fileBytes(n.dbFile) + fileBytes(`${n.dbFile}-wal`));
    gauge('pmxcfs_quorate', '1 when the node is quorate', (n) => (n.quorate ? 1 : 0));
    const c = this.ipcConnections;
    const rows = this.ipcRows;
    new GaugeClass({
      name: 'pmxcfs_ipc_clients', help: 'IPC clients connected now', registers: [r],
      collect() {
        this.set(c.value(rows.opened) - c.value(rows.closed));
      },
    });
  }
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The process's metrics (one daemon per process). */
export const metrics = new Metrics();
