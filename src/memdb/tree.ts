/**
 * In-memory tree entries (memdb.h: memdb_tree_entry_t).
 *
 * Entries are replaced, never mutated, when a hashed field changes, so the cached
 * index digest of an entry object is always valid. Directory children live in a
 * Map keyed by name; the Map object moves with the directory on rename.
 */
import { DT_DIR, type EntryFields } from '../wire/entry.js';
import { entryDigest } from '../wire/hash.js';
import type { U64 } from '../wire/u64.js';

export interface TreeEntry extends EntryFields {
  /** Directories only: name → child. */
  readonly children: Map<string, TreeEntry> | null;
  /** Lazily computed index digest (valid for the lifetime of this object). */
  digest?: Buffer;
}

export function makeEntry(fields: EntryFields, children: Map<string, TreeEntry> | null = null): TreeEntry {
  return {
    inode: fields.inode,
    parent: fields.parent,
    version: fields.version,
    writer: fields.writer,
    mtime: fields.mtime,
    size: fields.size,
    type: fields.type,
    name: fields.name,
    data: fields.data,
    children: fields.type === DT_DIR ? (children ?? new Map()) : null,
  };
}

export function digestOf(e: TreeEntry): Buffer {
  if (e.digest === undefined) e.digest = entryDigest(e);
  return e.digest;
}

export function isDir(e: TreeEntry): boolean {
  return e.type === DT_DIR;
}

/** The root as it lives in memory: inode 0, parent 0, a directory named "". */
export function makeRoot(version: U64, writer: number, mtime: number, children?: Map<string, TreeEntry>): TreeEntry {
  return makeEntry({ inode: 0, parent: 0, version, writer, mtime, size: 0, type: DT_DIR, name: '', data: null }, children ?? new Map());
}
