/**
 * Hostile DFSM messages for a rogue CPG member (issue 16), used by the simulation
 * (rogue.ts) and the lab's cpg-agent: random bytes, valid headers with garbage,
 * mutations of messages seen from the group, oversized messages, STATEs and UPDATEs with
 * huge versions and inodes and, when `late`, future protocol versions. Pure: the caller
 * feeds what it receives (observe) and sends what next() returns.
 */
import { DCDB_PROTOCOL_VERSION } from '../dfsm/types.js';
import { Rng } from '../util/rng.js';
import { DcdbMessageType, encodeFuseMessage, encodeUnlock } from '../wire/dcdb.js';
import { decodeDfsmMessage, DfsmMessageType, encodeNormalHeader, encodeStateHeader, encodeVerify, encodeVerifyRequest, type Epoch } from '../wire/dfsm.js';
import { DT_DIR, DT_REG } from '../wire/entry.js';
import { encodeIndex } from '../wire/memdb-index.js';
import { encodeUpdate } from '../wire/update.js';

/** Real messages remembered for mutation. */
const SEEN_MAX = 64;
/** Oversized: beyond MEMDB_MAX_FILE_SIZE and beyond what a peer would send. */
const OVERSIZE = 1024 * 1024 + 41;
const U64_MAX = 2n ** 64n - 1n;
const PATHS = ['a', 'b', 'd', 'd/x', 'priv', 'priv/lock', 'priv/lock/l', 'nodes', 'a/b', '', '.', '..', 'x'.repeat(300)];

export class HostileMessages {
  readonly rng: Rng;
  readonly seen: Buffer[] = [];
  epoch: Epoch = { epoch: 0, time: 0, nodeid: 0, pid: 0 };
  count = 1n;
  /** A STATE to answer the current sync round with (null: none seen yet or already sent). */
  stateToSend: Buffer | null = null;

  constructor(seed: number) {
    this.rng = new Rng(seed ^ 0x5eed);
  }

  /** A message delivered from another member: remembered for mutation; SYNC_START and STATE tracked. */
  observe(msg: Buffer): void {
    const d = decodeDfsmMessage(msg);
    if (d.ok && d.value.kind === 'state' && d.value.base.type === DfsmMessageType.SYNC_START) {
      this.epoch = d.value.epoch;
      this.stateToSend = null;
    }
    // An honest STATE of this round: the rogue answers with a copy, so the round can
    // complete with the rogue as a member and its later messages reach SYNCED nodes.
    if (d.ok && d.value.kind === 'state' && d.value.base.type === DfsmMessageType.STATE && this.stateToSend === null) this.stateToSend = Buffer.from(msg);
    if (this.seen.length >= SEEN_MAX) this.seen.splice(this.rng.int(SEEN_MAX), 1);
    this.seen.push(Buffer.from(msg));
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.int(256);
    return b;
  }

  /** A u32 value chosen to hit boundaries. */
  u32(): number {
    return this.rng.pick([0, 1, 2, 31, 32, 40, 41, 255, 256, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, this.rng.int(0x1_0000_0000)]);
  }

  u64(): bigint {
    return this.rng.pick([0n, 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, U64_MAX, BigInt(this.rng.int(1000))]);
  }

  path(): string {
    return this.rng.pick(PATHS);
  }

  normal(subtype: number, payload: Buffer[], version = DCDB_PROTOCOL_VERSION): Buffer {
    return Buffer.concat([encodeNormalHeader(subtype, version, 0, this.count++), ...payload]);
  }

  state(type: number, payload: Buffer, epoch = this.rng.chance(0.7) ? this.epoch : { epoch: this.u32(), time: 0, nodeid: this.u32(), pid: this.u32() }): Buffer {
    return Buffer.concat([encodeStateHeader(type as DfsmMessageType, DCDB_PROTOCOL_VERSION, 0, epoch), payload]);
  }

  /** A well-formed NORMAL (fuse or unlock message) with hostile field values. */
  validNormal(): Buffer {
    const r = this.rng;
    if (r.chance(0.15)) return this.normal(DcdbMessageType.UNLOCK_REQUEST + r.int(2), encodeUnlock({ csum: this.bytes(32), path: this.path() }));
    const type = 1 + r.int(6);
    const data = r.chance(0.5) ? this.bytes(r.int(64)) : null;
    return this.normal(type, encodeFuseMessage({ offset: r.chance(0.2) ? this.u32() : r.int(64), flags: r.int(2), path: this.path(), to: type === DcdbMessageType.RENAME ? this.path() : null, data }));
  }

