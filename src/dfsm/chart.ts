/**
 * The DFSM protocol of dfsm.c as one statechart: the modes are the states; a CPG event
 * (configuration change, a delivered message classified by the common checks of
 * dfsm_cpg_deliver_callback) is an event; what C does in each mode is a guarded
 * transition whose actions call into the engine (dfsm.ts) and, through it, the
 * application callbacks. docs/dfsm-chart.md is rendered from this file
 * (scripts/render-dfsm-chart.mjs).
 *
 * | here                       | C (dfsm.c)                                           |
 * |----------------------------|------------------------------------------------------|
 * | states                     | dfsm_mode_t; entering one is dfsm_set_mode           |
 * | error states ('*')         | deliver callback step 1: error mode → ignore + leave epilogue |
 * | CONFCHG                    | dfsm_cpg_confchg_callback                            |
 * | NORMAL                     | deliver callback §7: deliver (SYNCED) or queue       |
 * | SYNC_START … VERIFY        | deliver callback §8, by mode                         |
 * | FAULT                      | the "goto leave" epilogue (LEAVE + release)          |
 * | SET_ERROR                  | dfsm_set_errormode                                   |
 * | NEWER_PROTOCOL             | deliver callback step 4 (VERSION_ERROR)              |
 * | INITIALIZE                 | dfsm_initialize                                      |
 *
 * dfsm_set_mode's rule (error modes only move up, any mode may go back to START
 * through dfsm_initialize) is the set of transitions below: a move the rule refuses
 * has no transition, so the event changes nothing.
 *
 * Semantics the engine gives this chart (dfsm.ts: Dfsm.send), chosen to keep C's
 * synchronous order where C changes the mode and carries on in the same call:
 * - the first transition whose guard holds is taken; no transition → the event is
 *   ignored (as C ignores it);
 * - the target is entered (logged, `synced` callback) *before* the transition's
 *   actions run, because C calls dfsm_set_mode before the work that follows it;
 * - an action that fails returns false: the rest of the step is dropped and FAULT is
 *   sent (C: `goto leave; return`);
 * - an event sent while an action runs (a callback calling setErrorMode, a FAULT) is
 *   processed at once, as C re-enters dfsm_set_mode from the callback;
 * - `raise` actions queue an event processed when the step's actions are done.
 */
import { setup } from 'xstate';
import type { ConfChange, MemberId } from '../cluster/transport.js';
import type { Epoch } from '../wire/dfsm.js';
import type { DfsmModeName } from './types.js';

/** Events of the chart. Message events carry the decoded fields (views into the message). */
export type DfsmEvent =
  | { readonly type: 'INITIALIZE' }
  | { readonly type: 'CONFCHG'; readonly change: ConfChange; readonly member: boolean }
  | { readonly type: 'NORMAL'; readonly from: MemberId; readonly count: bigint; readonly subtype: number; readonly time: number; readonly msg: Buffer; readonly payload: Buffer }
  | { readonly type: 'SYNC_START'; readonly from: MemberId; readonly epoch: Epoch }
  | { readonly type: 'STATE'; readonly from: MemberId; readonly payload: Buffer }
  | { readonly type: 'UPDATE'; readonly from: MemberId; readonly payload: Buffer }
  | { readonly type: 'UPDATE_COMPLETE'; readonly from: MemberId }
  | { readonly type: 'VERIFY_REQUEST'; readonly from: MemberId; readonly epoch: Epoch; readonly payload: Buffer }
  | { readonly type: 'VERIFY'; readonly from: MemberId; readonly epoch: Epoch; readonly payload: Buffer }
  /** A state message of a type C does not know (7 and up). */
  | { readonly type: 'UNKNOWN_TYPE'; readonly msgType: number }
  /** Common checks: a state message of another epoch (ignored unless in an error mode). */
  | { readonly type: 'WRONG_EPOCH' }
  | { readonly type: 'OLDER_PROTOCOL' }
  | { readonly type: 'NEWER_PROTOCOL' }
  | { readonly type: 'FAULT'; readonly reason: string }
  | { readonly type: 'SET_ERROR' }
  /** Raised: the STATE just stored (the guard asks whether all are in now). */
  | { readonly type: 'STATE_STORED' }
  /** Raised: the application has processed all states of the round. */
  | { readonly type: 'STATES_PROCESSED' }
  /** Raised: the round's updates are committed. */
  | { readonly type: 'COMMITTED' };

