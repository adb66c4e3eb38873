/**
 * Issue 16 probes on a mixed cluster: n1 runs C pmxcfs ($PMXCFS_C_BIN), n2 and n3 run
 * pmxcfs-ts with /etc/pve mounted. Each probe asserts what TS must do and prints what C
 * did (`# C: ...` diagnostics) for the README's table:
 * - a write at offset 2^40 through /etc/pve;
 * - a database whose __version__ is 2^63 − 1 held by the C node: the TS nodes sync
 *   from it, a new file gets inode 2^63 and replicates back, `db checksum` agrees;
 * - a name with '/' held by the C node: `ls /etc/pve` on each kind;
 * - concurrent O_APPEND from all three nodes: appends acknowledged vs lines present.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ownedLabPrefix } from '../../src/lab/lab.js';
import { Mixed, mixedUnavailable } from './cluster.js';

const skip = mixedUnavailable();

/** Never write into the plain directory under a missing FUSE mount (as Mixed.ops). */
function mounted(script: string): string {
  return `grep -q ' /etc/pve fuse' /proc/mounts || { echo 'no FUSE mount on /etc/pve' >&2; exit 99; }; ${script}`;
}
const NODES = [1, 2, 3];
const TS = [2, 3];

describe('issue 16 probes on a C + 2 TS cluster', { skip, timeout: 900_000 }, () => {
  const m = new Mixed(['C', 'T', 'T'], ownedLabPrefix('rmix'));
  const sh = (i: number, script: string) => m.d.sh(i, mounted(script));

  function startAll(): void {
    m.start(1);
    for (const i of TS) m.d.start(i, [], { fuse: true });
  }

  async function stopAll(): Promise<void> {
    for (const i of NODES) await m.stop(i);
  }

  /** Change the C node's database while every daemon is stopped. */
  async function editCDb(sql: (db: BetterSqlite3.Database) => void): Promise<void> {
    await stopAll();
    const db = new BetterSqlite3(join(m.lab.nodeRoot(1), 'var-lib-pve-cluster', 'config.db'));
    sql(db);
    db.close();
    startAll();
    await m.waitConverged(120_000);
  }

  before(async () => {
    await m.lab.down();
    await m.lab.up(3, { wait: true, timeoutMs: 60_000 });
    startAll();
    await m.waitConverged(120_000);
  });

  after(async () => {
    await m.down();
  });

  it('a write at offset 2^40: TS refuses with EFBIG and nothing changes', async (t) => {
    for (const i of [1, 2]) {
      assert.equal((await sh(i, `printf abc > /etc/pve/far${i}.txt`)).code, 0);
      const r = await sh(i, `printf x | dd of=/etc/pve/far${i}.txt bs=1 seek=${2 ** 40} conv=notrunc status=none; echo rc=$?`);
      await m.waitConverged();
      const after = (await sh(3, `od -An -c /etc/pve/far${i}.txt`)).stdout.replace(/\s+/g, ' ').trim();
      if (i === 1) t.diagnostic(`C: pwrite at 2^40: ${r.stdout.trim()} ${r.stderr.trim()}; file on n3 is now '${after}'`);
      else {
        assert.match(r.stdout, /rc=1/);
        assert.match(r.stderr, /File too large/);
        assert.equal(after, 'a b c');
      }
    }
  });

  it('__version__ 2^63 − 1 on the C node: TS syncs, new inodes beyond 2^63 replicate, checksums agree', async (t) => {
    await editCDb((db) => db.prepare('UPDATE tree SET version = ? WHERE inode = 0').run(2n ** 63n - 1n));
    assert.equal((await sh(2, 'echo big > /etc/pve/u64.txt')).code, 0);
    const sum = await m.waitConverged(60_000);
    assert.equal((await sh(1, 'cat /etc/pve/u64.txt')).stdout, 'big\n', 'the C node has the file');
    const dump = await m.d.lab.exec(2, m.d.cli('db', 'dump', '/var/lib/pve-cluster/config.db'));
    assert.match(dump.stdout, /^9223372036854775808 .*\/u64\.txt$/m, 'inode 2^63 on TS');
    t.diagnostic(`C: synced with a 2^63-1 version; checksum on every node ${sum}`);
  });

  it("a name with '/' on the C node: ls works on TS (entry skipped), checksums agree", async (t) => {
    await editCDb((db) => {
      const v = BigInt((db.prepare('SELECT version FROM tree WHERE inode = 0').safeIntegers(true).get() as { version: bigint }).version) + 1n;
      db.prepare("INSERT INTO tree VALUES (?, 0, ?, 1, 1700000000, 8, 'a/b', X'6869')").run(v, v);
      db.prepare('UPDATE tree SET version = ? WHERE inode = 0').run(v);
    });
    const c = await sh(1, 'ls /etc/pve >/dev/null; echo rc=$?');
    t.diagnostic(`C: ls /etc/pve with an 'a/b' entry: ${c.stdout.trim()} ${c.stderr.trim()}`);
    for (const i of TS) {
      const r = await sh(i, 'ls /etc/pve');
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /a\/b/);
      assert.match(r.stdout, /u64\.txt/);
    }
  });

  it('ENOSPC under /var/lib/pve-cluster during a full-copy commit: nothing half-applied, nothing lost, restart recovers', async (t) => {
    // the host's /tmp (nodes share it): one save directory per node
    const save = (i: number): string => `/tmp/${m.lab.prefix}-pvc-save-n${i}`;
    // 2 x 600 KB of data the joining nodes must copy into a 256 KiB tmpfs
    for (const k of [1, 2]) assert.equal((await sh(2, `head -c 600000 /dev/urandom | base64 -w0 | head -c 600000 > /etc/pve/fill${k}.bin`)).code, 0);
    const sum = await m.waitConverged(60_000);
    for (const i of [1, 3]) await m.stop(i);
    for (const i of [1, 3]) {
      const r = await m.lab.exec(i, ['sh', '-c', `mkdir -p ${save(i)} && cp -a /var/lib/pve-cluster/. ${save(i)}/ && mount -t tmpfs -o size=256k tmpfs /var/lib/pve-cluster`]);
      assert.equal(r.code, 0, r.stderr);
    }
    m.start(1);
    m.d.start(3, [], { fuse: true });
    await new Promise((r) => setTimeout(r, 15_000));
    const alive3 = await m.d.tryStatus(3);
    const w = await sh(2, 'echo during > /etc/pve/during-enospc.txt; echo rc=$?');
    t.diagnostic(`C (n1) log on ENOSPC: ${m.tail(1, 400).split('\n').filter((l) => /database|sqlite|full|space|error|crit/i.test(l)).slice(-4).join(' | ')}`);
    t.diagnostic(`TS (n3): daemon ${alive3 === undefined ? 'not answering' : `mode ${alive3.dfsm?.mode}`}; log: ${m.tail(3, 400).split('\n').filter((l) => /database|full|space|commit|error/i.test(l)).slice(-4).join(' | ')}`);
    assert.match(w.stdout, /rc=0/, 'the healthy node keeps writing');
    for (const i of [1, 3]) {
      await m.stop(i);
      const r = await m.lab.exec(i, ['sh', '-c', `umount /var/lib/pve-cluster && cp -a ${save(i)}/. /var/lib/pve-cluster/ && rm -rf ${save(i)}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    m.start(1);
    m.d.start(3, [], { fuse: true });
    const after = await m.waitConverged(120_000);
    assert.notEqual(after, sum, 'the write made during the probe is there');
    for (const i of NODES) assert.equal((await sh(i, 'cat /etc/pve/during-enospc.txt')).stdout, 'during\n');
  });

  it('concurrent O_APPEND from all nodes: measured (what an appending writer can rely on)', async (t) => {
    t.diagnostic(`C+TS+TS O_APPEND: ${await appendProbe(m)}`);
  });
});

/** 3 nodes append 100 lines each to one file at once; acknowledged vs present lines. */
async function appendProbe(m: Mixed): Promise<string> {
  const N = 100;
  await m.d.sh(1, mounted(': > /etc/pve/append.log'));
  await m.waitConverged();
  const runs = await Promise.all(NODES.map((i) => m.d.sh(i, mounted(`ok=0; for k in $(seq 1 ${N}); do echo "n${i}-$k" >> /etc/pve/append.log && ok=$((ok+1)); done; echo $ok`))));
  await m.waitConverged(60_000);
  const acked = runs.map((r) => Number(r.stdout.trim()));
  const lines = (await m.d.sh(2, mounted('cat /etc/pve/append.log'))).stdout.split('\n').filter((l) => l.length > 0);
  // Each node's own appends are ordered: the lines of one node that survive keep their order.
  for (const i of NODES) {
    const own = lines.filter((l) => l.startsWith(`n${i}-`)).map((l) => Number(l.split('-')[1]));
    assert.deepEqual(own, [...own].sort((a, b) => a - b), `n${i}'s surviving lines keep their order`);
  }
  const present = NODES.map((i) => lines.filter((l) => l.startsWith(`n${i}-`)).length);
  return `acknowledged ${acked.join('/')}, present ${present.join('/')}, total ${lines.length} of ${acked.reduce((a, b) => a + b, 0)}`;
}

for (const kinds of [['C', 'C', 'C'], ['T', 'T', 'T']] as const) {
  describe(`concurrent O_APPEND on an all-${kinds[0]} cluster (measured)`, { skip, timeout: 600_000 }, () => {
    const m = new Mixed(kinds, ownedLabPrefix(`rap${kinds[0].toLowerCase()}`));
    before(async () => {
      await m.lab.down();
      await m.lab.up(3, { wait: true, timeoutMs: 60_000 });
      for (const i of NODES) if (kinds[0] === 'C') m.start(i);
      else m.d.start(i, [], { fuse: true });
      await m.waitConverged(120_000);
    });
    after(async () => {
      await m.down();
    });
    it('3 x 100 appends at once', async (t) => {
      t.diagnostic(`all-${kinds[0]} O_APPEND: ${await appendProbe(m)}`);
    });
  });
}
