/**
 * The status group pve_kvstore_v1 in mixed C/TS clusters (issue 12), on the namespace
 * lab with every node's /etc/pve mounted (C: FUSE of the C daemon, TS: pmxcfs-ts
 * with FUSE) and each node's own /var/lib/rrdcached/db. Status keys, cluster-log
 * entries and RRD samples are published through the `pve2` IPC service of either kind
 * (`pmxcfs-ts ipc`, libqb's client as Perl's PVE::IPCC), and read back through IPC and
 * /etc/pve. Done-check: `cat /etc/pve/.members /etc/pve/.clusterlog` prints the same
 * bytes on C and TS nodes (apart from `.members`' "nodename" and "version", which C
 * itself varies per node). Runs without C too (all-TS shape) when only the lab is available.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labUnavailable, ownedLabPrefix } from '../../src/lab/lab.js';
import { rrdAddon } from '../../src/status/rrdfile.js';
import { type Kind, Mixed, mixedUnavailable, sleep } from './cluster.js';

const TIMEOUT = 900_000;

interface Wire {
  readonly error: number;
  readonly payload: Buffer;
}

class StatusLab {
  readonly m: Mixed;
  constructor(kinds: readonly Kind[], role: string) {
    this.m = new Mixed(kinds, ownedLabPrefix(role));
  }

  async up(): Promise<void> {
    await this.m.lab.down();
    await this.m.lab.up(this.m.kinds.length, { wait: true, timeoutMs: 60_000 });
    for (const i of this.m.nodes) await this.start(i);
    await this.m.waitConverged(90_000);
    await this.waitOnline(90_000);
  }

  /**
   * Both daemons first clear a stale /etc/pve mount (C: umount2 MNT_FORCE), which pops
   * the node's bind mount and exposes the host's /etc/pve. An empty tmpfs layer on top,
   * private to the node, is what they pop instead, so no node depends on the host dir.
   */
  async start(i: number): Promise<void> {
    const r = await this.m.lab.exec(i, ['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', '/etc/pve']);
    if (r.code !== 0) throw new Error(`n${i}: tmpfs on /etc/pve: ${r.stderr}`);
    if (this.m.kind(i) === 'T') this.m.d.start(i, [], { fuse: true });
    else this.m.start(i);
  }

  async cat(i: number, file: string): Promise<string> {
    const r = await this.m.lab.exec(i, ['cat', `/etc/pve/${file}`], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`n${i}: cat ${file}: ${r.stderr}`);
    return r.stdout;
  }

  async ipc(i: number, op: string, ...args: string[]): Promise<Wire> {
    const r = await this.m.lab.exec(i, this.m.d.cli('ipc', '--wire', op, ...args), { timeoutMs: 30_000 });
    if (r.stdout.trim() === '') throw new Error(`n${i}: ipc ${op}: ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { error: number; payload: string };
    return { error: j.error, payload: Buffer.from(j.payload, 'base64') };
  }

  /** Poll `pred` over every node's value of `read` until it holds for all. */
  async waitAll<T>(what: string, read: (i: number) => Promise<T>, pred: (v: T, i: number) => boolean, timeoutMs = 60_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const vals = await Promise.all(this.m.nodes.map((i) => read(i).catch((e: Error) => e)));
      if (vals.every((v, k) => !(v instanceof Error) && pred(v, this.m.nodes[k]!))) return vals as T[];
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(vals.map(String)).slice(0, 3000)}\n${this.m.nodes.map((i) => `--- n${i}\n${this.m.tail(i)}`).join('\n')}`);
      await sleep(500);
    }
  }

  /** Every node shows every node online with its IP (membership of pve_kvstore_v1 + nodeip). */
  async waitOnline(timeoutMs: number): Promise<string[]> {
    const n = this.m.nodes.length;
    return this.waitAll('.members: all online with IPs', (i) => this.cat(i, '.members'), (t) => (t.match(/"online": 1, "ip": /g) ?? []).length === n, timeoutMs);
  }
}

