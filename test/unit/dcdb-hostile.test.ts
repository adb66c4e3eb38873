/**
 * Hostile input on the real stack: 3 nodes (Memdb + Dcdb + Dfsm + DfsmService) on the
 * simulated CPG. Malformed or out-of-place messages are injected as CPG deliveries
 * (through the service's transport handlers). Expectations follow C (dfsm.md §6–§9,
 * §14.7): ignore (mode and database unchanged), or leave, rejoin and resync; never
 * throw, never ERROR, never a database that differs from the others afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MemberId } from '../../src/cluster/transport.js';
import { DfsmMode } from '../../src/dfsm/types.js';
import { SimCluster, type NodeProcess } from '../../src/sim/cluster.js';
import { Rng } from '../../src/util/rng.js';
import { DcdbMessageType, encodeFuseMessage } from '../../src/wire/dcdb.js';
import { DfsmMessageType, encodeNormalHeader, encodeStateHeader, type Epoch } from '../../src/wire/dfsm.js';
import { encodeUpdate } from '../../src/wire/update.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function settle(c: SimCluster, sec = 20): void {
  c.net.runUntilIdle();
  for (let i = 0; i < sec; i++) c.clock.advance(1000, () => c.net.runUntilIdle());
}

const flush = () => new Promise((r) => setImmediate(r));

/** A converged 3-node cluster with some data. */
async function cluster(seed: number): Promise<{ c: SimCluster; n: NodeProcess[] }> {
  const c = new SimCluster({ seed, nodes: 3, dir });
  const n = [c.start(1), c.start(2), c.start(3)];
  settle(c);
  const results: number[] = [];
  for (const [k, op] of [() => n[0]!.fs.mkdir('d'), () => n[1]!.fs.create('d/f'), () => n[2]!.fs.write('d/f', Buffer.from('hello'), 0)].entries()) {
    void op().then((r) => (results[k] = r));
    settle(c, 2);
    await flush();
  }
  assert.deepEqual(results, [0, 0, 5]);
  assertConverged(c, n);
  return { c, n };
}

function assertConverged(c: SimCluster, n: NodeProcess[]): void {
  for (const p of n) {
    assert.equal(p.dfsm.mode, DfsmMode.SYNCED, `${p.name} SYNCED (${c.modes()})`);
    assert.equal(p.memdb.errors, false);
  }
  const idx = n[0]!.memdb.encodeIndex();
  for (const p of n) assert.ok(p.memdb.encodeIndex().equals(idx), `${p.name} has the same index`);
  assert.equal(new Set(n.map((p) => c.viewKey(p))).size, 1, 'one configuration');
}

const leaves = (c: SimCluster) => c.modeEvents.filter((e) => e.to === 'LEAVE').length;
const member = (p: NodeProcess): MemberId => ({ nodeid: p.nodeid, pid: p.pid });

/** Deliver `msg` from `from` to the given nodes (all by default), as CPG would. */
function inject(c: SimCluster, to: NodeProcess[], from: MemberId, msg: Buffer): void {
  for (const p of to) p.handlers!.deliver(from, Buffer.from(msg), false);
  void c;
}

function normal(subtype: number, count: bigint, payload: Buffer[], version = 1): Buffer {
  return Buffer.concat([encodeNormalHeader(subtype, version, 1000, count), ...payload]);
}

function state(type: number, epoch: Epoch, payload: Buffer = Buffer.alloc(0), version = 1): Buffer {
  return Buffer.concat([encodeStateHeader(type as DfsmMessageType, version, 1000, epoch), payload]);
}

/** Ignored by everyone: no mode change, no LEAVE, same database. */
async function expectIgnored(what: string, msg: (n: NodeProcess[]) => { from: MemberId; msg: Buffer; to?: NodeProcess[] }) {
  it(`${what}: ignored`, async () => {
    const { c, n } = await cluster(11);
    const before = n.map((p) => p.memdb.encodeIndex());
    const l = leaves(c);
    const m = msg(n);
    inject(c, m.to ?? n, m.from, m.msg);
    settle(c, 3);
    assert.equal(leaves(c), l, 'nobody left');
    n.forEach((p, i) => assert.ok(p.memdb.encodeIndex().equals(before[i]!), `${p.name} unchanged`));
    assertConverged(c, n);
    c.stopAll();
  });
}

/** The receivers leave, rejoin and converge with the others. */
async function expectLeaveAndResync(what: string, msg: (n: NodeProcess[]) => { from: MemberId; msg: Buffer; to?: NodeProcess[] }) {
  it(`${what}: leave, rejoin, resync`, async () => {
    const { c, n } = await cluster(12);
    const before = n[0]!.memdb.encodeIndex();
    const l = leaves(c);
    const m = msg(n);
    const to = m.to ?? n;
    inject(c, to, m.from, m.msg);
    assert.equal(leaves(c) - l, to.length, 'every receiver went to LEAVE');
    settle(c, 20);
    assertConverged(c, n);
    assert.ok(n[0]!.memdb.encodeIndex().equals(before), 'database unchanged');
    for (const p of n) assert.equal(p.service.starts, to.includes(p) ? 2 : 1, `${p.name}: receivers re-initialized once, the others never`);
    c.stopAll();
  });
}

