// The daemon as one CommonJS file (dist/bundle/daemon.cjs) built from tsc's output by
// esbuild, and V8's code cache for it (daemon.cjs.cache; src/cli/bundle.ts).
// Why: Node loads the ~140 compiled modules and pino's ~20 one by one (resolve, read,
// compile, link), ~50 ms of a `-l` start; from one file it compiles and links once,
// and from the cache it hardly compiles (src/cli/bundle.ts has the numbers).
// The bins use it only while it is newer than dist/src/daemon/daemon.js (src/cli/main.ts,
// loadDaemon), so a bare `tsc` never runs a stale bundle.
// Left as packages: better-sqlite3 (it finds its addon from its own path) and
// prom-client (required only when metrics are read, so not part of a start).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
const bundle = `${outdir}/daemon.cjs`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/src/daemon/daemon.js`],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'prom-client'],
  // import() becomes require(): a vm.Script has no loader for dynamic imports.
  supported: { 'dynamic-import': false },
  // The modules find the package (native/, the addon) from their own URL.
  define: { 'import.meta.url': '__pmxcfsBundleUrl' },
  banner: { js: "const __pmxcfsBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// The cache with no V8 flag, as the daemon runs (V8 refuses a cache made under other
// flags; the daemon sets its own only after the bundle is loaded: DAEMON_V8_FLAGS).
const script = `import('${root}dist/src/cli/bundle.js').then((b) => { b.writeBundleCache(${JSON.stringify(bundle)}); process.exit(0); });`;
execFileSync(process.execPath, ['-e', script], { stdio: 'inherit' });
