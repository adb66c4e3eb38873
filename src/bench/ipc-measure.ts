/**
 * The IPC timing loop of `npm run bench`, run INSIDE a lab node against whatever
 * pmxcfs serves `pve2` there (C or TS): one libqb connection, as a Perl worker holds
 * it; each operation warmed up, then `count` round trips timed with hrtime. Prints
 * one JSON line: per operation the latencies' median/p99 (µs), round trips/s, and the
 * reply size (checked to be a success).
 *
 *   node ipc-measure.js '{"count":2000}'
 */
import { IpcClient } from '../ipc/client.js';
import { cString, encodeRequest, IpcOp, packGuestProperties } from '../wire/ipc.js';
import { percentile } from './stats.js';

/** The operations measured; the database is made by src/bench/ipc.ts (ipcBenchDb). */
export const IPC_BENCH_OPS: Readonly<Record<string, Buffer>> = {
  GET_FS_VERSION: encodeRequest(IpcOp.GET_FS_VERSION),
  'GET_CONFIG 4 KiB': encodeRequest(IpcOp.GET_CONFIG, cString('bench-4k.cfg')),
  'GET_GUEST_CONFIG_PROPERTIES 100 guests': encodeRequest(IpcOp.GET_GUEST_CONFIG_PROPERTIES, packGuestProperties(0, ['lock', 'tags', 'name'])),
};

const WARMUP = 100;

export interface IpcMeasure {
  readonly medianUs: number;
  readonly p99Us: number;
  readonly opsPerSec: number;
  readonly bytes: number;
}

function measure(c: IpcClient, req: Buffer, count: number): IpcMeasure {
  let bytes = 0;
  const once = (): number => {
    const t = process.hrtime.bigint();
    const r = c.exchange(req, 10_000);
    const us = Number(process.hrtime.bigint() - t) / 1000;
    if (r.error !== 0) throw new Error(`reply error ${r.error}`);
    bytes = r.payload.length;
    return us;
  };
  for (let k = 0; k < WARMUP; k++) once();
  const lat: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < count; k++) lat.push(once());
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { medianUs: percentile(lat, 50), p99Us: percentile(lat, 99), opsPerSec: (count * 1e6) / wallUs, bytes };
}

function main(): void {
  const { count } = JSON.parse(process.argv[2] ?? '{"count":1000}') as { count: number };
  const c = IpcClient.open();
  const out: Record<string, IpcMeasure> = {};
  for (const [name, req] of Object.entries(IPC_BENCH_OPS)) out[name] = measure(c, req, count);
  c.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
