/**
 * The dcdb application: the memdb replicated over the DFSM (dcdb.c). Joined to the
 * DFSM only through the DfsmCallbacks interface, as C's dfsm_callbacks_t.
 *
 * | here                  | C (dcdb.c)                                  |
 * |-----------------------|---------------------------------------------|
 * | getState              | dcdb_get_state                              |
 * | selectLeader          | dcdb_select_leader                          |
 * | processStateUpdate    | dcdb_process_state_update                   |
 * | createUpdates         | dcdb_create_and_send_updates (diff part)    |
 * | processUpdate         | dcdb_process_update                         |
 * | commit                | dcdb_commit                                 |
 * | cleanup               | dcdb_cleanup                                |
 * | checksum              | dcdb_checksum                               |
 * | deliver               | dcdb_deliver                                |
 * | sendFuse / sendUnlock | dcdb_send_fuse_message / dcdb_send_unlock   |
 */
import type { DeliveredMessage, DeliverResult, DfsmApi, DfsmCallbacks, MemberId, StateUpdateResult, SyncInfo } from '../dfsm/types.js';
import { EACCES } from '../memdb/errno.js';
import type { Memdb } from '../memdb/memdb.js';
import { assert } from '../util/assert.js';
import { type Log, silentLog } from '../util/log.js';
import { DcdbMessageType, encodeFuseMessage, encodeUnlock, type FuseMessage } from '../wire/dcdb.js';
import type { EntryFields } from '../wire/entry.js';
import { decodeIndex, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, indexEquals, type MemdbIndex } from '../wire/memdb-index.js';
import { decodeUpdate, updateSize, writeUpdate } from '../wire/update.js';
import type { U64 } from '../wire/u64.js';
import { applyNormalMessage } from './apply.js';
import { SyncProgress } from '../metrics/progress.js';

/** The round data C keeps in dfsm_sync_info_t.data. */
interface RoundData {
  readonly master: MemdbIndex;
  readonly local: MemdbIndex;
  readonly updates: EntryFields[];
}

/** Updates a follower may buffer in one round: one per inode of the leader's index. */
function maxUpdates(master: MemdbIndex): number {
  return master.size;
}

export interface StateEntry {
  readonly member: MemberId;
  readonly index: MemdbIndex;
}

/** dcdb_select_leader: highest version, then highest mtime, ties to the first in sorted order. */
export function selectLeader(states: readonly StateEntry[]): StateEntry {
  assert(states.length > 0, 'leader selection needs at least one state');
  let leader = states[0]!;
  for (const s of states) {
    if ((s.index.version === leader.index.version && s.index.mtime > leader.index.mtime) || s.index.version > leader.index.version) leader = s;
  }
  return leader;
}

/**
 * The inodes the leader must send: every leader entry whose 40 index bytes differ
 * at some member (missing there included; dfsm.md pitfall 8), each once, ascending
 * (flagged by position in the leader's index: no set and no sort).
 */
export function createUpdates(leader: MemdbIndex, members: readonly MemdbIndex[]): U64[] {
  const needed = new Uint8Array(leader.size);
  for (const m of members) {
    let j = 0;
    for (let i = 0; i < leader.size; i++) {
      const inode = leader.inodes[i]!;
      while (j < m.size && m.inodes[j]! < inode) j++;
      const lo = INDEX_HEADER_SIZE + i * INDEX_ENTRY_SIZE;
      const mo = INDEX_HEADER_SIZE + j * INDEX_ENTRY_SIZE;
      if (j < m.size && leader.raw.compare(m.raw, mo, mo + INDEX_ENTRY_SIZE, lo, lo + INDEX_ENTRY_SIZE) === 0) continue;
      needed[i] = 1;
    }
  }
  const inodes: U64[] = [];
  for (let i = 0; i < leader.size; i++) if (needed[i] === 1) inodes.push(leader.inodes[i]!);
  return inodes;
}

export interface DcdbOptions {
  readonly memdb: Memdb;
  readonly log?: Log;
  /** dcdb_sync_corosync_conf(memdb, notify); absent in tests and local mode. */
  readonly syncCorosyncConf?: (notify: boolean) => void;
}

