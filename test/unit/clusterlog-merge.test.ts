/**
 * Properties of the cluster-log merge (clusterlog_merge), the one implementation in
 * src/clusterlog/merge.ts. Random entries (UTF-8, quotes, control bytes, long
 * messages, duplicates, many in the same second, several nodes) are split across 2–5
 * members; each member runs a sync round the way KvstoreApp does (its own log in its
 * slot, the others' STATEs). Laws: every member ends with the same bytes; the result is
 * sorted with no two equal entries; merging again changes nothing; the result does not
 * depend on how the entries were split (equals the merge of one log holding the
 * union); and it equals, byte for byte, the independent Python model of C's algorithm
 * in ../shared/golden/kvstore/check.py (which reproduces every C STATE recorded).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClusterLog } from '../../src/clusterlog/clusterlog.js';
import { packEntry } from '../../src/clusterlog/entry.js';
import { mergeLogs } from '../../src/clusterlog/merge.js';
import { compareEntries, entryAt, SortedEntries, walkNewestFirst } from '../../src/clusterlog/ring.js';
import { Rng } from '../../src/util/rng.js';
import { goldenDir, scratchDir } from '../helpers/golden.js';

const CHECK_PY = join(goldenDir, 'kvstore', 'check.py');
const CASES = 150;

const NODE_NAMES = ['n1', 'node-two', 'x'.repeat(300), 'n4'];
const IDENTS = ['root@pam', 'dup@pam', '', 'user "q"@pve'];
const PIECES = ['plain', 'ü€', '😀', '"', '\\', '\t', '\x01', '\x7f', 'L'.repeat(1500)];

function randomMsg(rng: Rng): Buffer {
  if (rng.chance(0.1)) return Buffer.from([0x41, 0xff, 0xfe, 0x22, 0x09]); // invalid UTF-8
  let s = '';
  for (let n = rng.int(6); n >= 0; n--) s += PIECES[rng.int(PIECES.length)]!;
  return Buffer.from(s, 'utf8');
}

/** Entries of several nodes; per node (time, uid) strictly increasing as a real daemon's. */
function randomEntries(rng: Rng, n: number): Buffer[] {
  const uids = NODE_NAMES.map(() => 0);
  const times = NODE_NAMES.map(() => 1_700_000_000 + rng.int(3));
  const out: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const node = rng.int(NODE_NAMES.length);
    if (rng.chance(0.4)) times[node]! += rng.int(3); // many entries share a second
    uids[node]!++;
    const e = packEntry({ node: Buffer.from(NODE_NAMES[node]!), ident: Buffer.from(IDENTS[rng.int(IDENTS.length)]!), tag: Buffer.from('tag'), pid: rng.int(1 << 16), time: times[node]!, priority: rng.int(8), msg: randomMsg(rng), uid: uids[node]! });
    assert.ok(e !== null);
    out.push(e);
  }
  return out;
}

/** A member's log holding `entries` (inserted oldest first, as they would have arrived). */
function logOf(entries: readonly Buffer[]): ClusterLog {
  const log = new ClusterLog(Buffer.from('member'));
  const sorted = [...entries].sort((a, b) => compareEntries(entryAt(a, 0)!, entryAt(b, 0)!));
  for (const e of sorted) log.insert(e);
  return log;
}

interface Case {
  readonly members: ClusterLog[];
  readonly union: Buffer[];
}

function randomCase(rng: Rng): Case {
  const k = 2 + rng.int(4);
  const entries = randomEntries(rng, 1 + rng.int(rng.chance(0.2) ? 120 : 30));
  const parts: Buffer[][] = Array.from({ length: k }, () => []);
  for (const e of entries) {
    parts[rng.int(k)]!.push(e);
    if (rng.chance(0.3)) parts[rng.int(k)]!.push(e); // the same entry on two members
  }
  return { members: parts.map(logOf), union: entries };
}

/** One sync round: every member merges its own log with the others' STATEs. */
function syncRound(members: readonly ClusterLog[]): Buffer[] {
  const states = members.map((m) => m.getState());
  members.forEach((m, i) => m.merge(states, i));
  return members.map((m) => Buffer.from(m.buffer));
}

describe('cluster-log merge properties', () => {
  const rng = new Rng(20261202);
  const cases = Array.from({ length: CASES }, () => randomCase(rng));
  const inputs = cases.map((c) => c.members.map((m) => m.getState()));

  it(`${CASES} random splits across 2–5 members: identical bytes on every member, sorted, no duplicates, idempotent`, () => {
    let entries = 0;
    for (const c of cases) {
      const after = syncRound(c.members);
      for (const b of after) assert.ok(b.equals(after[0]!), 'every member holds the same log');
      const order = [...walkNewestFirst(after[0]!)].map((w) => w.entry).reverse();
      for (let i = 1; i < order.length; i++) assert.equal(compareEntries(order[i - 1]!, order[i]!), -1, 'strictly ascending');
      entries += order.length;
      const again = syncRound(c.members);
      assert.ok(again[0]!.equals(after[0]!), 'a second round changes nothing');
      const json = c.members.map((m) => m.dumpJson(Buffer.alloc(0), 50));
      for (const j of json) assert.ok(j.equals(json[0]!), 'same JSON everywhere');
    }
    assert.ok(entries > CASES, `entries merged: ${entries}`);
  });

  it('the split does not matter: equals the merge of one log holding the union (when it fits)', () => {
    let compared = 0;
    cases.forEach((c, i) => {
      const whole = new SortedEntries();
      for (const e of c.union) whole.insert(entryAt(e, 0)!);
      const unionLog = whole.toClog();
      if ([...walkNewestFirst(unionLog)].length !== whole.length) return; // the union wrapped: budget case
      const split = mergeLogs(inputs[i]!).clog;
      const single = mergeLogs([unionLog, null]).clog;
      assert.ok(split.equals(single), `case ${i}`);
      compared++;
    });
    assert.ok(compared > CASES / 2, `compared ${compared}`);
  });

  it('equals the Python model of C\'s clusterlog_merge (check.py) byte for byte', { skip: existsSync(CHECK_PY) ? false : `no ${CHECK_PY}` }, () => {
    const file = join(scratchDir(), 'cases.json');
    writeFileSync(file, JSON.stringify(inputs.map((states) => states.map((s) => s.toString('hex')))));
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(goldenDir, 'kvstore'))})`,
      'import check',
      'out = []',
      `for case in json.load(open(${JSON.stringify(file)})):`,
      '    merged, _ = check.merge([check.parse_clog(bytes.fromhex(h)) for h in case])',
      '    out.append(check.build_clog(merged).hex())',
      'print(json.dumps(out))',
    ].join('\n');
    const model = JSON.parse(execFileSync('python3', ['-c', script], { maxBuffer: 1 << 30 }).toString()) as string[];
    assert.equal(model.length, CASES);
    model.forEach((hex, i) => assert.ok(mergeLogs(inputs[i]!).clog.equals(Buffer.from(hex, 'hex')), `case ${i}`));
  });
});
