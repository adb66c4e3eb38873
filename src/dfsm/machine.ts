/**
 * The DFSM modes as an xstate v5 statechart.
 *
 * | here                   | C (dfsm.c)                                            |
 * |------------------------|-------------------------------------------------------|
 * | states                 | dfsm_mode_t values                                    |
 * | transitions            | dfsm_set_mode: A → B iff A != B and (B < 128 or       |
 * |                        |   A < 128 or B >= A) — error modes only move up       |
 * | dfsmModeMachine        | dfsm->mode + mode_mutex                               |
 *
 * Events are named after the target mode. A transition that C's rule refuses simply
 * does not exist in the chart, so the actor stays put (C: the change is ignored).
 * The protocol logic (confchg, deliver, queues) lives in dfsm.ts and asks the actor
 * for the mode at every decision point, exactly where C calls dfsm_get_mode; it is not
 * run inside xstate actions because C re-enters its delivery function from the queue
 * delivery and reads the mode synchronously after every step.
 */
import { createActor, setup, type Actor } from 'xstate';
import { DfsmMode, type DfsmModeName } from './types.js';

export type DfsmModeEvent = { readonly type: DfsmModeName };

/** C's dfsm_set_mode rule, as a predicate (used by tests against the chart). */
export function modeChangeAllowed(from: DfsmMode, to: DfsmMode): boolean {
  return from !== to && (to < 128 || from < 128 || to >= from);
}

const normalTargets = {
  START: { target: 'START' },
  START_SYNC: { target: 'START_SYNC' },
  SYNCED: { target: 'SYNCED' },
  UPDATE: { target: 'UPDATE' },
} as const;

const allErrorTargets = {
  LEAVE: { target: 'LEAVE' },
  VERSION_ERROR: { target: 'VERSION_ERROR' },
  ERROR: { target: 'ERROR' },
} as const;

function without<T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> {
  const copy = { ...o };
  delete copy[k];
  return copy;
}

export const dfsmModeMachine = setup({
  types: {} as { events: DfsmModeEvent },
}).createMachine({
  id: 'dfsm',
  initial: 'START',
  states: {
    // normal modes: to every other mode
    START: { on: { ...without(normalTargets, 'START'), ...allErrorTargets } },
    START_SYNC: { on: { ...without(normalTargets, 'START_SYNC'), ...allErrorTargets } },
    SYNCED: { on: { ...without(normalTargets, 'SYNCED'), ...allErrorTargets } },
    UPDATE: { on: { ...without(normalTargets, 'UPDATE'), ...allErrorTargets } },
    // error modes: to any normal mode (only dfsm_initialize does that in practice),
    // to error modes only upwards
    LEAVE: { on: { ...normalTargets, VERSION_ERROR: { target: 'VERSION_ERROR' }, ERROR: { target: 'ERROR' } } },
    VERSION_ERROR: { on: { ...normalTargets, ERROR: { target: 'ERROR' } } },
    ERROR: { on: { ...normalTargets } },
  },
});

export type DfsmModeActor = Actor<typeof dfsmModeMachine>;

export function createModeActor(): DfsmModeActor {
  const actor = createActor(dfsmModeMachine);
  actor.start();
  return actor;
}

export function actorMode(actor: DfsmModeActor): DfsmMode {
  const v = actor.getSnapshot().value as DfsmModeName;
  const m = DfsmMode[v];
  if (m === undefined) throw new Error(`invariant: machine in unknown state ${String(v)}`);
  return m;
}
