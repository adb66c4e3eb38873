/** memdb's "index equals tree" invariant (src/memdb/invariants.ts) after every change. */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsOps } from '../../src/fsops/fsops.js';
import { indexMatchesTree } from '../../src/memdb/invariants.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { AssertionError } from '../../src/util/assert.js';
import { Rng } from '../../src/util/rng.js';
import { scratchDir } from '../helpers/golden.js';
import { ManualClock } from '../../src/util/clock.js';

describe('index equals tree', () => {
  it('holds after each of 1500 random local operations and after a reopen', async () => {
    const file = join(scratchDir(), 'config.db');
    const memdb = Memdb.open(file);
    const fs = new FsOps(memdb, null, ManualClock.atSeconds(1_700_000_000));
    const rng = new Rng(11);
    const names = ['a', 'b', 'c', 'd/e', 'd', 'a/x', 'b/y', 'a/x/z'];
    let applied = 0;
    for (let k = 0; k < 1500; k++) {
      const p = rng.pick(names);
      const q = rng.pick(names);
      const ops = [() => fs.create(p), () => fs.mkdir(p), () => fs.write(p, Buffer.from(`v${k}`), 0), () => fs.remove(p), () => fs.rename(p, q), () => fs.truncate(p, rng.int(4))];
      if ((await rng.pick(ops)()) >= 0) applied++;
      assert.equal(indexMatchesTree(memdb), null, `after operation ${k}`);
    }
    assert.ok(applied >= 300, `a good share of the operations changed something (${applied})`);
    memdb.close();
    const again = Memdb.open(file);
    assert.equal(indexMatchesTree(again), null, 'after load');
    again.close();
  });

  it('reports an index that lost an entry', async () => {
    const memdb = Memdb.open(join(scratchDir(), 'config.db'));
    const fs = new FsOps(memdb, null, ManualClock.atSeconds(1_700_000_000));
    assert.equal(await fs.mkdir('dir'), 0);
    const inode = memdb.getattr('dir')!.inode;
    memdb.index.delete(inode);
    assert.match(indexMatchesTree(memdb) ?? '', new RegExp(`inode ${inode}`));
    memdb.close();
  });

  it('with checkInvariants, the commit after a broken index fails the assertion', async () => {
    const memdb = Memdb.open(join(scratchDir(), 'config.db'), { checkInvariants: true });
    const fs = new FsOps(memdb, null, ManualClock.atSeconds(1_700_000_000));
    assert.equal(await fs.mkdir('dir'), 0);
    assert.equal(await fs.create('dir/f'), 0, 'a consistent tree passes the check');
    const inode = memdb.getattr('dir/f')!.inode;
    memdb.index.delete(inode);
    await assert.rejects(async () => fs.create('g'), (err: unknown) => err instanceof AssertionError && new RegExp(`inode ${inode}`).test(err.message));
    memdb.close();
  });

  it('place refuses an inode already in the tree under another name', () => {
    const memdb = Memdb.open(join(scratchDir(), 'config.db'));
    assert.equal(memdb.mkdir('a', 1, 1_700_000_000), 0);
    assert.equal(memdb.create('a/f', 1, 1_700_000_000), 0);
    const f = memdb.getattr('a/f')!;
    // The next change would take the version (and, for a new entry, the inode) f.inode + 1;
    // make the root lie so the new file's inode is f's: the commit must refuse it.
    memdb.root = { ...memdb.root, version: (f.inode as number) - 1 };
    assert.throws(() => memdb.create('a/g', 1, 1_700_000_000), AssertionError);
    memdb.close();
  });
});
