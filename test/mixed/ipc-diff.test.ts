/**
 * Differential IPC test: one scripted sequence of `pve2` requests against the C pmxcfs
 * ($PMXCFS_C_BIN) and against pmxcfs-ts, each in local mode on the same lab node with
 * the same database, as root and as www-data; replies compared byte for byte. Values
 * that legitimately differ between two daemon runs are listed in DIFFERS with the
 * comparison used instead.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab, labUnavailable, ownedLabPrefix, which } from '../../src/lab/lab.js';
import { DaemonLab } from '../../src/lab/daemons.js';
import {
  cString,
  encodeRequest as req,
  IpcOp,
  packGetClusterLog,
  packGetStatus,
  packGuestProperties,
  packGuestProperty,
  packLogMessage,
  packSetStatus,
  packVerifyToken,
} from '../../src/wire/ipc.js';
import { GUEST_CONFIGS, type Identity, ipcBatch, ipcCli, type WireReply } from '../helpers/ipc.js';

const C_BIN = process.env['PMXCFS_C_BIN'];
const skip =
  C_BIN === undefined || C_BIN === ''
    ? 'PMXCFS_C_BIN is not set (path to a C pmxcfs binary): no differential IPC test'
    : !existsSync(C_BIN)
      ? `PMXCFS_C_BIN=${C_BIN} does not exist`
      : (labUnavailable() ?? (which('setpriv') === undefined ? 'setpriv missing' : undefined));

const LOG = IpcOp.LOG_CLUSTER_MSG;
const PN = IpcOp.GET_GUEST_CONFIG_PROPERTIES;
const P1 = IpcOp.GET_GUEST_CONFIG_PROPERTY;

/** The scripted sequence (root). Index comments name the entries of DIFFERS. */
const SCRIPT: readonly Buffer[] = [
  /* 0 */ req(IpcOp.GET_FS_VERSION),
  /* 1 */ req(IpcOp.GET_CLUSTER_INFO),
  /* 2 */ req(IpcOp.GET_GUEST_LIST),
  /* 3 */ req(IpcOp.GET_FS_VERSION, Buffer.from([0])),
  /* 4 */ req(IpcOp.GET_CONFIG, cString('plain.cfg')),
  /* 5 */ req(IpcOp.GET_CONFIG, Buffer.from('plain.cfgX')),
  /* 6 */ req(IpcOp.GET_CONFIG, cString('empty.cfg')),
  /* 7 */ req(IpcOp.GET_CONFIG, cString('missing')),
  /* 8 */ req(IpcOp.GET_CONFIG, cString('nodes')),
  /* 9 */ req(IpcOp.GET_CONFIG, cString('.members')),
  /* 10 */ req(IpcOp.GET_CONFIG),
  /* 11 */ req(0),
  /* 12 */ req(9),
  /* 13 */ req(14),
  /* 14 */ req(-5),
  /* 15 */ req(P1, packGuestProperty(100, 'lock')),
  /* 16 */ req(P1, packGuestProperty(100, 'cores')),
  /* 17 */ req(P1, packGuestProperty(101, 'tags')),
  /* 18 */ req(P1, packGuestProperty(102, 'blank')),
  /* 19 */ req(P1, packGuestProperty(102, 'dup')),
  /* 20 */ req(P1, packGuestProperty(102, 'Upper')),
  /* 21 */ req(P1, packGuestProperty(103, 'lock')),
  /* 22 */ req(P1, packGuestProperty(105, 'lock')),
  /* 23 */ req(P1, packGuestProperty(5, 'lock')),
  /* 24 */ req(P1, Buffer.from([100, 0, 0, 0])),
  /* 25 */ req(PN, packGuestProperties(100, ['tags', 'lock', 'desc'])),
  /* 26 */ req(PN, packGuestProperties(0, ['Tags'])),
  /* 27 */ req(PN, packGuestProperties(101, ['hostname', 'tags', 'nothing'])),
  /* 28 */ req(PN, Buffer.from([0, 0, 0, 0, 1, 0x6c, 0x6f, 0x63, 0x6b])),
  /* 29 */ req(PN, Buffer.from([0, 0, 0, 0, 1, 0x6c, 0, 0x78])),
  /* 30 */ req(PN, Buffer.from([0, 0, 0, 0, 0, 0x6c, 0])),
  /* 31 */ req(PN, packGuestProperties(0, ['lock'])),
  /* 32 */ req(IpcOp.VERIFY_TOKEN, packVerifyToken('root@pam!t', 'abc')),
  /* 33 */ req(IpcOp.VERIFY_TOKEN, packVerifyToken('root@pam!sp', 'def')),
  /* 34 */ req(IpcOp.VERIFY_TOKEN, Buffer.from('root@pam!t abc')),
  /* 35 */ req(IpcOp.VERIFY_TOKEN, cString('a\nb')),
  /* 36 */ req(IpcOp.VERIFY_TOKEN, cString('')),
  /* 37 */ req(IpcOp.SET_STATUS, packSetStatus('kv/diff', 'value')),
  /* 38 */ req(IpcOp.GET_STATUS, packGetStatus('kv/diff')),
  /* 39 */ req(IpcOp.GET_STATUS, packGetStatus('kv/diff', 'n1')),
  /* 40 */ req(IpcOp.GET_STATUS, packGetStatus('kv/diff', 'n7')),
  /* 41 */ req(IpcOp.SET_STATUS, Buffer.concat([packSetStatus('kv/big'), Buffer.alloc(32769, 0x61)])),
  /* 42 */ req(IpcOp.SET_STATUS, Buffer.concat([packSetStatus('nodeip'), Buffer.from('x')])),
  /* 43 */ req(IpcOp.SET_STATUS, packSetStatus('kv/diff')),
  /* 44 */ req(IpcOp.GET_STATUS, packGetStatus('kv/diff')),
  /* 45 */ req(IpcOp.SET_STATUS, Buffer.alloc(255)),
  /* 46 */ req(IpcOp.GET_STATUS, Buffer.alloc(511)),
  /* 47 */ req(LOG, packLogMessage(5, 'diff@pam', 'difftag', 'first "quoted" msg')),
  /* 48 */ req(LOG, Buffer.from([6, 2, 2, 0x61, 0, 0x62, 0, 0x6d, 0x73, 0x67])),
  /* 49 */ req(LOG, packLogMessage(8, 'diff@pam', 'difftag', 'not stored')),
  /* 50 */ req(LOG, Buffer.from([6, 2, 2, 0x61, 0x61, 0x62, 0, 0x6d])),
  /* 51 */ req(LOG, Buffer.from([6, 2, 2, 0x61, 0, 0x62, 0])),
  /* 52 */ req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(0, 'diff@pam')),
  /* 53 */ req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(0, 'nobody')),
  /* 54 */ req(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(1, 'a')),
  /* 55 */ req(IpcOp.GET_CLUSTER_LOG, Buffer.alloc(16)),
  /* 56 */ req(IpcOp.SET_STATUS, Buffer.concat([packSetStatus('rrd/difftest/x'), Buffer.from('1700000000:1:2\0')])),
  /* 57 */ req(IpcOp.GET_RRD_DUMP),
  /* 58 */ req(IpcOp.GET_RRD_DUMP),
  /* 59 */ req(IpcOp.GET_RRD_DUMP, Buffer.from([0])),
];

