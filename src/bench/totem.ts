/**
 * Node 1's corosync totem counters around a batch of writes (corosync-cmapctl -m stats):
 * token rotations its corosync received and messages it multicast, per file. A
 * corosync passes the token on as long as messages are in flight, so its CPU grows
 * with how long each file keeps one in flight, not only with the messages it sends.
 */
import type { Lab } from '../lab/lab.js';

/** The stats keys read, by the name the bench reports them under. */
const KEYS = { tokens: 'stats.srp.orf_token_rx', multicasts: 'stats.srp.mcast_tx' } as const;

export type TotemCounters = Record<keyof typeof KEYS, number>;

export async function totemCounters(lab: Lab): Promise<TotemCounters> {
  const r = await lab.exec(1, ['corosync-cmapctl', '-m', 'stats', 'stats.srp.'], { timeoutMs: 10_000 });
  return parseTotem(r.stdout);
}

/** The counters in corosync-cmapctl's output (`key (u64) = N` lines); NaN when missing. */
export function parseTotem(stdout: string): TotemCounters {
  const values = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) \([a-z0-9]+\) = (\d+)$/.exec(line.trim());
    if (m !== null) values.set(m[1]!, Number(m[2]));
  }
  return { tokens: values.get(KEYS.tokens) ?? NaN, multicasts: values.get(KEYS.multicasts) ?? NaN };
}

/** Counter increase per operation between two readings. */
export function totemPerOp(a: TotemCounters, b: TotemCounters, ops: number): TotemCounters {
  return { tokens: (b.tokens - a.tokens) / Math.max(1, ops), multicasts: (b.multicasts - a.multicasts) / Math.max(1, ops) };
}
