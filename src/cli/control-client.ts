/**
 * Shared parts of the control-socket commands (`status`, `fs`, `verify`): the
 * --run-dir option and error reporting with errno names.
 */
import { controlRequest, type ControlRequest, type ControlResponse, controlSocketPath } from '../daemon/control.js';
import { DEFAULTS } from '../daemon/options.js';

export function takeRunDir(args: string[]): { runDir: string; rest: string[] } {
  const rest: string[] = [];
  let runDir = process.env['PMXCFS_RUN_DIR'] ?? DEFAULTS.runDir;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--run-dir' && args[i + 1] !== undefined) runDir = args[++i]!;
    else if (a.startsWith('--run-dir=')) runDir = a.slice('--run-dir='.length);
    else rest.push(a);
  }
  return { runDir, rest };
}

export async function request(runDir: string, req: ControlRequest): Promise<ControlResponse | null> {
  try {
    return await controlRequest(controlSocketPath(runDir), req);
  } catch (err) {
    process.stderr.write(`pmxcfs-ts: cannot reach the daemon at ${controlSocketPath(runDir)}: ${(err as Error).message}\n`);
    return null;
  }
}
