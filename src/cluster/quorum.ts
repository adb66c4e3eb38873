/**
 * libquorum through the native addon: the quorate flag and the quorum view.
 *
 * As C quorum.c: initialize must report QUORUM_SET (a provider such as votequorum is
 * configured), then trackstart(CS_TRACK_CHANGES); corosync sends the current state
 * right after trackstart, so `quorate` is known within one dispatch. A dispatch error
 * (corosync gone) sets quorate to false, finalizes and calls `failure(code)`; the
 * service layer opens a new one later.
 */

import { CsError } from './transport.js';
import { CorosyncError, loadCorosync, type NativeQuorum } from './native.js';

export const QUORUM_FREE = 0;
export const QUORUM_SET = 1;
export const CS_TRACK_CURRENT = 1;
export const CS_TRACK_CHANGES = 2;
export const CS_TRACK_CHANGES_ONLY = 4;

export interface QuorumState {
  readonly quorate: boolean;
  readonly ringSeq: number;
  /** Node ids in the quorum view. */
  readonly members: readonly number[];
}

export interface QuorumHandlers {
  notify(state: QuorumState): void;
  failure(code: number): void;
}

export class QuorumClient {
  private readonly q: NativeQuorum;
  private closed = false;
  /** Last notified state; false until the first notification (as C). */
  quorate = false;
  members: readonly number[] = [];

  /** Throws CorosyncError on initialize/trackstart failure (nothing left open). */
  static open(handlers: QuorumHandlers): QuorumClient {
    return new QuorumClient(handlers);
  }

  private constructor(private readonly handlers: QuorumHandlers) {
    const { Quorum } = loadCorosync();
    this.q = new Quorum({
      notify: (quorate, ringSeq, members) => {
        if (this.closed) return;
        this.quorate = quorate;
        this.members = members;
        this.handlers.notify({ quorate, ringSeq, members });
      },
      error: (code) => this.fail(code),
    });
    const init = this.q.initialize();
    if (init.err !== CsError.OK) throw new CorosyncError('quorum_initialize', init.err);
    if (init.quorumType !== QUORUM_SET) {
      this.q.finalize();
      throw new CorosyncError(`quorum_initialize returned wrong quorum_type: ${init.quorumType}`, CsError.OK);
    }
    const err = this.q.trackStart(CS_TRACK_CHANGES);
    if (err !== CsError.OK) {
      this.q.finalize();
      throw new CorosyncError('quorum_trackstart', err);
    }
  }

  /** Ask corosync directly (quorum_getquorate), bypassing the tracked value. */
  getQuorate(): { err: number; quorate: boolean } {
    if (this.closed) return { err: CsError.BAD_HANDLE, quorate: false };
    return this.q.getQuorate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.quorate = false;
    this.q.finalize();
  }

  private fail(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.quorate = false;
    this.q.finalize();
    this.handlers.failure(code);
  }
}
