/**
 * Mixed clusters: C pmxcfs ($PMXCFS_C_BIN) and pmxcfs-ts in one corosync CPG group
 * (issue 7). Four shapes — 2 C + 1 TS and 1 C + 2 TS, with a TS node lowest and
 * highest — each proving that every operation type done on either kind reaches the
 * other with equal contents and equal `db checksum`, plus restart/leader, verify,
 * corosync.conf and quorum scenarios. Skipped (with the reason) without a C binary.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAKETIME_LIB, Mixed, mixedUnavailable, opSuite, sleep, type Kind, type Op } from './cluster.js';

const skip = mixedUnavailable();
const TIMEOUT = 900_000;

/** priv/ and priv/lock/ exist on a fresh DB of either kind? Create them if not. */
async function ensurePriv(m: Mixed, i: number): Promise<void> {
  for (const path of ['priv', 'priv/lock']) {
    if (!(await m.exists(i, path))) await m.ops(i, [{ op: 'mkdir', path }]);
  }
}

/** Run the full op suite on `writer`; check every node sees the result; checksums equal. */
async function proveOps(m: Mixed, writer: number, tag: string): Promise<void> {
  await ensurePriv(m, writer);
  const s = opSuite(`${tag}-n${writer}${m.kind(writer)}`);
  const res = await m.ops(writer, s.ops);
  const failed = res.filter((r) => !r.ok);
  assert.deepEqual(failed, [], `n${writer} (${m.kind(writer)}) ops failed`);
  for (const r of await m.ops(writer, s.failing)) assert.equal(r.ok, false, `n${writer} (${m.kind(writer)}) ${r.op} ${r.path} must fail`);
  await m.waitConverged(60_000);
  for (const i of m.nodes) {
    for (const [path, content] of Object.entries(s.files)) {
      assert.equal(await m.read(i, path), content, `n${i} (${m.kind(i)}) ${path}`);
    }
    for (const path of [...s.gone, `${s.failing[0]!.path.replace(/dir2$/, 'dir3')}`]) assert.equal(await m.exists(i, path), false, `n${i} (${m.kind(i)}) ${path} gone`);
    assert.equal(await m.exists(i, s.lock), true, `n${i} lock ${s.lock}`);
  }
}

/** A corosync.conf with a new config_version (same nodes: a harmless reload). */
function bumpedConf(current: string, version: number): string {
  return current.replace(/config_version:\s*\d+/, `config_version: ${version}`);
}

async function hostConf(m: Mixed, i: number): Promise<string> {
  return (await m.lab.exec(i, ['cat', '/etc/corosync/corosync.conf'])).stdout;
}

async function waitHostConfVersion(m: Mixed, i: number, version: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conf = await hostConf(m, i);
    if (new RegExp(`config_version:\\s*${version}\\b`).test(conf)) return;
    if (Date.now() > deadline) throw new Error(`n${i} (${m.kind(i)}) /etc/corosync/corosync.conf is not version ${version}:\n${conf}\n${m.tail(i)}`);
    await sleep(300);
  }
}

/** Write corosync.conf the way the tools do: corosync.conf.new, then rename. */
async function writeConf(m: Mixed, i: number, content: string): Promise<void> {
  const ops: Op[] = [
    { op: 'write', path: 'corosync.conf.new', data: content },
    { op: 'mv', path: 'corosync.conf.new', to: 'corosync.conf' },
  ];
  const res = await m.ops(i, ops);
  assert.ok(res.every((r) => r.ok), JSON.stringify(res));
}

function assertCleanC(m: Mixed, i: number): void {
  const bad = m.log(i).split('\n').filter((l) => /wrong checksum|crit:|\] error:|memdb error|database error/.test(l));
  assert.deepEqual(bad, [], `n${i} (C) log has errors`);
}

function shapeName(kinds: readonly Kind[]): string {
  return kinds.map((k, n) => `n${n + 1}=${k === 'C' ? 'C' : 'TS'}`).join(' ');
}

