/**
 * The C recordings of the status group (../shared/golden/kvstore) replayed into
 * pmxcfs-ts members, one in the place of each C daemon (n1 = 1/2763, n2 = 2/3130,
 * n3 = 3/3456 and, after its restart, 3/9186): a real Dfsm + KvstoreApp + Status on a
 * scripted transport fed exactly the recorded deliveries and configuration changes.
 * Where the recording has the daemon's own message, the operation behind it is done
 * on our member (SET_STATUS, a LOG entry) or our member sends it by itself (STATE,
 * post-sync re-broadcast, nodeip); our bytes are compared with C's and delivered in
 * its place. After each scenario our outputs must equal the files saved from that
 * C node, byte for byte: the cluster-log JSON, `.members`, the kvstore section of
 * `.version` and the RRD dump (both in GLib's hash order), and GET_STATUS values.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { clogStrings, KvMessageType, readClogEntry } from '../../src/wire/kvstore.js';
import { walkNewestFirst } from '../../src/clusterlog/ring.js';
import { CsError, type ConfChange, type MemberId } from '../../src/cluster/transport.js';
import { ManualClock } from '../../src/util/clock.js';
import { Dfsm } from '../../src/dfsm/dfsm.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { KVSTORE_DFSM_OPTIONS, KvstoreApp } from '../../src/status/group.js';
import { Status } from '../../src/status/status.js';
import { silentLog } from '../../src/util/log.js';
import { DfsmMessageType } from '../../src/wire/dfsm.js';
import { ScriptedTransport } from '../helpers/scripted-transport.js';
import { goldenDir, goldenMissing, scratchDir } from '../helpers/golden.js';

const KV = join(goldenDir, 'kvstore');
const SCENARIOS = ['kv-join', 'kv-ops', 'kv-restart-merge'] as const;
const NODES = [1, 2, 3].map((id) => ({ name: `n${id}`, nodeid: id, votes: 1, ring0Addr: undefined }));

type Line = { i: number; from: MemberId; len: number; hex: string } | { i: number; confchg: { members: [number, number][]; left: [number, number][]; joined: [number, number][] } };

function lines(scenario: string): Line[] {
  return readFileSync(join(KV, 'transcripts', `${scenario}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
}

const same = (a: MemberId, b: MemberId): boolean => a.nodeid === b.nodeid && a.pid === b.pid;
const mtype = (b: Buffer): number => b.readUInt16LE(0);
const count = (b: Buffer): bigint => b.readBigUInt64LE(16);

function conf(l: Extract<Line, { confchg: unknown }>): ConfChange {
  const m = (x: [number, number][]) => x.map(([nodeid, pid]) => ({ nodeid, pid, reason: 0 }));
  return { members: m(l.confchg.members), joined: m(l.confchg.joined), left: m(l.confchg.left) };
}

/** Time of the daemon's "starting cluster log" entry, from its first recorded STATE. */
function startTime(id: MemberId, name: string): number {
  for (const s of SCENARIOS) {
    for (const l of lines(s)) {
      if (!('hex' in l) || !same(l.from, id)) continue;
      const raw = Buffer.from(l.hex, 'hex');
      if (mtype(raw) !== DfsmMessageType.STATE) continue;
      for (const { entry } of walkNewestFirst(raw.subarray(32))) {
        const f = readClogEntry(entry.buf, entry.off);
        if (f.uid === 1 && clogStrings(entry.buf, entry.off, f).node.toString() === name) return f.time;
      }
    }
  }
  throw new Error(`no start entry of ${name}`);
}

class KvMember {
  readonly clock: ManualClock;
  readonly transport: ScriptedTransport;
  readonly status: Status;
  readonly dfsm: Dfsm;
  alive = false;
  left = false;
  private pending: Buffer[] = [];
  compared = { normal: 0, states: 0 };

