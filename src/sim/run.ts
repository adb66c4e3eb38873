/**
 * One seeded simulation schedule on the real stack (see cluster.ts) and its invariants.
 *
 * Profiles (chosen from the seed unless given):
 * - `calm`: no faults but clean stops and restarts (from the SQLite file, new pid) and
 *   late joins. Stops happen only at stable points (network idle, every running node
 *   SYNCED in one configuration with identical data), at least one node keeps running,
 *   and clients write only on SYNCED nodes. C guarantees everything here: no member may
 *   ever go to LEAVE, replicas never differ, and every acknowledged write survives.
 * - `faulty`: additionally crashes, transport failures, partitions and heals (quorum
 *   loss), forced quorum loss, and writes from members in any mode. C may leave
 *   (LEAVE) and may lose acknowledged writes here (version-based leader choice after a
 *   split, dfsm.md pitfalls 3–5), so the acknowledged-write check covers only the final
 *   segment, which runs after everything is healed and converged.
 *
 * Invariants, checked whenever the network is idle and at the end:
 * - all SYNCED members of one configuration have byte-identical index and checksum
 *   (unless a pitfall-3 hazard happened since the cluster last converged: then C's
 *   replicas may differ as well, and only the final convergence is required — the
 *   final phase uses VERIFY to make the odd ones restart, as C's hourly timer would);
 * - no file ever has a size without data (memdb.md pitfall 2: our clients send every
 *   truncate to N > 0 with its data, so racing truncates cannot produce one);
 * - no memdb error flag, never ERROR or VERSION_ERROR; LEAVE only after a fault;
 * - the status group (pve_kvstore_v1) runs beside dcdb with random SET_STATUS and cluster
 *   log entries (its own RNG stream, so the dcdb schedule is unchanged); at the end every
 *   node holds every running node's current keys, one identical (sorted) cluster log,
 *   and shows exactly the running nodes online;
 * - at the end: all nodes running, SYNCED, one configuration, identical data; a VERIFY
 *   round reports success on every member; every acknowledged change (result >= 0) of
 *   the checked ops is in the final state unless a later applied change touched that path.
 */
import { type NodeProcess, SimCluster, describeSnap, nodeName, snapEntry, snapEquals, type EntrySnap } from './cluster.js';
import { Rng } from '../util/rng.js';
import { DfsmMode } from '../dfsm/types.js';
import { DT_DIR } from '../wire/entry.js';
import type { DirEntry } from '../memdb/tree.js';
import { u64Compare } from '../wire/u64.js';
import { nowSeconds } from '../util/clock.js';

export type Profile = 'calm' | 'faulty';

export interface RunOptions {
  readonly seed: number;
  /** 2..7; default from the seed. */
  readonly nodes?: number;
  /** Schedule actions; default 60. */
  readonly steps?: number;
  /** Directory for the database files (reused between seeds). */
  readonly dir: string;
  readonly profile?: Profile;
  /** Print the schedule as it runs. */
  readonly verbose?: boolean;
  /** Append this many lines of the network trace to a failure report. */
  readonly traceTail?: number;
}

export interface RunStats {
  ops: number;
  acked: number;
  failedOps: number;
  ebusy: number;
  leaves: number;
  hazards: number;
  knownDivergences: number;
  unlocks: number;
  checkpoints: number;
  checkedPaths: number;
  faults: number;
  restarts: number;
  statusOps: number;
  logEntries: number;
  simSteps: number;
  applied: number;
  /** Set when the schedule ended early in a failure C has as well. */
}

export interface RunResult {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly profile: Profile;
  readonly ok: boolean;
  readonly failure?: string;
  readonly replay: string;
  readonly stats: RunStats;
}

export const DEFAULT_STEPS = 60;

export function defaultNodes(seed: number): number {
  return 2 + (Math.abs(seed) % 6);
}

export function replayCommand(seed: number, nodes: number, steps: number): string {
  return `npm run sim -- --seed ${seed} --nodes ${nodes} --steps ${steps}`;
}

class SimFailure extends Error {}
/** A schedule that ran into a failure C has as well; the seed ends early and counts as passed. */