export type DfsmEventType = DfsmEvent['type'];

export const GUARDS = ['notMember', 'alone', 'unknownSender', 'duplicateState', 'allStatesIn', 'localSynced'] as const;
export type GuardName = (typeof GUARDS)[number];

export const ACTIONS = [
  'initialize',
  'confchgEpoch',
  'confchgMembers',
  'logLeftGroup',
  'resendQueue',
  'sendSyncStartIfLowest',
  'notifyConfchg',
  'markLocalSynced',
  'deliverNormal',
  'queueNormal',
  'syncStart',
  'storeState',
  'processStateUpdate',
  'processUpdate',
  'commit',
  'markAllSynced',
  'recordLeader',
  'deliverQueue',
  'deliverSyncQueue',
  'releaseSync',
  'verifyRequest',
  'verify',
  'logNewerProtocol',
  'logOlderProtocol',
  'logIgnored',
  'logUnexpected',
  'raise',
] as const;
export type ActionName = (typeof ACTIONS)[number];

type ActionRef = ActionName | { readonly type: 'raise'; readonly params: { readonly event: 'STATE_STORED' | 'STATES_PROCESSED' | 'COMMITTED' } };
interface TransitionConfig {
  readonly guard?: GuardName;
  readonly target?: DfsmModeName;
  readonly actions?: readonly ActionRef[];
}
type On = Partial<Record<DfsmEventType | '*', TransitionConfig | readonly TransitionConfig[]>>;

const raise = (event: 'STATE_STORED' | 'STATES_PROCESSED' | 'COMMITTED'): ActionRef => ({ type: 'raise', params: { event } });

const leave: TransitionConfig = { target: 'LEAVE', actions: ['releaseSync'] };
/** A state message this mode does not expect: "received unknown state message type" → leave. */
const unexpected: TransitionConfig = { target: 'LEAVE', actions: ['logUnexpected', 'releaseSync'] };
const ignored: TransitionConfig = { actions: ['logIgnored'] };

/** What every normal mode does with membership, faults and the common checks. */
function normalMode(confchg: readonly TransitionConfig[]): On {
  return {
    INITIALIZE: { target: 'START', actions: ['initialize'] },
    CONFCHG: confchg,
    FAULT: leave,
    SET_ERROR: { target: 'ERROR' },
    NEWER_PROTOCOL: { target: 'VERSION_ERROR', actions: ['logNewerProtocol'] },
    OLDER_PROTOCOL: { actions: ['logOlderProtocol'] },
  };
}

/** CONFCHG in a normal mode other than START. */
const memberChange: readonly TransitionConfig[] = [
  { guard: 'notMember', target: 'LEAVE', actions: ['confchgEpoch', 'confchgMembers', 'logLeftGroup'] },
  { guard: 'alone', target: 'SYNCED', actions: ['confchgEpoch', 'confchgMembers', 'markLocalSynced', 'deliverQueue', 'notifyConfchg'] },
  { target: 'START_SYNC', actions: ['confchgEpoch', 'confchgMembers', 'resendQueue', 'sendSyncStartIfLowest', 'notifyConfchg'] },
];

/** An error mode: messages and faults only release the round (C checks the mode first). */
function errorMode(up: On): On {
  return {
    INITIALIZE: { target: 'START', actions: ['initialize'] },
    CONFCHG: { actions: ['confchgEpoch'] },
    '*': { actions: ['releaseSync'] },
    ...up,
  };
}

