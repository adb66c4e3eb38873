/** `pmxcfs-ts verify`: start a verify round now (only the lowest node id may). */
import { request, takeRunDir } from './control-client.js';

export async function run(args: string[]): Promise<number> {
  const { runDir } = takeRunDir(args);
  const r = await request(runDir, { cmd: 'verify' });
  if (r === null) return 1;
  if (!r.ok) {
    process.stderr.write(`pmxcfs-ts verify: ${r.error}\n`);
    return 1;
  }
  process.stdout.write('verify request sent; the result appears in `pmxcfs-ts status`\n');
  return 0;
}
