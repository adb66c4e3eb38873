/**
 * dfsm.md §3, §5, §6, §7, §8 checked message by message on one Dfsm over a fake
 * transport (no network): the mode rule, the confchg steps, the common checks, the
 * state-message matrix, queue order and hostile input.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CsError } from '../../src/cluster/transport.js';
import { compareCount, compareMembers, insertByCount, lowestNodeid, sortMembers } from '../../src/dfsm/members.js';
import { DfsmMode } from '../../src/dfsm/types.js';
import { DfsmMessageType as T, type Epoch, decodeEpoch } from '../../src/wire/dfsm.js';
import { Rng } from '../../src/util/rng.js';
import { conf, KvApp, lone, normalMsg, stateMsg, SUB_SET } from './dfsm-harness.js';

const ME = { nodeid: 1, pid: 100 };
const OTHER = { nodeid: 2, pid: 200 };
const STRANGER = { nodeid: 7, pid: 700 };

type Setup = ReturnType<typeof lone>;

function epochOf(s: Setup): Epoch {
  return s.dfsm.status().epoch;
}

/** Bring a fresh Dfsm into the given mode. */
function inMode(mode: 'START' | 'START_SYNC' | 'SYNCED' | 'UPDATE'): Setup {
  const app = new KvApp();
  const s = lone(ME.nodeid, ME.pid, app);
  if (mode === 'START') {
    s.dfsm.confchg(conf([OTHER])); // not a member: stays START, but has a member list
  } else if (mode === 'SYNCED') {
    s.dfsm.confchg(conf([ME]));
  } else {
    s.dfsm.confchg(conf([ME, OTHER]));
    if (mode === 'UPDATE') {
      const e = epochOf(s);
      s.dfsm.deliver(ME, stateMsg(T.SYNC_START, e));
      s.dfsm.deliver(ME, stateMsg(T.STATE, e, app.snapshot()));
      const newer = new KvApp();
      newer.set('x', 'y');
      s.dfsm.deliver(OTHER, stateMsg(T.STATE, e, newer.snapshot()));
    }
  }
  assert.equal(s.dfsm.status().modeName, mode);
  return s;
}

describe('mode transition rule (dfsm_set_mode)', () => {
  it('error modes only move up: LEAVE -> ERROR ok, ERROR -> LEAVE refused', () => {
    const s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, Buffer.alloc(4)); // short → LEAVE
    assert.equal(s.dfsm.mode, DfsmMode.LEAVE);
    s.dfsm.setErrorMode();
    assert.equal(s.dfsm.mode, DfsmMode.ERROR);
    s.dfsm.deliver(OTHER, Buffer.alloc(4));
    assert.equal(s.dfsm.mode, DfsmMode.ERROR);
    assert.equal(s.dfsm.restartable(), false);
  });
});

describe('members', () => {
  it('sorts with 32-bit signed subtraction (Pitfall 6)', () => {
    assert.ok(compareMembers({ nodeid: 1, pid: 5 }, { nodeid: 2, pid: 1 }) < 0);
    assert.ok(compareMembers({ nodeid: 3, pid: 5 }, { nodeid: 3, pid: 1 }) > 0);
    // difference >= 2^31 wraps: 0x90000000 - 1 is negative as int
    assert.ok(compareMembers({ nodeid: 0x90000000, pid: 1 }, { nodeid: 1, pid: 1 }) < 0);
    const sorted = sortMembers([
      { nodeid: 3, pid: 1 },
      { nodeid: 1, pid: 9 },
      { nodeid: 1, pid: 2 },
      { nodeid: 2, pid: 1 },
    ]);
    assert.deepEqual(sorted.map((m) => `${m.nodeid}/${m.pid}`), ['1/2', '1/9', '2/1', '3/1']);
    assert.equal(lowestNodeid([{ nodeid: 5, pid: 1 }, { nodeid: 0x90000000, pid: 1 }, { nodeid: 3, pid: 1 }]), 3);
    assert.equal(lowestNodeid([]), 0);
  });

  it('queues by count, stable for ties, with int truncation', () => {
    const q: { count: bigint; tag: string }[] = [];
    for (const [count, tag] of [
      [3n, 'a'],
      [1n, 'b'],
      [3n, 'c'],
      [2n, 'd'],
      [1n, 'e'],
    ] as const)
      insertByCount(q, { count, tag });
    assert.deepEqual(q.map((x) => x.tag), ['b', 'e', 'd', 'a', 'c']);
    assert.equal(compareCount(1n << 32n, 0n), 0, 'difference 2^32 truncates to 0');
  });
});

