/**
 * Build the in-memory tree from database rows (database.c: bdb_backend_load_index),
 * with C's checks and C's placeholder logic for children that precede their
 * parent directory in inode order (after renames).
 */
import { bytesToName, DT_DIR, DT_REG, type EntryFields } from '../wire/entry.js';
import type { U64 } from '../wire/u64.js';
import type { Row } from './database.js';
import { VERSION_FILENAME } from './database.js';
import { type DirEntry, makeDir, makeFile, makeRoot, type TreeEntry } from './tree.js';

export interface LoadedTree {
  readonly root: DirEntry;
  readonly index: Map<U64, TreeEntry>;
}

export class LoadError extends Error {}

export function loadTree(rows: Iterable<Row>): LoadedTree {
  const rootChildren = new Map<string, TreeEntry>();
  let rootValues: { version: U64; writer: number; mtime: number } = { version: 0, writer: 0, mtime: 0 };
  const index = new Map<U64, TreeEntry>();
  // C's placeholders (directory stand-ins of type 0): the children of a directory
  // whose row comes later, keyed by its inode. An entry row of that inode takes them.
  const placeholders = new Map<U64, Map<string, TreeEntry>>();
  index.set(0, makeRoot(0, 0, 0, rootChildren));

  for (const row of rows) {
    const fields = rowFields(row);
    if (row.inode === 0) {
      if (fields.name !== VERSION_FILENAME) throw new LoadError(`root inode has unexpected name '${fields.name}'`);
      rootValues = { version: fields.version, writer: fields.writer, mtime: fields.mtime };
      continue;
    }
    const siblings = childrenOfParent(index, placeholders, fields);
    let children: Map<string, TreeEntry> | undefined;
    if (fields.type === DT_DIR && index.has(row.inode)) throw new LoadError(`found strange placeholder for inode ${row.inode} (name = '${fields.name}')`);
    if (placeholders.has(row.inode)) {
      // A file replacing a placeholder drops it, as C's g_hash_table_replace does.
      if (fields.type === DT_DIR) children = placeholders.get(row.inode);
      placeholders.delete(row.inode);
    }
    const entry = fields.type === DT_DIR ? makeDir(fields, children) : makeFile(fields);
    const other = siblings.get(fields.name);
    if (other !== undefined) {
      throw new LoadError(`found entry with duplicate name '${fields.name}' - A:(inode = ${other.inode}, parent = ${other.parent}) vs. B:(inode = ${row.inode}, parent = ${row.parent})`);
    }
    siblings.set(fields.name, entry);
    index.set(row.inode, entry);
  }
  for (const inode of placeholders.keys()) throw new LoadError(`missing directory inode (inode = ${inode})`);
  const root = makeRoot(rootValues.version, rootValues.writer, rootValues.mtime, rootChildren);
  index.set(0, root);
  return { root, index };
}

/** A row's fields with C's checks: a name, a known type, no data in a directory. */
function rowFields(row: Row): EntryFields {
  if (row.name === null || row.name.length === 0) throw new LoadError(`inode has no name (inode = ${row.inode})`);
  const nul = row.name.indexOf(0);
  const name = bytesToName(nul >= 0 ? row.name.subarray(0, nul) : row.name);
  const type = row.type & 0xff;
  const size = row.data === null ? 0 : row.data.length;
  if (type === DT_DIR) {
    if (size !== 0) throw new LoadError(`directory inode contains data (inode = ${row.inode})`);
  } else if (type !== DT_REG) {
    throw new LoadError(`inode has unknown type (inode = ${row.inode}, type = ${type})`);
  }
  return {
    inode: row.inode,
    parent: row.parent,
    version: row.version,
    writer: row.writer >>> 0,
    mtime: row.mtime >>> 0,
    size,
    type,
    name,
    data: type === DT_REG && size > 0 ? row.data : null,
  };
}

/** The children map the row goes into: its parent's, or a new or existing placeholder's. */
function childrenOfParent(index: Map<U64, TreeEntry>, placeholders: Map<U64, Map<string, TreeEntry>>, fields: EntryFields): Map<string, TreeEntry> {
  const parent = index.get(fields.parent);
  if (parent !== undefined) {
    if (parent.type !== DT_DIR) throw new LoadError(`parent is not a directory (inode = ${fields.inode}, parent = ${fields.parent}, name = '${fields.name}')`);
    return parent.children;
  }
  let children = placeholders.get(fields.parent);
  if (children === undefined) {
    children = new Map();
    placeholders.set(fields.parent, children);
  }
  return children;
}
