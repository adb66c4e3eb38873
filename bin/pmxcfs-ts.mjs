#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point: the compiled CLI lives in dist/ (built by `npm install` / `npm run build`).
// --max-semi-space-size=2: V8's young generation stays at 2 MiB semi-spaces instead of
// growing to 16 (~25 MiB less RSS after a big load or sync, no measurable CPU cost);
// it cannot be set once the process runs. Keep in step with DAEMON_NODE_FLAGS
// (src/daemon/options.ts), which the lab and the bench pass when they run `node <bin>`.
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`pmxcfs-ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
