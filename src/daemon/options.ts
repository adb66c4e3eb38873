/**
 * Command line of the daemon: C's flags (pmxcfs.c: main, GOption) plus long options
 * to relocate every path, so tests and lab nodes can run several daemons.
 */
import { setFlagsFromString } from 'node:v8';

export interface DaemonOptions {
  readonly foreground: boolean;
  readonly local: boolean;
  readonly debug: boolean;
  readonly pretty: boolean;
  /** /var/lib/pve-cluster */
  readonly libDir: string;
  /** /var/lib/pve-cluster/config.db */
  readonly db: string;
  /** /run/pve-cluster */
  readonly runDir: string;
  /** /run/pve-cluster.pid */
  readonly pidFile: string;
  /** /etc/pve */
  readonly mount: string;
  /** /etc/corosync/corosync.conf */
  readonly corosyncConf: string;
  /** Seconds between verify requests when lowest (dcdb: 3600). */
  readonly verifyPeriod: number;
  /** Mount /etc/pve through FUSE (off: only the control socket serves files). */
  readonly fuse: boolean;
  /** Record metrics (off: --no-metrics, for the bench's comparison). */
  readonly metrics: boolean;
  /** Serve /metrics over HTTP at host:port (null: off). */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
}

/**
 * V8 flags the daemon sets on itself at the start of runDaemon (applyDaemonV8Flags),
 * not on node's command line: V8 takes a code cache only when it was made under the
 * same flags, so with any flag on the command line Node's built-in modules (the module
 * loaders, streams, net, ...) and the bundle compile from source at every start. Lab,
 * 6k `-l` start, 4 alternated runs each: from Node's boot to the lock phase 35–51 ms
 * with no flag, 49–72 ms with the former command-line flags (--max-semi-space-size=2
 * --min-semi-space-size=2 --lazy-new-space-shrinking).
 * - --semi-space-growth-factor=1: the young generation stays at its initial size
 *   (1 MiB semi-spaces); V8 reads the factor each time it would grow it. By default it
 *   grows to 16 MiB semi-spaces under a load or sync and keeps them (~30 MiB of RSS),
 *   and its pages are faulted in one by one (on this virtualised host 10–80 µs each):
 *   lab, 1,000 files of 4 KiB on a pmxcfs-ts cluster, writer page faults per file 1.9
 *   without the flag, 1.3 with it or with the former command-line flags.
 */
export const DAEMON_V8_FLAGS = '--semi-space-growth-factor=1';

/** Set DAEMON_V8_FLAGS in this process (the daemon's; the CLI's tools run without them). */
export function applyDaemonV8Flags(): void {
  setFlagsFromString(DAEMON_V8_FLAGS);
}

/**
 * Environment of the daemon's process, set in the same places as DAEMON_ENV_UNSET
 * (glibc reads its tunables once, at exec): glibc's heap asks for transparent huge
 * pages (madvise(MADV_HUGEPAGE); Debian's default THP mode is "madvise", so without it
 * the heap is faulted in 4 KiB at a time). File data lives in that heap, one malloc per
 * file. Measured on the bench host (`npm run bench -- --only=load|sync`): the 60k-inode
 * load took 36k page faults instead of 9k and `-l` start 1.12 s instead of 0.90 s; a
 * 6k full copy 2.2–2.5 s instead of 1.9–2.2 s; RSS unchanged (191 vs 193 MiB at 60k).
 * Only for the load: once the file data is in, the daemon turns them off (hugePagesDone,
 * src/daemon/process.ts), as every later heap growth zeroed a whole 2 MiB page.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };

/**
 * Variables removed from the daemon's environment, in the same places as DAEMON_ENV.
 * NODE_EXTRA_CA_CERTS: Node reads and parses that bundle at every start, before any
 * JavaScript runs, and pmxcfs makes no TLS connection. A host that sets it globally
 * (the bench host does: /etc/ssl/certs/ca-certificates.crt, ~140 certificates) made
 * each start of the daemon ~50 ms longer: Node's boot 66–84 ms with it, 17–30 without
 * (lab, 60k `-l` start, 5 alternated runs each); systemd would not pass it.
 */
export const DAEMON_ENV_UNSET: readonly string[] = ['NODE_EXTRA_CA_CERTS'];

/** `env` as the daemon gets it: DAEMON_ENV_UNSET removed, DAEMON_ENV and `extra` set. */
export function daemonProcessEnv(env: NodeJS.ProcessEnv, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, ...DAEMON_ENV, ...extra };
  for (const name of DAEMON_ENV_UNSET) delete out[name];
  return out;
}