describe('confchg (dfsm.md §5)', () => {
  it('single member: SYNCED, local synced, no SYNC_START', () => {
    const s = inMode('SYNCED');
    assert.deepEqual(s.t.sentTypes(), []);
    assert.deepEqual(s.dfsm.status().members, [{ nodeid: 1, pid: 100, synced: true, hasState: false }]);
  });

  it('new epoch per confchg; lowest sends SYNC_START with it', () => {
    const s = lone(1, 100);
    s.dfsm.confchg(conf([OTHER, ME]));
    const st = s.dfsm.status();
    assert.equal(st.modeName, 'START_SYNC');
    assert.equal(st.localEpochCounter, 1);
    assert.deepEqual(st.epoch, { epoch: 1, time: Math.floor(s.clock.nowMs() / 1000), nodeid: 1, pid: 100 });
    assert.deepEqual(s.t.sentTypes(), [T.SYNC_START]);
    assert.deepEqual(decodeEpoch(s.t.sent[0] as Buffer, 16), st.epoch);
    s.dfsm.confchg(conf([OTHER, ME]));
    assert.equal(s.dfsm.status().epoch.epoch, 2);
  });

  it('non-lowest does not send SYNC_START', () => {
    const s = lone(3, 300);
    s.dfsm.confchg(conf([ME, { nodeid: 3, pid: 300 }]));
    assert.deepEqual(s.t.sentTypes(), []);
    assert.equal(s.dfsm.status().lowestNodeid, 1);
  });

  it('not a member: START ignores, other modes LEAVE', () => {
    const s = lone();
    s.dfsm.confchg(conf([OTHER]));
    assert.equal(s.dfsm.status().modeName, 'START');
    const s2 = inMode('SYNCED');
    s2.dfsm.confchg(conf([OTHER]));
    assert.equal(s2.dfsm.status().modeName, 'LEAVE');
  });

  it('failing SYNC_START send → LEAVE', () => {
    const s = lone();
    s.t.failSends = 1;
    s.dfsm.confchg(conf([ME, OTHER]));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
  });

  it('error mode: epoch still advances, nothing else happens', () => {
    const s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, Buffer.alloc(1));
    const before = s.dfsm.status();
    s.dfsm.confchg(conf([ME, OTHER]));
    const after = s.dfsm.status();
    assert.equal(after.modeName, 'LEAVE');
    assert.equal(after.localEpochCounter, before.localEpochCounter + 1);
    assert.equal(after.weAreMember, false);
    assert.deepEqual(s.t.sentTypes(), []);
  });

  it('resend on join: own queued messages re-sent byte for byte, queue dropped', () => {
    const s = inMode('START_SYNC');
    const mine1 = normalMsg(SUB_SET, 1n, 'a=1');
    const theirs = normalMsg(SUB_SET, 1n, 'b=2');
    const mine2 = normalMsg(SUB_SET, 2n, 'c=3');
    s.dfsm.deliver(ME, mine1);
    s.dfsm.deliver(OTHER, theirs);
    s.dfsm.deliver(ME, mine2);
    assert.equal(s.dfsm.status().msgQueue, 3);
    s.t.sent = [];
    // a member leaves (no joiners): nothing is resent, queue kept
    s.dfsm.confchg(conf([ME, OTHER], [], [STRANGER]));
    assert.deepEqual(s.t.sentTypes(), [T.SYNC_START]);
    assert.equal(s.dfsm.status().msgQueue, 3);
    s.t.sent = [];
    s.dfsm.confchg(conf([ME, OTHER, STRANGER], [STRANGER]));
    assert.deepEqual(s.t.sent.slice(0, 2), [mine1, mine2]);
    assert.equal(s.t.sentTypes()[2], T.SYNC_START);
    assert.equal(s.dfsm.status().msgQueue, 0);
  });
});

