/**
 * Deterministic simulation of the real stack (Memdb + Dcdb + Dfsm + DfsmService on a
 * SimNetwork with virtual time), src/sim. 200 seeds with 2–7 nodes; a failing seed
 * prints the command that replays it. Plus regression tests for the bugs the
 * simulation found.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SimCluster } from '../../src/sim/cluster.js';
import { runSeed } from '../../src/sim/run.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { DfsmMode } from '../../src/dfsm/types.js';
import { ENOTEMPTY } from '../../src/memdb/errno.js';
import { ManualClock } from '../../src/util/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-sim-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 200);
const STEPS = Number(process.env['SIM_STEPS'] ?? 50);

describe('simulation of the real dcdb stack', () => {
  it(`${SEEDS} seeded schedules (2-7 nodes, ${STEPS} steps) keep every invariant`, async () => {
    const failures: string[] = [];
    let calm = 0;
    let acked = 0;
    let unlocks = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed({ seed, steps: STEPS, dir });
      if (r.profile === 'calm') calm++;
      acked += r.stats.acked;
      unlocks += r.stats.unlocks;
      if (!r.ok) failures.push(`seed ${seed}: ${r.failure!.split('\n')[0]}\n  replay: ${r.replay}`);
    }
    assert.deepEqual(failures, []);
    if (SEEDS < 50) return;
    // the schedules really exercise both profiles, acknowledged writes and the unlock flow
    assert.ok(calm > SEEDS / 5 && calm < SEEDS, `calm schedules: ${calm}`);
    assert.ok(acked > SEEDS * 5, `acknowledged ops: ${acked}`);
    assert.ok(unlocks > 0, 'some lock was unlocked through UNLOCK_REQUEST/UNLOCK');
  });

  it('is deterministic: the same seed gives the same network trace and result', async () => {
    const a = await runSeed({ seed: 77, nodes: 4, steps: 40, dir, traceTail: 1_000_000, profile: 'faulty' });
    const b = await runSeed({ seed: 77, nodes: 4, steps: 40, dir, traceTail: 1_000_000, profile: 'faulty' });
    assert.deepEqual(a.stats, b.stats);
    assert.equal(a.ok, b.ok);
  });

  it('a failing seed reports a one-line replay command', async () => {
    const r = await runSeed({ seed: 5, nodes: 3, steps: 10, dir });
    assert.equal(r.replay, 'npm run sim -- --seed 5 --nodes 3 --steps 10');
  });
});

describe('regressions found by the simulation', () => {
  it('a data leader holding a file with size but no data reloads it as empty and leaves, then the round succeeds', async () => {
    const c = new SimCluster({ seed: 3, nodes: 2, dir });
    const n1 = c.start(1);
    const settle = () => {
      for (let i = 0; i < 30; i++) c.clock.advance(1000, () => c.net.runUntilIdle());
    };
    settle();
    // racing truncates leave "size 5, no data" (memdb.md pitfall 2) on node 1
    const now = Math.floor(c.clock.nowMs() / 1000);
    assert.equal(n1.memdb.create('f', 1, now), 0);
    assert.equal(n1.memdb.write('f', 1, now, Buffer.from('abc'), 0, false), 3);
    assert.equal(n1.memdb.write('f', 1, now, null, 0, true), 0);
    assert.equal(n1.memdb.write('f', 1, now, null, 5, true), 0);
    assert.equal(n1.memdb.getattr('f')!.size, 5);
    assert.equal(n1.memdb.getattr('f')!.data, null);
    const n2 = c.start(2); // empty database: node 1 is the data leader and must send 'f'
    settle();
    assert.equal(c.modeEvents.filter((e) => e.to === 'LEAVE').length, 1, 'the leader left once');
    assert.equal(n1.dfsm.mode, DfsmMode.SYNCED);
    assert.equal(n2.dfsm.mode, DfsmMode.SYNCED);
    assert.equal(n1.memdb.getattr('f')!.size, 0);
    assert.ok(n1.memdb.encodeIndex().equals(n2.memdb.encodeIndex()));
    assert.equal(n1.memdb.errors || n2.memdb.errors, false);
    c.stopAll();
  });

  it('writes that arrive during a sync round are queued as copies: deliveries are borrowed views, poisoned after each call', async () => {
    const c = new SimCluster({ seed: 5, nodes: 3, dir });
    const settle = () => {
      for (let i = 0; i < 30; i++) c.clock.advance(1000, () => c.net.runUntilIdle());
    };
    const n1 = c.start(1);
    const n2 = c.start(2);
    settle();
    const files = ['q0', 'q1', 'q2', 'q3'];
    const created = Promise.all(files.map((f) => n1.fs.create(f)));
    settle();
    assert.deepEqual(await created, [0, 0, 0, 0]);
    const n3 = c.start(3); // empty: a round with updates from the data leader
    for (let i = 0; i < 100_000 && (n3.dfsm.mode === DfsmMode.START || n3.dfsm.mode === DfsmMode.SYNCED); i++) {
      if (!c.net.step()) c.clock.advance(10, () => undefined);
    }
    assert.ok(n3.dfsm.mode === DfsmMode.START_SYNC || n3.dfsm.mode === DfsmMode.UPDATE, `node 3 in a round: ${n3.dfsm.modeName}`);
    // sent now, these reach node 3 before its round ends: it queues them
    const writes = Promise.all(files.map((f, k) => n1.fs.write(f, Buffer.from(`${f} `.repeat(50 + k)), 0)));
    settle();
    assert.deepEqual(await writes, files.map((f, k) => (f.length + 1) * (50 + k)));
    for (const n of [n1, n2, n3]) assert.equal(n.dfsm.mode, DfsmMode.SYNCED);
    for (const f of files) {
      for (const n of [n2, n3]) assert.deepEqual(n.memdb.read(f), n1.memdb.read(f), `${f} on node ${n.nodeid}`);
    }
    assert.ok(n1.memdb.encodeIndex().equals(n3.memdb.encodeIndex()));
    c.stopAll();
  });

  it('a node that left keeps no events of the session it left (seeds that looped in leave/rejoin)', async () => {
    for (const seed of [21, 40]) {
      const r = await runSeed({ seed, nodes: seed === 21 ? 5 : 6, steps: 60, dir });
      assert.ok(r.ok, `seed ${seed}: ${r.failure?.split('\n')[0]}`);
    }
  });

  it('a failing rename that drops its target from memory also drops its row (later commits and restarts agree)', () => {
    const file = join(dir, 'rename-victim.db');
    rmSync(file, { force: true });
    const m = Memdb.open(file, { clock: ManualClock.atSeconds(1000) });
    assert.equal(m.mkdir('d', 1, 1000), 0);
    assert.equal(m.create('d/x', 1, 1000), 0);
    assert.equal(m.create('t', 1, 1000), 0);
    assert.equal(m.rename('d', 't', 1, 1000), -ENOTEMPTY);
    assert.equal(m.getattr('t'), null, 'C drops the target from memory (pitfall 3)');
    const index = m.encodeIndex();
    m.close();
    const again = Memdb.open(file, { clock: ManualClock.atSeconds(1000) });
    assert.equal(again.getattr('t'), null, 'not resurrected by a restart');
    assert.ok(again.encodeIndex().equals(index));
    again.close();
  });
});
