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

/** Released slots kept at the front of a busy list before it is compacted. */
const COMPACT_AFTER = 1_024;

interface Slot {
  readonly count: bigint;
  result: number;
  readonly resolve: (result: number) => void;
}

/**
 * Slots in the order of their counts (counts only grow, and own messages come back in
 * the order they were sent): a writer is found and released at the front, with no
 * hashing of a bigint key per message.
 */
export class WaitingWriters {
  private slots: Slot[] = [];
  /** Index of the first live slot; the released ones before it are dropped in batches. */
  private head = 0;
  /** The count of the last own message delivered or given up (C: msgcount_rcvd). */
  private received = 0n;

  get size(): number {
    return this.slots.length - this.head;
  }

  get full(): boolean {
    return this.size >= MAX_WAITING_WRITERS;
  }

  get lastReceived(): bigint {
    return this.received;
  }

  /** A writer waits for `count`; it is answered `failResult` unless a result is recorded. */
  register(count: bigint, failResult: number, resolve: (result: number) => void): void {
    assert(!this.full, 'waiting writers within MAX_WAITING_WRITERS');
    assert(this.size === 0 || this.slots[this.slots.length - 1]!.count < count, 'writers register in count order');
    this.slots.push({ count, result: failResult, resolve });
  }

  /** The send failed: the writer (the last registered) is answered by the caller. */
  forget(count: bigint): void {
    assert(this.size > 0 && this.slots[this.slots.length - 1]!.count === count, 'the forgotten writer is the last registered');
    this.slots.pop();
  }

  /** dfsm_record_local_result: the own message `count` was delivered with `result`. */
  record(count: bigint, result: number): void {
    for (let i = this.head; i < this.slots.length && this.slots[i]!.count <= count; i++) {
      if (this.slots[i]!.count === count) this.slots[i]!.result = result;
    }
    this.received = count;
    this.wake();
  }

  /** dfsm_send_sync_message_abort: every writer up to `sent` gets its fail result. */
  abortAll(sent: bigint): void {
    this.received = sent;
    this.wake();
  }

  /** C's waiters loop on `msgcount_rcvd < count`; release every slot that passes, in order. */
  private wake(): void {
    while (this.head < this.slots.length && this.slots[this.head]!.count <= this.received) {
      const slot = this.slots[this.head]!;
      this.head++;
      slot.resolve(slot.result);
    }
    if (this.head === this.slots.length) {
      this.slots.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
