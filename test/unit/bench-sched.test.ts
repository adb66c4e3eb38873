/**
 * The report section of `npm run bench -- --only=sched` (src/bench/sched.ts): one row
 * per variant, the TS/C ratio of ops/s, CPU per file as C / TS, '–' where a kind was
 * not measured (PMXCFS_C_BIN unset).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SchedFigure, schedTable } from '../../src/bench/sched.js';

const fig = (kind: 'C' | 'TS', variant: SchedFigure['variant'], opsPerSec: number, writerUs: number): SchedFigure => ({
  kind,
  variant,
  opsPerSec,
  writerUs,
  followersUs: 2 * writerUs,
  corosyncUs: 10 * writerUs,
});

/** A table row with its cells' padding removed (markdownTable pads to the column width). */
const cells = (row: string): string => row.replace(/ *\| */g, ' | ').trim();

test('schedTable: the ratio and the CPU columns of both kinds, per variant', () => {
  const text = schedTable([fig('C', 'as deployed', 400, 450), fig('TS', 'as deployed', 240, 800), fig('C', 'corosync at SCHED_OTHER', 640, 400), fig('TS', 'corosync at SCHED_OTHER', 400, 820)]);
  const rows = text.split('\n').filter((l) => l.startsWith('| as deployed') || l.startsWith('| corosync at')).map(cells);
  assert.deepEqual(rows, [
    '| as deployed | 400 | 240 | 0.60 | 450 / 800 | 900 / 1600 | 4500 / 8000 |',
    '| corosync at SCHED_OTHER | 640 | 400 | 0.63 | 400 / 820 | 800 / 1640 | 4000 / 8200 |',
  ]);
});

test('schedTable: a kind that was not measured shows as –, no figures no section', () => {
  const rows = schedTable([fig('TS', 'as deployed', 240, 800)]).split('\n').map(cells);
  assert.ok(rows.includes('| as deployed | – | 240 | – | – / 800 | – / 1600 | – / 8000 |'), rows.join('\n'));
  assert.ok(rows.includes('| corosync at SCHED_OTHER | – | – | – | – / – | – / – | – / – |'), rows.join('\n'));
  assert.equal(schedTable([]), '');
});