export interface SyncRoundSummary {
  readonly leader: MemberId;
  readonly synced: readonly MemberId[];
  readonly updatesSent: number;
}

export class Dcdb implements DfsmCallbacks {
  readonly memdb: Memdb;
  private readonly dfsm: DfsmApi;
  private readonly log: Log;
  private readonly corosync: ((notify: boolean) => void) | undefined;
  /**
   * deliver() keeps nothing of a payload: memdb copies file data into its own Buffer,
   * names become strings and decodeUnlock copies the checksum.
   */
  readonly copiesPayload = true;
  /** The last round, for status. */
  lastRound: SyncRoundSummary | null = null;
  /** A full copy sent or received (status shows it; logs every 10%). */
  readonly progress: SyncProgress;

  constructor(dfsm: DfsmApi, opts: DcdbOptions) {
    this.dfsm = dfsm;
    this.memdb = opts.memdb;
    this.log = opts.log ?? silentLog;
    this.corosync = opts.syncCorosyncConf;
    this.progress = new SyncProgress(this.log);
  }

  getState(): Buffer {
    return this.memdb.encodeIndex();
  }

  processStateUpdate(sync: SyncInfo): StateUpdateResult {
    const states: StateEntry[] = [];
    for (const m of sync.members) {
      if (m.state === null) return { ok: false };
      const idx = decodeIndex(m.state);
      if (!idx.ok) {
        this.log.error({ nodeid: m.nodeid, pid: m.pid, err: idx.error.message }, 'received invalid state - leaving');
        return { ok: false };
      }
      states.push({ member: m, index: idx.value });
    }
    const leader = selectLeader(states);
    const synced: MemberId[] = [];
    states.forEach((s, k) => {
      const member = sync.members[k]!;
      if (s === leader || indexEquals(s.index.raw, leader.index.raw)) {
        member.synced = true;
        synced.push({ nodeid: member.nodeid, pid: member.pid });
      }
    });
    const local = states[sync.members.indexOf(sync.local)]!;
    sync.data = { master: leader.index, local: local.index, updates: [] } satisfies RoundData;
    let updatesSent = 0;
    if (!sync.local.synced) this.progress.start('receive', createUpdates(leader.index, [local.index]).length, null);
    if (this.dfsm.isLocal(leader.member)) {
      // The synced members hold the leader's index already: only the others are compared.
      const inodes = createUpdates(leader.index, states.filter((_, k) => !sync.members[k]!.synced).map((s) => s.index));
      // A file with size but no data (memdb.md pitfall 2) cannot be sent; C's leader
      // crashes on it and reloads it as empty after the restart. Do that reload and
      // leave, so the next round announces and sends the reloaded entry.
      const dataless = this.memdb.reloadDatalessFiles(inodes);
      if (dataless.length > 0) {
        this.log.error({ inodes: dataless }, 'file with size but without data cannot be sent - reloaded as empty, leaving');
        return { ok: false };
      }
      this.progress.start('send', inodes.length, inodes.reduce<number>((n, i) => n + (this.memdb.index.get(i)?.size ?? 0), 0));
      for (const inode of inodes) {
        const entry = this.memdb.index.get(inode);
        if (entry === undefined) {
          this.log.error({ inode }, 'leader lost an inode it announced - leaving');
          return { ok: false };
        }
        // A failed UPDATE send is tolerated as in C; the follower's commit check catches it.
        if (!this.dfsm.sendUpdate(updateSize(entry), (buf, offset) => writeUpdate(entry, buf, offset))) this.log.warn({ inode }, 'sending inode update failed');
        else updatesSent++;
        this.progress.step(entry.size);
      }
      this.progress.finish();
      if (!this.dfsm.sendUpdateComplete()) return { ok: false };
    }
    this.lastRound = { leader: leader.member, synced, updatesSent };
    this.log.info(
      {
        leader: `${leader.member.nodeid}/${leader.member.pid}`,
        version: leader.index.version,
        synced: synced.map((m) => `${m.nodeid}/${m.pid}`),
        updatesSent,
      },
      'sync round: leader selected',
    );
    return { ok: true, leader: leader.member };
  }

