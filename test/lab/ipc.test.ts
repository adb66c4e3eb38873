/**
 * The `pve2` IPC service of a local-mode daemon, through libqb's client library
 * (`pmxcfs-ts ipc batch`, one process per identity): every operation and error path of
 * ipc.md §3–§5, the access rules with setpriv identities, and hostile clients
 * (src/lab/ipc-hostile.ts) with fd and /dev/shm leak counts. The daemon runs in
 * a lab node: its own network namespace (abstract socket) and /dev/shm.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/addon.js';
import { Lab, labUnavailable, ownedLabPrefix, which } from '../../src/lab/lab.js';
import { DaemonLab } from '../../src/lab/daemons.js';
import {
  cString,
  encodeRequest,
  IpcOp,
  packGetClusterLog,
  packGetStatus,
  packGuestProperties,
  packGuestProperty,
  packLogMessage,
  packSetStatus,
  packVerifyToken,
} from '../../src/wire/ipc.js';
import { GUEST_CONFIGS, type Identity, ipcBatch, type WireReply } from '../helpers/ipc.js';

const PREFIX = ownedLabPrefix('ipct');
const addon = join(packageRoot(), 'build', 'Release', 'ipc.node');
const skip = labUnavailable() ?? (which('setpriv') === undefined ? 'setpriv missing' : existsSync(addon) ? undefined : `addon not built (${addon}); run npm install`);

const req = (id: number, payload?: Buffer): Buffer => encodeRequest(id, payload);
/** A request whose header size field lies. */
function lying(id: number, payload: Buffer, size: number): Buffer {
  const b = encodeRequest(id, payload);
  b.writeInt32LE(size, 8);
  return b;
}
const text = (r: WireReply): string => r.payload.toString('latin1');

