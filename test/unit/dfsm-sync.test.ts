import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DfsmMessageType } from '../../src/wire/dfsm.js';
import { EACCES, EBUSY } from '../../src/dfsm/dfsm.js';
import { SimCluster, type SimNode, SUB_FAIL, SUB_SET } from './dfsm-harness.js';

function set(n: SimNode, k: string, v: string): Promise<number> {
  return n.dfsm.sendMessage(SUB_SET, [Buffer.from(`${k}=${v}`)]);
}

function assertConverged(nodes: SimNode[]): void {
  const first = nodes[0] as SimNode;
  for (const n of nodes) {
    assert.equal(n.dfsm.status().modeName, 'SYNCED', `node ${n.nodeid} synced`);
    assert.deepEqual(n.app.snapshot().toString(), first.app.snapshot().toString(), `node ${n.nodeid} data`);
  }
}

describe('DFSM sync rounds on the simulated CPG', () => {
  for (let size = 1; size <= 5; size++) {
    it(`${size} member(s) converge to the newest data`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const ids = [...Array(size).keys()].map((i) => i + 1);
        const c = new SimCluster(seed * 100 + size, ids);
        for (const id of ids) {
          const n = c.add(id, 1000 + id);
          // node `size` has the newest data
          for (let v = 0; v < id; v++) n.app.set(`k${id}-${v}`, `v${v}`);
        }
        for (const n of c.nodes) n.service.start();
        c.settle();
        const newest = c.nodes[size - 1] as SimNode;
        assertConverged(c.nodes);
        assert.equal(c.nodes[0]?.app.version, size);
        assert.ok(c.nodes[0]?.app.kv.has(`k${size}-0`));
        for (const n of c.nodes) {
          const st = n.dfsm.status();
          assert.equal(st.lowestNodeid, 1);
          assert.deepEqual(
            st.members.map((m) => [m.nodeid, m.synced]),
            ids.map((id) => [id, true]),
          );
          if (size > 1) assert.deepEqual(st.lastLeader, { nodeid: newest.nodeid, pid: newest.pid });
          assert.equal(st.msgQueue, 0);
          assert.equal(st.syncQueue, 0);
        }
      }
    });
  }

  it('writes are applied in the same order everywhere and the writer gets its result', async () => {
    const c = new SimCluster(9, [1, 2, 3]);
    for (const id of [1, 2, 3]) c.add(id, id * 10);
    for (const n of c.nodes) n.service.start();
    c.settle();
    const ps = [];
    for (let i = 0; i < 10; i++) for (const n of c.nodes) ps.push(set(n, `n${n.nodeid}`, 'x'.repeat(i)));
    c.settle();
    const results = await Promise.all(ps);
    assert.deepEqual(results, [...Array(30).keys()].map(() => 2));
    assertConverged(c.nodes);
    assert.deepEqual(c.nodes[1]?.app.applied, c.nodes[0]?.app.applied);
    assert.deepEqual(c.nodes[2]?.app.applied, c.nodes[0]?.app.applied);
    assert.equal(c.nodes[0]?.app.applied.length, 30);
  });

  it('messages sent during a sync round are queued and applied after it', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const c = new SimCluster(seed, [1, 2, 3]);
      for (const id of [1, 2, 3]) c.add(id, id);
      const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
      n3.app.set('old', 'data');
      n1.service.start();
      n2.service.start();
      c.settle();
      n3.service.start();
      c.clock.advance(20);
      // the join is under way: writes while modes are START_SYNC/UPDATE
      const ps: Promise<number>[] = [];
      let queued = false;
      for (let i = 0; i < 400 && c.net.step(); i++) {
        if (i % 3 === 0) ps.push(set(c.nodes[i % 2] as SimNode, `w${i}`, 'v'));
        if (c.nodes.some((n) => n.dfsm.status().msgQueue > 0)) queued = true;
      }
      c.settle();
      const results = await Promise.all(ps);
      assertConverged(c.nodes);
      // the KV app answers with the key length (index of '=')
      for (const r of results) assert.ok(r === 2 || r === 3 || r === 4, `result ${r}`);
      if (seed === 1) assert.ok(queued || ps.length > 0);
      // every write is applied exactly once on every node
      for (const n of c.nodes) assert.equal(new Set(n.app.applied).size, n.app.applied.length);
      assert.equal(n1.app.applied.length, ps.length);
    }
  });

  it('not quorate: sendMessage gives -EACCES and sends nothing', async () => {
    const c = new SimCluster(4, [1, 2, 3]);
    const [n1] = [c.add(1, 1), c.add(2, 2)];
    for (const n of c.nodes) n.service.start();
    c.settle();
    c.net.setQuorate(1, false);
    const before = n1.dfsm.status().msgcount;
    assert.equal(await set(n1, 'a', 'b'), -EACCES);
    assert.equal(n1.dfsm.status().msgcount, before);
    assert.equal(n1.dfsm.sendMessageNoWait(SUB_SET, [Buffer.from('a=b')]), false);
  });

  it('a write delivered while the receiver is not quorate makes it leave and resync', async () => {
    const c = new SimCluster(5, [1, 2, 3]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    for (const n of c.nodes) n.service.start();
    c.settle();
    c.net.setQuorate(2, false);
    const p = set(n1, 'a', 'b');
    c.net.runUntilIdle();
    assert.equal(await p, 1);
    assert.equal(n2.dfsm.status().modeName, 'LEAVE', 'n2 left, waiting for restart');
    assert.equal(n2.service.isInitialized, false);
    c.net.setQuorate(2, undefined);
    c.settle(7000);
    assertConverged([n1, n2]);
    assert.equal(n2.app.kv.get('a'), 'b', 'n2 got the write through the resync');
    assert.ok(n2.service.starts >= 2);
  });

  it('an application failure on delivery: writer gets the app result, every node resyncs', async () => {
    const c = new SimCluster(6, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    for (const n of c.nodes) n.service.start();
    c.settle();
    const p = n1.dfsm.sendMessage(SUB_FAIL, []);
    c.net.runUntilIdle();
    assert.equal(await p, -5);
    assert.deepEqual(c.modes(), ['LEAVE', 'LEAVE']);
    c.settle(7000);
    assertConverged([n1, n2]);
  });

  it('writer waiting while the node leaves gets -EBUSY after the restart', async () => {
    const c = new SimCluster(8, [1, 2]);
    const n1 = c.add(1, 1);
    c.add(2, 2);
    for (const n of c.nodes) n.service.start();
    c.settle();
    // n1 goes to LEAVE before its own message comes back
    const p = set(n1, 'k', 'v');
    n1.dfsm.deliver({ nodeid: 9, pid: 9 }, Buffer.alloc(3)); // short message → LEAVE
    assert.equal(n1.dfsm.status().modeName, 'LEAVE');
    let settled: number | undefined;
    void p.then((r) => (settled = r));
    c.net.runUntilIdle();
    await Promise.resolve();
    assert.equal(settled, undefined, 'still waiting while in LEAVE');
    c.settle(7000);
    assert.equal(await p, -EBUSY);
    assert.equal(n1.dfsm.status().modeName, 'SYNCED');
  });

  it('resends own queued messages when members join during a round', async () => {
    let resendSeen = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const c = new SimCluster(seed, [1, 2, 3, 4]);
      for (const id of [1, 2, 3, 4]) c.add(id, id);
      const [n1, n2, n3, n4] = c.nodes as [SimNode, SimNode, SimNode, SimNode];
      n1.service.start();
      n2.service.start();
      c.settle();
      n3.service.start();
      c.clock.advance(20);
      // step until n2 is in START_SYNC with a queued own message
      const ps: Promise<number>[] = [];
      for (let i = 0; i < 200 && c.net.step(); i++) {
        if (n2.dfsm.status().modeName === 'START_SYNC' && ps.length < 3) ps.push(set(n2, `q${ps.length}`, 'v'));
        if (n2.dfsm.status().msgQueue > 0) break;
      }
      n4.service.start();
      c.clock.advance(1000);
      c.settle(20);
      const results = await Promise.all(ps);
      assertConverged(c.nodes);
      for (const r of results) assert.equal(r, 2);
      for (const n of c.nodes) for (let i = 0; i < ps.length; i++) assert.equal(n.app.kv.get(`q${i}`), 'v');
      for (const n of c.nodes) assert.equal(new Set(n.app.applied).size, n.app.applied.length, 'no double apply');
      const hashes = c.net.trace.filter((l) => l.startsWith('order 2/2 len=28 ')).map((l) => l.split(' h=')[1]?.split(' ')[0]);
      if (new Set(hashes).size < hashes.length) resendSeen++;
    }
    assert.ok(resendSeen > 0, 'some seeds exercised a resend');
  });

  it('verify: the lowest node requests, all compare, mismatch makes a node leave and resync', () => {
    const c = new SimCluster(12, [1, 2, 3]);
    for (const id of [1, 2, 3]) c.add(id, id, 3600);
    for (const n of c.nodes) n.service.start();
    c.settle();
    c.settle(3600 * 1000);
    for (const n of c.nodes.slice(1)) assert.equal(n.dfsm.status().lastVerify?.result, 'ok');
    assert.equal(c.nodes[0]?.dfsm.status().csumCounter, 1n);
    // corrupt node 3 silently; next verify finds it
    const n3 = c.nodes[2] as SimNode;
    n3.app.kv.set('corrupt', 'yes');
    c.clock.advance(3600 * 1000 - 1000, () => c.net.runUntilIdle());
    c.net.runUntilIdle();
    c.clock.advance(1000, () => c.net.runUntilIdle());
    c.net.runUntilIdle();
    assert.equal(n3.dfsm.status().lastVerify?.result, 'mismatch');
    c.settle(7000);
    // n3 rejoined: its version equals the others', the leader is the earliest member
    assertConverged(c.nodes);
  });

  it('verify requests are not sent by non-lowest nodes or while a request is pending', () => {
    const c = new SimCluster(13, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    for (const n of c.nodes) n.service.start();
    c.settle();
    n2.dfsm.verifyRequest();
    assert.equal(n2.dfsm.status().csumCounter, 0n);
    n1.dfsm.verifyRequest();
    n1.dfsm.verifyRequest(); // delayed: previous not back yet
    assert.equal(n1.dfsm.status().csumCounter, 1n);
    c.net.runUntilIdle();
    const types = c.net.trace.filter((l) => l.startsWith('order 1/1')).length;
    assert.ok(types >= 2);
    assert.equal(n2.dfsm.status().lastVerify?.result, 'ok');
    assert.equal(n1.dfsm.status().lastVerify?.result, 'ok');
  });

  it('partition: both sides keep working; heal resyncs to the newest', async () => {
    const c = new SimCluster(21, [1, 2, 3]);
    for (const id of [1, 2, 3]) c.add(id, id);
    for (const n of c.nodes) n.service.start();
    c.settle();
    c.net.partition([[1, 2], [3]]);
    c.settle();
    const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
    assert.equal(await Promise.all([set(n1, 'a', '1'), (c.net.runUntilIdle(), Promise.resolve(0))]).then((r) => r[0]), 1);
    assert.equal(await set(n3, 'b', '2'), -EACCES, 'minority is not quorate');
    c.net.heal();
    c.settle();
    assertConverged([n1, n2, n3]);
    assert.equal(n3.app.kv.get('a'), '1');
  });

  it('crash of the data leader during a round: survivors finish a new round', () => {
    let exercised = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const c = new SimCluster(seed, [1, 2, 3]);
      for (const id of [1, 2, 3]) c.add(id, id);
      const [n1, n2, n3] = c.nodes as [SimNode, SimNode, SimNode];
      for (let i = 0; i < 5; i++) n3.app.set(`k${i}`, 'v');
      n1.service.start();
      n2.service.start();
      n3.service.start();
      c.clock.advance(20);
      for (let i = 0; i < 25 && c.net.step(); i++);
      if (n3.transport) {
        c.net.crash(n3.transport);
        exercised++;
      }
      n3.service.stop();
      c.settle();
      assertConverged([n1, n2]);
    }
    assert.ok(exercised > 0);
  });

  it('is deterministic for a seed', async () => {
    const run = async (seed: number) => {
      const c = new SimCluster(seed, [1, 2, 3]);
      for (const id of [1, 2, 3]) c.add(id, id).app.set(`init${id}`, 'x');
      for (const n of c.nodes) n.service.start();
      c.clock.advance(20);
      const ps: Promise<number>[] = [];
      for (let i = 0; i < 60 && c.net.step(); i++) if (i % 5 === 0) ps.push(set(c.nodes[i % 3] as SimNode, `k${i}`, 'v'));
      c.settle();
      await Promise.all(ps);
      return c.net.trace.join('\n') + c.nodes.map((n) => n.app.applied.join(',')).join('|');
    };
    assert.equal(await run(77), await run(77));
  });

  it('STATE messages never reach UPDATE processing of the leader itself', () => {
    const c = new SimCluster(31, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    n2.app.set('x', 'y');
    for (const n of c.nodes) n.service.start();
    c.settle();
    assertConverged([n1, n2]);
    assert.equal(n2.app.commits, 0, 'leader never commits');
    assert.equal(n1.app.commits, 1);
    assert.ok(DfsmMessageType.UPDATE === 3);
  });
});