interface Op {
  readonly proc: NodeProcess;
  readonly desc: string;
  readonly key: string | null;
  readonly checked: boolean;
  result?: number;
}

const NAMES = ['a', 'b', 'c', 'f', 'g'];
const LOCKS = ['priv/lock/L0', 'priv/lock/L1', 'priv/lock/L2'];
const EBUSY = 16;

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

class Runner {
  readonly c: SimCluster;
  readonly rng: Rng;
  readonly profile: Profile;
  readonly stats: RunStats = {
    ops: 0,
    acked: 0,
    failedOps: 0,
    ebusy: 0,
    leaves: 0,
    hazards: 0,
    knownDivergences: 0,
    unlocks: 0,
    checkpoints: 0,
    checkedPaths: 0,
    faults: 0,
    restarts: 0,
    statusOps: 0,
    logEntries: 0,
    simSteps: 0,
    applied: 0,
  };
  private firstFaultStep = Infinity;
  private hazardBase = 0;
  private finalSegment = false;
  private readonly acked = new Map<string, { stamp: number; snap: EntrySnap | null; desc: string }>();
  private readonly log: string[] = [];

  constructor(
    readonly o: RunOptions,
    readonly nodes: number,
    readonly steps: number,
  ) {
    this.rng = new Rng((o.seed ^ 0x5bd1e995) >>> 0);
    this.profile = o.profile ?? (this.rng.chance(0.35) ? 'calm' : 'faulty');
    this.c = new SimCluster({ seed: o.seed, nodes, dir: o.dir, verbose: o.verbose ?? false });
    this.statusRng = new Rng((o.seed ^ 0x2f6b5a13) >>> 0);
  }

  /** The status group's own random stream (keeps the dcdb schedule of a seed unchanged). */
  private readonly statusRng: Rng;

  /** A SET_STATUS (set or delete) or a cluster-log entry on a random running node. */
  statusOp(): void {
    const r = this.statusRng;
    const procs = this.c.running();
    if (procs.length === 0) return;
    const p = r.pick(procs);
    this.stats.statusOps++;
    if (r.chance(0.6)) {
      const key = Buffer.from(`kv/k${r.int(4)}`);
      const value = r.chance(0.15) ? Buffer.alloc(0) : Buffer.from(`v${r.int(1000)}\0`);
      this.note(`status ${p.name} set ${key.toString()} ${value.length}B`);
      p.status.setStatus(key, value);
    } else {
      const msg = Buffer.from(`entry ${r.int(1_000_000)} "q" ü\t${'x'.repeat(r.int(3) === 0 ? 3000 : 5)}`);
      this.note(`status ${p.name} log`);
      p.status.logClusterMessage({ priority: r.int(8), ident: Buffer.from('root@pam'), tag: Buffer.from('sim'), message: msg, pid: p.pid });
      this.stats.logEntries++;
    }
  }

  /** Every running node in one SYNCED status-group configuration of all running nodes. */
  kvConverged(): boolean {
    if (!this.idle()) return false;
    const run = this.c.running();
    const key = (p: NodeProcess) => p.kvDfsm.status().members.map((m) => `${m.nodeid}/${m.pid}`).join(',');
    const k0 = run.length > 0 ? key(run[0]!) : '';
    return run.every((p) => p.kvService.isInitialized && p.kvDfsm.mode === DfsmMode.SYNCED && key(p) === k0 && p.kvDfsm.status().members.length === run.length);
  }

