/**
 * Progress of a full copy: the leader sending UPDATEs (dcdb.c:
 * dcdb_create_and_send_updates) or a member receiving them (dcdb_process_update).
 * One info line per 10% with inodes, bytes, rate and ETA; `pmxcfs-ts status` shows
 * the latest snapshot while the copy runs. Small rounds (a few changed inodes after a
 * partition) keep the one line per round and log nothing here.
 */
import type { Log } from '../util/log.js';

/** Below this many inodes a round is a diff, not a copy: no progress lines. */
export const PROGRESS_MIN_INODES = 1000;
const STEPS = 10;

export interface ProgressSnapshot {
  readonly role: 'send' | 'receive';
  readonly inodes: number;
  readonly totalInodes: number;
  /** File data bytes so far (and in total, when the sender knows it). */
  readonly bytes: number;
  readonly totalBytes: number | null;
  readonly percent: number;
  readonly inodesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
  readonly running: boolean;
}

export class SyncProgress {
  private role: 'send' | 'receive' = 'send';
  private total = 0;
  private totalBytes: number | null = null;
  private done = 0;
  private bytes = 0;
  private started = 0;
  private nextLog = 0;
  private running = false;
  private last: ProgressSnapshot | null = null;

  constructor(
    private readonly log: Log,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(role: 'send' | 'receive', totalInodes: number, totalBytes: number | null): void {
    this.role = role;
    this.total = totalInodes;
    this.totalBytes = totalBytes;
    this.done = 0;
    this.bytes = 0;
    this.started = this.now();
    this.running = totalInodes > 0;
    this.nextLog = totalInodes >= PROGRESS_MIN_INODES ? Math.ceil(totalInodes / STEPS) : Infinity;
    this.last = null;
  }

  /** One inode sent or received with `bytes` bytes of file data. */
  step(bytes: number): void {
    if (!this.running) return;
    this.done++;
    this.bytes += bytes;
    if (this.done < this.nextLog) return;
    const { running: _running, ...s } = this.current();
    this.log.info(s, 'sync progress');
    this.nextLog = Math.min(this.total, this.nextLog + Math.ceil(this.total / STEPS));
    if (this.done >= this.total) this.nextLog = Infinity;
  }

  /** The copy ended (commit or failure); the last snapshot stays for status. */
  finish(): void {
    if (!this.running) return;
    this.last = { ...this.current(), running: false };
    this.running = false;
  }

  snapshot(): ProgressSnapshot | null {
    return this.running ? this.current() : this.last;
  }

  private current(): ProgressSnapshot {
    const seconds = Math.max((this.now() - this.started) / 1000, 1e-6);
    const rate = this.done / seconds;
    return {
      role: this.role,
      inodes: this.done,
      totalInodes: this.total,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      percent: Math.min(100, Math.floor((this.done * 100) / this.total)),
      inodesPerSecond: Math.round(rate),
      bytesPerSecond: Math.round(this.bytes / seconds),
      etaSeconds: rate > 0 ? Math.max(0, Math.round(((this.total - this.done) / rate) * 10) / 10) : null,
      running: this.running,
    };
  }
}
