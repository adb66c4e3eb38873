/**
 * Build the in-memory tree from database rows (database.c: bdb_backend_load_index),
 * with C's checks and C's placeholder logic for children that precede their
 * parent directory in inode order (after renames).
 *
 * Rows come as better-sqlite3 raw arrays and each becomes its entry object directly
 * (no per-row intermediate objects): at 60k rows the load is dominated by SQLite and
 * the data blobs, not by JS objects.
 */
import { bytesToName, DT_DIR, DT_REG, type EntryFields } from '../wire/entry.js';
import type { U64 } from '../wire/u64.js';
import { fromSql, type LoadRow } from './database.js';
import { VERSION_FILENAME } from './database.js';
import { type DirEntry, makeDir, makeFile, makeRoot, type TreeEntry } from './tree.js';

export interface LoadedTree {
  readonly root: DirEntry;
  readonly index: Map<U64, TreeEntry>;
}

export class LoadError extends Error {}

/**
 * The bytes of a file row whose `data` column came as a length (Database.loadRowsSized):
 * `size` bytes, equal to the row's blob; null for a lazy open (Memdb.fillData).
 */
export type DataOf = (inode: U64, size: number) => Buffer | null;

export function loadTree(rows: Iterable<LoadRow>, dataOf: DataOf = noData): LoadedTree {
  const rootChildren = new Map<string, TreeEntry>();
  let rootValues: { version: U64; writer: number; mtime: number } = { version: 0, writer: 0, mtime: 0 };
  const index = new Map<U64, TreeEntry>();
  // C's placeholders (directory stand-ins of type 0): the children of a directory
  // whose row comes later, keyed by its inode. An entry row of that inode takes them.
  const placeholders = new Map<U64, Map<string, TreeEntry>>();
  index.set(0, makeRoot(0, 0, 0, rootChildren));

  for (const row of rows) {
    const fields = rowFields(row, dataOf);
    const inode = fields.inode;
    if (inode === 0) {
      if (fields.name !== VERSION_FILENAME) throw new LoadError(`root inode has unexpected name '${fields.name}'`);
      rootValues = { version: fields.version, writer: fields.writer, mtime: fields.mtime };
      continue;
    }
    const siblings = childrenOfParent(index, placeholders, fields);
    let children: Map<string, TreeEntry> | undefined;
    if (fields.type === DT_DIR && index.has(inode)) throw new LoadError(`found strange placeholder for inode ${inode} (name = '${fields.name}')`);
    if (placeholders.has(inode)) {
      // A file replacing a placeholder drops it, as C's g_hash_table_replace does.
      if (fields.type === DT_DIR) children = placeholders.get(inode);
      placeholders.delete(inode);
    }
    const entry = fields.type === DT_DIR ? makeDir(fields, children ?? new Map()) : makeFile(fields);
    const other = siblings.get(fields.name);
    if (other !== undefined) {
      throw new LoadError(`found entry with duplicate name '${fields.name}' - A:(inode = ${other.inode}, parent = ${other.parent}) vs. B:(inode = ${inode}, parent = ${fields.parent})`);
    }
    siblings.set(fields.name, entry);
    index.set(inode, entry);
  }
  for (const inode of placeholders.keys()) throw new LoadError(`missing directory inode (inode = ${inode})`);
  const root = makeRoot(rootValues.version, rootValues.writer, rootValues.mtime, rootChildren);
  index.set(0, root);
  return { root, index };
}

function noData(inode: U64): Buffer {
  throw new LoadError(`no data source for inode ${inode}`);
}

/** The name up to its first NUL (C reads it as a C string). */
function rowName(raw: string | Buffer): string {
  if (typeof raw === 'string') {
    const nul = raw.indexOf('\0');
    return nul >= 0 ? raw.slice(0, nul) : raw;
  }
  const nul = raw.indexOf(0);
  return bytesToName(nul >= 0 ? raw.subarray(0, nul) : raw);
}

/** A row's fields with C's checks: a name, a known type, no data in a directory. */
function rowFields(row: LoadRow, dataOf: DataOf): EntryFields {
  const inode = fromSql(row[0]);
  const raw = row[6];
  if (raw === null || raw.length === 0) throw new LoadError(`inode has no name (inode = ${inode})`);
  const type = row[5] & 0xff;
  const d = row[7];
  const size = d === null ? 0 : typeof d === 'number' ? d : d.length;
  if (type === DT_DIR) {
    if (size !== 0) throw new LoadError(`directory inode contains data (inode = ${inode})`);
  } else if (type !== DT_REG) {
    throw new LoadError(`inode has unknown type (inode = ${inode}, type = ${type})`);
  }
  let data: Buffer | null = null;
  if (type === DT_REG && size > 0) data = typeof d === 'number' ? dataOf(inode, size) : d;
  return { inode, parent: fromSql(row[1]), version: fromSql(row[2]), writer: row[3] >>> 0, mtime: row[4] >>> 0, size, type, name: rowName(raw), data };
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
