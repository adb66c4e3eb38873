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
import { DCDB_CPG_GROUP, DCDB_PROTOCOL_VERSION, DfsmMode } from '../dfsm/types.js';
import type { MemberId } from '../cluster/transport.js';
import type { SimTransport } from '../cluster/sim.js';
import { Rng } from '../util/rng.js';
import { DcdbMessageType, encodeFuseMessage, encodeUnlock } from '../wire/dcdb.js';
import { decodeDfsmMessage, DfsmMessageType, encodeNormalHeader, encodeStateHeader, encodeVerify, encodeVerifyRequest, type Epoch } from '../wire/dfsm.js';
import { DT_DIR, DT_REG } from '../wire/entry.js';
import { encodeIndex } from '../wire/memdb-index.js';
import { encodeUpdate } from '../wire/update.js';
import { SimCluster } from './cluster.js';

/** Messages per episode (rogue joins, sends, leaves; daemons restart). */
export const ROGUE_EPISODE = 5_000;
/** Messages sent between two runs of the network (and an idle-point check). */
const BURST = 25;
/** Real messages the rogue remembers for mutation. */
const SEEN_MAX = 64;
/** Oversized: beyond MEMDB_MAX_FILE_SIZE and beyond what a peer would send. */
const OVERSIZE = 1024 * 1024 + 41;
const U64_MAX = 2n ** 64n - 1n;
const PATHS = ['a', 'b', 'd', 'd/x', 'priv', 'priv/lock', 'priv/lock/l', 'nodes', 'a/b', '', '.', '..', 'x'.repeat(300)];

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

class Rogue {
  readonly rng: Rng;
  transport: SimTransport | null = null;
  readonly seen: Buffer[] = [];
  epoch: Epoch = { epoch: 0, time: 0, nodeid: 0, pid: 0 };
  count = 1n;
  /** A STATE to answer the current sync round with (null: none seen yet or already sent). */
  stateToSend: Buffer | null = null;

  constructor(
    readonly c: SimCluster,
    seed: number,
    readonly nodeid: number,
  ) {
    this.rng = new Rng(seed ^ 0x5eed);
  }

  join(pid: number): void {
    this.transport = this.c.net.connect(this.nodeid, pid, {
      deliver: (from: MemberId, msg: Buffer) => this.observe(from, msg),
      confchg: () => {},
      failure: () => {},
    });
    this.transport.join(DCDB_CPG_GROUP);
  }

  leave(): void {
    this.transport?.close();
    this.transport = null;
  }

  private observe(from: MemberId, msg: Buffer): void {
    if (from.nodeid === this.nodeid) return;
    const d = decodeDfsmMessage(msg);
    if (d.ok && d.value.kind === 'state' && d.value.base.type === DfsmMessageType.SYNC_START) {
      this.epoch = d.value.epoch;
      this.stateToSend = null;
    }
    // An honest STATE of this round: the rogue answers with a copy, so the round can
    // complete with the rogue as a member and its later messages reach SYNCED nodes.
    if (d.ok && d.value.kind === 'state' && d.value.base.type === DfsmMessageType.STATE && this.stateToSend === null) this.stateToSend = Buffer.from(msg);
    if (this.seen.length >= SEEN_MAX) this.seen.splice(this.rng.int(SEEN_MAX), 1);
    this.seen.push(Buffer.from(msg));
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.int(256);
    return b;
  }

  /** A u32 value chosen to hit boundaries. */
  u32(): number {
    return this.rng.pick([0, 1, 2, 31, 32, 40, 41, 255, 256, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, this.rng.int(0x1_0000_0000)]);
  }

  u64(): bigint {
    return this.rng.pick([0n, 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, U64_MAX, BigInt(this.rng.int(1000))]);
  }

  path(): string {
    return this.rng.pick(PATHS);
  }

  normal(subtype: number, payload: Buffer[], version = DCDB_PROTOCOL_VERSION): Buffer {
    return Buffer.concat([encodeNormalHeader(subtype, version, 0, this.count++), ...payload]);
  }

  state(type: number, payload: Buffer, epoch = this.rng.chance(0.7) ? this.epoch : { epoch: this.u32(), time: 0, nodeid: this.u32(), pid: this.u32() }): Buffer {
    return Buffer.concat([encodeStateHeader(type as DfsmMessageType, DCDB_PROTOCOL_VERSION, 0, epoch), payload]);
  }

  /** A well-formed NORMAL (fuse or unlock message) with hostile field values. */
  validNormal(): Buffer {
    const r = this.rng;
    if (r.chance(0.15)) return this.normal(DcdbMessageType.UNLOCK_REQUEST + r.int(2), encodeUnlock({ csum: this.bytes(32), path: this.path() }));
    const type = 1 + r.int(6);
    const data = r.chance(0.5) ? this.bytes(r.int(64)) : null;
    return this.normal(type, encodeFuseMessage({ offset: r.chance(0.2) ? this.u32() : r.int(64), flags: r.int(2), path: this.path(), to: type === DcdbMessageType.RENAME ? this.path() : null, data }));
  }

