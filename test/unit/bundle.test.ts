/**
 * The daemon's bundle (scripts/bundle.mjs): `npm test` builds it, so every test that
 * starts a daemon through the bins runs the bundled code a deployment runs, and a
 * stale bundle is never loaded (src/cli/main.ts, loadDaemon). V8 takes its code cache
 * when node runs with no V8 flag, as the bins run it (src/cli/bundle.ts, DAEMON_V8_FLAGS).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/util/addon.js';

const root = packageRoot();
const bundle = join(root, 'dist', 'bundle', 'daemon.cjs');
const tree = join(root, 'dist', 'src', 'daemon', 'daemon.js');

/** Which daemon module `loadDaemon` returns in a child process: 'bundle' or 'tree'. */
function loadedDaemon(): string {
  const script = [
    "const d = await (await import('./dist/src/cli/main.js')).loadDaemon();",
    "const t = await import('./dist/src/daemon/daemon.js');",
    // The bundle's exports are a CommonJS exports object, the tree's a module namespace.
    "const kind = Object.prototype.toString.call(d) === '[object Module]' ? (d === t ? 'tree' : 'other') : 'bundle';",
    "console.log(typeof d.runDaemon === 'function' ? kind : 'no runDaemon');",
  ].join(' ');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('daemon bundle', () => {
  it('is built by npm test and newer than the compiled tree', () => {
    assert.ok(statSync(bundle).mtimeMs >= statSync(tree).mtimeMs, 'run `npm run build` (tsc, then scripts/bundle.mjs)');
  });

  it("is compiled from V8's code cache when node runs without V8 flags, as the bins run it", () => {
    const script = `import('./dist/src/cli/bundle.js').then((b) => console.log(b.loadBundle(${JSON.stringify(bundle)}).cache))`;
    const plain = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stdout.trim(), 'used');
    // Other flags: V8 refuses the cache and compiles the source (the daemon still runs).
    const other = spawnSync(process.execPath, ['--max-semi-space-size=8', '-e', script], { cwd: root, encoding: 'utf8' });
    assert.equal(other.stdout.trim(), 'rejected', other.stderr);
  });

  it('loads no built-in that the start does not use (util/lazy.ts: each costs start-up time)', () => {
    const lazy = ['crypto', 'http', 'child_process', 'fs/promises'];
    const script = `import('./dist/src/cli/bundle.js').then((b) => { b.loadBundle(${JSON.stringify(bundle)}); console.log(JSON.stringify(process.moduleLoadList)); })`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const loaded = new Set(JSON.parse(r.stdout) as string[]);
    assert.ok(loaded.has('NativeModule net'), 'the list names built-ins as NativeModule <id>');
    assert.deepEqual(lazy.filter((id) => loaded.has(`NativeModule ${id}`)), []);
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
