/**
 * The CPG measurement shared by `npm run bench:cpg` and `npm run bench`: cpg-agents
 * (src/lab/cpg-agent.ts) in nodes 1..3 join a private group; node 1 measures the round
 * trip from send to own agreed delivery and one-sender throughput per message size.
 */
import { Agent } from '../lab/agent-client.js';
import type { Lab } from '../lab/lab.js';

export interface CpgRow {
  label: string;
  size: number;
  rttMedianMs: number;
  rttP99Ms: number;
  msgPerSec: number;
  mibPerSec: number;
}

/** label, size, rtt count, throughput count */
export const CPG_SIZES: readonly [string, number, number, number][] = [
  ['100 B', 100, 2000, 30000],
  ['4 KiB', 4096, 2000, 20000],
  ['64 KiB', 65536, 500, 3000],
];

/** Measure on a lab of ≥ 3 nodes; `scale` < 1 shortens every count (quick runs). */
export async function measureCpg(lab: Lab, scale = 1, group = 'pmxcfs_bench'): Promise<CpgRow[]> {
  const agents = [1, 2, 3].map((i) => new Agent(lab, i, [group]));
  try {
    for (const a of agents) await a.waitFor((e) => e.ev === 'connected', 15000);
    for (const a of agents) await a.waitFor((e) => e.ev === 'confchg' && (e['members'] as unknown[]).length === 3, 15000);
    const sender = agents[0]!;
    const rows: CpgRow[] = [];
    for (const [label, size, rttCount, tpCount] of CPG_SIZES) {
      await sender.request({ cmd: 'rtt', size, count: 50 }, 'rtt'); // warm-up
      const r = await sender.request({ cmd: 'rtt', size, count: Math.max(100, Math.round(rttCount * scale)) }, 'rtt', 120000);
      const t = await sender.request({ cmd: 'throughput', size, count: Math.max(200, Math.round(tpCount * scale)) }, 'throughput', 300000);
      rows.push({
        label,
        size,
        rttMedianMs: (r['medianUs'] as number) / 1000,
        rttP99Ms: (r['p99Us'] as number) / 1000,
        msgPerSec: t['msgPerSec'] as number,
        mibPerSec: t['mibPerSec'] as number,
      });
    }
    return rows;
  } finally {
    for (const a of agents) await a.close();
  }
}
