/**
 * The single executable. With no subcommand it is the daemon (drop-in for C's
 * pmxcfs, same flags); tools are subcommands. Each subcommand module exports
 * `run(args): Promise<number>` and is loaded only when used, so `pmxcfs-ts db ...`
 * never loads the native addon.
 */

import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  db: { summary: 'offline database tools: dump, index, checksum, check', load: async () => (await import('./db.js')).run },
  status: { summary: "the running daemon's status [--json] [--watch]", load: async () => (await import('./status.js')).run },
  fs: { summary: 'file operations through the daemon: ls cat write mkdir rm rmdir mv touch', load: async () => (await import('./fs.js')).run },
  metrics: { summary: "the daemon's Prometheus metrics (text format)", load: async () => (await import('./metrics.js')).run },
  verify: { summary: 'start a verify round now (lowest node only)', load: async () => (await import('./verify.js')).run },
  demo: { summary: 'the 3-node demo cluster in the lab (demo | demo down)', load: async () => (await import('./demo.js')).run },
  ipc: { summary: 'one request to the pve2 IPC service (C or TS pmxcfs): ipc help', load: async () => (await import('./ipc.js')).run },
  lab: { summary: 'corosync lab in network namespaces: up N, down, status, sh, run, kill', load: async () => (await import('../lab/cli.js')).run },
};

function usage(): string {
  const lines = ['usage: pmxcfs-ts [daemon options]', '       pmxcfs-ts <command> [args]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help') {
    process.stdout.write(usage());
    return 0;
  }
  if (first !== undefined && !first.startsWith('-')) {
    const command = commands[first];
    if (command === undefined) {
      process.stderr.write(`pmxcfs-ts: unknown command '${first}'\n${usage()}`);
      return 2;
    }
    return (await command.load())(rest);
  }
  return (await loadDaemon()).runDaemon(argv);
}

type DaemonModule = typeof import('../daemon/daemon.js');

/**
 * The daemon's code: the bundle of scripts/bundle.mjs (`npm run build`, see bundle.ts)
 * while it is newer than the compiled tree (a later bare `tsc` leaves it stale), else
 * the tree.
 */
export async function loadDaemon(): Promise<DaemonModule> {
  const bundle = fileURLToPath(new URL('../../bundle/daemon.cjs', import.meta.url));
  const tree = new URL('../daemon/daemon.js', import.meta.url);
  const fresh = (statSync(bundle, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= (statSync(tree, { throwIfNoEntry: false })?.mtimeMs ?? Infinity);
  if (!fresh) return import('../daemon/daemon.js');
  const { loadBundle } = await import('./bundle.js');
  return loadBundle(bundle).exports as DaemonModule;
}
