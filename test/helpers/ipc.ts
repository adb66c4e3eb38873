/**
 * Helpers for the IPC tests: guest configs with the answers ipc.md records from C,
 * identities for setpriv, and `pmxcfs-ts ipc batch` in a lab node.
 */
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { packageRoot } from '../../src/util/addon.js';

/** 100/101 as observed on C (ipc.md §5.9); 102 the quirks; 103 empty (EIO). */
export const GUEST_CONFIGS: Readonly<Record<string, string>> = {
  'nodes/n1/qemu-server/100.conf': 'lock: backup\ntags: a;b\ncores:  2  \ndesc: say "hi" c:\\x\n[snap1]\nlock: snapshot\n',
  'nodes/n1/lxc/101.conf': 'hostname: ct101\ntags: x',
  'nodes/n1/qemu-server/102.conf': 'blank:   \ndup: first\ndup: second\nUpper: x\n',
  'nodes/n1/qemu-server/103.conf': '',
};

export type Identity = 'root' | 'www-data' | 'root-gid-www' | 'nobody' | 'root-gid-1000' | 'user-supp-www';

const SETPRIV: Record<Identity, string[]> = {
  root: [],
  'www-data': ['setpriv', '--reuid=33', '--regid=33', '--clear-groups'],
  'root-gid-www': ['setpriv', '--reuid=0', '--regid=33', '--clear-groups'],
  nobody: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
  'root-gid-1000': ['setpriv', '--reuid=0', '--regid=1000', '--clear-groups'],
  'user-supp-www': ['setpriv', '--reuid=1000', '--regid=1000', '--groups=33'],
};

export function asIdentity(who: Identity, argv: readonly string[]): string[] {
  return [...SETPRIV[who], ...argv];
}

export interface WireReply {
  readonly id: number;
  readonly error: number;
  readonly errno: string;
  readonly size: number;
  readonly payload: Buffer;
  /** Set when the server dropped the connection instead of replying. */
  readonly transport?: string;
}

export function parseWire(stdout: string): WireReply[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const j = JSON.parse(l) as Omit<WireReply, 'payload'> & { payload?: string };
      return { ...j, payload: Buffer.from(j.payload ?? '', 'base64') };
    });
}

export function ipcCli(...args: string[]): string[] {
  return [process.execPath, join(packageRoot(), 'bin', 'pmxcfs-ts.mjs'), 'ipc', ...args];
}

/** The raw requests through one libqb connection in node i as `who`; throws when the connect fails. */
export async function ipcBatch(lab: Lab, i: number, reqs: readonly Buffer[], who: Identity = 'root'): Promise<WireReply[]> {
  const input = reqs.map((r) => JSON.stringify({ hex: r.toString('hex') })).join('\n') + '\n';
  const r = await lab.exec(i, asIdentity(who, ipcCli('batch')), { input, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ipc batch as ${who}: exit ${r.code}: ${r.stderr.trim()}`);
  const out = parseWire(r.stdout);
  if (out.length !== reqs.length) throw new Error(`ipc batch: ${out.length} replies for ${reqs.length} requests: ${r.stderr}`);
  return out;
}
