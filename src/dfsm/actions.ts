/**
 * The actions of the DFSM chart (chart.ts): the bodies of dfsm.c's callbacks, cut
 * where C changes the mode. An action returns false when C would `goto leave`; it logs
 * its reason first.
 *
 * | here                  | C (dfsm.c)                                              |
 * |-----------------------|---------------------------------------------------------|
 * | initialize            | dfsm_initialize (queue, writers, flags)                 |
 * | confchgEpoch/Members  | dfsm_cpg_confchg_callback (epoch, member list)          |
 * | resendQueue           | dfsm_resend_queue                                       |
 * | sendSyncStartIfLowest | confchg: the lowest member sends SYNC_START             |
 * | queueNormal           | dfsm_queue_add_message                                  |
 * | deliverNormal         | deliver callback §7 in SYNCED + dfsm_record_local_result|
 * | syncStart             | deliver callback: SYNC_START in START_SYNC              |
 * | storeState / processStateUpdate | deliver callback: STATE in START_SYNC         |
 * | processUpdate / commit| deliver callback: UPDATE / UPDATE_COMPLETE in UPDATE    |
 * | deliverQueue          | dfsm_deliver_queue                                      |
 * | deliverSyncQueue      | dfsm_deliver_sync_queue                                 |
 * | releaseSync           | dfsm_release_sync_resources (no member list)            |
 * | verifyRequest / verify| deliver callback: VERIFY_REQUEST / VERIFY in SYNCED     |
 */
import { CsError, type MemberId } from '../cluster/transport.js';
import { assert, fail } from '../util/assert.js';
import { DfsmMessageType, decodeVerify, decodeVerifyRequest, encodeVerify, epochEquals } from '../wire/dfsm.js';
import type { ActionName, DfsmEvent } from './chart.js';
import { nowSeconds } from '../util/clock.js';
import type { Dfsm, Round } from './dfsm.js';
import { memberKey } from './members.js';
import type { StateUpdateResult } from './types.js';

/** false: C's `goto leave` (the engine sends FAULT and drops the rest of the step). */
export type ActionImpl = (ev: DfsmEvent) => boolean | void;

type Of<T extends DfsmEvent['type']> = Extract<DfsmEvent, { type: T }>;

/** The event an action was written for; anything else is a chart error. */
function expect<T extends DfsmEvent['type']>(ev: DfsmEvent, ...types: T[]): Of<T> {
  if (!(types as string[]).includes(ev.type)) fail(`action runs on ${types.join('/')}, got ${ev.type}`);
  return ev as Of<T>;
}

function roundOf(d: Dfsm): Round {
  assert(d.ctx.round !== null, 'a sync round exists');
  return d.ctx.round;
}

function copyMember(m: MemberId): MemberId {
  return { nodeid: m.nodeid, pid: m.pid };
}

/** dfsm_resend_queue: our own queued messages go out again after a join; the queue is dropped. */
function resendQueue(d: Dfsm, ev: DfsmEvent): boolean {
  const { change } = expect(ev, 'CONFCHG');
  const q = d.ctx.queues;
  if (change.joined.length === 0 || q.msg.length === 0) return true;
  d.log.info({ length: q.msg.length }, 'queue not empty - resending messages');
  let ok = true;
  for (const qm of q.msg) {
    if (d.isLocal(qm) && d.sendRaw([qm.msg]) !== CsError.OK) {
      ok = false;
      break;
    }
  }
  q.dropMsg();
  if (!ok) d.log.error({}, 'dfsm_resend_queue failed');
  return ok;
}

function queueNormal(d: Dfsm, ev: DfsmEvent): boolean {
  const m = expect(ev, 'NORMAL');
  const ni = d.ctx.members.get(memberKey(m.from));
  if (!ni) {
    d.log.error({ from: memberKey(m.from) }, 'dfsm_node_info_lookup failed');
    return false;
  }
  const q = d.ctx.queues;
  if (!q.add(m.from, m.count, m.msg, d.modeName === 'UPDATE' && ni.synced)) {
    d.log.error({ messages: q.msg.length + q.sync.length, bytes: q.queuedBytes }, 'message queue limit reached - leaving to resync');
    return false;
  }
  return true;
}