  /** After the final convergence: keys everywhere, one cluster log, online = running. */
  checkStatus(): void {
    const run = this.c.running();
    for (const a of run) {
      for (const b of run) {
        if (a === b) continue;
        for (const [k, v] of b.status.localEntries()) {
          const got = a.status.getStatus(Buffer.from(k, 'latin1'), Buffer.from(nodeName(b.nodeid)));
          if (!(got instanceof Buffer) || !got.equals(v)) this.fail(`status key ${k} of ${b.name} on ${a.name}: ${got instanceof Buffer ? got.toString('latin1') : got} != ${v.toString('latin1')}`);
        }
      }
      const online = (a.status.clusterInfo()?.nodes ?? []).filter((n) => n.online).map((n) => n.nodeid).sort((x, y) => x - y);
      if (online.join(',') !== run.map((p) => p.nodeid).sort((x, y) => x - y).join(',')) this.fail(`${a.name} shows online [${online}]`);
    }
    const logs = run.map((p) => p.status.clusterlog.getState());
    for (let i = 1; i < logs.length; i++) if (!logs[i]!.equals(logs[0]!)) this.fail(`cluster logs of ${run[0]!.name} and ${run[i]!.name} differ`);
  }

  note(s: string): void {
    const line = `[${this.c.step}] ${s}`;
    if (this.o.verbose) console.log(line);
    this.log.push(line);
    if (this.log.length > 40) this.log.shift();
  }

  fail(msg: string): never {
    throw new SimFailure(msg);
  }

  recentLog(): string {
    return this.log.join('\n');
  }

  // ---- driving the network ------------------------------------------------------

  netSteps(k: number): void {
    for (let i = 0; i < k && this.c.net.step(); i++) this.stats.simSteps++;
  }

  idle(): boolean {
    return this.c.net.pending() === 0;
  }

  /** Run to idle, let virtual time pass in 1 s ticks until `pred` holds. */
  async until(pred: () => boolean, maxSec: number, onStall?: () => void): Promise<boolean> {
    for (let s = 0; s <= maxSec; s++) {
      this.stats.simSteps += this.c.net.runUntilIdle();
      await flush();
      if (pred()) return true;
      if (s % 20 === 19) onStall?.();
      this.c.clock.advance(1000, () => (this.stats.simSteps += this.c.net.runUntilIdle()));
    }
    return false;
  }

  // ---- clients ------------------------------------------------------------------

  private walk(memdb: NodeProcess['memdb']): { files: string[]; dirs: string[] } {
    const files: string[] = [];
    const dirs: string[] = [''];
    const rec = (e: DirEntry, prefix: string, depth: number) => {
      for (const child of e.children.values()) {
        const p = prefix === '' ? child.name : `${prefix}/${child.name}`;
        if (p === 'priv') continue;
        if (child.type === DT_DIR) {
          if (depth < 2) dirs.push(p);
          rec(child, p, depth + 1);
        } else files.push(p);
      }
    };
    rec(memdb.root, '', 0);
    return { files, dirs };
  }

  private randomPath(dirs: string[]): string {
    const d = this.rng.pick(dirs);
    const n = this.rng.pick(NAMES);
    return d === '' ? n : `${d}/${n}`;
  }

  private randomData(): Buffer {
    const len = this.rng.chance(0.05) ? 2000 + this.rng.int(40000) : 1 + this.rng.int(48);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = this.rng.int(256);
    return b;
  }

  clientCandidates(): NodeProcess[] {
    return this.c.running().filter(
      (p) => !p.busy && p.service.isInitialized && ((this.profile === 'faulty' && !this.finalSegment) || p.dfsm.mode === DfsmMode.SYNCED),
    );
  }

