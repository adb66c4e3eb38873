/**
 * Lab tests for the corosync addon and the CPG transport: a 3-node lab (prefix
 * `pmxtest`, beside any demo lab) with one cpg-agent process per node.
 * Skipped unless root with corosync installed and the addon built.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/cluster/native.js';
import { CpgReason, CsError } from '../../src/cluster/transport.js';
import { Agent, type AgentEvent } from '../../src/lab/agent-client.js';
import { Lab, labUnavailable, ownedLabPrefix } from '../../src/lab/lab.js';

const PREFIX = ownedLabPrefix('test');
const addon = join(packageRoot(), 'build', 'Release', 'corosync.node');
const skip = labUnavailable() ?? (existsSync(addon) ? undefined : `addon not built (${addon}); run npm install`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Member = { nodeid: number; pid: number; reason: number };
const isConfchg = (n: number) => (e: AgentEvent): boolean => e.ev === 'confchg' && (e['members'] as Member[]).length === n;

async function agents(lab: Lab, group: string, extra: string[] = []): Promise<Agent[]> {
  const list = [1, 2, 3].map((i) => new Agent(lab, i, [group, ...extra]));
  for (const a of list) await a.waitFor((e) => e.ev === 'connected', 15000);
  for (const a of list) await a.waitFor(isConfchg(3), 15000);
  return list;
}

/** CPU time (utime + stime, in clock ticks) of a pid. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

describe('corosync lab (3 nodes)', { skip, timeout: 180000 }, () => {
  const lab = new Lab({ prefix: PREFIX, token: 1000 });
  const open: Agent[] = [];

  before(async () => {
    await lab.down();
    await lab.up(3, { wait: true, timeoutMs: 30000 });
  });

  after(async () => {
    for (const a of open) a.kill();
    await lab.down();
  });

  it('lab nodes: hostname, hosts, private /etc/pve, corosync quorate with 3 nodes', async () => {
    for (const i of [1, 2, 3]) {
      const r = await lab.exec(i, ['sh', '-c', 'hostname; getent hosts n1 n2 n3; test -d /etc/pve && echo pve']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], `n${i}`);
      assert.match(r.stdout, new RegExp(`${lab.address(3).replace(/\./g, '\\.')}\\s+n3`));
      assert.equal(lines.at(-1), 'pve');
      assert.deepEqual(await lab.quorum(i), { quorate: true, nodes: 3 });
    }
    const sh = await lab.exec(1, ['sh', '-c', 'exit 7']);
    assert.equal(sh.code, 7);
  });

  it('3 senders × 1,000 messages: identical agreed order on every node, sender order kept', async () => {
    const as = await agents(lab, 'pmxtest_order');
    open.push(...as);
    for (const a of as) a.send({ cmd: 'send', count: 1000, size: 100 });
    for (const a of as) {
      const deadline = Date.now() + 60000;
      for (;;) {
        const s = await a.request({ cmd: 'stats' }, 'stats');
        if (s['delivered'] === 3000) break;
        assert.ok((s['delivered'] as number) < 3000, `too many deliveries: ${String(s['delivered'])}`);
        assert.ok(Date.now() < deadline, `node delivered only ${String(s['delivered'])} of 3000`);
        await sleep(100);
      }
    }
    const dumps = await Promise.all(as.map((a) => a.request({ cmd: 'dump' }, 'dump')));
    const orders = dumps.map((d) => d['delivered'] as string[]);
    assert.deepEqual(orders[1], orders[0]);
    assert.deepEqual(orders[2], orders[0]);
    const next = new Map<string, number>();
    for (const tag of orders[0]!) {
      const [sender, seq] = tag.split(':') as [string, string];
      assert.equal(Number(seq), next.get(sender) ?? 0, `sender ${sender} out of order`);
      next.set(sender, Number(seq) + 1);
    }
    assert.equal(next.size, 3);
    for (const n of next.values()) assert.equal(n, 1000);
    for (const a of as) await a.close();
  });

  it('a full copy through the sender thread: nothing read until it is out (as C), then every message in one agreed order', async () => {
    const as = await agents(lab, 'pmxtest_copy');
    open.push(...as);
    const [leader, ...others] = as as [Agent, Agent, Agent];
    const COPY = 5000;
    const me = await leader.waitFor((e) => e.ev === 'connected');
    // The copy (its own deliveries come back within a millisecond of each send) and,
    // meanwhile, the others' messages.
    const copied = leader.request({ cmd: 'send', count: COPY, size: 1024, background: true }, 'sent');
    await Promise.all([copied, ...others.map((a) => a.request({ cmd: 'send', count: 200, size: 100 }, 'sent'))]);
    const total = COPY + 400;
    for (const a of as) {
      const deadline = Date.now() + 60000;
      for (;;) {
        const s = await a.request({ cmd: 'stats' }, 'stats');
        if (s['delivered'] === total) break;
        assert.ok(Date.now() < deadline, `node delivered only ${String(s['delivered'])} of ${total}`);
        await sleep(100);
      }
    }
    const after = await leader.request({ cmd: 'stats' }, 'stats');
    assert.equal(after['busyDeliveries'], 0, 'no delivery, not even of its own copy, reached the leader while the copy was pending');
    const orders = await Promise.all(as.map(async (a) => (await a.request({ cmd: 'dump' }, 'dump'))['delivered'] as string[]));
    assert.deepEqual(orders[1], orders[0]);
    assert.deepEqual(orders[2], orders[0]);
    const copyTags = orders[0]!.filter((t) => t.startsWith(`${String(me['nodeid'])}/${String(me['pid'])}:`));
    assert.deepEqual(copyTags.map((t) => Number(t.split(':')[1])), Array.from({ length: COPY }, (_, k) => k), 'the copy in send order');
    for (const a of as) await a.close();
  });

  it('SIGKILL of a member: the others get a confchg (PROCDOWN) within a second', async () => {
    const as = await agents(lab, 'pmxtest_kill');
    open.push(...as);
    const victim = as[2]!;
    const from = as.map((a) => a.events.length);
    const connected = victim.events.find((e) => e.ev === 'connected')!;
    const t0 = Date.now();
    victim.kill('SIGKILL');
    for (const [k, a] of as.slice(0, 2).entries()) {
      const e = await a.waitFor(isConfchg(2), 1000, from[k]);
      const left = e['left'] as Member[];
      assert.deepEqual(left, [{ nodeid: 3, pid: connected['pid'] as number, reason: CpgReason.PROCDOWN }]);
    }
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `confchg after ${ms} ms`);
    for (const a of as.slice(0, 2)) await a.close();
  });

  it('corosync stopped: library error event, no busy loop, reconnect after restart', async () => {
    const as = await agents(lab, 'pmxtest_restart', ['--quorum', '--cmap']);
    open.push(...as);
    const a2 = as[1]!;
    const cfg = await a2.waitFor((e) => e.ev === 'cmap-config');
    assert.equal(cfg['err'], CsError.OK);
    const config = cfg['config'] as { clusterName: string; configVersion: number; nodes: { nodeid: number; name: string; ring0Addr: string }[] };
    assert.equal(config.clusterName, PREFIX);
    assert.equal(config.configVersion, 1);
    assert.deepEqual(
      config.nodes.map((n) => [n.nodeid, n.name, n.ring0Addr]),
      [1, 2, 3].map((i) => [i, `n${i}`, lab.address(i)]),
    );
    // cmap tracking: a config_version change is reported and re-read.
    const fromCmap = a2.events.length;
    const set = await lab.exec(2, ['corosync-cmapctl', '-s', 'totem.config_version', 'u64', '5']);
    assert.equal(set.code, 0, set.stderr);
    const changed = await a2.waitFor((e) => e.ev === 'cmap-config', 5000, fromCmap);
    assert.equal((changed['config'] as { configVersion: number }).configVersion, 5);

    const from = a2.events.length;
    await lab.stopCorosync(2);
    const failure = await a2.waitFor((e) => e.ev === 'failure', 5000, from);
    assert.equal(failure['code'], CsError.LIBRARY);
    await a2.waitFor((e) => e.ev === 'quorum-failure', 5000, from);
    await a2.waitFor((e) => e.ev === 'cmap-failure', 5000, from);
    // While corosync is down the process must idle (the poll was stopped).
    const c0 = cpuTicks(a2.pid);
    await sleep(2000);
    const used = cpuTicks(a2.pid) - c0;
    assert.ok(used < 40, `agent used ${used} ticks of CPU in 2 s while corosync was down`);
    await a2.waitFor((e) => e.ev === 'connect-failed', 5000, from);
    // Others see node 2 leave.
    await as[0]!.waitFor(isConfchg(2), 10000, 0);

    const from2 = a2.events.length;
    await lab.startCorosync(2);
    const again = await a2.waitFor((e) => e.ev === 'connected', 15000, from2);
    assert.equal(again['nodeid'], 2);
    await a2.waitFor((e) => e.ev === 'quorum' && e['quorate'] === true, 20000, from2);
    await a2.waitFor(isConfchg(3), 20000, from2);
    await lab.waitQuorate([1, 2, 3], 3, 30000);
    for (const a of as) await a.close();
  });

  it('corosync stopped in the middle of a full copy: the paused reader still gets the failure, then reconnects', async () => {
    const as = await agents(lab, 'pmxtest_copystop');
    open.push(...as);
    const a2 = as[1]!;
    await a2.request({ cmd: 'send', count: 50000, size: 1024, background: true }, 'sent');
    const busy = await a2.request({ cmd: 'stats' }, 'stats');
    assert.ok((busy['pending'] as number) > 0, `the copy is still being sent (pending ${String(busy['pending'])})`);
    const from = a2.events.length;
    await lab.stopCorosync(2);
    const failure = await a2.waitFor((e) => e.ev === 'failure', 10000, from);
    assert.equal(failure['code'], CsError.LIBRARY);
    await as[0]!.waitFor(isConfchg(2), 10000, 0);
    const from2 = a2.events.length;
    await lab.startCorosync(2);
    await a2.waitFor((e) => e.ev === 'connected', 15000, from2);
    await a2.waitFor(isConfchg(3), 20000, from2);
    await lab.waitQuorate([1, 2, 3], 3, 30000);
    for (const a of as) await a.close();
  });

  it('quorum: stop corosync on 2 of 3 → the last loses quorum; restart → quorate again', async () => {
    const a3 = new Agent(lab, 3, ['pmxtest_quorum', '--quorum']);
    open.push(a3);
    await a3.waitFor((e) => e.ev === 'quorum' && e['quorate'] === true, 15000);
    const from = a3.events.length;
    await Promise.all([lab.stopCorosync(1), lab.stopCorosync(2)]);
    const lost = await a3.waitFor((e) => e.ev === 'quorum' && e['quorate'] === false, 15000, from);
    assert.deepEqual(lost['members'], [3]);
    const from2 = a3.events.length;
    await Promise.all([lab.startCorosync(1), lab.startCorosync(2)]);
    // Quorum returns as soon as one of the two is back; wait for the full membership.
    const full = (e: AgentEvent): boolean => e.ev === 'quorum' && e['quorate'] === true && (e['members'] as number[]).length === 3;
    const back = await a3.waitFor(full, 30000, from2);
    assert.deepEqual([...(back['members'] as number[])].sort(), [1, 2, 3]);
    await a3.close();
  });
});
