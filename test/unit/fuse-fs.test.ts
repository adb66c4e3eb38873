/**
 * /etc/pve without a kernel mount: path classes and modes (fuse.md §3, §4), the
 * quorum-dependent read-only mode through the isQuorate hook, plug dispatch rules,
 * libfuse 2 node ids and byte-exact plugin file formats (§7).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsOps } from '../../src/fsops/fsops.js';
import { NodeTable, PveFs, resolve } from '../../src/fuse/fs.js';
import { chmodAllowed, chownAllowed, isOpenvzScript, maskMode, pathIsPrivate } from '../../src/fuse/perms.js';
import type { PluginSources } from '../../src/fuse/plugins.js';
import { type FuseAddon, FuseOp, type FuseRequest } from '../../src/fuse/native.js';
import { Status } from '../../src/status/status.js';
import { membersText, TRACKED_PATHS, versionText, vmlistText } from '../../src/status/text.js';
import { silentLog } from '../../src/util/log.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { VmType } from '../../src/memdb/vmlist.js';
import { ManualClock } from '../../src/util/clock.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(quorate = { v: true }) {
  const dir = mkdtempSync(join(tmpdir(), 'fuse-fs-'));
  dirs.push(dir);
  const memdb = Memdb.open(join(dir, 'config.db'));
  const fsops = new FsOps(memdb, null, ManualClock.atSeconds(1000));
  const status = new Status({ nodename: 'n1', nodeip: '10.0.0.1', memdb, isQuorate: () => quorate.v, clock: ManualClock.atSeconds(1234), log: silentLog, rrdFiles: null, pid: 9 });
  const counters = status.counters;
  let debug = false;
  const sources: PluginSources = { status, getDebug: () => debug, setDebug: (on) => (debug = on) };
  const fs = new PveFs({ fsops, sources, nodename: 'n1', isQuorate: () => quorate.v, wwwGid: 33, clock: ManualClock.atSeconds(2000) });
  return { memdb, fsops, fs, quorate, counters, debug: () => debug };
}

function mode(fs: PveFs, path: string): string {
  const a = fs.getattr(path);
  assert.equal(typeof a, 'object', `getattr ${path}`);
  return ((a as { mode: number }).mode & 0o7777).toString(8).padStart(4, '0');
}

describe('fuse perms', () => {
  it('path_is_private', () => {
    for (const p of ['priv', 'priv/', 'priv/lock/x', '/priv', 'nodes/n1/priv', 'nodes/x/priv/key', '//nodes/a/priv']) assert.ok(pathIsPrivate(p), p);
    for (const p of ['privX', 'nodes/n1/lxc/priv', 'something/priv', 'nodes/priv', 'nodes', 'nodes/n1/privX', '']) assert.ok(!pathIsPrivate(p), p);
  });
  it('openvz script names', () => {
    for (const n of ['100.mount', 'vps.start', '1.postumount', '9.premount']) assert.ok(isOpenvzScript(n), n);
    for (const n of ['0.mount', '100.conf', 'vps.', 'x.start', '100.start.x', '.mount']) assert.ok(!isOpenvzScript(n), n);
  });
  it('final masking', () => {
    assert.equal(maskMode('priv/x', 0o100666), 0o100600);
    assert.equal(maskMode('priv', 0o40555), 0o40500);
    assert.equal(maskMode('a', 0o40777), 0o40755);
    assert.equal(maskMode('a', 0o100766), 0o100740);
    assert.equal(maskMode('local', 0o120555), 0o120555);
  });
  it('chmod accepts exactly 0640 / 0600 (private), chown root:www-data', () => {
    assert.ok(chmodAllowed('f', 0o100640));
    assert.ok(chmodAllowed('dir', 0o40640));
    assert.ok(!chmodAllowed('f', 0o600));
    assert.ok(!chmodAllowed('f', 0o644));
    assert.ok(!chmodAllowed('dir', 0o755));
    assert.ok(chmodAllowed('priv/f', 0o600));
    assert.ok(!chmodAllowed('priv/f', 0o640));
    assert.ok(chownAllowed(0, 33, 33));
    assert.ok(chownAllowed(null, null, 33));
    assert.ok(chownAllowed(null, 33, 33));
    assert.ok(!chownAllowed(65534, null, 33));
    assert.ok(!chownAllowed(null, 0, 33));
  });
});

describe('fuse plug dispatch', () => {
  it('resolve', () => {
    assert.deepEqual(resolve(''), { kind: 'root' });
    assert.deepEqual(resolve('.members'), { kind: 'fixed', name: '.members' });
    assert.deepEqual(resolve('local'), { kind: 'fixed', name: 'local' });
    assert.deepEqual(resolve('.members/x'), { kind: 'below-fixed' });
    assert.deepEqual(resolve('nodes/n1/local'), { kind: 'memdb', path: 'nodes/n1/local' });
  });
  it('fixed names refuse create/mkdir/rename/unlink with EACCES; function files EIO on write', async () => {
    const { fs } = setup();
    assert.equal(await fs.create('.members'), -13);
    assert.equal(await fs.mkdir('local'), -13);
    assert.equal(await fs.remove('.vmlist'), -13);
    assert.equal(await fs.create('.members/x'), -13);
    assert.equal(await fs.create('a'), 0);
    assert.equal(await fs.rename('a', '.members'), -13);
    assert.equal(await fs.rename('a', 'local'), -13);
    assert.equal(await fs.write('.members', Buffer.from('1\n'), 0), -5);
    assert.equal(await fs.truncate('.members', 0), -5);
    assert.equal(await fs.truncate('.debug', 0), 0);
    assert.equal(await fs.utimens('.members', 5), -13);
    assert.equal(fs.getattr('.members/x'), -13);
  });
  it('.debug accepts exactly "0\\n" / "1\\n" at offset 0 and consumes 2 bytes', async () => {
    const s = setup();
    assert.equal(await s.fs.write('.debug', Buffer.from('1\n'), 0), 2);
    assert.equal(s.debug(), true);
    assert.equal(s.fs.read('.debug', 0, 100).toString(), '1\n');
    assert.equal(await s.fs.write('.debug', Buffer.from('1'), 0), -5);
    assert.equal(await s.fs.write('.debug', Buffer.from('0\n'), 1), -5);
    assert.equal(await s.fs.write('.debug', Buffer.from('2\n'), 0), -5);
    assert.equal(await s.fs.write('.debug', Buffer.from('0\nxyz'), 0), 2);
    assert.equal(s.debug(), false);
  });
  it('root listing: . .. fixed names, then memdb entries except shadowed ones', async () => {
    const { fs, memdb } = setup();
    memdb.create('local', 0, 1); // shadowed by the symlink
    await fs.create('z');
    const l = fs.listing('');
    assert.deepEqual(l.names, ['.', '..', '.debug', '.vmlist', '.members', 'lxc', 'local', '.rrd', '.version', '.clusterlog', 'openvz', 'qemu-server', 'z']);
    assert.deepEqual(fs.listing('missing').names, ['.', '..']);
  });
  it('function file size is the content generated at getattr; read serves that buffer', async () => {
    const { fs, memdb } = setup();
    const a = fs.getattr('.vmlist') as { size: number };
    assert.equal(a.size, '{\n"version": 0\n\n}\n'.length);
    memdb.mkdir('nodes', 0, 1);
    memdb.mkdir('nodes/n1', 0, 1);
    memdb.mkdir('nodes/n1/qemu-server', 0, 1);
    memdb.create('nodes/n1/qemu-server/100.conf', 0, 1);
    // not regenerated by read
    assert.equal(fs.read('.vmlist', 0, 4096).toString(), '{\n"version": 0\n\n}\n');
    fs.getattr('.vmlist');
    assert.match(fs.read('.vmlist', 0, 4096).toString(), /"100": \{ "node": "n1", "type": "qemu", "version": 1 \}/);
  });
});

describe('fuse modes and quorum (isQuorate hook)', () => {
  it('quorate: memdb 0640/0755, private 0600/0700, links 0755, root 0755, functions 0440/0640', async () => {
    const { fs, memdb } = setup();
    memdb.mkdir('priv', 0, 1);
    memdb.create('priv/k', 0, 1);
    memdb.mkdir('nodes', 0, 1);
    memdb.mkdir('nodes/n1', 0, 1);
    memdb.mkdir('nodes/n1/priv', 0, 1);
    memdb.create('f', 0, 1);
    memdb.create('100.mount', 0, 1);
    assert.equal(mode(fs, ''), '0755');
    assert.equal(mode(fs, 'f'), '0640');
    assert.equal(mode(fs, '100.mount'), '0740');
    assert.equal(mode(fs, 'nodes'), '0755');
    assert.equal(mode(fs, 'priv'), '0700');
    assert.equal(mode(fs, 'priv/k'), '0600');
    assert.equal(mode(fs, 'nodes/n1/priv'), '0700');
    assert.equal(mode(fs, 'local'), '0755');
    assert.equal(mode(fs, '.members'), '0440');
    assert.equal(mode(fs, '.debug'), '0640');
    const root = fs.getattr('') as { nlink: number; mtime: number; gid: number; uid: number };
    assert.deepEqual([root.nlink, root.mtime, root.uid, root.gid], [2, 0, 0, 33]);
    const link = fs.getattr('qemu-server') as { size: number };
    assert.equal(link.size, 'nodes/n1/qemu-server'.length);
  });
  it('not quorate: read-only modes, EACCES on every memdb change, reads and .debug keep working; heal restores', async () => {
    const q = { v: true };
    const { fs, memdb } = setup(q);
    memdb.mkdir('priv', 0, 1);
    memdb.create('priv/k', 0, 1);
    memdb.create('f', 0, 1);
    memdb.write('f', 0, 1, Buffer.from('data'), 0, false);
    memdb.mkdir('d', 0, 1);
    q.v = false;
    assert.equal(mode(fs, ''), '0755');
    assert.equal(mode(fs, 'f'), '0440');
    assert.equal(mode(fs, 'd'), '0555');
    assert.equal(mode(fs, 'priv'), '0500');
    assert.equal(mode(fs, 'priv/k'), '0400');
    assert.equal(mode(fs, 'local'), '0555');
    assert.equal(mode(fs, '.members'), '0440');
    assert.equal(mode(fs, '.debug'), '0640');
    assert.equal(await fs.create('g'), -13);
    assert.equal(await fs.write('f', Buffer.from('x'), 0), -13);
    assert.equal(await fs.truncate('f', 0), -13);
    assert.equal(await fs.mkdir('e'), -13);
    assert.equal(await fs.remove('f'), -13);
    assert.equal(await fs.rename('f', 'g'), -13);
    assert.equal(await fs.utimens('f', 5), -13);
    assert.equal(fs.read('f', 0, 10).toString(), 'data');
    assert.equal(await fs.write('.debug', Buffer.from('1\n'), 0), 2);
    q.v = true;
    assert.equal(mode(fs, 'local'), '0755');
    assert.equal(mode(fs, 'f'), '0640');
    assert.equal(await fs.write('f', Buffer.from('x'), 0), 1);
  });
  it('duplicate VMID on another node is EEXIST', async () => {
    const { fs, memdb } = setup();
    for (const d of ['nodes', 'nodes/n1', 'nodes/n1/qemu-server', 'nodes/n2', 'nodes/n2/qemu-server']) memdb.mkdir(d, 0, 1);
    assert.equal(await fs.create('nodes/n1/qemu-server/100.conf'), 0);
    assert.equal(await fs.create('nodes/n2/qemu-server/100.conf'), -17);
    assert.equal(await fs.create('nodes/n2/qemu-server/101.conf'), 0);
    assert.equal(await fs.rename('nodes/n2/qemu-server/101.conf', 'nodes/n2/qemu-server/100.conf'), -17);
  });
});

describe('fuse node ids (libfuse 2 high-level)', () => {
  it('root is 1, first lookup 2, same name same id, forget frees, rename/unlink follow names', () => {
    const t = new NodeTable();
    const a = t.lookup(t.root, '.debug');
    assert.equal(a.id, 2);
    assert.equal(t.lookup(t.root, '.debug').id, 2);
    const d = t.lookup(t.root, 'd');
    const f = t.lookup(d, 'f');
    assert.equal(t.path(f), 'd/f');
    t.rename(d, 'f', t.root, 'g');
    assert.equal(t.path(f), 'g');
    t.remove(t.root, 'g');
    assert.equal(t.path(f), null);
    t.forget(a.id, 1);
    assert.ok(t.get(a.id) !== undefined);
    t.forget(a.id, 1);
    assert.equal(t.get(a.id), undefined);
  });

  it('cached paths follow a rename of a parent directory and an unlink above', () => {
    const t = new NodeTable();
    const d = t.lookup(t.root, 'd');
    const e = t.lookup(d, 'e');
    const f = t.lookup(e, 'f');
    assert.equal(t.path(f), 'd/e/f');
    assert.equal(t.path(f), 'd/e/f', 'served from the cache');
    t.rename(t.root, 'd', t.root, 'x');
    assert.equal(t.path(f), 'x/e/f', 'a descendant of the renamed directory');
    assert.equal(t.path(e), 'x/e');
    const g = t.lookup(t.root, 'g');
    assert.equal(t.path(g), 'g');
    t.remove(t.root, 'x');
    assert.equal(t.path(f), null, 'below an unlinked directory');
    assert.equal(t.path(g), 'g', 'an unrelated node keeps its path');
  });
});

describe('fuse plugin formats (fuse.md §7)', () => {
  it('.members', () => {
    assert.equal(membersText('spec1', 0, null), '{\n"nodename": "spec1",\n"version": 0\n}\n');
    const text = membersText('n3', 5, {
      name: 'pmxlab',
      configVersion: 0,
      quorate: true,
      nodes: [
        { name: 'n1', nodeid: 1, online: true, ip: '10.77.0.1' },
        { name: 'n2', nodeid: 2, online: true, ip: '10.77.0.2' },
        { name: 'n3', nodeid: 3, online: true, ip: '10.77.0.3' },
      ],
    });
    assert.equal(
      text,
      '{\n"nodename": "n3",\n"version": 5,\n"cluster": { "name": "pmxlab", "version": 0, "nodes": 3, "quorate": 1 },\n"nodelist": {\n' +
        '  "n1": { "id": 1, "online": 1, "ip": "10.77.0.1"},\n  "n2": { "id": 2, "online": 1, "ip": "10.77.0.2"},\n  "n3": { "id": 3, "online": 1, "ip": "10.77.0.3"}\n  }\n}\n',
    );
    assert.equal(text.length, 282); // observed size on n3
  });
  it('.vmlist', () => {
    assert.equal(vmlistText(0, []), '{\n"version": 0\n\n}\n');
    assert.equal(vmlistText(0, []).length, 18);
    const t = vmlistText(8, [
      { vmid: 100, type: VmType.QEMU, node: 'spec1', version: 4 },
      { vmid: 102, type: VmType.QEMU, node: 'other', version: 8 },
      { vmid: 101, type: VmType.LXC, node: 'spec1', version: 6 },
    ]);
    assert.equal(
      t,
      '{\n"version": 8,\n"ids": {\n"100": { "node": "spec1", "type": "qemu", "version": 4 },\n"102": { "node": "other", "type": "qemu", "version": 8 },\n"101": { "node": "spec1", "type": "lxc", "version": 6 }}\n\n}\n',
    );
  });
  it('.version: 43 tracked paths, kvstore blocks', () => {
    const paths = new Map(TRACKED_PATHS.map((p) => [p, 1]));
    const t = versionText({ starttime: 1795264585, clinfo: 7, vmlist: 0, paths, kvstore: [{ node: 'n2', entries: [] }, { node: 'n1', entries: [['kv/test-spec', 1]] }] });
    assert.ok(t.startsWith('{\n"starttime": 1795264585,\n"clinfo": 7,\n"vmlist": 0,\n"corosync.conf": 1,\n"corosync.conf.new": 1,\n'));
    assert.ok(t.endsWith('"mapping/usb.cfg": 1,\n"kvstore": {\n"n2": {\n}\n,\n"n1": {\n"kv/test-spec": 1}\n}\n}\n'));
    assert.equal(TRACKED_PATHS.length, 43);
  });
  it('.clusterlog: the "starting cluster log" entry of a fresh daemon', () => {
    const { fs } = setup();
    const a = fs.getattr('.clusterlog');
    assert.equal(typeof a, 'object');
    const want = '{\n"data": [\n{"uid": 1, "time": 1234, "pri": 6, "tag": "cluster", "pid": 9, "node": "n1", "user": "root", "msg": "starting cluster log"}\n]\n}\n';
    assert.equal((a as { size: number }).size, want.length);
  });
  it('path counters: 1 after open, +1 per create/write/mtime/delete/rename of the exact path, all +1 on reload', async () => {
    const { fs, counters } = setup();
    assert.equal(counters.paths.get('storage.cfg'), 1);
    await fs.create('storage.cfg');
    await fs.write('storage.cfg', Buffer.from('x'), 0);
    assert.equal(counters.paths.get('storage.cfg'), 3);
    await fs.truncate('storage.cfg', 0);
    await fs.write('storage.cfg', Buffer.from('y'), 0);
    assert.equal(counters.paths.get('storage.cfg'), 5);
    await fs.rename('storage.cfg', 'user.cfg');
    assert.equal(counters.paths.get('storage.cfg'), 6);
    assert.equal(counters.paths.get('user.cfg'), 2);
    assert.equal(await fs.create('nope/x'), -2);
    assert.equal(counters.paths.get('datacenter.cfg'), 1);
  });
});

describe('fuse request dispatch (PveFs.handle)', () => {
  const request = (id: number, op: number, name?: string): FuseRequest => ({
    id, op, ino: 1, name, size: 0, off: 0, flags: 0, fh: 0, mode: 0o100644, uid: 0, ctxUid: 0, ctxGid: 0, ctxPid: 1,
  });
  const recorder = (): { addon: FuseAddon; errs: [number, number][] } => {
    const errs: [number, number][] = [];
    const addon = { replyErr: (id: number, errno: number) => (errs.push([id, errno]), 0) } as unknown as FuseAddon;
    return { addon, errs };
  };

  it('a handler that throws at once, or whose promise rejects later, is answered EIO exactly once', async () => {
    const { fs, fsops } = setup();
    const { addon, errs } = recorder();
    fsops.getattr = () => {
      throw new Error('boom');
    };
    fs.handle(addon, request(7, FuseOp.LOOKUP, 'x'));
    assert.deepEqual(errs, [[7, 5]], 'synchronous throw: EIO at once');
    fsops.create = () => Promise.reject(new Error('late'));
    fs.handle(addon, request(8, FuseOp.CREATE, 'y'));
    assert.equal(errs.length, 1, 'not answered before the promise settles');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(errs, [[7, 5], [8, 5]]);
  });
});
