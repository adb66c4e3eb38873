/**
 * Real kernel FUSE: a child daemon (`pmxcfs-ts -f -l --mount DIR`) in a private mount
 * namespace (a bind-mounted /etc/hosts maps the host name to 10.200.0.1, as local mode
 * needs a non-loopback node IP); every file operation runs in a separate shell via
 * nsenter into that namespace — never from this process into the mount.
 * Skipped unless root with /dev/fuse, unshare and nsenter.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { fuseSkipReason } from '../helpers/fuse.js';
import { farOffsetProbes } from '../helpers/probes.js';

const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const bin = join(repoRoot, 'bin', 'pmxcfs-ts.mjs');

const skip = fuseSkipReason(['/usr/bin/unshare', '/usr/bin/nsenter', '/usr/bin/setpriv']);
const node = hostname().split('.')[0]!;

interface Sh {
  code: number;
  out: string;
  err: string;
}

class Env {
  readonly dir = mkdtempSync(join(tmpdir(), 'fuse-mount-'));
  readonly mnt = join(this.dir, 'pve');
  holder: ChildProcess | null = null;
  daemon: ChildProcess | null = null;
  daemonOut = '';

  async start(): Promise<void> {
    chmodSync(this.dir, 0o755); // others must reach the mount point for permission tests
    mkdirSync(this.mnt);
    mkdirSync(join(this.dir, 'lib'));
    writeFileSync(join(this.dir, 'hosts'), `127.0.0.1 localhost\n10.200.0.1 ${node}\n`);
    // Own network namespace and /dev/shm too: the daemon serves the IPC service `pve2` (abstract socket).
    this.holder = spawn('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', `mount --bind ${join(this.dir, 'hosts')} /etc/hosts && mount -t tmpfs tmpfs /dev/shm && echo ready && exec sleep infinity`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      this.holder!.stdout!.once('data', () => resolve());
      this.holder!.once('exit', (c) => reject(new Error(`namespace holder exited ${c}`)));
    });
    await this.startDaemon();
  }

  async startDaemon(): Promise<void> {
    const args = ['-t', String(this.holder!.pid), '-m', '-n', process.execPath, bin, '-f', '-l', '--lib-dir', join(this.dir, 'lib'), '--run-dir', join(this.dir, 'run'), '--pid-file', join(this.dir, 'run', 'pid'), '--mount', this.mnt];
    this.daemonOut = '';
    const d = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.daemon = d;
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer): void => {
        this.daemonOut += b.toString();
        if (this.daemonOut.includes('pmxcfs-ts ready')) resolve();
      };
      d.stdout!.on('data', onData);
      d.stderr!.on('data', onData);
      d.once('exit', (c) => reject(new Error(`daemon exited ${c}: ${this.daemonOut}`)));
      setTimeout(() => reject(new Error(`daemon not ready: ${this.daemonOut}`)), 20000).unref();
    });
  }

  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const d = this.daemon;
    if (d === null || d.exitCode !== null) return d?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => d.once('exit', (c) => r(c)));
    d.kill(signal);
    const code = await exited;
    this.daemon = null;
    return code;
  }

  /** A shell command in the test namespace (optionally as another user). */
  sh(cmd: string, as?: { uid: number; gid: number }, cd = true): Promise<Sh> {
    const pre = as === undefined ? [] : ['setpriv', `--reuid=${as.uid}`, `--regid=${as.gid}`, '--clear-groups'];
    return new Promise((resolve) => {
      execFile('nsenter', ['-t', String(this.holder!.pid), '-m', '-n', ...pre, 'sh', '-c', cd ? `cd ${this.mnt} && ${cmd}` : cmd], { encoding: 'latin1', maxBuffer: 16 << 20 }, (err, out, e) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out, err: e });
      });
    });
  }

  async ok(cmd: string): Promise<string> {
    const r = await this.sh(cmd);
    assert.equal(r.code, 0, `${cmd}: ${r.err}`);
    return r.out;
  }

  async close(): Promise<void> {
    await this.stopDaemon();
    if (this.holder !== null && this.holder.exitCode === null) {
      const exited = new Promise((r) => this.holder!.once('exit', r));
      this.holder.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('fuse mount (real kernel FUSE, child daemon)', { skip }, () => {
  const env = new Env();
  before(async () => {
    await env.start();
  });
  after(async () => {
    await env.close();
  });

  it('mounts with C options', async () => {
    const m = (await env.ok('cat /proc/self/mounts')).split('\n').find((l) => l.split(' ')[1] === env.mnt);
    assert.equal(m, `/dev/fuse ${env.mnt} fuse rw,nosuid,nodev,relatime,user_id=0,group_id=0,default_permissions,allow_other 0 0`);
  });

  it('ls -la of the root: modes, owners, links, function files', async () => {
    const out = await env.ok('ls -la --time-style=+%s . | tail -n +2');
    const lines = new Map(
      out
        .trim()
        .split('\n')
        .map((l) => {
          const f = l.split(/\s+/);
          return [f[6]!, f] as const;
        }),
    );
    assert.deepEqual(lines.get('.')!.slice(0, 6), ['drwxr-xr-x', '2', 'root', 'www-data', '0', '0']);
    for (const n of ['.clusterlog', '.members', '.rrd', '.version', '.vmlist']) assert.equal(lines.get(n)![0], '-r--r-----', n);
    assert.equal(lines.get('.debug')![0], '-rw-r-----');
    assert.deepEqual(lines.get('.debug')!.slice(1, 6), ['1', 'root', 'www-data', '2', '0']);
    assert.equal(lines.get('.rrd')![4], '0');
    for (const [n, t] of [
      ['local', `nodes/${node}`],
      ['qemu-server', `nodes/${node}/qemu-server`],
      ['lxc', `nodes/${node}/lxc`],
      ['openvz', `nodes/${node}/openvz`],
    ] as const) {
      const f = lines.get(n)!;
      assert.equal(f[0], 'lrwxr-xr-x', n);
      assert.equal(f[4], String(t.length));
      assert.deepEqual(f.slice(8), [t]);
    }
  });

  it('plugin files: .members, .vmlist, .version, .clusterlog, .debug', async () => {
    assert.equal(await env.ok('cat .members'), `{\n"nodename": "${node}",\n"version": 0\n}\n`);
    assert.match(await env.ok('cat .vmlist'), /^\{\n"version": \d+\n\n\}\n$/);
    const v = await env.ok('cat .version');
    assert.match(v, /^\{\n"starttime": \d+,\n"clinfo": 0,\n"vmlist": \d+,\n"corosync.conf": 1,\n/);
    assert.ok(v.endsWith(`"mapping/usb.cfg": 1,\n"kvstore": {\n"${node}": {\n}\n}\n}\n`));
    assert.equal(v.split('\n').length, 1 + 3 + 43 + 1 + 2 + 2 + 1);
    assert.match(await env.ok('cat .clusterlog'), /^\{\n"data": \[\n\{"uid": 1, "time": \d+, "pri": 6, "tag": "cluster", "pid": \d+, "node": "[^"]+", "user": "root", "msg": "starting cluster log"\}\n\]\n\}\n$/);
    assert.equal(await env.ok('cat .debug'), '0\n');
    await env.ok('echo 1 > .debug');
    assert.equal(await env.ok('cat .debug'), '1\n');
    await env.ok('echo 0 > .debug');
    assert.notEqual((await env.sh('printf 1 > .debug')).code, 0);
    const r = await env.sh('echo 1 > .members');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /Input\/output error/);
    assert.equal(await env.ok('readlink local'), `nodes/${node}\n`);
  });

  it('shell operations: echo, cat, cp, mkdir, mv, rm, rmdir, touch, truncate, append', async () => {
    await env.ok('echo hello > a.txt');
    assert.equal(await env.ok('cat a.txt'), 'hello\n');
    await env.ok('echo more >> a.txt');
    assert.equal(await env.ok('cat a.txt'), 'hello\nmore\n');
    await env.ok('echo new > a.txt');
    assert.equal(await env.ok('cat a.txt'), 'new\n');
    await env.ok('mkdir d1 d2 && cp a.txt d1/b.txt');
    assert.equal(await env.ok('cat d1/b.txt'), 'new\n');
    await env.ok('mv d1/b.txt d2/c.txt');
    assert.equal(await env.ok('ls d1 | wc -l; cat d2/c.txt'), '0\nnew\n');
    await env.ok('mv d1 d3');
    assert.equal((await env.sh('mv d2 d4')).code, 1, 'non-empty directory rename is ENOTEMPTY');
    assert.match((await env.sh('mv d2 d4')).err, /Directory not empty/);
    await env.ok('mkdir d3/sub && mv d3/sub d2/');
    assert.equal(await env.ok('ls d2'), 'c.txt\nsub\n');
    assert.match((await env.sh('rmdir d2')).err, /Directory not empty/);
    await env.ok('rm d2/c.txt && rmdir d2/sub d2 d3');
    assert.equal(await env.ok('ls -d d* 2>/dev/null; true'), '');
    await env.ok('touch -d @1000 a.txt');
    assert.equal(await env.ok('stat -c %Y a.txt'), '1000\n');
    await env.ok('touch a.txt');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(Number(await env.ok('stat -c %Y a.txt')) - now) < 10);
    await env.ok('printf ab > t.bin && truncate -s 10 t.bin');
    assert.equal(await env.ok('od -An -c t.bin | tr -s " "'), ' a b \\0 \\0 \\0 \\0 \\0 \\0 \\0 \\0\n');
    await env.ok('truncate -s 1 t.bin');
    assert.equal(await env.ok('cat t.bin'), 'a');
    await env.ok('touch empty && rm empty t.bin');
    assert.match((await env.sh('cat empty')).err, /No such file/);
    assert.match((await env.sh('ln -s a.txt sl')).err, /Function not implemented/);
    assert.match((await env.sh('ln a.txt hl')).err, /Operation not permitted/);
  });

  it('PVE write pattern (tmp file + rename over an existing file)', async () => {
    await env.ok('echo old > storage.cfg');
    await env.ok('echo "dir: local" > storage.cfg.tmp.123 && mv storage.cfg.tmp.123 storage.cfg');
    assert.equal(await env.ok('cat storage.cfg; ls storage.cfg*'), 'dir: local\nstorage.cfg\n');
  });

  it('1 MiB file round trip; a write beyond 1 MiB fails with EFBIG and keeps the first MiB', async () => {
    await env.ok(`head -c 1048576 /dev/urandom > ${env.dir}/big && cp ${env.dir}/big big && cmp big ${env.dir}/big`);
    assert.equal(await env.ok('stat -c %s big'), '1048576\n');
    const r = await env.sh(`head -c 1048577 /dev/urandom > ${env.dir}/big2 && cp ${env.dir}/big2 big2`);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /File too large/);
    assert.equal(await env.ok('stat -c %s big2'), '1048576\n');
    await env.ok('rm big big2');
  });

  it('writes, truncates and fallocate at offsets beyond 32 bits are refused and change nothing (issue 16)', async () => {
    await env.ok('printf abc > far.txt');
    for (const p of farOffsetProbes('far.txt')) {
      const r = await env.sh(p.cmd);
      assert.notEqual(r.code, 0, p.cmd);
      assert.match(r.err, p.err, p.cmd);
    }
    assert.equal(await env.ok('cat far.txt'), 'abc');
    await env.ok('rm far.txt');
  });

  it('long names and paths (issue 16): names up to 1024 bytes work and are listed, longer ones get ENAMETOOLONG; trees deeper than PATH_MAX work', async () => {
    const n300 = 'n'.repeat(300);
    assert.equal(await env.ok(`echo ok > ${n300} && cat ${n300} && ls | grep -c '^n*$'`), 'ok\n1\n');
    const long = await env.sh(`echo x > ${'m'.repeat(1025)}`);
    assert.notEqual(long.code, 0);
    assert.match(long.err, /File name too long/);
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    // mkdir -p works component by component, so the tree can be deeper than PATH_MAX;
    // only a single path string beyond 4096 bytes is refused, by the kernel
    await env.ok(`mkdir -p ${deep}`);
    const r = await env.sh(`stat ${deep}`);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /File name too long/);
    assert.equal(await env.ok(`find ${'d'.repeat(250)} -type d | wc -l`), '20\n');
    await env.ok(`rm ${n300}; rm -rf ${'d'.repeat(250)}`);
  });

  it('entries with hostile names do not break listings (issue 16)', async () => {
    assert.equal(await env.stopDaemon('SIGTERM'), 0);
    const db = new BetterSqlite3(join(env.dir, 'lib', 'config.db'));
    const v = (db.prepare('SELECT max(inode) AS m FROM tree').get() as { m: number }).m + 1;
    db.prepare("INSERT INTO tree VALUES (?, 0, ?, 0, 1700000000, 4, 'hostile', NULL)").run(v, v);
    const ins = db.prepare('INSERT INTO tree VALUES (?, ?, ?, 0, 1700000000, 8, CAST(? AS TEXT), NULL)');
    ['a/b', 'y'.repeat(1100), 'fine'].forEach((n, k) => ins.run(v + 1 + k, v, v + 1 + k, Buffer.from(n)));
    db.prepare('UPDATE tree SET version = ? WHERE inode = 0').run(v + 10);
    db.close();
    await env.startDaemon();
    assert.equal(await env.ok('ls hostile'), 'fine\n');
    assert.match(await env.ok('ls'), /hostile/);
    await env.ok('ls hostile >/dev/null && ls hostile >/dev/null');
    assert.equal(env.daemonOut.split('\n').filter((l) => l.includes('directory entry not listed')).length, 2, 'one log line per hostile entry');
  });

  it('statfs', async () => {
    assert.match(await env.ok('stat -f -c "%S %b %c %l" .'), /^4096 32768 262144 256\n$/);
  });

  it('modes per path class; priv/ unreadable for non-root; www-data reads non-private files', async () => {
    await env.ok('mkdir -p priv nodes/n9/priv && echo secret > priv/key && echo pub > pub.cfg && echo x > nodes/n9/priv/k && echo s > 100.mount');
    assert.equal(await env.ok('stat -c "%a %U %G" priv priv/key nodes nodes/n9/priv nodes/n9/priv/k pub.cfg 100.mount'), '700 root www-data\n600 root www-data\n755 root www-data\n700 root www-data\n600 root www-data\n640 root www-data\n740 root www-data\n');
    const nobody = { uid: 65534, gid: 65534 };
    const www = { uid: 65534, gid: 33 };
    assert.match((await env.sh('cat priv/key', nobody)).err, /Permission denied/);
    assert.match((await env.sh('cat priv/key', www)).err, /Permission denied/);
    assert.match((await env.sh('cat pub.cfg', nobody)).err, /Permission denied/);
    assert.equal((await env.sh('cat pub.cfg', www)).out, 'pub\n');
    assert.equal((await env.sh('cat .members', www)).code, 0);
    assert.match((await env.sh('echo x > pub.cfg', www)).err, /Permission denied/);
    assert.equal((await env.sh('ls nodes', nobody)).out, 'n9\n');
  });

  it('chmod/chown accept only the implied values', async () => {
    await env.ok('chmod 640 pub.cfg && chmod 0640 nodes && chmod 600 priv/key && chown root:www-data pub.cfg');
    for (const c of ['chmod 600 pub.cfg', 'chmod 644 pub.cfg', 'chmod 755 nodes', 'chmod 640 priv/key', 'chown nobody pub.cfg', 'chgrp root pub.cfg']) {
      assert.match((await env.sh(c)).err, /Operation not permitted/, c);
    }
  });

  it('VM configs appear in .vmlist; a duplicate VMID on another node is EEXIST', async () => {
    await env.ok(`mkdir -p nodes/${node}/qemu-server nodes/other/qemu-server nodes/${node}/lxc`);
    await env.ok(`echo "name: a" > nodes/${node}/qemu-server/100.conf && echo "x" > nodes/${node}/lxc/101.conf`);
    const list = await env.ok('cat .vmlist');
    assert.match(list, new RegExp(`"100": \\{ "node": "${node}", "type": "qemu", "version": \\d+ \\}`));
    assert.match(list, new RegExp(`"101": \\{ "node": "${node}", "type": "lxc", "version": \\d+ \\}`));
    assert.match(list, /^\{\n"version": \d+,\n"ids": \{\n.*,\n.*\}\n\n\}\n$/);
    assert.match((await env.sh('echo dup > nodes/other/qemu-server/100.conf')).err, /File exists/);
    assert.equal(await env.ok('cat qemu-server/100.conf'), 'name: a\n');
    // migration: rename to another node keeps the VMID
    await env.ok(`mv nodes/${node}/qemu-server/100.conf nodes/other/qemu-server/100.conf`);
    assert.match(await env.ok('cat .vmlist'), /"100": \{ "node": "other", "type": "qemu"/);
  });

  it('fixed names: create below or over them is refused', async () => {
    assert.notEqual((await env.sh('mkdir .members/x')).code, 0);
    assert.match((await env.sh('mv pub.cfg .members')).err, /Permission denied/);
    assert.match((await env.sh('rm .vmlist')).err, /Permission denied/);
  });

  it('clean unmount on SIGTERM; a crashed daemon leaves a stale mount that the next start clears', async () => {
    assert.equal(await env.stopDaemon('SIGTERM'), 0);
    assert.equal(await env.ok(`grep -c " ${env.mnt} " /proc/self/mounts || true`), '0\n');
    await env.startDaemon();
    assert.equal(await env.ok('cat pub.cfg'), 'pub\n');
    await env.stopDaemon('SIGKILL');
    assert.match((await env.sh(`ls ${env.mnt}`, undefined, false)).err, /Transport endpoint is not connected/);
    await env.startDaemon();
    assert.equal(await env.ok('cat pub.cfg'), 'pub\n');
    assert.equal(await env.ok(`grep -c " ${env.mnt} " /proc/self/mounts`), '1\n');
  });

  it('an external umount ends the daemon (C: fuse_loop_mt returns, main shuts down)', async () => {
    const d = env.daemon!;
    const exited = new Promise<number | null>((r) => d.once('exit', (c) => r(c)));
    const r = await env.sh(`umount ${env.mnt}`, undefined, false);
    assert.equal(r.code, 0, r.err);
    assert.equal(await exited, 0);
    env.daemon = null;
  });
});
