/**
 * Replays of recorded C traffic (../shared/golden/transcripts) into a pmxcfs-ts member:
 * a real Dfsm + Dcdb + Memdb on a scripted transport that feeds exactly the recorded
 * deliveries and configuration changes. Our member takes the recorder's place
 * (nodeid 3, pid 19653): where the recording has the recorder's own message, our
 * member's message is delivered instead (and compared with the recorded one where a C
 * node would have sent the same bytes). The whole recorded session is replayed in
 * order (join-full-copy, ops, rejoin-diff, churn, shutdown, verify), starting from an
 * EMPTY database, and after each scenario our database must equal the one the C nodes
 * had.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { treeJson } from '../../src/cli/db.js';
import { CsError, type ConfChange, type MemberId } from '../../src/cluster/transport.js';
import { ManualClock } from '../../src/util/clock.js';
import { Dfsm } from '../../src/dfsm/dfsm.js';
import { DfsmMode } from '../../src/dfsm/types.js';
import { Dcdb } from '../../src/dcdb/dcdb.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { DfsmMessageType } from '../../src/wire/dfsm.js';
import { ScriptedTransport } from '../helpers/scripted-transport.js';
import { goldenMissing, goldenState, scratchDir, transcript, type GoldenState, type TranscriptLine } from '../helpers/golden.js';

const RECORDER: MemberId = { nodeid: 3, pid: 19653 };
const TIME_OFFSET = 8; // u32 time in the base header

function conf(line: Extract<TranscriptLine, { confchg: unknown }>): ConfChange {
  const m = (l: [number, number][]) => l.map(([nodeid, pid]) => ({ nodeid, pid, reason: 0 }));
  return { members: m(line.confchg.members), joined: m(line.confchg.joined), left: m(line.confchg.left) };
}

const isRecorder = (f: MemberId) => f.nodeid === RECORDER.nodeid && f.pid === RECORDER.pid;
const type = (b: Buffer) => b.readUInt16LE(0);
/** epoch fields of a state message, as a string */
const epochOf = (b: Buffer) => b.subarray(16, 32).toString('hex');

interface ScenarioLog {
  /** what our member sent during the scenario */
  sent: Buffer[];
  /** recorded recorder messages that ours replaced, paired with ours */
  replaced: { recorded: Buffer; ours: Buffer | undefined }[];
  syncStarts: Buffer[];
  updates: number;
}

class Member {
  readonly clock = new ManualClock(1_795_000_000_000);
  readonly transport = new ScriptedTransport(RECORDER);
  readonly memdb: Memdb;
  readonly dfsm: Dfsm;
  readonly file: string;
  /** our sent messages not yet delivered back (our CPG self-delivery) */
  private pending: Buffer[] = [];

  constructor(file: string) {
    this.file = file;
    this.memdb = Memdb.open(file, { clock: this.clock });
    this.dfsm = new Dfsm({ callbacks: (d) => new Dcdb(d, { memdb: this.memdb }), clock: this.clock, isQuorate: () => true });
    this.dfsm.attach(this.transport);
    this.dfsm.initialize();
    assert.equal(this.dfsm.join(), CsError.OK);
  }

  play(name: string): ScenarioLog {
    const log: ScenarioLog = { sent: [], replaced: [], syncStarts: [], updates: 0 };
    const lines = transcript(name);
    for (const [k, line] of lines.entries()) {
      const before = this.transport.sent.length;
      if ('confchg' in line) {
        this.dfsm.confchg(conf(line));
      } else {
        const raw = Buffer.from(line.hex, 'hex');
        assert.equal(raw.length, line.len);
        if (isRecorder(line.from)) {
          // the recorder's own message: deliver ours instead (CPG self-delivery)
          // (ours may have sent more, e.g. a SYNC_START as a lowest nodeid: pair by type)
          const at = this.pending.findIndex((b) => type(b) === type(raw));
          const ours = at < 0 ? undefined : this.pending.splice(at, 1)[0];
          log.replaced.push({ recorded: raw, ours });
          assert.ok(ours !== undefined, `${name} #${line.i}: the recorder sent ${type(raw)} but our member sent nothing`);
          this.dfsm.deliver(RECORDER, ours);
        } else {
          if (type(raw) === DfsmMessageType.SYNC_START) {
            log.syncStarts.push(raw);
            // our STATE goes out now: stamp it with the recorder's time for byte comparisons
            const next = lines.slice(k + 1).find((l) => 'hex' in l && isRecorder(l.from) && Buffer.from(l.hex, 'hex').readUInt16LE(0) === DfsmMessageType.STATE);
            if (next && 'hex' in next) this.clock.advanceTo(Math.max(this.clock.nowMs(), Buffer.from(next.hex, 'hex').readUInt32LE(TIME_OFFSET) * 1000));
          }
          if (type(raw) === DfsmMessageType.UPDATE) log.updates++;
          this.dfsm.deliver(line.from, raw);
        }
      }
      const fresh = this.transport.sent.slice(before);
      log.sent.push(...fresh);
      this.pending.push(...fresh);
    }
    return log;
  }

