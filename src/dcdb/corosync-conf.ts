/**
 * corosync.conf synchronisation (dfsm.md §15, dcdb.c: dcdb_sync_corosync_conf,
 * cfs-utils.c: cluster_config_version, atomic_write_file).
 *
 * One deliberate difference: C sleeps 1 s in the CPG dispatch thread before
 * running `corosync-cfgtool -R`; we schedule the same delay on a timer so delivery
 * never blocks. The reload still happens only on the originating member and only
 * when the host file had a version.
 */
import { chmodSync, chownSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Memdb } from '../memdb/memdb.js';
import type { Log } from '../util/log.js';
import { nodeChildProcess } from '../util/lazy.js';
import { COROSYNC_CONF } from './apply.js';

export const HOST_COROSYNC_CONF = '/etc/corosync/corosync.conf';

/** cluster_config_version: first `config_version\s*:\s*(\d+)` anywhere; 0 if none. */
export function clusterConfigVersion(text: Buffer): bigint {
  const m = /config_version\s*:\s*(\d+)/.exec(text.toString('latin1'));
  if (m === null) return 0n;
  const v = BigInt(m[1]!);
  // strtoull saturates at ULLONG_MAX.
  return v > 0xffff_ffff_ffff_ffffn ? 0xffff_ffff_ffff_ffffn : v;
}

/** atomic_write_file: temp file in the same directory, root:root 0644, rename over. */
export function atomicWriteFile(path: string, data: Buffer, mode = 0o644): void {
  const tmp = join(dirname(path), `${basename(path)}.${process.pid}.${Date.now().toString(36)}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    chmodSync(tmp, mode);
    if (process.getuid?.() === 0) chownSync(tmp, 0, 0);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

export interface CorosyncConfOptions {
  readonly hostPath?: string;
  readonly log: Log;
  /** Runs `corosync-cfgtool -R`; injectable for tests. */
  readonly reload?: () => void;
  /** Delay before the reload (C: sleep(1)). */
  readonly reloadDelayMs?: number;
}

export type CorosyncConfOutcome = 'absent' | 'unparsable' | 'unchanged' | 'host-newer' | 'write-failed' | 'written' | 'written-reload';

function runCfgtoolReload(log: Log): void {
  const child = nodeChildProcess().spawn('corosync-cfgtool', ['-R'], { stdio: 'ignore' });
  child.on('error', (err) => log.error({ err: err.message }, 'corosync-cfgtool -R failed'));
  child.on('exit', (code) => {
    if (code !== 0) log.error({ code }, 'corosync-cfgtool -R failed');
  });
}

/** dcdb_sync_corosync_conf(memdb, notify). */
export function syncCorosyncConf(memdb: Memdb, notify: boolean, opts: CorosyncConfOptions): CorosyncConfOutcome {
  const hostPath = opts.hostPath ?? HOST_COROSYNC_CONF;
  const data = memdb.read(COROSYNC_CONF);
  if (typeof data === 'number' || data.length === 0) return 'absent';
  const newVersion = clusterConfigVersion(data);
  if (newVersion === 0n) {
    opts.log.error({}, 'unable to parse cluster config_version');
    return 'unparsable';
  }
  let oldVersion = 0n;
  let host: Buffer | null = null;
  try {
    host = readFileSync(hostPath);
    if (host.length > 0) oldVersion = clusterConfigVersion(host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.log.error({ err: (err as Error).message, path: hostPath }, 'unable to read corosync config');
  }
  if (host !== null && host.equals(data)) return 'unchanged';
  if (newVersion < oldVersion) {
    opts.log.error({ newVersion: newVersion.toString(), oldVersion: oldVersion.toString() }, 'local corosync.conf is newer');
    return 'host-newer';
  }
  try {
    atomicWriteFile(hostPath, data);
  } catch (err) {
    opts.log.error({ err: (err as Error).message, path: hostPath }, 'writing corosync config failed');
    return 'write-failed';
  }
  opts.log.info({ path: hostPath, version: newVersion.toString() }, `wrote new corosync config '${hostPath}' (version = ${newVersion})`);
  if (notify && oldVersion !== 0n) {
    const reload = opts.reload ?? (() => runCfgtoolReload(opts.log));
    setTimeout(reload, opts.reloadDelayMs ?? 1000).unref();
    return 'written-reload';
  }
  return 'written';
}