describe('common checks (dfsm.md §6)', () => {
  it('short, version, epoch', () => {
    let s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, Buffer.alloc(15));
    assert.equal(s.dfsm.status().modeName, 'LEAVE', '< 16 bytes');

    s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.VERIFY_REQUEST, epochOf(s), Buffer.alloc(8), 2));
    assert.equal(s.dfsm.status().modeName, 'VERSION_ERROR', 'newer protocol');
    assert.equal(s.dfsm.restartable(), false);

    s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.VERIFY_REQUEST, epochOf(s), Buffer.alloc(3), 0));
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, 'a=b', 0));
    assert.equal(s.dfsm.status().modeName, 'SYNCED', 'older protocol ignored');
    assert.equal(s.app.applied.length, 0);

    s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, '').subarray(0, 20));
    assert.equal(s.dfsm.status().modeName, 'LEAVE', 'NORMAL < 24');

    s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s)).subarray(0, 31));
    assert.equal(s.dfsm.status().modeName, 'LEAVE', 'state < 32');

    s = inMode('SYNCED');
    const wrong = { ...epochOf(s), epoch: 99 };
    for (const type of [T.STATE, T.UPDATE, T.UPDATE_COMPLETE, T.VERIFY_REQUEST, T.VERIFY, 7, 300]) {
      s.dfsm.deliver(OTHER, stateMsg(type, wrong, Buffer.alloc(1)));
    }
    assert.equal(s.dfsm.status().modeName, 'SYNCED', 'wrong epoch ignored, even for unknown types');

    s = inMode('START_SYNC');
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, wrong, Buffer.from('{}')));
    assert.equal(s.dfsm.status().modeName, 'START_SYNC');
    assert.equal(s.dfsm.status().members.filter((m) => m.hasState).length, 0);
  });

  it('before any confchg (no member list): LEAVE', () => {
    const s = lone();
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, 'a=b'));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
  });

  it('queued NORMAL from a non-member: LEAVE', () => {
    const s = inMode('START_SYNC');
    s.dfsm.deliver(STRANGER, normalMsg(SUB_SET, 1n, 'a=b'));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
  });
});

type Outcome = 'LEAVE' | 'ignore' | 'handled';

/** dfsm.md §8, rows = type, columns = START, START_SYNC, SYNCED, UPDATE. */
const MATRIX: [number, [Outcome, Outcome, Outcome, Outcome]][] = [
  [T.SYNC_START, ['LEAVE', 'handled', 'ignore', 'LEAVE']],
  [T.STATE, ['LEAVE', 'handled', 'ignore', 'LEAVE']],
  [T.UPDATE, ['LEAVE', 'LEAVE', 'ignore', 'handled']],
  [T.UPDATE_COMPLETE, ['LEAVE', 'LEAVE', 'handled', 'handled']],
  [T.VERIFY_REQUEST, ['LEAVE', 'ignore', 'handled', 'ignore']],
  [T.VERIFY, ['LEAVE', 'ignore', 'handled', 'ignore']],
  [7, ['LEAVE', 'LEAVE', 'ignore', 'LEAVE']],
  [0xffff, ['LEAVE', 'LEAVE', 'ignore', 'LEAVE']],
];

