/**
 * The control socket: a root-only Unix socket under the run directory. One JSON
 * request per connection, one JSON response. It serves `pmxcfs-ts status`,
 * `verify`, `metrics` and the `fs` commands (the same operations FUSE performs).
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { errnoName } from '../memdb/errno.js';
import { DT_DIR } from '../wire/entry.js';
import { nameFromText, nameToText } from '../wire/entry.js';
import type { Log } from '../util/log.js';
import type { FsOps } from '../fsops/fsops.js';
import { toJson } from '../util/json.js';
import type { U64 } from '../wire/u64.js';

export const CONTROL_SOCKET = 'pmxcfs-ts.sock';
/** Requests larger than a maximal file write plus framing are refused. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export type FsOp = 'ls' | 'cat' | 'stat' | 'write' | 'create' | 'truncate' | 'mkdir' | 'rm' | 'rmdir' | 'mv' | 'touch';

export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'verify' }
  | { readonly cmd: 'metrics'; readonly enabled?: boolean }
  | { readonly cmd: 'fs'; readonly op: FsOp; readonly path: string; readonly to?: string; readonly data?: string; readonly offset?: number; readonly mtime?: number; readonly length?: number };

export type ControlResponse =
  | { readonly ok: true; readonly result?: number; readonly data?: unknown }
  | { readonly ok: false; readonly errno?: number; readonly error: string };

export function controlSocketPath(runDir: string): string {
  return join(runDir, CONTROL_SOCKET);
}

export interface ControlHandlers {
  readonly fs: FsOps;
  status(): unknown;
  verify(): { started: boolean; reason?: string };
  /** The Prometheus exposition text (src/metrics); `enabled` switches recording first. */
  metrics(enabled?: boolean): Promise<string>;
}

function entryJson(e: { inode: U64; type: number; size: number; mtime: number; version: U64; writer: number; name: string }) {
  return { name: nameToText(e.name), inode: e.inode, type: e.type === DT_DIR ? 'dir' : 'file', size: e.size, mtime: e.mtime, version: e.version, writer: e.writer };
}

function fail(result: number): ControlResponse {
  return { ok: false, errno: result, error: errnoName(result) };
}

async function handleFs(fs: FsOps, r: Extract<ControlRequest, { cmd: 'fs' }>): Promise<ControlResponse> {
  const path = nameFromText(r.path);
  const done = (result: number): ControlResponse => (result < 0 ? fail(result) : { ok: true, result });
  switch (r.op) {
    case 'ls': {
      const list = fs.readdir(path);
      if (typeof list === 'number') return fail(list);
      return { ok: true, data: list.map(entryJson) };
    }
    case 'stat': {
      const e = fs.getattr(path);
      return e === null ? fail(-2) : { ok: true, data: entryJson(e) };
    }
    case 'cat': {
      const data = fs.read(path);
      return typeof data === 'number' ? fail(data) : { ok: true, data: data.toString('base64') };
    }
    case 'write': {
      // Like `cat > file`: create if missing, truncate, write.
      const data = Buffer.from(r.data ?? '', 'base64');
      const e = fs.getattr(path);
      if (e === null) {
        const c = await fs.create(path);
        if (c < 0) return fail(c);
      } else if (e.size > 0 && r.offset === undefined) {
        const t = await fs.truncate(path, 0);
        if (t < 0) return fail(t);
      }
      return done(await fs.write(path, data, r.offset ?? 0));
    }
    case 'create':
      return done(await fs.create(path));
    case 'truncate':
      return done(await fs.truncate(path, r.length ?? 0));
    case 'mkdir':
      return done(await fs.mkdir(path));
    case 'rm': {
      const e = fs.getattr(path);
      if (e !== null && e.type === DT_DIR) return fail(-21); // EISDIR, as unlink(2)
      return done(await fs.remove(path));
    }
    case 'rmdir': {
      const e = fs.getattr(path);
      if (e !== null && e.type !== DT_DIR) return fail(-20); // ENOTDIR, as rmdir(2)
      return done(await fs.remove(path));
    }
    case 'mv':
      if (r.to === undefined) return { ok: false, error: 'mv needs a target' };
      return done(await fs.rename(path, nameFromText(r.to)));
    case 'touch': {
      if (fs.getattr(path) === null) {
        const c = await fs.create(path);
        if (c < 0) return fail(c);
      }
      return done(await fs.utimens(path, r.mtime ?? Math.floor(Date.now() / 1000)));
    }
  }
}

export function startControlServer(socketPath: string, handlers: ControlHandlers, log: Log): Promise<Server> {
  try {
    unlinkSync(socketPath);
  } catch {
    // no stale socket
  }
  const server = createServer((conn) => {
    const chunks: Buffer[] = [];
    let size = 0;
    conn.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        conn.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
        conn.destroy();
        return;
      }
      chunks.push(chunk);
      if (!chunk.includes(0x0a)) return;
      const line = Buffer.concat(chunks).toString('utf8').split('\n')[0]!;
      let request: ControlRequest;
      try {
        request = JSON.parse(line) as ControlRequest;
      } catch {
        conn.end(JSON.stringify({ ok: false, error: 'malformed request' }) + '\n');
        return;
      }
      dispatch(request).then(
        (response) => conn.end(toJson(response) + '\n'),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'control request failed');
          conn.end(JSON.stringify({ ok: false, error: (err as Error).message }) + '\n');
        },
      );
    });
    conn.on('error', () => conn.destroy());
  });
  const dispatch = async (r: ControlRequest): Promise<ControlResponse> => {
    switch (r.cmd) {
      case 'status':
        return { ok: true, data: handlers.status() };
      case 'verify': {
        const v = handlers.verify();
        return v.started ? { ok: true } : { ok: false, error: v.reason ?? 'verify not started' };
      }
      case 'fs':
        return handleFs(handlers.fs, r);
      case 'metrics':
        return { ok: true, data: await handlers.metrics(r.enabled) };
      default:
        return { ok: false, error: 'unknown command' };
    }
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}

/** Client side: send one request, get one response. */
export function controlRequest(socketPath: string, request: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlResponse);
      } catch (err) {
        reject(err as Error);
      }
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
