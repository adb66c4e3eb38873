/**
 * Synthetic pmxcfs databases for the benchmarks: `inodes` entries (directories of up
 * to 100 files each, plus /corosync.conf) holding about `bytes` of file data, every
 * file below 1 MiB. Written directly in one SQLite transaction with C's schema
 * (src/memdb/database.ts); entry versions are their inodes and the `__version__` row
 * is above all of them, so a node holding this DB wins a sync against a fresh node.
 * Results are cached by parameters under the cache directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../memdb/database.js';
import { DT_DIR, DT_REG } from '../wire/entry.js';

export interface GenSpec {
  readonly inodes: number;
  readonly bytes: number;
  /** /corosync.conf content (the cluster's, so a node holding the DB changes nothing). */
  readonly corosyncConf?: Buffer;
}

const FILES_PER_DIR = 100;
const MTIME = 1_700_000_000;
const MAX_FILE = 1024 * 1024 - 1;

export function generateDb(file: string, spec: GenSpec): { inodes: number; bytes: number; version: number } {
  rmSync(file, { force: true });
  for (const ext of ['-wal', '-shm']) rmSync(file + ext, { force: true });
  const db = Database.open(file);
  const conf = spec.corosyncConf ?? null;
  const files = spec.inodes - 1 - (conf !== null ? 1 : 0);
  const dirs = Math.ceil(files / (FILES_PER_DIR + 1));
  const regular = files - dirs;
  const avg = Math.min(MAX_FILE, Math.max(1, Math.floor(spec.bytes / Math.max(1, regular))));
  const pool = randomBytes(2 * 1024 * 1024);
  let inode = 1;
  let total = 0;
  db.transaction(() => {
    if (conf !== null) {
      db.writeRow({ inode, parent: 0, version: inode, writer: 1, mtime: MTIME, type: DT_REG, name: 'corosync.conf', data: conf });
      inode++;
      total += conf.length;
    }
    let left = regular;
    for (let d = 0; d < dirs; d++) {
      const dirInode = inode++;
      db.writeRow({ inode: dirInode, parent: 0, version: dirInode, writer: 1, mtime: MTIME, type: DT_DIR, name: `bench-d${d}`, data: null });
      const n = Math.min(FILES_PER_DIR, Math.ceil(left / (dirs - d)));
      for (let f = 0; f < n; f++) {
        // Sizes spread over 0.5..1.5 × the average, deterministic per inode.
        const size = Math.min(MAX_FILE, Math.max(1, Math.round(avg * (0.5 + ((inode * 2654435761) % 1000) / 1000))));
        const off = (inode * 7919) % (pool.length - size);
        db.writeRow({ inode, parent: dirInode, version: inode, writer: 1, mtime: MTIME, type: DT_REG, name: `f${f}.conf`, data: pool.subarray(off, off + size) });
        total += size;
        inode++;
      }
      left -= n;
    }
    db.writeRoot({ version: inode + 1000, writer: 1, mtime: MTIME });
  });
  db.close();
  return { inodes: inode, bytes: total, version: inode + 1000 };
}

/** A cached DB for `spec` in `cacheDir` (generated on first use); its path. */
export function cachedDb(cacheDir: string, tag: string, spec: GenSpec): string {
  mkdirSync(cacheDir, { recursive: true });
  const confHash = spec.corosyncConf === undefined ? 'noconf' : Buffer.from(spec.corosyncConf).toString('base64url').length.toString(36) + spec.corosyncConf.reduce((h, b) => (h * 31 + b) >>> 0, 7).toString(36);
  const file = join(cacheDir, `${tag}-${spec.inodes}-${spec.bytes}-${confHash}.db`);
  if (existsSync(file)) return file;
  const tmp = file + '.tmp';
  generateDb(tmp, spec);
  renameSync(tmp, file);
  return file;
}
