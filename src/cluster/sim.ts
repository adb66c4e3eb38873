/**
 * A deterministic in-memory CPG for simulation tests.
 *
 * | here                        | corosync CPG                                          |
 * |-----------------------------|-------------------------------------------------------|
 * | SimNetwork.connect          | cpg_initialize + cpg_local_get (one process)          |
 * | SimTransport.join / leave   | cpg_join / cpg_leave                                  |
 * | SimTransport.send           | cpg_mcast_joined(CPG_TYPE_AGREED)                     |
 * | SimTransport.close          | cpg_finalize (members see the process go, PROCDOWN)   |
 * | SimNetwork.crash            | process killed (PROCDOWN)                             |
 * | SimNetwork.partition / heal | totem ring split / merge (NODEDOWN / NODEUP)          |
 * | SimNetwork.fail             | corosync gone for that process (dispatch CS_ERR_LIBRARY) |
 * | SimNetwork.isQuorate        | votequorum: more than half of the configured nodes    |
 *
 * Model. Every process has an outbox (sent, not yet ordered; FIFO per sender) and an
 * inbox (ordered, not yet handed to its handlers). Ordering a message appends it to
 * the inboxes of all members of the sender's current configuration, the sender
 * included, in one step; so all members of a configuration see the same messages in
 * the same order, and a configuration change is appended the same way, so they also
 * see the same sequence of confchgs and the same messages between them (virtual
 * synchrony as CPG provides it). `step()` performs one action chosen by the seeded
 * RNG: order the head of some outbox, or hand the head of some inbox to its process.
 * Before a membership change the RNG orders a random number of in-flight messages
 * first; the rest are ordered in the new configuration (a crashed sender's rest is
 * dropped; a leaving sender's rest is ordered before its leave, as CPG's per-sender
 * FIFO demands).
 */
import { Rng } from '../util/rng.js';
import {
  type ConfChange,
  type CpgMember,
  CpgReason,
  CsError,
  type MemberId,
  type Transport,
  type TransportHandlers,
} from './transport.js';

/** cs_error_t values used only by the simulation. */
export const SimCsError = { EXIST: 14, NOT_EXIST: CsError.NOT_EXIST } as const;

/** Guard against livelock in tests: runUntilIdle gives up after this many steps. */
export const SIM_MAX_STEPS = 1_000_000;
/** Largest message the sim accepts (corosync's own limit is about 1 MiB + headers). */
export const SIM_MAX_MESSAGE = 16 * 1024 * 1024;
/** Bound on the trace kept for determinism checks. */
export const SIM_MAX_TRACE = 200_000;

type SimEvent =
  | { readonly kind: 'deliver'; readonly from: MemberId; readonly msg: Buffer }
  | { readonly kind: 'confchg'; readonly change: ConfChange }
  | { readonly kind: 'failure'; readonly code: number };

class SimProcess {
  alive = true;
  group: string | null = null;
  view: SimProcess[] = [];
  readonly inbox: SimEvent[] = [];
  readonly outbox: Buffer[] = [];
  sendFailures: { code: number; remaining: number } | null = null;
  constructor(
    readonly nodeid: number,
    readonly pid: number,
    readonly handlers: TransportHandlers,
    readonly channel: string,
  ) {}
  get name(): string {
    return `${this.nodeid}/${this.pid}`;
  }
}

export interface SimNetworkOptions {
  readonly seed: number;
  /** The configured cluster nodes (corosync nodelist), for quorum. */
  readonly nodes?: readonly number[];
  /** Probability that a membership change lets in-flight messages be ordered first. */
  readonly flushBeforeChange?: number;
  /**
   * Deliver each message as a borrowed view of one buffer that is overwritten with
   * LENT_POISON after the handler returns, as CpgTransport with borrowDeliveries hands
   * out its staging Buffer: a handler that keeps a view without copying sees garbage.
   */
  readonly borrowDeliveries?: boolean;
}

/** What a lent delivery buffer holds once the handler has returned. */
const LENT_POISON = 0xa5;

export class SimTransport implements Transport {
  readonly local: MemberId;
  constructor(
    private readonly net: SimNetwork,
    /** @internal */ readonly proc: SimProcess,
  ) {
    this.local = { nodeid: proc.nodeid, pid: proc.pid };
  }
  join(group: string): number {
    return this.net.joinProc(this.proc, group);
  }
  leave(): number {
    return this.net.leaveProc(this.proc);
  }
  send(buffers: readonly Buffer[]): number {
    return this.net.sendProc(this.proc, buffers);
  }
  close(): void {
    this.net.removeProc(this.proc, CpgReason.PROCDOWN, null);
  }
  /** Quorum as votequorum would report it on this node. */
  isQuorate(): boolean {
    return this.net.isQuorate(this.proc.nodeid);
  }
  get alive(): boolean {
    return this.proc.alive;
  }
}

