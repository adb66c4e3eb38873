/**
 * Bad input to the status group (kvstore.md §3.3, §4.3, §6, pitfall 18): short and
 * garbled UPDATE and LOG messages, unknown subtypes, oversized keys and values, STATEs
 * of the wrong size or with garbage offsets. C's reaction: log and ignore (the member
 * never leaves for a NORMAL message), a rejected STATE contributes nothing to the merge;
 * never a crash.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KvstoreApp } from '../../src/status/group.js';
import { Status } from '../../src/status/status.js';
import type { DfsmApi, SyncInfo, SyncMember } from '../../src/dfsm/types.js';
import { Memdb } from '../../src/memdb/memdb.js';
import { Rng } from '../../src/util/rng.js';
import type { Log } from '../../src/util/log.js';
import { decodeKvUpdate, decodeLogEntry, encodeKvUpdate, KvMessageType } from '../../src/wire/kvstore.js';
import { scratchDir } from '../helpers/golden.js';
import { ManualClock } from '../../src/util/clock.js';

function recordingLog(lines: string[]): Log {
  const rec = (_: object, msg?: string) => void lines.push(msg ?? '');
  return { debug: () => {}, info: rec, warn: rec, error: rec };
}

function setup() {
  const lines: string[] = [];
  const log = recordingLog(lines);
  const memdb = Memdb.open(join(scratchDir(), 'config.db'));
  const status = new Status({ nodename: 'n1', nodeip: '10.0.0.1', memdb, isQuorate: () => true, clock: ManualClock.atSeconds(1_700_000_000), log, rrdFiles: null, pid: 5 });
  status.setClusterInfo({ clusterName: 'c', configVersion: 1, configVersionMissing: false, nodes: [{ name: 'n1', nodeid: 1, votes: 1, ring0Addr: undefined }, { name: 'n2', nodeid: 2, votes: 1, ring0Addr: undefined }] });
  const sent: Buffer[] = [];
  const dfsm = { hasTransport: true, sendMessageNoWait: (_s: number, p: readonly Buffer[]) => (sent.push(Buffer.concat(p)), true) } as unknown as DfsmApi & { hasTransport: boolean };
  const app = new KvstoreApp(status, log, dfsm);
  const deliver = (subtype: number, payload: Buffer) => app.deliver({ from: { nodeid: 2, pid: 9 }, subtype, time: 0, payload, local: false });
  return { status, app, lines, deliver, sent };
}

/** A well-formed LOG payload (made by another member's status module). */
function logEntry(): Buffer {
  const s = setup();
  s.status.logClusterMessage({ priority: 6, ident: Buffer.from('root@pam'), tag: Buffer.from('t'), message: Buffer.from('hello'), pid: 1 });
  return Buffer.from(s.sent[0]!);
}

