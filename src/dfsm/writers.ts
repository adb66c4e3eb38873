/**
 * The local writers waiting for their own NORMAL message to come back (C: the result
 * slots of dfsm_send_message_sync, woken through msgcount_rcvd).
 *
 * | here          | C (dfsm.c)                                        |
 * |---------------|---------------------------------------------------|
 * | register      | dfsm_send_message_sync: result slot under `count` |
 * | record        | dfsm_record_local_result                          |
 * | abortAll      | dfsm_send_sync_message_abort                      |
 */
import { assert } from '../util/assert.js';

/**
 * Waiting writers: each is a FUSE request or a control-socket request in flight. The
 * kernel does not cap synchronous FUSE requests, so this is a leak detector sized far
 * above any real load (every process of a node writing at once).
 */
export const MAX_WAITING_WRITERS = 65_536;

interface Slot {
  result: number;
  readonly resolve: (result: number) => void;
}

export class WaitingWriters {
  private readonly slots = new Map<bigint, Slot>();
  /** The count of the last own message delivered or given up (C: msgcount_rcvd). */
  private received = 0n;

  get size(): number {
    return this.slots.size;
  }

  get full(): boolean {
    return this.slots.size >= MAX_WAITING_WRITERS;
  }

  get lastReceived(): bigint {
    return this.received;
  }

  /** A writer waits for `count`; it is answered `failResult` unless a result is recorded. */
  register(count: bigint, failResult: number, resolve: (result: number) => void): void {
    assert(!this.full, 'waiting writers within MAX_WAITING_WRITERS');
    assert(!this.slots.has(count), 'one writer per message count');
    this.slots.set(count, { result: failResult, resolve });
  }

  /** The send failed: the writer is answered by the caller. */
  forget(count: bigint): void {
    this.slots.delete(count);
  }

  /** dfsm_record_local_result: the own message `count` was delivered with `result`. */
  record(count: bigint, result: number): void {
    const slot = this.slots.get(count);
    if (slot) slot.result = result;
    this.received = count;
    this.wake();
  }

  /** dfsm_send_sync_message_abort: every writer up to `sent` gets its fail result. */
  abortAll(sent: bigint): void {
    this.received = sent;
    this.wake();
  }

  /** C's waiters loop on `msgcount_rcvd < count`; release every slot that passes. */
  private wake(): void {
    for (const [count, slot] of this.slots) {
      if (this.received >= count) {
        this.slots.delete(count);
        slot.resolve(slot.result);
      }
    }
  }
}
