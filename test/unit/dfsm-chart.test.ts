/**
 * The DFSM chart (src/dfsm/chart.ts): the moves it allows are exactly dfsm_set_mode's
 * rule, the engine's compiled table agrees with xstate's own reading of the chart, and
 * every action name of the chart has an implementation.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { initialTransition, transition } from 'xstate';
import { actionsOf } from '../../src/dfsm/actions.js';
import { ACTIONS, compileChart, DFSM_CHART, dfsmMachine, type DfsmEventType, stepsFor } from '../../src/dfsm/chart.js';
import { Dfsm } from '../../src/dfsm/dfsm.js';
import { DfsmMode, type DfsmModeName } from '../../src/dfsm/types.js';
import { DfsmMessageType as T } from '../../src/wire/dfsm.js';
import type { DeliveredMessage, DeliverResult } from '../../src/dfsm/types.js';
import { conf, KvApp, lone, normalMsg, stateMsg, SUB_SET } from './dfsm-harness.js';

const MODES = Object.keys(DfsmMode) as DfsmModeName[];
const EVENTS: DfsmEventType[] = [
  'INITIALIZE', 'CONFCHG', 'NORMAL', 'SYNC_START', 'STATE', 'UPDATE', 'UPDATE_COMPLETE', 'VERIFY_REQUEST', 'VERIFY',
  'UNKNOWN_TYPE', 'WRONG_EPOCH', 'OLDER_PROTOCOL', 'NEWER_PROTOCOL', 'FAULT', 'SET_ERROR', 'STATE_STORED', 'STATES_PROCESSED', 'COMMITTED',
];

/** C's dfsm_set_mode rule: A → B iff B < 128 or A < 128 or B >= A. */
function cAllows(from: DfsmModeName, to: DfsmModeName): boolean {
  const a = DfsmMode[from];
  const b = DfsmMode[to];
  return b < 128 || a < 128 || b >= a;
}

describe('DFSM chart', () => {
  const table = compileChart();

  it('every target obeys dfsm_set_mode (error modes only move up; back to START only by INITIALIZE)', () => {
    let moves = 0;
    for (const from of MODES) {
      for (const ev of EVENTS) {
        for (const step of stepsFor(table, from, ev)) {
          if (step.target === null || step.target === from) continue;
          moves++;
          assert.ok(cAllows(from, step.target), `${from} --${ev}--> ${step.target}`);
          if (DfsmMode[from] >= 128) assert.ok(step.target !== 'START' || ev === 'INITIALIZE', `${from} leaves an error mode only through INITIALIZE`);
        }
      }
    }
    assert.ok(moves >= 30, `the chart has its mode changes (${moves})`);
  });

  it('the compiled table takes the same unguarded transitions as xstate', () => {
    const machine = dfsmMachine();
    for (const from of MODES) {
      for (const ev of EVENTS) {
        const steps = stepsFor(table, from, ev);
        if (steps.some((s) => s.guard !== null)) continue; // guards are placeholders in the xstate copy
        const [start] = initialTransition(machine);
        const snapshot = machine.resolveState({ value: from, context: start.context });
        const [next] = transition(machine, snapshot, { type: ev } as never);
        const expected = steps[0]?.target ?? from;
        assert.equal(next.value, expected, `${from} --${ev}-->`);
      }
    }
  });

  it('every action of the chart is implemented and every implementation is used', () => {
    const impl = actionsOf(new Dfsm({ callbacks: new KvApp() }));
    const used = new Set<string>();
    for (const state of Object.values(DFSM_CHART.states)) {
      for (const t of Object.values(state.on)) {
        for (const step of [t].flat() as { actions?: readonly (string | { type: string })[] }[]) {
          for (const a of step.actions ?? []) used.add(typeof a === 'string' ? a : a.type);
        }
      }
    }
    for (const a of used) assert.ok(a === 'raise' || a in impl, `action ${a} implemented`);
    for (const a of Object.keys(impl)) assert.ok(used.has(a), `action ${a} used by the chart`);
    for (const a of ACTIONS) assert.ok(used.has(a), `declared action ${a} used`);
  });
});

describe('docs/dfsm-chart.md', () => {
  it('is the rendering of the current chart (node scripts/render-dfsm-chart.mjs)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderChartMarkdown } = await import('../../src/dfsm/chart-render.js');
    const file = new URL('../../../docs/dfsm-chart.md', import.meta.url);
    assert.equal(readFileSync(file, 'utf8'), renderChartMarkdown());
  });
});

describe('synchronous re-entry (C: dfsm_set_mode from inside a callback)', () => {
  /** An application whose deliver callback puts the DFSM into ERROR, as dcdb does on a memdb error. */
  class FailingApp extends KvApp {
    delivered = 0;
    override deliver(_msg: DeliveredMessage): DeliverResult {
      this.delivered++;
      this.dfsm.setErrorMode();
      return { ok: false, result: -5 };
    }
  }

  it('a callback that sets ERROR while the queue is delivered stops the delivery at once', () => {
    const app = new FailingApp();
    const { dfsm } = lone(1, 100, app);
    const other = { nodeid: 2, pid: 200 };
    dfsm.confchg(conf([{ nodeid: 1, pid: 100 }, other]));
    for (const n of [1n, 2n, 3n]) dfsm.deliver(other, normalMsg(SUB_SET, n, `k${n}=v`));
    assert.equal(dfsm.status().msgQueue, 3, 'queued during the round');
    const e = dfsm.status().epoch;
    dfsm.deliver({ nodeid: 1, pid: 100 }, stateMsg(T.SYNC_START, e));
    dfsm.deliver({ nodeid: 1, pid: 100 }, stateMsg(T.STATE, e, app.snapshot()));
    dfsm.deliver(other, stateMsg(T.STATE, e, app.snapshot()));
    assert.equal(app.delivered, 1, 'only the first queued message reached the application');
    assert.equal(dfsm.status().modeName, 'ERROR');
    assert.equal(dfsm.status().msgQueue, 2, 'the rest stays queued, as C leaves it');
  });
});
