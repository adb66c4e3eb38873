/**
 * Loader for the corosync N-API addon (native/corosync.cc, built by node-gyp into
 * build/Release/corosync.node at `npm install`). Loaded lazily: commands that do not
 * talk to corosync never load it. Set PMXCFS_NATIVE_DIR to load from elsewhere.
 *
 * The addon is policy-free: every call returns a cs_error_t code (CsError in
 * transport.ts) or an object carrying it as `err`; the wrappers in cpg.ts, quorum.ts
 * and cmap.ts decide what to do.
 */

import { addonLoader } from '../util/addon.js';

export { packageRoot } from '../util/addon.js';

export interface NativeCpgAddress {
  readonly nodeid: number;
  readonly pid: number;
  readonly reason: number;
}

/** Callbacks of a native Cpg; called after cpg_dispatch returned, never inside it. */
export interface NativeCpgCallbacks {
  /** message: the bytes, or their length when they are in `deliveryBuffer` (small ones). */
  deliver(nodeid: number, pid: number, message: Buffer | number): void;
  confchg(members: NativeCpgAddress[], left: NativeCpgAddress[], joined: NativeCpgAddress[]): void;
  /** Totem ring change (CPG model v1). */
  totem?(ringNodeid: number, ringSeq: number, members: number[]): void;
  /** Dispatch failed (CS_ERR_LIBRARY when corosync went away); polling has stopped. */
  error(code: number): void;
  /** The background sender sent everything queued (sendQueued). */
  sendIdle?(): void;
  /** The background sender stopped on this error; its queue was dropped. */
  sendError?(code: number): void;
}

export interface NativeCpg {
  /** cpg_model_initialize(CPG_MODEL_V1) + cpg_fd_get + start polling. */
  initialize(): number;
  /** The exact group-name bytes (callers include the trailing NUL), ≤ 128 bytes. */
  join(name: Buffer): number;
  leave(name: Buffer): number;
  /** cpg_mcast_joined of one message. guarantee: CPG_TYPE_* (AGREED = 2). */
  mcastJoined(message: Buffer, guarantee: number): number;
  /**
   * Queue messages for the addon's sender
   * thread, which sends the queue in order with cpg_mcast_joined(AGREED), retrying
   * TRY_AGAIN every retryMs. CS_OK once queued; the JS side must not send directly
   * until sendIdle.
   */
  sendQueued(messages: readonly Buffer[], retryMs: number): number;
  /** Messages the sender thread has not sent yet. */
  sendQueueLength(): number;
  localGet(): { err: number; nodeid: number };
  membershipGet(name: Buffer): { err: number; members: NativeCpgAddress[] };
  maxAtomicMsgsize(): { err: number; size: number };
  flowControlState(): { err: number; enabled: boolean };
  /** Stop polling, drop queued events, cpg_finalize. */
  finalize(): number;
  readonly initialized: boolean;
  /** Valid during a "deliver" call whose message is a length: the first `length` bytes. */
  readonly deliveryBuffer: Buffer;
}

export interface NativeQuorumCallbacks {
  notify(quorate: boolean, ringSeq: number, members: number[]): void;
  error(code: number): void;
}

export interface NativeQuorum {
  /** quorum_initialize + context + fd + start polling; quorumType QUORUM_SET = 1. */
  initialize(): { err: number; quorumType: number };
  getQuorate(): { err: number; quorate: boolean };
  /** flags: CS_TRACK_CURRENT 1 | CS_TRACK_CHANGES 2 | CS_TRACK_CHANGES_ONLY 4. */
  trackStart(flags?: number): number;
  trackStop(): number;
  finalize(): number;
  readonly initialized: boolean;
}

/** A cmap value: integers up to 32 bit and floats as number, 64-bit as bigint. */
export type CmapValue = number | bigint | string | Buffer;

export interface NativeCmapCallbacks {
  /** event: CMAP_TRACK_ADD 4 | DELETE 1 | MODIFY 2. */
  notify(event: number, key: string, newValue: CmapValue | undefined, oldValue: CmapValue | undefined, track: bigint): void;
  error(code: number): void;
}

export interface NativeCmap {
  initialize(): number;
  get(key: string): { err: number; value: CmapValue | undefined };
  /** All keys under a prefix ('' = all), in lexicographic order. */
  iter(prefix: string): { err: number; entries: [string, CmapValue][] };
  /** type: CMAP_TRACK_ADD 4 | DELETE 1 | MODIFY 2, | PREFIX 8. */
  trackAdd(key: string, type: number): { err: number; track: bigint };
  trackDelete(track: bigint): number;
  finalize(): number;
  readonly initialized: boolean;
}

export interface CorosyncAddon {
  Cpg: new (callbacks: NativeCpgCallbacks) => NativeCpg;
  Quorum: new (callbacks: NativeQuorumCallbacks) => NativeQuorum;
  Cmap: new (callbacks: NativeCmapCallbacks) => NativeCmap;
}

export const loadCorosync = addonLoader<CorosyncAddon>('corosync');

/** Names of cs_error_t codes, for log messages ("CS_ERR_LIBRARY"). */
const csErrorNames: Record<number, string> = {
  1: 'CS_OK', 2: 'CS_ERR_LIBRARY', 3: 'CS_ERR_VERSION', 4: 'CS_ERR_INIT', 5: 'CS_ERR_TIMEOUT',
  6: 'CS_ERR_TRY_AGAIN', 7: 'CS_ERR_INVALID_PARAM', 8: 'CS_ERR_NO_MEMORY', 9: 'CS_ERR_BAD_HANDLE',
  10: 'CS_ERR_BUSY', 11: 'CS_ERR_ACCESS', 12: 'CS_ERR_NOT_EXIST', 13: 'CS_ERR_NAME_TOO_LONG',
  14: 'CS_ERR_EXIST', 15: 'CS_ERR_NO_SPACE', 16: 'CS_ERR_INTERRUPT', 17: 'CS_ERR_NAME_NOT_FOUND',
  18: 'CS_ERR_NO_RESOURCES', 19: 'CS_ERR_NOT_SUPPORTED', 20: 'CS_ERR_BAD_OPERATION',
  21: 'CS_ERR_FAILED_OPERATION', 22: 'CS_ERR_MESSAGE_ERROR', 23: 'CS_ERR_QUEUE_FULL',
  24: 'CS_ERR_QUEUE_NOT_AVAILABLE', 25: 'CS_ERR_BAD_FLAGS', 26: 'CS_ERR_TOO_BIG',
  27: 'CS_ERR_NO_SECTIONS', 28: 'CS_ERR_CONTEXT_NOT_FOUND', 30: 'CS_ERR_TOO_MANY_GROUPS',
  100: 'CS_ERR_SECURITY',
};

export function csErrorName(code: number): string {
  return csErrorNames[code] ?? `CS_ERR_${code}`;
}

/** Codes after which the handle is unusable (C: finalize and reinitialize later). */
export function isFatalCsError(code: number): boolean {
  return code === 2 /* LIBRARY */ || code === 9 /* BAD_HANDLE */;
}

/** An initialize that failed, carrying the cs_error_t code. */
export class CorosyncError extends Error {
  constructor(
    readonly op: string,
    readonly code: number,
  ) {
    super(`${op} failed: ${csErrorName(code)}`);
    this.name = 'CorosyncError';
  }
}
