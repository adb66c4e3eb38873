/**
 * Applying one delivered dcdb NORMAL message to the memdb: the part of
 * dcdb.c: dcdb_deliver that needs no cluster context (quorum, lowest nodeid and
 * sending are decided by the caller, src/dcdb/dcdb.ts). Pure with respect to the
 * network, so golden transcripts can be replayed through exactly this code.
 *
 * | here                | C (dcdb.c: dcdb_deliver)                        |
 * |---------------------|-------------------------------------------------|
 * | applyNormalMessage  | the switch over dcdb message types              |
 * | validLockMessage    | the unlock validation (getattr, lockdir, csum)  |
 */
import type { Memdb } from '../memdb/memdb.js';
import { EINVAL, ENOENT } from '../memdb/errno.js';
import { pathIsLockdir } from '../memdb/path.js';
import { DcdbMessageType, decodeFuseMessage, decodeUnlock, type FuseMessage } from '../wire/dcdb.js';
import { DT_DIR } from '../wire/entry.js';
import { entryCsum } from '../wire/hash.js';

/** The path whose change must be mirrored to the host's corosync.conf (dfsm.md §15). */
export const COROSYNC_CONF = 'corosync.conf';

export type Applied =
  /** A memdb operation ran; `result` goes to the waiting writer (bytes or −errno). */
  | { readonly status: 'applied'; readonly result: number; readonly corosyncConfChanged: boolean }
  /** A valid UNLOCK_REQUEST: the lowest member decides expiry and may send UNLOCK. */
  | { readonly status: 'unlock-request'; readonly path: string; readonly csum: Buffer }
  /** An unlock message that does not match the current lock: nothing happens. */
  | { readonly status: 'ignored' }
  /** Malformed: C returns −1 and the member leaves the group. */
  | { readonly status: 'invalid'; readonly reason: string };

/** Lock messages act only on an existing lock directory whose checksum still matches. */
export function validLockMessage(memdb: Memdb, path: string, csum: Buffer): boolean {
  const entry = memdb.getattr(path);
  return entry !== null && entry.type === DT_DIR && pathIsLockdir(path) && entryCsum(entry).equals(csum);
}

function applyFuse(memdb: Memdb, subtype: number, writer: number, time: number, m: FuseMessage): Applied {
  const path = m.path;
  let result: number;
  let conf = false;
  switch (subtype) {
    case DcdbMessageType.WRITE:
      result = path === null ? -EINVAL : memdb.write(path, writer, time, m.data, m.offset, m.flags !== 0);
      conf = result >= 0 && path === COROSYNC_CONF;
      break;
    case DcdbMessageType.CREATE:
      result = path === null ? -EINVAL : memdb.create(path, writer, time);
      conf = result >= 0 && path === COROSYNC_CONF;
      break;
    case DcdbMessageType.MKDIR:
      result = path === null ? -EINVAL : memdb.mkdir(path, writer, time);
      break;
    case DcdbMessageType.DELETE:
      result = path === null ? -ENOENT : memdb.delete(path, writer, time);
      break;
    case DcdbMessageType.RENAME:
      // A RENAME without `to` crashes C receivers (wire.md pitfall 6); answer EINVAL.
      result = path === null ? -ENOENT : m.to === null ? -EINVAL : memdb.rename(path, m.to, writer, time);
      conf = result >= 0 && m.to === COROSYNC_CONF;
      break;
    case DcdbMessageType.MTIME:
      // The new mtime travels in `offset`; the header time is not used.
      result = path === null ? -EINVAL : memdb.mtime(path, writer, m.offset);
      break;
    default:
      return { status: 'invalid', reason: `received unknown message type ${subtype}` };
  }
  return { status: 'applied', result, corosyncConfChanged: conf };
}

/**
 * Parse and apply one NORMAL payload. `writer` is the sender's nodeid, `time` its
 * header time (the mtime of every change except MTIME).
 */
export function applyNormalMessage(memdb: Memdb, subtype: number, writer: number, time: number, payload: Buffer): Applied {
  if (subtype === DcdbMessageType.UNLOCK_REQUEST || subtype === DcdbMessageType.UNLOCK) {
    const parsed = decodeUnlock(payload);
    if (!parsed.ok) return { status: 'invalid', reason: parsed.error.message };
    const { path, csum } = parsed.value;
    if (!validLockMessage(memdb, path, csum)) return { status: 'ignored' };
    if (subtype === DcdbMessageType.UNLOCK_REQUEST) return { status: 'unlock-request', path, csum };
    return { status: 'applied', result: memdb.delete(path, writer, time), corosyncConfChanged: false };
  }
  if (subtype < DcdbMessageType.WRITE || subtype > DcdbMessageType.MTIME) {
    return { status: 'invalid', reason: `received unknown message type ${subtype}` };
  }
  const parsed = decodeFuseMessage(payload);
  if (!parsed.ok) return { status: 'invalid', reason: parsed.error.message };
  return applyFuse(memdb, subtype, writer, time, parsed.value);
}
