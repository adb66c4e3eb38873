/**
 * Mixed C/TypeScript clusters on the namespace lab (issue 7). A node runs either the
 * C pmxcfs named by $PMXCFS_C_BIN (FUSE-mounted /etc/pve, driven through a shell in
 * the node) or pmxcfs-ts (driven through `pmxcfs-ts fs batch`). Nodes are compared
 * with `pmxcfs-ts db checksum` on each node's own config.db.
 *
 * Nothing here builds or ships the C daemon: the tests only run a binary the developer
 * points them at, and skip when there is none.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/cluster/native.js';
import { Lab, labUnavailable, ownedLabPrefix } from '../../src/lab/lab.js';
import { DaemonLab, type DaemonStatus, type FsResult } from '../../src/lab/daemons.js';

export const C_BIN = process.env['PMXCFS_C_BIN'];
export const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));

/** Why the mixed suite cannot run here, or undefined. */
export function mixedUnavailable(): string | undefined {
  if (C_BIN === undefined || C_BIN === '') return 'PMXCFS_C_BIN is not set (path to a C pmxcfs binary); mixed C/TS scenarios need one';
  if (!existsSync(C_BIN)) return `PMXCFS_C_BIN=${C_BIN} does not exist`;
  const addon = join(packageRoot(), 'build', 'Release', 'corosync.node');
  return labUnavailable() ?? (existsSync(addon) ? undefined : `addon not built (${addon}); run npm install`);
}

export type Kind = 'C' | 'T';

/** One filesystem operation, in the `fs batch` format. */
export type Op =
  | { op: 'write'; path: string; data: string; offset?: number }
  | { op: 'truncate'; path: string; length: number }
  | { op: 'mkdir' | 'rm' | 'rmdir' | 'cat'; path: string }
  | { op: 'mv'; path: string; to: string }
  | { op: 'touch'; path: string; mtime: number };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell command that performs `op` through a C node's /etc/pve. */
export function shellOp(op: Op): string {
  const p = q(`/etc/pve/${op.path}`);
  switch (op.op) {
    case 'write':
      return op.offset === undefined
        ? `printf '%s' ${q(op.data)} > ${p}`
        : `printf '%s' ${q(op.data)} | dd of=${p} seek=${op.offset} oflag=seek_bytes conv=notrunc status=none`;
    case 'truncate':
      return `truncate -s ${op.length} ${p}`;
    case 'mkdir':
      return `mkdir ${p}`;
    case 'rm':
      return `rm ${p}`;
    case 'rmdir':
      return `rmdir ${p}`;
    case 'cat':
      return `cat ${p}`;
    case 'mv':
      return `mv ${p} ${q(`/etc/pve/${op.to}`)}`;
    case 'touch':
      return `touch -m -d @${op.mtime} ${p}`;
  }
}

export interface StartOpts {
  /** Extra pmxcfs-ts flags. */
  readonly tsArgs?: string[];
  /** Run the C daemon under libfaketime reading its offset from this host file. */
  readonly faketimeFile?: string;
}

export class Mixed {
  readonly lab: Lab;
  readonly d: DaemonLab;
  readonly nodes: number[];
  /** The kind each node runs now (replace() changes it). */
  private readonly current: Kind[];

  constructor(kinds: readonly Kind[], prefix = ownedLabPrefix('mixed')) {
    this.lab = new Lab({ prefix, token: 1000 });
    this.d = new DaemonLab(this.lab);
    this.nodes = kinds.map((_, k) => k + 1);
    this.current = [...kinds];
  }

  get kinds(): readonly Kind[] {
    return this.current;
  }

  kind(i: number): Kind {
    return this.current[i - 1]!;
  }

  /**
   * In-place replacement, as an admin does it: stop node i's daemon, start the other
   * kind on the same /var/lib/pve-cluster/config.db (corosync keeps running).
   */
  async replace(i: number, kind: Kind, opts: StartOpts = {}): Promise<void> {
    await this.stop(i);
    this.current[i - 1] = kind;
    this.start(i, opts);
  }

  get cNodes(): number[] {
    return this.nodes.filter((i) => this.kind(i) === 'C');
  }

