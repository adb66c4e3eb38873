/**
 * Test support for the DFSM tests: a trivial key/value application implementing
 * DfsmCallbacks (state = JSON snapshot with a version; leader = highest version,
 * ties to the earliest member, like dcdb), a fake transport that records sends, and a
 * simulated cluster of DfsmService instances on a SimNetwork with a ManualClock.
 */
import { createHash } from 'node:crypto';
import { SimNetwork, type SimTransport } from '../../src/cluster/sim.js';
import { CsError, type ConfChange, type MemberId, type Transport } from '../../src/cluster/transport.js';
import { ManualClock } from '../../src/util/clock.js';
import { Dfsm } from '../../src/dfsm/dfsm.js';
import { DfsmService } from '../../src/dfsm/service.js';
import type { DeliveredMessage, DeliverResult, DfsmApi, DfsmCallbacks, StateUpdateResult, SyncInfo } from '../../src/dfsm/types.js';
import { DfsmMessageType, encodeNormalHeader, encodeStateHeader, type Epoch } from '../../src/wire/dfsm.js';

export const SUB_SET = 1;
export const SUB_FAIL = 2;

interface RoundData {
  leaderState: Buffer;
  updates: { k?: string; v?: string; version?: number }[];
}

/** An UPDATE whose payload is `bytes`. */
function sendBytes(dfsm: DfsmApi, bytes: Buffer): boolean {
  return dfsm.sendUpdate(bytes.length, (buf, offset) => offset + bytes.copy(buf, offset));
}

export class KvApp implements DfsmCallbacks {
  kv = new Map<string, string>();
  version = 0;
  applied: string[] = [];
  cleanups = 0;
  commits = 0;
  failCommit = false;
  dfsm!: Dfsm;

  constructor(readonly quorate: () => boolean = () => true) {}

  set(k: string, v: string): void {
    this.kv.set(k, v);
    this.version++;
  }