function payloadFor(type: number, s: Setup): Buffer {
  switch (type) {
    case T.STATE:
      return s.app.snapshot();
    case T.UPDATE:
      return Buffer.from(JSON.stringify({ k: 'x', v: 'y' }));
    case T.VERIFY_REQUEST:
      return Buffer.alloc(8);
    case T.VERIFY:
      return Buffer.alloc(40);
    default:
      return Buffer.alloc(0);
  }
}

describe('state messages in every mode (dfsm.md §8)', () => {
  const modes = ['START', 'START_SYNC', 'SYNCED', 'UPDATE'] as const;
  for (const [type, row] of MATRIX) {
    for (const [i, mode] of modes.entries()) {
      const expected = row[i] as Outcome;
      it(`type ${type} in ${mode}: ${expected}`, () => {
        const s = inMode(mode);
        if (mode === 'UPDATE' && type === T.UPDATE_COMPLETE) {
          // give the follower the leader's data so that its commit succeeds
          s.dfsm.deliver(OTHER, stateMsg(T.UPDATE, epochOf(s), Buffer.from(JSON.stringify({ k: 'x', v: 'y' }))));
          s.dfsm.deliver(OTHER, stateMsg(T.UPDATE, epochOf(s), Buffer.from(JSON.stringify({ version: 1 }))));
        }
        const before = s.dfsm.status();
        s.t.sent = [];
        s.dfsm.deliver(OTHER, stateMsg(type, epochOf(s), payloadFor(type, s)));
        const after = s.dfsm.status();
        if (expected === 'LEAVE') {
          assert.equal(after.modeName, 'LEAVE');
        } else {
          assert.notEqual(after.modeName, 'LEAVE');
          if (expected === 'ignore') {
            assert.equal(after.modeName, before.modeName);
            assert.deepEqual(after.members, before.members);
            assert.deepEqual(s.t.sent, []);
          }
        }
      });
    }
  }

  it('SYNC_START: adopts the sender epoch, releases states, sends one STATE; from a non-lowest member still processed', () => {
    const s = inMode('START_SYNC');
    const foreign: Epoch = { epoch: 42, time: 7, nodeid: 2, pid: 200 };
    s.t.sent = [];
    s.dfsm.deliver(OTHER, stateMsg(T.SYNC_START, foreign));
    assert.deepEqual(s.dfsm.status().epoch, foreign);
    assert.deepEqual(s.t.sentTypes(), [T.STATE]);
    assert.deepEqual(decodeEpoch(s.t.sent[0] as Buffer, 16), foreign);
    assert.deepEqual((s.t.sent[0] as Buffer).subarray(32), s.app.snapshot());
  });

  it('STATE: non-member and duplicate → LEAVE; all in → leader decides', () => {
    let s = inMode('START_SYNC');
    s.dfsm.deliver(STRANGER, stateMsg(T.STATE, epochOf(s), Buffer.from('{}')));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');

    s = inMode('START_SYNC');
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
    assert.equal(s.dfsm.status().members.filter((m) => m.hasState).length, 0, 'states dropped');

    s = inMode('START_SYNC');
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s), Buffer.from('not json')));
    s.dfsm.deliver(ME, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    assert.equal(s.dfsm.status().modeName, 'LEAVE', 'application rejects the states');
  });

  it('identical states: SYNCED directly, no updates; local leader sends UPDATEs then UPDATE_COMPLETE', () => {
    let s = inMode('START_SYNC');
    s.t.sent = [];
    s.dfsm.deliver(ME, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    assert.equal(s.dfsm.status().modeName, 'SYNCED');
    assert.deepEqual(s.dfsm.status().lastLeader, ME, 'tie: earliest member');
    assert.deepEqual(s.t.sentTypes(), [T.UPDATE, T.UPDATE_COMPLETE]);

    s = inMode('START_SYNC');
    s.app.set('a', '1');
    s.t.sent = [];
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, epochOf(s), new KvApp().snapshot()));
    s.dfsm.deliver(ME, stateMsg(T.STATE, epochOf(s), s.app.snapshot()));
    assert.deepEqual(s.t.sentTypes(), [T.UPDATE, T.UPDATE, T.UPDATE_COMPLETE]);
    assert.equal(s.dfsm.status().modeName, 'SYNCED');
    for (const m of s.t.sent) assert.deepEqual(decodeEpoch(m, 16), epochOf(s));
  });

  it('UPDATE mode: collects, commits, then delivers sync_queue before msg_queue', () => {
    const s = inMode('UPDATE');
    const e = epochOf(s);
    // OTHER is synced (leader): its NORMAL goes to sync_queue; mine (unsynced) to msg_queue
    s.dfsm.deliver(ME, normalMsg(SUB_SET, 1n, 'mine=1'));
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 5n, 'theirs=1'));
    assert.equal(s.dfsm.status().syncQueue, 1);
    assert.equal(s.dfsm.status().msgQueue, 1);
    s.dfsm.deliver(OTHER, stateMsg(T.UPDATE, e, Buffer.from(JSON.stringify({ k: 'x', v: 'y' }))));
    s.dfsm.deliver(OTHER, stateMsg(T.UPDATE, e, Buffer.from(JSON.stringify({ version: 1 }))));
    s.dfsm.deliver(OTHER, stateMsg(T.UPDATE_COMPLETE, e));
    const st = s.dfsm.status();
    assert.equal(st.modeName, 'SYNCED');
    assert.ok(st.members.every((m) => m.synced));
    assert.deepEqual(s.app.applied, ['2/200:theirs=1', '1/100:mine=1']);
    assert.equal(s.app.kv.get('x'), 'y');
    assert.equal(s.app.cleanups, 1);
  });

  it('UPDATE mode: commit failure → LEAVE; bad UPDATE → LEAVE', () => {
    let s = inMode('UPDATE');
    s.app.failCommit = true;
    s.dfsm.deliver(OTHER, stateMsg(T.UPDATE_COMPLETE, epochOf(s)));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
    s = inMode('UPDATE');
    s.dfsm.deliver(OTHER, stateMsg(T.UPDATE, epochOf(s), Buffer.from('{bad')));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
  });

  it('SYNCED: UPDATE_COMPLETE marks everybody synced and delivers their queued messages', () => {
    const s = inMode('START_SYNC');
    const e = epochOf(s);
    s.app.set('a', '1'); // local is newest → leader, SYNCED; OTHER not synced
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, 'q=1'));
    s.dfsm.deliver(ME, stateMsg(T.STATE, e, s.app.snapshot()));
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, e, new KvApp().snapshot()));
    assert.equal(s.dfsm.status().modeName, 'SYNCED');
    assert.equal(s.dfsm.status().msgQueue, 1, 'unsynced sender stays queued');
    s.dfsm.deliver(ME, stateMsg(T.UPDATE_COMPLETE, e));
    assert.equal(s.dfsm.status().msgQueue, 0);
    assert.deepEqual(s.app.applied, ['2/200:q=1']);
  });

  it('msg_queue is delivered in count order, not arrival order (Pitfall 2)', () => {
    const s = inMode('START_SYNC');
    const e = epochOf(s);
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 3n, 'o3=x'));
    s.dfsm.deliver(ME, normalMsg(SUB_SET, 1n, 'm1=x'));
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, 'o1=x'));
    s.dfsm.deliver(ME, normalMsg(SUB_SET, 2n, 'm2=x'));
    s.dfsm.deliver(ME, stateMsg(T.STATE, e, s.app.snapshot()));
    s.dfsm.deliver(OTHER, stateMsg(T.STATE, e, s.app.snapshot()));
    assert.deepEqual(s.app.applied, ['1/100:m1=x', '2/200:o1=x', '1/100:m2=x', '2/200:o3=x']);
  });

  it('queued message from a member that left is dropped', () => {
    const s = inMode('START_SYNC');
    s.dfsm.deliver(OTHER, normalMsg(SUB_SET, 1n, 'gone=x'));
    s.dfsm.confchg(conf([ME], [], [OTHER]));
    assert.equal(s.dfsm.status().modeName, 'SYNCED');
    assert.deepEqual(s.app.applied, []);
    assert.equal(s.dfsm.status().msgQueue, 0);
  });
});

