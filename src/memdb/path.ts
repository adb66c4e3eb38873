/**
 * Path handling exactly as memdb.c does it (memdb.md §6). Paths are byte strings
 * (latin1) relative to the root.
 *
 * | here            | C                                  |
 * |-----------------|------------------------------------|
 * | splitPath       | memdb.c: split_path (GLib dirname/basename) |
 * | isForbiddenName | the "do not allow '.' and '..'" tests |
 * | pathIsLockdir   | cfs-utils.c: path_is_lockdir       |
 */

function globDirname(p: string): string {
  const last = p.lastIndexOf('/');
  if (last < 0) return '.';
  let end = last;
  while (end > 0 && p[end] === '/') end--;
  return p.slice(0, end + 1);
}

function globBasename(p: string): string {
  if (p.length === 0) return '.';
  let end = p.length - 1;
  while (end >= 0 && p[end] === '/') end--;
  if (end < 0) return '/';
  const start = p.lastIndexOf('/', end) + 1;
  return p.slice(start, end + 1);
}

/** Strip trailing slashes, then GLib g_path_get_dirname / g_path_get_basename. */
export function splitPath(path: string): { dirname: string; basename: string } {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  const p = path.slice(0, end);
  return { dirname: globDirname(p), basename: globBasename(p) };
}

export function isForbiddenName(base: string): boolean {
  return base === '' || base === '.' || base === '..';
}

export function pathIsLockdir(path: string): boolean {
  let i = 0;
  while (path[i] === '/') i++;
  return path.startsWith('priv/lock/', i) && path.length > i + 10;
}

/** "" "." "/" denote the root; otherwise the non-empty components. */
export function pathComponents(path: string): string[] | 'root' {
  if (path === '' || path === '.' || path === '/') return 'root';
  return path.split('/').filter((c) => c.length > 0);
}

/** fuse_kernel.h: FUSE_NAME_MAX — a longer name in a readdir reply makes the kernel fail the whole listing. */
export const FUSE_NAME_MAX = 1024;
/** NAME_MAX: longer names reach programs (and C lists them) but many tools cannot handle them. */
export const NAME_MAX = 255;

/**
 * Why an entry name cannot appear in a directory listing, or null when it can. Such
 * names reach a memdb from a database or a peer (C accepts and replicates them); the
 * entries stay in the tree, index and checksum byte-exact, only listings skip them.
 */
export function unlistableName(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.includes('/')) return "name contains '/'";
  if (name.includes('\0')) return 'name contains NUL';
  if (name === '.' || name === '..') return `name '${name}'`;
  if (name.length > FUSE_NAME_MAX) return `name of ${name.length} bytes (more than ${FUSE_NAME_MAX})`;
  return null;
}
