/**
 * CpgTransport policy against a fake native Cpg (no corosync needed): NUL-terminated
 * group name, TRY_AGAIN queue kept in order without blocking, fatal errors reported
 * once, no handler after close.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CpgTransport } from '../../src/cluster/cpg.js';
import type { NativeCpg, NativeCpgCallbacks } from '../../src/cluster/native.js';
import { CsError, type ConfChange, type TransportHandlers } from '../../src/cluster/transport.js';

class FakeCpg implements NativeCpg {
  static last: FakeCpg | undefined;
  initialized = false;
  joined: Buffer[] = [];
  sent: string[] = [];
  /** Results to return from the next mcastJoined calls (then OK). */
  script: number[] = [];
  finalized = 0;
  constructor(readonly cb: NativeCpgCallbacks) {
    FakeCpg.last = this;
  }
  initialize(): number {
    this.initialized = true;
    return CsError.OK;
  }
  join(name: Buffer): number {
    this.joined.push(Buffer.from(name));
    return CsError.OK;
  }
  leave(): number {
    return CsError.OK;
  }
  readonly deliveryBuffer = Buffer.alloc(64);
  mcastJoined(message: Buffer, guarantee: number): number {
    assert.equal(guarantee, 2); // CPG_TYPE_AGREED
    const r = this.script.shift() ?? CsError.OK;
    if (r === CsError.OK) this.sent.push(message.toString());
    return r;
  }
  /** Messages held by the (fake) sender thread, in order. */
  background: string[] = [];
  batches = 0;
  sendQueued(messages: readonly Buffer[], retryMs: number): number {
    assert.equal(retryMs, 1);
    this.background.push(...messages.map((m) => m.toString()));
    this.batches++;
    return CsError.OK;
  }
  sendQueueLength(): number {
    return this.background.length;
  }
  /** What the sender thread does: send the queue in order, then report idle. */
  runSender(): void {
    this.sent.push(...this.background.splice(0));
    this.cb.sendIdle?.();
  }
  localGet(): { err: number; nodeid: number } {
    return { err: CsError.OK, nodeid: 7 };
  }
  membershipGet(): { err: number; members: [] } {
    return { err: CsError.OK, members: [] };
  }
  maxAtomicMsgsize(): { err: number; size: number } {
    return { err: CsError.OK, size: 1 << 20 };
  }
  flowControlState(): { err: number; enabled: boolean } {
    return { err: CsError.OK, enabled: false };
  }
  finalize(): number {
    this.finalized++;
    this.initialized = false;
    return CsError.OK;
  }
}

function open(log: string[]): { t: CpgTransport; fake: FakeCpg } {
  const handlers: TransportHandlers = {
    deliver: (from, m) => log.push(`deliver ${from.nodeid}/${from.pid} ${m.toString()}`),
    confchg: (c: ConfChange) => log.push(`confchg ${c.members.length}`),
    failure: (code) => log.push(`failure ${code}`),
  };
  const t = CpgTransport.open(handlers, { addon: { Cpg: FakeCpg }, retryDelayMs: 1 });
  return { t, fake: FakeCpg.last! };
}