describe('verify (dfsm.md §10)', () => {
  it('request from self: checksum saved, VERIFY sent; matching VERIFY → ok; mismatch → LEAVE', () => {
    const s = inMode('SYNCED');
    assert.equal(s.dfsm.verifyRequest(), CsError.OK);
    const req = s.t.sent.at(-1) as Buffer;
    assert.equal(req.readUInt16LE(0), T.VERIFY_REQUEST);
    assert.equal(req.readBigUInt64LE(32), 1n);
    s.dfsm.deliver(ME, req);
    const ver = s.t.sent.at(-1) as Buffer;
    assert.equal(ver.readUInt16LE(0), T.VERIFY);
    assert.deepEqual(ver.subarray(40), s.app.checksum());
    s.dfsm.deliver(ME, ver);
    assert.equal(s.dfsm.status().lastVerify?.result, 'ok');
    // a second round with a wrong checksum
    s.dfsm.verifyRequest();
    s.dfsm.deliver(ME, s.t.sent.at(-1) as Buffer);
    const bad = Buffer.from(s.t.sent.at(-1) as Buffer);
    bad[40] = (bad[40] as number) ^ 1;
    s.dfsm.deliver(ME, bad);
    assert.equal(s.dfsm.status().lastVerify?.result, 'mismatch');
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
  });

  it('VERIFY with an unknown id is skipped; bad lengths → LEAVE; confchg invalidates', () => {
    let s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.VERIFY, epochOf(s), Buffer.alloc(40, 1)));
    assert.equal(s.dfsm.status().lastVerify?.result, 'skipped');
    assert.equal(s.dfsm.status().modeName, 'SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.VERIFY, epochOf(s), Buffer.alloc(39)));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
    s = inMode('SYNCED');
    s.dfsm.deliver(OTHER, stateMsg(T.VERIFY_REQUEST, epochOf(s), Buffer.alloc(9)));
    assert.equal(s.dfsm.status().modeName, 'LEAVE');
    s = inMode('SYNCED');
    s.dfsm.verifyRequest();
    s.dfsm.verifyRequest();
    assert.equal(s.dfsm.status().csumCounter, 1n, 'delayed while pending');
    s.dfsm.confchg(conf([ME]));
    s.dfsm.verifyRequest();
    assert.equal(s.dfsm.status().csumCounter, 2n, 'confchg un-blocks');
  });
});

