/**
 * `pmxcfs-ts demo [up|down]`: the README's main job. Brings up the 3-node lab
 * (prefix pmxlab) with pmxcfs-ts on every node (each mounting its own /etc/pve),
 * writes a file through node 1's /etc/pve, reads it back on node 3, prints every node's status and leaves the cluster
 * running for exploration.
 */
import { Lab, labUnavailable } from '../lab/lab.js';
import { DaemonLab } from '../lab/daemons.js';

const NODES = [1, 2, 3];

export async function run(args: string[]): Promise<number> {
  const lab = new Lab({ prefix: process.env['PMXCFS_LAB_PREFIX'] ?? 'pmxlab' });
  if (args[0] === 'down') {
    await lab.down();
    process.stdout.write('demo cluster removed\n');
    return 0;
  }
  const why = labUnavailable();
  if (why !== undefined) {
    process.stderr.write(`pmxcfs-ts demo: ${why}\n`);
    return 1;
  }
  const d = new DaemonLab(lab);
  process.stdout.write('bringing up 3 corosync nodes in network namespaces ...\n');
  await lab.down();
  await lab.up(3, { wait: true, timeoutMs: 60_000 });
  process.stdout.write('starting pmxcfs-ts on n1, n2, n3 ...\n');
  for (const i of NODES) d.start(i, [], { fuse: true });
  await d.waitSynced(NODES, 60_000);

  const text = `hello from n1 at ${new Date().toISOString()}\n`;
  const w = await d.sh(1, `printf '%s' '${text.replace(/'/g, '')}' > /etc/pve/demo.txt`);
  if (w.code !== 0) throw new Error(`write on n1 failed: ${w.stderr}`);
  process.stdout.write(`\nn1: echo ... > /etc/pve/demo.txt: ${JSON.stringify(text)}\n`);
  await d.waitConverged(NODES);
  const r = await d.sh(3, 'cat /etc/pve/demo.txt');
  process.stdout.write(`n3: cat /etc/pve/demo.txt:        ${JSON.stringify(r.stdout)}${r.stdout === text ? '  (identical)' : '  (DIFFERENT!)'}\n`);
  const ls = await d.sh(2, 'ls -la /etc/pve');
  process.stdout.write(`n2: ls -la /etc/pve\n${ls.stdout}`);

  for (const i of NODES) {
    const s = await lab.exec(i, d.cli('status'));
    process.stdout.write(`\n== n${i} ==\n${s.stdout}`);
  }
  process.stdout.write(`
The cluster keeps running. Explore it:
  pmxcfs-ts lab sh 2 pmxcfs-ts fs ls /
  pmxcfs-ts lab sh 3 cat /etc/pve/demo.txt
  pmxcfs-ts lab sh 2 'mkdir -p /etc/pve/nodes/n2/qemu-server && echo "memory: 512" > /etc/pve/nodes/n2/qemu-server/100.conf'
  pmxcfs-ts lab sh 1 cat /etc/pve/.vmlist /etc/pve/.members
  echo hi | pmxcfs-ts lab sh 2 pmxcfs-ts fs write /hello.txt
  pmxcfs-ts lab sh 1 pmxcfs-ts status
  pmxcfs-ts lab sh 1 corosync-quorumtool -s
Logs: ${lab.logPath(1, 'pmxcfs')} (and n2, n3)
Tear it down:
  pmxcfs-ts demo down
`);
  return r.stdout === text ? 0 : 1;
}