/** Per-run values: compared through a normalisation instead of byte for byte. */
const DIFFERS: Readonly<Record<number, { why: string; norm: (r: WireReply) => string }>> = {
  0: { why: '.version: starttime is the daemon start; counters depend on what each daemon counted since start', norm: (r) => `${r.error} ${Object.keys(JSON.parse(r.payload.toString()) as object).join(',')}` },
  2: {
    why: '.vmlist: C lists guests in GLib hash-table order and numbers per-guest versions in its load traversal order (memdb/status module, not IPC); same guests, nodes, types and list version',
    norm: (r) => {
      const j = JSON.parse(r.payload.toString()) as { version: number; ids: Record<string, { node: string; type: string }> };
      return JSON.stringify([r.error, j.version, Object.entries(j.ids).map(([id, v]) => [id, v.node, v.type]).sort()]);
    },
  },
  52: { why: 'cluster log entries carry the time and the client pid', norm: (r) => r.payload.toString().replace(/"(time|pid)": \d+/g, '"$1": N') },
  54: { why: 'cluster log entries carry the time and the client pid', norm: (r) => r.payload.toString().replace(/"(time|pid)": \d+/g, '"$1": N') },
};

/** The www-data subset: reads allowed, writes and private paths refused. */
const READ_ONLY_SCRIPT: readonly Buffer[] = [
  req(IpcOp.GET_CONFIG, cString('plain.cfg')),
  req(IpcOp.GET_CONFIG, cString('priv/x')),
  req(IpcOp.GET_CONFIG, cString('nodes/n1/priv/k')),
  req(IpcOp.SET_STATUS, packSetStatus('kv/x', 'v')),
  req(LOG, packLogMessage(6, 'a', 'b', 'c')),
  req(IpcOp.VERIFY_TOKEN, packVerifyToken('root@pam!t', 'abc')),
  req(P1, packGuestProperty(100, 'lock')),
];

interface Run {
  root: WireReply[];
  readOnly: WireReply[];
  bypass: WireReply;
  refused: { code: number; stderr: string };
}

