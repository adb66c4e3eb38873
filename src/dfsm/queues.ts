/**
 * The two message queues of a DFSM (dfsm.md §7): NORMAL messages that arrive while a
 * sync round runs wait in `msg` (sorted by count) or, in UPDATE mode from a member
 * already synced, in `sync` (arrival order).
 *
 * | here      | C (dfsm.c)                                  |
 * |-----------|---------------------------------------------|
 * | add       | dfsm_queue_add_message (placement)          |
 * | dropMsg   | msg_queue freed in dfsm_initialize          |
 * | dropSync  | sync_queue freed in the confchg callback    |
 */
import type { MemberId } from '../cluster/transport.js';
import { STATFS_BLOCKS, STATFS_BSIZE, STATFS_FILES } from '../memdb/memdb.js';
import { assert } from '../util/assert.js';
import { insertByCount } from './members.js';

/**
 * Bytes queued during one round. The replicated filesystem holds about
 * STATFS_BLOCKS × STATFS_BSIZE (128 MiB); a round that queues twice that has rewritten
 * the whole filesystem twice without finishing: it is stuck, and leaving and resyncing
 * (C's reaction to any queue failure) is the recovery. C's queues are unbounded.
 */
export const MAX_QUEUED_BYTES = 2 * STATFS_BLOCKS * STATFS_BSIZE;
/** Messages queued during one round: twice the inode budget (one change per inode, twice). */
export const MAX_QUEUED_MESSAGES = 2 * STATFS_FILES;

export interface QueuedMessage extends MemberId {
  readonly count: bigint;
  /** The whole message, header included (a copy). */
  readonly msg: Buffer;
}

export class MessageQueues {
  msg: QueuedMessage[] = [];
  sync: QueuedMessage[] = [];
  private bytes = 0;

  get queuedBytes(): number {
    return this.bytes;
  }

  /** Place a copy of `msg`; false when the bounds are reached (the caller leaves). */
  add(from: MemberId, count: bigint, msg: Buffer, toSync: boolean): boolean {
    if (this.msg.length + this.sync.length >= MAX_QUEUED_MESSAGES) return false;
    if (this.bytes + msg.length > MAX_QUEUED_BYTES) return false;
    const qm: QueuedMessage = { nodeid: from.nodeid >>> 0, pid: from.pid >>> 0, count, msg: Buffer.from(msg) };
    this.bytes += qm.msg.length;
    if (toSync) this.sync.push(qm);
    else insertByCount(this.msg, qm);
    return true;
  }

  /** Remove msg[i] (delivered or from a non-member). */
  takeMsg(i: number): QueuedMessage {
    const [qm] = this.msg.splice(i, 1);
    assert(qm !== undefined, 'queue index in range');
    this.bytes -= qm.msg.length;
    assert(this.bytes >= 0, 'queued bytes never negative');
    return qm;
  }

  /** Move msg[i] to the sync queue (UPDATE mode, sender synced). */
  moveToSync(i: number): void {
    const [qm] = this.msg.splice(i, 1);
    assert(qm !== undefined, 'queue index in range');
    this.sync.push(qm);
  }

  /** Take the whole sync queue for delivery. */
  takeSync(): QueuedMessage[] {
    const q = this.sync;
    this.sync = [];
    for (const qm of q) this.bytes -= qm.msg.length;
    assert(this.bytes >= 0, 'queued bytes never negative');
    return q;
  }

  dropMsg(): void {
    for (const qm of this.msg) this.bytes -= qm.msg.length;
    this.msg = [];
  }

  dropSync(): void {
    this.takeSync();
  }
}