describe('kvstore bad input', () => {
  it('short and unterminated UPDATEs: C\'s criticals, ignored, the member stays', () => {
    const { deliver, lines, status } = setup();
    assert.deepEqual(deliver(KvMessageType.UPDATE, Buffer.alloc(100)), { ok: true, result: 0 });
    assert.deepEqual(lines.splice(0), ['received short kvstore message (100 < 256)', 'cant parse update message']);
    assert.deepEqual(deliver(KvMessageType.UPDATE, Buffer.alloc(300, 0x41)), { ok: true, result: 0 });
    assert.deepEqual(lines.splice(0), ['cant parse update message']);
    assert.equal(status.getStatus(Buffer.from('A'.repeat(10)), Buffer.from('n2')), -2);
  });

  it('LOG: short, wrong size, unterminated strings are rejected with C\'s messages', () => {
    const { deliver, lines, status } = setup();
    const e = logEntry();
    deliver(KvMessageType.LOG, e.subarray(0, 20));
    assert.deepEqual(lines.splice(0), ['received short log message (20 < 48)', 'cant parse log message']);
    deliver(KvMessageType.LOG, Buffer.concat([e, Buffer.alloc(3)]));
    assert.deepEqual(lines.splice(0), [`received log message with wrong size (${e.length + 3} != ${e.length})`, 'cant parse log message']);
    const bad = Buffer.from(e);
    bad[44 + bad[37]! - 1] = 0x41; // node string loses its NUL
    deliver(KvMessageType.LOG, bad);
    assert.deepEqual(lines.splice(0), ['unterminated string in log message', 'cant parse log message']);
    const huge = Buffer.from(e);
    huge.writeUInt32LE(0xffffffff, 40); // msg_len that wraps C's 32-bit sum
    assert.equal(decodeLogEntry(huge).ok, false);
    assert.equal(status.clusterlog.entryCount(), 1, 'only "starting cluster log"');
  });

  it('unknown subtypes (incl. UPDATE_COMPLETE) log a critical with C\'s newline, result −EACCES, no leave', () => {
    const { deliver, lines } = setup();
    assert.deepEqual(deliver(KvMessageType.UPDATE_COMPLETE, Buffer.alloc(0)), { ok: true, result: -13 });
    assert.deepEqual(deliver(77, Buffer.alloc(5)), { ok: true, result: -13 });
    assert.deepEqual(lines, ['received unknown message type 2\n', 'received unknown message type 77\n']);
  });

  it('keys longer than 255 bytes are truncated on the wire; values over 32 KiB are EFBIG', () => {
    const { status, sent } = setup();
    assert.equal(status.setStatus(Buffer.from('k'.repeat(400)), Buffer.from('v\0')), 0);
    const u = decodeKvUpdate(sent[0]!);
    assert.ok(u.ok);
    assert.equal(u.value.key.length, 255);
    assert.equal(status.setStatus(Buffer.from('kv/x'), Buffer.alloc(40_000)), -27);
    assert.equal(encodeKvUpdate(Buffer.from('a\0garbage'), Buffer.alloc(0)).subarray(0, 3).toString('latin1'), 'a\0\0');
  });

  it('STATEs of the wrong size or full of garbage: logged, skipped, the round succeeds, the local log survives', () => {
    const { app, lines, status } = setup();
    const rng = new Rng(7);
    const garbage = Buffer.alloc(131072);
    for (let i = 0; i < garbage.length; i++) garbage[i] = rng.int(256);
    garbage.writeUInt32LE(131072, 0);
    const members: SyncMember[] = [
      { nodeid: 1, pid: 5, state: status.clusterlog.getState(), synced: false },
      { nodeid: 2, pid: 9, state: Buffer.alloc(8), synced: false },
      { nodeid: 3, pid: 9, state: Buffer.from([16, 0, 0, 0, 0, 0, 0, 0, 0, 0]), synced: false },
      { nodeid: 4, pid: 9, state: garbage, synced: false },
      { nodeid: 5, pid: 9, state: null, synced: false },
    ];
    const sync: SyncInfo = { members, local: members[0]!, data: undefined };
    assert.equal(app.processStateUpdate(sync), true);
    assert.ok(members.every((m) => m.synced));
    assert.deepEqual(lines.filter((l) => l.startsWith('received log with wrong size')), ['received log with wrong size 8', 'received log with wrong size 10', 'received log with wrong size 0']);
    assert.ok(status.clusterlog.dumpJson(Buffer.alloc(0), 50).toString().includes('starting cluster log'));
    for (let seed = 0; seed < 200; seed++) {
      const r = new Rng(seed);
      const g = Buffer.alloc(16 + r.int(4096));
      for (let i = 0; i < g.length; i++) g[i] = r.int(256);
      g.writeUInt32LE(g.length, 0);
      g.writeUInt32LE(8 + r.int(g.length), 4);
      const m2: SyncMember[] = [{ nodeid: 1, pid: 5, state: null, synced: false }, { nodeid: 2, pid: 9, state: g, synced: false }];
      assert.equal(app.processStateUpdate({ members: m2, local: m2[0]!, data: undefined }), true);
    }
  });

  it('DFSM UPDATE messages are refused (the member leaves, as C)', () => {
    const { app } = setup();
    assert.equal(app.processUpdate(), false);
  });
});
