#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// Entry point: the compiled CLI lives in dist/ (built by `npm install` / `npm run build`).
// The environment: see DAEMON_ENV and DAEMON_ENV_UNSET (src/daemon/options.ts) for
// why; it cannot be changed once the process runs (the lab and the bench pass it when
// they run `node <bin>`). No node flags: the daemon sets its V8 flags itself
// (DAEMON_V8_FLAGS), after its code is loaded.
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