describe('IPC differential: C pmxcfs vs pmxcfs-ts, same node, same database', { skip, timeout: 300_000 }, () => {
  const lab = new Lab({ prefix: ownedLabPrefix('ipcd') });
  const d = new DaemonLab(lab);
  const runs: Partial<Record<'C' | 'TS', Run>> = {};

  async function waitIpc(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await lab.exec(1, ipcCli('get-guest-list'))).code !== 0) {
      if (Date.now() > deadline) throw new Error('IPC service did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function script(): Promise<Run> {
    const batch = (reqs: readonly Buffer[], who: Identity) => ipcBatch(lab, 1, reqs, who);
    const root = await batch(SCRIPT.slice(0, 57), 'root');
    await new Promise((r) => setTimeout(r, 2100)); // the RRD dump cache (2 s) has expired
    root.push(...(await batch(SCRIPT.slice(57), 'root')));
    const readOnly = await batch(READ_ONLY_SCRIPT, 'www-data');
    const [bypass] = await batch([req(IpcOp.GET_CONFIG, cString('nodes/n1//priv/k'))], 'www-data');
    const r = await lab.exec(1, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...ipcCli('get-fs-version')]);
    return { root, readOnly, bypass: bypass!, refused: { code: r.code, stderr: r.stderr.trim() } };
  }

  before(async () => {
    await lab.down();
    await lab.up(1, { noCorosync: true });
    // The database is made by pmxcfs-ts and then served by both.
    d.start(1, ['-l']);
    await waitIpc();
    const dirs = ['nodes', 'nodes/n1', 'nodes/n1/qemu-server', 'nodes/n1/lxc', 'nodes/n1/priv', 'priv'].map((path) => ({ op: 'mkdir', path }));
    const files = [
      ...Object.entries(GUEST_CONFIGS).map(([path, data]) => ({ op: 'write', path, data })),
      { op: 'write', path: 'plain.cfg', data: 'x: 1\n' },
      { op: 'create', path: 'empty.cfg' },
      { op: 'write', path: 'priv/x', data: 'private\n' },
      { op: 'write', path: 'nodes/n1/priv/k', data: 'secret\n' },
      { op: 'write', path: 'priv/token.cfg', data: 'root@pam!t abc\nroot@pam!sp def \n' },
    ];
    const w = await d.batch(1, [...dirs, ...files]);
    assert.ok(w.every((x) => x.ok), JSON.stringify(w.filter((x) => !x.ok)));
    // Both daemons answer from a database they loaded at start.
    await lab.kill(1, 'pmxcfs');
    d.start(1, ['-l']);
    await waitIpc();
    runs.TS = await script();
    await lab.kill(1, 'pmxcfs');
    lab.spawn(1, 'cpmxcfs', [C_BIN!, '-f', '-l']);
    await waitIpc();
    runs.C = await script();
    await lab.kill(1, 'cpmxcfs');
  });

  after(async () => {
    await lab.down();
  });

  it('root: every reply equal byte for byte (apart from the listed per-run values)', () => {
    const c = runs.C!.root;
    const ts = runs.TS!.root;
    assert.equal(ts.length, c.length);
    const diffs: string[] = [];
    SCRIPT.forEach((_, i) => {
      const norm = DIFFERS[i]?.norm ?? ((r: WireReply) => `${r.error} ${r.transport ?? ''} ${r.payload.toString('hex')}`);
      if (norm(c[i]!) !== norm(ts[i]!)) diffs.push(`#${i}: C ${JSON.stringify({ ...c[i], payload: c[i]!.payload.toString('latin1') })}\n     TS ${JSON.stringify({ ...ts[i], payload: ts[i]!.payload.toString('latin1') })}`);
    });
    assert.deepEqual(diffs, []);
    const sample = (i: number) => `${c[i]!.error}/${c[i]!.size}`;
    process.stdout.write(`# differential: ${SCRIPT.length} requests, ${SCRIPT.length - Object.keys(DIFFERS).length} byte-equal, ${Object.keys(DIFFERS).length} normalised; e.g. #2 ${sample(2)}, #25 ${sample(25)}, #57 ${sample(57)}\n`);
  });

  it('www-data: the same read-only answers; nobody refused the same way', () => {
    const norm = (r: WireReply) => `${r.error} ${r.payload.toString('hex')}`;
    assert.deepEqual(runs.TS!.readOnly.map(norm), runs.C!.readOnly.map(norm));
    assert.deepEqual(runs.TS!.refused, runs.C!.refused);
  });

  it('nodes/n1//priv/k: C lets www-data read it, pmxcfs-ts refuses (deliberate difference)', () => {
    assert.equal(runs.C!.bypass.payload.toString(), 'secret\n');
    assert.equal(runs.TS!.bypass.error, -1);
  });
});
