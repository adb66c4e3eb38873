/**
 * Child of fuse-native.test.ts, run in a private mount namespace: mounts a tiny
 * filesystem with the native addon directly (served on this process's event loop),
 * lets a shell block in open(O_CREAT) on a CREATE that is never answered, then stops
 * and destroys the session. Prints one JSON line with what it observed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuseAddon, FuseOp, type FuseRequest } from '../../src/fuse/native.js';

const ENOENT = 2;
const ENOSYS = 38;
const S_IFDIR = 0o040000;

async function main(): Promise<void> {
  const addon = fuseAddon();
  const mnt = mkdtempSync(join(tmpdir(), 'fuse-native-'));
  let createId = -1;
  let created: () => void = () => undefined;
  const createSeen = new Promise<void>((r) => (created = r));
  const handler = (req: FuseRequest): void => {
    if (req.op === FuseOp.GETATTR && req.ino === 1) addon.replyAttr(req.id, { ino: 1, mode: S_IFDIR | 0o755, nlink: 2, uid: 0, gid: 0, size: 0, blocks: 0, mtime: 0 }, 1);
    else if (req.op === FuseOp.LOOKUP) addon.replyErr(req.id, ENOENT);
    else if (req.op === FuseOp.CREATE) {
      createId = req.id; // left pending on purpose
      created();
    } else if (req.op === FuseOp.FORGET) addon.replyNone(req.id);
    else addon.replyErr(req.id, ENOSYS);
  };
  const h = addon.mount(mnt, 'default_permissions', handler);
  const writer = spawn('sh', ['-c', `echo x > ${mnt}/f`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let writerErr = '';
  writer.stderr.on('data', (b: Buffer) => (writerErr += b.toString()));
  const writerExit = new Promise<number | null>((r) => writer.on('exit', (code) => r(code)));
  await createSeen;
  const pendingBefore = addon.pendingCount(h);
  addon.stop(h);
  const clean = addon.destroy(h);
  const writerCode = await writerExit;
  const lateReply = addon.replyErr(createId, 0);
  process.stdout.write(JSON.stringify({ pendingBefore, clean, writerCode, writerErr: writerErr.trim(), lateReply }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
