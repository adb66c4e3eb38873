/**
 * What the IPC server (src/ipc) and the FUSE function files read from the status
 * module (C: status.c + logger.c). One implementation (src/status) serves both, so
 * `.members` and GET_CLUSTER_INFO (and the others) are the same bytes by construction.
 *
 * | method            | C                                                   |
 * |-------------------|-----------------------------------------------------|
 * | versionText       | cfs_create_version_msg                              |
 * | memberListText    | cfs_create_memberlist_msg                           |
 * | vmListText        | cfs_create_vmlist_msg                               |
 * | setStatus         | cfs_status_set                                      |
 * | getStatus         | cfs_create_status_msg                               |
 * | logClusterMessage | clog_pack + cfs_cluster_log                         |
 * | clusterLogJson    | cfs_cluster_log_dump (clog_dump_json)               |
 * | rrdDump           | cfs_rrd_dump                                        |
 *
 * Errors are negative errno numbers, as the IPC reply's `error` field carries them.
 */
export interface ClusterLogRequest {
  /** syslog priority; > 7 creates no entry (C). */
  readonly priority: number;
  /** C strings: the bytes up to (not including) the first NUL. */
  readonly ident: Buffer;
  readonly tag: Buffer;
  readonly message: Buffer;
  /** The client's pid (IPC) or this process's pid. */
  readonly pid: number;
}

export interface StatusBackend {
  /** `.version` bytes, no trailing NUL. */
  versionText(): Buffer;
  /** `.members` bytes, no trailing NUL. */
  memberListText(): Buffer;
  /** `.vmlist` bytes, no trailing NUL. */
  vmListText(): Buffer;
  /** 0, or −EFBIG / −ENOMEM / ... exactly as cfs_status_set; broadcasts in cluster mode. */
  setStatus(name: Buffer, value: Buffer): number;
  /** The stored value bytes, or −ENOENT. `nodeName` empty or the local name = local table. */
  getStatus(name: Buffer, nodeName: Buffer): Buffer | number;
  logClusterMessage(req: ClusterLogRequest): void;
  /** clog_dump_json: newest first, at most maxEntries (0 → 50 is the caller's rule), ident filter (empty = none). */
  clusterLogJson(maxEntries: number, user: Buffer): Buffer;
  /** cfs_rrd_dump bytes as C replies them (trailing NUL when rebuilt, none from the 2 s cache). */
  rrdDump(): Buffer;
}