  snapshot(): Buffer {
    const entries = [...this.kv.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Buffer.from(JSON.stringify({ version: this.version, kv: entries }));
  }

  getState(): Buffer {
    return this.snapshot();
  }

  processStateUpdate(sync: SyncInfo): StateUpdateResult {
    let leader = -1;
    let best = -1;
    const parsed: number[] = [];
    for (const [i, m] of sync.members.entries()) {
      if (!m.state) return { ok: false };
      let v: number;
      try {
        v = (JSON.parse(m.state.toString()) as { version: number }).version;
      } catch {
        return { ok: false };
      }
      parsed.push(v);
      if (v > best) {
        best = v;
        leader = i;
      }
    }
    const lm = sync.members[leader];
    if (!lm || !lm.state) return { ok: false };
    for (const m of sync.members) if (m === lm || (m.state && m.state.equals(lm.state))) m.synced = true;
    const data: RoundData = { leaderState: Buffer.from(lm.state), updates: [] };
    sync.data = data;
    if (this.dfsm.isLocal(lm)) {
      for (const [k, v] of this.kv) sendBytes(this.dfsm, Buffer.from(JSON.stringify({ k, v })));
      sendBytes(this.dfsm, Buffer.from(JSON.stringify({ version: this.version })));
      if (!this.dfsm.sendUpdateComplete()) return { ok: false };
    }
    return { ok: true, leader: { nodeid: lm.nodeid, pid: lm.pid } };
  }

  processUpdate(sync: SyncInfo, _from: MemberId, payload: Buffer): boolean {
    try {
      (sync.data as RoundData).updates.push(JSON.parse(payload.toString()));
      return true;
    } catch {
      return false;
    }
  }

  commit(sync: SyncInfo): boolean {
    this.commits++;
    if (this.failCommit) return false;
    const d = sync.data as RoundData;
    const kv = new Map<string, string>();
    let version = 0;
    for (const u of d.updates) {
      if (u.k !== undefined && u.v !== undefined) kv.set(u.k, u.v);
      if (u.version !== undefined) version = u.version;
    }
    this.kv = kv;
    this.version = version;
    return this.snapshot().equals(d.leaderState);
  }

  cleanup(): void {
    this.cleanups++;
  }

  checksum(): Buffer {
    return createHash('sha256').update(this.snapshot()).digest();
  }

  deliver(msg: DeliveredMessage): DeliverResult {
    if (!this.quorate()) return { ok: false };
    if (msg.subtype === SUB_SET) {
      const text = msg.payload.toString();
      const eq = text.indexOf('=');
      if (eq < 0) return { ok: false };
      this.set(text.slice(0, eq), text.slice(eq + 1));
      this.applied.push(`${msg.from.nodeid}/${msg.from.pid}:${text}`);
      return { ok: true, result: eq };
    }
    if (msg.subtype === SUB_FAIL) return { ok: false, result: -5 };
    return { ok: false };
  }
}

/** A transport that records what is sent; tests deliver by hand. */
export class FakeTransport implements Transport {
  sent: Buffer[] = [];
  joinedGroup: string | null = null;
  failSends = 0;
  closed = false;
  constructor(readonly local: MemberId) {}
  join(group: string): number {
    this.joinedGroup = group;
    return CsError.OK;
  }
  leave(): number {
    this.joinedGroup = null;
    return CsError.OK;
  }
  send(buffers: readonly Buffer[]): number {
    if (this.failSends > 0) {
      this.failSends--;
      return CsError.LIBRARY;
    }
    this.sent.push(Buffer.concat(buffers.map((b) => Buffer.from(b))));
    return CsError.OK;
  }
  close(): void {
    this.closed = true;
  }
  sentTypes(): number[] {
    return this.sent.map((b) => b.readUInt16LE(0));
  }
}

export function conf(members: MemberId[], joined: MemberId[] = [], left: MemberId[] = []): ConfChange {
  const r = (m: MemberId) => ({ nodeid: m.nodeid, pid: m.pid, reason: 1 });
  return { members: members.map(r), joined: joined.map(r), left: left.map(r) };
}

export function stateMsg(type: number, epoch: Epoch, payload: Buffer = Buffer.alloc(0), version = 1): Buffer {
  return Buffer.concat([encodeStateHeader(type as DfsmMessageType, version, 1000, epoch), payload]);
}

export function normalMsg(subtype: number, count: bigint, payload: Buffer | string, version = 1): Buffer {
  return Buffer.concat([encodeNormalHeader(subtype, version, 1000, count), Buffer.from(payload)]);
}

/** A Dfsm over a FakeTransport, initialized and joined. */
export function lone(nodeid = 1, pid = 100, app = new KvApp()) {
  const clock = new ManualClock();
  const dfsm = new Dfsm({ callbacks: (d) => ((app.dfsm = d), app), clock });
  const t = new FakeTransport({ nodeid, pid });
  dfsm.attach(t);
  dfsm.initialize();
  dfsm.join();
  return { dfsm, t, app, clock };
}

export interface SimNode {
  readonly nodeid: number;
  readonly pid: number;
  readonly app: KvApp;
  readonly dfsm: Dfsm;
  readonly service: DfsmService;
  transport: SimTransport | null;
}

export class SimCluster {
  readonly net: SimNetwork;
  readonly clock = new ManualClock();
  readonly nodes: SimNode[] = [];

  constructor(seed: number, nodeids: number[]) {
    this.net = new SimNetwork({ seed, nodes: nodeids });
  }

  add(nodeid: number, pid: number, verifyPeriodSec = 0): SimNode {
    const app = new KvApp(() => this.net.isQuorate(nodeid));
    const dfsm = new Dfsm({
      callbacks: (d) => ((app.dfsm = d), app),
      clock: this.clock,
      isQuorate: () => this.net.isQuorate(nodeid),
    });
    const node: SimNode = {
      nodeid,
      pid,
      app,
      dfsm,
      transport: null,
      service: undefined as unknown as DfsmService,
    };
    (node as { service: DfsmService }).service = new DfsmService({
      dfsm,
      clock: this.clock,
      verifyPeriodSec,
      createTransport: (h) => (node.transport = this.net.connect(nodeid, pid, h)),
    });
    this.nodes.push(node);
    return node;
  }

  /** Run the network to idle, then let time pass (firing service timers) with idle runs in between. */
  settle(ms = 20): void {
    this.net.runUntilIdle();
    this.clock.advance(ms, () => this.net.runUntilIdle());
    this.net.runUntilIdle();
  }

  modes(): string[] {
    return this.nodes.map((n) => n.dfsm.status().modeName);
  }
}