  /** A random client operation, in the order the schedule's random numbers pick it. */
  private randomOp(p: NodeProcess): { desc: string; promise: Promise<number> } {
    const fs = p.fs;
    const { files, dirs } = this.walk(p.memdb);
    const all = [...files, ...dirs.filter((d) => d !== '')];
    const existing = (pool: string[]) => (pool.length > 0 && this.rng.chance(0.8) ? this.rng.pick(pool) : this.randomPath(dirs));
    const now = nowSeconds(this.c.clock);
    let desc: string;
    let promise: Promise<number>;
    const r = this.rng.int(100);
    if (r < 14) {
      const path = existing(files.length > 0 && this.rng.chance(0.3) ? files : []);
      desc = `create ${path}`;
      promise = fs.create(path);
    } else if (r < 36) {
      const path = existing(files);
      const size = p.memdb.getattr(path)?.size ?? 0;
      const data = this.randomData();
      const offset = this.rng.int(size + 5);
      desc = `write ${path} @${offset} ${data.length}B`;
      promise = fs.write(path, data, offset);
    } else if (r < 46) {
      const path = existing(files);
      const size = p.memdb.getattr(path)?.size ?? 0;
      const len = this.rng.int(size + 9);
      desc = `truncate ${path} ${len}`;
      promise = fs.truncate(path, len);
    } else if (r < 58) {
      const path = this.randomPath(dirs);
      desc = `mkdir ${path}`;
      promise = fs.mkdir(path);
    } else if (r < 70) {
      const from = existing(all);
      const to = this.rng.chance(0.3) && all.length > 0 ? this.rng.pick(all) : this.randomPath(dirs);
      desc = `rename ${from} -> ${to}`;
      promise = fs.rename(from, to);
    } else if (r < 82) {
      const path = existing(all);
      desc = `remove ${path}`;
      promise = fs.remove(path);
    } else if (r < 90) {
      const path = existing(all);
      const mtime = now - 5000 + this.rng.int(10000);
      desc = `utimens ${path} ${mtime}`;
      promise = fs.utimens(path, mtime);
    } else if (r < 96) {
      const path = this.rng.pick(LOCKS);
      desc = `mkdir ${path} (lock)`;
      promise = fs.mkdir(path);
    } else {
      const path = this.rng.pick(LOCKS);
      const mtime = p.memdb.getattr(path)?.mtime ?? now;
      desc = `utimens ${path} ${mtime + this.rng.int(3)} (lock refresh)`;
      promise = fs.utimens(path, mtime + this.rng.int(3));
    }
    return { desc, promise };
  }

  /** Issue one random client operation on `p` (not awaited). */
  issueOp(p: NodeProcess, unlockPath?: string): void {
    const before = p.dfsm.status().msgcount;
    const { desc, promise } = unlockPath !== undefined ? { desc: `utimens ${unlockPath} 0 (unlock request)`, promise: p.fs.utimens(unlockPath, 0) } : this.randomOp(p);
    const after = p.dfsm.status().msgcount;
    const key = after > before ? `${p.nodeid}/${p.pid}/${after}` : null;
    const op: Op = { proc: p, desc: `${p.name} ${desc}`, key, checked: this.profile === 'calm' || this.finalSegment };
    this.stats.ops++;
    p.busy = true;
    this.note(`op ${op.desc}`);
    promise.then(
      (res) => this.settled(op, res),
      (err) => {
        op.result = -1;
        this.failLater = `client operation ${op.desc} threw: ${(err as Error).stack ?? String(err)}`;
      },
    );
  }

  failLater: string | null = null;

  private settled(op: Op, res: number): void {
    op.result = res;
    op.proc.busy = false;
    this.note(`done ${op.desc} = ${res}`);
    if (res === -EBUSY) this.stats.ebusy++;
    if (res < 0) {
      this.stats.failedOps++;
      return;
    }
    this.stats.acked++;
    if (op.key === null) return; // answered locally (e.g. rename onto itself), nothing sent
    const rec = this.c.recorder;
    const stamp = rec.firstApply.get(op.key);
    const snaps = rec.localSnaps.get(op.key);
    if (stamp === undefined || snaps === undefined) {
      this.failLater = `operation ${op.desc} acknowledged with ${res} but never applied by its sender`;
      return;
    }
    if (!op.checked) return;
    for (const [path, snap] of snaps) {
      const prev = this.acked.get(path);
      if (prev === undefined || prev.stamp < stamp) this.acked.set(path, { stamp, snap, desc: op.desc });
    }
  }

  // ---- faults ---------------------------------------------------------------------

  /** Stable: idle network, every running node initialized and SYNCED in one configuration with equal data. */
  stable(): boolean {
    if (!this.idle()) return false;
    const run = this.c.running();
    if (run.length === 0) return false;
    if (!run.every((p) => p.service.isInitialized && p.dfsm.mode === DfsmMode.SYNCED)) return false;
    const key = this.c.viewKey(run[0]!);
    if (!run.every((p) => this.c.viewKey(p) === key) || key.split(',').length !== run.length) return false;
    const idx = run[0]!.memdb.encodeIndex();
    return run.every((p) => p.memdb.encodeIndex().equals(idx));
  }

