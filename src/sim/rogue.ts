/**
 * A rogue CPG member in the simulation (issue 16): a process that joins pve_dcdb_v1
 * beside honest nodes and sends random bytes, valid headers with garbage, mutations of
 * the messages it sees, oversized messages, STATEs with huge versions and, late in an
 * episode, future protocol versions. Honest clients keep writing meanwhile.
 *
 * Invariants:
 * - no exception escapes a delivery, timer or client call;
 * - replicas never diverge silently: members SYNCED in one configuration have equal
 *   indexes at every idle point;
 * - after the rogue leaves, restarting the daemons brings the cluster back: every node
 *   SYNCED with identical index and no database error.
 */
import { DCDB_CPG_GROUP, DfsmMode } from '../dfsm/types.js';
import type { MemberId } from '../cluster/transport.js';
import type { SimTransport } from '../cluster/sim.js';
import { Rng } from '../util/rng.js';
import { SimCluster } from './cluster.js';
import { HostileMessages } from './hostile.js';

/** Messages per episode (rogue joins, sends, leaves; daemons restart). */
export const ROGUE_EPISODE = 5_000;
/** Messages sent between two runs of the network (and an idle-point check). */
const BURST = 25;

export interface RogueOptions {
  readonly seed: number;
  readonly messages: number;
  readonly dir: string;
  readonly nodes?: number;
}

export interface RogueResult {
  readonly ok: boolean;
  readonly failure?: string;
  readonly sent: number;
  readonly episodes: number;
  /** NORMAL messages the honest nodes' dcdb handled (rogue and honest). */
  readonly delivered: number;
  /** Episodes in which some node went to VERSION_ERROR (expected after a future protocol version). */
  readonly versionErrors: number;
  readonly syncedBursts: number;
}

class RogueFailure extends Error {}

/** The rogue process: a CPG member of the simulated network driven by HostileMessages. */
class Rogue {
  readonly gen: HostileMessages;
  transport: SimTransport | null = null;

  constructor(
    readonly c: SimCluster,
    seed: number,
    readonly nodeid: number,
  ) {
    this.gen = new HostileMessages(seed);
  }

  join(pid: number): void {
    this.transport = this.c.net.connect(this.nodeid, pid, {
      deliver: (from: MemberId, msg: Buffer) => {
        if (from.nodeid !== this.nodeid) this.gen.observe(msg);
      },
      confchg: () => {},
      failure: () => {},
    });
    this.transport.join(DCDB_CPG_GROUP);
  }

  leave(): void {
    this.transport?.close();
    this.transport = null;
  }

  send(msg: Buffer): boolean {
    return this.transport !== null && this.transport.send([msg]) === 1;
  }
}

class RogueRun {
  readonly c: SimCluster;
  readonly rogue: Rogue;
  readonly nodes: number[];
  readonly rng: Rng;
  sent = 0;
  delivered = 0;
  episodes = 0;
  versionErrors = 0;
  /** Bursts after which every honest node was SYNCED (the rogue's messages reached a working group). */
  syncedBursts = 0;
  private pid = 50_000;
  private asyncFailure: string | null = null;

  constructor(readonly o: RogueOptions) {
    const n = o.nodes ?? 3;
    this.c = new SimCluster({ seed: o.seed, nodes: n, dir: o.dir });
    this.nodes = this.c.nodeids;
    this.rng = new Rng(o.seed);
    this.rogue = new Rogue(this.c, o.seed, 100);
  }

  settle(rounds = 30): void {
    for (let i = 0; i < rounds; i++) this.c.clock.advance(1000, () => this.c.net.runUntilIdle());
  }

  fail(msg: string): never {
    throw new RogueFailure(`${msg} (after ${this.sent} rogue messages, episode ${this.episodes})`);
  }

  /** Members SYNCED in the same configuration must hold the same data. */
  checkNoSilentDivergence(): void {
    const synced = this.c.running().filter((p) => p.dfsm.mode === DfsmMode.SYNCED);
    const byView = new Map<string, Buffer>();
    for (const p of synced) {
      const view = p.dfsm.status().members.map((m) => `${m.nodeid}/${m.pid}`).sort().join(',');
      const idx = p.memdb.encodeIndex();
      const other = byView.get(view);
      if (other === undefined) byView.set(view, idx);
      else if (!other.equals(idx)) this.fail(`SYNCED members of one configuration differ (${p.name}, view ${view})`);
    }
  }