describe('DFSM randomized runs', () => {
  it('writes, partitions, heals and forced leaves: all nodes converge, acknowledged writes survive', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const c = new SimCluster(seed, [1, 2, 3, 4]);
      for (const id of [1, 2, 3, 4]) c.add(id, id);
      for (const n of c.nodes) n.service.start();
      c.settle();
      const rng = c.net.rng;
      const acked: { key: string; p: Promise<number> }[] = [];
      for (let op = 0; op < 60; op++) {
        const r = rng.int(100);
        const n = rng.pick(c.nodes);
        if (r < 60) {
          const key = `s${seed}o${op}`;
          acked.push({ key, p: set(n, key, 'v') });
        } else if (r < 70) {
          c.net.partition([[1, 2, 3], [4]].map((g) => (rng.chance(0.5) ? g : g.slice().reverse())));
        } else if (r < 80) {
          c.net.heal();
        } else if (r < 85) {
          n.dfsm.deliver({ nodeid: 1, pid: 1 }, Buffer.alloc(3)); // force LEAVE
        }
        for (let s = rng.int(30); s > 0 && c.net.step(); s--);
        if (rng.chance(0.2)) c.clock.advance(1000, () => c.net.runUntilIdle());
      }
      c.net.heal();
      c.settle(10_000);
      c.settle(10_000);
      assertConverged(c.nodes);
      const final = c.nodes[0] as SimNode;
      for (const { key, p } of acked) {
        const r = await p;
        if (r > 0) assert.equal(final.app.kv.get(key), 'v', `seed ${seed}: acknowledged ${key} survives`);
      }
    }
  });
});
