/**
 * `node dist/src/bench/deliver.js [--files N] [--size B] [--daemon-log]`: the CPU of
 * one replicated delivery in-process, with no corosync: two members (Dfsm + Dcdb +
 * Memdb on their own SQLite files in a temporary directory) joined by a bus that
 * delivers every message to both, in send order. Node 1 creates and writes N files
 * (CREATE then WRITE of `size` bytes, as a FUSE create+write does) and waits for each
 * own message to come back, as its FUSE handler does; node 2 then applies the same
 * messages as a follower. Prints the CPU (process.cpuUsage, user + system) per
 * delivery of each role. `--daemon-log`: pino at info level to /dev/null, as the
 * daemon logs (default: the silent logger). Run it under `node --cpu-prof` for the
 * profile (scripts/cpuprofile-summary.mjs summarises one). `--mkdir`: directories instead
 * of files (one delivery each); `--warmup=N` files first; `--sender-only`.
 */
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CsError, type ConfChange, type MemberId, type Transport } from '../cluster/transport.js';
import { Dcdb } from '../dcdb/dcdb.js';
import { Dfsm } from '../dfsm/dfsm.js';
import { Memdb } from '../memdb/memdb.js';
import { StatusCounters } from '../status/counters.js';
import { assert } from '../util/assert.js';
import { type Log, silentLog } from '../util/log.js';
import { DcdbMessageType } from '../wire/dcdb.js';

/** Files per run unless --files says otherwise (two deliveries each). */
const DEFAULT_FILES = 2000;
/** Deliveries of the warm-up before measuring (JIT, SQLite page cache). */
const WARMUP_FILES = 3000;

interface Sent {
  readonly from: MemberId;
  readonly msg: Buffer;
}

/** Every message to every member, in send order; `record` keeps node 1's messages for the follower replay. */
class Bus {
  readonly pending: Sent[] = [];
  readonly members: { id: MemberId; dfsm: Dfsm }[] = [];
  record: Buffer[] | null = null;
  transport(local: MemberId): Transport {
    return {
      local,
      join: () => CsError.OK,
      leave: () => CsError.OK,
      send: (buffers) => {
        const msg = Buffer.concat(buffers);
        this.pending.push({ from: local, msg });
        this.record?.push(msg);
        return CsError.OK;
      },
      close: () => undefined,
    };
  }
  /** Deliver until nothing is pending; `only`: deliver to that member alone. */
  pump(only?: Dfsm): void {
    while (this.pending.length > 0) {
      const s = this.pending.shift()!;
      for (const m of this.members) if (only === undefined || m.dfsm === only) m.dfsm.deliver(s.from, s.msg);
    }
  }
}

interface Node {
  readonly dfsm: Dfsm;
  readonly dcdb: Dcdb;
  readonly memdb: Memdb;
}

function makeNode(bus: Bus, dir: string, nodeid: number, log: Log): Node {
  const memdb = Memdb.open(join(dir, `node${nodeid}.db`), { log });
  new StatusCounters(memdb);
  let dcdb: Dcdb | null = null;
  const dfsm = new Dfsm({ callbacks: (d) => (dcdb = new Dcdb(d, { memdb, log })), logger: log });
  const id = { nodeid, pid: 1000 + nodeid };
  dfsm.attach(bus.transport(id));
  dfsm.initialize();
  assert(dfsm.join() === CsError.OK, 'join');
  bus.members.push({ id, dfsm });
  return { dfsm, dcdb: dcdb!, memdb };
}

/** Both members in one configuration, synced (SYNC_START, STATEs, UPDATE_COMPLETE). */
function syncAll(bus: Bus, nodes: readonly Node[]): void {
  const members = bus.members.map((m) => ({ ...m.id, reason: 1 }));
  const change: ConfChange = { members, left: [], joined: members };
  for (const n of nodes) n.dfsm.confchg(change);
  bus.pump();
  for (const n of nodes) assert(n.dfsm.modeName === 'SYNCED', `synced, is ${n.dfsm.modeName}`);
}

/** Node 1 creates and writes `files` files (or makes directories), each own message delivered back at once. */
async function sendFiles(bus: Bus, n: Node, prefix: string, files: number, data: Buffer | null): Promise<void> {
  for (let i = 0; i < files; i++) {
    const path = `${prefix}f${i}`;
    const first = data === null ? DcdbMessageType.MKDIR : DcdbMessageType.CREATE;
    const created = n.dcdb.sendFuse(first, { path, to: null, data: null, offset: 0, flags: 0 });
    bus.pump(n.dfsm);
    assert((await created) === 0, `create ${path}`);
    if (data === null) continue;
    const written = n.dcdb.sendFuse(DcdbMessageType.WRITE, { path, to: null, data, offset: 0, flags: 0 });
    bus.pump(n.dfsm);
    assert((await written) === data.length, `write ${path}`);
  }
}

/** What a phase cost: CPU µs (user, system) and minor page faults, per delivery. */
class Meter {
  private readonly r0 = process.resourceUsage();
  per(deliveries: number): string {
    const r = process.resourceUsage();
    const f = (v: number): string => (v / deliveries).toFixed(1);
    const user = r.userCPUTime - this.r0.userCPUTime;
    const sys = r.systemCPUTime - this.r0.systemCPUTime;
    return `${f(user + sys)} µs (user ${f(user)}, system ${f(sys)}), ${f(r.minorPageFault - this.r0.minorPageFault)} page faults`;
  }
}

function daemonLog(): Log {
  const logger = pino({ level: 'info', base: { pid: process.pid } }, pino.destination({ fd: openSync('/dev/null', 'w'), sync: true }));
  return logger.child({ domain: 'dcdb' }) as unknown as Log;
}

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
}

async function main(): Promise<void> {
  const files = arg('files', DEFAULT_FILES);
  const size = arg('size', 4096);
  const mkdir = process.argv.includes('--mkdir');
  const log = process.argv.includes('--daemon-log') ? daemonLog() : silentLog;
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-deliver-'));
  try {
    const bus = new Bus();
    const [n1, n2] = [makeNode(bus, dir, 1, log), makeNode(bus, dir, 2, log)];
    syncAll(bus, [n1, n2]);
    const data = mkdir ? null : Buffer.alloc(size, 0x61);
    await sendFiles(bus, n1, 'warm-', arg('warmup', WARMUP_FILES), data); // node 1 only
    bus.record = [];
    const m1 = new Meter();
    await sendFiles(bus, n1, '', files, data);
    const sender = m1.per(bus.record.length);
    const replay = process.argv.includes('--sender-only') ? [] : bus.record;
    const from = bus.members[0]!.id;
    const v0 = Number(n2.memdb.root.version);
    const m2 = new Meter();
    for (const msg of replay) n2.dfsm.deliver(from, msg);
    const follower = m2.per(replay.length);
    assert(n2.memdb.root.version === v0 + replay.length, `follower applied ${n2.memdb.root.version} - ${v0} of ${replay.length}`);
    const what = mkdir ? `${files} mkdirs` : `${files} files of ${size} B`;
    process.stdout.write(`${what}: per delivery\n  sender (send + own delivery): ${sender}\n  follower: ${follower}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
