/**
 * `pmxcfs-ts lab ...` — drive the corosync lab (src/lab/lab.ts).
 */

import { DEFAULT_PREFIX, Lab, LabError } from './lab.js';

const USAGE = `usage: pmxcfs-ts lab [--prefix P] [--token MS] <command> (options also right after the command)

  up N [--no-wait] [--no-corosync]   create N nodes (n1..nN) and start corosync in each
  down                               tear everything down (idempotent)
  status                             nodes, addresses and named processes
  sh I CMD...                        run CMD (through sh -c) in node I; exit code is CMD's
  exec I ARGV...                     run ARGV directly in node I
  run I NAME CMD...                  start CMD in node I as background process NAME
  kill I NAME [SIG]                  signal NAME in node I (default SIGTERM) and wait for it
  log I NAME                         print the output of NAME in node I
  corosync stop|start I              stop/start corosync in node I
  link down|up I                     unplug/replug node I from the switch
  root I                             print node I's private directory on the host

prefix: --prefix, else $PMXCFS_LAB_PREFIX, else '${DEFAULT_PREFIX}'.
state: /run/pmxcfs-lab/<prefix>/ (node I: .../nI, logs in .../nI/log/NAME.log).
`;

function nodeIndex(lab: Lab, arg: string | undefined): number {
  const i = Number(arg);
  if (arg === undefined || !Number.isInteger(i) || i < 1) throw new LabError(`bad node index '${arg ?? ''}'`);
  const n = lab.size;
  if (n === 0) throw new LabError(`lab '${lab.prefix}' is not up`);
  if (i > n) throw new LabError(`lab '${lab.prefix}' has nodes 1..${n}`);
  return i;
}

type Command = (lab: Lab, params: string[]) => Promise<number> | number;

/** kill I NAME [SIG]: a signal by number or name (with or without SIG). */
function parseSignal(raw: string): NodeJS.Signals | number {
  return /^\d+$/.test(raw) ? Number(raw) : ((raw.startsWith('SIG') ? raw : `SIG${raw}`) as NodeJS.Signals);
}

const COMMANDS: Record<string, Command> = {
  up: async (lab, params) => {
    const n = Number(params.find((p) => !p.startsWith('-')) ?? '3');
    const t0 = Date.now();
    await lab.up(n, { wait: !params.includes('--no-wait'), noCorosync: params.includes('--no-corosync') });
    process.stdout.write(`lab '${lab.prefix}' up: ${n} nodes in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    process.stdout.write(lab.status());
    return 0;
  },
  down: async (lab) => {
    await lab.down();
    process.stdout.write(`lab '${lab.prefix}' down\n`);
    return 0;
  },
  status: (lab) => {
    process.stdout.write(lab.status());
    return lab.isUp() ? 0 : 1;
  },
  sh: (lab, params) => {
    const i = nodeIndex(lab, params[0]);
    return lab.execInteractive(i, params.length <= 1 ? ['sh'] : ['sh', '-c', params.slice(1).join(' ')]);
  },
  exec: (lab, params) => {
    const i = nodeIndex(lab, params[0]);
    if (params.length < 2) throw new LabError('exec I ARGV...');
    return lab.execInteractive(i, params.slice(1));
  },
  run: (lab, params) => {
    const i = nodeIndex(lab, params[0]);
    const name = params[1];
    if (name === undefined || params.length < 3) throw new LabError('run I NAME CMD...');
    const p = lab.spawn(i, name, params.slice(2));
    process.stdout.write(`n${i} ${name}: pid ${p.pid}, log ${p.log}\n`);
    return 0;
  },
  kill: async (lab, params) => {
    const i = nodeIndex(lab, params[0]);
    const name = params[1];
    if (name === undefined) throw new LabError('kill I NAME [SIG]');
    const found = await lab.kill(i, name, parseSignal(params[2] ?? 'SIGTERM'));
    if (!found) process.stderr.write(`n${i}: '${name}' is not running\n`);
    return found ? 0 : 1;
  },
  log: (lab, params) => {
    const i = nodeIndex(lab, params[0]);
    if (params[1] === undefined) throw new LabError('log I NAME');
    process.stdout.write(lab.readLog(i, params[1]));
    return 0;
  },
  corosync: async (lab, params) => {
    const i = nodeIndex(lab, params[1]);
    if (params[0] === 'stop') await lab.stopCorosync(i);
    else if (params[0] === 'start') await lab.startCorosync(i);
    else throw new LabError('corosync stop|start I');
    return 0;
  },
  link: (lab, params) => {
    const i = nodeIndex(lab, params[1]);
    if (params[0] === 'down') lab.linkDown(i);
    else if (params[0] === 'up') lab.linkUp(i);
    else throw new LabError('link down|up I');
    return 0;
  },
  root: (lab, params) => {
    process.stdout.write(lab.nodeRoot(nodeIndex(lab, params[0])) + '\n');
    return 0;
  },
};

export async function run(args: string[]): Promise<number> {
  let prefix: string | undefined;
  let token: number | undefined;
  const rest: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k]!;
    // Options go before the command or right after it (`lab down --prefix x`), never
    // among the parameters (those of `sh`/`run` are a command line of their own).
    const optionPlace = rest.length <= 1;
    if (optionPlace && (a === '--prefix' || a === '-p')) prefix = args[++k];
    else if (optionPlace && a.startsWith('--prefix=')) prefix = a.slice(9);
    else if (optionPlace && a === '--token') token = Number(args[++k]);
    else if (rest.length === 0 && (a === '-h' || a === '--help' || a === 'help')) {
      process.stdout.write(USAGE);
      return 0;
    } else rest.push(a);
  }
  const [cmd, ...params] = rest;
  if (cmd === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const command = COMMANDS[cmd];
  if (command === undefined) {
    process.stderr.write(`lab: unknown command '${cmd}'\n${USAGE}`);
    return 2;
  }
  try {
    return await command(new Lab({ ...(prefix !== undefined ? { prefix } : {}), ...(token !== undefined ? { token } : {}) }), params);
  } catch (e) {
    if (e instanceof LabError) {
      process.stderr.write(`lab: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