describe(`mixed ${shapeName(['C', 'C', 'T'])} (2 C + 1 TS, TS highest)`, { skip, timeout: TIMEOUT }, () => {
  const m = new Mixed(['C', 'C', 'T']);
  before(() => m.up());
  after(() => m.down());

  it('every operation type: C → TS and TS → C', async () => {
    await proveOps(m, 1, 'a');
    await proveOps(m, 3, 'a');
  });

  it('concurrent writes on C and TS nodes at once converge (queue order)', async () => {
    const ops = (i: number): Op[] => [{ op: 'mkdir', path: `conc-n${i}` }, ...Array.from({ length: 40 }, (_, k): Op => ({ op: 'write', path: `conc-n${i}/f${k % 8}`, data: `n${i} write ${k}\n`, ...(k % 3 === 1 ? { offset: 2 } : {}) }))];
    const shared = (i: number): Op[] => Array.from({ length: 30 }, (_, k): Op => ({ op: 'write', path: 'conc-shared', data: `n${i}:${k}\n` }));
    const res = await Promise.all([m.ops(1, [...ops(1), ...shared(1)]), m.ops(2, [...ops(2), ...shared(2)]), m.ops(3, [...ops(3), ...shared(3)])]);
    assert.deepEqual(res.flat().filter((r) => !r.ok), []);
    await m.waitConverged(60_000);
    const seen = await Promise.all(m.nodes.map((i) => m.read(i, 'conc-shared')));
    assert.ok(seen.every((s) => s === seen[0]), JSON.stringify(seen));
  });

  it('TS stopped, C nodes change files, TS restarts: C is the data leader, TS syncs', async () => {
    await m.stop(3);
    const r1 = await m.ops(1, [{ op: 'write', path: 'while-ts-down', data: 'from C n1\n' }, { op: 'mkdir', path: 'dir-while-ts-down' }]);
    const r2 = await m.ops(2, [{ op: 'write', path: 'dir-while-ts-down/f', data: 'from C n2\n' }, { op: 'rm', path: 'a-n1C/b' }]);
    assert.ok([...r1, ...r2].every((r) => r.ok), JSON.stringify([...r1, ...r2]));
    m.start(3);
    await m.waitConverged(90_000);
    const s = await m.tsStatus(3);
    const leader = (s.dfsm as unknown as { lastLeader: { nodeid: number } | null }).lastLeader;
    assert.ok(leader !== null && [1, 2].includes(leader.nodeid), `leader is a C node: ${JSON.stringify(leader)}`);
    assert.equal(await m.read(3, 'dir-while-ts-down/f'), 'from C n2\n');
    assert.equal(await m.exists(3, 'a-n1C/b'), false);
    for (const i of m.cNodes) assertCleanC(m, i);
  });

  it('corosync.conf written on a C node reaches the TS node\'s /etc/corosync/corosync.conf', async () => {
    const cur = (await m.read(1, 'corosync.conf'))!;
    await writeConf(m, 1, bumpedConf(cur, 2));
    for (const i of m.nodes) await waitHostConfVersion(m, i, 2);
    await m.waitConverged();
  });

  it('quorum loss and return (TS partitioned, then the lowest C partitioned) keeps everyone converged', async () => {
    m.lab.linkDown(3);
    try {
      await m.d.waitFor(3, (s) => !s.quorate, 30_000, 'n3 loses quorum');
      const [w] = await m.ops(3, [{ op: 'write', path: 'ts-partitioned', data: 'x' }]);
      assert.equal(w!.ok, false);
      const [c] = await m.ops(1, [{ op: 'write', path: 'during-ts-partition', data: 'majority C\n' }]);
      assert.ok(c!.ok, c!.error);
    } finally {
      m.lab.linkUp(3);
    }
    await m.waitConverged(120_000);
    assert.equal(await m.read(3, 'during-ts-partition'), 'majority C\n');
    m.lab.linkDown(1);
    try {
      await sleep(6_000);
      await m.waitConverged(60_000, [2, 3]);
      const [t] = await m.ops(3, [{ op: 'write', path: 'during-c1-partition', data: 'majority C+TS\n' }]);
      assert.ok(t!.ok, t!.error);
      const [c2] = await m.ops(2, [{ op: 'write', path: 'during-c1-partition-2', data: 'from n2\n' }]);
      assert.ok(c2!.ok, c2!.error);
    } finally {
      m.lab.linkUp(1);
    }
    await m.waitConverged(120_000);
    assert.equal(await m.read(1, 'during-c1-partition'), 'majority C+TS\n');
    assert.equal(await m.read(1, 'during-c1-partition-2'), 'from n2\n');
    for (const i of m.cNodes) assertCleanC(m, i);
  });
});

