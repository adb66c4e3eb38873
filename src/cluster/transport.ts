/**
 * The group-communication boundary between the DFSM and corosync CPG.
 *
 * Two implementations: `cpg.ts` (the real libcpg through the native addon) and
 * `sim.ts` (a deterministic, seeded in-memory CPG for simulation tests). The DFSM
 * only ever sees this interface, as C's dfsm.c only sees the libcpg callbacks.
 *
 * | here                  | C (libcpg / dfsm.c)                        |
 * |-----------------------|--------------------------------------------|
 * | join(group)           | cpg_join (name length includes the NUL)    |
 * | leave()               | cpg_leave                                  |
 * | send(buffers)         | cpg_mcast_joined(CPG_TYPE_AGREED, iov)     |
 * | handlers.deliver      | cpg_deliver_fn_t                           |
 * | handlers.confchg      | cpg_confchg_fn_t                           |
 * | handlers.failure      | cpg_dispatch returning CS_ERR_LIBRARY etc. |
 */

/** A CPG member: the pair (nodeid, pid) identifies one process in the group. */
export interface MemberId {
  readonly nodeid: number;
  readonly pid: number;
}

/** A member as reported in a configuration change; `reason` is CPG_REASON_*. */
export interface CpgMember extends MemberId {
  readonly reason: number;
}

export interface ConfChange {
  readonly members: readonly CpgMember[];
  readonly left: readonly CpgMember[];
  readonly joined: readonly CpgMember[];
}

/** corosync cs_error_t values we act on. */
export const CsError = {
  OK: 1,
  LIBRARY: 2,
  TRY_AGAIN: 6,
  BAD_HANDLE: 9,
  NOT_EXIST: 12,
} as const;

/** CPG_REASON_* values. */
export const CpgReason = {
  JOIN: 1,
  LEAVE: 2,
  NODEDOWN: 3,
  NODEUP: 4,
  PROCDOWN: 5,
} as const;

export interface TransportHandlers {
  /**
   * A message in agreed (total) order; delivered to the sender too. `borrowed`: the
   * message is a view of the transport's buffer, valid only during this call (as the
   * `msg` of cpg_deliver_fn_t): a handler copies whatever it keeps.
   */
  deliver(from: MemberId, message: Buffer, borrowed: boolean): void;
  /** A new configuration of the joined group. */
  confchg(change: ConfChange): void;
  /**
   * The connection is gone (corosync stopped, CS_ERR_LIBRARY / BAD_HANDLE). The
   * transport is unusable afterwards; the service layer finalizes and reconnects.
   */
  failure(code: number): void;
}

export interface Transport {
  /** Own identity; `nodeid` from cpg_local_get, `pid` of this process. */
  readonly local: MemberId;
  /** Join a group. The name is passed exactly; the NUL is added by the transport. */
  join(group: string): number;
  leave(): number;
  /**
   * Multicast one message (the concatenation of `buffers`) in agreed order. Returns
   * a cs_error code; TRY_AGAIN is absorbed (the message is queued and retried in
   * order without blocking the event loop), so callers see OK, or a fatal code.
   * `background`: the multicast may happen later, off the event loop (a leader's full
   * copy); every later send still goes out after it, in call order.
   */
  send(buffers: readonly Buffer[], background?: boolean): number;
  /** Release the connection; no handler is called afterwards. */
  close(): void;
}
