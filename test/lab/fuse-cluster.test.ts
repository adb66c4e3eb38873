/**
 * /etc/pve through the real kernel FUSE on a 3-node lab in cluster mode (issue 6):
 * shell operations on one node and their effect on the others, modes, the VM list
 * on every node, duplicate VMIDs, and read-only without quorum. Every file
 * operation runs in a shell inside the node, never in the daemon's process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab, ownedLabPrefix } from '../../src/lab/lab.js';
import { DaemonLab, fuseLabUnavailable } from '../../src/lab/daemons.js';
import { farOffsetProbes } from '../helpers/probes.js';

const PREFIX = ownedLabPrefix('testf');
const skip = fuseLabUnavailable();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('/etc/pve over FUSE on a 3-node lab', { skip, timeout: 300_000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const d = new DaemonLab(lab);

  /** Poll a shell command on node i until its stdout matches. */
  async function eventually(i: number, script: string, expect: RegExp | string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await d.sh(i, script);
      const ok = typeof expect === 'string' ? r.stdout === expect : expect.test(r.stdout);
      if (ok) return r.stdout;
      if (Date.now() > deadline) throw new Error(`n${i}: '${script}' gave ${JSON.stringify(r.stdout)} / ${JSON.stringify(r.stderr)}, expected ${String(expect)}`);
      await sleep(200);
    }
  }

  before(async () => {
    await lab.down();
    await lab.up(3, { wait: true, timeoutMs: 60_000 });
    for (const i of [1, 2, 3]) d.start(i, [], { fuse: true });
    await d.waitSynced([1, 2, 3], 60_000);
    for (const i of [1, 2, 3]) await eventually(i, 'test -f /etc/pve/corosync.conf && echo mounted', 'mounted\n');
  });

  after(async () => {
    await lab.down();
  });

  it('shell operations on n1 are seen on n2 and n3', async () => {
    const r = await d.sh(
      1,
      [
        'set -e',
        'cd /etc/pve',
        'echo hello > a.txt',
        'echo more >> a.txt',
        'mkdir -p dir1/sub',
        'cp a.txt dir1/copy.txt',
        'mv a.txt dir1/sub/moved.txt',
        'mkdir dir2 && mv dir2 dir1/dir2',
        'touch -d @1700000000 dir1/copy.txt',
        'echo 0123456789 > t.txt && truncate -s 4 t.txt',
        'echo "pve style" > user.cfg.tmp.$$ && mv user.cfg.tmp.$$ user.cfg',
        'echo gone > rm.txt && rm rm.txt',
        'mkdir rmd && rmdir rmd',
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    for (const i of [2, 3]) {
      await eventually(i, 'cat /etc/pve/dir1/sub/moved.txt', 'hello\nmore\n');
      assert.equal((await d.sh(i, 'cat /etc/pve/dir1/copy.txt')).stdout, 'hello\nmore\n');
      assert.equal((await d.sh(i, 'stat -c %Y /etc/pve/dir1/copy.txt')).stdout.trim(), '1700000000');
      assert.equal((await d.sh(i, 'cat /etc/pve/t.txt')).stdout, '0123');
      assert.equal((await d.sh(i, 'cat /etc/pve/user.cfg')).stdout, 'pve style\n');
      assert.equal((await d.sh(i, 'test -d /etc/pve/dir1/dir2 && echo yes')).stdout, 'yes\n');
      assert.equal((await d.sh(i, 'ls /etc/pve/rm.txt /etc/pve/rmd 2>&1 | wc -l')).stdout.trim(), '2');
      assert.notEqual((await d.sh(i, 'test -e /etc/pve/rm.txt')).code, 0);
    }
    await d.waitConverged([1, 2, 3]);
  });

  it('a 1 MiB file replicates; a write beyond 1 MiB fails with EFBIG', async () => {
    const r = await d.sh(2, 'head -c 1048576 /dev/urandom > /tmp/big && cp /tmp/big /etc/pve/big.bin && sha256sum < /tmp/big');
    assert.equal(r.code, 0, r.stderr);
    await eventually(3, 'sha256sum < /etc/pve/big.bin', r.stdout, 20_000);
    const over = await d.sh(2, 'head -c 1048577 /dev/zero > /etc/pve/too-big.bin');
    assert.notEqual(over.code, 0);
    assert.match(over.stderr, /File too large/);
  });

  it('writes, truncates and fallocate at offsets beyond 32 bits are refused on every node and change nothing (issue 16)', async () => {
    assert.equal((await d.sh(1, 'printf abc > /etc/pve/far.txt')).code, 0);
    for (const p of farOffsetProbes('/etc/pve/far.txt')) {
      const r = await d.sh(2, p.cmd);
      assert.notEqual(r.code, 0, p.cmd);
      assert.match(r.stderr, p.err, p.cmd);
    }
    for (const i of [1, 2, 3]) await eventually(i, 'cat /etc/pve/far.txt', 'abc');
    await d.waitConverged([1, 2, 3]);
  });

  it('modes and owners per path class; priv/ closed to non-root', async () => {
    const ls = await d.sh(1, 'mkdir -p /etc/pve/priv && echo s > /etc/pve/priv/secret && stat -c "%a %U %G %n" /etc/pve/corosync.conf /etc/pve/priv /etc/pve/priv/secret /etc/pve/dir1');
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, '640 root www-data /etc/pve/corosync.conf\n700 root www-data /etc/pve/priv\n600 root www-data /etc/pve/priv/secret\n755 root www-data /etc/pve/dir1\n');
    const nobody = await d.sh(1, 'setpriv --reuid=65534 --regid=65534 --clear-groups cat /etc/pve/priv/secret');
    assert.notEqual(nobody.code, 0);
  });

  it('a VM config created on n1 appears in .vmlist on every node; the same VMID on another node is refused with EEXIST', async () => {
    const r = await d.sh(1, 'mkdir -p /etc/pve/nodes/n1/qemu-server /etc/pve/nodes/n2/qemu-server && echo "memory: 512" > /etc/pve/nodes/n1/qemu-server/100.conf');
    assert.equal(r.code, 0, r.stderr);
    for (const i of [1, 2, 3]) await eventually(i, 'cat /etc/pve/.vmlist', /"100": \{ "node": "n1", "type": "qemu", "version": \d+ \}/);
    const dup = await d.sh(2, 'echo "memory: 256" > /etc/pve/nodes/n2/qemu-server/100.conf');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /File exists/);
  });

  it('.members lists the corosync nodelist with online flags, quorum and the own IP', async () => {
    const text = await eventually(2, 'cat /etc/pve/.members', /"nodes": 3, "quorate": 1/);
    const members = JSON.parse(text) as { nodename: string; cluster: { name: string; nodes: number; quorate: number }; nodelist: Record<string, { id: number; online: number; ip?: string }> };
    assert.equal(members.nodename, 'n2');
    assert.equal(members.cluster.name, PREFIX);
    assert.deepEqual(Object.keys(members.nodelist).sort(), ['n1', 'n2', 'n3']);
    for (const [name, n] of Object.entries(members.nodelist)) {
      assert.equal(n.id, Number(name.slice(1)));
      assert.equal(n.online, 1);
    }
    assert.equal(members.nodelist['n2']!.ip, lab.address(2));
  });

  it('without quorum /etc/pve is read-only; after the heal it is writable and converged', async () => {
    lab.linkDown(3);
    try {
      await d.waitFor(3, (s) => !s.quorate, 30_000, 'n3 loses quorum');
      await eventually(3, 'stat -c %a /etc/pve/corosync.conf', '440\n');
      const w = await d.sh(3, 'echo x > /etc/pve/while-partitioned');
      assert.notEqual(w.code, 0);
      assert.match(w.stderr, /Permission denied/);
      assert.equal((await d.sh(3, 'cat /etc/pve/t.txt')).stdout, '0123', 'reads still work');
    } finally {
      lab.linkUp(3);
    }
    await d.waitSynced([1, 2, 3], 90_000);
    await eventually(3, 'stat -c %a /etc/pve/corosync.conf', '640\n');
    const w = await d.sh(3, 'echo back > /etc/pve/after-heal');
    assert.equal(w.code, 0, w.stderr);
    await eventually(1, 'cat /etc/pve/after-heal', 'back\n');
    await d.waitConverged([1, 2, 3]);
  });
});
