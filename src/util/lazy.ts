/**
 * Modules loaded on their first use instead of at start: memoised loaders.
 *
 * Why for Node's own modules: each costs start-up time that /etc/pve waits for, and
 * more once the daemon has set its V8 flags (DAEMON_V8_FLAGS): V8 then refuses the code
 * cache Node ships for its built-ins (made under other flags) and compiles them from
 * source. Measured on the bench host, one module after the daemon's base set, 3 runs
 * each, without / with V8 flags: node:crypto 2–3 / 5–7 ms; node:http 1.5–2 / 4–5.5;
 * node:fs/promises 2–2.4 / 3.6–4.8; node:child_process 0.5–0.9 / 2.5–3.6. Those not
 * needed before /etc/pve is mounted are loaded here, when first used.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** `load`'s result, computed by the first call only. */
export function once<T>(load: () => T): () => T {
  let value: { readonly v: T } | null = null;
  return () => (value ??= { v: load() }).v;
}

/** A loader of the module `id` (a built-in or a path), required on its first call. */
export function lazyRequire<T>(id: () => string): () => T {
  return once(() => requireHere(id()) as T);
}

export type CryptoModule = typeof import('node:crypto');
export type ChildProcessModule = typeof import('node:child_process');
export type HttpModule = typeof import('node:http');

export const nodeCrypto = lazyRequire<CryptoModule>(() => 'node:crypto');
export const nodeChildProcess = lazyRequire<ChildProcessModule>(() => 'node:child_process');
export const nodeHttp = lazyRequire<HttpModule>(() => 'node:http');