function fnv1a(buf: Buffer): string {
  let h = 0x811c9dc5;
  for (const b of buf) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function cpgMember(p: SimProcess, reason: number): CpgMember {
  return { nodeid: p.nodeid, pid: p.pid, reason };
}

export class SimNetwork {
  readonly rng: Rng;
  readonly trace: string[] = [];
  private readonly procs: SimProcess[] = [];
  private readonly groups = new Map<string, SimProcess[]>();
  private readonly component = new Map<number, number>();
  private readonly quorumOverride = new Map<number, boolean>();
  private readonly configured: readonly number[];
  private readonly flushBeforeChange: number;
  private readonly borrowDeliveries: boolean;
  /** The buffer lent to handlers (borrowDeliveries), grown to the largest message. */
  private lent = Buffer.alloc(0);
  private nextComponent = 1;

  constructor(opts: SimNetworkOptions) {
    this.rng = new Rng(opts.seed);
    this.configured = opts.nodes ?? [];
    this.flushBeforeChange = opts.flushBeforeChange ?? 0.5;
    this.borrowDeliveries = opts.borrowDeliveries ?? false;
  }

  // ---- processes ----------------------------------------------------------------

  /** A CPG connection of process nodeid/pid; a process holds one per `channel` (C: one cpg handle per DFSM group). */
  connect(nodeid: number, pid: number, handlers: TransportHandlers, channel = 'dcdb'): SimTransport {
    if (this.procs.some((p) => p.alive && p.nodeid === nodeid && p.pid === pid && p.channel === channel)) {
      throw new Error(`process ${nodeid}/${pid} already connected (${channel})`);
    }
    const proc = new SimProcess(nodeid, pid, handlers, channel);
    this.procs.push(proc);
    return new SimTransport(this, proc);
  }

  /** Kill a process: the others see it leave with reason PROCDOWN. */
  crash(t: SimTransport): void {
    this.removeProc(t.proc, CpgReason.PROCDOWN, null);
  }

  /** corosync goes away for this process: its dispatch reports `code`. */
  fail(t: SimTransport, code: number = CsError.LIBRARY): void {
    this.removeProc(t.proc, CpgReason.PROCDOWN, code);
  }

  /** Make the next `count` sends of this process fail with `code`. */
  failSends(t: SimTransport, count: number, code: number = CsError.LIBRARY): void {
    t.proc.sendFailures = { code, remaining: count };
  }

  // ---- network ------------------------------------------------------------------

  private comp(nodeid: number): number {
    return this.component.get(nodeid) ?? 0;
  }

  /** Split the nodes into components; nodes not listed form one more component. */
  partition(parts: readonly (readonly number[])[]): void {
    const listed = new Set<number>();
    const next = new Map<number, number>();
    for (const part of parts) {
      const c = this.nextComponent++;
      for (const n of part) {
        if (listed.has(n)) throw new Error(`node ${n} listed twice in partition`);
        listed.add(n);
        next.set(n, c);
      }
    }
    const rest = this.nextComponent++;
    const allNodes = new Set<number>([...this.configured, ...this.procs.map((p) => p.nodeid)]);
    for (const n of allNodes) if (!listed.has(n)) next.set(n, rest);
    this.regroup(next);
  }

  /** Merge all components into one. */
  heal(): void {
    const next = new Map<number, number>();
    const allNodes = new Set<number>([...this.configured, ...this.procs.map((p) => p.nodeid)]);
    for (const n of allNodes) next.set(n, 0);
    this.regroup(next);
  }

  isQuorate(nodeid: number): boolean {
    const o = this.quorumOverride.get(nodeid);
    if (o !== undefined) return o;
    if (this.configured.length === 0) return true;
    const c = this.comp(nodeid);
    const votes = this.configured.filter((n) => this.comp(n) === c).length;
    return votes * 2 > this.configured.length;
  }

  /** Force the quorum state seen on a node (undefined: computed again). */
  setQuorate(nodeid: number, value: boolean | undefined): void {
    if (value === undefined) this.quorumOverride.delete(nodeid);
    else this.quorumOverride.set(nodeid, value);
  }

  // ---- scheduling ---------------------------------------------------------------

  /** Number of actions that step() could take. */
  pending(): number {
    let n = 0;
    for (const p of this.procs) if (p.alive) n += p.inbox.length + (p.group ? p.outbox.length : 0);
    return n;
  }

  /** Perform one action chosen by the RNG; false when idle. */
  step(): boolean {
    const actions: { kind: 'order' | 'dispatch'; p: SimProcess }[] = [];
    for (const p of this.procs) {
      if (!p.alive) continue;
      if (p.group !== null && p.outbox.length > 0) actions.push({ kind: 'order', p });
      if (p.inbox.length > 0) actions.push({ kind: 'dispatch', p });
    }
    if (actions.length === 0) return false;
    const a = this.rng.pick(actions);
    if (a.kind === 'order') this.orderHead(a.p);
    else this.dispatchHead(a.p);
    return true;
  }

  runUntilIdle(maxSteps: number = SIM_MAX_STEPS): number {
    let steps = 0;
    while (this.step()) {
      steps++;
      if (steps >= maxSteps) throw new Error(`simulation not idle after ${maxSteps} steps`);
    }
    return steps;
  }

  // ---- internals used by SimTransport -------------------------------------------

  /** @internal */
  joinProc(p: SimProcess, group: string): number {
    if (!p.alive) return CsError.BAD_HANDLE;
    if (p.group !== null) return SimCsError.EXIST;
    this.flushSome(this.sameComponent(group, p.nodeid));
    p.group = group;
    const list = this.groupList(group);
    list.push(p);
    const view = this.viewOf(group, this.comp(p.nodeid));
    this.emit(view, () => ({ left: [], joined: [cpgMember(p, CpgReason.JOIN)] }));
    return CsError.OK;
  }

  /** @internal */
  leaveProc(p: SimProcess): number {
    if (!p.alive) return CsError.BAD_HANDLE;
    if (p.group === null) return SimCsError.NOT_EXIST;
    const group = p.group;
    this.flushSome(this.sameComponent(group, p.nodeid));
    while (p.outbox.length > 0) this.orderHead(p); // FIFO: own sends precede the leave
    this.detach(p, CpgReason.LEAVE, true);
    this.record(`leave ${p.name} g=${group}`);
    return CsError.OK;
  }

  /** @internal */
  sendProc(p: SimProcess, buffers: readonly Buffer[]): number {
    if (!p.alive) return CsError.BAD_HANDLE;
    if (p.group === null) return SimCsError.NOT_EXIST;
    if (p.sendFailures && p.sendFailures.remaining > 0) {
      p.sendFailures.remaining--;
      return p.sendFailures.code;
    }
    const msg = Buffer.concat(buffers.map((b) => Buffer.from(b)));
    if (msg.length > SIM_MAX_MESSAGE) return CsError.TRY_AGAIN;
    p.outbox.push(msg);
    return CsError.OK;
  }

  /** @internal Crash, close or failure of a process. */
  removeProc(p: SimProcess, reason: number, failure: number | null): void {
    if (!p.alive) return;
    if (p.group !== null) {
      this.flushSome(this.sameComponent(p.group, p.nodeid));
      // a random prefix of the victim's in-flight messages makes it out
      const k = this.rng.int(p.outbox.length + 1);
      for (let i = 0; i < k; i++) this.orderHead(p);
      p.outbox.length = 0;
      this.detach(p, reason, false);
    }
    p.outbox.length = 0;
    p.inbox.length = 0;
    if (failure !== null) {
      p.inbox.push({ kind: 'failure', code: failure });
      this.record(`fail ${p.name} code=${failure}`);
      // the process stays "alive" only to receive the failure event
      p.group = null;
      return;
    }
    p.alive = false;
    this.record(`remove ${p.name}`);
  }

  // ---- helpers -----------------------------------------------------------------

  private groupList(group: string): SimProcess[] {
    let l = this.groups.get(group);
    if (!l) {
      l = [];
      this.groups.set(group, l);
    }
    return l;
  }

  private viewOf(group: string, comp: number): SimProcess[] {
    return this.groupList(group).filter((q) => q.alive && this.comp(q.nodeid) === comp);
  }

  private sameComponent(group: string, nodeid: number): SimProcess[] {
    return this.viewOf(group, this.comp(nodeid));
  }

  /** Remove p from its group and tell the remaining view (and p itself if `tellSelf`). */
  private detach(p: SimProcess, reason: number, tellSelf: boolean): void {
    const group = p.group;
    if (group === null) return;
    const list = this.groupList(group);
    list.splice(list.indexOf(p), 1);
    p.group = null;
    const view = this.viewOf(group, this.comp(p.nodeid));
    const left = [cpgMember(p, reason)];
    this.emit(view, () => ({ left, joined: [] }));
    if (tellSelf) {
      const change: ConfChange = { members: view.map((q) => cpgMember(q, 0)), left, joined: [] };
      p.inbox.push({ kind: 'confchg', change });
      this.record(`confchg ${p.name} members=[${view.map((q) => q.name).join(',')}] left=${p.name}`);
    }
    p.view = [];
  }

  /** Append one configuration change to every member of `view`. */
  private emit(view: SimProcess[], lists: (q: SimProcess) => { left: CpgMember[]; joined: CpgMember[] }): void {
    const members = view.map((q) => cpgMember(q, 0));
    for (const q of view) {
      const { left, joined } = lists(q);
      q.inbox.push({ kind: 'confchg', change: { members, left, joined } });
      q.view = view;
      this.record(
        `confchg ${q.name} members=[${view.map((x) => x.name).join(',')}] left=[${left
          .map((m) => `${m.nodeid}/${m.pid}`)
          .join(',')}] joined=[${joined.map((m) => `${m.nodeid}/${m.pid}`).join(',')}]`,
      );
    }
  }

  private regroup(next: Map<number, number>): void {
    // in-flight messages may be ordered in the old configuration first
    const all = this.procs.filter((p) => p.alive && p.group !== null);
    this.flushSome(all);
    this.component.clear();
    for (const [n, c] of next) this.component.set(n, c);
    for (const [group, list] of this.groups) {
      const comps = [...new Set(list.filter((q) => q.alive).map((q) => this.comp(q.nodeid)))];
      for (const c of comps) {
        const view = this.viewOf(group, c);
        const changed = view.some((q) => q.view.length !== view.length || q.view.some((x, i) => x !== view[i]));
        if (!changed) continue;
        this.emit(view, (q) => {
          const old = q.view;
          return {
            left: old.filter((x) => !view.includes(x)).map((x) => cpgMember(x, CpgReason.NODEDOWN)),
            joined: view.filter((x) => !old.includes(x)).map((x) => cpgMember(x, CpgReason.NODEUP)),
          };
        });
      }
    }
    this.record(`regroup ${[...next].map(([n, c]) => `${n}:${c}`).join(' ')}`);
  }

  /** Order a random number of in-flight messages of these senders (per-sender FIFO). */
  private flushSome(senders: SimProcess[]): void {
    if (!this.rng.chance(this.flushBeforeChange)) return;
    let total = 0;
    for (const p of senders) total += p.outbox.length;
    let k = this.rng.int(total + 1);
    while (k-- > 0) {
      const ready = senders.filter((p) => p.alive && p.group !== null && p.outbox.length > 0);
      if (ready.length === 0) break;
      this.orderHead(this.rng.pick(ready));
    }
  }

  private orderHead(p: SimProcess): void {
    const msg = p.outbox.shift();
    if (msg === undefined || p.group === null) return;
    const view = p.view;
    if (!view.includes(p)) throw new Error(`invariant: sender ${p.name} not in its own view`);
    const from = { nodeid: p.nodeid, pid: p.pid };
    for (const q of view) q.inbox.push({ kind: 'deliver', from, msg });
    this.record(`order ${p.name} len=${msg.length} h=${fnv1a(msg)} to=[${view.map((q) => q.name).join(',')}]`);
  }

  private deliverLent(p: SimProcess, from: MemberId, msg: Buffer): void {
    if (this.lent.length < msg.length) this.lent = Buffer.alloc(msg.length);
    const view = this.lent.subarray(0, msg.length);
    msg.copy(view);
    p.handlers.deliver(from, view, true);
    view.fill(LENT_POISON);
  }

  private dispatchHead(p: SimProcess): void {
    const ev = p.inbox.shift();
    if (ev === undefined) return;
    switch (ev.kind) {
      case 'deliver':
        this.record(`deliver ${p.name} from=${ev.from.nodeid}/${ev.from.pid} h=${fnv1a(ev.msg)}`);
        if (this.borrowDeliveries) this.deliverLent(p, ev.from, ev.msg);
        else p.handlers.deliver(ev.from, ev.msg, false);
        break;
      case 'confchg':
        this.record(`dispatch-confchg ${p.name} n=${ev.change.members.length}`);
        p.handlers.confchg(ev.change);
        break;
      case 'failure':
        p.alive = false;
        p.inbox.length = 0;
        this.record(`dispatch-failure ${p.name}`);
        p.handlers.failure(ev.code);
        break;
    }
  }

  private record(line: string): void {
    if (this.trace.length < SIM_MAX_TRACE) this.trace.push(line);
  }
}