  /** A well-formed message of some type, with hostile field values. */
  valid(): Buffer {
    const r = this.rng;
    switch (r.int(6)) {
      case 0:
      case 1:
        return this.validNormal();
      case 2: {
        const n = r.int(4);
        const entries = Array.from({ length: n }, (_, i) => ({ inode: BigInt(i) * 7n + (i === n - 1 ? this.u64() % (2n ** 62n) : 0n), digest: this.bytes(32) }));
        const sorted = entries.sort((a, b) => (a.inode < b.inode ? -1 : 1)).filter((e, i, a) => i === 0 || e.inode !== a[i - 1]!.inode);
        return this.state(DfsmMessageType.STATE, encodeIndex({ version: this.u64(), writer: this.u32(), mtime: this.u32() }, sorted.map((e) => ({ inode: e.inode, digest: e.digest }))));
      }
      case 3: {
        const type = r.chance(0.5) ? DT_REG : DT_DIR;
        const data = type === DT_REG ? this.bytes(r.int(16)) : null;
        const name = this.path().replace(/\//g, r.chance(0.5) ? '/' : '_');
        return this.state(DfsmMessageType.UPDATE, encodeUpdate({ inode: this.u64(), parent: this.u64(), version: this.u64(), writer: this.u32(), mtime: this.u32(), size: data?.length ?? 0, type, name, data }));
      }
      case 4:
        return this.state(r.pick([DfsmMessageType.SYNC_START, DfsmMessageType.UPDATE_COMPLETE]), Buffer.alloc(0));
      case 5:
        return this.state(DfsmMessageType.VERIFY_REQUEST, encodeVerifyRequest(this.u64()));
      default:
        return this.state(DfsmMessageType.VERIFY, encodeVerify(this.u64(), this.bytes(32)));
    }
  }

  /** Bit flips, truncation, extension or a boundary u32 written somewhere; the protocol version is kept unless `late`. */
  mutate(src: Buffer, late: boolean): Buffer {
    const r = this.rng;
    let m = Buffer.from(src);
    const k = r.int(4);
    if (k === 0) for (let i = 1 + r.int(4); i > 0 && m.length > 0; i--) m[r.int(m.length)]! ^= 1 << r.int(8);
    else if (k === 1) m = m.subarray(0, r.int(m.length + 1));
    else if (k === 2) m = Buffer.concat([m, this.bytes(1 + r.int(32))]);
    else if (m.length >= 4) m.writeUInt32LE(this.u32(), 4 * r.int(Math.floor(m.length / 4)));
    if (!late && m.length >= 8) m.writeUInt32LE(DCDB_PROTOCOL_VERSION, 4);
    return m;
  }

  /**
   * The next hostile message; `late` allows what wedges a group (future versions,
   * unrestricted random bytes); `synced` favours NORMAL messages (what SYNCED nodes parse).
   */
  next(late: boolean, synced: boolean): Buffer {
    const r = this.rng;
    const roll = r.int(1000);
    if (roll < 2) return this.normal(DcdbMessageType.WRITE, encodeFuseMessage({ offset: 0, flags: 0, path: 'big', to: null, data: Buffer.alloc(OVERSIZE) }));
    if (roll < 4) return this.state(DfsmMessageType.UPDATE, Buffer.concat([encodeUpdate({ inode: 5, parent: 0, version: 5, writer: 1, mtime: 1, size: 0, type: DT_REG, name: 'o', data: null }), Buffer.alloc(OVERSIZE)]));
    if (late && roll < 8) return this.futureVersion();
    if (late && roll < 12) return this.bytes(r.int(80));
    if (synced && roll < 800) {
      const m = this.validNormal();
      return r.chance(0.5) ? this.mutate(m, late) : m;
    }
    if (roll < 150) {
      const b = this.bytes(16 + r.int(64));
      b.writeUInt16LE(r.int(9), 0);
      b.writeUInt32LE(DCDB_PROTOCOL_VERSION, 4);
      return b;
    }
    if (roll < 500 && this.seen.length > 0) return this.mutate(r.pick(this.seen), late);
    if (roll < 750) return this.mutate(this.valid(), late);
    return this.valid();
  }

  /** A valid CREATE with a protocol version above ours (C: "detected newer protocol", VERSION_ERROR). */
  futureVersion(): Buffer {
    return this.normal(DcdbMessageType.CREATE, encodeFuseMessage({ offset: 0, flags: 0, path: 'future', to: null, data: null }), 2 + this.rng.int(0xfffffff0));
  }

  /** The STATE answering the current round like a member (usually; once per round), or null. */
  answerSync(): Buffer | null {
    const s = this.stateToSend;
    if (s === null || s.length === 0 || this.rng.chance(0.2)) return null;
    this.stateToSend = Buffer.alloc(0);
    return s;
  }
}
