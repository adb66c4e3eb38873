/**
 * `pmxcfs-ts ipc <op> [args]`: one request to the `pve2` IPC service of whatever
 * pmxcfs runs on this node (C or TS), through libqb's client library, as Proxmox's
 * Perl tools send it (Cluster.pm). Prints the answer: pretty JSON for JSON answers,
 * the bytes otherwise; `--raw` prints the bytes as received, `--wire` a JSON line with
 * the reply header and the payload in base64 (for tests and differential checks).
 */
import { IpcClient, IpcConnectError } from '../ipc/client.js';
import { ErrnoError, errnoName } from '../memdb/errno.js';
import {
  encodeRequest,
  IpcOp,
  packGetClusterLog,
  packGetStatus,
  packGuestProperties,
  packGuestProperty,
  packLogMessage,
  packSetStatus,
  packVerifyToken,
  cString,
  type Response,
} from '../wire/ipc.js';

interface OpSpec {
  readonly usage: string;
  readonly json: boolean;
  /** The request bytes from the arguments, or null for a usage error. */
  build(args: string[]): Buffer | null;
}

const noArgs = (id: number) => (args: string[]) => (args.length === 0 ? encodeRequest(id) : null);
const num = (s: string | undefined): number | null => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);

const OPS: Record<string, OpSpec> = {
  'get-fs-version': { usage: '', json: true, build: noArgs(IpcOp.GET_FS_VERSION) },
  'get-cluster-info': { usage: '', json: true, build: noArgs(IpcOp.GET_CLUSTER_INFO) },
  'get-guest-list': { usage: '', json: true, build: noArgs(IpcOp.GET_GUEST_LIST) },
  'get-rrd-dump': { usage: '', json: false, build: noArgs(IpcOp.GET_RRD_DUMP) },
  'set-status': {
    usage: 'NAME [VALUE]   (no VALUE: delete)',
    json: false,
    build: ([name, value, ...rest]) => (name === undefined || rest.length > 0 ? null : encodeRequest(IpcOp.SET_STATUS, packSetStatus(name, value))),
  },
  'get-status': {
    usage: 'NAME [NODE]',
    json: false,
    build: ([name, node, ...rest]) => (name === undefined || rest.length > 0 ? null : encodeRequest(IpcOp.GET_STATUS, packGetStatus(name, node))),
  },
  'get-config': { usage: 'PATH', json: false, build: ([p, ...rest]) => (p === undefined || rest.length > 0 ? null : encodeRequest(IpcOp.GET_CONFIG, cString(p))) },
  'log-cluster-msg': {
    usage: 'PRIORITY IDENT TAG MESSAGE',
    json: false,
    build: ([pri, ident, tag, msg, ...rest]) =>
      num(pri) === null || ident === undefined || tag === undefined || msg === undefined || rest.length > 0
        ? null
        : encodeRequest(IpcOp.LOG_CLUSTER_MSG, packLogMessage(num(pri)!, ident, tag, msg)),
  },
  'get-cluster-log': {
    usage: '[MAX [USER]]',
    json: true,
    build: ([max, user, ...rest]) => (rest.length > 0 || (max !== undefined && num(max) === null) ? null : encodeRequest(IpcOp.GET_CLUSTER_LOG, packGetClusterLog(num(max) ?? 0, user))),
  },
  'get-guest-config-property': {
    usage: 'VMID PROPERTY   (VMID 0: all guests)',
    json: true,
    build: ([vmid, prop, ...rest]) => (num(vmid) === null || prop === undefined || rest.length > 0 ? null : encodeRequest(IpcOp.GET_GUEST_CONFIG_PROPERTY, packGuestProperty(num(vmid)!, prop))),
  },
  'get-guest-config-properties': {
    usage: 'VMID PROPERTY...',
    json: true,
    build: ([vmid, ...props]) => (num(vmid) === null || props.length === 0 || props.length > 255 ? null : encodeRequest(IpcOp.GET_GUEST_CONFIG_PROPERTIES, packGuestProperties(num(vmid)!, props))),
  },
  'verify-token': {
    usage: 'TOKENID SECRET   (exit 0: valid, 1: ENOENT)',
    json: false,
    build: ([id, secret, ...rest]) => (id === undefined || secret === undefined || rest.length > 0 ? null : encodeRequest(IpcOp.VERIFY_TOKEN, packVerifyToken(id, secret))),
  },
  raw: {
    usage: 'ID [HEX-PAYLOAD] [--size N]   (any request; --size sets the header size field)',
    json: false,
    build: ([id, hex, ...rest]) => (/^-?\d+$/.test(id ?? '') && rest.length === 0 && /^([0-9a-fA-F]{2})*$/.test(hex ?? '') ? encodeRequest(Number(id), Buffer.from(hex ?? '', 'hex')) : null),
  },
};