describe('hostile input', () => {
  it('random messages never throw and end in a defined mode', () => {
    const rng = new Rng(2024);
    for (let round = 0; round < 300; round++) {
      const mode = (['START', 'START_SYNC', 'SYNCED', 'UPDATE'] as const)[round % 4] as 'START';
      const s = inMode(mode);
      for (let k = 0; k < 20; k++) {
        const len = rng.int(80);
        const msg = Buffer.alloc(len);
        for (let i = 0; i < len; i++) msg[i] = rng.int(256);
        if (len >= 8 && rng.chance(0.7)) msg.writeUInt32LE(1, 4); // mostly our version
        if (len >= 2 && rng.chance(0.5)) msg.writeUInt16LE(rng.int(9), 0);
        if (len >= 32 && rng.chance(0.5)) {
          const e = epochOf(s);
          msg.writeUInt32LE(e.epoch, 16);
          msg.writeUInt32LE(e.time, 20);
          msg.writeUInt32LE(e.nodeid, 24);
          msg.writeUInt32LE(e.pid, 28);
        }
        const from = rng.pick([ME, OTHER, STRANGER]);
        assert.doesNotThrow(() => s.dfsm.deliver(from, msg));
      }
      const m = s.dfsm.mode;
      assert.ok(Object.values(DfsmMode).includes(m));
    }
  });
});