describe('hostile input on the real stack (3 nodes)', () => {
  // §6 common checks
  expectLeaveAndResync('a message shorter than the 16-byte header', (n) => ({ from: member(n[0]!), msg: Buffer.from([0, 0, 1, 0, 0, 0]), to: [n[1]!] }));
  expectLeaveAndResync('a NORMAL shorter than 24 bytes', (n) => ({ from: member(n[0]!), msg: normal(1, 1n, []).subarray(0, 20), to: [n[2]!] }));
  expectLeaveAndResync('a state message shorter than 32 bytes', (n) => ({ from: member(n[0]!), msg: state(DfsmMessageType.VERIFY, n[1]!.dfsm.status().epoch).subarray(0, 28), to: [n[1]!] }));
  expectIgnored('an older protocol version', (n) => ({ from: member(n[0]!), msg: normal(DcdbMessageType.MKDIR, 99n, encodeFuseMessage({ path: 'x', to: null, data: null, offset: 0, flags: 0 }), 0) }));
  expectIgnored('a state message with a wrong epoch', (n) => ({ from: member(n[0]!), msg: state(DfsmMessageType.UPDATE_COMPLETE, { epoch: 999, time: 1, nodeid: 1, pid: 1 }) }));
  expectIgnored('an unknown state type (9) with the right epoch while SYNCED', (n) => ({ from: member(n[0]!), msg: state(9, n[0]!.dfsm.status().epoch), to: [n[0]!] }));
  expectIgnored('STATE and UPDATE while SYNCED', (n) => ({ from: member(n[0]!), msg: state(DfsmMessageType.STATE, n[0]!.dfsm.status().epoch, n[0]!.memdb.encodeIndex()), to: [n[0]!] }));
  expectIgnored('a RENAME without `to` (answered -EINVAL everywhere, nothing changes)', (n) => ({
    from: member(n[0]!),
    msg: normal(DcdbMessageType.RENAME, 1000n, encodeFuseMessage({ path: 'd/f', to: null, data: null, offset: 0, flags: 0 })),
  }));
  expectIgnored('an UNLOCK for a path that is no lock', (n) => ({
    from: member(n[0]!),
    msg: normal(DcdbMessageType.UNLOCK, 1000n, [Buffer.alloc(32), Buffer.from('d\0')]),
  }));

  // §14.7 dcdb deliver failures: every member leaves and resyncs
  expectLeaveAndResync('a NORMAL with an unknown dcdb subtype', (n) => ({ from: member(n[1]!), msg: normal(42, 1000n, [Buffer.from('junk')]) }));
  expectLeaveAndResync('a malformed fuse payload (pathlen beyond the payload)', (n) => {
    const [h] = encodeFuseMessage({ path: 'd/f', to: null, data: null, offset: 0, flags: 0 });
    h!.writeUInt32LE(500, 8);
    return { from: member(n[1]!), msg: normal(DcdbMessageType.WRITE, 1000n, [h!, Buffer.from('d/f\0')]) };
  });
  expectLeaveAndResync('a truncated unlock payload', (n) => ({ from: member(n[1]!), msg: normal(DcdbMessageType.UNLOCK_REQUEST, 1000n, [Buffer.alloc(10)]) }));
  expectLeaveAndResync('a VERIFY_REQUEST with a wrong length', (n) => ({ from: member(n[0]!), msg: state(DfsmMessageType.VERIFY_REQUEST, n[0]!.dfsm.status().epoch, Buffer.alloc(3)) }));
  expectLeaveAndResync('a VERIFY with a wrong checksum', (n) => {
    // a VERIFY_REQUEST first (delivered normally), then a forged VERIFY with another checksum
    const ep = n[0]!.dfsm.status().epoch;
    for (const p of n) p.handlers!.deliver(member(n[0]!), state(DfsmMessageType.VERIFY_REQUEST, ep, Buffer.from([7, 0, 0, 0, 0, 0, 0, 0])), false);
    const forged = Buffer.alloc(40, 0xaa);
    forged.writeBigUInt64LE(7n, 0);
    return { from: member(n[0]!), msg: state(DfsmMessageType.VERIFY, ep, forged), to: [n[1]!, n[2]!] };
  });

  it('a newer protocol version: VERSION_ERROR for good on the receiver, the others go on', async () => {
    const { c, n } = await cluster(13);
    inject(c, [n[2]!], member(n[0]!), normal(DcdbMessageType.MKDIR, 99n, encodeFuseMessage({ path: 'x', to: null, data: null, offset: 0, flags: 0 }), 2));
    settle(c, 20);
    assert.equal(n[2]!.dfsm.mode, DfsmMode.VERSION_ERROR);
    assert.equal(n[2]!.service.isInitialized, false, 'left the group and is not restarted');
    assertConverged(c, n.slice(0, 2));
    c.stopAll();
  });

  // §9 sync round: out-of-place and malformed messages during a round
  async function roundWithStaleNode(seed: number) {
    const { c, n } = await cluster(seed);
    c.stop(3, false);
    let r: number | undefined;
    void n[0]!.fs.write('d/f', Buffer.from('changed while 3 was away'), 0).then((x) => (r = x));
    settle(c, 3);
    await flush();
    assert.equal(r, 24);
    const n3 = c.start(3);
    return { c, n: [n[0]!, n[1]!, n3] };
  }

  /** Step the network until `pred` holds. */
  function stepUntil(c: SimCluster, pred: () => boolean): void {
    for (let i = 0; i < 100_000 && !pred(); i++) if (!c.net.step()) c.clock.advance(100);
    assert.ok(pred(), 'reached the wanted point of the round');
  }

  it('a garbled UPDATE during a sync round: the follower leaves, rejoins and is updated', async () => {
    const { c, n } = await roundWithStaleNode(14);
    const n3 = n[2]!;
    stepUntil(c, () => n3.dfsm.mode === DfsmMode.UPDATE);
    const l = leaves(c);
    const good = encodeUpdate({ inode: 5, parent: 0, version: 9, writer: 1, mtime: 5, size: 0, type: 4, name: 'zz', data: null });
    inject(c, [n3], member(n[0]!), state(DfsmMessageType.UPDATE, n3.dfsm.status().epoch, good.subarray(0, good.length - 3)));
    assert.equal(leaves(c) - l, 1);
    settle(c, 20);
    assertConverged(c, n);
    assert.equal(n3.memdb.read('d/f').toString(), 'changed while 3 was away');
    c.stopAll();
  });

  it('a STATE from a non-member during a sync round: the receiver leaves and resyncs', async () => {
    const { c, n } = await roundWithStaleNode(15);
    const n3 = n[2]!;
    stepUntil(c, () => n3.dfsm.mode === DfsmMode.START_SYNC && n3.dfsm.status().members.length === 3 && n3.dfsm.status().epoch.nodeid === 1);
    const l = leaves(c);
    inject(c, [n3], { nodeid: 9, pid: 999 }, state(DfsmMessageType.STATE, n3.dfsm.status().epoch, n3.memdb.encodeIndex()));
    assert.equal(leaves(c) - l, 1);
    settle(c, 20);
    assertConverged(c, n);
    c.stopAll();
  });

  it('a duplicate STATE during a sync round: the receiver leaves and resyncs', async () => {
    const { c, n } = await roundWithStaleNode(16);
    const n3 = n[2]!;
    stepUntil(c, () => n3.dfsm.mode === DfsmMode.START_SYNC && n3.dfsm.status().members.some((m) => m.hasState && m.nodeid !== 3));
    const sender = n3.dfsm.status().members.find((m) => m.hasState && m.nodeid !== 3)!;
    const l = leaves(c);
    inject(c, [n3], sender, state(DfsmMessageType.STATE, n3.dfsm.status().epoch, n[0]!.memdb.encodeIndex()));
    assert.equal(leaves(c) - l, 1);
    settle(c, 20);
    assertConverged(c, n);
    c.stopAll();
  });

  it('random garbage and mutated real messages never throw, never ERROR, and the cluster converges', async () => {
    const { c, n } = await cluster(17);
    const rng = new Rng(4242);
    const samples = [
      normal(DcdbMessageType.WRITE, 5000n, encodeFuseMessage({ path: 'd/f', to: null, data: Buffer.from('abc'), offset: 1, flags: 0 })),
      state(DfsmMessageType.UPDATE_COMPLETE, n[0]!.dfsm.status().epoch),
      state(DfsmMessageType.VERIFY, n[0]!.dfsm.status().epoch, Buffer.alloc(40)),
    ];
    for (let k = 0; k < 300; k++) {
      let msg: Buffer;
      if (rng.chance(0.3)) {
        msg = Buffer.alloc(rng.int(80));
        for (let i = 0; i < msg.length; i++) msg[i] = rng.int(256);
      } else {
        msg = Buffer.from(rng.pick(samples));
        for (let f = 0; f < 1 + rng.int(3); f++) msg[rng.int(msg.length)] = rng.int(256);
        if (rng.chance(0.3)) msg = msg.subarray(0, rng.int(msg.length));
      }
      if (msg.length >= 8 && rng.chance(0.8)) msg.writeUInt32LE(1, 4); // mostly the right protocol version
      const to = n.filter(() => rng.chance(0.5));
      inject(c, to, member(rng.pick(n)), msg);
      for (let s = rng.int(10); s > 0 && c.net.step(); s--);
      if (k % 30 === 29) settle(c, 8);
    }
    settle(c, 30);
    for (const e of c.modeEvents) assert.notEqual(e.to, 'ERROR');
    const ok = n.filter((p) => p.dfsm.mode !== DfsmMode.VERSION_ERROR);
    assert.ok(ok.length >= 1);
    for (const p of n) assert.equal(p.memdb.errors, false);
    assertConverged(c, ok);
    c.stopAll();
  });
});