  processUpdate(sync: SyncInfo, from: MemberId, payload: Buffer): boolean {
    const round = sync.data as RoundData | undefined;
    if (round === undefined) return false;
    const u = decodeUpdate(payload);
    if (!u.ok) {
      this.log.error({ nodeid: from.nodeid, pid: from.pid, err: u.error.message }, 'received invalid update - leaving');
      return false;
    }
    if (round.updates.length >= maxUpdates(round.master)) {
      this.log.error({ limit: maxUpdates(round.master) }, 'more updates than the leader index has entries - leaving');
      return false;
    }
    round.updates.push(u.value);
    this.progress.step(u.value.size);
    return true;
  }

  commit(sync: SyncInfo): boolean {
    const round = sync.data as RoundData | undefined;
    if (round === undefined) return false;
    const ok = this.memdb.commitUpdate(round.master, round.local, round.updates);
    this.progress.finish();
    this.log.info({ updates: round.updates.length, result: ok ? 'ok' : 'failed', version: this.memdb.root.version }, ok ? 'sync commit: all data is up to date' : 'sync commit failed');
    if (!ok) return false;
    this.corosync?.(false);
    return true;
  }

  cleanup(sync: SyncInfo): void {
    sync.data = undefined;
    this.progress.finish();
  }

  checksum(): Buffer {
    return this.memdb.checksum();
  }

  deliver(msg: DeliveredMessage): DeliverResult {
    if (msg.subtype < DcdbMessageType.WRITE || msg.subtype > DcdbMessageType.UNLOCK) {
      this.log.error({ subtype: msg.subtype }, 'received unknown message type - leaving');
      return { ok: false };
    }
    if (!this.dfsm.isQuorate()) {
      this.log.error({}, 'received write while not quorate - trigger resync');
      return { ok: false };
    }
    const applied = applyNormalMessage(this.memdb, msg.subtype, msg.from.nodeid, msg.time, msg.payload);
    let result = 0;
    switch (applied.status) {
      case 'invalid':
        this.log.error({ subtype: msg.subtype, err: applied.reason }, 'received invalid message - leaving');
        return { ok: false };
      case 'ignored':
        break;
      case 'unlock-request':
        // Only the lowest member's lock cache decides expiry.
        if (this.dfsm.isLowestNodeid() && this.memdb.lockExpired(applied.path, applied.csum)) {
          this.log.info({ path: applied.path }, 'lock expired - sending unlock');
          this.dfsm.sendMessageNoWait(DcdbMessageType.UNLOCK, encodeUnlock({ path: applied.path, csum: applied.csum }));
        }
        break;
      case 'applied':
        result = applied.result;
        if (applied.corosyncConfChanged) this.corosync?.(msg.local);
        break;
    }
    if (this.memdb.errors) {
      this.dfsm.setErrorMode();
      return { ok: false, result };
    }
    return { ok: true, result };
  }

  // ---- the sending side (local writers) -------------------------------------

  /** dcdb_send_fuse_message: −EACCES when not quorate, −EBUSY on send failure, else the memdb result. */
  sendFuse(type: number, m: FuseMessage): Promise<number> {
    assert(type >= DcdbMessageType.WRITE && type <= DcdbMessageType.MTIME, 'fuse message type');
    // Never send a RENAME without target (it crashes C receivers).
    assert(type !== DcdbMessageType.RENAME || m.to !== null, 'RENAME needs a target');
    if (!this.dfsm.isQuorate()) return Promise.resolve(-EACCES);
    return this.dfsm.sendMessage(type, encodeFuseMessage(m));
  }

  /** dcdb_send_unlock: fire and forget, silently skipped when not quorate. */
  sendUnlock(path: string, csum: Buffer, request: boolean): void {
    this.dfsm.sendMessageNoWait(request ? DcdbMessageType.UNLOCK_REQUEST : DcdbMessageType.UNLOCK, encodeUnlock({ path, csum }));
  }
}