/** `.members` without what C itself varies per node: the local node name and the clinfo version. */
const withoutVersion = (members: string): string => members.replace(/^"nodename": "[^"]*",$/m, '"nodename": X,').replace(/^"version": \d+,$/m, '"version": X,');

function shapeSuite(kinds: readonly Kind[], role: string, skip: string | undefined): void {
  describe(`status group, shape ${kinds.join('')}`, { skip, timeout: TIMEOUT }, () => {
    const s = new StatusLab(kinds, role);
    const m = s.m;
    // c: a C node (the first node in the all-TS shape), t: a TS node other than c
    const c = m.cNodes[0] ?? m.nodes[0]!;
    const t = m.tsNodes.find((x) => x !== c)!;
    before(async () => s.up());
    after(async () => m.down());

    it('.members and .clusterlog: the same bytes on every node (.members apart from nodename and version)', async () => {
      const members = await s.waitOnline(30_000);
      for (const x of members) assert.equal(withoutVersion(x), withoutVersion(members[0]!));
      const logs = await s.waitAll('identical .clusterlog with every start entry', (i) => s.cat(i, '.clusterlog'), (x) => (x.match(/starting cluster log/g) ?? []).length === m.nodes.length);
      for (const x of logs) assert.equal(x, logs[0]);
      const cat = await Promise.all(m.nodes.map((i) => m.lab.exec(i, ['sh', '-c', 'cat /etc/pve/.members /etc/pve/.clusterlog'])));
      for (const r of cat) assert.equal(withoutVersion(r.stdout), withoutVersion(cat[0]!.stdout));
    });

    it('a status key set on one kind is read on the other, both ways; delete by empty value', async () => {
      assert.equal((await s.ipc(c, 'set-status', 'kv/mixed-a', 'from-first')).error, 0);
      assert.equal((await s.ipc(t, 'set-status', 'kv/mixed-b', 'from-second')).error, 0);
      await s.waitAll('kv/mixed-a everywhere', (i) => s.ipc(i, 'get-status', 'kv/mixed-a', `n${c}`), (w) => w.error === 0 && w.payload.toString('latin1') === 'from-first\0');
      await s.waitAll('kv/mixed-b everywhere', (i) => s.ipc(i, 'get-status', 'kv/mixed-b', `n${t}`), (w) => w.error === 0 && w.payload.toString('latin1') === 'from-second\0');
      assert.equal((await s.ipc(c, 'set-status', 'kv/mixed-a')).error, 0);
      await s.waitAll('kv/mixed-a deleted', (i) => s.ipc(i, 'get-status', 'kv/mixed-a', `n${c}`), (w) => w.error === -2);
      const v = await s.waitAll('.version lists n' + t, (i) => s.cat(i, '.version'), (x, i) => i === t || x.includes(`"n${t}": {\n"kv/mixed-b": 0}`));
      assert.ok(v.length === m.nodes.length);
    });

    it('log entries from either kind show up in every node\'s .clusterlog in the same order', async () => {
      for (const [k, i] of [c, t, c].entries()) {
        assert.equal((await s.ipc(i, 'log-cluster-msg', '5', 'root@pam', 'mixedtest', `entry ${k} "q" ü\tend`)).error, 0);
        await s.waitAll(`entry ${k}`, (x) => s.cat(x, '.clusterlog'), (x) => x.includes(`entry ${k} \\"q\\" \\u00fc#009end`));
      }
      const logs = await s.waitAll('identical logs', (i) => s.cat(i, '.clusterlog'), () => true);
      for (const x of logs) assert.equal(x, logs[0]);
      const msgs = (JSON.parse(logs[0]!) as { data: { msg: string; tag: string }[] }).data.filter((e) => e.tag === 'mixedtest').map((e) => e.msg);
      assert.deepEqual(msgs.slice(0, 3), ['entry 2 "q" ü#009end', 'entry 1 "q" ü#009end', 'entry 0 "q" ü#009end']);
      const json = await Promise.all(m.nodes.map((i) => s.ipc(i, 'get-cluster-log', '3', 'root@pam')));
      for (const j of json) assert.ok(j.payload.equals(json[0]!.payload), 'GET_CLUSTER_LOG identical');
    });

    it('RRD samples from either kind: in every node\'s dump and .rrd, files with C\'s layout on every node', async () => {
      const now = Math.floor(Date.now() / 1000);
      const sample = (n: number) => `86400::${now}:0.1:4:0.01:0:1000:500:200:100:9000:4000:${n}:${n}`;
      assert.equal((await s.ipc(c, 'set-status', `rrd/pve2-node/n${c}`, sample(1))).error, 0);
      assert.equal((await s.ipc(t, 'set-status', `rrd/pve2-node/n${t}`, sample(2))).error, 0);
      await s.waitAll('rrd lines', (i) => s.ipc(i, 'get-rrd-dump'), (w) => w.payload.includes(`pve2-node/n${c}:${sample(1)}\n`) && w.payload.includes(`pve2-node/n${t}:${sample(2)}\n`));
      const rrd = await s.waitAll('.rrd', (i) => s.cat(i, '.rrd'), (x) => x.includes(`pve2-node/n${t}:`));
      assert.ok(rrd.every((x) => !x.includes('\0')));
      const info = (i: number, n: number) => {
        const f = join(m.lab.nodeRoot(i), 'var-lib-rrdcached', 'db', 'pve-node-9.0', `n${n}`);
        return existsSync(f) ? rrdAddon().info(f) : 'missing';
      };
      const layout = (x: ReturnType<typeof info>) => (typeof x === 'string' ? x : JSON.stringify(Object.entries(x).filter(([k]) => /^(step|ds\[\w+\]\.(type|minimal_heartbeat|min)|rra\[\d+\]\.(cf|rows|pdp_per_row|xff))$/.test(k))));
      const ref = layout(info(c, c));
      assert.notEqual(ref, 'missing');
      for (const i of m.nodes) for (const n of [c, t]) assert.equal(layout(info(i, n)), ref, `n${i}: pve-node-9.0/n${n}`);
      const last = info(t, c);
      assert.ok(typeof last !== 'string' && last['last_update'] === now, 'the TS node wrote the sample received from the other node');
    });

    it('after a restart of the TS node its log merges with the others\' and it is online again', async () => {
      await m.stop(t);
      await s.waitAll('n' + t + ' offline', (i) => (i === t ? Promise.resolve('') : s.cat(i, '.members')), (x, i) => i === t || x.includes(`"n${t}": { "id": ${t}, "online": 0`));
      assert.equal((await s.ipc(c, 'log-cluster-msg', '5', 'root@pam', 'mixedtest', 'while down')).error, 0);
      await s.start(t);
      await m.waitConverged(90_000);
      await s.waitOnline(90_000);
      const logs = await s.waitAll('merged logs', (i) => s.cat(i, '.clusterlog'), (x) => x.includes('while down') && (x.match(/starting cluster log/g) ?? []).length === m.nodes.length + 1);
      for (const x of logs) assert.equal(x, logs[0]);
      const members = await s.waitOnline(10_000);
      for (const x of members) assert.equal(withoutVersion(x), withoutVersion(members[0]!));
    });

    it('no status criticals from our nodes; C logged no parse errors about TS traffic', async () => {
      for (const i of m.nodes) {
        const bad = m.log(i).split('\n').filter((l) => /cant parse|wrong size|unterminated|unknown message type|received log with wrong size|unable to merge/.test(l));
        assert.deepEqual(bad, [], `n${i}`);
      }
    });
  });
}

shapeSuite(['C', 'T', 'C'], 'kvmix', mixedUnavailable());
// four nodes: C prints .members in GLib's bucket order (n1, n2, n4, n3); so must we
shapeSuite(['C', 'T', 'C', 'T'], 'kvmix4', mixedUnavailable());
shapeSuite(['T', 'T', 'T'], 'kvts', labUnavailable());
