/**
 * Process-level steps of start-up: node identity, directories, the single-instance lock
 * and the fork with a readiness pipe.
 *
 * | here            | C (pmxcfs.c: main)                                |
 * |-----------------|---------------------------------------------------|
 * | resolveNodeIp   | lookup_node_ip                                    |
 * | prepareDirs     | mkdir of the lib and run dirs, chown www-data     |
 * | acquireLock     | flock on .pmxcfs.lockfile (11 attempts, 1 s apart)|
 * | keepMallocHeap  | (none: C runs with glibc's defaults)              |
 * | hugePagesDone   | (none: C's heap has 4 KiB pages)                  |
 * | daemonize       | fork + readiness pipe; the parent writes the pid  |
 * | signalReady     | the child writes '1' to the pipe                  |
 */
import { lookup } from 'node:dns/promises';
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { atomicWriteFile } from '../dcdb/corosync-conf.js';
import type { Log } from '../util/log.js';
import { posix } from '../util/posix.js';
import { nodeChildProcess } from '../util/lazy.js';
import { daemonProcessEnv } from './options.js';

/** pmxcfs.c: 11 flock attempts, 1 s apart. */
const LOCK_ATTEMPTS = 11;
const LOCK_RETRY_MS = 1000;
export const CHILD_ENV = 'PMXCFS_TS_DAEMON_CHILD';

/** A start-up failure with C's message; exit code 255 as C's main. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

/** The first non-loopback address of the node name (daemon.md §3). */
export async function resolveNodeIp(nodename: string): Promise<string> {
  let addrs: { address: string; family: number }[] = [];
  try {
    addrs = await lookup(nodename, { all: true });
  } catch {
    addrs = [];
  }
  const ip = addrs.find((a) => (a.family === 4 ? !a.address.startsWith('127.') : a.address !== '::1'));
  if (ip === undefined) {
    throw new StartupError(`Unable to resolve node name '${nodename}' to a non-loopback IP address - missing entry in '/etc/hosts' or DNS?`);
  }
  return ip.address;
}

export function prepareDirs(libDir: string, runDir: string): void {
  process.umask(0o027);
  mkdirSync(libDir, { recursive: true, mode: 0o750 });
  mkdirSync(runDir, { recursive: true, mode: 0o750 });
  try {
    const wwwData = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
    if (wwwData !== undefined) chownSync(runDir, 0, Number(wwwData.split(':')[2]));
  } catch {
    // errors ignored, as C
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * glibc's heap kept rather than trimmed: by default free() gives a free heap top of
 * more than 128 KiB back with brk and the next allocations fault the pages in again.
 * A daemon's allocations come and go with every request and delivery (file data,
 * SQLite's pager, V8's external buffers), so in a local-mode run of 1,000 writes glibc
 * called brk 68 times and the pages came back as ~0.8 page faults per file — on a
 * virtualised host a fault costs 10–80 µs. Kept: up to MALLOC_KEEP_BYTES of free top,
 * grown MALLOC_PAD_BYTES at a time (brk calls 68 → 0, page faults per file 3.3 → 2.5).
 */
export const MALLOC_KEEP_BYTES = 256 * 1024 * 1024;
export const MALLOC_PAD_BYTES = 16 * 1024 * 1024;

export function keepMallocHeap(log: Log): void {
  if (posix().keepMallocHeap(MALLOC_KEEP_BYTES, MALLOC_PAD_BYTES) !== 0) log.warn({ trim: MALLOC_KEEP_BYTES, pad: MALLOC_PAD_BYTES }, 'mallopt refused the heap settings; glibc defaults stay');
}

/**
 * The end of the huge pages that DAEMON_ENV's glibc.malloc.hugetlb=1 gives the heap: they
 * cut the page faults of loading the database (36k → 9k at 60k inodes), but afterwards
 * every growth of the heap faults in a fresh 2 MiB page the kernel zeroes first. Writing
 * 1,000 files of 64 KiB, that zeroing was 13% of the writer's CPU samples (`perf`,
 * ~290 µs per file) against 5% with 4 KiB pages and 2.7% for C.
 */
export function hugePagesDone(log: Log): void {
  const r = posix().disableHugePages();
  if (r !== 0) log.warn({ errno: -r }, 'prctl(PR_SET_THP_DISABLE) refused; the heap keeps huge pages');
}

/** flock(LOCK_EX|LOCK_NB) with C's retries; the descriptor stays open until the stop. */
export async function acquireLock(file: string, log: Log): Promise<number> {
  let fd: number;
  try {
    fd = openSync(file, 'a+', 0o600);
  } catch (err) {
    throw new StartupError(`unable to create lock '${file}': ${(err as Error).message}`);
  }
  const { flockExclusive: flock } = posix();
  for (let attempt = 1; ; attempt++) {
    const r = flock(fd);
    if (r === 0) return fd;
    if (attempt === 1) log.warn({ file }, 'unable to acquire pmxcfs lock - trying again');
    if (attempt === LOCK_ATTEMPTS) {
      closeSync(fd);
      throw new StartupError(`unable to acquire pmxcfs lock: another pmxcfs holds ${file} (errno ${-r})`);
    }
    await sleep(LOCK_RETRY_MS);
  }
}

/**
 * Without -f: start a detached copy of this process and wait for its readiness byte
 * on an extra pipe; then write the pid file with the child's pid and exit 0, as
 * C's parent does. The child's stdout/stderr stay attached (journal), stdin is null.
 */
export async function daemonize(argv: readonly string[], pidFile: string): Promise<number> {
  const child = nodeChildProcess().spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: daemonProcessEnv(process.env, { [CHILD_ENV]: '1' }),
  });
  const ready = await new Promise<boolean>((resolve) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.once('data', (b: Buffer) => resolve(b[0] === 0x31));
    pipe.once('end', () => resolve(false));
    child.once('exit', () => resolve(false));
  });
  if (!ready || child.pid === undefined) {
    process.stderr.write("pmxcfs-ts: child failed to send '1'\n");
    child.kill('SIGKILL');
    return 255;
  }
  atomicWriteFile(pidFile, Buffer.from(`${child.pid}\n`));
  child.unref();
  return 0;
}

/** The forked child tells its parent it is ready; a foreground daemon writes its own pid file. */
export function signalReady(isChild: boolean, pidFile: string): void {
  if (!isChild) {
    atomicWriteFile(pidFile, Buffer.from(`${process.pid}\n`));
    return;
  }
  try {
    writeSync(3, '1');
    closeSync(3);
  } catch {
    // parent gone
  }
}