  get tsNodes(): number[] {
    return this.nodes.filter((i) => this.kind(i) === 'T');
  }

  async up(opts: Record<number, StartOpts> = {}): Promise<void> {
    await this.lab.down();
    await this.lab.up(this.kinds.length, { wait: true, timeoutMs: 60_000 });
    for (const i of this.nodes) this.start(i, opts[i]);
    await this.waitConverged(90_000);
  }

  start(i: number, opts: StartOpts = {}): void {
    if (this.kind(i) === 'T') {
      this.d.start(i, opts.tsArgs ?? []);
      return;
    }
    let env: NodeJS.ProcessEnv | undefined;
    if (opts.faketimeFile !== undefined) {
      if (FAKETIME_LIB === undefined) throw new Error('libfaketime is not installed');
      env = {
        ...process.env,
        LD_PRELOAD: FAKETIME_LIB,
        FAKETIME_TIMESTAMP_FILE: opts.faketimeFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      };
    }
    this.lab.spawn(i, 'pmxcfs', [C_BIN!, '-f', '-d'], { append: true, ...(env !== undefined ? { env } : {}) });
  }

  async stop(i: number): Promise<void> {
    await this.lab.kill(i, 'pmxcfs', 'SIGTERM', true, 15_000);
  }

  log(i: number): string {
    return this.lab.readLog(i, 'pmxcfs');
  }

  /** The C node's dcdb log lines (notices), without debug noise. */
  cNotices(i: number, domain = 'dcdb'): string[] {
    return this.log(i)
      .split('\n')
      .filter((l) => l.startsWith(`[${domain}] `) && !l.includes(' debug: '));
  }

  /** A C node finished its last dcdb sync round (its last mode notice is "all data is up to date"). */
  cSynced(i: number): boolean {
    const modes = this.cNotices(i).filter((l) => /starting data syncronisation|all data is up to date|leaving CPG group|start cluster connection/.test(l));
    return modes.length > 0 && modes[modes.length - 1]!.includes('all data is up to date');
  }

  /** Run ops on node i; C: one shell per op through /etc/pve, TS: one fs batch. */
  async ops(i: number, ops: readonly Op[]): Promise<FsResult[]> {
    if (this.kind(i) === 'T') return this.d.batch(i, ops);
    const out: FsResult[] = [];
    for (const op of ops) {
      // Never write into the plain directory under a missing FUSE mount.
      const r = await this.lab.exec(i, ['sh', '-c', `grep -q ' /etc/pve fuse' /proc/mounts || { echo 'no FUSE mount on /etc/pve' >&2; exit 99; }; ${shellOp(op)}`], { timeoutMs: 60_000 });
      out.push({ op: op.op, path: op.path, ok: r.code === 0, data: r.stdout, ...(r.code !== 0 ? { error: r.stderr.trim() } : {}) });
    }
    return out;
  }

