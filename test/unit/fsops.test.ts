/**
 * The local-client operations (FsOps) in local mode: C's results, plus the sending
 * rule that a truncate to N > 0 always carries the first N bytes, so no node ever
 * holds a file with a size but no data (memdb.md pitfall 2).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsOps } from '../../src/fsops/fsops.js';
import { EBUSY, EFBIG, EINVAL, EISDIR, ENOENT, ENOTDIR } from '../../src/memdb/errno.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { scratchDir } from '../helpers/golden.js';
import { ManualClock } from '../../src/util/clock.js';

function local(): { fs: FsOps; memdb: Memdb; file: string } {
  const file = join(scratchDir(), 'config.db');
  const memdb = Memdb.open(file);
  return { fs: new FsOps(memdb, null, ManualClock.atSeconds(1_700_000_000)), memdb, file };
}

describe('FsOps (local mode)', () => {
  it('truncate keeps data and size together, also across a reopen', async () => {
    const { fs, memdb, file } = local();
    assert.equal(await fs.create('f'), 0);
    assert.equal(await fs.truncate('f', 5), 0);
    assert.deepEqual(fs.read('f'), Buffer.alloc(5));
    assert.equal(await fs.write('f', Buffer.from('abcdefgh'), 0), 8);
    assert.equal(await fs.truncate('f', 3), 0);
    assert.equal(String(fs.read('f')), 'abc');
    assert.equal(await fs.truncate('f', 0), 0);
    assert.equal(fs.getattr('f')!.size, 0);
    assert.equal(await fs.truncate('f', 2), 0);
    memdb.close();
    const again = Memdb.open(file);
    assert.equal(again.getattr('f')!.size, 2);
    assert.deepEqual(again.read('f'), Buffer.alloc(2));
    again.close();
  });

  it("errors are C's", async () => {
    const { fs } = local();
    await fs.mkdir('d');
    assert.equal(await fs.truncate('missing', 4), -ENOENT);
    assert.equal(await fs.truncate('d', 4), -EISDIR, 'as truncate(2) on a directory');
    assert.equal(await fs.truncate('d', 0), -ENOTDIR, 'length 0 goes to memdb: C\'s errno');
    await fs.create('f');
    assert.equal(await fs.truncate('f', 1024 * 1024 + 1), -EFBIG);
    assert.equal(await fs.rename('d', 'd/x'), -EINVAL);
    assert.equal(await fs.rename('f', 'f'), 0, 'rename onto the same entry is a no-op');
    assert.equal(fs.read('d'), -21);
  });

  it('utime(lock, 0) removes an expired lock in local mode and refuses a fresh one', async () => {
    const clock = ManualClock.atSeconds(1_700_000_000);
    const file = join(scratchDir(), 'config.db');
    const memdb = Memdb.open(file, { clock });
    const fs = new FsOps(memdb, null, clock);
    await fs.mkdir('priv');
    await fs.mkdir('priv/lock');
    await fs.mkdir('priv/lock/l');
    assert.ok((await fs.utimens('priv/lock/l', 0)) < 0, 'fresh lock: EACCES');
    clock.advance(121_000);
    assert.equal(await fs.utimens('priv/lock/l', 0), 0);
    assert.equal(fs.getattr('priv/lock/l'), null);
    memdb.close();
  });
});

describe('logging', () => {
  it('debug switches on and off for every domain logger at run time (.debug, -d)', async () => {
    const { Writable } = await import('node:stream');
    const { createLogger, domainLog, setDebug } = await import('../../src/util/logger.js');
    const lines: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const logger = createLogger({ debug: false, pretty: true, destination });
    const dcdb = domainLog(logger, 'dcdb');
    dcdb.debug({}, 'hidden');
    setDebug(logger, true);
    dcdb.debug({}, 'shown');
    setDebug(logger, false);
    dcdb.debug({}, 'hidden again');
    dcdb.info({ members: ['1/2'] }, 'members');
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 2, lines.join(''));
    assert.match(lines[0]!, / debug \[dcdb\] shown/);
    assert.match(lines[1]!, / info \[dcdb\] members members=\["1\/2"\]/);
  });
});

describe('FsOps.close (the first step of the daemon stop)', () => {
  it('refuses every change with EBUSY and keeps reads', async () => {
    const { fs } = local();
    assert.equal(await fs.write('f', Buffer.from('x'), 0), -ENOENT); // before close the operation runs
    assert.equal(await fs.create('f'), 0);
    fs.close();
    assert.equal(await fs.create('g'), -EBUSY);
    assert.equal(await fs.write('f', Buffer.from('x'), 0), -EBUSY);
    assert.equal(await fs.truncate('f', 0), -EBUSY);
    assert.equal(await fs.mkdir('d'), -EBUSY);
    assert.equal(await fs.remove('f'), -EBUSY);
    assert.equal(await fs.rename('f', 'h'), -EBUSY);
    assert.equal(await fs.utimens('f', 5), -EBUSY);
    assert.equal(fs.getattr('g'), null);
    assert.equal(fs.getattr('f')?.name, 'f');
  });
});
