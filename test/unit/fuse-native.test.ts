/**
 * The native FUSE session (native/fuse.cc) on its own: a request still pending when
 * the session is destroyed is answered (EIO) before the session is freed, and a late
 * reply for it finds no session instead of freed memory. Runs fuse-native-session.js
 * in a private mount namespace. Skipped unless root with /dev/fuse and unshare.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const ENOENT = 2;

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/usr/bin/unshare')) return 'no unshare';
  if (!existsSync(join(repoRoot, 'build', 'Release', 'fuse.node'))) return 'native fuse addon not built';
  try {
    accessSync('/dev/fuse');
  } catch {
    return '/dev/fuse not accessible';
  }
  return false;
}

describe('native FUSE session lifetime', { skip: skipReason() }, () => {
  it('destroy answers a pending request (EIO to the caller); a late reply is dropped', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('unshare', ['-m', '--propagation', 'private', process.execPath, join(here, 'fuse-native-session.js')], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const r = JSON.parse(out) as { pendingBefore: number; clean: boolean; writerCode: number | null; writerErr: string; lateReply: number };
    assert.equal(r.pendingBefore, 1, 'the CREATE is pending in the session');
    assert.notEqual(r.writerCode, 0, 'the shell saw its open fail');
    assert.match(r.writerErr, /Input\/output error/, 'the pending CREATE was answered with EIO');
    assert.equal(r.lateReply, -ENOENT, 'a reply after destroy finds no session');
  });
});
