/**
 * Issue 16 item 6, the two probes of ordinary writes, run on an all-C and an all-TS
 * 3-node cluster in the same setup (the C run prints `# C ...` diagnostics for the README):
 * - ENOSPC under /var/lib/pve-cluster (a 256 KiB tmpfs) on the writer's node during
 *   ordinary writes through /etc/pve: the writer gets an error, the node stops taking
 *   changes (memdb errors flag, DFSM ERROR as C's dcdb_deliver), what it holds in memory
 *   is what its SQLite file holds, `db check` is clean, and after space returns a restart
 *   converges with every acknowledged write on every node.
 * - corosync restarted on a writer's node while it creates files in a loop: how many
 *   creates answered EBUSY (or another error) were applied cluster-wide anyway.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ownedLabPrefix } from '../../src/lab/lab.js';
import { Mixed, mixedUnavailable, sleep } from './cluster.js';

const skip = mixedUnavailable();
const NODES = [1, 2, 3];
/** Bytes of each file written into the full node: a few fit into the tmpfs, then ENOSPC. */
const FILL_BYTES = 8000;
const FILL_FILES = 80;
/** The whole fill loop ends well within this on TS (a C writer blocks after the failed commit). */
const WRITER_BOUND_MS = 60_000;
/** corosync restarts on the writer's node during the create loop. */
const RESTARTS = 4;

function mounted(script: string): string {
  return `grep -q ' /etc/pve fuse' /proc/mounts || { echo 'no FUSE mount on /etc/pve' >&2; exit 99; }; ${script}`;
}

/** The __version__ row of a config.db on the host. */
function dbVersion(file: string): bigint {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return BigInt((db.prepare('SELECT version FROM tree WHERE inode = 0').safeIntegers(true).get() as { version: bigint }).version);
  } finally {
    db.close();
  }
}

