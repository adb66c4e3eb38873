/** `pmxcfs-ts metrics`: the daemon's Prometheus metrics through the control socket. */
import { request, takeRunDir } from './control-client.js';

export async function run(args: string[]): Promise<number> {
  const { runDir } = takeRunDir(args);
  const r = await request(runDir, { cmd: 'metrics' });
  if (r === null) return 1;
  if (!r.ok || typeof r.data !== 'string') {
    process.stderr.write(`pmxcfs-ts metrics: ${r.ok ? 'unexpected answer' : r.error}\n`);
    return 1;
  }
  process.stdout.write(r.data);
  return 0;
}