/** The shebang of the bins: DAEMON_ENV_UNSET and DAEMON_ENV through env -S (no node flags: DAEMON_V8_FLAGS). */
export function daemonShebang(): string {
  const unset = DAEMON_ENV_UNSET.map((name) => `-u ${name}`);
  const env = Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`);
  return `#!/usr/bin/env -S ${[...unset, ...env, 'node'].join(' ')}`;
}

export const DEFAULTS: DaemonOptions = {
  foreground: false,
  local: false,
  debug: false,
  pretty: false,
  libDir: '/var/lib/pve-cluster',
  db: '/var/lib/pve-cluster/config.db',
  runDir: '/run/pve-cluster',
  pidFile: '/run/pve-cluster.pid',
  mount: '/etc/pve',
  corosyncConf: '/etc/corosync/corosync.conf',
  verifyPeriod: 3600,
  fuse: true,
  metrics: true,
  metricsListen: null,
};

export const USAGE = `Usage:
  pmxcfs-ts [OPTION...]

Help Options:
  -h, --help          Show help options

Application Options:
  -d, --debug         Turn on debug messages (human-readable log output)
  -f, --foreground    Do not daemonize server
  -l, --local         Force local mode (ignore corosync.conf, force quorum)

pmxcfs-ts options (paths default to C's):
  --pretty            Human-readable log lines without debug level
  --lib-dir DIR       /var/lib/pve-cluster (lock file; --db defaults to DIR/config.db)
  --db FILE           /var/lib/pve-cluster/config.db
  --run-dir DIR       /run/pve-cluster (restart flag, control socket)
  --pid-file FILE     /run/pve-cluster.pid
  --mount DIR         /etc/pve
  --corosync-conf F   /etc/corosync/corosync.conf
  --verify-period S   seconds between verify rounds (3600)
  --no-fuse           do not mount; serve files through the control socket only
  --metrics-listen A  serve Prometheus metrics over HTTP at [ADDR:]PORT (off; ADDR 127.0.0.1)
  --no-metrics        do not record metrics
`;

export type ParseResult = { readonly ok: true; readonly options: DaemonOptions } | { readonly ok: false; readonly exitCode: number; readonly message: string };

export function parseDaemonArgs(argv: readonly string[]): ParseResult {
  const o: { -readonly [K in keyof DaemonOptions]: DaemonOptions[K] } = { ...DEFAULTS };
  let dbSet = false;
  const valued: Record<string, (v: string) => void> = {
    '--lib-dir': (v) => (o.libDir = v),
    '--db': (v) => {
      o.db = v;
      dbSet = true;
    },
    '--run-dir': (v) => (o.runDir = v),
    '--pid-file': (v) => (o.pidFile = v),
    '--mount': (v) => (o.mount = v),
    '--corosync-conf': (v) => (o.corosyncConf = v),
    '--verify-period': (v) => (o.verifyPeriod = Number(v)),
    '--metrics-listen': (v) => (o.metricsListen = parseListen(v)),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const key = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (valued[key] !== undefined) {
      const v = key !== a ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) return { ok: false, exitCode: 1, message: `option parsing failed: Missing argument for ${key}` };
      valued[key]!(v);
      continue;
    }
    switch (a) {
      case '-f':
      case '--foreground':
        o.foreground = true;
        break;
      case '-l':
      case '--local':
        o.local = true;
        break;
      case '-d':
      case '--debug':
        o.debug = true;
        o.pretty = true;
        break;
      case '--pretty':
        o.pretty = true;
        break;
      case '--no-fuse':
        o.fuse = false;
        break;
      case '--no-metrics':
        o.metrics = false;
        break;
      case '-h':
      case '-?':
      case '--help':
      case '--help-all':
        return { ok: false, exitCode: 0, message: USAGE };
      default:
        if (a.startsWith('-')) return { ok: false, exitCode: 1, message: `option parsing failed: Unknown option ${a}` };
        return { ok: false, exitCode: 255, message: 'too many arguments' };
    }
  }
  if (!dbSet && o.libDir !== DEFAULTS.libDir) o.db = `${o.libDir}/config.db`;
  if (!Number.isFinite(o.verifyPeriod) || o.verifyPeriod < 0) return { ok: false, exitCode: 1, message: 'option parsing failed: --verify-period needs seconds >= 0' };
  if (o.metricsListen !== null && !(o.metricsListen.port > 0 && o.metricsListen.port < 65536)) return { ok: false, exitCode: 1, message: 'option parsing failed: --metrics-listen needs [ADDR:]PORT' };
  return { ok: true, options: o };
}

/** "[ADDR:]PORT" (IPv6 in brackets); loopback when only a port is given. Port 0 marks it invalid. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d+)$/.exec(v) ?? /^()()(\d+)$/.exec(v);
  if (m === null) return { host: '', port: 0 };
  const port = Number(m[3]);
  return { host: m[1] || m[2] || '127.0.0.1', port: Number.isInteger(port) ? port : 0 };
}
