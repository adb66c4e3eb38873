import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SimNetwork, type SimTransport } from '../../src/cluster/sim.js';
import { CpgReason, type ConfChange, type MemberId } from '../../src/cluster/transport.js';
import { Rng } from '../../src/util/rng.js';

interface Proc {
  t: SimTransport;
  log: string[];
  confchgs: ConfChange[];
  failures: number[];
}

const name = (m: MemberId) => `${m.nodeid}/${m.pid}`;

function proc(net: SimNetwork, nodeid: number, pid: number): Proc {
  const p: Proc = { t: undefined as unknown as SimTransport, log: [], confchgs: [], failures: [] };
  p.t = net.connect(nodeid, pid, {
    deliver: (from, msg) => p.log.push(`msg ${name(from)} ${msg.toString()}`),
    confchg: (c) => {
      p.confchgs.push(c);
      p.log.push(`conf [${c.members.map(name).join(',')}]`);
    },
    failure: (code) => p.failures.push(code),
  });
  return p;
}

function send(p: Proc, text: string): void {
  assert.equal(p.t.send([Buffer.from(text)]), 1);
}

/** The log from the first confchg whose member list is exactly `members`. */
function from(p: Proc, members: string): string[] {
  const i = p.log.indexOf(`conf [${members}]`);
  assert.ok(i >= 0, `no confchg [${members}] in ${p.log.join(' | ')}`);
  return p.log.slice(i);
}

describe('Rng', () => {
  it('is deterministic and in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 100; i++) {
      const x = a.int(7);
      assert.equal(x, b.int(7));
      assert.ok(x >= 0 && x < 7);
    }
    assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
  });
});