describe('CpgTransport (fake addon)', () => {
  it('identity and group name with trailing NUL', () => {
    const { t, fake } = open([]);
    assert.deepEqual(t.local, { nodeid: 7, pid: process.pid });
    assert.equal(t.join('pve_dcdb_v1'), CsError.OK);
    assert.equal(fake.joined[0]!.length, 12);
    assert.equal(fake.joined[0]!.toString('latin1'), 'pve_dcdb_v1\0');
  });

  it('TRY_AGAIN queues; later sends wait behind the queue; order kept', async () => {
    const { t, fake } = open([]);
    t.join('g');
    fake.script = [CsError.TRY_AGAIN, CsError.TRY_AGAIN, CsError.TRY_AGAIN];
    assert.equal(t.send([Buffer.from('a')]), CsError.OK);
    assert.equal(t.send([Buffer.from('b'), Buffer.from('c')]), CsError.OK);
    assert.equal(t.send([Buffer.from('d')]), CsError.OK);
    assert.equal(t.pending, 3);
    assert.deepEqual(fake.sent, []);
    await t.flushed();
    assert.deepEqual(fake.sent, ['a', 'bc', 'd']);
    assert.equal(t.pending, 0);
    assert.equal(t.send([Buffer.from('e')]), CsError.OK);
    assert.deepEqual(fake.sent, ['a', 'bc', 'd', 'e']);
  });

  it('background sends: later sends go behind the sender thread until it is idle', async () => {
    const log: string[] = [];
    const { t, fake } = open(log);
    t.join('g');
    assert.equal(t.send([Buffer.from('u'), Buffer.from('1')], true), CsError.OK);
    assert.equal(t.send([Buffer.from('u2')], true), CsError.OK);
    assert.equal(t.send([Buffer.from('n')]), CsError.OK); // not direct: behind the copy
    assert.deepEqual(fake.sent, []);
    assert.equal(t.pending, 3);
    const flushed = t.flushed();
    await Promise.resolve(); // the task's messages reach the thread together
    assert.equal(fake.batches, 1);
    assert.deepEqual(fake.background, ['u1', 'u2', 'n']);
    fake.runSender();
    await flushed;
    assert.deepEqual(fake.sent, ['u1', 'u2', 'n']);
    assert.equal(t.send([Buffer.from('d')]), CsError.OK); // idle again: sent directly
    assert.deepEqual(fake.sent, ['u1', 'u2', 'n', 'd']);
    assert.deepEqual(fake.background, []);
    t.send([Buffer.from('x')], true);
    await Promise.resolve();
    fake.cb.sendError?.(CsError.LIBRARY);
    assert.deepEqual(log, ['failure 2']);
    assert.equal(t.send([Buffer.from('y')]), CsError.BAD_HANDLE);
  });

  it('LIBRARY on send: finalize, drop the queue, failure once, then BAD_HANDLE', () => {
    const log: string[] = [];
    const { t, fake } = open(log);
    fake.script = [CsError.LIBRARY];
    assert.equal(t.send([Buffer.from('x')]), CsError.LIBRARY);
    assert.deepEqual(log, ['failure 2']);
    assert.equal(fake.finalized, 1);
    assert.equal(t.send([Buffer.from('y')]), CsError.BAD_HANDLE);
    t.close();
    assert.equal(fake.finalized, 1);
    assert.deepEqual(log, ['failure 2']);
  });

  it('LIBRARY while draining the queue reports failure', async () => {
    const log: string[] = [];
    const { t, fake } = open(log);
    fake.script = [CsError.TRY_AGAIN, CsError.BAD_HANDLE];
    t.send([Buffer.from('x')]);
    await t.flushed();
    assert.deepEqual(log, ['failure 9']);
    assert.deepEqual(fake.sent, []);
  });

  it('dispatch events pass through; dispatch error → failure; nothing after close', () => {
    const log: string[] = [];
    const { t, fake } = open(log);
    fake.cb.deliver(3, 42, Buffer.from('hi'));
    fake.cb.confchg([{ nodeid: 3, pid: 42, reason: 1 }], [], [{ nodeid: 3, pid: 42, reason: 1 }]);
    fake.cb.error(CsError.LIBRARY);
    fake.cb.deliver(3, 42, Buffer.from('late'));
    assert.deepEqual(log, ['deliver 3/42 hi', 'confchg 1', 'failure 2']);
    assert.equal(t.isClosed, true);
  });

  it('a staged message (its length) is copied out of the delivery buffer', () => {
    const got: Buffer[] = [];
    const handlers: TransportHandlers = { deliver: (_from, m) => got.push(m), confchg: () => {}, failure: () => {} };
    CpgTransport.open(handlers, { addon: { Cpg: FakeCpg }, retryDelayMs: 1 });
    const fake = FakeCpg.last!;
    fake.deliveryBuffer.write('staged');
    fake.cb.deliver(3, 42, 6);
    fake.deliveryBuffer.write('reused');
    fake.cb.deliver(3, 42, 0);
    assert.deepEqual(got.map((m) => m.toString()), ['staged', '']);
  });

  it('borrowDeliveries: a staged message is a view of the delivery buffer, flagged borrowed; a large one is owned', () => {
    const got: { text: string; borrowed: boolean; view: boolean }[] = [];
    const handlers: TransportHandlers = {
      deliver: (_from, m, borrowed) => got.push({ text: m.toString(), borrowed, view: m.buffer === FakeCpg.last!.deliveryBuffer.buffer }),
      confchg: () => {},
      failure: () => {},
    };
    CpgTransport.open(handlers, { addon: { Cpg: FakeCpg }, retryDelayMs: 1, borrowDeliveries: true });
    const fake = FakeCpg.last!;
    fake.deliveryBuffer.write('staged');
    fake.cb.deliver(3, 42, 6);
    fake.cb.deliver(3, 42, Buffer.from('large'));
    assert.deepEqual(got, [
      { text: 'staged', borrowed: true, view: true },
      { text: 'large', borrowed: false, view: false },
    ]);
  });

  it('a message of several parts goes out joined, each send in full (the join buffer is reused)', async () => {
    const { t, fake } = open([]);
    t.join('g');
    assert.equal(t.send([Buffer.from('head-'), Buffer.from('long payload')]), CsError.OK);
    assert.equal(t.send([Buffer.from('h2-'), Buffer.from('p')]), CsError.OK);
    fake.script = [CsError.TRY_AGAIN];
    assert.equal(t.send([Buffer.from('queued-'), Buffer.from('x')]), CsError.OK);
    assert.deepEqual(fake.sent, ['head-long payload', 'h2-p']);
    assert.equal(t.pending, 1);
    await t.flushed();
    assert.deepEqual(fake.sent, ['head-long payload', 'h2-p', 'queued-x']);
  });
});
