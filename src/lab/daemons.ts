/**
 * Driving pmxcfs-ts daemons in lab nodes: start them, read their status, run fs
 * batches and checksums, wait for sync. Used by the lab tests and `pmxcfs-ts demo`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../cluster/native.js';
import { daemonProcessEnv } from '../daemon/options.js';
import { type Lab, labUnavailable } from './lab.js';

/** Why lab tests with FUSE cannot run here (no lab, addon not built, no /dev/fuse), or undefined. */
export function fuseLabUnavailable(): string | undefined {
  const build = join(packageRoot(), 'build', 'Release');
  const addon = existsSync(join(build, 'fuse.node')) ? undefined : `FUSE addon not built (${build}/fuse.node); run npm install`;
  return labUnavailable() ?? addon ?? (existsSync('/dev/fuse') ? undefined : '/dev/fuse missing');
}

export interface DaemonStatus {
  nodename: string;
  pid: number;
  mode: string;
  quorate: boolean;
  db: { version: number; mtime: number; entries: number; errors: boolean };
  dfsm: null | {
    mode: string;
    members: { nodeid: number; pid: number; synced: boolean }[];
    lastVerify: { time: number; result: string } | null;
    msgQueue: number;
    syncQueue: number;
    waitingWriters: number;
  };
}

export interface FsResult {
  op: string;
  path: string;
  ok: boolean;
  result?: number;
  data?: unknown;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** This process's environment as the bins' shebang gives it to the daemon (daemonProcessEnv). */
export function daemonEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return daemonProcessEnv(process.env, extra);
}

export class DaemonLab {
  readonly bin = join(packageRoot(), 'bin', 'pmxcfs-ts.mjs');
  constructor(readonly lab: Lab) {}

  /** The bin run as its shebang runs it (no node flags; its environment: daemonEnv). */
  cli(...args: string[]): string[] {
    return [process.execPath, this.bin, ...args];
  }

  /**
   * Start the daemon in the foreground in node i (default paths, private per node).
   * Without `fuse` it serves files through the control socket only.
   */
  start(i: number, extra: string[] = [], options: { fuse?: boolean } = {}): void {
    const fuse = options.fuse === true ? [] : ['--no-fuse'];
    this.lab.spawn(i, 'pmxcfs', this.cli('-f', ...fuse, ...extra), { append: true, env: daemonEnv() });
  }

  /** A shell command in node i (for /etc/pve: never from the daemon's own process). */
  async sh(i: number, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.lab.exec(i, ['sh', '-c', script], { timeoutMs: 60_000 });
  }

  async status(i: number): Promise<DaemonStatus> {
    const r = await this.lab.exec(i, this.cli('status', '--json'), { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`n${i} status: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as DaemonStatus;
  }

  async tryStatus(i: number): Promise<DaemonStatus | undefined> {
    try {
      return await this.status(i);
    } catch {
      return undefined;
    }
  }

  async waitFor(i: number, pred: (s: DaemonStatus) => boolean, timeoutMs: number, what: string): Promise<DaemonStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: DaemonStatus | undefined;
    for (;;) {
      last = await this.tryStatus(i);
      if (last !== undefined && pred(last)) return last;
      if (Date.now() > deadline) throw new Error(`n${i}: timed out waiting for ${what}; last status ${JSON.stringify(last)}\n${this.lab.readLog(i, 'pmxcfs').slice(-3000)}`);
      await sleep(250);
    }
  }

  /** Every node SYNCED with all `nodes` as synced members, queues empty. */
  async waitSynced(nodes: readonly number[], timeoutMs: number): Promise<void> {
    for (const i of nodes) {
      await this.waitFor(
        i,
        (s) => s.dfsm !== null && s.dfsm.mode === 'SYNCED' && s.quorate && s.dfsm.members.length === nodes.length && s.dfsm.members.every((m) => m.synced),
        timeoutMs,
        `SYNCED with ${nodes.length} members`,
      );
    }
  }

  async batch(i: number, ops: readonly object[]): Promise<FsResult[]> {
    const r = await this.lab.exec(i, this.cli('fs', 'batch'), { input: ops.map((o) => JSON.stringify(o)).join('\n') + '\n', timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`n${i} fs batch: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as FsResult);
  }

  async checksum(i: number): Promise<string> {
    const r = await this.lab.exec(i, this.cli('db', 'checksum', '/var/lib/pve-cluster/config.db'));
    if (r.code !== 0) throw new Error(`n${i} db checksum: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Same database version and checksum on every node (polls: the last messages may be in flight). */
  async waitConverged(nodes: readonly number[], timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sums = await Promise.all(nodes.map((i) => this.checksum(i)));
      if (sums.every((s) => s === sums[0])) return sums[0]!;
      if (Date.now() > deadline) throw new Error(`checksums differ: ${sums.join(' ')}`);
      await sleep(300);
    }
  }
}
