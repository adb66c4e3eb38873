/** The service wrapper (loop.c + service_dfsm_*): leave, restart delay, failure, VERSION_ERROR. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SimCluster, type SimNode, stateMsg } from './dfsm-harness.js';
import { DfsmMessageType as T } from '../../src/wire/dfsm.js';
import { DCDB_CPG_GROUP } from '../../src/dfsm/types.js';

function synced(nodes: SimNode[]): boolean {
  return nodes.every((n) => n.dfsm.status().modeName === 'SYNCED');
}

/** Two synced nodes and a third CPG member (node 3) that speaks a newer protocol on demand. */
function twoNodesAndRogue(seed: number) {
  const c = new SimCluster(seed, [1, 2, 3]);
  const n1 = c.add(1, 1);
  const n2 = c.add(2, 2);
  n1.service.start();
  n2.service.start();
  c.settle();
  const rogue = c.net.connect(3, 3, { deliver() {}, confchg() {}, failure() {} });
  rogue.join(DCDB_CPG_GROUP);
  c.net.runUntilIdle();
  const sendNewerProtocol = (): void => void rogue.send([stateMsg(T.SYNC_START, { epoch: 1, time: 1, nodeid: 3, pid: 3 }, Buffer.alloc(0), 2)]);
  return { c, n1, n2, sendNewerProtocol };
}

describe('DfsmService', () => {
  it('joins pve_dcdb_v1 10 ms after start', () => {
    const c = new SimCluster(1, [1]);
    const n = c.add(1, 1);
    n.service.start();
    c.clock.advance(9);
    assert.equal(n.transport, null);
    c.clock.advance(1);
    c.net.runUntilIdle();
    assert.ok(n.transport);
    assert.equal(n.dfsm.groupName, DCDB_CPG_GROUP);
    assert.equal(n.dfsm.status().modeName, 'SYNCED');
  });

  it('after LEAVE: leaves, waits for its departure, rejoins only when more than 5 s passed since the last initialize', () => {
    const c = new SimCluster(2, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    n1.service.start();
    n2.service.start();
    c.settle();
    assert.ok(synced([n1, n2]));
    const t2 = n2.transport;
    n2.dfsm.deliver(n1, Buffer.alloc(2)); // hostile short message → LEAVE
    // the service reacts after a dispatch; give it one
    n1.dfsm.sendMessageNoWait(1, [Buffer.from('a=b')]);
    c.net.runUntilIdle();
    assert.equal(n2.service.isInitialized, false);
    assert.equal(n2.dfsm.status().modeName, 'LEAVE');
    assert.deepEqual(n1.dfsm.status().members.map((m) => m.nodeid), [1]);
    c.clock.advance(4000, () => c.net.runUntilIdle());
    assert.equal(n2.service.isInitialized, false, 'not within 5 s of the last initialize');
    c.clock.advance(3000, () => c.net.runUntilIdle());
    c.net.runUntilIdle();
    assert.equal(n2.service.isInitialized, true);
    assert.equal(n2.transport, t2, 'the CPG connection is kept across the restart (as C)');
    assert.ok(synced([n1, n2]));
    assert.equal(n2.app.kv.get('a'), 'b');
  });

  it('transport failure: finalize, create a new connection, rejoin and resync', () => {
    const c = new SimCluster(3, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    n1.service.start();
    n2.service.start();
    c.settle();
    const t2 = n2.transport;
    assert.ok(t2);
    c.net.fail(t2);
    c.net.runUntilIdle();
    assert.equal(n2.service.isInitialized, false);
    c.settle(7000);
    assert.notEqual(n2.transport, t2, 'a new connection');
    assert.ok(synced([n1, n2]));
    assert.equal(n2.service.starts, 2);
  });

  it('recreateTransportOnLeave closes the connection at every leave', () => {
    const c = new SimCluster(4, [1, 2]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    (n2.service as unknown as { opts: { recreateTransportOnLeave: boolean } }).opts.recreateTransportOnLeave = true;
    n1.service.start();
    n2.service.start();
    c.settle();
    const t2 = n2.transport;
    n2.dfsm.deliver(n1, Buffer.alloc(2));
    n1.dfsm.sendMessageNoWait(1, [Buffer.from('a=b')]);
    c.settle(7000);
    assert.notEqual(n2.transport, t2);
    assert.ok(synced([n1, n2]));
  });

  it('a newer protocol version stops every node permanently (VERSION_ERROR)', () => {
    const { c, n1, n2, sendNewerProtocol } = twoNodesAndRogue(5);
    sendNewerProtocol();
    c.settle(60_000);
    for (const n of [n1, n2]) {
      assert.equal(n.dfsm.status().modeName, 'VERSION_ERROR');
      assert.equal(n.service.isInitialized, false);
      assert.equal(n.service.starts, 1, 'never re-initialized');
      assert.equal(n.dfsm.status().joined, false);
    }
  });

  it('VERSION_ERROR answers writers: the one waiting and every later one get EBUSY, the CPG handle is finalized', async () => {
    const { c, n1, sendNewerProtocol } = twoNodesAndRogue(7);
    // A writer whose message is still in flight when the newer protocol arrives.
    const waiting = n1.dfsm.sendMessage(1, [Buffer.from('w=1')]);
    sendNewerProtocol();
    c.settle(60_000);
    assert.equal(n1.dfsm.status().modeName, 'VERSION_ERROR');
    assert.equal(n1.dfsm.hasTransport, false, 'finalized (service_dfsm_dispatch: not restartable)');
    const EBUSY = 16;
    const first = await Promise.race([waiting, new Promise<string>((r) => setTimeout(() => r('hang'), 1000))]);
    assert.ok(first === -EBUSY || first === 0, `the waiting writer is answered (got ${String(first)})`);
    assert.equal(await n1.dfsm.sendMessage(1, [Buffer.from('w=2')]), -EBUSY, 'a later writer: EBUSY at once');
    assert.equal(n1.dfsm.status().waitingWriters, 0);
  });

  it('a member that never answers SYNC_START stalls the round; its crash unblocks it', () => {
    const c = new SimCluster(6, [1, 2, 3]);
    const n1 = c.add(1, 1);
    const n2 = c.add(2, 2);
    n1.service.start();
    n2.service.start();
    c.settle();
    const silent = c.net.connect(3, 3, { deliver() {}, confchg() {}, failure() {} });
    silent.join(DCDB_CPG_GROUP);
    c.settle(1000);
    assert.deepEqual(
      [n1, n2].map((n) => n.dfsm.status().modeName),
      ['START_SYNC', 'START_SYNC'],
    );
    const p = n2.dfsm.sendMessage(1, [Buffer.from('k=v')]);
    c.settle();
    assert.equal(n1.dfsm.status().msgQueue, 1, 'queued during the round');
    c.net.crash(silent);
    c.settle();
    assert.ok(synced([n1, n2]));
    return p.then((r) => assert.equal(r, 1));
  });
});
