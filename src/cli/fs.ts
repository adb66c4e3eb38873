/**
 * `pmxcfs-ts fs ls|cat|stat|write|mkdir|rm|rmdir|mv|touch|truncate PATH [...]`:
 * the replicated operations FUSE performs, through the daemon's control socket.
 * Errors print the errno name (ENOENT, EACCES, ...) and exit 1.
 */
import { readFileSync } from 'node:fs';
import type { ControlRequest, FsOp } from '../daemon/control.js';
import { request, takeRunDir } from './control-client.js';

const USAGE = `usage: pmxcfs-ts fs ls PATH | cat PATH | stat PATH | write PATH (data on stdin)
       pmxcfs-ts fs mkdir PATH | rm PATH | rmdir PATH | mv FROM TO
       pmxcfs-ts fs touch PATH [MTIME] | truncate PATH LENGTH
       pmxcfs-ts fs batch   (JSON lines on stdin: {"op","path","to","data","mtime","length"};
                             prints one JSON result line per operation)
       (all take --run-dir DIR; default /run/pve-cluster)
`;

/** Run many operations from JSON lines; for scripted tests and bulk changes. */
async function batch(runDir: string): Promise<number> {
  const lines = readFileSync(0, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  let failures = 0;
  for (const line of lines) {
    const op = JSON.parse(line) as { op: FsOp; path: string; to?: string; data?: string; mtime?: number; length?: number; offset?: number };
    const req: ControlRequest = { cmd: 'fs', ...op, ...(op.data !== undefined ? { data: Buffer.from(op.data, 'utf8').toString('base64') } : {}) };
    const r = await request(runDir, req);
    if (r === null) return 1;
    if (!r.ok) failures++;
    const data = op.op === 'cat' && r.ok ? Buffer.from(String(r.data), 'base64').toString('utf8') : r.ok ? r.data : undefined;
    process.stdout.write(JSON.stringify({ op: op.op, path: op.path, ok: r.ok, ...(r.ok ? { result: r.result, data } : { error: r.error }) }) + '\n');
  }
  process.stderr.write(`${lines.length - failures} ok, ${failures} failed\n`);
  return 0;
}

const ops = new Set<FsOp>(['ls', 'cat', 'stat', 'write', 'mkdir', 'rm', 'rmdir', 'mv', 'touch', 'truncate', 'create']);

export async function run(args: string[]): Promise<number> {
  const { runDir, rest } = takeRunDir(args);
  const [op, path, arg] = rest;
  if (op === 'batch') return batch(runDir);
  if (op === undefined || path === undefined || !ops.has(op as FsOp)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const req: { cmd: 'fs'; op: FsOp; path: string; to?: string; data?: string; mtime?: number; length?: number } = { cmd: 'fs', op: op as FsOp, path };
  if (op === 'mv') {
    if (arg === undefined) {
      process.stderr.write(USAGE);
      return 2;
    }
    req.to = arg;
  }
  if (op === 'write') req.data = readFileSync(0).toString('base64');
  if (op === 'touch' && arg !== undefined) req.mtime = Number(arg);
  if (op === 'truncate') req.length = Number(arg ?? 0);
  const r = await request(runDir, req);
  if (r === null) return 1;
  if (!r.ok) {
    process.stderr.write(`pmxcfs-ts fs ${op} ${path}: ${r.error}\n`);
    return 1;
  }
  if (op === 'cat') process.stdout.write(Buffer.from(String(r.data), 'base64'));
  else if (op === 'ls') {
    for (const e of r.data as { name: string; type: string; size: number; mtime: number }[]) {
      process.stdout.write(`${e.type === 'dir' ? 'd' : '-'} ${String(e.size).padStart(8)} ${new Date(e.mtime * 1000).toISOString()} ${e.name}\n`);
    }
  } else if (op === 'stat') process.stdout.write(JSON.stringify(r.data) + '\n');
  return 0;
}
