/**
 * The status group (pve_kvstore_v1) in the seeded simulator beside dcdb: seeded
 * schedules with partitions, crashes and restarts end with every node holding every
 * running node's keys and one identical cluster log; plus a hand-made partition/heal
 * and restart scenario with exact expectations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SimCluster, type NodeProcess } from '../../src/sim/cluster.js';
import { runSeed } from '../../src/sim/run.js';
import { DfsmMode } from '../../src/dfsm/types.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-sim-status-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SEEDS = Number(process.env['SIM_STATUS_SEEDS'] ?? 30);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const z = (s: string): Buffer => Buffer.concat([b(s), Buffer.alloc(1)]);

function settle(c: SimCluster, sec = 30): void {
  for (let i = 0; i < sec; i++) c.clock.advance(1000, () => c.net.runUntilIdle());
}

function log(p: NodeProcess, msg: string): void {
  p.status.logClusterMessage({ priority: 6, ident: b('root@pam'), tag: b('sim'), message: b(msg), pid: p.pid });
}

function messages(p: NodeProcess): string[] {
  const j = JSON.parse(p.status.clusterLogJson(1000, Buffer.alloc(0)).toString('latin1')) as { data: { msg: string; node: string }[] };
  return j.data.map((e) => `${e.node}:${e.msg}`);
}

describe('status group in the simulator', () => {
  it(`${SEEDS} seeded schedules with the status group: keys everywhere, one log, online = running`, async () => {
    const failures: string[] = [];
    let ops = 0;
    let entries = 0;
    for (let seed = 1001; seed < 1001 + SEEDS; seed++) {
      const r = await runSeed({ seed, steps: 50, dir });
      ops += r.stats.statusOps;
      entries += r.stats.logEntries;
      if (!r.ok) failures.push(`seed ${seed}: ${r.failure!.split('\n')[0]}\n  replay: ${r.replay}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(ops > SEEDS * 5, `status ops: ${ops}`);
    assert.ok(entries > SEEDS, `log entries: ${entries}`);
  });

  it('partition, writes on both sides, heal: every key and every entry everywhere, identical logs', () => {
    const c = new SimCluster({ seed: 9, nodes: 3, dir });
    const [n1, n2, n3] = [c.start(1), c.start(2), c.start(3)];
    settle(c);
    assert.ok([n1, n2, n3].every((p) => p.kvDfsm.mode === DfsmMode.SYNCED));
    c.net.partition([[1], [2, 3]]);
    settle(c, 5);
    n1.status.setStatus(b('kv/left'), z('from-1'));
    log(n1, 'left side');
    n3.status.setStatus(b('kv/right'), z('from-3'));
    log(n3, 'right side');
    settle(c, 5);
    assert.equal(n2.status.getStatus(b('kv/left'), b('node1')), -2, 'not across the partition');
    c.net.heal();
    settle(c);
    for (const p of [n1, n2, n3]) {
      if (p !== n1) assert.deepEqual(p.status.getStatus(b('kv/left'), b('node1')), z('from-1'));
      if (p !== n3) assert.deepEqual(p.status.getStatus(b('kv/right'), b('node3')), z('from-3'));
      assert.ok(messages(p).includes('node1:left side') && messages(p).includes('node3:right side'));
    }
    const state = n1.status.clusterlog.getState();
    assert.ok(n2.status.clusterlog.getState().equals(state) && n3.status.clusterlog.getState().equals(state));
    assert.match(n2.status.memberListText().toString(), /"node1": \{ "id": 1, "online": 1, "ip": "10\.0\.0\.1"\}/);
    c.stopAll();
  });

  it('a restarted node gets the others\' keys and the merged log back; its old keys stay on the others (as C)', () => {
    const c = new SimCluster({ seed: 10, nodes: 2, dir });
    const n1 = c.start(1);
    let n2 = c.start(2);
    settle(c);
    n2.status.setStatus(b('kv/old'), z('x'));
    log(n1, 'before restart');
    settle(c, 3);
    c.stop(2, true);
    settle(c, 3);
    assert.match(n1.status.memberListText().toString(), /"node2": \{ "id": 2, "online": 0/);
    n2 = c.start(2);
    settle(c);
    assert.ok(messages(n2).includes('node1:before restart'), 'merged from node 1');
    assert.equal(n2.status.getStatus(b('kv/old'), b('')), -2, 'a new process starts empty');
    assert.deepEqual(n1.status.getStatus(b('kv/old'), b('node2')), z('x'));
    assert.ok(n1.status.clusterlog.getState().equals(n2.status.clusterlog.getState()));
    c.stopAll();
  });
});