for (const kind of ['C', 'T'] as const) {
  describe(`ordinary writes under ENOSPC and corosync restarts on an all-${kind} cluster`, { skip, timeout: 900_000 }, () => {
    const m = new Mixed([kind, kind, kind], ownedLabPrefix(`rw${kind.toLowerCase()}`));
    const sh = (i: number, script: string) => m.d.sh(i, mounted(script));
    const start = (i: number): void => (kind === 'C' ? m.start(i) : m.d.start(i, [], { fuse: true }));
    const save = `/tmp/${m.lab.prefix}-pvc-save-n1`;
    const ERR = `/tmp/${m.lab.prefix}-err`;
    const hostDb = join(m.lab.nodeRoot(1), 'var-lib-pve-cluster', 'config.db');

    before(async () => {
      await m.lab.down();
      await m.lab.up(3, { wait: true, timeoutMs: 60_000 });
      for (const i of NODES) start(i);
      await m.waitConverged(120_000);
    });

    after(async () => {
      await m.lab.exec(1, ['sh', '-c', `umount /var/lib/pve-cluster 2>/dev/null; rm -rf ${save}`]);
      await m.down();
    });

    it('ENOSPC on the writer node: clear error, no half-applied change, nothing acknowledged lost, restart converges', async (t) => {
      await m.stop(1);
      const mnt = await m.lab.exec(1, ['sh', '-c', `rm -rf ${save} && mkdir -p ${save} && cp -a /var/lib/pve-cluster/. ${save}/ && mount -t tmpfs -o size=256k tmpfs /var/lib/pve-cluster && cp -a ${save}/. /var/lib/pve-cluster/`]);
      assert.equal(mnt.code, 0, mnt.stderr);
      start(1);
      await m.waitConverged(120_000);
      // Writes until the first failure, then two more (they show the mode the node is in).
      // A writer that stays blocked (C after a failed commit) is released by stopping the daemon.
      const writer = m.lab.exec(1, ['sh', '-c', mounted(`f=0; for k in $(seq 1 ${FILL_FILES}); do if { head -c ${FILL_BYTES} /dev/zero | tr '\\0' a > /etc/pve/fill$k; } 2>${ERR}; then echo "ok $k"; else echo "fail $k $(tr '\\n' ' ' < ${ERR})"; f=$((f+1)); [ $f -ge 3 ] && break; fi; done`)], { timeoutMs: 600_000 });
      const done = await Promise.race([writer.then(() => true), sleep(WRITER_BOUND_MS).then(() => false)]);
      const log1 = m.tail(1, 200).split('\n').filter((l) => /database|sqlite|full|space|error|crit|leav/i.test(l)).slice(-5).join(' | ');
      t.diagnostic(`${kind} n1 log: ${log1}`);
      const other = await sh(2, 'echo during > /etc/pve/during.txt; echo rc=$?');
      t.diagnostic(`${kind}: write on a healthy node while n1 is full: ${other.stdout.trim()} ${other.stderr.trim()}`);
      assert.match(other.stdout, /rc=0/, 'the other nodes keep writing');
      let memVersion: bigint | undefined;
      if (kind === 'T') {
        const s = await m.d.waitFor(1, (x) => x.dfsm?.mode === 'ERROR', 20_000, 'DFSM ERROR');
        assert.equal(s.db.errors, true);
        memVersion = BigInt(s.db.version);
      }
      if (!done) await m.stop(1);
      const w = await writer;
      const lines = w.stdout.trim().split('\n');
      const acked = lines.filter((l) => l.startsWith('ok ')).map((l) => Number(l.split(' ')[1]));
      const failed = lines.filter((l) => l.startsWith('fail '));
      t.diagnostic(`${kind} writer on a full node: acknowledged ${acked.length}, then ${failed.join(' | ')}${done ? '' : ` (blocked > ${WRITER_BOUND_MS} ms, released by stopping the daemon)`}`);
      if (kind === 'T') {
        assert.ok(done, 'no writer blocks');
        assert.ok(failed.length > 0, `the tmpfs filled up: ${w.stdout} ${w.stderr}`);
        assert.match(failed[0]!, /Input\/output error/, 'a clear error (EIO, as memdb_write on a database failure)');
      }
      if (done) await m.stop(1);
      const back = await m.lab.exec(1, ['sh', '-c', `rm -rf ${save} && mkdir -p ${save} && cp -a /var/lib/pve-cluster/. ${save}/ && umount /var/lib/pve-cluster && cp -a ${save}/. /var/lib/pve-cluster/ && rm -rf ${save}`]);
      assert.equal(back.code, 0, back.stderr);
      const check = await m.lab.exec(1, m.d.cli('db', 'check', '/var/lib/pve-cluster/config.db'));
      t.diagnostic(`${kind}: db check after ENOSPC: rc=${check.code} ${check.stdout.trim().split('\n').slice(-2).join(' | ')} ${check.stderr.trim()}`);
      const onDisk = dbVersion(hostDb);
      t.diagnostic(`${kind}: __version__ on disk ${onDisk}${memVersion === undefined ? '' : `, in memory ${memVersion}`}`);
      if (kind === 'T') {
        assert.equal(check.code, 0, check.stdout + check.stderr);
        assert.equal(onDisk, memVersion, 'the memdb and its SQLite file hold the same version');
      }
      start(1);
      await m.waitConverged(120_000);
      for (const i of NODES) {
        for (const k of acked) assert.equal((await sh(i, `wc -c < /etc/pve/fill${k}`)).stdout.trim(), String(FILL_BYTES), `n${i} fill${k}`);
        assert.equal((await sh(i, 'cat /etc/pve/during.txt')).stdout, 'during\n');
      }
      const firstFail = Number((failed[0] ?? `fail ${acked.length + 1}`).split(' ')[1]);
      const applied = (await sh(2, `wc -c < /etc/pve/fill${firstFail} 2>/dev/null || echo absent`)).stdout.trim();
      t.diagnostic(`${kind}: the write that failed on n1 (fill${firstFail}) is on the cluster after the restart: ${applied}`);
    });

    it('corosync restarted under a create loop: creates answered with an error but applied', async (t) => {
      assert.equal((await sh(1, 'mkdir -p /etc/pve/busy')).code, 0);
      await m.waitConverged(60_000);
      const loop = m.lab.exec(1, ['sh', '-c', mounted(`k=0; end=$(( $(date +%s) + ${RESTARTS * 12} )); while [ $(date +%s) -lt $end ]; do k=$((k+1)); if ! { echo x > /etc/pve/busy/f$k; } 2>${ERR}; then echo "fail $k $(tr '\\n' ' ' < ${ERR})"; sleep 0.05; fi; done; echo "total $k"`)], { timeoutMs: RESTARTS * 12_000 + 60_000 });
      for (let r = 0; r < RESTARTS; r++) {
        await sleep(3000);
        await m.lab.stopCorosync(1);
        await sleep(1000);
        await m.lab.startCorosync(1);
      }
      const res = await loop;
      await m.waitConverged(180_000);
      const total = Number(/total (\d+)/.exec(res.stdout)?.[1]);
      assert.ok(total > 0, res.stdout + res.stderr);
      const fails = res.stdout.split('\n').filter((l) => l.startsWith('fail ')).map((l) => ({ k: Number(l.split(' ')[1]), msg: l.slice(l.indexOf(' ', 5) + 1) }));
      const present = new Set((await sh(2, 'ls /etc/pve/busy')).stdout.split('\n').filter((l) => l.length > 0));
      const contents = async (k: number): Promise<string> => (await sh(2, `cat /etc/pve/busy/f${k} 2>/dev/null || echo absent`)).stdout.trim();
      const byErr = new Map<string, { n: number; applied: number; sample: string[] }>();
      for (const f of fails) {
        // dash reports any failed echo as "echo: I/O error" (whatever the errno).
        const op = /cannot create/.test(f.msg) ? 'create' : 'write';
        const errno = /busy/i.test(f.msg) ? 'EBUSY' : /denied/i.test(f.msg) ? 'EACCES' : /echo: I\/O error/.test(f.msg) ? 'error' : f.msg.trim().slice(-40);
        const err = `${op} ${errno}`;
        const e = byErr.get(err) ?? { n: 0, applied: 0, sample: [] };
        e.n++;
        if (present.has(`f${f.k}`)) {
          e.applied++;
          if (e.sample.length < 3) e.sample.push(`f${f.k}=${await contents(f.k)}`);
        }
        byErr.set(err, e);
      }
      // Every acknowledged create is on the cluster with its content.
      const ackedMissing = [];
      for (let k = 1; k <= total; k++) if (!fails.some((f) => f.k === k) && !present.has(`f${k}`)) ackedMissing.push(k);
      const summary = [...byErr].map(([e, v]) => `${e} ${v.n} (applied anyway ${v.applied}${v.sample.length > 0 ? `: ${v.sample.join(' ')}` : ''})`).join('; ');
      t.diagnostic(`${kind} ${RESTARTS} corosync restarts: ${total} creates, ${fails.length} failed: ${summary}; acknowledged but missing ${ackedMissing.length}`);
      if (kind === 'T') assert.deepEqual(ackedMissing, [], 'no acknowledged create is lost');
    });
  });
}