  constructor(readonly id: MemberId, readonly name: string) {
    this.clock = new ManualClock(startTime(id, name) * 1000);
    this.transport = new ScriptedTransport(id);
    const memdb = Memdb.open(join(scratchDir(), 'config.db'));
    this.status = new Status({ nodename: name, nodeip: `10.99.120.${id.nodeid}`, memdb, isQuorate: () => true, clock: this.clock, log: silentLog, rrdFiles: null, pid: id.pid });
    this.status.setClusterInfo({ clusterName: 'kvrec', configVersion: 1, configVersionMissing: false, nodes: NODES });
    this.dfsm = new Dfsm({ ...KVSTORE_DFSM_OPTIONS, callbacks: (d) => new KvstoreApp(this.status, silentLog, d), clock: this.clock, logger: silentLog });
    this.dfsm.attach(this.transport);
    this.dfsm.initialize();
    assert.equal(this.dfsm.join(), CsError.OK);
  }

  private collect(): void {
    this.pending.push(...this.transport.sent.splice(0));
  }

  /** One recorded event, as this daemon saw it; `nextTime` = the time of the next recorded message. */
  play(l: Line, nextTime: number): void {
    if ('confchg' in l) {
      // a confchg has no time: C's SYNC_START epoch takes the time of the first message after it
      this.clock.advanceTo(Math.max(this.clock.nowMs(), nextTime * 1000));
      const c = conf(l);
      if (c.joined.some((m) => same(m, this.id))) this.alive = true;
      if (!this.alive || this.left) return;
      if (c.left.some((m) => same(m, this.id))) {
        this.left = true;
        return;
      }
      this.dfsm.confchg(c);
      this.collect();
      return;
    }
    if (!this.alive || this.left) return;
    const raw = Buffer.from(l.hex, 'hex');
    this.clock.advanceTo(Math.max(this.clock.nowMs(), raw.readUInt32LE(8) * 1000));
    if (same(l.from, this.id)) this.own(l.i, raw);
    else this.dfsm.deliver(l.from, raw);
    this.collect();
  }

  /** The daemon's own message: make ours, compare, deliver ours. */
  private own(i: number, raw: Buffer): void {
    const isNormal = mtype(raw) === DfsmMessageType.NORMAL;
    let at = this.pending.findIndex((b) => mtype(b) === mtype(raw) && (!isNormal || count(b) === count(raw)));
    if (at < 0 && isNormal) {
      this.localOp(raw);
      this.collect();
      at = this.pending.findIndex((b) => mtype(b) === DfsmMessageType.NORMAL && count(b) === count(raw));
    }
    assert.ok(at >= 0, `${this.name} i=${i}: C sent type ${mtype(raw)} (count ${isNormal ? count(raw) : '-'}) but our member did not`);
    const ours = this.pending.splice(at, 1)[0]!;
    this.compare(i, raw, ours);
    this.dfsm.deliver(this.id, ours);
  }

  /** The IPC operation behind a NORMAL message C sent on its own (SET_STATUS, LOG_CLUSTER_MSG). */
  private localOp(raw: Buffer): void {
    const p = raw.subarray(24);
    if (raw.readUInt16LE(2) === KvMessageType.UPDATE) {
      this.status.setStatus(p.subarray(0, p.indexOf(0)), p.subarray(256));
    } else {
      this.status.insertLog(Buffer.from(p));
      this.status.sender?.send(KvMessageType.LOG, [p]);
    }
  }

  private compare(i: number, raw: Buffer, ours: Buffer): void {
    const what = `${this.name} i=${i}`;
    if (mtype(raw) === DfsmMessageType.NORMAL) {
      assert.deepEqual(ours.subarray(0, 8), raw.subarray(0, 8), `${what}: header`);
      assert.equal(count(ours), count(raw), `${what}: count`);
      if (raw.readUInt16LE(2) === KvMessageType.UPDATE) {
        // key up to its NUL (C sends stack garbage after it), then the value bytes
        const k = (b: Buffer) => b.subarray(24, 24 + b.subarray(24).indexOf(0));
        assert.deepEqual(k(ours), k(raw), `${what}: UPDATE key`);
        assert.deepEqual(ours.subarray(280), raw.subarray(280), `${what}: UPDATE value`);
      } else assert.deepEqual(ours.subarray(24), raw.subarray(24), `${what}: LOG entry`);
      this.compared.normal++;
    } else {
      assert.deepEqual(ours.subarray(16, 32), raw.subarray(16, 32), `${what}: epoch`);
      if (mtype(raw) === DfsmMessageType.STATE) {
        assert.ok(ours.subarray(32).equals(raw.subarray(32)), `${what}: STATE bytes (${ours.length - 32} vs ${raw.length - 32})`);
        this.compared.states++;
      }
    }
  }