function deliverNormal(d: Dfsm, ev: DfsmEvent): boolean {
  const m = expect(ev, 'NORMAL');
  const local = d.isLocal(m.from);
  const res = d.call(() => d.cb.deliver({ from: m.from, subtype: m.subtype, time: m.time, payload: m.payload, local }), { ok: false });
  if (local) d.recordLocalResult(m.count, res.result ?? -1);
  return res.ok;
}

function syncStart(d: Dfsm, ev: DfsmEvent): boolean {
  const m = expect(ev, 'SYNC_START');
  if (m.from.nodeid !== d.ctx.lowest) d.log.error({ from: memberKey(m.from) }, 'ignore sync request from wrong member');
  d.log.info({ epoch: m.epoch }, 'received sync request');
  d.ctx.syncEpoch = m.epoch;
  d.releaseSyncResources(null);
  const state = d.call(() => d.cb.getState(), null);
  if (!state || state.length === 0) {
    d.log.error({}, 'dfsm_get_state_fn failed');
    return false;
  }
  return d.sendState(DfsmMessageType.STATE, [state]) === CsError.OK;
}

function processStateUpdate(d: Dfsm): boolean {
  const round = roundOf(d);
  d.log.debug({ members: round.members.length }, 'received all states');
  const raw = d.call<boolean | StateUpdateResult>(() => d.cb.processStateUpdate(round), false);
  const res: StateUpdateResult = typeof raw === 'boolean' ? { ok: raw } : raw;
  if (!res.ok) return false;
  if (res.leader) d.ctx.lastLeader = copyMember(res.leader);
  const synced = round.members.filter((m) => m.synced).map(memberKey);
  d.log.info({ leader: res.leader ? memberKey(res.leader) : undefined, synced, epoch: d.ctx.syncEpoch }, 'sync round: all states received');
  return true;
}

/** dfsm_deliver_queue: deliver (SYNCED) or move to the sync queue (UPDATE) what synced members sent. */
function deliverQueue(d: Dfsm): boolean {
  const q = d.ctx.queues;
  if (q.msg.length > 0) d.log.debug({ length: q.msg.length }, 'dfsm_deliver_queue');
  let i = 0;
  while (i < q.msg.length) {
    const qm = q.msg[i]!;
    const ni = d.ctx.members.get(memberKey(qm));
    if (!ni) {
      d.log.info({ from: memberKey(qm) }, 'remove message from non-member');
      q.takeMsg(i);
      continue;
    }
    const mode = d.modeName;
    if (mode !== 'SYNCED' && mode !== 'UPDATE') return false;
    if (!ni.synced) i++;
    else if (mode === 'UPDATE') q.moveToSync(i);
    else d.deliver(qm, q.takeMsg(i).msg);
  }
  return true;
}

/** dfsm_deliver_sync_queue: in order, as long as the mode stays SYNCED. */
function deliverSyncQueue(d: Dfsm): boolean {
  const q = d.ctx.queues;
  if (q.sync.length === 0) return true;
  d.log.debug({ length: q.sync.length }, 'dfsm_deliver_sync_queue');
  let ok = true;
  for (const qm of q.takeSync()) {
    if (ok && d.modeName === 'SYNCED') d.deliver(qm, qm.msg);
    else ok = false;
  }
  return ok;
}

function verifyRequest(d: Dfsm, ev: DfsmEvent): boolean {
  const m = expect(ev, 'VERIFY_REQUEST');
  const req = decodeVerifyRequest(m.payload);
  if (!req.ok) {
    d.log.error({ length: m.payload.length, from: memberKey(m.from) }, 'cpg received verify request with wrong length');
    return false;
  }
  const checksum = d.cb.checksum;
  if (!checksum) return true;
  const c = d.call(() => checksum.call(d.cb), null);
  if (!c || c.length !== 32) {
    d.log.error({}, 'unable to compute data checksum');
    return false;
  }
  d.ctx.csum = Buffer.from(c);
  d.ctx.csumEpoch = m.epoch;
  d.ctx.csumId = req.value;
  if (!d.isLocal(m.from)) return true;
  return d.sendState(DfsmMessageType.VERIFY, [encodeVerify(d.ctx.csumId, d.ctx.csum)]) === CsError.OK;
}

