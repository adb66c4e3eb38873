/**
 * The status group `pve_kvstore_v1` as a DFSM application (kvstore.md §1–§6): the
 * callbacks C registers in kvstore_dfsm_callbacks, over a Status object.
 *
 * | here                 | C (status.c)                                          |
 * |----------------------|-------------------------------------------------------|
 * | KvstoreApp.deliver   | dfsm_deliver (own messages ignored, never leaves)      |
 * | KvstoreApp.confchg   | dfsm_confchg (online flags)                            |
 * | getState             | dfsm_get_state → clusterlog_get_state                  |
 * | processStateUpdate   | dfsm_process_state_update (all synced, merge, resend)  |
 * | processUpdate        | dfsm_process_update (rejects: the member leaves)       |
 * | commit / cleanup     | dfsm_commit / dfsm_cleanup (no-ops)                    |
 * | synced               | dfsm_synced (nodeip)                                   |
 * | KVSTORE_DFSM_OPTIONS | cfs_status_dfsm_new (group name, protocol 0)           |
 */
import type { DeliveredMessage, DeliverResult, DfsmApi, DfsmCallbacks, MemberId, SyncInfo } from '../dfsm/types.js';
import type { Log } from '../util/log.js';
import { decodeClogHeader, decodeKvUpdate, decodeLogEntry, KVSTORE_CPG_GROUP, KVSTORE_PROTOCOL_VERSION, KvMessageType } from '../wire/kvstore.js';
import type { Status } from './status.js';

/** The Dfsm constructor options of this group (no verify timer: the service gets period 0). */
export const KVSTORE_DFSM_OPTIONS = { groupName: KVSTORE_CPG_GROUP, protocolVersion: KVSTORE_PROTOCOL_VERSION } as const;

/** −EACCES for an unknown subtype (C's *res_ptr; unused, as C's). */
const EACCES = 13;

export interface KvstoreRound {
  readonly members: number;
  readonly accepted: number;
  readonly entries: number;
  readonly resent: number;
}

export class KvstoreApp implements DfsmCallbacks {
  /** The last sync round, for `pmxcfs-ts status`. */
  lastRound: KvstoreRound | null = null;

  constructor(
    private readonly status: Status,
    private readonly log: Log,
    /** True while the group's CPG handle exists (dfsm_is_initialized). */
    dfsm: DfsmApi & { readonly hasTransport: boolean },
  ) {
    status.sender = {
      send: (subtype, payload) => {
        if (dfsm.hasTransport) dfsm.sendMessageNoWait(subtype, payload);
      },
    };
  }

  deliver(msg: DeliveredMessage): DeliverResult {
    if (msg.local) return { ok: true, result: 0 };
    if (msg.subtype === KvMessageType.UPDATE) {
      const u = decodeKvUpdate(msg.payload);
      if (u.ok) this.status.nodeSet(msg.from.nodeid, u.value.key, u.value.value);
      else {
        if (u.error.code === 'SHORT') this.log.error({ from: msg.from }, u.error.message);
        this.log.error({ from: msg.from }, 'cant parse update message');
      }
    } else if (msg.subtype === KvMessageType.LOG) {
      this.log.debug({ from: msg.from }, 'received log');
      const e = decodeLogEntry(msg.payload);
      if (e.ok) this.status.insertLog(Buffer.from(msg.payload));
      else {
        this.log.error({ from: msg.from }, e.error.message);
        this.log.error({ from: msg.from }, 'cant parse log message');
      }
    } else {
      this.log.error({ from: msg.from }, `received unknown message type ${msg.subtype}\n`);
      return { ok: true, result: -EACCES };
    }
    return { ok: true, result: 0 };
  }

  confchg(members: readonly MemberId[]): void {
    this.status.setOnline(members);
  }

  getState(): Buffer {
    return this.status.clusterlog.getState();
  }

  processStateUpdate(sync: SyncInfo): boolean {
    let accepted = 0;
    const states = sync.members.map((m) => {
      m.synced = true;
      const h = m.state === null ? null : decodeClogHeader(m.state);
      if (h !== null && h.ok) {
        accepted++;
        return m.state;
      }
      this.log.error({ nodeid: m.nodeid, pid: m.pid }, h === null ? 'received log with wrong size 0' : h.error.message);
      return null;
    });
    const localIndex = sync.members.indexOf(sync.local);
    this.status.clusterlog.merge(states, localIndex);
    const entries = this.status.clusterlog.entryCount();
    const resent = this.status.resendLocal();
    this.lastRound = { members: sync.members.length, accepted, entries, resent };
    this.log.info({ members: sync.members.length, accepted, entries, resent }, 'kvstore sync round: cluster logs merged, local keys re-sent');
    return true;
  }

  processUpdate(): boolean {
    this.log.error({}, 'dfsm_process_update: received unexpected update message');
    return false;
  }

  commit(): boolean {
    return true;
  }

  synced(): void {
    this.status.announceIp();
  }
}