describe(`mixed ${shapeName(['T', 'C', 'C'])} (2 C + 1 TS, TS lowest)`, { skip, timeout: TIMEOUT }, () => {
  const m = new Mixed(['T', 'C', 'C']);
  before(() => m.up({ 1: { tsArgs: ['--verify-period', '5'] } }));
  after(() => m.down());

  it('every operation type: C → TS and TS → C', async () => {
    await proveOps(m, 2, 'b');
    await proveOps(m, 1, 'b');
  });

  it('an unlock request before the lock expired leaves the lock everywhere', async () => {
    const { lock } = opSuite('b-n2C');
    await m.ops(2, [{ op: 'touch', path: lock, mtime: 0 }]);
    await m.waitConverged();
    for (const i of m.nodes) assert.equal(await m.exists(i, lock), true, `n${i} still has ${lock}`);
  });

  it('verify rounds led by the TS node (period 5 s): C logs success, TS reports ok', async () => {
    const deadline = Date.now() + 60_000;
    const ok = (i: number) => m.cNotices(i).filter((l) => l.includes('data verification successful')).length;
    while (!(ok(2) >= 2 && ok(3) >= 2)) {
      assert.ok(Date.now() < deadline, `C nodes log verification success: n2 ${ok(2)} n3 ${ok(3)}\n${m.tail(2)}`);
      await sleep(500);
    }
    const s = await m.tsStatus(1);
    assert.equal(s.dfsm!.lastVerify?.result, 'ok', JSON.stringify(s.dfsm!.lastVerify));
    for (const i of m.cNodes) assertCleanC(m, i);
  });
});

describe(`mixed ${shapeName(['T', 'T', 'C'])} (1 C + 2 TS, TS lowest)`, { skip, timeout: TIMEOUT }, () => {
  const m = new Mixed(['T', 'T', 'C']);
  before(() => m.up());
  after(() => m.down());

  it('every operation type: C → TS and TS → C', async () => {
    await proveOps(m, 3, 'c');
    await proveOps(m, 2, 'c');
  });

  it('C stopped, TS nodes change files, C restarts: TS is the data leader, C commits our UPDATE stream', async () => {
    await m.stop(3);
    const r1 = await m.batchOk(1, [
      { op: 'write', path: 'while-c-down', data: 'from TS n1\n' },
      { op: 'mkdir', path: 'dir-while-c-down' },
      { op: 'write', path: 'c-n3C/b', data: 'rewritten by TS\n' },
      { op: 'rm', path: 'c-n2T/dir2/inner' },
    ]);
    const r2 = await m.batchOk(2, [{ op: 'write', path: 'dir-while-c-down/f', data: 'from TS n2\n' }]);
    assert.ok(r1 && r2);
    const mark = m.log(3).length;
    m.start(3);
    await m.waitConverged(90_000);
    const fresh = m.log(3).slice(mark);
    assert.match(fresh, /\[dcdb\] notice: leader is [12]\/\d+/, 'a TS node leads');
    const got = /update complete - trying to commit \(got (\d+) inode updates\)/.exec(fresh);
    assert.ok(got !== null && Number(got[1]) >= 4, `C received and committed our UPDATE stream: ${got?.[0]}`);
    assert.match(fresh, /\[dcdb\] notice: all data is up to date/);
    assert.doesNotMatch(fresh, /\[dcdb\] crit:|\[dcdb\] error:|wrong checksum|database error/);
    assert.equal(await m.read(3, 'dir-while-c-down/f'), 'from TS n2\n');
    assert.equal(await m.read(3, 'c-n3C/b'), 'rewritten by TS\n');
    assert.equal(await m.exists(3, 'c-n2T/dir2/inner'), false);
  });

  it('corosync.conf written on a TS node reaches the C node\'s /etc/corosync/corosync.conf', async () => {
    const cur = (await m.read(1, 'corosync.conf'))!;
    await writeConf(m, 1, bumpedConf(cur, 3));
    for (const i of m.nodes) await waitHostConfVersion(m, i, 3);
    await m.waitConverged();
    assertCleanC(m, 3);
  });

  it('quorum loss of the whole cluster and its return keeps everyone converged', async () => {
    for (const i of [2, 3]) m.lab.linkDown(i);
    try {
      await m.d.waitFor(1, (s) => !s.quorate, 30_000, 'n1 loses quorum');
      await m.d.waitFor(2, (s) => !s.quorate, 30_000, 'n2 loses quorum');
      const [w] = await m.ops(3, [{ op: 'write', path: 'c-alone', data: 'x' }]);
      assert.equal(w!.ok, false, 'the C node alone is read-only');
    } finally {
      for (const i of [2, 3]) m.lab.linkUp(i);
    }
    await m.waitConverged(120_000);
    const res = await m.ops(3, [{ op: 'write', path: 'after-quorum-return', data: 'back\n' }]);
    assert.ok(res[0]!.ok, res[0]!.error);
    await m.waitConverged();
    assert.equal(await m.read(1, 'after-quorum-return'), 'back\n');
    assertCleanC(m, 3);
  });
});

