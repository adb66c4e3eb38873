/**
 * The daemon's bundle (scripts/bundle.mjs): `npm test` builds it, so every test that
 * starts a daemon through the bins runs the bundled code a deployment runs, and a
 * stale bundle is never loaded (src/cli/main.ts, loadDaemon).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/util/addon.js';

const root = packageRoot();
const bundle = join(root, 'dist', 'bundle', 'daemon.js');
const tree = join(root, 'dist', 'src', 'daemon', 'daemon.js');

/** Which daemon module `loadDaemon` returns in a child process: 'bundle' or 'tree'. */
function loadedDaemon(): string {
  const script = [
    "const d = await (await import('./dist/src/cli/main.js')).loadDaemon();",
    "const b = await import('./dist/bundle/daemon.js');",
    "const t = await import('./dist/src/daemon/daemon.js');",
    "console.log(d === b ? 'bundle' : d === t ? 'tree' : 'other');",
  ].join(' ');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('daemon bundle', () => {
  it('is built by npm test and newer than the compiled tree', () => {
    assert.ok(statSync(bundle).mtimeMs >= statSync(tree).mtimeMs, 'run `npm run build` (tsc, then scripts/bundle.mjs)');
  });

  it('is what the bins load while fresh; the compiled tree once tsc ran after it', () => {
    assert.equal(loadedDaemon(), 'bundle');
    const { atime, mtime } = statSync(bundle);
    try {
      utimesSync(bundle, atime, new Date(statSync(tree).mtimeMs - 60_000));
      assert.equal(loadedDaemon(), 'tree');
    } finally {
      utimesSync(bundle, atime, mtime);
    }
  });
});