  /** Our messages the recording has no counterpart for (never delivered back). */
  dropPending(): Buffer[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  assertDb(state: GoldenState, what: string): void {
    assert.ok(this.memdb.encodeIndex().equals(state.index), `${what}: index equals ${state.name}/index.bin`);
    assert.equal(this.memdb.checksum().toString('hex'), state.checksum, `${what}: checksum`);
    assert.deepEqual(treeJson(this.memdb), state.tree, `${what}: tree.json`);
  }
}

describe('C transcripts replayed into a pmxcfs-ts member (the recorder role, 3/19653)', { skip: goldenMissing }, () => {
  it('the whole recorded session, from an empty database', () => {
    const dir = scratchDir();
    const member = new Member(join(dir, 'config.db'));
    try {
      const pveLike = goldenState('fixtures/pve-like');

      // join-full-copy: we join with an EMPTY database
      const emptyIndex = member.memdb.encodeIndex();
      assert.equal(member.memdb.index.size, 1, 'only the root');
      const jfc = member.play('join-full-copy');
      assert.equal(jfc.syncStarts.length, 1);
      const states = jfc.sent.filter((b) => type(b) === DfsmMessageType.STATE);
      assert.equal(states.length, 1, 'exactly one STATE');
      assert.equal(jfc.sent.length, 1, 'and nothing else');
      assert.equal(epochOf(states[0]!), epochOf(jfc.syncStarts[0]!), 'with the epoch of the recorded SYNC_START');
      assert.ok(states[0]!.subarray(32).equals(emptyIndex), 'announcing our empty database');
      assert.equal(jfc.updates, 67);
      assert.equal(member.dfsm.mode, DfsmMode.SYNCED);
      member.assertDb(pveLike, 'after join-full-copy');

      // ops: every dcdb NORMAL type and the lock flow; we stay a SYNCED mirror
      const ops = member.play('ops');
      assert.equal(ops.sent.length, 0, 'a non-lowest member sends nothing for NORMAL traffic (UNLOCK comes from n1)');
      assert.equal(member.dfsm.mode, DfsmMode.SYNCED);
      member.assertDb(goldenState('transcripts/states/ops-after-n2'), 'after ops');

      // rejoin-diff: two sync rounds; our STATE is byte-identical to the recorder's mirrored copy
      const rd = member.play('rejoin-diff');
      assert.equal(rd.replaced.length, 2);
      for (const r of rd.replaced) assert.ok(r.ours!.equals(r.recorded), 'our STATE equals the recorded STATE byte for byte (time included)');
      assert.equal(rd.updates, 7);
      assert.equal(member.dfsm.mode, DfsmMode.SYNCED);
      member.assertDb(goldenState('transcripts/states/rejoin-diff-after'), 'after rejoin-diff');

      // churn: 295 operations as NORMAL messages
      const churn = member.play('churn');
      assert.equal(churn.sent.length, 0);
      member.assertDb(goldenState('fixtures/churn'), 'after churn');

      // shutdown: C daemons stop; when only n3 and we remain, both have the lowest nodeid
      // and a C member in our place sends a SYNC_START too (the recorder did not)
      const sd = member.play('shutdown');
      for (const r of sd.replaced) assert.ok(r.ours!.subarray(32).equals(r.recorded.subarray(32)), 'STATE payloads equal');
      const extra = member.dropPending();
      assert.deepEqual(extra.map(type), [DfsmMessageType.SYNC_START], 'one SYNC_START of our own as lowest nodeid');
      assert.equal(member.dfsm.mode, DfsmMode.SYNCED, 'alone at the end');
      member.assertDb(goldenState('fixtures/churn'), 'after shutdown');

      // verify: the restarted C daemons sync with us, then n1 verifies twice
      const v = member.play('verify');
      assert.equal(v.sent.filter((b) => type(b) !== DfsmMessageType.STATE).length, 0, 'only STATEs (the requester sends VERIFY)');
      for (const r of v.replaced) assert.ok(r.ours!.subarray(32).equals(r.recorded.subarray(32)), 'STATE payloads equal');
      const st = member.dfsm.status();
      assert.equal(st.modeName, 'SYNCED');
      assert.equal(st.lastVerify?.result, 'ok', 'data verification successful');
      assert.equal(st.csumId, 2n, 'both verifications (csum_id 1 and 2) were compared');
      member.assertDb(goldenState('fixtures/churn'), 'after verify');
    } finally {
      member.memdb.close();
      rmSync(dirname(member.file), { recursive: true, force: true });
    }
  });
});
