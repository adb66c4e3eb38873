/**
 * `stat` latency of a node's own /etc/pve while something else happens (the bench
 * runs it on the nodes that send a full copy). Runs INSIDE a lab node, never in the
 * daemon: stats PATH in a loop, PAUSE_MS apart, until the file STOP exists or
 * MAX_MS passed, then prints the latencies (µs) as one JSON line.
 *
 *   node statloop.js /etc/pve/nodes /tmp/stop-file
 */
import { existsSync, statSync } from 'node:fs';

const PAUSE_MS = 2;
const MAX_MS = 600_000;

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));

function main(path: string, stop: string): void {
  const latUs: number[] = [];
  const errors: string[] = [];
  const end = Date.now() + MAX_MS;
  while (!existsSync(stop) && Date.now() < end) {
    const t0 = process.hrtime.bigint();
    try {
      statSync(path);
    } catch (e) {
      if (errors.length < 5) errors.push((e as Error).message);
    }
    latUs.push(Number(process.hrtime.bigint() - t0) / 1000);
    Atomics.wait(sleepBuf, 0, 0, PAUSE_MS);
  }
  process.stdout.write(JSON.stringify({ latUs, errors }) + '\n');
}

main(process.argv[2] ?? '/etc/pve', process.argv[3] ?? '/tmp/pmxcfs-statloop-stop');
