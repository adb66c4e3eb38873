/**
 * Build the in-memory tree from database rows (database.c: bdb_backend_load_index),
 * with C's checks and C's placeholder logic for children that precede their
 * parent directory in inode order (after renames).
 */
import { bytesToName, DT_DIR, DT_REG } from '../wire/entry.js';
import type { U64 } from '../wire/u64.js';
import type { Row } from './database.js';
import { VERSION_FILENAME } from './database.js';
import { makeEntry, makeRoot, type TreeEntry } from './tree.js';

export interface LoadedTree {
  readonly root: TreeEntry;
  readonly index: Map<U64, TreeEntry>;
}

export class LoadError extends Error {}

const PLACEHOLDER = 0;

export function loadTree(rows: Iterable<Row>): LoadedTree {
  const rootChildren = new Map<string, TreeEntry>();
  let rootValues: { version: U64; writer: number; mtime: number } = { version: 0, writer: 0, mtime: 0 };
  // Placeholders are directory stand-ins of type 0 (C allocates them the same way).
  const index = new Map<U64, TreeEntry>();
  const placeholder = (inode: U64): TreeEntry =>
    ({ ...makeEntry({ inode, parent: 0, version: 0, writer: 0, mtime: 0, size: 0, type: DT_DIR, name: '', data: null }), type: PLACEHOLDER });
  const rootStandIn = makeRoot(0, 0, 0, rootChildren);
  index.set(0, rootStandIn);

  for (const row of rows) {
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
    const fields = {
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
    if (row.inode === 0) {
      if (name !== VERSION_FILENAME) throw new LoadError(`root inode has unexpected name '${name}'`);
      rootValues = { version: fields.version, writer: fields.writer, mtime: fields.mtime };
      continue;
    }
    let parent = index.get(row.parent);
    if (parent === undefined) {
      parent = placeholder(row.parent);
      index.set(row.parent, parent);
    } else if (parent.type !== DT_DIR && parent.type !== PLACEHOLDER) {
      throw new LoadError(`parent is not a directory (inode = ${row.inode}, parent = ${row.parent}, name = '${name}')`);
    }
    let children: Map<string, TreeEntry> | null = null;
    if (type === DT_DIR) {
      const existing = index.get(row.inode);
      if (existing !== undefined) {
        if (existing.type !== PLACEHOLDER) throw new LoadError(`found strange placeholder for inode ${row.inode} (name = '${name}')`);
        children = existing.children;
      }
    }
    const entry = makeEntry(fields, children);
    if (parent.children!.has(name)) {
      const other = parent.children!.get(name)!;
      throw new LoadError(`found entry with duplicate name '${name}' - A:(inode = ${other.inode}, parent = ${other.parent}) vs. B:(inode = ${row.inode}, parent = ${row.parent})`);
    }
    parent.children!.set(name, entry);
    index.set(row.inode, entry);
  }
  for (const e of index.values()) {
    if (e.type === PLACEHOLDER) throw new LoadError(`missing directory inode (inode = ${e.inode})`);
  }
  const root = makeRoot(rootValues.version, rootValues.writer, rootValues.mtime, rootChildren);
  index.set(0, root);
  return { root, index };
}
