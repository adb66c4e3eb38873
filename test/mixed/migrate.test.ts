/**
 * In-place migration both ways (issue 15), as an admin adopts pmxcfs-ts and backs out
 * of it: a 3-node C cluster under a steady write load from every node has its daemon
 * replaced by pmxcfs-ts one node at a time, keeping /var/lib/pve-cluster/config.db
 * (stop, start the other kind, wait for sync), then back to C node by node.
 * Afterwards every acknowledged write is on every node, the checksums agree, `db check`
 * is clean on every config.db, and no C log has a "wrong checksum", "leaving" or "crit"
 * line. Skipped (with the reason) without a C binary in PMXCFS_C_BIN.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ownedLabPrefix } from '../../src/lab/lab.js';
import type { DaemonStatus } from '../../src/lab/daemons.js';
import { Mixed, mixedUnavailable, sleep, type Kind } from './cluster.js';

const skip = mixedUnavailable();
const PREFIX = ownedLabPrefix('migr');
/** Each node writes one new file, then waits this long: a steady load, not a flood. */
const LOAD_PAUSE_MS = 150;
/** Load keeps running this long on each new layout before the next replacement. */
const SETTLE_MS = 4_000;
const SYNC_TIMEOUT_MS = 120_000;
/** C's messages that mean the DFSM left the group or data diverged (dfsm.c). */
const BAD_C_LINE = /wrong checksum|leaving|crit/;

interface Load {
  /** path -> content of every write the writer got success for. */
  readonly acked: Map<string, string>;
  attempts: number;
  running: boolean;
  readonly loops: Promise<void>[];
}

/** One writer per node: a new file under load/ at a time, acknowledged or not. */
function startLoad(m: Mixed): Load {
  const load: Load = { acked: new Map(), attempts: 0, running: true, loops: [] };
  for (const i of m.nodes) {
    load.loops.push(
      (async () => {
        for (let k = 0; load.running; k++) {
          const path = `load/n${i}-${k}`;
          const data = `n${i} write ${k} on ${m.kind(i)}`;
          load.attempts++;
          try {
            const [r] = await m.ops(i, [{ op: 'write', path, data }]);
            if (r!.ok) load.acked.set(path, data);
          } catch {
            // daemon being replaced: not acknowledged
          }
          await sleep(LOAD_PAUSE_MS);
        }
      })(),
    );
  }
  return load;
}

/** The files under /etc/pve/load of a C node, read in one shell: path -> content. */
async function cFiles(m: Mixed, i: number): Promise<Map<string, string>> {
  const r = await m.lab.exec(i, ['sh', '-c', 'cd /etc/pve/load && grep -H "" -- *'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `n${i} listing load/: ${r.stderr}`);
  const files = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) files.set(`load/${line.slice(0, colon)}`, line.slice(colon + 1));
  }
  return files;
}

/**
 * Replace node i's daemon by `kind` and wait until that node is synced, as an admin
 * waits before the next node: pmxcfs-ts's status SYNCED with all 3 members synced, or
 * C's "all data is up to date" from this run. Checksums are compared once the load has
 * stopped: under a steady load the copies are only equal between writes.
 */
async function replaceAndSync(m: Mixed, i: number, kind: Kind): Promise<number> {
  const t0 = Date.now();
  const logStart = m.log(i).length;
  await m.replace(i, kind);
  if (kind === 'T') {
    const synced = (st: DaemonStatus): boolean => st.quorate && st.dfsm !== null && st.dfsm.mode === 'SYNCED' && st.dfsm.members.length === m.nodes.length && st.dfsm.members.every((x) => x.synced);
    await m.d.waitFor(i, synced, SYNC_TIMEOUT_MS, 'SYNCED after the replacement');
    return Date.now() - t0;
  }
  // The log is appended across runs: wait for this run's own sync, not an old one.
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (!m.log(i).slice(logStart).includes('[dcdb] notice: all data is up to date')) {
    if (Date.now() > deadline) throw new Error(`n${i} (C) did not sync after the replacement\n${m.tail(i)}`);
    await sleep(200);
  }
  return Date.now() - t0;
}

describe('in-place migration C -> pmxcfs-ts -> C, node by node, under write load', { skip, timeout: 1_200_000 }, () => {
  const m = new Mixed(['C', 'C', 'C'], PREFIX);
  let failed = true;
  /**
   * Length of each C log once the C cluster is up: the checks cover the migration only.
   * Three C daemons started at once can log, before the migration begins, C's own
   * start-up race (dfsm_cpg_deliver_callback: "ignore sync request from wrong member",
   * crit, when a member that was lowest before the others joined sends SYNC_START).
   */
  const logStart = new Map<number, number>();

  before(async () => {
    await m.up();
    const [r] = await m.ops(1, [{ op: 'mkdir', path: 'load' }]);
    assert.ok(r!.ok, JSON.stringify(r));
    await m.waitConverged(SYNC_TIMEOUT_MS);
    for (const i of m.nodes) logStart.set(i, m.log(i).length);
  });

  after(async () => {
    // The lab's logs go with it: keep the daemons' logs of a failed run.
    if (failed) {
      const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-migrate-'));
      for (const i of m.nodes) copyFileSync(m.lab.logPath(i, 'pmxcfs'), join(dir, `n${i}-pmxcfs.log`));
      process.stdout.write(`# migration failed: daemon logs kept in ${dir}\n`);
    }
    await m.down();
  });

  it('every acknowledged write survives on every node; checksums agree; db check and C logs clean', async () => {
    const load = startLoad(m);
    const steps: string[] = [];
    try {
      for (const kind of ['T', 'C'] as const) {
        for (const i of m.nodes) {
          await sleep(SETTLE_MS);
          const ms = await replaceAndSync(m, i, kind);
          steps.push(`n${i}->${kind === 'T' ? 'TS' : 'C'} ${ms} ms`);
        }
      }
      await sleep(SETTLE_MS);
    } finally {
      load.running = false;
      await Promise.all(load.loops);
    }
    const sum = await m.waitConverged(SYNC_TIMEOUT_MS);
    const byTs = [...load.acked.values()].filter((d) => d.endsWith(' on T')).length;
    process.stdout.write(`# migration: ${steps.join(', ')}; ${load.acked.size}/${load.attempts} writes acknowledged (${byTs} by pmxcfs-ts); checksum ${sum}\n`);
    assert.deepEqual(m.kinds, ['C', 'C', 'C']);
    assert.ok(load.acked.size >= 100, `a steady load: only ${load.acked.size} writes acknowledged`);
    assert.ok(byTs >= 10, `pmxcfs-ts nodes served writes during their turn: ${byTs}`);
    for (const i of m.nodes) {
      const files = await cFiles(m, i);
      const missing = [...load.acked].filter(([path, data]) => files.get(path) !== data).map(([path]) => path);
      assert.deepEqual(missing, [], `n${i}: acknowledged writes missing or different`);
      const check = await m.lab.exec(i, m.d.cli('db', 'check', '/var/lib/pve-cluster/config.db'));
      assert.equal(check.code, 0, `n${i} db check: ${check.stdout}${check.stderr}`);
      // C's lines ('[domain] level: ...'), not pmxcfs-ts's JSON lines from its turn.
      const bad = m.log(i).slice(logStart.get(i)).split('\n').filter((l) => l.startsWith('[') && BAD_C_LINE.test(l));
      assert.deepEqual(bad, [], `n${i} C log`);
    }
    failed = false;
  });
});
