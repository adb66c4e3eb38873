/**
 * `npm run bench:cpg` — the physical limit of CPG on the 3-node lab: round trip from
 * send to own delivery (median, p99) and one-sender throughput for 100 B, 4 KiB and
 * 64 KiB messages. Agents (src/lab/cpg-agent.ts) run in all three nodes; node 1 sends.
 *
 * Uses the lab of $PMXCFS_LAB_PREFIX / --prefix if it is up, else creates a lab
 * `pmxbench` and removes it afterwards. Needs root, corosync and the built addon.
 */

import { Agent } from '../lab/agent-client.js';
import { Lab, labUnavailable } from '../lab/lab.js';

const SIZES: [string, number, number, number][] = [
  // label, size, rtt count, throughput count
  ['100 B', 100, 2000, 30000],
  ['4 KiB', 4096, 2000, 20000],
  ['64 KiB', 65536, 500, 3000],
];

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
  const agents = [1, 2, 3].map((i) => new Agent(lab, i, ['pmxcfs_bench']));
  try {
    for (const a of agents) await a.waitFor((e) => e.ev === 'connected', 15000);
    for (const a of agents) await a.waitFor((e) => e.ev === 'confchg' && (e['members'] as unknown[]).length === 3, 15000);
    const sender = agents[0]!;
    const rows: string[][] = [];
    for (const [label, size, rttCount, tpCount] of SIZES) {
      await sender.request({ cmd: 'rtt', size, count: 50 }, 'rtt'); // warm-up
      const r = await sender.request({ cmd: 'rtt', size, count: rttCount }, 'rtt', 120000);
      const t = await sender.request({ cmd: 'throughput', size, count: tpCount }, 'throughput', 300000);
      rows.push([
        label,
        ((r['medianUs'] as number) / 1000).toFixed(3),
        ((r['p99Us'] as number) / 1000).toFixed(3),
        Math.round(t['msgPerSec'] as number).toString(),
        (t['mibPerSec'] as number).toFixed(1),
      ]);
    }
    const head = ['size', 'rtt median ms', 'rtt p99 ms', 'msg/s', 'MiB/s'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    const line = (cells: string[]): string => '| ' + cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join(' | ') + ' |';
    const out = [
      `CPG on lab '${lab.prefix}' (3 nodes, knet, one sender on n1; rtt = send → own agreed delivery)`,
      line(head),
      '|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|',
      ...rows.map(line),
    ];
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    for (const a of agents) await a.close();
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