  fault(): void {
    const c = this.c;
    const down = c.nodeids.filter((n) => !c.isRunning(n));
    const up = c.running();
    const r = this.rng.int(100);
    if (down.length > 0 && (r < 35 || up.length === 0)) {
      const n = this.rng.pick(down);
      this.note(`restart node ${n}`);
      c.start(n);
      this.stats.restarts++;
      return;
    }
    if (this.profile === 'calm') {
      if (up.length > 1 && this.stable()) {
        const p = this.rng.pick(up);
        this.note(`stop ${p.name}`);
        c.stop(p.nodeid, false);
      }
      return;
    }
    this.stats.faults++;
    this.firstFaultStep = Math.min(this.firstFaultStep, c.step);
    if (r < 50 && up.length > 0) {
      const p = this.rng.pick(up);
      this.note(`crash ${p.name}`);
      c.stop(p.nodeid, true);
    } else if (r < 58 && up.length > 0) {
      const p = this.rng.pick(up);
      this.note(`clean stop ${p.name}`);
      c.stop(p.nodeid, false);
    } else if (r < 63 && up.length > 0) {
      const p = this.rng.pick(up);
      if (p.transport !== null && p.transport.alive) {
        this.note(`transport failure ${p.name}`);
        c.net.fail(p.transport);
      }
    } else if (r < 80) {
      const ids = [...c.nodeids];
      const k = this.rng.chance(0.2) ? 3 : 2;
      const parts: number[][] = Array.from({ length: k }, () => []);
      for (const n of ids) parts[this.rng.int(k)]!.push(n);
      this.note(`partition ${JSON.stringify(parts)}`);
      c.net.partition(parts.filter((x) => x.length > 0));
    } else if (r < 93) {
      this.note('heal');
      c.net.heal();
      for (const n of c.nodeids) c.net.setQuorate(n, undefined);
    } else {
      const n = this.rng.pick(c.nodeids);
      const q = this.rng.chance(0.5) ? false : undefined;
      this.note(`quorum of node ${n} forced to ${String(q)}`);
      c.net.setQuorate(n, q);
    }
  }

  // ---- invariants -------------------------------------------------------------------

