/**
 * createUpdates (dcdb_create_update_list's selection): the leader's inodes whose 40
 * index bytes differ at some member, each once and ascending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUpdates } from '../../src/dcdb/dcdb.js';
import { decodeIndex, encodeIndex, type MemdbIndex } from '../../src/wire/memdb-index.js';

function index(entries: [inode: number, digestByte: number][]): MemdbIndex {
  const d = decodeIndex(encodeIndex({ version: 9, writer: 1, mtime: 2 }, entries.map(([inode, b]) => ({ inode, digest: Buffer.alloc(32, b) }))));
  assert.ok(d.ok);
  return d.value;
}

describe('createUpdates', () => {
  const leader = index([[1, 1], [2, 2], [3, 3], [5, 5], [8, 8]]);

  it('an identical member needs nothing; an empty one needs everything', () => {
    assert.deepEqual(createUpdates(leader, [leader, index([[1, 1], [2, 2], [3, 3], [5, 5], [8, 8]])]), []);
    assert.deepEqual(createUpdates(leader, [leader, index([])]), [1, 2, 3, 5, 8]);
  });

  it('differing digests and missing entries, over several members: each inode once, ascending', () => {
    const a = index([[1, 1], [2, 9], [4, 4], [8, 8]]); // 2 differs, 3 and 5 missing (4 is not the leader's)
    const b = index([[1, 7], [2, 9], [3, 3], [5, 5]]); // 1 and 2 differ, 8 missing
    assert.deepEqual(createUpdates(leader, [a, leader, b]), [1, 2, 3, 5, 8]);
    assert.deepEqual(createUpdates(leader, [b]), [1, 2, 8]);
    assert.deepEqual(createUpdates(leader, [a]), [2, 3, 5]);
  });
});
