/**
 * The CPU of a full copy per node, in one process and without corosync: nodes 1 and
 * 2 hold a generated database and are synced, node 3 joins with an empty one; the
 * real Dfsm + Dcdb + Memdb of each node are connected by the in-memory SimNetwork
 * (src/cluster/sim.ts). Every delivery is timed with process.cpuUsage, so the figures
 * are the leader's (its state, the encoding of the UPDATEs, its own deliveries), the
 * synced follower's and the joiner's work, apart from corosync and the addon (the
 * simulated multicast's own copying is subtracted: `sim send`).
 *
 *   node dist/src/bench/synccost.js [--inodes=6000] [--bytes=10000000] [--rounds=3]
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimNetwork } from '../cluster/sim.js';
import type { ConfChange, MemberId } from '../cluster/transport.js';
import { Dcdb } from '../dcdb/dcdb.js';
import { Dfsm } from '../dfsm/dfsm.js';
import { DfsmMode } from '../dfsm/types.js';
import { Memdb } from '../memdb/memdb.js';
import { peekMessageType } from '../wire/dfsm.js';
import { cachedDb } from './gendb.js';

const CACHE = '/var/tmp/pmxcfs-bench';
/** A process is one node; pids are fixed so rounds are alike. */
const PID_BASE = 1000;

interface TimedNode {
  readonly name: string;
  readonly memdb: Memdb;
  readonly dfsm: Dfsm;
  /** CPU µs by the DFSM message type delivered (and 'confchg'). */
  readonly cpu: Map<string, number>;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function addNode(net: SimNetwork, nodeid: number, file: string): TimedNode {
  const memdb = Memdb.open(file);
  const dfsm = new Dfsm({ callbacks: (d) => new Dcdb(d, { memdb }) });
  const cpu = new Map<string, number>();
  const timed = (key: string, fn: () => void): void => {
    const t0 = cpuNow();
    fn();
    cpu.set(key, (cpu.get(key) ?? 0) + cpuNow() - t0);
  };
  const t = net.connect(nodeid, PID_BASE + nodeid, {
    deliver: (from: MemberId, msg: Buffer) => timed(`type ${peekMessageType(msg)}`, () => dfsm.deliver(from, msg)),
    confchg: (change: ConfChange) => timed('confchg', () => dfsm.confchg(change)),
    failure: () => {
      throw new Error(`node ${nodeid}: transport failure`);
    },
  });
  // The simulated multicast copies every message: its time is not the node's.
  const send = t.send.bind(t);
  t.send = (buffers: readonly Buffer[]): number => {
    const t0 = cpuNow();
    const r = send(buffers);
    cpu.set('sim send', (cpu.get('sim send') ?? 0) - (cpuNow() - t0));
    return r;
  };
  dfsm.attach(t);
  dfsm.initialize();
  dfsm.join();
  return { name: `n${nodeid}`, memdb, dfsm, cpu };
}

/** One copy; the CPU µs of nodes 1, 2, 3. */
function round(file: string, dir: string): number[] {
  const files = [1, 2, 3].map((i) => join(dir, `n${i}.db`));
  for (const f of files) for (const ext of ['', '-wal', '-shm']) rmSync(f + ext, { force: true });
  copyFileSync(file, files[0]!);
  copyFileSync(file, files[1]!);
  const net = new SimNetwork({ seed: 1, flushBeforeChange: 0 });
  const nodes = [addNode(net, 1, files[0]!), addNode(net, 2, files[1]!)];
  net.runUntilIdle();
  for (const n of nodes) n.cpu.clear();
  const t0 = cpuNow();
  nodes.push(addNode(net, 3, files[2]!));
  net.runUntilIdle();
  const total = cpuNow() - t0;
  for (const n of nodes) {
    if (n.dfsm.mode !== DfsmMode.SYNCED) throw new Error(`${n.name} is ${n.dfsm.modeName} after the copy`);
  }
  if (!nodes[2]!.memdb.checksum().equals(nodes[0]!.memdb.checksum())) throw new Error('n3 differs from n1 after the copy');
  const show = (n: TimedNode): string => {
    const sum = [...n.cpu.values()].reduce((a, b) => a + b, 0);
    const parts = [...n.cpu.entries()].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ');
    return `${n.name} ${(sum / 1000).toFixed(1)} ms (${parts})`;
  };
  process.stdout.write(`total ${(total / 1000).toFixed(1)} ms; ${nodes.map(show).join('; ')}\n`);
  for (const n of nodes) n.memdb.close();
  return nodes.map((n) => [...n.cpu.values()].reduce((a, b) => a + b, 0));
}

function arg(name: string, dflt: number): number {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`));
  return v === undefined ? dflt : Number(v.slice(name.length + 3));
}

function main(): void {
  const inodes = arg('inodes', 6000);
  const bytes = arg('bytes', 10_000_000);
  const file = cachedDb(CACHE, 'synccost', { inodes, bytes });
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-synccost-'));
  try {
    const runs: number[][] = [];
    for (let r = 0; r < arg('rounds', 3); r++) runs.push(round(file, dir));
    // The first round runs cold code, as a daemon's only copy does; the best of the
    // later ones is the least disturbed by other work on the machine.
    const best = (i: number): string => (Math.min(...runs.slice(1).map((x) => x[i]!)) / 1000).toFixed(1);
    const first = (i: number): string => (runs[0]![i]! / 1000).toFixed(1);
    process.stdout.write(`first round ms: n1 ${first(0)}, n2 ${first(1)}, n3 ${first(2)}; best later round: n1 ${best(0)}, n2 ${best(1)}, n3 ${best(2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