function verify(d: Dfsm, ev: DfsmEvent): boolean {
  const m = expect(ev, 'VERIFY');
  if (!d.cb.checksum) return true;
  const v = decodeVerify(m.payload);
  if (!v.ok) {
    d.log.error({ length: m.payload.length }, 'cpg received verify message with wrong length');
    return false;
  }
  const c = d.ctx;
  const time = nowSeconds(d.clock);
  if (c.csumId !== v.value.csumId || !epochEquals(c.csumEpoch, m.epoch)) {
    c.lastVerify = { time, result: 'skipped' };
    d.metrics.verify('skipped');
    d.log.info({ csumId: v.value.csumId.toString() }, 'skip verification - no checksum saved');
    return true;
  }
  if (!v.value.csum.equals(c.csum)) {
    c.lastVerify = { time, result: 'mismatch' };
    d.metrics.verify('mismatch');
    d.log.error({ theirs: v.value.csum.toString('hex'), ours: c.csum.toString('hex') }, 'wrong checksum - restarting');
    return false;
  }
  c.lastVerify = { time, result: 'ok' };
  d.metrics.verify('ok');
  d.log.info({ csumId: v.value.csumId.toString() }, 'data verification successful');
  return true;
}

/** The chart's action names bound to one engine. */
export function actionsOf(d: Dfsm): Record<Exclude<ActionName, 'raise'>, ActionImpl> {
  return {
    initialize: () => d.reset(),
    confchgEpoch: () => d.newEpoch(),
    confchgMembers: (ev) => {
      const m = expect(ev, 'CONFCHG');
      d.newMembers(m.change, m.member);
    },
    logLeftGroup: () => d.log.info({ nodeid: d.ctx.nodeid, pid: d.ctx.pid }, 'we left the process group'),
    resendQueue: (ev) => resendQueue(d, ev),
    sendSyncStartIfLowest: () => {
      if (d.ctx.lowest !== d.ctx.nodeid || d.sendState(DfsmMessageType.SYNC_START, []) === CsError.OK) return true;
      d.log.error({}, 'failed to send SYNC_START message');
      return false;
    },
    notifyConfchg: (ev) => {
      const members = expect(ev, 'CONFCHG').change.members.map(copyMember);
      const cb = d.cb.confchg;
      if (cb) d.call(() => cb.call(d.cb, members), undefined);
    },
    markLocalSynced: () => void (roundOf(d).local.synced = true),
    deliverNormal: (ev) => deliverNormal(d, ev),
    queueNormal: (ev) => queueNormal(d, ev),
    syncStart: (ev) => syncStart(d, ev),
    storeState: (ev) => {
      const m = expect(ev, 'STATE');
      const ni = d.ctx.members.get(memberKey(m.from));
      assert(ni !== undefined && ni.state === null, 'STATE from a member without state (chart guards)');
      // Kept as delivered (C copies out of libcpg's dispatch buffer; here the delivery's
      // Buffer is ours alone and never reused): a copy cost ~40 ms per member at 6k inodes.
      ni.state = m.payload;
    },
    processStateUpdate: () => processStateUpdate(d),
    processUpdate: (ev) => {
      const m = expect(ev, 'UPDATE');
      return d.call(() => d.cb.processUpdate(roundOf(d), m.from, m.payload), false);
    },
    commit: () => d.call(() => d.cb.commit(roundOf(d)), false),
    markAllSynced: () => {
      for (const m of roundOf(d).members) m.synced = true;
    },
    recordLeader: (ev) => void (d.ctx.lastLeader = copyMember(expect(ev, 'UPDATE_COMPLETE').from)),
    deliverQueue: () => deliverQueue(d),
    deliverSyncQueue: () => deliverSyncQueue(d),
    releaseSync: () => d.releaseSyncResources(null),
    verifyRequest: (ev) => verifyRequest(d, ev),
    verify: (ev) => verify(d, ev),
    logNewerProtocol: () => d.log.error({ version: d.protocolVersion }, 'received message with newer protocol version'),
    logOlderProtocol: () => d.log.info({}, 'ignore message with wrong protocol version'),
    logIgnored: (ev) => d.log.debug({ type: ev.type, mode: d.modeName }, 'ignore state sync message'),
    logUnexpected: (ev) => d.log.error({ type: ev.type, mode: d.modeName }, 'received unknown state message type'),
  };
}