describe(`mixed ${shapeName(['C', 'T', 'T'])} (1 C + 2 TS, C lowest, C under libfaketime)`, { skip, timeout: TIMEOUT }, () => {
  const m = new Mixed(['C', 'T', 'T']);
  let dir = '';
  let ft = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pmxmixed-faketime-'));
    ft = join(dir, 'offset');
    writeFileSync(ft, '+0\n');
    await m.up(FAKETIME_LIB !== undefined ? { 1: { faketimeFile: ft } } : {});
  });
  after(async () => {
    await m.down();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('every operation type: C → TS and TS → C', async () => {
    await proveOps(m, 1, 'd');
    await proveOps(m, 3, 'd');
  });

  it(
    'an hour later on the C node: its verify round succeeds on all, and an expired lock is unlocked on request',
    { skip: FAKETIME_LIB === undefined ? 'libfaketime not installed (apt-get install faketime)' : false },
    async () => {
      const { lock } = opSuite('d-n3T');
      writeFileSync(ft, '+3700\n');
      const deadline = Date.now() + 60_000;
      for (;;) {
        const c = m.cNotices(1).filter((l) => l.includes('data verification successful')).length;
        const ts = await Promise.all([2, 3].map((i) => m.tsStatus(i)));
        if (c >= 1 && ts.every((s) => s.dfsm!.lastVerify?.result === 'ok')) break;
        assert.ok(Date.now() < deadline, `verify: C ${c}, TS ${JSON.stringify(ts.map((s) => s.dfsm!.lastVerify))}\n${m.tail(1)}`);
        await sleep(500);
      }
      assert.match(m.log(1), /send verify request/, 'the C node itself started the round (its clock passed the hour)');
      assertCleanC(m, 1);
      // The lock was created (by TS n3) more than 120 s ago in the C node's clock.
      await m.ops(3, [{ op: 'touch', path: lock, mtime: 0 }]);
      const d2 = Date.now() + 30_000;
      while (await m.exists(1, lock)) {
        assert.ok(Date.now() < d2, `lock ${lock} removed\n${m.tail(1)}`);
        await sleep(300);
      }
      await m.waitConverged();
      for (const i of m.nodes) assert.equal(await m.exists(i, lock), false, `n${i} ${lock} gone`);
      assert.equal(readFileSync(ft, 'utf8'), '+3700\n');
    },
  );
});
