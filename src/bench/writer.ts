/**
 * The write timing loop of `npm run bench`, run INSIDE a lab node (never by the
 * daemon): K worker threads each create+write+close `count / K` new files of `size`
 * bytes under DIR/wK with openSync/writeSync/closeSync, timing every file with
 * hrtime. Prints one JSON line: per-op latencies (µs, all writers) and wall time.
 *
 *   node writer.js '{"dir":"/etc/pve/bench-x","size":4096,"count":1000,"writers":4}'
 *
 * With `perDir` N, each writer puts its files in a new subdirectory DIR/wK/dM every N
 * files (the mkdir is not timed): the warm-up's mix of operations, so that the JIT has
 * seen a mkdir before it optimises the delivery path (after a write-only warm-up, the
 * measured round's first mkdir deoptimized the followers' Dcdb.deliver, and the round
 * then ran it unoptimised).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

interface Job {
  dir: string;
  size: number;
  count: number;
  writers: number;
  perDir?: number;
}

interface WorkerResult {
  latUs: number[];
  startNs: string;
  endNs: string;
  errors: string[];
}

function writeLoop(dir: string, size: number, count: number, perDir: number, barrier: Int32Array): WorkerResult {
  const buf = Buffer.alloc(size, 0x61);
  for (let k = 0; k < size; k += 64) buf[k] = 0x0a;
  const latUs: number[] = [];
  const errors: string[] = [];
  Atomics.add(barrier, 1, 1);
  Atomics.wait(barrier, 0, 0); // all writers start together
  const start = process.hrtime.bigint();
  for (let n = 0; n < count; n++) {
    const sub = perDir > 0 ? `${dir}/d${Math.floor(n / perDir)}` : dir;
    if (perDir > 0 && n % perDir === 0) mkdirSync(sub);
    const t0 = process.hrtime.bigint();
    try {
      const fd = openSync(`${sub}/f${n}`, 'w');
      writeSync(fd, buf);
      closeSync(fd);
    } catch (e) {
      if (errors.length < 5) errors.push((e as Error).message);
    }
    latUs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return { latUs, startNs: start.toString(), endNs: process.hrtime.bigint().toString(), errors };
}

if (!isMainThread) {
  const { dir, size, count, perDir, shared } = workerData as { dir: string; size: number; count: number; perDir: number; shared: SharedArrayBuffer };
  parentPort!.postMessage(writeLoop(dir, size, count, perDir, new Int32Array(shared)));
} else {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const shared = new SharedArrayBuffer(8);
  const barrier = new Int32Array(shared);
  const results: Promise<WorkerResult>[] = [];
  for (let w = 0; w < job.writers; w++) {
    const dir = `${job.dir}/w${w}`;
    mkdirSync(dir, { recursive: true });
    const count = Math.floor(job.count / job.writers) + (w < job.count % job.writers ? 1 : 0);
    const worker = new Worker(new URL(import.meta.url), { workerData: { dir, size: job.size, count, perDir: job.perDir ?? 0, shared } });
    results.push(
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
    );
  }
  // Release the writers once all are waiting.
  while (Atomics.load(barrier, 1) < job.writers) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  const all = await Promise.all(results);
  const start = all.reduce((m, r) => (BigInt(r.startNs) < m ? BigInt(r.startNs) : m), BigInt(all[0]!.startNs));
  const end = all.reduce((m, r) => (BigInt(r.endNs) > m ? BigInt(r.endNs) : m), 0n);
  const latUs = all.flatMap((r) => r.latUs);
  process.stdout.write(JSON.stringify({ ops: latUs.length, wallMs: Number(end - start) / 1e6, latUs, errors: all.flatMap((r) => r.errors) }) + '\n');
}