describe('pve2 IPC on a local-mode daemon', { skip, timeout: 300_000 }, () => {
  const lab = new Lab({ prefix: PREFIX });
  const d = new DaemonLab(lab);
  const call = (reqs: readonly Buffer[], as: Identity = 'root') => ipcBatch(lab, 1, reqs, as);

  before(async () => {
    await lab.down();
    await lab.up(1, { noCorosync: true });
    d.start(1, ['-l']);
    await d.waitFor(1, (s) => s.mode === 'local', 30_000, 'local mode');
    const files = Object.entries(GUEST_CONFIGS).map(([path, data]) => ({ op: 'write', path, data }));
    const dirs = ['nodes', 'nodes/n1', 'nodes/n1/qemu-server', 'nodes/n1/lxc', 'nodes/n1/priv', 'priv', 'd'].map((path) => ({ op: 'mkdir', path }));
    const extra = [
      { op: 'write', path: 'plain.cfg', data: 'x: 1\n' },
      { op: 'create', path: 'empty.cfg' },
      { op: 'write', path: 'nodes/n1/priv/k', data: 'secret\n' },
      { op: 'write', path: 'priv/x', data: 'private\n' },
      { op: 'write', path: 'big.bin', data: 'a'.repeat(1024 * 1024) },
    ];
    const r = await d.batch(1, [...dirs, ...files, ...extra]);
    assert.ok(r.every((x) => x.ok), JSON.stringify(r.filter((x) => !x.ok)));
  });

  after(async () => {
    await lab.down();
  });

  it('GET_FS_VERSION / GET_CLUSTER_INFO / GET_GUEST_LIST: texts without NUL; exactly 16 bytes or EINVAL', async () => {
    const [v, m, g, v17, m17, g15] = await call([
      req(IpcOp.GET_FS_VERSION),
      req(IpcOp.GET_CLUSTER_INFO),
      req(IpcOp.GET_GUEST_LIST),
      req(IpcOp.GET_FS_VERSION, Buffer.from([0])),
      req(IpcOp.GET_CLUSTER_INFO, Buffer.from([0])),
      lying(IpcOp.GET_GUEST_LIST, Buffer.alloc(0), 15),
    ]);
    assert.equal(v!.error, 0);
    const version = JSON.parse(text(v!)) as Record<string, unknown>;
    assert.ok(typeof version['starttime'] === 'number' && typeof version['vmlist'] === 'number' && 'corosync.conf' in version && 'kvstore' in version);
    assert.equal(text(m!), `{\n"nodename": "n1",\n"version": 0\n}\n`);
    const list = JSON.parse(text(g!)) as { ids: Record<string, { node: string; type: string }> };
    assert.deepEqual(Object.keys(list.ids).sort(), ['100', '101', '102', '103']);
    assert.deepEqual(list.ids['101'], { ...list.ids['101'], node: 'n1', type: 'lxc' });
    for (const r of [v, m, g]) assert.notEqual(r!.payload[r!.payload.length - 1], 0);
    for (const r of [v17, m17, g15]) assert.deepEqual([r!.error, r!.size], [-22, 0]);
  });

  it('GET_CONFIG: bytes, empty file, ENOENT for missing/dir/plugin files, last byte forced to NUL, EINVAL without path', async () => {
    const rs = await call([
      req(IpcOp.GET_CONFIG, cString('plain.cfg')),
      req(IpcOp.GET_CONFIG, cString('/plain.cfg')),
      req(IpcOp.GET_CONFIG, Buffer.from('plain.cfgX')), // X becomes the NUL
      req(IpcOp.GET_CONFIG, cString('empty.cfg')),
      req(IpcOp.GET_CONFIG, cString('missing.cfg')),
      req(IpcOp.GET_CONFIG, cString('d')),
      req(IpcOp.GET_CONFIG, cString('.version')),
      req(IpcOp.GET_CONFIG, cString('qemu-server/100.conf')),
      req(IpcOp.GET_CONFIG),
    ]);
    assert.deepEqual(rs.slice(0, 3).map(text), ['x: 1\n', 'x: 1\n', 'x: 1\n']);
    assert.deepEqual([rs[3]!.error, rs[3]!.size], [0, 0]);
    assert.deepEqual(rs.slice(4).map((r) => r.error), [-2, -2, -2, -2, -22]);
  });

  it('unknown ids answer ECHRNG; sizes that lie answer EINVAL or what C reads', async () => {
    const ids = [0, 9, 14, 255, -5];
    const rs = await call([
      ...ids.map((id) => req(id)),
      lying(IpcOp.GET_FS_VERSION, Buffer.alloc(0), 0x7fffffff),
      lying(IpcOp.GET_FS_VERSION, Buffer.alloc(0), -1),
      lying(IpcOp.GET_CONFIG, cString('plain.cfg'), 16),
      lying(IpcOp.GET_CONFIG, cString('plain.cfg'), 3),
      req(IpcOp.GET_FS_VERSION),
    ]);
    assert.deepEqual(rs.slice(0, ids.length).map((r) => [r.id, r.error]), ids.map((id) => [id, -44]));
    assert.deepEqual(rs.slice(ids.length, -1).map((r) => r.error), [-22, -22, -22, -22]);
    assert.equal(rs[rs.length - 1]!.error, 0);
  });

  it('guest config properties: the observed C answers of ipc.md §5.9 and the quirks of §5.8', async () => {
    const P1 = IpcOp.GET_GUEST_CONFIG_PROPERTY;
    const PN = IpcOp.GET_GUEST_CONFIG_PROPERTIES;
    const rs = await call([
      req(P1, packGuestProperty(0, 'lock')),
      req(P1, packGuestProperty(100, 'cores')),
      req(PN, packGuestProperties(0, ['tags', 'lock', 'desc'])),
      req(PN, packGuestProperties(0, ['Tags'])),
      req(P1, packGuestProperty(105, 'lock')),
      req(P1, packGuestProperty(5, 'lock')),
      req(P1, packGuestProperty(102, 'blank')),
      req(P1, packGuestProperty(102, 'dup')),
      req(P1, packGuestProperty(102, 'Upper')),
      req(P1, packGuestProperty(102, 'nothing')),
      req(P1, packGuestProperty(103, 'lock')), // empty config
      req(PN, packGuestProperties(103, ['lock'])),
      req(P1, Buffer.from([100, 0, 0, 0])), // no property bytes
    ]);
    assert.deepEqual(rs.slice(0, 3).map(text), [
      '{\n"100":{"lock": "backup"}\n}\n',
      '{\n"100":{"cores": "2"}\n}\n',
      '{\n"100":{"tags": "a;b","lock": "backup","desc": "say \\"hi\\" c:\\\\x"},\n"101":{"tags": "x"}\n}\n',
    ]);
    assert.deepEqual(rs.slice(3, 6).map((r) => r.error), [-22, -2, -22]);
    assert.deepEqual(rs.slice(6, 10).map(text), ['{\n"102":{"blank": " "}\n}\n', '{\n"102":{"dup": "second"}\n}\n', '{\n"102":{"Upper": "x"}\n}\n', '{\n\n}\n']);
    assert.deepEqual(rs.slice(10).map((r) => r.error), [-5, -5, -22]);
  });

  it('guest properties follow config changes (no stale answers from the per-config cache)', async () => {
    const path = 'nodes/n1/qemu-server/100.conf';
    const ask = async () => text((await call([req(IpcOp.GET_GUEST_CONFIG_PROPERTIES, packGuestProperties(0, ['cores', 'lock']))]))[0]!);
    assert.equal(await ask(), '{\n"100":{"cores": "2","lock": "backup"}\n}\n');
    assert.ok((await d.batch(1, [{ op: 'write', path, data: 'cores: 4\n' }]))[0]!.ok);
    assert.equal(await ask(), '{\n"100":{"cores": "4"}\n}\n');
    assert.ok((await d.batch(1, [{ op: 'write', path, data: GUEST_CONFIGS[path]! }]))[0]!.ok);
    assert.equal(await ask(), '{\n"100":{"cores": "2","lock": "backup"}\n}\n');
  });

  it('GET_GUEST_CONFIG_PROPERTIES: request checks in C order', async () => {
    const PN = IpcOp.GET_GUEST_CONFIG_PROPERTIES;
    const raw = (vmid: number, n: number, names: string) => {
      const b = Buffer.alloc(5 + names.length);
      b.writeUInt32LE(vmid, 0);
      b[4] = n;
      b.write(names, 5, 'latin1');
      return req(PN, b);
    };
    const rs = await call([
      raw(0, 0, 'lock\0'),
      raw(0, 1, '\0'),
      raw(0, 1, 'lock'),
      raw(0, 2, 'lock\0\0'),
      raw(0, 1, 'lock\0x'),
      raw(0, 2, 'lock\0tags\0'),
      raw(50, 1, 'lock\0'),
      raw(999, 1, 'lock\0'),
      req(PN, Buffer.from([0, 0, 0, 0])),
    ]);
    assert.deepEqual(rs.map((r) => r.error), [-22, -22, -22, -22, -22, 0, -22, -2, -22]);
    assert.equal(text(rs[5]!), '{\n"100":{"lock": "backup","tags": "a;b"},\n"101":{"tags": "x"}\n}\n');
  });

  it('VERIFY_TOKEN: ENOENT without token.cfg; exact line match; C request checks', async () => {
    const V = IpcOp.VERIFY_TOKEN;
    const [none] = await call([req(V, packVerifyToken('root@pam!t', 'abc'))]);
    assert.equal(none!.error, -2);
    const w = await d.batch(1, [{ op: 'write', path: 'priv/token.cfg', data: 'root@pam!t abc\nroot@pam!sp def \nroot@pam!cr ghi\r\nroot@pam!last jkl' }]);
    assert.ok(w[0]!.ok);
    const rs = await call([
      req(V, packVerifyToken('root@pam!t', 'abc')),
      req(V, packVerifyToken('root@pam!last', 'jkl')),
      req(V, packVerifyToken('root@pam!t', 'abd')),
      req(V, packVerifyToken('root@pam!sp', 'def')),
      req(V, packVerifyToken('root@pam!cr', 'ghi')),
      req(V, packVerifyToken('root@pam!t', 'abc'.repeat(40))), // longer than the file
      req(V, cString('')),
      req(V, Buffer.from('root@pam!t abc')), // no final NUL
      req(V, cString('root@pam!t\nabc')),
      req(V, cString('root@pam!t\0abc')),
    ]);
    assert.deepEqual(rs.map((r) => [r.error, r.size]), [[0, 0], [0, 0], [-2, 0], [-2, 0], [-2, 0], [-2, 0], [-22, 0], [-22, 0], [-22, 0], [-22, 0]]);
    const [ro] = await call([req(V, packVerifyToken('root@pam!t', 'abc'))], 'www-data');
    assert.equal(ro!.error, 0, 'read-only clients may verify tokens');
  });

  it('access: www-data read-only (EPERM for writes and private paths, also via nodes/n1//priv), root with gid www-data too', async () => {
    for (const who of ['www-data', 'root-gid-www'] as const) {
      const rs = await call(
        [
          req(IpcOp.GET_CONFIG, cString('plain.cfg')),
          req(IpcOp.GET_CONFIG, cString('priv/x')),
          req(IpcOp.GET_CONFIG, cString('nodes/n1/priv/k')),
          req(IpcOp.GET_CONFIG, cString('nodes/n1//priv/k')),
          req(IpcOp.GET_CONFIG, cString('//priv/x')),
          req(IpcOp.SET_STATUS, packSetStatus('kv/x', 'v')),
          req(IpcOp.LOG_CLUSTER_MSG, packLogMessage(6, 'root@pam', 'test', 'msg')),
          req(IpcOp.GET_GUEST_CONFIG_PROPERTY, packGuestProperty(100, 'lock')),
        ],
        who,
      );
      assert.equal(text(rs[0]!), 'x: 1\n', who);
      assert.deepEqual(rs.slice(1, 7).map((r) => r.error), [-1, -1, -1, -1, -1, -1], who);
      assert.equal(rs[7]!.error, 0, who);
    }
    const [k] = await call([req(IpcOp.GET_CONFIG, cString('nodes/n1//priv/k'))]);
    assert.equal(text(k!), 'secret\n', 'root reads private files');
  });

  it('access: nobody, root with another gid and www-data as a supplementary group are refused at connect', async () => {
    for (const who of ['nobody', 'root-gid-1000', 'user-supp-www'] as const) {
      await assert.rejects(call([req(IpcOp.GET_FS_VERSION)], who), /refused by the server \(error 1\)/, who);
    }
    assert.match(lab.readLog(1, 'pmxcfs'), /connection from bad user 65534! - rejected/);
    const [ok] = await call([req(IpcOp.GET_FS_VERSION)]);
    assert.equal(ok!.error, 0);
  });

  it('a 1 MiB file does not fit a 1 MiB client buffer: that client fails (libqb ENOBUFS), the next connection is served', async () => {
    const rs = await call([req(IpcOp.GET_CONFIG, cString('big.bin')), req(IpcOp.GET_CONFIG, cString('plain.cfg'))]);
    assert.equal(rs[0]!.transport, 'ENOBUFS', JSON.stringify(rs[0]));
    assert.equal(text(rs[1]!), 'x: 1\n');
  });

  it('hostile clients: the daemon serves everyone else and leaks no fd or /dev/shm file', async () => {
    const pid = lab.proc(1, 'pmxcfs')!.pid;
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const shm = async () => (await lab.exec(1, ['sh', '-c', 'ls -A /dev/shm | wc -l'])).stdout.trim();
    const fdBefore = fds();
    const shmBefore = await shm();
    const r = await lab.exec(1, [process.execPath, join(packageRoot(), 'dist', 'src', 'lab', 'ipc-hostile.js')], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const [k, v] of Object.entries(report)) assert.equal(v, true, `${k}: ${JSON.stringify(report)}`);
    // The client that never read: its reply ring filled, the send failed, it was dropped (as C).
    assert.match(lab.readLog(1, 'pmxcfs'), /qb_ipcs_response_send/);
    const deadline = Date.now() + 10_000;
    while ((fds() !== fdBefore || (await shm()) !== shmBefore) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(fds(), fdBefore, 'daemon fds back to the count before');
    assert.equal(await shm(), shmBefore, '/dev/shm back to the count before');
    const [ok] = await call([req(IpcOp.GET_FS_VERSION)]);
    assert.equal(ok!.error, 0);
    // Metrics (src/metrics): every connection counted in and out, requests by op.
    const m = await lab.exec(1, d.cli('metrics'));
    assert.match(m.stdout, /^pmxcfs_ipc_clients 0$/m, m.stdout.split('\n').filter((l) => l.includes('ipc')).join('\n'));
    assert.match(m.stdout, /^pmxcfs_ipc_requests_total\{op="get_fs_version",errno="OK"\} [1-9]\d{2,}$/m);
  });

  it('SET_STATUS / GET_STATUS: stored bytes, local and by node name, delete, EFBIG, rrd/nodeip checks, ENOENT', async () => {
    const S = IpcOp.SET_STATUS;
    const G = IpcOp.GET_STATUS;
    const rs = await call([
      req(S, packSetStatus('kv/ipc-test', 'hello')),
      req(G, packGetStatus('kv/ipc-test')),
      req(G, packGetStatus('kv/ipc-test', 'n1')),
      req(G, packGetStatus('kv/ipc-test', 'n9')),
      req(G, packGetStatus('kv/none')),
      req(S, Buffer.concat([packSetStatus('kv/big'), Buffer.alloc(32769, 0x61)])),
      req(S, Buffer.concat([packSetStatus('rrd/pve2-node/n1'), Buffer.from('no-nul')])),
      req(S, Buffer.concat([packSetStatus('nodeip'), Buffer.from('10.0.0.1')])),
      req(S, packSetStatus('kv/ipc-test')), // name only: delete
      req(G, packGetStatus('kv/ipc-test')),
      req(S, Buffer.alloc(255)),
      req(G, Buffer.alloc(511)),
    ]);
    assert.equal(rs[0]!.error, 0);
    assert.deepEqual([rs[1]!.payload, rs[2]!.payload], [Buffer.from('hello\0'), Buffer.from('hello\0')]);
    assert.deepEqual(rs.slice(3).map((r) => r.error), [-2, -2, -27, -12, -12, 0, -2, -22, -22]);
  });

  it('LOG_CLUSTER_MSG + GET_CLUSTER_LOG: entries with the client pid, filters, max, C request checks', async () => {
    const L = IpcOp.LOG_CLUSTER_MSG;
    const unterminated = Buffer.from([6, 2, 2, 0x61, 0, 0x62, 0, 0x6d, 0x73, 0x67]); // "a", "b", "msg" without NUL
    const rs = await call([
      req(L, packLogMessage(5, 'ipc@pam', 'ipctest', 'first')),
      req(L, packLogMessage(4, 'ipc@pam', 'ipctest', 'second')),
      req(L, packLogMessage(8, 'ipc@pam', 'ipctest', 'priority 8: no entry')),
      req(L, unterminated),
      req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(0, 'ipc@pam')),
      req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(1, 'ipc@pam')),
      req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(0, 'nobody')),
      req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(0, 'a')),
      req(L, Buffer.from([6, 2, 2, 0x61, 0, 0x62, 0])), // no message
      req(L, Buffer.from([6, 2, 2, 0x61, 0x61, 0x62, 0, 0x6d])), // ident without NUL
      req(L, Buffer.from([6, 0, 2, 0x62, 0, 0x6d, 0])), // ident_len 0
      req(IpcOp.GET_CLUSTER_LOG, Buffer.alloc(16)),
    ]);
    assert.deepEqual(rs.slice(0, 4).map((r) => [r.error, r.size]), [[0, 0], [0, 0], [0, 0], [0, 0]]);
    type Entry = { pri: number; tag: string; pid: number; node: string; user: string; msg: string };
    const all = (JSON.parse(text(rs[4]!)) as { data: Entry[] }).data;
    assert.deepEqual(all.map((e) => [e.msg, e.pri, e.tag, e.node, e.user]), [['second', 4, 'ipctest', 'n1', 'ipc@pam'], ['first', 5, 'ipctest', 'n1', 'ipc@pam']]);
    assert.ok(all.every((e) => e.pid > 0 && e.pid !== lab.proc(1, 'pmxcfs')!.pid), 'pid is the client\'s');
    assert.deepEqual((JSON.parse(text(rs[5]!)) as { data: Entry[] }).data.map((e) => e.msg), ['second']);
    assert.equal(text(rs[6]!), '{\n"data": [\n]\n}\n');
    assert.deepEqual((JSON.parse(text(rs[7]!)) as { data: Entry[] }).data.map((e) => [e.msg, e.tag]), [['msg', 'b']]);
    assert.deepEqual(rs.slice(8).map((r) => r.error), [-22, -22, -22, -22]);
  });

  it('GET_RRD_DUMP: the dump with a NUL when rebuilt, without it from the 2 s cache; EINVAL with a payload', async () => {
    // A key without an RRD file behind it: kept for the dump, no librrd involved.
    const [set] = await call([req(IpcOp.SET_STATUS, Buffer.concat([packSetStatus('rrd/ipctest/x'), Buffer.from('1700000000:1:2\0')]))]);
    assert.equal(set!.error, 0);
    await new Promise((r) => setTimeout(r, 2100)); // let any cached dump expire
    const [fresh, cached, bad] = await call([req(IpcOp.GET_RRD_DUMP), req(IpcOp.GET_RRD_DUMP), req(IpcOp.GET_RRD_DUMP, Buffer.from([0]))]);
    assert.match(text(fresh!), /^ipctest\/x:1700000000:1:2$/m);
    assert.equal(fresh!.payload[fresh!.payload.length - 1], 0);
    assert.deepEqual(cached!.payload, fresh!.payload.subarray(0, fresh!.payload.length - 1));
    assert.equal(bad!.error, -22);
  });

  it('cluster mode without corosync (not quorate): every operation still answers', async () => {
    await lab.kill(1, 'pmxcfs');
    await lab.exec(1, ['sh', '-c', 'rm -f /var/lib/pve-cluster/config.db*']);
    d.start(1); // a fresh database imports the node's corosync.conf: cluster mode
    await d.waitFor(1, (s) => s.mode === 'cluster' && !s.quorate, 30_000, 'cluster mode, not quorate');
    const rs = await call([
      req(IpcOp.GET_CONFIG, cString('corosync.conf')),
      req(IpcOp.GET_CLUSTER_INFO),
      req(IpcOp.SET_STATUS, packSetStatus('kv/noquorum', 'x')),
      req(IpcOp.GET_STATUS, packGetStatus('kv/noquorum')),
      req(IpcOp.LOG_CLUSTER_MSG, packLogMessage(6, 'root@pam', 'test', 'no quorum')),
      req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(1, 'root@pam')),
    ]);
    assert.deepEqual(rs.map((r) => r.error), [0, 0, 0, 0, 0, 0]);
    assert.match(text(rs[0]!), /totem/);
    assert.deepEqual(rs[3]!.payload, Buffer.from('x\0'));
    assert.match(text(rs[5]!), /"msg": "no quorum"/);
  });
});
