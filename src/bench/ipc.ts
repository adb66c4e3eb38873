/**
 * The IPC part of `npm run bench`: `pve2` round trips (src/bench/ipc-measure.ts) against
 * C and pmxcfs-ts alternately, each a local-mode daemon on lab node 1 serving the
 * same database: a 4 KiB file and 100 guest configs of typical size.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../lab/lab.js';
import { Memdb } from '../memdb/memdb.js';
import { type IpcMeasure, IPC_BENCH_OPS } from './ipc-measure.js';

const MEASURE = fileURLToPath(new URL('./ipc-measure.js', import.meta.url));
export const IPC_BENCH_GUESTS = 100;

export interface IpcFigure extends IpcMeasure {
  readonly kind: 'C' | 'TS';
  readonly op: string;
}

/** A guest config of ~30 lines as qm writes them, with lock/tags on some guests. */
function guestConfig(vmid: number): Buffer {
  const lines = [
    `boot: order=scsi0;net0`,
    `cores: ${1 + (vmid % 8)}`,
    `cpu: x86-64-v2-AES`,
    ...(vmid % 3 === 0 ? ['lock: backup'] : []),
    `memory: ${1024 * (1 + (vmid % 4))}`,
    `meta: creation-qemu=9.0.2,ctime=1700000000`,
    `name: guest-${vmid}`,
    `net0: virtio=BC:24:11:00:${(vmid % 256).toString(16).padStart(2, '0')}:01,bridge=vmbr0,firewall=1`,
    `numa: 0`,
    `ostype: l26`,
    `scsi0: local-lvm:vm-${vmid}-disk-0,iothread=1,size=32G`,
    `scsihw: virtio-scsi-single`,
    `smbios1: uuid=00000000-0000-4000-8000-${String(vmid).padStart(12, '0')}`,
    `sockets: 1`,
    ...(vmid % 2 === 0 ? [`tags: prod;web`] : []),
    `vmgenid: 00000000-0000-4000-8000-${String(vmid).padStart(12, '0')}`,
    '',
    '[snap1]',
    'lock: snapshot',
    `name: guest-${vmid}-old`,
  ];
  return Buffer.from(lines.join('\n') + '\n');
}

/** Write the bench database to `file` (replaced) for node `node`. */
export function ipcBenchDb(file: string, node: string): void {
  for (const ext of ['', '-wal', '-shm']) rmSync(file + ext, { force: true });
  const m = Memdb.open(file);
  const t = 1_700_000_000;
  const ok = (r: number, what: string): void => {
    if (r < 0) throw new Error(`ipc bench db: ${what}: ${r}`);
  };
  for (const d of ['nodes', `nodes/${node}`, `nodes/${node}/qemu-server`]) ok(m.mkdir(d, 0, t), d);
  const big = Buffer.alloc(4096, 0x61);
  for (let k = 63; k < big.length; k += 64) big[k] = 0x0a;
  ok(m.create('bench-4k.cfg', 0, t), 'create');
  ok(m.write('bench-4k.cfg', 0, t, big, 0, true), 'write');
  for (let v = 100; v < 100 + IPC_BENCH_GUESTS; v++) {
    const p = `nodes/${node}/qemu-server/${v}.conf`;
    ok(m.create(p, 0, t), p);
    ok(m.write(p, 0, t, guestConfig(v), 0, true), p);
  }
  m.close();
}

/** Round trips measured in node `i` (a daemon must serve `pve2` there). */
export async function measureIpc(lab: Lab, i: number, count: number): Promise<Record<string, IpcMeasure>> {
  const r = await lab.exec(i, [process.execPath, MEASURE, JSON.stringify({ count })], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`ipc-measure: exit ${r.code}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Record<string, IpcMeasure>;
  for (const op of Object.keys(IPC_BENCH_OPS)) if (out[op] === undefined) throw new Error(`ipc-measure: no figure for ${op}`);
  return out;
}

/** Wait until `pve2` answers in node i (the daemon finished starting). */
export async function waitIpc(lab: Lab, i: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await lab.exec(i, [process.execPath, MEASURE, JSON.stringify({ count: 1 })]);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`n${i}: pve2 does not answer: ${r.stderr.slice(-500)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