  /** An honest client write on a random SYNCED node (its result is not awaited: a wedged group may never answer). */
  honestWrite(): void {
    const p = this.c.running().filter((x) => x.dfsm.mode === DfsmMode.SYNCED);
    if (p.length === 0) return;
    const node = this.rng.pick(p);
    void node.fs.write(`h${this.rng.int(8)}`, Buffer.from(`w${this.sent}`), 0).catch((err: unknown) => (this.asyncFailure ??= `client write threw: ${String(err)}`));
  }

  /**
   * The rogue joins, sends `messages`, leaves; then every daemon restarts. While a sync
   * round runs it is mostly quiet (a hostile message during a round makes every member
   * leave, as in C, and a constant stream would keep the group from ever syncing), so
   * most messages reach SYNCED nodes and their NORMAL handlers.
   */
  episode(messages: number): void {
    this.episodes++;
    this.rogue.join(this.pid++);
    this.settle(3);
    const goal = this.sent + messages;
    const lateFrom = this.sent + messages * 0.95;
    while (this.sent < goal) {
      const synced = this.c.running().every((p) => p.dfsm.mode === DfsmMode.SYNCED);
      if (synced) this.syncedBursts++;
      for (let j = 0; j < BURST && this.sent < goal; j++) {
        const answer = this.rogue.gen.answerSync();
        if (answer !== null) this.rogue.send(answer);
        if (!synced && this.rng.chance(0.95)) continue;
        if (this.rogue.send(this.rogue.gen.next(this.sent >= lateFrom, synced))) this.sent++;
        if (this.rng.chance(0.02)) this.honestWrite();
      }
      this.c.clock.advance(100 + this.rng.int(2000), () => this.c.net.runUntilIdle());
      if (this.asyncFailure !== null) this.fail(this.asyncFailure);
      this.checkNoSilentDivergence();
    }
    if (this.c.running().some((p) => p.dfsm.mode === DfsmMode.VERSION_ERROR)) this.versionErrors++;
    this.rogue.leave();
    this.settle();
    this.restartAll();
  }

  /** After the rogue left, a daemon restart on every node brings the cluster back. */
  restartAll(): void {
    for (const n of this.nodes) this.c.stop(n, false);
    for (const n of this.nodes) this.c.start(n);
    this.settle();
    const procs = this.c.running();
    const bad = procs.filter((p) => p.dfsm.mode !== DfsmMode.SYNCED || p.memdb.errors);
    if (bad.length > 0) this.fail(`after the rogue left and a restart: ${bad.map((p) => `${p.name} ${p.dfsm.mode}${p.memdb.errors ? ' (db errors)' : ''}`).join(', ')}`);
    const idx = procs[0]!.memdb.encodeIndex();
    for (const p of procs) if (!p.memdb.encodeIndex().equals(idx)) this.fail(`after the restart ${p.name} differs from ${procs[0]!.name}`);
  }

  run(): void {
    for (const n of this.nodes) this.c.start(n);
    this.settle();
    const before = this.c.recorder.applied;
    for (let left = this.o.messages; left > 0; left -= ROGUE_EPISODE) this.episode(Math.min(ROGUE_EPISODE, left));
    this.delivered = this.c.recorder.applied - before;
  }

  close(): void {
    this.rogue.leave();
    for (const n of this.nodes) this.c.stop(n, false);
  }
}

/** One seeded rogue run; never throws (a failure is in the result). */
export function runRogue(o: RogueOptions): RogueResult {
  const run = new RogueRun(o);
  const stats = (): Omit<RogueResult, 'ok'> => ({ sent: run.sent, episodes: run.episodes, delivered: run.delivered, versionErrors: run.versionErrors, syncedBursts: run.syncedBursts });
  try {
    run.run();
    return { ok: true, ...stats() };
  } catch (err) {
    const failure = err instanceof RogueFailure ? err.message : `exception escaped: ${(err as Error).stack ?? String(err)}`;
    return { ok: false, failure, ...stats() };
  } finally {
    run.close();
  }
}
