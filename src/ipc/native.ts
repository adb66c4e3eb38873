/** The libqb IPC addon (native/ipc.cc), loaded on first use. */
import { addonLoader } from '../util/addon.js';

/** A client connection handle (opaque; closed by disconnect or garbage collection). */
export type ClientHandle = { readonly __brand: 'ipc-client' };

export interface ServerHandlers {
  /** 0 accepts; any other value is put into the connection response (C rejects with 1). */
  accept(uid: number, gid: number, pid: number): number;
  /** The reply payload, or a negative errno. Must not throw. */
  request(uid: number, gid: number, pid: number, req: Buffer): Buffer | number;
  /** The reply could not be sent (the client's reply ring is full); the connection is closed. */
  failed(pid: number, error: number): void;
  /** An accepted connection is gone (any reason). */
  closed(pid: number): void;
}

export interface IpcAddon {
  /** qb_ipcs_create(name, id, QB_IPC_SHM) + qb_ipcs_run on the main loop: 0 or −errno. */
  serverStart(name: string, serviceId: number, handlers: ServerHandlers): number;
  /** qb_ipcs_destroy: every client disconnected, shm files removed. false if none ran. */
  serverStop(): boolean;
  /** Open poll handles, and libqb's connection counters while a server runs. */
  serverStats(): { polls: number; active?: number; closed?: number };
  /** qb_ipcc_connect: a handle, or the errno libqb left (−1 when the server rejected us). */
  connect(name: string, maxMessageSize: number): ClientHandle | number;
  disconnect(c: ClientHandle): void;
  /** qb_ipcc_sendv_recv: the whole response (header included) or −errno. Blocks. */
  sendRecv(c: ClientHandle, req: Buffer, timeoutMs: number): Buffer | number;
  /** qb_ipcc_send: bytes queued or −errno. */
  send(c: ClientHandle, req: Buffer): number;
  /** qb_ipcc_recv: a response or −errno. Blocks up to timeoutMs (−1: forever). */
  recv(c: ClientHandle, timeoutMs: number): Buffer | number;
}

export const ipcAddon = addonLoader<IpcAddon>('ipc');
