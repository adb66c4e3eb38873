/**
 * The single executable. With no subcommand it is the daemon (drop-in for C's
 * pmxcfs, same flags); tools are subcommands. Each subcommand module exports
 * `run(args): Promise<number>` and is loaded only when used, so `pmxcfs-ts db ...`
 * never loads the native addon.
 */

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  db: { summary: 'offline database tools: dump, index, checksum, check', load: async () => (await import('./db.js')).run },
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
  process.stderr.write('pmxcfs-ts: the daemon is not built yet\n');
  return 2;
}
