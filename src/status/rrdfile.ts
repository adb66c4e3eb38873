/**
 * Writing RRD samples into files with librrd (native/rrd.cc): through rrdcached's
 * socket when it answers, directly otherwise; files created on first use with C's
 * data sources and archives (kvstore.md §9.2, §9.3).
 *
 * | here              | C (status.c)                                       |
 * |-------------------|----------------------------------------------------|
 * | RRD_DEFS          | rrd_def_node / rrd_def_vm / rrd_def_storage         |
 * | RrdFiles.create   | create_rrd_file + checked_mkdir                     |
 * | RrdFiles.write    | update_rrd_data (rrdc_update, rrd_update_r)         |
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { addonLoader } from '../util/addon.js';
import type { Log } from '../util/log.js';
import type { RrdKind, RrdTarget } from './rrd.js';

interface RrdAddon {
  create(file: string, step: number, start: number, defs: readonly string[]): string | null;
  update(file: string, sample: string): string | null;
  cachedUpdate(address: string, file: string, sample: string): { connected: boolean; status: number };
  info(file: string): Record<string, number | string> | string;
}

export const rrdAddon = addonLoader<RrdAddon>('rrd');

/** status.c: RRDDIR. */
export const RRD_DIR = '/var/lib/rrdcached/db';
/** status.c: the rrdcached address tried for every update. */
export const RRDCACHED_ADDRESS = 'unix:/var/run/rrdcached.sock';
/** create_rrd_file: step 60 s. */
export const RRD_STEP = 60;

const gauge = (n: string): string => `DS:${n}:GAUGE:120:0:U`;
const derive = (n: string): string => `DS:${n}:DERIVE:120:0:U`;
const RRAS = ['AVERAGE', 'MAX'].flatMap((cf) => ['1:1440', '30:1440', '360:1440', '10080:570'].map((r) => `RRA:${cf}:0.5:${r}`));
const PRESSURE = ['pressurecpusome', 'pressureiosome', 'pressureiofull', 'pressurememorysome', 'pressurememoryfull'];

export const RRD_DEFS: Record<RrdKind, readonly string[]> = {
  node: [
    ...['loadavg', 'maxcpu', 'cpu', 'iowait', 'memtotal', 'memused', 'swaptotal', 'swapused', 'roottotal', 'rootused'].map(gauge),
    derive('netin'),
    derive('netout'),
    ...['memavailable', 'arcsize', ...PRESSURE].map(gauge),
    ...RRAS,
  ],
  vm: [
    ...['maxcpu', 'cpu', 'maxmem', 'mem', 'maxdisk', 'disk'].map(gauge),
    ...['netin', 'netout', 'diskread', 'diskwrite'].map(derive),
    ...['memhost', 'pressurecpusome', 'pressurecpufull', 'pressureiosome', 'pressureiofull', 'pressurememorysome', 'pressurememoryfull'].map(gauge),
    ...RRAS,
  ],
  storage: [gauge('total'), gauge('used'), ...RRAS],
};

export interface RrdFilesOptions {
  readonly dir?: string;
  /** rrdcached address; null = never try the daemon. */
  readonly cachedAddress?: string | null;
  readonly log: Log;
}

/** Today 00:00:00 local time (create_rrd_file's start). */
function startOfDay(nowSec: number): number {
  const d = new Date(nowSec * 1000);
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

export class RrdFiles {
  readonly dir: string;
  private readonly cached: string | null;
  private readonly log: Log;

  constructor(o: RrdFilesOptions) {
    this.dir = o.dir ?? RRD_DIR;
    this.cached = o.cachedAddress === undefined ? RRDCACHED_ADDRESS : o.cachedAddress;
    this.log = o.log;
  }

  /** create_rrd_file: the type directory (and storage node directory), never RRDDIR itself. */
  private create(t: RrdTarget, file: string, now: number): void {
    for (const d of t.dirs) {
      try {
        mkdirSync(join(this.dir, d), { mode: 0o750 });
      } catch {
        // EEXIST or a missing RRDDIR: librrd reports the failure below
      }
    }
    const err = rrdAddon().create(file, RRD_STEP, startOfDay(now), RRD_DEFS[t.kind]);
    if (err !== null) this.log.warn({ file, err }, `RRD create error ${file}: ${err}`);
  }

  /** update_rrd_data after the key was accepted. */
  write(t: RrdTarget, now: number): void {
    const file = join(this.dir, t.file);
    if (!existsSync(file)) this.create(t, file, now);
    const addon = rrdAddon();
    if (this.cached !== null) {
      const r = addon.cachedUpdate(this.cached, file, t.sample);
      if (r.connected && r.status === 0) return;
      if (r.connected) this.log.warn({ file, status: r.status }, `RRDC update error ${file}: ${r.status}`);
    }
    const err = addon.update(file, t.sample);
    if (err !== null) this.log.warn({ file, err }, `RRD update error ${file}: ${err}`);
  }
}
