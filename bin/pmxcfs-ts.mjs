#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --max-semi-space-size=2 --min-semi-space-size=2 --lazy-new-space-shrinking
// Entry point: the compiled CLI lives in dist/ (built by `npm install` / `npm run build`).
// The environment and node flags: see DAEMON_ENV and DAEMON_NODE_FLAGS
// (src/daemon/options.ts) for why; they cannot be set once the process runs. Keep in
// step with them: the lab and the bench pass them when they run `node <bin>`.
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
