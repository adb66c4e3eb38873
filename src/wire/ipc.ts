/**
 * pmxcfs IPC framing over libqb (service `pve2`): operation ids, the 16-byte request
 * and 24-byte response headers, and the request payloads the Perl client builds.
 * Pure encode/decode over Buffer; little-endian (host order on Proxmox).
 *
 * | here                    | C                                                  |
 * |-------------------------|----------------------------------------------------|
 * | IpcOp                   | cfs-ipc-ops.h                                      |
 * | REQUEST_HEADER_SIZE     | libqb struct qb_ipc_request_header (8-aligned)     |
 * | RESPONSE_HEADER_SIZE    | libqb struct qb_ipc_response_header                |
 * | encodeRequest           | IPCC.xs: ipcc_send_rec                             |
 * | decodeResponse          | IPCC.xs: ipcc_send_rec (error / payload split)     |
 * | pack*                   | Cluster.pm: the `pack` of each wrapper             |
 */

/** The libqb service (abstract socket name) every Proxmox tool connects to. */
export const SERVICE_NAME = 'pve2';

export const IpcOp = {
  GET_FS_VERSION: 1,
  GET_CLUSTER_INFO: 2,
  GET_GUEST_LIST: 3,
  SET_STATUS: 4,
  GET_STATUS: 5,
  GET_CONFIG: 6,
  LOG_CLUSTER_MSG: 7,
  GET_CLUSTER_LOG: 8,
  GET_RRD_DUMP: 10,
  GET_GUEST_CONFIG_PROPERTY: 11,
  VERIFY_TOKEN: 12,
  GET_GUEST_CONFIG_PROPERTIES: 13,
} as const;
export type IpcOpName = keyof typeof IpcOp;

export const REQUEST_HEADER_SIZE = 16;
export const RESPONSE_HEADER_SIZE = 24;
/** The `Z[256]` name fields of SET_STATUS / GET_STATUS (server.c request structs). */
export const STATUS_NAME_SIZE = 256;
/** offsetof(cfs_log_msg_request_header_t, data). */
export const LOG_MSG_DATA_OFFSET = 19;
/** sizeof(cfs_log_get_request_header_t). */
export const LOG_GET_HEADER_SIZE = 32;
/** offsetof(cfs_guest_config_propery_get_request_header_t, property). */
export const PROPERTY_OFFSET = 20;
/** offsetof(cfs_guest_config_properties_get_request_header_t, props). */
export const PROPERTIES_OFFSET = 21;
/** num_props is a uint8_t. */
export const MAX_PROPERTIES = 255;
/** The maximum message size the Perl client negotiates (IPCC.xs: 8192 * 128). */
export const CLIENT_MAX_MESSAGE = 8192 * 128;

export interface RequestHeader {
  readonly id: number;
  /** The header's size field: the total length the client claims, header included. */
  readonly size: number;
}

/** The header of a request, or null when fewer than 16 bytes arrived. */
export function decodeRequestHeader(req: Buffer): RequestHeader | null {
  if (req.length < REQUEST_HEADER_SIZE) return null;
  return { id: req.readInt32LE(0), size: req.readInt32LE(8) };
}

/** Header (id, size = 16 + payload) followed by the payload, as ipcc_send_rec sends it. */
export function encodeRequest(id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(REQUEST_HEADER_SIZE + payload.length);
  b.writeInt32LE(id, 0);
  b.writeInt32LE(b.length, 8);
  payload.copy(b, REQUEST_HEADER_SIZE);
  return b;
}

export interface Response {
  readonly id: number;
  /** 0, or a negative errno. */
  readonly error: number;
  readonly payload: Buffer;
}

/** A reply as the client received it; null when shorter than its header. */
export function decodeResponse(b: Buffer): Response | null {
  if (b.length < RESPONSE_HEADER_SIZE) return null;
  return { id: b.readInt32LE(0), error: b.readInt32LE(16), payload: b.subarray(RESPONSE_HEADER_SIZE, Math.max(RESPONSE_HEADER_SIZE, Math.min(b.length, b.readInt32LE(8)))) };
}

/** Perl `Z*`: the bytes and one NUL. */
export function cString(s: string | Buffer): Buffer {
  return Buffer.concat([Buffer.isBuffer(s) ? s : Buffer.from(s), Buffer.alloc(1)]);
}

/** Perl `Z[n]`: at most n − 1 bytes, NUL padded to n. */
function fixedString(s: string, n: number): Buffer {
  const b = Buffer.alloc(n);
  Buffer.from(s).copy(b, 0, 0, n - 1);
  return b;
}

/** The bytes of a NUL-terminated field: up to the first NUL (or the end). */
export function cStringBytes(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** broadcast_node_kv / broadcast_rrd: `pack "Z[256]Z*"`; undefined value deletes (`Z[256]` only). */
export function packSetStatus(name: string, value?: string | Buffer): Buffer {
  return value === undefined ? fixedString(name, STATUS_NAME_SIZE) : Buffer.concat([fixedString(name, STATUS_NAME_SIZE), cString(value)]);
}

/** get_node_kv: `pack "Z[256]Z[256]"`. */
export function packGetStatus(name: string, nodename = ''): Buffer {
  return Buffer.concat([fixedString(name, STATUS_NAME_SIZE), fixedString(nodename, STATUS_NAME_SIZE)]);
}

/** log_msg: `pack "CCCZ*Z*Z*"` with the ident and tag lengths counting their NUL. */
export function packLogMessage(priority: number, ident: string, tag: string, message: string): Buffer {
  const i = Buffer.from(ident);
  const t = Buffer.from(tag);
  return Buffer.concat([Buffer.from([priority & 0xff, (i.length + 1) & 0xff, (t.length + 1) & 0xff]), cString(i), cString(t), cString(message)]);
}

/** get_cluster_log: `pack "VVVVZ*"`. */
export function packGetClusterLog(maxEntries: number, user = ''): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(maxEntries >>> 0, 0);
  return Buffer.concat([b, cString(user)]);
}

function vmidBytes(vmid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(vmid >>> 0, 0);
  return b;
}

/** get_guest_config_property: `pack "VZ*"`. */
export function packGuestProperty(vmid: number, property: string): Buffer {
  return Buffer.concat([vmidBytes(vmid), cString(property)]);
}

/** get_guest_config_properties: `pack "VC"` + `Z*` per property. */
export function packGuestProperties(vmid: number, properties: readonly string[]): Buffer {
  return Buffer.concat([vmidBytes(vmid), Buffer.from([properties.length & 0xff]), ...properties.map((p) => cString(p))]);
}

/** verify_token: `pack "Z*"` of "<tokenid> <secret>". */
export function packVerifyToken(tokenid: string, secret: string): Buffer {
  return cString(`${tokenid} ${secret}`);
}
