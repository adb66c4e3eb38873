#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// Drop-in for C's pmxcfs: the daemon only, with C's flags (`pmxcfs [-f] [-l] [-d]`),
// running as a process named `pmxcfs` so that killall/pidof/pgrep -x and monitoring
// written for C's daemon find it. process.title sets both /proc/PID/comm (prctl
// PR_SET_NAME, main thread) and argv[0] in /proc/PID/cmdline; the daemonized child runs
// this same file and names itself the same way. The tools stay under `pmxcfs-ts`.
// The environment: see DAEMON_ENV and DAEMON_ENV_UNSET (src/daemon/options.ts) for
// why; it cannot be changed once the process runs (the lab and the bench pass it when
// they run `node <bin>`). No node flags: the daemon sets its V8 flags itself
// (DAEMON_V8_FLAGS), after its code is loaded.
process.title = 'pmxcfs';
const { runDaemon } = await (await import('../dist/src/cli/main.js')).loadDaemon();

runDaemon(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`pmxcfs: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