  /** A well-formed message of some type, with hostile field values. */
  valid(): Buffer {
    const r = this.rng;
    switch (r.int(6)) {
      case 0:
      case 1:
        return this.validNormal();
      case 2: {
        const n = r.int(4);
        const entries = Array.from({ length: n }, (_, i) => ({ inode: BigInt(i) * 7n + (i === n - 1 ? this.u64() % (2n ** 62n) : 0n), digest: this.bytes(32) }));
        const sorted = entries.sort((a, b) => (a.inode < b.inode ? -1 : 1)).filter((e, i, a) => i === 0 || e.inode !== a[i - 1]!.inode);
        return this.state(DfsmMessageType.STATE, encodeIndex({ version: this.u64(), writer: this.u32(), mtime: this.u32() }, sorted.map((e) => ({ inode: e.inode, digest: e.digest }))));
      }
      case 3: {
        const type = r.chance(0.5) ? DT_REG : DT_DIR;
        const data = type === DT_REG ? this.bytes(r.int(16)) : null;
        const name = this.path().replace(/\//g, r.chance(0.5) ? '/' : '_');
        return this.state(DfsmMessageType.UPDATE, encodeUpdate({ inode: this.u64(), parent: this.u64(), version: this.u64(), writer: this.u32(), mtime: this.u32(), size: data?.length ?? 0, type, name, data }));
      }
      case 4:
        return this.state(r.pick([DfsmMessageType.SYNC_START, DfsmMessageType.UPDATE_COMPLETE]), Buffer.alloc(0));
      case 5:
        return this.state(DfsmMessageType.VERIFY_REQUEST, encodeVerifyRequest(this.u64()));
      default:
        return this.state(DfsmMessageType.VERIFY, encodeVerify(this.u64(), this.bytes(32)));
    }
  }

  /** Bit flips, truncation, extension or a boundary u32 written somewhere; the protocol version is kept unless `late`. */
  mutate(src: Buffer, late: boolean): Buffer {
    const r = this.rng;
    let m = Buffer.from(src);
    const k = r.int(4);
    if (k === 0) for (let i = 1 + r.int(4); i > 0 && m.length > 0; i--) m[r.int(m.length)]! ^= 1 << r.int(8);
    else if (k === 1) m = m.subarray(0, r.int(m.length + 1));
    else if (k === 2) m = Buffer.concat([m, this.bytes(1 + r.int(32))]);
    else if (m.length >= 4) m.writeUInt32LE(this.u32(), 4 * r.int(Math.floor(m.length / 4)));
    if (!late && m.length >= 8) m.writeUInt32LE(DCDB_PROTOCOL_VERSION, 4);
    return m;
  }

  /**
   * The next hostile message; `late` allows what wedges a group (future versions,
   * unrestricted random bytes); `synced` favours NORMAL messages (what SYNCED nodes parse).
   */
  next(late: boolean, synced: boolean): Buffer {
    const r = this.rng;
    const roll = r.int(1000);
    if (roll < 2) return this.normal(DcdbMessageType.WRITE, encodeFuseMessage({ offset: 0, flags: 0, path: 'big', to: null, data: Buffer.alloc(OVERSIZE) }));
    if (roll < 4) return this.state(DfsmMessageType.UPDATE, Buffer.concat([encodeUpdate({ inode: 5, parent: 0, version: 5, writer: 1, mtime: 1, size: 0, type: DT_REG, name: 'o', data: null }), Buffer.alloc(OVERSIZE)]));
    if (late && roll < 8) return this.normal(DcdbMessageType.CREATE, encodeFuseMessage({ offset: 0, flags: 0, path: 'future', to: null, data: null }), 2 + r.int(0xfffffff0));
    if (late && roll < 12) return this.bytes(r.int(80));
    if (synced && roll < 800) {
      const m = this.validNormal();
      return r.chance(0.5) ? this.mutate(m, late) : m;
    }
    if (roll < 150) {
      const b = this.bytes(16 + r.int(64));
      b.writeUInt16LE(r.int(9), 0);
      b.writeUInt32LE(DCDB_PROTOCOL_VERSION, 4);
      return b;
    }
    if (roll < 500 && this.seen.length > 0) return this.mutate(r.pick(this.seen), late);
    if (roll < 750) return this.mutate(this.valid(), late);
    return this.valid();
  }

  /** Answer the current round's SYNC_START like a member (usually), before any hostile message. */
  answerSync(): void {
    if (this.stateToSend === null || this.rng.chance(0.2)) return;
    this.send(this.stateToSend);
    this.stateToSend = Buffer.alloc(0);
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
        if (this.rogue.stateToSend !== null && this.rogue.stateToSend.length > 0) this.rogue.answerSync();
        if (!synced && this.rng.chance(0.95)) continue;
        if (this.rogue.send(this.rogue.next(this.sent >= lateFrom, synced))) this.sent++;
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
