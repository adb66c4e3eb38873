/** WaitingWriters: C's result slots of dfsm_send_message_sync, released in count order. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { WaitingWriters } from '../../src/dfsm/writers.js';

function waiter(w: WaitingWriters, count: bigint): { result: number | null } {
  const got: { result: number | null } = { result: null };
  w.register(count, -16, (r) => (got.result = r));
  return got;
}

describe('WaitingWriters', () => {
  it('a recorded result goes to its writer; counts sent without a writer release the ones before them', () => {
    const w = new WaitingWriters();
    const a = waiter(w, 1n);
    const b = waiter(w, 3n); // count 2 was an unlock, sent without waiting
    const c = waiter(w, 4n);
    w.record(2n, 0); // the unlock's delivery passes count 1 (its own message was lost meanwhile)
    assert.deepEqual([a.result, b.result, c.result], [-16, null, null]);
    w.record(3n, 7);
    assert.deepEqual([b.result, c.result], [7, null]);
    assert.equal(w.size, 1);
    assert.equal(w.lastReceived, 3n);
  });

  it('forget drops the last writer; abortAll answers the rest with their fail result', () => {
    const w = new WaitingWriters();
    const a = waiter(w, 5n);
    waiter(w, 6n);
    w.forget(6n);
    assert.equal(w.size, 1);
    w.abortAll(6n);
    assert.equal(a.result, -16);
    assert.equal(w.size, 0);
    assert.throws(() => w.forget(6n), /last registered/);
  });

  it('refuses a count out of order, and stays correct across compaction', () => {
    const w = new WaitingWriters();
    let previous = waiter(w, 10n);
    assert.throws(() => waiter(w, 10n), /count order/);
    for (let i = 11n; i < 3000n; i++) {
      const next = waiter(w, i);
      w.record(i - 1n, Number(i % 100n));
      assert.equal(previous.result, Number(i % 100n));
      assert.equal(next.result, null);
      assert.equal(w.size, 1);
      previous = next;
    }
    w.record(2999n, 1);
    assert.equal(previous.result, 1);
    assert.equal(w.size, 0);
  });
});