function usage(): string {
  const lines = ['usage: pmxcfs-ts ipc [--raw | --wire] [--timeout MS] <op> [args]', '', 'ops:'];
  for (const [name, o] of Object.entries(OPS)) lines.push(`  ${name} ${o.usage}`);
  lines.push('  batch   (stdin: JSON lines {"op": NAME, "args": [...]} or {"hex": REQUEST}; one --wire line each, one connection)');
  return lines.join('\n') + '\n';
}

function wireLine(res: Response): string {
  return JSON.stringify({ id: res.id, error: res.error, errno: errnoName(res.error), size: res.payload.length, payload: res.payload.toString('base64') }) + '\n';
}

function output(res: Response, spec: OpSpec, mode: 'pretty' | 'raw' | 'wire'): void {
  if (mode === 'wire') {
    process.stdout.write(wireLine(res));
    return;
  }
  if (res.error < 0) return;
  if (mode === 'pretty' && spec.json) {
    try {
      process.stdout.write(JSON.stringify(JSON.parse(res.payload.toString('utf8')), null, 2) + '\n');
      return;
    } catch {
      // not JSON after all: print the bytes
    }
  }
  process.stdout.write(res.payload);
}

interface Flags {
  mode: 'pretty' | 'raw' | 'wire';
  timeout: number;
  size: number | null;
  rest: string[];
}

function parseFlags(args: string[]): Flags | null {
  const f: Flags = { mode: 'pretty', timeout: -1, size: null, rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--raw' || a === '--wire') f.mode = a === '--raw' ? 'raw' : 'wire';
    else if (a === '--timeout' || a === '--size') {
      const v = args[++i];
      if (v === undefined || !/^-?\d+$/.test(v)) return null;
      if (a === '--timeout') f.timeout = Number(v);
      else f.size = Number(v);
    } else f.rest.push(a);
  }
  return f;
}

/** One request line of `batch`: an op with arguments, or the whole request in hex. */
function batchRequest(line: string): Buffer | null {
  const j = JSON.parse(line) as { op?: string; args?: string[]; hex?: string };
  if (typeof j.hex === 'string') return Buffer.from(j.hex, 'hex');
  const spec = j.op === undefined ? undefined : OPS[j.op];
  return spec?.build(j.args ?? []) ?? null;
}

async function batch(timeout: number): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  let client = IpcClient.open();
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.trim() !== '')) {
    const req = batchRequest(line);
    if (req === null) {
      process.stdout.write(JSON.stringify({ usage: line }) + '\n');
      continue;
    }
    try {
      process.stdout.write(wireLine(client.exchange(req, timeout)));
    } catch (err) {
      // The server dropped us (e.g. a reply larger than our buffer): report, reconnect.
      process.stdout.write(JSON.stringify({ transport: err instanceof ErrnoError ? err.code : (err as Error).message }) + '\n');
      client.close();
      client = IpcClient.open();
    }
  }
  client.close();
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const f = parseFlags(args);
  if (f !== null && f.rest[0] === 'batch' && f.rest.length === 1) return batch(f.timeout).catch((err: Error) => (process.stderr.write(`pmxcfs-ts ipc: ${err.message}\n`), 2));
  const [op, ...opArgs] = f?.rest ?? [];
  const spec = op === undefined ? undefined : OPS[op];
  const req = spec?.build(opArgs) ?? null;
  if (f === null || spec === undefined || req === null) {
    process.stderr.write(usage());
    return 64;
  }
  if (f.size !== null) req.writeInt32LE(f.size, 8);
  let client: IpcClient;
  try {
    client = IpcClient.open();
  } catch (err) {
    process.stderr.write(`pmxcfs-ts ipc: ${(err as Error).message}\n`);
    return err instanceof IpcConnectError ? 2 : 70;
  }
  try {
    const res = client.exchange(req, f.timeout);
    output(res, spec, f.mode);
    if (res.error < 0 && f.mode !== 'wire') process.stderr.write(`pmxcfs-ts ipc: ${op}: ${errnoName(res.error)} (${res.error})\n`);
    return res.error < 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`pmxcfs-ts ipc: ${op}: ${(err as Error).message}\n`);
    return err instanceof ErrnoError ? 3 : 70;
  } finally {
    client.close();
  }
}
