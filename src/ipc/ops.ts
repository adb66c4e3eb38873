/**
 * The operations of the `pve2` IPC service (ipc.md §4–§5): C's request checks in C's
 * order, C's errno values, and the reply payload bytes. Everything runs synchronously
 * on the main loop, so each request sees one consistent database and status state (C
 * holds the memdb and status locks for the same purpose).
 *
 * | here              | C (server.c: s1_msg_process_fn, one branch per op)      |
 * |-------------------|---------------------------------------------------------|
 * | handleRequest     | s1_msg_process_fn                                       |
 * | getConfig         | CFS_IPC_GET_CONFIG → memdb_read (+ path_is_private)     |
 * | logClusterMessage | CFS_IPC_LOG_CLUSTER_MSG → clog_pack + cfs_cluster_log   |
 * | guestProperty/ies | CFS_IPC_GET_GUEST_CONFIG_PROPERT{Y,IES}                 |
 * | verifyToken       | CFS_IPC_VERIFY_TOKEN                                    |
 */
import { ECHRNG, EINVAL, ENOENT, EPERM } from '../memdb/errno.js';
import type { Memdb } from '../memdb/memdb.js';
import { pathComponents } from '../memdb/path.js';
import { pathIsPrivate } from '../fuse/perms.js';
import type { StatusBackend } from '../status/backend.js';
import {
  cStringBytes,
  decodeRequestHeader,
  IpcOp,
  LOG_GET_HEADER_SIZE,
  LOG_MSG_DATA_OFFSET,
  PROPERTIES_OFFSET,
  PROPERTY_OFFSET,
  REQUEST_HEADER_SIZE,
  STATUS_NAME_SIZE,
} from '../wire/ipc.js';
import { guestPropertiesJson } from './guest-props.js';

const EMPTY = Buffer.alloc(0);
/** cfs_cluster_log_dump's default when the client asks for 0 entries. */
const DEFAULT_LOG_ENTRIES = 50;
const TOKEN_FILE = 'priv/token.cfg';

export interface OpContext {
  readonly memdb: Memdb;
  readonly status: StatusBackend;
}

/** The connection as the accept check classified it (server.c: struct s1_context). */
export interface Caller {
  readonly readOnly: boolean;
  readonly pid: number;
}

/** A reply: the payload (possibly empty) on success, or a negative errno (no payload). */
export type Reply = Buffer | number;

/**
 * The request bytes up to the header's size field. The native layer hands over exactly
 * that many bytes when the size is plausible, else only the header: a size that lies
 * (below the header, or beyond the connection's buffer) is EINVAL here, where C would
 * read outside the request.
 */
function body(req: Buffer): Buffer | null {
  const h = decodeRequestHeader(req);
  return h !== null && h.size === req.length ? req : null;
}

/** C strings in fixed fields whose last byte C forces to NUL. */
function fixedField(req: Buffer, offset: number): Buffer {
  return cStringBytes(req.subarray(offset, offset + STATUS_NAME_SIZE - 1));
}

function headerOnly(req: Buffer, make: () => Buffer): Reply {
  return req.length === REQUEST_HEADER_SIZE ? make() : -EINVAL;
}

function setStatus(c: OpContext, caller: Caller, req: Buffer): Reply {
  if (caller.readOnly) return -EPERM;
  const valueAt = REQUEST_HEADER_SIZE + STATUS_NAME_SIZE;
  if (req.length < valueAt) return -EINVAL;
  const r = c.status.setStatus(fixedField(req, REQUEST_HEADER_SIZE), req.subarray(valueAt));
  return r < 0 ? r : EMPTY;
}

function getStatus(c: OpContext, req: Buffer): Reply {
  const nodeAt = REQUEST_HEADER_SIZE + STATUS_NAME_SIZE;
  if (req.length < nodeAt + STATUS_NAME_SIZE) return -EINVAL;
  return c.status.getStatus(fixedField(req, REQUEST_HEADER_SIZE), fixedField(req, nodeAt));
}

/**
 * The path as memdb's lookup sees it (empty components ignored). C checks privacy on
 * the raw string, so `nodes/n1//priv/x` bypassed it; here the check sees the
 * normalised path (deliberate difference, README compatibility notes).
 */
function normalisedPath(path: string): string {
  const parts = pathComponents(path);
  return parts === 'root' ? '' : parts.join('/');
}

function getConfig(c: OpContext, caller: Caller, req: Buffer): Reply {
  if (req.length <= REQUEST_HEADER_SIZE) return -EINVAL;
  const path = cStringBytes(req.subarray(REQUEST_HEADER_SIZE, req.length - 1)).toString('latin1');
  if (caller.readOnly && pathIsPrivate(normalisedPath(path))) return -EPERM;
  return c.memdb.read(path);
}

function logClusterMessage(c: OpContext, caller: Caller, req: Buffer): Reply {
  if (caller.readOnly) return -EPERM;
  if (req.length < LOG_MSG_DATA_OFFSET) return -EINVAL;
  const identLen = req[17]!;
  const tagLen = req[18]!;
  if (req.length - LOG_MSG_DATA_OFFSET - identLen - tagLen < 1) return -EINVAL;
  // C does not check the lengths against 0 (its NUL test then reads the length bytes).
  if (identLen < 1 || tagLen < 1) return -EINVAL;
  const tagAt = LOG_MSG_DATA_OFFSET + identLen;
  const msgAt = tagAt + tagLen;
  if (req[tagAt - 1] !== 0 || req[msgAt - 1] !== 0) return -EINVAL;
  // C's third NUL test reads one byte past the request (0 in practice): an
  // unterminated message is accepted and ends at the request end.
  c.status.logClusterMessage({
    priority: req[16]!,
    ident: cStringBytes(req.subarray(LOG_MSG_DATA_OFFSET, tagAt)),
    tag: cStringBytes(req.subarray(tagAt, msgAt)),
    message: cStringBytes(req.subarray(msgAt)),
    pid: caller.pid,
  });
  return EMPTY;
}

