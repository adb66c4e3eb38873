/**
 * `npm run bench:cpg` — the physical limit of CPG on the 3-node lab: round trip from
 * send to own delivery (median, p99) and one-sender throughput for 100 B, 4 KiB and
 * 64 KiB messages. Agents (src/lab/cpg-agent.ts) run in all three nodes; node 1 sends.
 *
 * Uses the lab of $PMXCFS_LAB_PREFIX / --prefix if it is up, else creates a lab
 * `pmxbench` and removes it afterwards. Needs root, corosync and the built addon.
 */

import { Lab, labUnavailable } from '../lab/lab.js';
import { measureCpg } from './cpg-measure.js';
import { markdownTable } from './stats.js';

async function main(): Promise<number> {
  const why = labUnavailable();
  if (why !== undefined) {
    process.stderr.write(`bench:cpg: ${why}\n`);
    return 1;
  }
  const args = process.argv.slice(2);
  const k = args.indexOf('--prefix');
  const prefix = k >= 0 ? args[k + 1] : (process.env['PMXCFS_LAB_PREFIX'] ?? 'pmxbench');
  const lab = new Lab({ prefix: prefix! });
  const own = !lab.isUp();
  if (own) {
    process.stderr.write(`bench:cpg: starting lab '${lab.prefix}' (3 nodes)\n`);
    await lab.down();
    await lab.up(3);
  } else if (lab.size < 3) {
    process.stderr.write(`bench:cpg: lab '${lab.prefix}' has ${lab.size} nodes, need 3\n`);
    return 1;
  }
  try {
    const rows = (await measureCpg(lab)).map((r) => [r.label, r.rttMedianMs.toFixed(3), r.rttP99Ms.toFixed(3), Math.round(r.msgPerSec).toString(), r.mibPerSec.toFixed(1)]);
    const out = [
      `CPG on lab '${lab.prefix}' (3 nodes, knet, one sender on n1; rtt = send → own agreed delivery)`,
      markdownTable(['size', 'rtt median ms', 'rtt p99 ms', 'msg/s', 'MiB/s'], rows),
    ];
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    if (own) await lab.down();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`bench:cpg: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
