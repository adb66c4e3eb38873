/**
 * Owners and modes as pmxcfs reports them (fuse.md §3, §4).
 *
 * | here          | C                                          |
 * |---------------|--------------------------------------------|
 * | pathIsPrivate | cfs-utils.c: path_is_private               |
 * | maskMode      | pmxcfs.c: cfs_fuse_getattr (final masking) |
 * | chmodAllowed  | pmxcfs.c: cfs_fuse_chmod                   |
 * | chownAllowed  | pmxcfs.c: cfs_fuse_chown                   |
 * | isOpenvzScript| cfs-plug-memdb.c: name_is_openvz_script    |
 */
import { readFileSync } from 'node:fs';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** The gid of group www-data (33 on Debian), resolved from /etc/group; 33 if absent. */
export function wwwDataGid(groupFile = '/etc/group'): number {
  try {
    const line = readFileSync(groupFile, 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
    if (line !== undefined) {
      const gid = Number(line.split(':')[2]);
      if (Number.isInteger(gid)) return gid;
    }
  } catch {
    // fall through
  }
  return 33;
}

export function pathIsPrivate(path: string): boolean {
  let i = 0;
  while (path[i] === '/') i++;
  const p = path.slice(i);
  if (p.startsWith('priv') && (p.length === 4 || p[4] === '/')) return true;
  if (p.startsWith('nodes/')) {
    const slash = p.indexOf('/', 6);
    if (slash < 0) return false;
    const rest = p.slice(slash + 1);
    return rest.startsWith('priv') && (rest.length === 4 || rest[4] === '/');
  }
  return false;
}

const OPENVZ_SUFFIXES = new Set(['mount', 'umount', 'start', 'stop', 'premount', 'postumount']);

export function isOpenvzScript(name: string): boolean {
  const dot = name.indexOf('.');
  if (dot <= 0) return false;
  const base = name.slice(0, dot);
  const suffix = name.slice(dot + 1);
  if (!OPENVZ_SUFFIXES.has(suffix)) return false;
  if (base === 'vps') return true;
  return /^[1-9][0-9]*$/.test(base);
}

/** Raw memdb modes before masking (cfs-plug-memdb.c: tree_entry_stat). */
export function memdbRawMode(isDir: boolean, name: string, quorate: boolean): number {
  if (isDir) return S_IFDIR | (quorate ? 0o777 : 0o555);
  const x = isOpenvzScript(name) ? 0o100 : 0;
  return S_IFREG | ((quorate ? 0o666 : 0o444) | x);
}

export function linkRawMode(quorate: boolean): number {
  return S_IFLNK | (quorate ? 0o777 : 0o555);
}

/** cfs_fuse_getattr's final mask. */
export function maskMode(path: string, mode: number): number {
  if (pathIsPrivate(path)) return mode & 0o777700;
  const t = mode & S_IFMT;
  if (t === S_IFDIR || t === S_IFLNK) return mode & 0o777755;
  return mode & 0o777750;
}

export function chmodAllowed(path: string, mode: number): boolean {
  return (mode & 0o7777) === (pathIsPrivate(path) ? 0o600 : 0o640);
}

/** uid/gid: null = unchanged (−1 in C). */
export function chownAllowed(uid: number | null, gid: number | null, wwwGid: number): boolean {
  return (uid === null || uid === 0) && (gid === null || gid === wwwGid);
}
