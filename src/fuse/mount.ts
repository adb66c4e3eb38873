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
import { mkdir as mkdirCallback, readFile as readFileCallback, readFileSync, writeFile as writeFileCallback } from 'node:fs';
import { promisify } from 'node:util';
import type { FsOps } from '../fsops/fsops.js';
import { type Log, silentLog } from '../util/log.js';
import { PveFs } from './fs.js';
import { fuseAddon } from './native.js';
import { wwwDataGid } from './perms.js';
import type { PluginSources } from './plugins.js';
import type { StatusBackend } from '../status/backend.js';
import { metrics } from '../metrics/metrics.js';
import { meterFuse } from './metered.js';

// node:fs's callback calls, not node:fs/promises: that module is not loaded before the
// mount otherwise, and under the daemon's V8 flags it costs 3.6–4.8 ms of start (util/lazy.ts).
const mkdir = promisify(mkdirCallback);
const readFile = promisify(readFileCallback);
const writeFile = promisify(writeFileCallback);

/** Mount options given to libfuse3 (libfuse 2's big_writes is the default there). */
export const MOUNT_OPTIONS = 'default_permissions,allow_other';

/** The filesystem type of the topmost mount at `mountpoint` (/proc/self/mountinfo), or null. */
function mountType(mountpoint: string): string | null {
  let type: string | null = null;
  try {
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      if (f[4] === mountpoint && sep > 0) type = f[sep + 1] ?? null;
    }
  } catch {
    return null;
  }
  return type;
}

/**
 * Detach a dead FUSE mount left by a crash (C: MNT_FORCE; then MNT_DETACH if still
 * busy). Errors ignored. Unlike C, only a FUSE mount is removed: C's blind force-unmount
 * also peels off whatever else is mounted there (a bind mount the admin or a container
 * set up), and the daemon then mounts on the directory underneath.
 */
export function clearStaleMount(mountpoint: string): void {
  const type = mountType(mountpoint);
  if (type === null || !type.startsWith('fuse')) return;
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
  readonly nodename: string;
  /** cfs_is_quorate; local mode: () => true. */
  readonly isQuorate: () => boolean;
  /** The status module (src/status): `.version`, `.members`, `.vmlist`, `.rrd`, `.clusterlog`. */
  readonly status: StatusBackend;
  readonly log?: Log;
  /** .debug: read and switch the daemon's debug logging. */
  readonly debug?: { get(): boolean; set(on: boolean): void };
  /** The session loop ended without unmount() (someone ran `umount`): C's main then shuts down. */
  readonly onLoopExit?: () => void;
}

export interface PveMount {
  readonly fs: PveFs;
  unmount(): Promise<void>;
}

export async function mountPve(o: MountOptions): Promise<PveMount> {
  const log = o.log ?? silentLog;
  const addon = meterFuse(fuseAddon(), metrics.fuse);
  clearStaleMount(o.mountpoint);
  await mkdir(o.mountpoint, { recursive: true, mode: 0o750 }).catch(() => undefined);
  let debugFlag = false;
  const sources: PluginSources = {
    status: o.status,
    getDebug: () => o.debug?.get() ?? debugFlag,
    setDebug: (on) => {
      if (o.debug !== undefined) o.debug.set(on);
      else debugFlag = on;
    },
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
    unmount: () => (unmounted ??= unmount()),
  };
}
