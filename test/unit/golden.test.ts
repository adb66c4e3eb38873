/**
 * Golden vectors from real C nodes: loading, index, checksum, UPDATE codec, and
 * replays of recorded CPG traffic through the same code the daemon runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { treeJson } from '../../src/cli/db.js';
import { applyNormalMessage } from '../../src/dcdb/apply.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { decodeFuseMessage, decodeUnlock, encodeFuseMessage, encodeUnlock, DcdbMessageType } from '../../src/wire/dcdb.js';
import { decodeDfsmMessage, DfsmMessageType, decodeVerify, type DfsmMessage } from '../../src/wire/dfsm.js';
import { decodeIndex, encodeIndex, indexEntries } from '../../src/wire/memdb-index.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';
import type { EntryFields } from '../../src/wire/entry.js';
import { u64Compare } from '../../src/wire/u64.js';
import { goldenDir, goldenMissing, goldenState, goldenStates, repoRoot, scratchCopy, transcript, transcriptNames, type TranscriptLine } from '../helpers/golden.js';

const skip = goldenMissing;
const bin = join(repoRoot, 'bin/pmxcfs-ts.mjs');

interface Delivered {
  readonly i: number;
  readonly nodeid: number;
  readonly pid: number;
  readonly raw: Buffer;
  readonly msg: DfsmMessage;
}

function messages(name: string): Delivered[] {
  const out: Delivered[] = [];
  for (const line of transcript(name) as TranscriptLine[]) {
    if (!('hex' in line)) continue;
    const raw = Buffer.from(line.hex, 'hex');
    assert.equal(raw.length, line.len);
    const msg = decodeDfsmMessage(raw);
    assert.ok(msg.ok, `message ${line.i} of ${name} decodes`);
    out.push({ i: line.i, nodeid: line.from.nodeid, pid: line.from.pid, raw, msg: msg.value });
  }
  return out;
}

/** Replay the NORMAL messages of a transcript through applyNormalMessage. */
function replayNormals(memdb: Memdb, name: string): number {
  let applied = 0;
  for (const d of messages(name)) {
    if (d.msg.kind !== 'normal') continue;
    const r = applyNormalMessage(memdb, d.msg.base.subtype, d.nodeid, d.msg.base.time, d.msg.payload);
    assert.notEqual(r.status, 'invalid', `message ${d.i} is valid`);
    applied++;
  }
  return applied;
}

describe('golden: C databases', { skip }, () => {
  for (const state of goldenStates()) {
    it(`${state.name}: load gives tree.json, index.bin and checksum.hex`, () => {
      const memdb = Memdb.openReadonly(state.db);
      try {
        assert.deepEqual(treeJson(memdb), state.tree);
        assert.ok(memdb.encodeIndex().equals(state.index), 'index bytes equal index.bin');
        assert.equal(memdb.checksum().toString('hex'), state.checksum);
      } finally {
        memdb.close();
      }
    });

    it(`${state.name}: the CLI prints index.bin and checksum.hex and leaves the file untouched`, () => {
      const before = createHash('sha256').update(readFileSync(state.db)).digest('hex');
      const hex = execFileSync(process.execPath, [bin, 'db', 'index', state.db, '--hex'], { encoding: 'utf8' });
      assert.equal(hex, state.index.toString('hex') + '\n');
      const sum = execFileSync(process.execPath, [bin, 'db', 'checksum', state.db], { encoding: 'utf8' });
      assert.equal(sum, state.checksum + '\n');
      const check = execFileSync(process.execPath, [bin, 'db', 'check', state.db], { encoding: 'utf8' });
      assert.match(check, /clean/);
      assert.equal(createHash('sha256').update(readFileSync(state.db)).digest('hex'), before);
    });
  }
});

