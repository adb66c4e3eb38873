/** `pmxcfs-ts status [--json] [--watch]`: the daemon's view of the cluster and its database. */
import { request, takeRunDir } from './control-client.js';
import { toJson } from '../util/json.js';
import type { ProgressSnapshot } from '../metrics/progress.js';
import { progressLine, watch } from './watch.js';

interface Status {
  nodename: string;
  nodeip: string;
  pid: number;
  mode: string;
  quorate: boolean;
  corosync: unknown;
  cluster?: { name: string; configVersion: number; nodes: { name: string; nodeid: number }[] } | null;
  db: { file: string; version: number; mtime: number; writer: number; entries: number; errors: boolean };
  dfsm: null | {
    mode: string;
    epoch: { epoch: number; time: number; nodeid: number; pid: number };
    members: { nodeid: number; pid: number; synced: boolean }[];
    lowestNodeid: number;
    lastLeader: { nodeid: number; pid: number } | null;
    lastVerify: { time: number; result: string } | null;
    msgQueue: number;
    syncQueue: number;
    waitingWriters: number;
  };
  /** The status group pve_kvstore_v1 (cluster mode). */
  kvstore?: null | {
    mode: string;
    members: { nodeid: number; pid: number; synced: boolean }[];
    lastRound: { members: number; accepted: number; entries: number; resent: number } | null;
    clinfo: number;
    localKeys: number;
    nodesWithKeys: number;
    rrdEntries: number;
    ips: number;
  };
  sync?: ProgressSnapshot | null;
}

function human(s: Status): string {
  const lines = [
    `node:        ${s.nodename} (${s.nodeip}), pid ${s.pid}, ${s.mode} mode`,
    `quorate:     ${s.quorate ? 'yes' : 'no'}`,
    `corosync:    ${typeof s.corosync === 'string' ? s.corosync : Object.entries(s.corosync as object).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`,
    ...(s.cluster ? [`cluster:     ${s.cluster.name} (config_version ${s.cluster.configVersion}): ${s.cluster.nodes.map((n) => `${n.name}/${n.nodeid}`).join(', ')}`] : []),
    `database:    version ${s.db.version}, mtime ${s.db.mtime} (${new Date(s.db.mtime * 1000).toISOString()}), writer ${s.db.writer}, ${s.db.entries} entries${s.db.errors ? ', ERRORS (read-only until restart)' : ''}`,
  ];
  const d = s.dfsm;
  if (d !== null) {
    lines.push(
      `dfsm mode:   ${d.mode}`,
      `epoch:       ${d.epoch.epoch} (${d.epoch.nodeid}/${d.epoch.pid} at ${d.epoch.time})`,
      `members:     ${d.members.map((m) => `${m.nodeid}/${m.pid}${m.synced ? '' : ' (not synced)'}`).join(', ') || '-'}`,
      `lowest:      ${d.lowestNodeid}`,
      `last leader: ${d.lastLeader ? `${d.lastLeader.nodeid}/${d.lastLeader.pid}` : '-'}`,
      `last verify: ${d.lastVerify ? `${d.lastVerify.result} at ${new Date(d.lastVerify.time * 1000).toISOString()}` : '-'}`,
      `queues:      msg ${d.msgQueue}, sync ${d.syncQueue}, waiting writers ${d.waitingWriters}`,
    );
  }
  const k = s.kvstore;
  if (k) {
    const r = k.lastRound;
    lines.push(
      `kvstore:     ${k.mode}, members ${k.members.map((m) => `${m.nodeid}/${m.pid}${m.synced ? '' : ' (not synced)'}`).join(', ') || '-'}`,
      `  last sync: ${r ? `${r.members} members, ${r.accepted} logs accepted, ${r.entries} log entries, ${r.resent} keys re-sent` : '-'}`,
      `  tables:    ${k.localKeys} local keys, ${k.nodesWithKeys} nodes with keys, ${k.rrdEntries} rrd entries, ${k.ips} node IPs, clinfo ${k.clinfo}`,
    );
  }
  if (s.sync?.running) lines.push(progressLine(s.sync));
  return lines.join('\n') + '\n';
}

/** --watch [--interval S] [--count N]: the live view (watch.ts). */
function watchOptions(rest: string[]): { intervalMs: number; count: number | null } | null {
  if (!rest.includes('--watch')) return null;
  const num = (flag: string): number | null => {
    const i = rest.indexOf(flag);
    const v = i >= 0 ? Number(rest[i + 1]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : null;
  };
  return { intervalMs: (num('--interval') ?? 1) * 1000, count: num('--count') };
}

export async function run(args: string[]): Promise<number> {
  const { runDir, rest } = takeRunDir(args);
  const w = watchOptions(rest);
  if (w !== null) return watch(runDir, w);
  const r = await request(runDir, { cmd: 'status' });
  if (r === null) return 1;
  if (!r.ok) {
    process.stderr.write(`pmxcfs-ts status: ${r.error}\n`);
    return 1;
  }
  process.stdout.write(rest.includes('--json') ? toJson(r.data, 1) + '\n' : human(r.data as Status));
  return 0;
}