describe('SimNetwork', () => {
  it('delivers in one total order to all members, sender included, FIFO per sender', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const net = new SimNetwork({ seed, nodes: [1, 2, 3] });
      const ps = [proc(net, 1, 100), proc(net, 2, 200), proc(net, 3, 300)];
      for (const p of ps) assert.equal(p.t.join('g'), 1);
      net.runUntilIdle();
      for (let i = 0; i < 20; i++) for (const [k, p] of ps.entries()) send(p, `${k}:${i}`);
      net.runUntilIdle();
      const all = '1/100,2/200,3/300';
      const logs = ps.map((p) => from(p, all));
      assert.deepEqual(logs[1], logs[0]);
      assert.deepEqual(logs[2], logs[0]);
      const msgs = (logs[0] as string[]).filter((l) => l.startsWith('msg'));
      assert.equal(msgs.length, 60);
      for (const [k, p] of ps.entries()) {
        const mine = msgs.filter((l) => l.startsWith(`msg ${name(p.t.local)} `)).map((l) => Number(l.split(':')[1]));
        assert.deepEqual(mine, [...Array(20).keys()], `FIFO for sender ${k}`);
      }
    }
  });

  it('a joiner gets joined=[itself]; members get the same confchg', () => {
    const net = new SimNetwork({ seed: 3 });
    const a = proc(net, 1, 10);
    a.t.join('g');
    net.runUntilIdle();
    const b = proc(net, 2, 20);
    b.t.join('g');
    net.runUntilIdle();
    const ca = a.confchgs.at(-1) as ConfChange;
    const cb = b.confchgs.at(-1) as ConfChange;
    assert.deepEqual(ca.members.map(name), ['1/10', '2/20']);
    assert.deepEqual(cb.members.map(name), ['1/10', '2/20']);
    assert.deepEqual(ca.joined.map((m) => [name(m), m.reason]), [['2/20', CpgReason.JOIN]]);
    assert.deepEqual(cb.joined.map(name), ['2/20']);
    assert.equal(a.t.join('g'), 14, 'second join: CS_ERR_EXIST');
  });

  it('crash: survivors get PROCDOWN and agree on everything around it', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new SimNetwork({ seed });
      const ps = [proc(net, 1, 1), proc(net, 2, 2), proc(net, 3, 3)];
      for (const p of ps) p.t.join('g');
      net.runUntilIdle();
      for (let i = 0; i < 5; i++) for (const [k, p] of ps.entries()) send(p, `${k}:${i}`);
      for (let i = 0; i < 7; i++) net.step();
      net.crash((ps[2] as Proc).t);
      for (const [k, p] of ps.slice(0, 2).entries()) send(p, `${k}:late`);
      net.runUntilIdle();
      const [p1, p2] = ps as [Proc, Proc];
      assert.deepEqual(from(p1, '1/1,2/2,3/3'), from(p2, '1/1,2/2,3/3'));
      const last = p1.confchgs.at(-1) as ConfChange;
      assert.deepEqual(last.members.map(name), ['1/1', '2/2']);
      assert.deepEqual(last.left.map((m) => [name(m), m.reason]), [['3/3', CpgReason.PROCDOWN]]);
      // FIFO holds for the crashed sender too: a prefix of its messages arrived
      const fromDead = p1.log.filter((l) => l.startsWith('msg 3/3')).map((l) => Number(l.split(':')[1]));
      assert.deepEqual(fromDead, [...Array(fromDead.length).keys()]);
    }
  });

  it('leave: the leaver sees its own departure; own in-flight messages precede it', () => {
    const net = new SimNetwork({ seed: 5 });
    const a = proc(net, 1, 1);
    const b = proc(net, 2, 2);
    a.t.join('g');
    b.t.join('g');
    net.runUntilIdle();
    send(b, 'x');
    assert.equal(b.t.leave(), 1);
    assert.equal(b.t.send([Buffer.from('y')]), 12, 'send when not joined: NOT_EXIST');
    net.runUntilIdle();
    assert.deepEqual(b.log.slice(-2), ['msg 2/2 x', 'conf [1/1]']);
    assert.deepEqual(a.log.slice(-2), ['msg 2/2 x', 'conf [1/1]']);
    assert.deepEqual((a.confchgs.at(-1) as ConfChange).left.map((m) => m.reason), [CpgReason.LEAVE]);
  });

  it('partition and heal: separate configurations, quorum by majority, merge', () => {
    const net = new SimNetwork({ seed: 11, nodes: [1, 2, 3] });
    const ps = [proc(net, 1, 1), proc(net, 2, 2), proc(net, 3, 3)];
    for (const p of ps) p.t.join('g');
    net.runUntilIdle();
    const [p1, p2, p3] = ps as [Proc, Proc, Proc];
    assert.ok(p3.t.isQuorate());
    net.partition([[1, 2], [3]]);
    send(p1, 'a');
    send(p3, 'c');
    net.runUntilIdle();
    assert.ok(p1.t.isQuorate() && p2.t.isQuorate());
    assert.ok(!p3.t.isQuorate());
    const c1 = p1.confchgs.at(-1) as ConfChange;
    const c3 = p3.confchgs.at(-1) as ConfChange;
    assert.deepEqual(c1.members.map(name), ['1/1', '2/2']);
    assert.deepEqual(c1.left.map((m) => [name(m), m.reason]), [['3/3', CpgReason.NODEDOWN]]);
    assert.deepEqual(c3.members.map(name), ['3/3']);
    assert.deepEqual(c3.left.map(name), ['1/1', '2/2']);
    assert.ok(p2.log.includes('msg 1/1 a') && !p2.log.includes('msg 3/3 c'));
    assert.ok(p3.log.includes('msg 3/3 c') && !p3.log.includes('msg 1/1 a'));
    net.heal();
    net.runUntilIdle();
    const h1 = p1.confchgs.at(-1) as ConfChange;
    const h3 = p3.confchgs.at(-1) as ConfChange;
    assert.deepEqual(h1.members.map(name), ['1/1', '2/2', '3/3']);
    assert.deepEqual(h1.joined.map((m) => [name(m), m.reason]), [['3/3', CpgReason.NODEUP]]);
    assert.deepEqual(h3.joined.map(name), ['1/1', '2/2']);
    assert.ok(p3.t.isQuorate());
    net.setQuorate(3, false);
    assert.ok(!p3.t.isQuorate());
  });

  it('failure: the process gets failure(), the others PROCDOWN', () => {
    const net = new SimNetwork({ seed: 2 });
    const a = proc(net, 1, 1);
    const b = proc(net, 2, 2);
    a.t.join('g');
    b.t.join('g');
    net.runUntilIdle();
    net.fail(b.t);
    net.runUntilIdle();
    assert.deepEqual(b.failures, [2]);
    assert.deepEqual((a.confchgs.at(-1) as ConfChange).members.map(name), ['1/1']);
    // the same identity may connect again
    const b2 = proc(net, 2, 2);
    assert.equal(b2.t.join('g'), 1);
  });

  it('is deterministic per seed and seeds change the interleaving', () => {
    const run = (seed: number) => {
      const net = new SimNetwork({ seed, nodes: [1, 2, 3] });
      const ps = [proc(net, 1, 1), proc(net, 2, 2), proc(net, 3, 3)];
      for (const p of ps) p.t.join('g');
      for (let i = 0; i < 5; i++) for (const [k, p] of ps.entries()) send(p, `${k}:${i}`);
      for (let i = 0; i < 6; i++) net.step();
      net.partition([[1], [2, 3]]);
      for (const [k, p] of ps.entries()) send(p, `${k}:p`);
      net.runUntilIdle();
      net.heal();
      net.runUntilIdle();
      return net.trace.join('\n');
    };
    assert.equal(run(7), run(7));
    const distinct = new Set([1, 2, 3, 4, 5, 6, 7, 8].map(run));
    assert.ok(distinct.size > 1, 'different seeds give different interleavings');
  });
});
