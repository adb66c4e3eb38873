/**
 * Why a FUSE unit suite cannot run here (or false): root, the given tools, the built
 * addon and an accessible /dev/fuse.
 */
import { accessSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './golden.js';

export function fuseSkipReason(tools: readonly string[]): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const t of tools) if (!existsSync(t)) return `no ${t}`;
  if (!existsSync(join(repoRoot, 'build', 'Release', 'fuse.node'))) return 'native fuse addon not built';
  try {
    accessSync('/dev/fuse');
  } catch {
    return '/dev/fuse not accessible';
  }
  return false;
}
