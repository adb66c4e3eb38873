/**
 * Loading the N-API addons built by node-gyp into build/Release/ at `npm install`
 * (corosync.node, fuse.node, posix.node). Each is loaded lazily on first use, so
 * commands that do not need one never load it. PMXCFS_NATIVE_DIR overrides the folder.
 */
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyRequire } from './lazy.js';

/**
 * The repository root: the folder holding dist/, where this module is compiled to
 * (dist/src/util/addon.js) or bundled into (dist/bundle/, scripts/bundle.mjs).
 */
export function packageRoot(): string {
  const file = fileURLToPath(import.meta.url);
  const dist = file.lastIndexOf(`${sep}dist${sep}`);
  if (dist < 0) throw new Error(`${file} is not inside a dist folder`);
  return file.slice(0, dist + 1);
}

export function nativeDir(): string {
  return process.env['PMXCFS_NATIVE_DIR'] ?? join(packageRoot(), 'build', 'Release');
}

/** A lazy, memoised loader for build/Release/NAME.node typed as T. */
export function addonLoader<T>(name: string): () => T {
  return lazyRequire<T>(() => join(nativeDir(), `${name}.node`));
}
