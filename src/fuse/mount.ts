/**
 * Mounting /etc/pve (fuse.md §1): stale-mount clearing, the mount with C's options,
 * and a clean (lazy) unmount. Never touches the mount point through the mounted
 * filesystem from this process: only umount2(2) and /proc are used.
 *
 * | here             | C (pmxcfs.c: main)                                         |
 * |------------------|------------------------------------------------------------|
 * | clearStaleMount  | umount2(CFSDIR, MNT_FORCE) before mounting                 |
 * | mountPve         | fuse_mount + fuse_new(default_permissions,allow_other,...) |
 * | unmount          | fuse_unmount (lazy)                                        |
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { FsOps } from '../fsops/fsops.js';
import type { Memdb } from '../memdb/memdb.js';
import { type Log, silentLog } from '../util/log.js';
import { PveFs } from './fs.js';
import { fuseAddon } from './native.js';
import { wwwDataGid } from './perms.js';
import { type ClusterInfo, type ClusterLogEntry, type KvBlock, type PluginSources, StatusCounters } from './plugins.js';
import { metrics } from '../metrics/metrics.js';
import { meterFuse } from './metered.js';

/** Mount options given to libfuse3 (libfuse 2's big_writes is the default there). */
export const MOUNT_OPTIONS = 'default_permissions,allow_other';

/** Detach a dead mount left by a crash (C: MNT_FORCE; then MNT_DETACH if still busy). Errors ignored. */
export function clearStaleMount(mountpoint: string): void {
  const a = fuseAddon();
  if (a.umount2(mountpoint, a.MNT_FORCE) !== 0) a.umount2(mountpoint, a.MNT_DETACH);
}

/** "major:minor" of the mount at mountpoint from /proc/self/mountinfo, or null. */
async function mountDevice(mountpoint: string): Promise<string | null> {
  try {
    const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
    let dev: string | null = null;
    for (const l of lines) {
      const f = l.split(' ');
      if (f[4] === mountpoint) dev = f[2] ?? null;
    }
    return dev;
  } catch {
    return null;
  }
}

export interface MountOptions {
  readonly mountpoint: string;
  readonly fsops: FsOps;
  /** Read by the plugin files (.version, .vmlist) and the change counters. */
  readonly memdb: Memdb;
  readonly nodename: string;
  /** cfs_is_quorate; local mode: () => true. */
  readonly isQuorate: () => boolean;
  /** status start time (seconds), shown in .version and the first cluster log entry. */
  readonly starttime: number;
  readonly log?: Log;
  /** .debug: read and switch the daemon's debug logging. */
  readonly debug?: { get(): boolean; set(on: boolean): void };
  /** Hooks for the status module (Wave 2); absent = what a C node without status data shows. */
  readonly clinfoVersion?: () => number;
  readonly clusterInfo?: () => ClusterInfo | null;
  readonly kvstore?: () => readonly KvBlock[];
  readonly rrdDump?: () => string;
  readonly clusterLog?: () => readonly ClusterLogEntry[];
  /** The session loop ended without unmount() (someone ran `umount`): C's main then shuts down. */
  readonly onLoopExit?: () => void;
}

export interface PveMount {
  readonly fs: PveFs;
  readonly counters: StatusCounters;
  unmount(): Promise<void>;
}

export async function mountPve(o: MountOptions): Promise<PveMount> {
  const log = o.log ?? silentLog;
  const addon = meterFuse(fuseAddon(), metrics.fuse);
  clearStaleMount(o.mountpoint);
  await mkdir(o.mountpoint, { recursive: true, mode: 0o750 }).catch(() => undefined);
  let debugFlag = false;
  const counters = new StatusCounters(o.memdb);
  const sources: PluginSources = {
    nodename: o.nodename,
    starttime: o.starttime,
    memdb: o.memdb,
    counters,
    getDebug: () => o.debug?.get() ?? debugFlag,
    setDebug: (on) => {
      if (o.debug !== undefined) o.debug.set(on);
      else debugFlag = on;
    },
    ...(o.clinfoVersion && { clinfoVersion: o.clinfoVersion }),
    ...(o.clusterInfo && { clusterInfo: o.clusterInfo }),
    ...(o.kvstore && { kvstore: o.kvstore }),
    ...(o.rrdDump && { rrdDump: o.rrdDump }),
    ...(o.clusterLog && { clusterLog: o.clusterLog }),
  };
  const fs = new PveFs({ fsops: o.fsops, sources, nodename: o.nodename, isQuorate: o.isQuorate, wwwGid: wwwDataGid(), log, ...(o.onLoopExit && { onLoopExit: o.onLoopExit }) });
  const handle = addon.mount(o.mountpoint, MOUNT_OPTIONS, (req) => fs.handle(addon, req));
  const dev = await mountDevice(o.mountpoint);
  log.info({ mountpoint: o.mountpoint, dev }, 'mounted /etc/pve filesystem');
  let unmounted: Promise<void> | null = null;
  const unmount = async (): Promise<void> => {
    addon.stop(handle);
    const wait = async (ms: number): Promise<boolean> => {
      for (let t = 0; t < ms; t += 10) {
        if (addon.done(handle)) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return addon.done(handle);
    };
    if (!(await wait(500)) && dev !== null) {
      // Files still open on the detached mount: end the connection as process exit would.
      const minor = dev.split(':')[1];
      await writeFile(`/sys/fs/fuse/connections/${minor}/abort`, '1').catch(() => undefined);
      await wait(1000);
    }
    if (!addon.destroy(handle)) log.warn({ mountpoint: o.mountpoint }, 'fuse session still busy at unmount; left to process exit');
    log.info({ mountpoint: o.mountpoint }, 'unmounted /etc/pve filesystem');
  };
  return {
    fs,
    counters,
    unmount: () => (unmounted ??= unmount()),
  };
}