  /** ops() that must all succeed. */
  async batchOk(i: number, ops: readonly Op[]): Promise<boolean> {
    const res = await this.ops(i, ops);
    const failed = res.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`n${i} (${this.kind(i)}) ops failed: ${JSON.stringify(failed)}`);
    return true;
  }

  /** Content of a file seen by node i (undefined when absent). */
  async read(i: number, path: string): Promise<string | undefined> {
    const [r] = await this.ops(i, [{ op: 'cat', path }]);
    return r!.ok ? String(r!.data) : undefined;
  }

  async exists(i: number, path: string): Promise<boolean> {
    if (this.kind(i) === 'C') {
      const r = await this.lab.exec(i, ['sh', '-c', `grep -q ' /etc/pve fuse' /proc/mounts || exit 99; test -e ${q(`/etc/pve/${path}`)}`]);
      if (r.code === 99) throw new Error(`n${i} (C): no FUSE mount on /etc/pve\n${this.tail(i)}`);
      return r.code === 0;
    }
    const r = await this.d.batch(i, [{ op: 'stat', path }]);
    return r[0]!.ok;
  }

  async checksum(i: number): Promise<string> {
    return this.d.checksum(i);
  }

  async tsStatus(i: number): Promise<DaemonStatus> {
    return this.d.status(i);
  }

  /**
   * Every running node synced with all `nodes` (TS: status SYNCED with every member
   * synced; C: last dcdb mode notice is "all data is up to date") and every DB has
   * the same checksum.
   */
  async waitConverged(timeoutMs = 60_000, nodes: readonly number[] = this.nodes): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const states = await Promise.all(
        nodes.map(async (i) => {
          if (this.kind(i) === 'C') return this.cSynced(i);
          const s = await this.d.tryStatus(i);
          return s !== undefined && s.dfsm !== null && s.dfsm.mode === 'SYNCED' && s.quorate && s.dfsm.members.length === nodes.length && s.dfsm.members.every((m) => m.synced) && s.dfsm.msgQueue === 0;
        }),
      );
      const sums = await Promise.all(nodes.map((i) => this.checksum(i).catch((e: Error) => `error ${e.message}`)));
      if (states.every((s) => s) && sums.every((s) => s === sums[0])) return sums[0]!;
      last = nodes.map((i, k) => `n${i}(${this.kind(i)}) synced=${states[k]} ${sums[k]}`).join('; ');
      if (Date.now() > deadline) {
        const logs = nodes.map((i) => `--- n${i} (${this.kind(i)})\n${this.tail(i)}`).join('\n');
        throw new Error(`not converged after ${timeoutMs} ms: ${last}\n${logs}`);
      }
      await sleep(300);
    }
  }

  tail(i: number, lines = 25): string {
    const all = this.log(i).split('\n');
    const keep = this.kind(i) === 'C' ? all.filter((l) => !l.includes(' debug: ')) : all;
    return keep.slice(-lines).join('\n');
  }

  async down(): Promise<void> {
    await this.lab.down();
  }
}

/**
 * Every operation type, done by one node under directory `p`: create, write at
 * offset, truncate, mkdir, rename file and (empty) dir, delete file and dir, mtime,
 * and a lock directory with a newer-mtime refresh; `failing` must fail on both kinds. Returns the ops and the expected files.
 */
export function opSuite(p: string): { ops: Op[]; failing: Op[]; files: Record<string, string>; gone: string[]; lock: string } {
  const lock = `priv/lock/${p.replace(/\//g, '-')}`;
  const ops: Op[] = [
    { op: 'mkdir', path: p },
    { op: 'mkdir', path: `${p}/sub` },
    { op: 'write', path: `${p}/a`, data: 'hello world\n' },
    { op: 'write', path: `${p}/a`, data: 'XY', offset: 3 },
    { op: 'write', path: `${p}/a`, data: '+tail', offset: 12 },
    { op: 'write', path: `${p}/b`, data: '0123456789' },
    { op: 'truncate', path: `${p}/b`, length: 4 },
    { op: 'write', path: `${p}/c`, data: 'to be deleted' },
    { op: 'rm', path: `${p}/c` },
    { op: 'mv', path: `${p}/a`, to: `${p}/sub/a2` },
    { op: 'mkdir', path: `${p}/dir1` },
    { op: 'mv', path: `${p}/dir1`, to: `${p}/dir2` },
    { op: 'write', path: `${p}/dir2/inner`, data: 'inner file\n' },
    { op: 'mkdir', path: `${p}/empty` },
    { op: 'rmdir', path: `${p}/empty` },
    { op: 'touch', path: `${p}/sub`, mtime: 1_700_000_000 },
    { op: 'touch', path: `${p}/b`, mtime: 1_600_000_000 },
    { op: 'mkdir', path: lock },
    { op: 'touch', path: lock, mtime: 2_000_000_000 },
  ];
  const files = {
    [`${p}/sub/a2`]: 'helXY world\n+tail',
    [`${p}/b`]: '0123',
    [`${p}/dir2/inner`]: 'inner file\n',
  };
  // C renames only empty directories (unlink_tree_entry): ENOTEMPTY on both kinds.
  const failing: Op[] = [{ op: 'mv', path: `${p}/dir2`, to: `${p}/dir3` }];
  return { ops, failing, files, gone: [`${p}/a`, `${p}/c`, `${p}/dir1`, `${p}/empty`], lock };
}
