/**
 * The native FUSE session (native/fuse.cc) on its own: a request still pending when
 * the session is destroyed is answered (EIO) before the session is freed, and a late
 * reply for it finds no session instead of freed memory. Runs fuse-native-session.js
 * in a private mount namespace. Skipped unless root with /dev/fuse and unshare.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuseSkipReason } from '../helpers/fuse.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const ENOENT = 2;

const VALGRIND = '/usr/bin/valgrind';

/** Run the session child in a private mount namespace, under `wrapper` (e.g. valgrind) if given. */
function runSession(wrapper: string[], timeoutMs: number): Promise<string> {
  const args = ['-m', '--propagation', 'private', ...wrapper, process.execPath, join(here, 'fuse-native-session.js')];
  return new Promise<string>((resolve, reject) => {
    execFile('unshare', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function checkSession(out: string): void {
  const r = JSON.parse(out) as { pendingBefore: number; clean: boolean; writerCode: number | null; writerErr: string; lateReply: number };
  assert.equal(r.pendingBefore, 1, 'the CREATE is pending in the session');
  assert.notEqual(r.writerCode, 0, 'the shell saw its open fail');
  assert.match(r.writerErr, /Input\/output error/, 'the pending CREATE was answered with EIO');
  assert.equal(r.lateReply, -ENOENT, 'a reply after destroy finds no session');
}

describe('native FUSE session lifetime', { skip: fuseSkipReason(['/usr/bin/unshare']) }, () => {
  it('destroy answers a pending request (EIO to the caller); a late reply is dropped', async () => {
    checkSession(await runSession([], 30_000));
  });

  // The same run under memcheck: a session freed while the loop or a late reply still
  // uses it is an invalid read here even when the plain run happens to survive it.
  it('the same under valgrind memcheck: no invalid access in the addon', { skip: existsSync(VALGRIND) ? false : 'valgrind not installed', timeout: 600_000 }, async () => {
    const memcheck = [VALGRIND, '--quiet', '--error-exitcode=99', '--leak-check=no'];
    checkSession(await runSession(memcheck, 590_000));
  });
});
