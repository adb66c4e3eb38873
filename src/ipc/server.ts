/**
 * The `pve2` IPC server (ipc.md §1–§3): libqb's own SHM transport through the addon,
 * on the main loop; access rules; requests answered by ops.ts.
 *
 * | here            | C (server.c)                                   |
 * |-----------------|------------------------------------------------|
 * | accessOf        | s1_connection_accept_fn                        |
 * | IpcServer.start | server_start (qb_ipcs_create "pve2", id 1, SHM) |
 * | IpcServer.stop  | server_stop (qb_ipcs_destroy)                  |
 * | onFailed        | s1_msg_process_fn: "qb_ipcs_response_send" + disconnect |
 */
import { ErrnoError, EIO, errnoName } from '../memdb/errno.js';
import { SERVICE_NAME } from '../wire/ipc.js';
import { metrics } from '../metrics/metrics.js';
import type { Log } from '../util/log.js';
import { handleRequest, type OpContext } from './ops.js';
import { ipcAddon } from './native.js';

const SERVICE_ID = 1;
/** What C's accept callback returns for a refused client (libqb reports it as errno −1). */
const REJECT_CODE = 1;

export type Access = 'read-write' | 'read-only' | 'refused';

/**
 * root:root read-write; primary gid www-data read-only (even uid 0); everyone else
 * refused. Supplementary groups do not count (the kernel's peer credentials carry
 * only the primary gid).
 */
export function accessOf(uid: number, gid: number, wwwGid: number): Access {
  if (uid === 0 && gid === 0) return 'read-write';
  if (gid === wwwGid) return 'read-only';
  return 'refused';
}

export interface IpcServerOptions extends OpContext {
  readonly wwwGid: number;
  readonly log: Log;
  /** Abstract socket name; `pve2` unless a test needs another. */
  readonly name?: string;
}

export class IpcServer {
  private stopped = false;

  private constructor(private readonly o: IpcServerOptions) {}

  /** Listen on the abstract socket; throws ErrnoError when libqb cannot. */
  static start(o: IpcServerOptions): IpcServer {
    const s = new IpcServer(o);
    const r = ipcAddon().serverStart(o.name ?? SERVICE_NAME, SERVICE_ID, {
      accept: (uid, gid, pid) => s.accept(uid, gid, pid),
      request: (uid, gid, pid, req) => s.request(uid, gid, pid, req),
      failed: (pid, error) => o.log.error({ pid, error: errnoName(error) }, `qb_ipcs_response_send: ${errnoName(error)}`),
      closed: () => metrics.ipcClients(-1),
    });
    if (r < 0) throw new ErrnoError(r, `qb_ipcs_create ${o.name ?? SERVICE_NAME} failed`);
    o.log.info({ service: o.name ?? SERVICE_NAME }, 'IPC server started');
    return s;
  }

  private accept(uid: number, gid: number, pid: number): number {
    if (accessOf(uid, gid, this.o.wwwGid) !== 'refused') {
      this.o.log.debug({ uid, gid, pid }, `authenticated connection ${uid}/${gid}`);
      metrics.ipcClients(1);
      return 0;
    }
    this.o.log.error({ uid, gid, pid }, `connection from bad user ${uid}! - rejected`);
    return REJECT_CODE;
  }

  private request(uid: number, gid: number, pid: number, req: Buffer): Buffer | number {
    const t0 = performance.now();
    const reply = this.answer(uid, gid, pid, req);
    // The op is the header's id (the native layer always hands over at least the header).
    metrics.ipcRequest(req.readInt32LE(0), typeof reply === 'number' ? reply : 0, (performance.now() - t0) / 1000);
    return reply;
  }

  private answer(uid: number, gid: number, pid: number, req: Buffer): Buffer | number {
    const caller = { readOnly: accessOf(uid, gid, this.o.wwwGid) === 'read-only', pid };
    try {
      return handleRequest(this.o, caller, req);
    } catch (err) {
      if (err instanceof ErrnoError) return err.errno;
      this.o.log.error({ err: (err as Error).stack, pid }, 'IPC request failed');
      return -EIO;
    }
  }

  /** Disconnect every client and withdraw the socket (first step of shutdown, as C). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    ipcAddon().serverStop();
    this.o.log.info({}, 'IPC server stopped');
  }
}
