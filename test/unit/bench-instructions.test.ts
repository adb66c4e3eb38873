/**
 * The callgrind_annotate parser of `npm run bench -- --only=instructions`: lines as
 * callgrind_annotate 3.19 prints them (inclusive counts), one component per line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTRUCTION_COMPONENTS, parseAnnotate } from '../../src/bench/instructions.js';
import { parseTotem, totemPerOp } from '../../src/bench/totem.js';

const TS_ANNOTATE = `
327,215,221 (100.0%)  PROGRAM TOTALS
248,823,411 (76.04%)  /home/iojs/build/ws/out/../deps/uv/src/unix/core.c:uv_run [/usr/bin/node]
114,758,995 (35.07%)  ???:std::_Function_handler<void (Napi::Env), (anonymous namespace)::Cpg::OnDeliver(unsigned long, cpg_name const*, unsigned int, unsigned int, void*, unsigned long)::{lambda(Napi::Env)#1}>::_M_invoke(std::_Any_data const&, Napi::Env&&) [/x/corosync.node]
107,159,648 (32.75%)  ???:(anonymous namespace)::OnReadable(uv_poll_s*, int, int) [/x/fuse.node]
 78,292,545 (23.93%)  ???:node::(anonymous namespace)::PlatformWorkerThread(void*) [/usr/bin/node]
 29,826,032 ( 9.12%)  ???:sqlite3_step [/x/better_sqlite3.node]
 14,245,752 ( 4.35%)  ???:v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags) [/usr/bin/node]
  3,100,000 ( 0.90%)  ???:v8::internal::OptimizingCompileDispatcher::CompileTask::RunInternal() [/usr/bin/node]
  5,239,961 ( 0.64%)  ???:(anonymous namespace)::Cpg::OnDeliver(unsigned long, cpg_name const*, unsigned int, unsigned int, void*, unsigned long) [/x/corosync.node]
`;

const C_ANNOTATE = `
70,341,968 (100.0%)  PROGRAM TOTALS
52,368,591 (74.45%)  /src/pmxcfs/dfsm.c:dfsm_cpg_deliver_callback [/work/cref/pmxcfs]
41,044,422 (58.35%)  ???:sqlite3_step [/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6]
13,568,527 (19.29%)  ???:fuse_session_process_buf [/usr/lib/x86_64-linux-gnu/libfuse.so.2.9.9]
`;

test('pmxcfs-ts components: the first matching line, per file; the delivery lambda, not the C callback', () => {
  const r = parseAnnotate(TS_ANNOTATE, 'TS', 500);
  assert.deepEqual(Object.keys(r).sort(), [...INSTRUCTION_COMPONENTS].sort());
  assert.equal(r['total'], 327_215_221 / 500);
  assert.equal(r['CPG deliveries (DFSM, dcdb, memdb, SQLite)'], 114_758_995 / 500);
  assert.equal(r['FUSE requests (incl. the CPG send)'], 107_159_648 / 500);
  assert.equal(r['SQLite (sqlite3_step)'], 29_826_032 / 500);
  assert.equal(r['V8 GC on the main thread'], 14_245_752 / 500);
  assert.equal(r['V8 worker threads (GC marking and sweeping, JIT)'], 78_292_545 / 500);
  assert.equal(r['of which JIT (TurboFan)'], 3_100_000 / 500);
});

test('C components: V8 rows absent, the rest found', () => {
  const r = parseAnnotate(C_ANNOTATE, 'C', 1000);
  assert.equal(r['total'], 70_341.968);
  assert.equal(r['CPG deliveries (DFSM, dcdb, memdb, SQLite)'], 52_368.591);
  assert.equal(r['FUSE requests (incl. the CPG send)'], 13_568.527);
  assert.equal(r['SQLite (sqlite3_step)'], 41_044.422);
  assert.equal(r['V8 GC on the main thread'], undefined);
});

test('an annotate output without the components gives no numbers (never zeros)', () => {
  assert.deepEqual(parseAnnotate('nothing here\n', 'TS', 10), {});
});

test('bench: corosync totem counters from corosync-cmapctl output, per operation', () => {
  const out = (tokens: number, mcast: number): string =>
    ['stats.srp.mcast_retx (u64) = 0', `stats.srp.mcast_tx (u64) = ${mcast}`, `stats.srp.orf_token_rx (u64) = ${tokens}`, 'stats.srp.orf_token_tx (u64) = 0', ''].join('\n');
  const a = parseTotem(out(1000, 40));
  assert.deepEqual(a, { tokens: 1000, multicasts: 40 });
  assert.deepEqual(totemPerOp(a, parseTotem(out(6060, 2040)), 1000), { tokens: 5.06, multicasts: 2 });
  assert.ok(Number.isNaN(parseTotem('').tokens));
});