describe('golden: transcripts', { skip }, () => {
  it('every UPDATE, STATE, fuse and unlock payload re-encodes to identical bytes', () => {
    const counts = { update: 0, state: 0, fuse: 0, unlock: 0 };
    for (const name of transcriptNames) {
      for (const d of messages(name)) {
        const m = d.msg;
        if (m.kind === 'state' && m.base.type === DfsmMessageType.UPDATE) {
          const u = decodeUpdate(m.payload);
          assert.ok(u.ok, `UPDATE ${d.i}`);
          assert.ok(encodeUpdate(u.value).equals(m.payload), `UPDATE ${d.i} re-encodes`);
          counts.update++;
        } else if (m.kind === 'state' && m.base.type === DfsmMessageType.STATE) {
          const idx = decodeIndex(m.payload);
          assert.ok(idx.ok, `STATE ${d.i}`);
          assert.ok(encodeIndex(idx.value, indexEntries(idx.value)).equals(m.payload), `STATE ${d.i} re-encodes`);
          counts.state++;
        } else if (m.kind === 'normal' && m.base.subtype >= DcdbMessageType.UNLOCK_REQUEST) {
          const u = decodeUnlock(m.payload);
          assert.ok(u.ok, `unlock ${d.i}`);
          assert.ok(Buffer.concat(encodeUnlock(u.value)).equals(m.payload));
          counts.unlock++;
        } else if (m.kind === 'normal') {
          const f = decodeFuseMessage(m.payload);
          assert.ok(f.ok, `fuse message ${d.i}`);
          assert.ok(Buffer.concat(encodeFuseMessage(f.value)).equals(m.payload), `fuse message ${d.i} re-encodes`);
          counts.fuse++;
        }
      }
    }
    assert.ok(counts.update >= 74 && counts.state > 10 && counts.fuse > 300 && counts.unlock >= 3, JSON.stringify(counts));
  });

  it('join-full-copy: C STATEs equal our index of pve-like; the UPDATE set equals its tree', () => {
    const pve = goldenState('fixtures/pve-like');
    const memdb = Memdb.openReadonly(pve.db);
    const ours = memdb.encodeIndex();
    memdb.close();
    const msgs = messages('join-full-copy');
    const states = msgs.filter((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.STATE && d.msg.payload.length > 32);
    assert.equal(states.length, 3);
    for (const s of states) assert.ok(s.msg.payload.equals(ours), `STATE from ${s.nodeid} equals our index`);
    const updates = msgs
      .filter((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.UPDATE)
      .map((d) => {
        const u = decodeUpdate(d.msg.payload);
        assert.ok(u.ok);
        return u.value;
      })
      .sort((a, b) => u64Compare(a.inode, b.inode));
    assert.equal(updates.length, pve.tree.entries.length);
    updates.forEach((u: EntryFields, k) => {
      const g = pve.tree.entries[k]!;
      assert.deepEqual(
        [u.inode, u.parent, u.version, u.writer, u.mtime, u.type, u.size, Buffer.from(u.name, 'latin1').toString('utf8')],
        [g.inode, g.parent, g.version, g.writer, g.mtime, g.type_code, g.size, g.name],
      );
      if (g.sha256 !== undefined) assert.equal(createHash('sha256').update(u.data ?? Buffer.alloc(0)).digest('hex'), g.sha256);
    });
  });

  it('join-full-copy: committing the UPDATE stream into an empty DB yields pve-like exactly', () => {
    const pve = goldenState('fixtures/pve-like');
    const memdb = Memdb.open(join(scratchCopy(goldenState('fixtures/fresh').db), '..', 'empty.db'));
    try {
      const msgs = messages('join-full-copy');
      const master = decodeIndex(msgs.find((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.STATE && d.nodeid === 1)!.msg.payload);
      const local = decodeIndex(memdb.encodeIndex());
      assert.ok(master.ok && local.ok);
      const updates = msgs.filter((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.UPDATE).map((d) => {
        const u = decodeUpdate(d.msg.payload);
        assert.ok(u.ok);
        return u.value;
      });
      assert.ok(memdb.commitUpdate(master.value, local.value, updates));
      assert.equal(memdb.errors, false);
      assert.deepEqual(treeJson(memdb), pve.tree);
    } finally {
      memdb.close();
    }
  });

  it('ops: replaying the NORMAL messages on pve-like reaches ops-after-n2', () => {
    const db = scratchCopy(goldenState('fixtures/pve-like').db);
    const memdb = Memdb.open(db);
    try {
      assert.ok(replayNormals(memdb, 'ops') > 20);
      assert.equal(memdb.errors, false);
      const after = goldenState('transcripts/states/ops-after-n2');
      assert.ok(memdb.encodeIndex().equals(after.index));
      assert.equal(memdb.checksum().toString('hex'), after.checksum);
    } finally {
      memdb.close();
    }
    // And the SQLite file alone gives the same state.
    const reopened = Memdb.openReadonly(db);
    assert.ok(reopened.encodeIndex().equals(goldenState('transcripts/states/ops-after-n2').index));
    reopened.close();
  });

  it('churn: replaying 296 messages from start.db reaches the churn fixture', () => {
    const memdb = Memdb.open(scratchCopy(join(goldenDir, 'fixtures/churn/start.db')));
    try {
      assert.ok(replayNormals(memdb, 'churn') >= 295);
      const churn = goldenState('fixtures/churn');
      assert.ok(memdb.encodeIndex().equals(churn.index));
      assert.equal(memdb.checksum().toString('hex'), churn.checksum);
    } finally {
      memdb.close();
    }
  });

  it('rejoin-diff: n2 commits the leader UPDATE stream and reaches the after-state', () => {
    const memdb = Memdb.open(scratchCopy(goldenState('transcripts/states/ops-after-n2').db));
    try {
      const msgs = messages('rejoin-diff');
      const syncStart = msgs.map((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.SYNC_START).lastIndexOf(true);
      const round = msgs.slice(syncStart);
      const stateOf = (nodeid: number, pid?: number) =>
        round.find((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.STATE && d.nodeid === nodeid && (pid === undefined || d.pid === pid))!;
      const local = decodeIndex(stateOf(2, 20397).msg.payload);
      const master = decodeIndex(stateOf(1).msg.payload);
      assert.ok(local.ok && master.ok);
      assert.ok(memdb.encodeIndex().equals(local.value.raw), 'our STATE for n2 equals what C n2 sent');
      const updates = round.filter((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.UPDATE).map((d) => {
        const u = decodeUpdate(d.msg.payload);
        assert.ok(u.ok);
        return u.value;
      });
      assert.equal(updates.length, 7);
      assert.ok(memdb.commitUpdate(master.value, local.value, updates));
      const after = goldenState('transcripts/states/rejoin-diff-after');
      assert.deepEqual(treeJson(memdb), after.tree);
    } finally {
      memdb.close();
    }
  });

  it('verify: the VERIFY checksums equal our checksum of the churn DB', () => {
    const memdb = Memdb.openReadonly(goldenState('fixtures/churn').db);
    const ours = memdb.checksum();
    memdb.close();
    const verifies = messages('verify').filter((d) => d.msg.kind === 'state' && d.msg.base.type === DfsmMessageType.VERIFY);
    assert.equal(verifies.length, 2);
    for (const v of verifies) {
      const p = decodeVerify(v.msg.payload);
      assert.ok(p.ok);
      assert.ok(p.value.csum.equals(ours));
    }
  });

  it('churn ops.jsonl at the memdb level gives the churn tree (paths, types, contents)', () => {
    const memdb = Memdb.open(scratchCopy(join(goldenDir, 'fixtures/churn/start.db')));
    try {
      const ops = readFileSync(join(goldenDir, 'fixtures/churn/ops.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      let t = 1_800_000_000;
      for (const op of ops) {
        t++;
        let r = 0;
        switch (op.op) {
          case 'create': r = memdb.create(op.path, 1, t); break;
          case 'write': r = memdb.write(op.path, 1, t, Buffer.from(op.data_hex, 'hex'), op.offset, false); if (r > 0) r = 0; break;
          case 'truncate': r = memdb.write(op.path, 1, t, null, op.size, true); break;
          case 'rename': r = memdb.rename(op.path, op.to, 1, t); break;
          case 'delete': case 'rmdir': r = memdb.delete(op.path, 1, t); break;
          case 'mkdir': r = memdb.mkdir(op.path, 1, t); break;
          case 'skip': continue;
          default: assert.fail(`unknown op ${op.op}`);
        }
        assert.equal(r, op.result, `op ${op.i} ${op.op} ${op.path}`);
      }
      const shape = (entries: { path: string; type: string; size: number; sha256?: string }[]) =>
        entries.map((e) => `${e.path} ${e.type} ${e.size} ${e.sha256 ?? ''}`).sort();
      const ours = treeJson(memdb) as { entries: { path: string; type: string; size: number; sha256?: string }[] };
      assert.deepEqual(shape(ours.entries), shape(goldenState('fixtures/churn').tree.entries));
    } finally {
      memdb.close();
    }
  });
});