function getClusterLog(c: OpContext, req: Buffer): Reply {
  if (req.length <= LOG_GET_HEADER_SIZE) return -EINVAL;
  const max = req.readUInt32LE(REQUEST_HEADER_SIZE);
  return c.status.clusterLogJson(max === 0 ? DEFAULT_LOG_ENTRIES : max, cStringBytes(req.subarray(LOG_GET_HEADER_SIZE, req.length - 1)));
}

/** vmid checks shared by ops 11 and 13: 1..99 → EINVAL, unknown ≥ 100 → ENOENT. */
function vmidCheck(c: OpContext, req: Buffer): number {
  const vmid = req.length >= PROPERTY_OFFSET ? req.readUInt32LE(REQUEST_HEADER_SIZE) : 0;
  if (vmid !== 0 && vmid < 100) return -EINVAL;
  if (vmid >= 100 && c.memdb.vmlist.get(vmid) === undefined) return -ENOENT;
  return vmid;
}

function guestProperty(c: OpContext, req: Buffer): Reply {
  const vmid = vmidCheck(c, req);
  if (vmid < 0) return vmid;
  if (req.length - PROPERTY_OFFSET <= 0) return -EINVAL;
  return guestPropertiesJson(c.memdb, vmid, [cStringBytes(req.subarray(PROPERTY_OFFSET, req.length - 1))]);
}

/** The property names of op 13, each NUL-terminated, starting with a–z, filling the rest exactly. */
function propertyNames(req: Buffer, count: number): Buffer[] | number {
  const props: Buffer[] = [];
  let at = PROPERTIES_OFFSET;
  for (let i = 0; i < count; i++) {
    const nul = req.indexOf(0, at);
    if (nul <= at) return -EINVAL; // empty, or no NUL in the rest
    if (req[at]! < 0x61 || req[at]! > 0x7a) return -EINVAL;
    props.push(req.subarray(at, nul));
    at = nul + 1;
  }
  return at === req.length ? props : -EINVAL;
}

function guestProperties(c: OpContext, req: Buffer): Reply {
  const vmid = vmidCheck(c, req);
  if (vmid < 0) return vmid;
  const count = req.length > PROPERTIES_OFFSET - 1 ? req[PROPERTIES_OFFSET - 1]! : 0;
  if (count === 0) return -EINVAL;
  if (req.length - PROPERTIES_OFFSET <= 1) return -EINVAL;
  const props = propertyNames(req, count);
  return typeof props === 'number' ? props : guestPropertiesJson(c.memdb, vmid, props);
}

function verifyToken(c: OpContext, req: Buffer): Reply {
  const len = req.length - REQUEST_HEADER_SIZE - 1;
  if (len <= 0) return -EINVAL;
  const token = req.subarray(REQUEST_HEADER_SIZE, REQUEST_HEADER_SIZE + len);
  if (token.includes(0x0a) || req[req.length - 1] !== 0 || token.includes(0)) return -EINVAL;
  const file = c.memdb.read(TOKEN_FILE);
  if (typeof file === 'number' || file.length < len) return -ENOENT;
  let at = 0;
  for (;;) {
    const nl = file.indexOf(0x0a, at);
    const end = nl < 0 ? file.length : nl;
    if (end - at === len && file.compare(token, 0, len, at, end) === 0) return EMPTY;
    if (nl < 0) return -ENOENT;
    at = nl + 1;
  }
}

/** s1_msg_process_fn: the reply to one request (unknown ids: −ECHRNG, C's default). */
export function handleRequest(c: OpContext, caller: Caller, raw: Buffer): Reply {
  const h = decodeRequestHeader(raw);
  if (h === null) return -EINVAL;
  const req = body(raw);
  if (!isKnownOp(h.id)) return -ECHRNG;
  if (req === null) return -EINVAL;
  switch (h.id) {
    case IpcOp.GET_FS_VERSION:
      return headerOnly(req, () => c.status.versionText());
    case IpcOp.GET_CLUSTER_INFO:
      return headerOnly(req, () => c.status.memberListText());
    case IpcOp.GET_GUEST_LIST:
      return headerOnly(req, () => c.status.vmListText());
    case IpcOp.SET_STATUS:
      return setStatus(c, caller, req);
    case IpcOp.GET_STATUS:
      return getStatus(c, req);
    case IpcOp.GET_CONFIG:
      return getConfig(c, caller, req);
    case IpcOp.LOG_CLUSTER_MSG:
      return logClusterMessage(c, caller, req);
    case IpcOp.GET_CLUSTER_LOG:
      return getClusterLog(c, req);
    case IpcOp.GET_RRD_DUMP:
      return headerOnly(req, () => c.status.rrdDump());
    case IpcOp.GET_GUEST_CONFIG_PROPERTY:
      return guestProperty(c, req);
    case IpcOp.VERIFY_TOKEN:
      return verifyToken(c, req);
    default:
      return guestProperties(c, req);
  }
}

const KNOWN_OPS = new Set<number>(Object.values(IpcOp));

function isKnownOp(id: number): boolean {
  return KNOWN_OPS.has(id);
}
