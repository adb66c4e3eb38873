/**
 * A small CPG/quorum client run inside a lab node, driven over stdin/stdout with JSON
 * lines (see agent-client.ts). Used by the lab tests and `npm run bench:cpg`.
 *
 *   node dist/src/lab/cpg-agent.js [GROUP] [--quorum] [--cmap]
 *
 * It connects, joins GROUP and reconnects by itself (every 500 ms) after a failure —
 * as the daemon's service layer will. Events (stdout): connected, connect-failed,
 * confchg, failure, quorum, quorum-failure, cmap-config (after connect and after each
 * tracked change), cmap-failure, and answers to commands. Commands (stdin):
 *   {"cmd":"send","count":N,"size":B}      multicast N tagged messages of B bytes
 *     with "background":true all N in one task through the sender thread (a full copy)
 *   {"cmd":"stats"}                          {"ev":"stats","delivered":N,"pending":Q,"busyDeliveries":D}
 *                                            (D: deliveries while own background sends were pending)
 *   {"cmd":"dump"}                           {"ev":"dump","delivered":["nodeid/pid:seq",...]}
 *   {"cmd":"rtt","size":B,"count":N}         send→own delivery latencies (µs)
 *   {"cmd":"throughput","size":B,"count":N}  one-sender rate until all own delivered
 *   {"cmd":"rogue","count":N,"late":L}      (with --rogue SEED) N hostile DFSM messages
 *                                            from src/sim/hostile.ts (L: future versions too)
 *   {"cmd":"exit"}
 */

import { createInterface } from 'node:readline';
import { CmapClient } from '../cluster/cmap.js';
import { CpgTransport } from '../cluster/cpg.js';
import { CorosyncError } from '../cluster/native.js';
import { QuorumClient } from '../cluster/quorum.js';
import { CsError, type MemberId } from '../cluster/transport.js';
import { HostileMessages } from '../sim/hostile.js';

const args = process.argv.slice(2);
const group = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rogue') ?? 'pmxcfs_lab_test';
const withQuorum = args.includes('--quorum');
const withCmap = args.includes('--cmap');
const rogueAt = args.indexOf('--rogue');
/** --rogue SEED: a rogue member (issue 16) that answers sync rounds and sends hostile messages. */
const hostile = rogueAt >= 0 ? new HostileMessages(Number(args[rogueAt + 1] ?? 1)) : null;

let transport: CpgTransport | undefined;
let quorum: QuorumClient | undefined;
const delivered: string[] = [];
let ownWaiter: ((tag: string) => void) | undefined;
let seq = 0;
let busyDeliveries = 0;

function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function tagOf(message: Buffer): string {
  const end = message.indexOf(0x20);
  return message.toString('latin1', 0, end < 0 ? Math.min(message.length, 64) : end);
}

function connect(): void {
  try {
    const t = CpgTransport.open({
      deliver(from: MemberId, message: Buffer) {
        if (hostile !== null) {
          if (from.nodeid !== t.local.nodeid || from.pid !== t.local.pid) hostile.observe(message);
          return;
        }
        const tag = tagOf(message);
        delivered.push(tag);
        if (t.pending > 0) busyDeliveries++;
        if (from.nodeid === t.local.nodeid && from.pid === t.local.pid && ownWaiter !== undefined) ownWaiter(tag);
      },
      confchg(change) {
        emit({ ev: 'confchg', ...change });
      },
      failure(code) {
        transport = undefined;
        emit({ ev: 'failure', code });
        setTimeout(connect, 500);
      },
    });
    const err = t.join(group);
    if (err !== CsError.OK) {
      t.close();
      throw new CorosyncError('cpg_join', err);
    }
    transport = t;
    emit({ ev: 'connected', nodeid: t.local.nodeid, pid: t.local.pid });
  } catch (e) {
    emit({ ev: 'connect-failed', code: e instanceof CorosyncError ? e.code : -1, message: String(e) });
    setTimeout(connect, 500);
  }
}

function connectQuorum(): void {
  try {
    quorum = QuorumClient.open({
      notify(state) {
        emit({ ev: 'quorum', quorate: state.quorate, members: state.members });
      },
      failure(code) {
        quorum = undefined;
        emit({ ev: 'quorum-failure', code });
        setTimeout(connectQuorum, 500);
      },
    });
  } catch (e) {
    emit({ ev: 'quorum-connect-failed', code: e instanceof CorosyncError ? e.code : -1 });
    setTimeout(connectQuorum, 500);
  }
}

