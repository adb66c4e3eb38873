/**
 * The daemon's bundle (scripts/bundle.mjs): one CommonJS file, compiled through V8's
 * code cache. Node 20 has no compile cache for modules (Node 22 has
 * module.enableCompileCache); a vm.Script takes V8's cached data, which spares parsing
 * and compiling the ~430 KB of the daemon at every start. Measured on the bench host,
 * from loadDaemon's call to the daemon's module (5 runs each): as an ES module 41–53
 * ms, as CommonJS from the cache 33–37 ms. V8 refuses a cache of another V8 version,
 * other flags or another source (cachedDataRejected) and then compiles as without one.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The cache file beside the bundle. */
function bundleCacheFile(bundle: string): string {
  return `${bundle}.cache`;
}

function compile(bundle: string, cachedData: Buffer | undefined): Script {
  return new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
}

/** Runs the compiled module as Node runs a CommonJS file: its exports. */
function run(script: Script, bundle: string): unknown {
  const module = { exports: {} as unknown };
  const body = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: { exports: unknown }, filename: string, dirname: string) => void;
  body.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return module.exports;
}

/** The bundle's exports, compiled from its cache when there is one V8 takes. */
export function loadBundle(bundle: string): { exports: unknown; cache: 'used' | 'rejected' | 'none' } {
  const cacheFile = bundleCacheFile(bundle);
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  const script = compile(bundle, cachedData);
  const exports = run(script, bundle);
  return { exports, cache: cachedData === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'used' };
}

/**
 * Build time (scripts/bundle.mjs, with no V8 flag, as the daemon loads it: V8's check
 * includes the flags): run the bundle's top level once and keep what V8 compiled for it.
 */
export function writeBundleCache(bundle: string): void {
  const script = compile(bundle, undefined);
  run(script, bundle);
  writeFileSync(bundleCacheFile(bundle), script.createCachedData());
}
