/**
 * A corosync lab on one machine: N nodes, each in its own network, mount and UTS
 * namespace, wired by a bridge that lives in a private "switch" namespace.
 *
 * Layout for prefix P (default `pmxlab`, or $PMXCFS_LAB_PREFIX):
 *
 *   network namespaces   P-sw (bridge br0, ports v1..vN), P-n1 .. P-nN (eth0)
 *   addresses            10.99.X.I/24 on eth0 of node I; X derives from P; the subnet
 *                        exists only inside these namespaces, nothing is routed
 *   state                /run/pmxcfs-lab/P/lab.json
 *   node I files         /run/pmxcfs-lab/P/nI/ (host path, see nodeRoot):
 *                          etc-corosync/ (corosync.conf)  → /etc/corosync
 *                          var-lib-corosync/              → /var/lib/corosync
 *                          hosts                          → /etc/hosts
 *                          etc-pve/                       → /etc/pve
 *                          var-lib-pve-cluster/           → /var/lib/pve-cluster
 *                          var-lib-rrdcached/ (db/)       → /var/lib/rrdcached (RRD files)
 *                          log/NAME.log                   output of `spawn(I, NAME)`
 *                          proc/NAME.json                 pid of `spawn(I, NAME)`
 *                        plus fresh tmpfs on /run and /dev/shm inside the node
 *
 * Node I has hostname nI, nodeid I. A holder process (`sleep infinity` in fresh mount
 * and UTS namespaces inside P-nI) keeps the node alive; commands enter it with
 * `nsenter -t HOLDER -m -u -n`. Missing mount points (/etc/pve, /var/lib/pve-cluster)
 * are created as empty directories on the host.
 */