function connectCmap(): void {
  try {
    const c = CmapClient.open({
      changed(key, event) {
        emit({ ev: 'cmap-changed', key, event });
        emit({ ev: 'cmap-config', ...c.readConfig() });
      },
      failure(code) {
        emit({ ev: 'cmap-failure', code });
        setTimeout(connectCmap, 500);
      },
    });
    emit({ ev: 'cmap-config', ...c.readConfig() });
  } catch (e) {
    emit({ ev: 'cmap-connect-failed', code: e instanceof CorosyncError ? e.code : -1 });
    setTimeout(connectCmap, 500);
  }
}

function message(size: number): { tag: string; buf: Buffer } {
  const t = transport!;
  const tag = `${t.local.nodeid}/${t.local.pid}:${seq++}`;
  const buf = Buffer.alloc(Math.max(size, tag.length + 1), 0x20);
  buf.write(tag, 'latin1');
  return { tag, buf };
}

function ownDelivery(tag: string): Promise<void> {
  return new Promise((resolve) => {
    ownWaiter = (t) => {
      if (t === tag) {
        ownWaiter = undefined;
        resolve();
      }
    };
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function rtt(size: number, count: number): Promise<void> {
  const lat: number[] = [];
  for (let k = 0; k < count; k++) {
    const { tag, buf } = message(size);
    const done = ownDelivery(tag);
    const t0 = process.hrtime.bigint();
    const err = transport!.send([buf]);
    if (err !== CsError.OK) throw new CorosyncError('send', err);
    await done;
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  lat.sort((a, b) => a - b);
  emit({ ev: 'rtt', size, count, medianUs: percentile(lat, 50), p99Us: percentile(lat, 99), maxUs: lat[lat.length - 1] });
}

async function throughput(size: number, count: number): Promise<void> {
  let last = '';
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < count; k++) {
    const { tag, buf } = message(size);
    last = tag;
    const err = transport!.send([buf]);
    if (err !== CsError.OK) throw new CorosyncError('send', err);
    // Yield now and then so deliveries are read while sending.
    if (k % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  if (!delivered.includes(last)) await ownDelivery(last);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  emit({ ev: 'throughput', size, count, seconds: s, msgPerSec: count / s, mibPerSec: (count * size) / s / 1048576 });
}

async function send(count: number, size: number, background: boolean): Promise<void> {
  for (let k = 0; k < count; k++) {
    const err = transport!.send([message(size).buf], background);
    if (err !== CsError.OK) throw new CorosyncError('send', err);
    if (!background && k % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  emit({ ev: 'sent', count, pending: transport?.pending ?? 0 });
}

/** Hostile messages, each preceded by the answer to a pending sync round; paced like send(). */
async function rogue(count: number, late: boolean): Promise<void> {
  if (hostile === null) throw new Error('rogue needs --rogue SEED');
  let sent = 0;
  for (let k = 0; k < count; k++) {
    const answer = hostile.answerSync();
    if (answer !== null) transport?.send([answer]);
    if (transport?.send([hostile.next(late && k >= count * 0.9, true)]) === CsError.OK) sent++;
    if (k % 20 === 19) await new Promise((r) => setTimeout(r, 5));
  }
  if (late) for (let k = 0; k < 3; k++) if (transport?.send([hostile.futureVersion()]) === CsError.OK) sent++;
  emit({ ev: 'rogue-sent', count, sent });
}

async function command(line: string): Promise<void> {
  const c = JSON.parse(line) as { cmd: string; count?: number; size?: number; late?: boolean; background?: boolean };
  switch (c.cmd) {
    case 'send':
      return send(c.count ?? 1, c.size ?? 100, c.background === true);
    case 'stats':
      return emit({ ev: 'stats', delivered: delivered.length, pending: transport?.pending ?? 0, busyDeliveries });
    case 'dump':
      return emit({ ev: 'dump', delivered });
    case 'clear':
      delivered.length = 0;
      return emit({ ev: 'cleared' });
    case 'rtt':
      return rtt(c.size ?? 100, c.count ?? 1000);
    case 'throughput':
      return throughput(c.size ?? 100, c.count ?? 10000);
    case 'rogue':
      return rogue(c.count ?? 1000, c.late === true);
    case 'exit':
      transport?.close();
      quorum?.close();
      process.exit(0);
  }
}

let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  chain = chain.then(() => command(line)).catch((e: unknown) => emit({ ev: 'error', message: String(e) }));
});
process.stdin.on('end', () => process.exit(0));

connect();
if (withQuorum) connectQuorum();
if (withCmap) connectCmap();
