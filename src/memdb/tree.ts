/**
 * In-memory tree entries (memdb.h: memdb_tree_entry_t): a file or a directory,
 * told apart by `type` (C's union `data` holds either the bytes or the children).
 *
 * Entries are replaced, never mutated, when a hashed field changes, so the cached
 * index digest of an entry object is always valid. Directory children live in a
 * Map keyed by name; the Map object moves with the directory on rename.
 */
import { DT_DIR, DT_REG, type EntryFields } from '../wire/entry.js';
import { entryDigestLatin1 } from '../wire/hash.js';
import type { U64 } from '../wire/u64.js';
import { fail } from '../util/assert.js';

interface EntryBase extends EntryFields {
  /**
   * Lazily computed index digest (valid for the lifetime of this object), as a 32-char
   * byte string: ~48 bytes in V8's heap where a 32-byte Buffer costs ~300 (two heap
   * objects and a native backing store) — at 60k entries 2.9 MiB instead of 18 MiB.
   * Always present (undefined until computed) so entries keep one shape with all
   * fields in-object.
   */
  digest: string | undefined;
}

export interface FileEntry extends EntryBase {
  readonly type: typeof DT_REG;
  /** Always null: present so that files and directories share one hidden class (makeFile). */
  readonly children: null;
}

export interface DirEntry extends EntryBase {
  readonly type: typeof DT_DIR;
  /** name → child. */
  readonly children: Map<string, TreeEntry>;
  /** Always null: a directory has no bytes. */
  readonly data: null;
}

export type TreeEntry = FileEntry | DirEntry;

/**
 * Files and directories are built with the same properties in the same order (a file's
 * `children` is null, a directory's `data` null), so V8 gives every entry one hidden
 * class: code that handles both stays monomorphic. With two, the first mkdir after a
 * run of file writes deoptimized the optimized write path (place, writeWithRoot and
 * their callers: "wrong map") and TurboFan compiled it again, 10–50 ms of CPU each on
 * the bench host — a lock directory (mkdir/rmdir in priv/lock) is an everyday change.
 */
export function makeFile(fields: EntryFields): FileEntry {
  if (fields.type !== DT_REG) fail(`inode ${fields.inode}: a file entry of type ${fields.type}`);
  return { inode: fields.inode, parent: fields.parent, version: fields.version, writer: fields.writer, mtime: fields.mtime, size: fields.size, type: DT_REG, name: fields.name, data: fields.data, children: null, digest: undefined };
}

/**
 * `children` is always passed: a default `new Map()` here ran first at the first mkdir
 * after thousands of writes, and its missing type feedback deoptimized every optimized
 * caller that had inlined makeDir (the whole write path, through makeRoot).
 */
export function makeDir(fields: EntryFields, children: Map<string, TreeEntry>): DirEntry {
  if (fields.type !== DT_DIR) fail(`inode ${fields.inode}: a directory entry of type ${fields.type}`);
  return { inode: fields.inode, parent: fields.parent, version: fields.version, writer: fields.writer, mtime: fields.mtime, size: fields.size, type: DT_DIR, name: fields.name, data: null, children, digest: undefined };
}

/** The successor of `old` (same kind) with new fields; a directory keeps its children. */
export function replaceEntry(old: TreeEntry, fields: EntryFields): TreeEntry {
  return old.type === DT_DIR ? makeDir(fields, old.children) : makeFile(fields);
}

export function digestOf(e: TreeEntry): string {
  if (e.digest === undefined) e.digest = entryDigestLatin1(e);
  return e.digest;
}

/** The root as it lives in memory: inode 0, parent 0, a directory named "". */
export function makeRoot(version: U64, writer: number, mtime: number, children: Map<string, TreeEntry>): DirEntry {
  return makeDir({ inode: 0, parent: 0, version, writer, mtime, size: 0, type: DT_DIR, name: '', data: null }, children);
}
