/**
 * `pmxcfs-ts metrics [--on|--off]`: the daemon's Prometheus metrics through the
 * control socket; --off/--on switch recording at run time (the bench's comparison).
 */
import { request, takeRunDir } from './control-client.js';

export async function run(args: string[]): Promise<number> {
  const { runDir, rest } = takeRunDir(args);
  const enabled = rest.includes('--off') ? false : rest.includes('--on') ? true : undefined;
  const r = await request(runDir, enabled === undefined ? { cmd: 'metrics' } : { cmd: 'metrics', enabled });
  if (r === null) return 1;
  if (!r.ok || typeof r.data !== 'string') {
    process.stderr.write(`pmxcfs-ts metrics: ${r.ok ? 'unexpected answer' : r.error}\n`);
    return 1;
  }
  process.stdout.write(r.data);
  return 0;
}
