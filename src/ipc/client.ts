/**
 * A libqb client of the `pve2` service (qb_ipcc_*), as Perl's PVE::IPCC uses it: one
 * connection, requests answered in order. Blocking: use it from a CLI or a separate
 * process, never in the process that serves IPC.
 *
 * | here            | C (IPCC.xs)                              |
 * |-----------------|------------------------------------------|
 * | IpcClient.open  | qb_ipcc_connect("pve2", 1 MiB)           |
 * | IpcClient.call  | ipcc_send_rec (qb_ipcc_sendv_recv)       |
 */
import { ENOTCONN, ErrnoError, errnoName } from '../memdb/errno.js';
import { CLIENT_MAX_MESSAGE, decodeResponse, encodeRequest, type Response, SERVICE_NAME } from '../wire/ipc.js';
import { type ClientHandle, ipcAddon } from './native.js';

const EAGAIN = 11;
/** A reply shorter than its header (Linux EPROTO: not in the errno table). */
const EPROTO = 71;
const CONNECT_ATTEMPTS = 10;

/** A failed connect; `errno` is as libqb left it (−1: the server refused us, ipc.md §3). */
export class IpcConnectError extends Error {
  constructor(readonly errno: number) {
    super(errno === -1 ? 'connection refused by the server (error 1)' : `connect failed: ${errnoName(-Math.abs(errno))}`);
  }
}

export class IpcClient {
  private constructor(private handle: ClientHandle | null) {}

  static open(name = SERVICE_NAME, maxMessage = CLIENT_MAX_MESSAGE): IpcClient {
    for (let attempt = 1; ; attempt++) {
      const h = ipcAddon().connect(name, maxMessage);
      if (typeof h !== 'number') return new IpcClient(h);
      // libqb's connect waits for the server's answer with poll() and gives up with
      // EAGAIN when a signal (e.g. SIGCHLD) interrupts it: try again.
      if (h !== EAGAIN || attempt === CONNECT_ATTEMPTS) throw new IpcConnectError(h);
    }
  }

  private get live(): ClientHandle {
    if (this.handle === null) throw new ErrnoError(-ENOTCONN, 'IPC client closed');
    return this.handle;
  }

  /** Send a request built from op id and payload; the decoded reply. Throws on transport errors. */
  call(id: number, payload?: Buffer, timeoutMs = -1): Response {
    return this.exchange(encodeRequest(id, payload), timeoutMs);
  }

  /** Send bytes as they are (the header may lie): the decoded reply. */
  exchange(request: Buffer, timeoutMs = -1): Response {
    const r = ipcAddon().sendRecv(this.live, request, timeoutMs);
    if (typeof r === 'number') throw new ErrnoError(r, 'IPC request failed');
    const res = decodeResponse(r);
    if (res === null) throw new ErrnoError(-EPROTO, 'short IPC response');
    return res;
  }

  /** Queue a request without waiting for its reply: bytes sent or −errno. */
  send(request: Buffer): number {
    return ipcAddon().send(this.live, request);
  }

  /** The next reply, or −errno (e.g. −ETIMEDOUT). */
  receive(timeoutMs: number): Response | number {
    const r = ipcAddon().recv(this.live, timeoutMs);
    return typeof r === 'number' ? r : (decodeResponse(r) ?? -EPROTO);
  }

  close(): void {
    if (this.handle !== null) ipcAddon().disconnect(this.handle);
    this.handle = null;
  }
}