  checkpoint(): void {
    this.stats.checkpoints++;
    if (this.failLater !== null) this.fail(this.failLater);
    if (this.c.recorder.dataless > 0) this.fail(`a file got a size without data (memdb.md pitfall 2)`);
    if (this.c.recorder.treeBroken !== null) this.fail(this.c.recorder.treeBroken);
    for (const ev of this.c.modeEvents) {
      if (ev.to !== 'LEAVE') this.fail(`${ev.proc} entered ${ev.to} at step ${ev.step}`);
      if (this.profile === 'calm') this.fail(`${ev.proc} left the group (LEAVE) at step ${ev.step} in a fault-free schedule`);
      if (ev.step < this.firstFaultStep) this.fail(`${ev.proc} left the group (LEAVE) at step ${ev.step} before any fault`);
    }
    const run = this.c.running();
    for (const p of run) {
      if (p.memdb.errors) this.fail(`memdb errors flag set on ${p.name}`);
    }
    const groups = new Map<string, NodeProcess[]>();
    for (const p of run) {
      if (!p.service.isInitialized || p.dfsm.mode !== DfsmMode.SYNCED) continue;
      const k = this.c.viewKey(p);
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    for (const [view, members] of groups) {
      const first = members[0]!;
      const idx = first.memdb.encodeIndex();
      const sum = first.memdb.checksum();
      for (const p of members.slice(1)) {
        const same = p.memdb.encodeIndex().equals(idx) && p.memdb.checksum().equals(sum);
        if (same) continue;
        if (this.c.recorder.hazards > this.hazardBase) {
          this.stats.knownDivergences++;
          this.note(`replicas ${first.name} and ${p.name} differ after a pitfall-3 hazard (C behaves the same)`);
          continue;
        }
        this.fail(`SYNCED members of [${view}] differ: ${first.name} and ${p.name}: ${this.diff(first, p)}`);
      }
    }
    if (run.length === this.nodes && this.stable()) this.hazardBase = this.c.recorder.hazards;
  }

  diff(a: NodeProcess, b: NodeProcess): string {
    const inodes = new Set([...a.memdb.index.keys(), ...b.memdb.index.keys()]);
    for (const i of [...inodes].sort(u64Compare)) {
      const x = snapEntry(a.memdb.index.get(i) ?? null);
      const y = snapEntry(b.memdb.index.get(i) ?? null);
      if (!snapEquals(x, y)) return `inode ${i}: ${describeSnap(x)} vs ${describeSnap(y)}`;
    }
    return `root v${a.memdb.root.version}/${a.memdb.root.mtime} vs v${b.memdb.root.version}/${b.memdb.root.mtime}`;
  }

  converged(): boolean {
    return this.c.running().length === this.nodes && this.stable();
  }

  /** Everything back: heal, restore quorum, restart every node, and wait for one identical configuration. */
  async recover(): Promise<void> {
    const c = this.c;
    c.net.heal();
    for (const n of c.nodeids) c.net.setQuorate(n, undefined);
    for (const n of c.nodeids) if (!c.isRunning(n)) c.start(n);
    const ok = await this.until(
      () => this.converged(),
      400,
      () => {
        // Differing replicas after a hazard: what C's hourly verification does.
        const lowest = c.running().find((p) => p.dfsm.isLowestNodeid() && p.dfsm.mode === DfsmMode.SYNCED);
        if (lowest) {
          this.note(`verify request from ${lowest.name}`);
          lowest.dfsm.verifyRequest();
        }
      },
    );
    if (!ok) this.fail(`no convergence after recovery:\n${c.describe()}`);
  }

  checkAcked(): void {
    const rec = this.c.recorder;
    const ref = this.c.running()[0]!;
    for (const [path, a] of this.acked) {
      if (rec.changedAfter(path, a.stamp)) continue;
      this.stats.checkedPaths++;
      const actual = snapEntry(ref.memdb.getattr(path));
      if (!snapEquals(actual, a.snap)) {
        this.fail(`acknowledged change lost: ${a.desc}: ${path} should be ${describeSnap(a.snap)}, is ${describeSnap(actual)}`);
      }
    }
  }

  // ---- the schedule -------------------------------------------------------------------

  async run(): Promise<void> {
    const c = this.c;
    c.start(1);
    for (const n of c.nodeids.slice(1)) if (this.profile === 'faulty' || this.rng.chance(0.75)) c.start(n);
    if (!(await this.until(() => this.stable(), 60))) this.fail(`initial start did not converge: ${c.modes()}`);
    for (const path of ['priv', 'priv/lock']) {
      const p = c.procs.get(1)!;
      let r: number | undefined;
      void p.fs.mkdir(path).then((x) => (r = x));
      await this.until(() => r !== undefined && this.stable(), 30);
      if (r !== 0) this.fail(`setup mkdir ${path} failed: ${r}`);
    }

    for (let step = 0; step < this.steps; step++) {
      c.step = step;
      const r = this.rng.int(100);
      const clients = this.clientCandidates();
      if (r < 45 && clients.length > 0) {
        this.issueOp(this.rng.pick(clients));
      } else if (r < 75) {
        this.netSteps(1 + this.rng.int(30));
      } else if (r < 87) {
        const ms = this.rng.int(2500);
        this.note(`advance ${ms} ms`);
        c.clock.advance(ms);
      } else if (r < 90) {
        this.lockCycle(clients);
      } else {
        this.fault();
      }
      if (this.statusRng.chance(0.3)) this.statusOp();
      await flush();
      if (this.idle()) this.checkpoint();
    }

    // Final: recover, converge, then a checked fault-free segment.
    this.c.step = this.steps;
    this.note('recover');
    await this.recover();
    this.checkpoint();
    this.finalSegment = true;
    if (this.profile === 'faulty') this.acked.clear();
    const hazardsBefore = c.recorder.hazards;
    const finalOps = 2 * this.nodes + 4;
    for (let i = 0; i < finalOps; i++) {
      const clients = this.clientCandidates();
      if (clients.length > 0) this.issueOp(this.rng.pick(clients));
      this.netSteps(this.rng.int(20));
      await flush();
      if (this.idle()) this.checkpoint();
    }
    if (!(await this.until(() => this.converged() && c.running().every((p) => !p.busy), 60))) {
      this.fail(`no convergence after the final segment:\n${c.describe()}`);
    }
    if (!(await this.until(() => this.kvConverged(), 60))) this.fail(`status group did not converge: ${c.running().map((p) => `${p.name}:${p.kvDfsm.status().modeName}`).join(' ')}`);
    this.checkStatus();
    this.checkpoint();
    if (this.profile === 'faulty' && c.recorder.hazards !== hazardsBefore) this.fail('pitfall-3 hazard in the fault-free final segment');
    if (this.profile === 'calm' && c.recorder.hazards > 0) this.fail('pitfall-3 hazard in a calm schedule');
    this.checkAcked();
    this.finalVerify();
  }

  /** Advance past the lock timeout, then ask for an unlock of an existing lock. */
  lockCycle(clients: NodeProcess[]): void {
    const c = this.c;
    const ms = 121_000 + this.rng.int(10_000);
    this.note(`advance ${ms} ms (lock timeout)`);
    c.clock.advance(ms, () => (this.stats.simSteps += c.net.runUntilIdle()));
    const p = clients.find((x) => !x.busy && x.alive);
    if (!p) return;
    const locks = LOCKS.filter((l) => p.memdb.getattr(l)?.type === DT_DIR);
    if (locks.length === 0) return;
    this.issueOp(p, this.rng.pick(locks));
  }

  /** A VERIFY round on the converged cluster must succeed everywhere. */
  finalVerify(): void {
    const c = this.c;
    const lowest = c.running().find((p) => p.dfsm.isLowestNodeid());
    if (!lowest) this.fail('no lowest member after convergence');
    const t = nowSeconds(c.clock);
    lowest.dfsm.verifyRequest();
    c.net.runUntilIdle();
    for (const p of c.running()) {
      const v = p.dfsm.status().lastVerify;
      if (this.nodes > 1 && (v === null || v.result !== 'ok' || v.time < t)) this.fail(`verification on ${p.name}: ${JSON.stringify(v)}`);
      if (p.dfsm.mode !== DfsmMode.SYNCED) this.fail(`${p.name} not SYNCED after verification`);
    }
  }

  finish(): void {
    const rec = this.c.recorder;
    this.stats.leaves = this.c.modeEvents.filter((e) => e.to === 'LEAVE').length;
    this.stats.hazards = rec.hazards;
    this.stats.unlocks = rec.unlocksApplied;
    this.stats.applied = rec.applied;
    try {
      this.c.stopAll();
    } catch {
      // already failing
    }
  }
}

/** Run one seed; never throws for a failing schedule (the result says so). */
export async function runSeed(o: RunOptions): Promise<RunResult> {
  const nodes = o.nodes ?? defaultNodes(o.seed);
  const steps = o.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new RangeError(`nodes must be 1..64, got ${nodes}`);
  const runner = new Runner(o, nodes, steps);
  const base = { seed: o.seed, nodes, steps, profile: runner.profile, replay: replayCommand(o.seed, nodes, steps) };
  try {
    await runner.run();
    runner.finish();
    return { ...base, ok: true, stats: runner.stats };
  } catch (err) {
    runner.finish();
    const what = err instanceof SimFailure ? err.message : `exception: ${(err as Error).stack ?? String(err)}`;
    const trace = o.traceTail ? `\n--- network trace ---\n${runner.c.net.trace.slice(-o.traceTail).join('\n')}` : '';
    return { ...base, ok: false, failure: `${what}\n--- last events ---\n${runner.recentLog()}${trace}`, stats: runner.stats };
  }
}