import { spawn, spawnSync, type SpawnOptions, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const LAB_STATE_ROOT = '/run/pmxcfs-lab';
export const DEFAULT_PREFIX = 'pmxlab';
/** Bind layers on each node's /etc/pve: C daemon starts a lab survives (one layer each). */
const PVE_BIND_LAYERS = 64;

export interface LabOptions {
  /** Namespace/cluster name prefix: [a-z][a-z0-9]{0,11}. */
  readonly prefix?: string;
  /** totem.token in ms (default 3000). */
  readonly token?: number;
}

export interface UpOptions {
  /** Wait until every node's corosync reports N nodes quorate (default true). */
  readonly wait?: boolean;
  /** Do not start corosync in the nodes (default: start it). */
  readonly noCorosync?: boolean;
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface SpawnOpts {
  readonly env?: NodeJS.ProcessEnv;
  /** Append to the log instead of truncating it. */
  readonly append?: boolean;
}

export interface ProcInfo {
  readonly name: string;
  readonly pid: number;
  /** /proc/PID/stat start time, to tell a reused pid apart. */
  readonly start: string;
  readonly argv: readonly string[];
  readonly log: string;
}

interface LabState {
  readonly prefix: string;
  readonly n: number;
  readonly subnet: string;
  readonly token: number;
  readonly holders: Record<string, { pid: number; start: string }>;
  readonly createdMountPoints: string[];
}

export class LabError extends Error {
  override name = 'LabError';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function validPrefix(prefix: string): boolean {
  return /^[a-z][a-z0-9]{0,11}$/.test(prefix);
}

/**
 * The prefix of a lab a test suite or the bench owns: `<base><role>`, base = the first
 * letters of $PMXCFS_LAB_PREFIX (default `pmx`), so suites run by different people on
 * one machine never share namespaces.
 */
export function ownedLabPrefix(role: string): string {
  const base = (process.env['PMXCFS_LAB_PREFIX'] ?? 'pmx').slice(0, 12 - role.length);
  const prefix = base + role;
  if (!validPrefix(prefix)) throw new LabError(`invalid lab prefix ${JSON.stringify(prefix)} (from $PMXCFS_LAB_PREFIX)`);
  return prefix;
}

/** 10.99.X: X in 1..250 derived from the prefix (labs are isolated anyway). */
export function subnetFor(prefix: string): string {
  let h = 0;
  for (const c of prefix) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `10.99.${(h % 250) + 1}`;
}

export function which(cmd: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    const p = join(d, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Why the lab cannot run here, or undefined when it can (root, tools present). */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the lab needs root (network and mount namespaces)';
  for (const tool of ['corosync', 'corosync-quorumtool', 'ip', 'nsenter', 'unshare', 'mount']) {
    if (which(tool) === undefined) {
      return tool.startsWith('corosync') ? `${tool} not found (apt-get install corosync)` : `${tool} not found`;
    }
  }
  return undefined;
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19]; // field 22 (starttime); fields[0] is field 3
  } catch {
    return undefined;
  }
}

function alive(pid: number, start: string): boolean {
  return procStart(pid) === start;
}

function run(argv: readonly string[], check = true): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const code = r.status ?? 128;
  if (check && code !== 0) {
    throw new LabError(`${argv.join(' ')}: exit ${code}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return { code, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export class Lab {
  readonly prefix: string;
  readonly dir: string;
  private readonly token: number;

  constructor(options: LabOptions = {}) {
    this.prefix = options.prefix ?? process.env['PMXCFS_LAB_PREFIX'] ?? DEFAULT_PREFIX;
    if (!validPrefix(this.prefix)) throw new LabError(`invalid lab prefix '${this.prefix}' (want [a-z][a-z0-9]{0,11})`);
    this.dir = join(LAB_STATE_ROOT, this.prefix);
    this.token = options.token ?? 3000;
  }

  // ---- naming ------------------------------------------------------------------

  get switchNs(): string {
    return `${this.prefix}-sw`;
  }

  nodeNs(i: number): string {
    return `${this.prefix}-n${i}`;
  }

  /** Host path of node I's private files (see the layout above). */
  nodeRoot(i: number): string {
    return join(this.dir, `n${i}`);
  }

  nodeName(i: number): string {
    return `n${i}`;
  }

  /** eth0 address of node I (valid inside the lab's namespaces only). */
  address(i: number): string {
    return `${this.state().subnet}.${i}`;
  }

  logPath(i: number, name: string): string {
    return join(this.nodeRoot(i), 'log', `${name}.log`);
  }

  /** Number of nodes, 0 when the lab is not up. */
  get size(): number {
    return this.readState()?.n ?? 0;
  }

  isUp(): boolean {
    const s = this.readState();
    if (s === undefined) return false;
    return Object.values(s.holders).every((h) => alive(h.pid, h.start));
  }

  // ---- up / down ---------------------------------------------------------------

  async up(n: number, options: UpOptions = {}): Promise<void> {
    const why = labUnavailable();
    if (why !== undefined) throw new LabError(why);
    if (!Number.isInteger(n) || n < 1 || n > 32) throw new LabError(`node count must be 1..32, got ${n}`);
    if (this.readState() !== undefined || this.leftoverNamespaces().length > 0) {
      if (this.isUp()) throw new LabError(`lab '${this.prefix}' is already up (${this.size} nodes); run 'lab down' first`);
      await this.down(); // stale remains of a crashed lab
    }
    const subnet = subnetFor(this.prefix);
    const holders: Record<string, { pid: number; start: string }> = {};
    const createdMountPoints: string[] = [];
    for (const p of ['/etc/pve', '/var/lib/pve-cluster', '/var/lib/corosync', '/etc/corosync', '/var/lib/rrdcached']) {
      if (!existsSync(p)) {
        mkdirSync(p, { recursive: true });
        createdMountPoints.push(p);
      }
    }
    mkdirSync(this.dir, { recursive: true });
    const state: LabState = { prefix: this.prefix, n, subnet, token: this.token, holders, createdMountPoints };
    this.writeState(state);
    try {
      // The switch: a bridge in its own namespace.
      const sw = this.switchNs;
      run(['ip', 'netns', 'add', sw]);
      run(['ip', '-n', sw, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      run(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
      for (let i = 1; i <= n; i++) {
        const ns = this.nodeNs(i);
        run(['ip', 'netns', 'add', ns]);
        run(['ip', '-n', sw, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        run(['ip', '-n', sw, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
        run(['ip', '-n', ns, 'addr', 'add', `${subnet}.${i}/24`, 'dev', 'eth0']);
        run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
        this.writeNodeFiles(i, n, subnet);
        holders[String(i)] = await this.startHolder(i);
        this.writeState(state);
        this.mountNode(i);
      }
    } catch (e) {
      await this.down();
      throw e;
    }
    if (options.noCorosync) return;
    for (let i = 1; i <= n; i++) this.spawn(i, 'corosync', ['corosync', '-f']);
    if (options.wait ?? true) await this.waitQuorate(Array.from({ length: n }, (_, k) => k + 1), n, options.timeoutMs ?? 30000);
  }

  /** Tear down everything of this prefix that exists; safe to call repeatedly. */
  async down(): Promise<void> {
    const s = this.readState();
    const namespaces = new Set(this.leftoverNamespaces());
    // Kill every process in the node namespaces (corosync, daemons, holders).
    for (const ns of namespaces) {
      if (ns === this.switchNs) continue;
      for (const pid of this.netnsPids(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (s !== undefined) {
      for (const h of Object.values(s.holders)) {
        if (alive(h.pid, h.start)) process.kill(h.pid, 'SIGKILL');
      }
    }
    // Wait for them to go, so the namespaces really disappear.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && [...namespaces].some((ns) => ns !== this.switchNs && this.netnsPids(ns).length > 0)) {
      await sleep(50);
    }
    for (const ns of namespaces) run(['ip', 'netns', 'delete', ns], false);
    rmSync(this.dir, { recursive: true, force: true });
  }

  status(): string {
    const s = this.readState();
    if (s === undefined) return `lab '${this.prefix}': down\n`;
    const lines = [`lab '${this.prefix}': ${s.n} nodes, subnet ${s.subnet}.0/24, state ${this.dir}`];
    for (let i = 1; i <= s.n; i++) {
      const h = s.holders[String(i)];
      const up = h !== undefined && alive(h.pid, h.start);
      const procs = this.processes(i)
        .map((p) => `${p.name}:${alive(p.pid, p.start) ? p.pid : 'exited'}`)
        .join(' ');
      lines.push(`  n${i} ${s.subnet}.${i} ${up ? `up (holder ${h!.pid})` : 'DOWN'}  ${procs}`);
    }
    return lines.join('\n') + '\n';
  }

  // ---- running things in nodes -----------------------------------------------

  /** argv prefix that enters node I. */
  enter(i: number): string[] {
    const h = this.holder(i);
    return ['nsenter', '-t', String(h.pid), '-m', '-u', '-n', '--'];
  }

  /** Run argv in node I, collect output. Never throws for a non-zero exit. */
  exec(i: number, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const full = [...this.enter(i), ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve({
          code: code ?? 128,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input ?? '');
    });
  }

  /** Run argv in node I with the given stdio (e.g. 'inherit'); resolves to the exit code. */
  execInteractive(i: number, argv: readonly string[], stdio: StdioOptions = 'inherit'): Promise<number> {
    const full = [...this.enter(i), ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(full[0]!, full.slice(1), { stdio });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal !== null ? 128 : 1)));
    });
  }

  /**
   * Start a named long-running process in node I, detached, output to
   * logPath(I, NAME). Replaces nothing: a live process of that name is an error.
   */
  spawn(i: number, name: string, argv: readonly string[], options: SpawnOpts = {}): ProcInfo {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new LabError(`invalid process name '${name}'`);
    const existing = this.proc(i, name);
    if (existing !== undefined && alive(existing.pid, existing.start)) {
      throw new LabError(`n${i}: '${name}' is already running (pid ${existing.pid})`);
    }
    const log = this.logPath(i, name);
    mkdirSync(join(this.nodeRoot(i), 'log'), { recursive: true });
    mkdirSync(join(this.nodeRoot(i), 'proc'), { recursive: true });
    const fd = openSync(log, options.append ? 'a' : 'w');
    const full = [...this.enter(i), ...argv];
    const spawnOptions: SpawnOptions = { stdio: ['ignore', fd, fd], detached: true, env: options.env ?? process.env };
    const child = spawn(full[0]!, full.slice(1), spawnOptions);
    closeSync(fd);
    child.on('error', () => {});
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new LabError(`n${i}: cannot start ${argv.join(' ')}`);
    const start = procStart(pid) ?? '';
    const info: ProcInfo = { name, pid, start, argv: [...argv], log };
    writeFileSync(join(this.nodeRoot(i), 'proc', `${name}.json`), JSON.stringify(info) + '\n');
    return info;
  }

  proc(i: number, name: string): ProcInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.nodeRoot(i), 'proc', `${name}.json`), 'utf8')) as ProcInfo;
    } catch {
      return undefined;
    }
  }

  processes(i: number): ProcInfo[] {
    let names: string[] = [];
    try {
      names = readdirSync(join(this.nodeRoot(i), 'proc'));
    } catch {
      return [];
    }
    return names
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.proc(i, f.slice(0, -5)))
      .filter((p): p is ProcInfo => p !== undefined);
  }

  isRunning(i: number, name: string): boolean {
    const p = this.proc(i, name);
    return p !== undefined && alive(p.pid, p.start);
  }

  /**
   * Signal a named process; with `wait`, resolve once it is gone (SIGKILL after
   * waitMs). Returns false when it was not running.
   */
  async kill(i: number, name: string, signal: NodeJS.Signals | number = 'SIGTERM', wait = true, waitMs = 10000): Promise<boolean> {
    const p = this.proc(i, name);
    if (p === undefined || !alive(p.pid, p.start)) return false;
    try {
      process.kill(p.pid, signal);
    } catch {
      return false;
    }
    if (!wait) return true;
    const deadline = Date.now() + waitMs;
    while (alive(p.pid, p.start)) {
      if (Date.now() > deadline) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(20);
    }
    return true;
  }

  readLog(i: number, name: string): string {
    try {
      return readFileSync(this.logPath(i, name), 'utf8');
    } catch {
      return '';
    }
  }

  // ---- corosync and network --------------------------------------------------

  /** Stop corosync in node I (SIGTERM, wait until it exited). */
  async stopCorosync(i: number): Promise<void> {
    await this.kill(i, 'corosync', 'SIGTERM', true, 15000);
  }

  /** Start corosync in node I and wait until its IPC answers. */
  async startCorosync(i: number, timeoutMs = 15000): Promise<void> {
    if (!this.isRunning(i, 'corosync')) this.spawn(i, 'corosync', ['corosync', '-f'], { append: true });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.exec(i, ['corosync-cmapctl', '-g', 'totem.cluster_name'], { timeoutMs: 5000 });
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new LabError(`n${i}: corosync did not come up: ${r.stderr.trim()}`);
      await sleep(100);
    }
  }

  /** Quorum as seen by node I's corosync (corosync-quorumtool -s). */
  async quorum(i: number): Promise<{ quorate: boolean; nodes: number } | undefined> {
    const r = await this.exec(i, ['corosync-quorumtool', '-s'], { timeoutMs: 5000 });
    const q = /Quorate:\s+(Yes|No)/.exec(r.stdout);
    const n = /Nodes:\s+(\d+)/.exec(r.stdout);
    if (q === null || n === null) return undefined;
    return { quorate: q[1] === 'Yes', nodes: Number(n[1]) };
  }

  /** Wait until every node in `nodes` sees `count` nodes and is quorate. */
  async waitQuorate(nodes: readonly number[], count: number, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const qs = await Promise.all(nodes.map((i) => this.quorum(i)));
      if (qs.every((q) => q !== undefined && q.quorate && q.nodes === count)) return;
      if (Date.now() > deadline) {
        throw new LabError(`nodes ${nodes.join(',')} not quorate with ${count} nodes after ${timeoutMs} ms: ${JSON.stringify(qs)}`);
      }
      await sleep(250);
    }
  }

  /** Unplug node I: its switch port goes down (eth0 loses carrier). */
  linkDown(i: number): void {
    run(['ip', '-n', this.switchNs, 'link', 'set', `v${i}`, 'down']);
  }

  linkUp(i: number): void {
    run(['ip', '-n', this.switchNs, 'link', 'set', `v${i}`, 'up']);
  }

  // ---- internals ---------------------------------------------------------------

  private holder(i: number): { pid: number; start: string } {
    const s = this.readState();
    if (s === undefined) throw new LabError(`lab '${this.prefix}' is not up`);
    const h = s.holders[String(i)];
    if (h === undefined) throw new LabError(`lab '${this.prefix}' has no node ${i} (1..${s.n})`);
    if (!alive(h.pid, h.start)) throw new LabError(`node ${i} of lab '${this.prefix}' is dead (holder ${h.pid} gone)`);
    return h;
  }

  private async startHolder(i: number): Promise<{ pid: number; start: string }> {
    const child = spawn(
      'ip',
      ['netns', 'exec', this.nodeNs(i), 'unshare', '--mount', '--uts', '--propagation', 'private', 'sleep', 'infinity'],
      { stdio: 'ignore', detached: true },
    );
    child.on('error', () => {});
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new LabError(`n${i}: cannot start the namespace holder`);
    // ip and unshare exec; wait until the pid is `sleep` in its own mount namespace.
    const self = readlinkSafe('/proc/self/ns/mnt');
    const deadline = Date.now() + 5000;
    for (;;) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        /* not yet */
      }
      const mnt = readlinkSafe(`/proc/${pid}/ns/mnt`);
      if (comm === 'sleep' && mnt !== undefined && mnt !== self) break;
      if (Date.now() > deadline || procStart(pid) === undefined) throw new LabError(`n${i}: namespace holder did not start`);
      await sleep(10);
    }
    return { pid, start: procStart(pid)! };
  }

  private writeNodeFiles(i: number, n: number, subnet: string): void {
    const root = this.nodeRoot(i);
    for (const d of ['etc-corosync', 'var-lib-corosync', 'etc-pve', 'var-lib-pve-cluster', 'var-lib-rrdcached/db', 'log', 'proc']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    writeFileSync(join(root, 'etc-corosync', 'corosync.conf'), corosyncConf(this.prefix, n, subnet, this.token));
    const hosts = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
    for (let k = 1; k <= n; k++) hosts.push(`${subnet}.${k} n${k}`);
    writeFileSync(join(root, 'hosts'), hosts.join('\n') + '\n');
  }

  private mountNode(i: number): void {
    const root = this.nodeRoot(i);
    const script = [
      'set -e',
      `hostname n${i}`,
      `mount --bind ${root}/etc-corosync /etc/corosync`,
      `mount --bind ${root}/var-lib-corosync /var/lib/corosync`,
      `mount --bind ${root}/hosts /etc/hosts`,
      // C's main force-unmounts whatever is on /etc/pve at every start, one layer each
      // time: stacked binds keep it from ever reaching the host's /etc/pve (a write
      // there leaks into every later lab, and C refuses a non-empty mount point).
      `for k in $(seq ${PVE_BIND_LAYERS}); do mount --bind ${root}/etc-pve /etc/pve; done`,
      `mount --bind ${root}/var-lib-pve-cluster /var/lib/pve-cluster`,
      `mount --bind ${root}/var-lib-rrdcached /var/lib/rrdcached`,
      'mount -t tmpfs -o mode=0755 tmpfs /run',
      'mkdir -p /run/pve-cluster /run/corosync',
      'mount -t tmpfs -o mode=1777 tmpfs /dev/shm',
    ].join('\n');
    run([...this.enter(i), 'sh', '-c', script]);
  }

  private netnsPids(ns: string): number[] {
    const r = run(['ip', 'netns', 'pids', ns], false);
    if (r.code !== 0) return [];
    return r.stdout
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
      .filter((p) => p !== process.pid && procStart(p) !== undefined);
  }

  private leftoverNamespaces(): string[] {
    const r = run(['ip', 'netns', 'list'], false);
    const mine = new RegExp(`^${this.prefix}-(sw|n\\d+)$`);
    return r.stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((name) => mine.test(name));
  }

  private readState(): LabState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'lab.json'), 'utf8')) as LabState;
    } catch {
      return undefined;
    }
  }

  private state(): LabState {
    const s = this.readState();
    if (s === undefined) throw new LabError(`lab '${this.prefix}' is not up`);
    return s;
  }

  private writeState(s: LabState): void {
    writeFileSync(join(this.dir, 'lab.json'), JSON.stringify(s, null, 2) + '\n');
  }
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

export function corosyncConf(cluster: string, n: number, subnet: string, token: number): string {
  const nodes: string[] = [];
  for (let i = 1; i <= n; i++) {
    nodes.push(`  node {\n    name: n${i}\n    nodeid: ${i}\n    quorum_votes: 1\n    ring0_addr: ${subnet}.${i}\n  }`);
  }
  return `# generated by pmxcfs-ts lab
totem {
  version: 2
  cluster_name: ${cluster}
  config_version: 1
  transport: knet
  crypto_cipher: none
  crypto_hash: none
  token: ${token}
  interface {
    linknumber: 0
  }
}

nodelist {
${nodes.join('\n')}
}

quorum {
  provider: corosync_votequorum
}

logging {
  to_stderr: yes
  to_syslog: no
  to_logfile: no
  timestamp: on
}
`;
}