export const DFSM_CHART = {
  id: 'dfsm',
  initial: 'START',
  states: {
    START: {
      on: {
        ...normalMode([{ guard: 'notMember', actions: ['confchgEpoch', 'confchgMembers'] }, ...memberChange.slice(1)]),
        NORMAL: { actions: ['queueNormal'] },
        // C: a state message in START falls into "internal error - unknown mode".
        SYNC_START: unexpected,
        STATE: unexpected,
        UPDATE: unexpected,
        UPDATE_COMPLETE: unexpected,
        VERIFY_REQUEST: unexpected,
        VERIFY: unexpected,
        UNKNOWN_TYPE: unexpected,
      },
    },
    START_SYNC: {
      on: {
        ...normalMode(memberChange),
        NORMAL: { actions: ['queueNormal'] },
        SYNC_START: { actions: ['syncStart'] },
        STATE: [
          { guard: 'unknownSender', ...unexpected },
          { guard: 'duplicateState', ...unexpected },
          { actions: ['storeState', raise('STATE_STORED')] },
        ],
        STATE_STORED: { guard: 'allStatesIn', actions: ['processStateUpdate', raise('STATES_PROCESSED')] },
        STATES_PROCESSED: [
          { guard: 'localSynced', target: 'SYNCED', actions: ['releaseSync', 'deliverQueue'] },
          { target: 'UPDATE', actions: ['deliverQueue'] },
        ],
        UPDATE: unexpected,
        UPDATE_COMPLETE: unexpected,
        VERIFY_REQUEST: ignored,
        VERIFY: ignored,
        UNKNOWN_TYPE: unexpected,
      },
    },
    SYNCED: {
      on: {
        ...normalMode(memberChange),
        NORMAL: { actions: ['deliverNormal'] },
        UPDATE_COMPLETE: { actions: ['markAllSynced', 'recordLeader', 'deliverQueue'] },
        VERIFY_REQUEST: { actions: ['verifyRequest'] },
        VERIFY: { actions: ['verify'] },
        SYNC_START: ignored,
        STATE: ignored,
        UPDATE: ignored,
        UNKNOWN_TYPE: ignored,
      },
    },
    UPDATE: {
      on: {
        ...normalMode(memberChange),
        NORMAL: { actions: ['queueNormal'] },
        UPDATE: { actions: ['processUpdate'] },
        UPDATE_COMPLETE: { actions: ['commit', 'markAllSynced', 'recordLeader', raise('COMMITTED')] },
        COMMITTED: { target: 'SYNCED', actions: ['deliverSyncQueue', 'deliverQueue', 'releaseSync'] },
        VERIFY_REQUEST: ignored,
        VERIFY: ignored,
        SYNC_START: unexpected,
        STATE: unexpected,
        UNKNOWN_TYPE: unexpected,
      },
    },
    LEAVE: { on: errorMode({ SET_ERROR: { target: 'ERROR' } }) },
    VERSION_ERROR: { on: errorMode({ SET_ERROR: { target: 'ERROR' } }) },
    ERROR: { on: errorMode({ SET_ERROR: {} }) },
  },
} as const satisfies { id: string; initial: DfsmModeName; states: Record<DfsmModeName, { on: On }> };

/** The chart as an xstate machine (for tools: serialisation, the render script, tests). */
export function dfsmMachine() {
  const guards = Object.fromEntries(GUARDS.map((g) => [g, () => false])) as Record<GuardName, () => boolean>;
  const actions = Object.fromEntries(ACTIONS.map((a) => [a, () => undefined])) as Record<ActionName, () => void>;
  return setup({ types: {} as { events: DfsmEvent }, guards, actions }).createMachine(DFSM_CHART as never);
}

// ---- the compiled table the engine runs ------------------------------------------------

export interface Step {
  readonly guard: GuardName | null;
  readonly target: DfsmModeName | null;
  /** Action names; a raised event is `raise:<EVENT>`. */
  readonly actions: readonly (ActionName | { readonly raise: 'STATE_STORED' | 'STATES_PROCESSED' | 'COMMITTED' })[];
}

export type ChartTable = ReadonlyMap<DfsmModeName, ReadonlyMap<DfsmEventType | '*', readonly Step[]>>;

function compileStep(t: TransitionConfig): Step {
  return {
    guard: t.guard ?? null,
    target: t.target ?? null,
    actions: (t.actions ?? []).map((a) => (typeof a === 'string' ? a : { raise: a.params.event })),
  };
}

/** The chart as a lookup table (state → event → guarded steps), built once. */
export function compileChart(): ChartTable {
  const table = new Map<DfsmModeName, Map<DfsmEventType | '*', Step[]>>();
  for (const [state, def] of Object.entries(DFSM_CHART.states) as [DfsmModeName, { on: On }][]) {
    const on = new Map<DfsmEventType | '*', Step[]>();
    for (const [event, t] of Object.entries(def.on) as [DfsmEventType | '*', TransitionConfig | readonly TransitionConfig[]][]) {
      on.set(event, (Array.isArray(t) ? t : [t as TransitionConfig]).map(compileStep));
    }
    table.set(state, on);
  }
  return table;
}

/** The steps for an event in a state: its own entry, else the wildcard, else none. */
export function stepsFor(table: ChartTable, state: DfsmModeName, type: DfsmEventType): readonly Step[] {
  const on = table.get(state);
  return on?.get(type) ?? on?.get('*') ?? [];
}
