// The daemon as one ES module file (dist/bundle/daemon.js, plus a chunk per lazily
// imported part such as the cluster services), built from tsc's output by esbuild.
// Why: Node loads the ~140 compiled modules and pino's ~20 one by one (resolve, read,
// compile, link), ~50 ms of a `-l` start; from one file it compiles and links once.
// The bins use it only while it is newer than dist/src/daemon/daemon.js (src/cli/main.ts,
// loadDaemon), so a bare `tsc` never runs a stale bundle.
// Left as packages: better-sqlite3 (it finds its addon from its own path) and
// prom-client (imported only when metrics are read, so not part of a start; bundled,
// its CommonJS exports reach import() as `default` only).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { daemon: `${root}dist/src/daemon/daemon.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'prom-client'],
  // pino and its dependencies are CommonJS: their require() of Node's modules needs a
  // real require in an ES module.
  banner: { js: "import { createRequire as __pmxcfsCreateRequire } from 'node:module'; const require = __pmxcfsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