  /** Our outputs against the files saved from this C node after `scenario`. */
  assertOutputs(scenario: string): number {
    const d = join(KV, 'nodes', scenario, this.name);
    const file = (f: string): Buffer => readFileSync(join(d, f));
    this.clock.advanceTo(Number(file('snapshot-time').toString().trim()) * 1000);
    let checks = 0;
    const json = this.status.clusterLogJson(0 || 50, Buffer.alloc(0));
    assert.equal(json.toString('latin1'), file('get-cluster-log.json').toString('latin1'), `${scenario}/${this.name}: cluster log JSON`);
    assert.ok(file('clusterlog').equals(json), `${scenario}/${this.name}: .clusterlog`);
    assert.equal(this.status.memberListText().toString(), file('members').toString(), `${scenario}/${this.name}: .members`);
    // the kvstore section byte for byte: GLib's bucket order of nodes and keys (ghash.ts)
    assert.equal(kvSection(this.status.versionText().toString('latin1')), kvSection(file('version').toString('latin1')), `${scenario}/${this.name}: .version kvstore`);
    const dump = this.status.rrdDump();
    assert.equal(dump.toString('latin1'), file('get-rrd-dump.bin').toString('latin1'), `${scenario}/${this.name}: rrd dump (fresh, with NUL, C's line order)`);
    assert.equal(this.status.rrdDump().toString('latin1'), file('rrd').toString('latin1'), `${scenario}/${this.name}: .rrd (cached)`);
    checks += 6;
    for (const f of readdirSync(d)) {
      const m = /^get-status-(.*)-(n\d)\.bin$/.exec(f);
      if (m === null) continue;
      const key = m[1]!.startsWith('kv-') ? m[1]!.replace('kv-', 'kv/') : m[1]!;
      assert.deepEqual(this.status.getStatus(Buffer.from(key), Buffer.from(m[2]!)), file(f), `${scenario}/${this.name}: ${f}`);
      checks++;
    }
    return checks;
  }
}

/** The "kvstore" section of `.version` (the rest counts memdb changes, which differ). */
function kvSection(v: string): string {
  const at = v.indexOf('"kvstore": {');
  assert.ok(at >= 0, 'kvstore section');
  return v.slice(at);
}

describe('kvstore golden transcripts replayed into pmxcfs-ts members in the C daemons\' places', { skip: goldenMissing || !existsSync(KV) ? 'no kvstore golden folder' : false }, () => {
  it('same messages, same STATE bytes, same outputs as every C node after every scenario', () => {
    const members = [
      new KvMember({ nodeid: 1, pid: 2763 }, 'n1'),
      new KvMember({ nodeid: 2, pid: 3130 }, 'n2'),
      new KvMember({ nodeid: 3, pid: 3456 }, 'n3'),
      new KvMember({ nodeid: 3, pid: 9186 }, 'n3'),
    ];
    let outputs = 0;
    for (const s of SCENARIOS) {
      const ls = lines(s);
      ls.forEach((l, k) => {
        const next = ls.slice(k).find((x): x is Extract<Line, { hex: string }> => 'hex' in x);
        const t = next === undefined ? 0 : Buffer.from(next.hex.slice(16, 24), 'hex').readUInt32LE(0);
        for (const m of members) m.play(l, t);
      });
      for (const m of members) if (m.alive && !m.left) outputs += m.assertOutputs(s);
    }
    const normal = members.reduce((a, m) => a + m.compared.normal, 0);
    const states = members.reduce((a, m) => a + m.compared.states, 0);
    // every C NORMAL message (29) and every C STATE (11) was produced by our member too
    assert.equal(normal, 6 + 22 + 13);
    assert.equal(states, 6 + 5);
    assert.ok(outputs >= 30, `outputs compared: ${outputs}`);
  });
});
