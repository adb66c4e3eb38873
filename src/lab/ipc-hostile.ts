/**
 * Hostile IPC clients against the `pve2` server of the node this runs in (started by
 * test/lab/ipc.test.ts inside a lab node). Prints one JSON object: scenario → true
 * when a well-behaved client was served correctly throughout. Blocking libqb calls:
 * the server must be another process.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { IpcClient } from '../ipc/client.js';
import { packageRoot } from '../util/addon.js';
import { cString, encodeRequest, IpcOp, SERVICE_NAME } from '../wire/ipc.js';

const VERSION = encodeRequest(IpcOp.GET_FS_VERSION);
const TIMEOUT = 5000;

function served(c: IpcClient): boolean {
  const r = c.exchange(VERSION, TIMEOUT);
  return r.error === 0 && r.payload.length > 0;
}

/** Fewer than 16 bytes: a reply (an error) and the connection still works. */
function truncatedHeader(): boolean {
  const c = IpcClient.open();
  const short = Buffer.alloc(8);
  short.writeInt32LE(IpcOp.GET_FS_VERSION, 0);
  const r = c.exchange(short, TIMEOUT);
  const ok = r.error < 0 && served(c);
  c.close();
  return ok;
}

/** A 1.5 MiB request on a 2 MiB connection is served; 1 MiB + 1 on a 1 MiB one fails at the client. */
function bigRequests(): boolean {
  const big = IpcClient.open(SERVICE_NAME, 2 * 1024 * 1024);
  const r = big.call(IpcOp.GET_CONFIG, cString('a'.repeat(1536 * 1024)), TIMEOUT);
  const ok1 = r.error === -2 && served(big);
  big.close();
  const small = IpcClient.open();
  const sent = small.send(encodeRequest(IpcOp.GET_CONFIG, Buffer.alloc(1024 * 1024 + 1)));
  const ok2 = sent < 0 && served(small);
  small.close();
  return ok1 && ok2;
}

/** 60 connections, each with a request in flight before any reply is read. */
function manyConnections(): boolean {
  const cs = Array.from({ length: 60 }, () => IpcClient.open());
  const sent = cs.map((c) => c.send(VERSION));
  const replies = cs.map((c) => c.receive(TIMEOUT));
  for (const c of cs) c.close();
  return sent.every((n) => n > 0) && replies.every((r) => typeof r !== 'number' && r.error === 0);
}

/** Sends without ever reading: the server drops it when the reply ring is full; others are served. */
function neverReads(): boolean {
  const greedy = IpcClient.open();
  const other = IpcClient.open();
  let ok = true;
  let failedAt = -1;
  for (let i = 0; i < 4000 && failedAt < 0; i++) {
    if (greedy.send(VERSION) < 0) failedAt = i;
    if (i % 200 === 0) ok &&= served(other);
  }
  ok &&= served(other);
  greedy.close();
  other.close();
  return ok && failedAt > 0;
}

function runChild(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const clientModule = join(packageRoot(), 'dist', 'src', 'ipc', 'client.js');
const wireModule = join(packageRoot(), 'dist', 'src', 'wire', 'ipc.js');

/** Processes that connect, send, and die (SIGKILL) before reading their reply. */
async function vanishing(): Promise<boolean> {
  const script = `import { IpcClient } from '${clientModule}'; import { encodeRequest } from '${wireModule}';
    const c = IpcClient.open(); c.send(encodeRequest(13, Buffer.from([0,0,0,0,1,108,111,99,107,0]))); process.kill(process.pid, 'SIGKILL');`;
  const codes = await Promise.all(Array.from({ length: 20 }, () => runChild(script)));
  return codes.every((c) => c === 128);
}

/** Raw sockets: close before, during and right after a partial handshake. */
async function rawSockets(): Promise<boolean> {
  const partial = [Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(20, 0xff)];
  for (let k = 0; k < 30; k++) {
    await new Promise<void>((resolve) => {
      const s = connect({ path: `\0${SERVICE_NAME}` }, () => {
        s.write(partial[k % partial.length]!, () => s.destroy());
      });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
  }
  return true;
}

/** Parallel `ipc batch` processes while everything else happens. */
function parallelBatches(n: number): Promise<boolean> {
  const bin = join(packageRoot(), 'bin', 'pmxcfs-ts.mjs');
  const input = Array.from({ length: 100 }, () => JSON.stringify({ op: 'get-guest-list' })).join('\n') + '\n';
  const one = () =>
    new Promise<boolean>((resolve) => {
      const child = spawn(process.execPath, [bin, 'ipc', 'batch'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolve(code === 0 && out.split('\n').filter((l) => l.includes('"error":0')).length === 100));
      child.stdin.end(input);
    });
  return Promise.all(Array.from({ length: n }, one)).then((rs) => rs.every(Boolean));
}

async function main(): Promise<void> {
  const batches = parallelBatches(4);
  const report: Record<string, boolean> = {};
  report['vanishing'] = await vanishing();
  report['rawSockets'] = await rawSockets();
  report['truncatedHeader'] = truncatedHeader();
  report['bigRequests'] = bigRequests();
  report['manyConnections'] = manyConnections();
  report['neverReads'] = neverReads();
  report['parallelBatches'] = await batches;
  const after = IpcClient.open();
  report['servedAfter'] = served(after);
  after.close();
  process.stdout.write(JSON.stringify(report) + '\n');
}

await main();
