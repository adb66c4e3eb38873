/**
 * `db check`: an integrity report over the raw rows, listing every problem instead
 * of stopping at the first as the loader does. Read-only. The checks cover what
 * makes C's bdb_backend_load_index fail (so the daemon would not start) and what
 * the operations guarantee in a database C wrote (so corruption shows early).
 */
import { bytesToName, DT_DIR, DT_REG, nameToText } from '../wire/entry.js';
import type { U64 } from '../wire/u64.js';
import { Database, type Row, VERSION_FILENAME } from './database.js';
import { NAME_MAX, unlistableName } from './path.js';

const EXPECTED_COLUMNS = ['inode', 'parent', 'version', 'writer', 'mtime', 'type', 'name', 'data'];

export interface CheckReport {
  readonly rows: number;
  readonly problems: string[];
}

export function checkDatabase(file: string): CheckReport {
  const db = Database.open(file, { readonly: true });
  try {
    const problems: string[] = [];
    const columns = db.schema().map((c) => c.name);
    if (columns.join(',') !== EXPECTED_COLUMNS.join(',')) {
      problems.push(`schema: table tree has columns (${columns.join(', ')}), expected (${EXPECTED_COLUMNS.join(', ')})`);
      return { rows: 0, problems };
    }
    const rows = [...db.rows()];
    return { rows: rows.length, problems: checkRows(rows, problems) };
  } finally {
    db.close();
  }
}

function label(r: Row): string {
  const name = r.name === null ? '(null)' : nameToText(bytesToName(r.name));
  return `inode ${r.inode} '${name}'`;
}

export function checkRows(rows: readonly Row[], problems: string[] = []): string[] {
  const byInode = new Map<U64, Row>(rows.map((r) => [r.inode, r]));
  const root = byInode.get(0);
  let rootVersion: U64 = 0;
  if (root === undefined) {
    problems.push('__version__: no row with inode 0 (C would start with version 1 and may reuse inodes)');
  } else {
    rootVersion = root.version;
    const name = root.name === null ? null : bytesToName(root.name);
    if (name !== VERSION_FILENAME) problems.push(`__version__: inode 0 is named '${name}', expected '${VERSION_FILENAME}'`);
    if (root.type !== DT_REG && root.type !== DT_DIR) problems.push(`__version__: type ${root.type}, expected 8 (or 4 after a sync)`);
    if (root.data !== null && root.data.length > 0) problems.push('__version__: carries data');
    if (root.parent !== 0) problems.push(`__version__: parent ${root.parent}, expected 0`);
  }
  const seen = new Map<string, U64>();
  for (const r of rows) {
    if (r.inode === 0) continue;
    const l = label(r);
    if (r.name === null) problems.push(`${l}: empty name`);
    else {
      // Kept and replicated as C does, but no directory listing can show it.
      const why = r.name.includes(0) ? 'name contains NUL (C cuts it there)' : unlistableName(bytesToName(r.name));
      if (why !== null) problems.push(`${l}: ${why}, not listed by readdir`);
      else if (r.name.length > NAME_MAX) problems.push(`${l}: name of ${r.name.length} bytes is longer than NAME_MAX (${NAME_MAX}); listed, but many programs fail on it`);
    }
    if (r.type !== DT_DIR && r.type !== DT_REG) problems.push(`${l}: unknown type ${r.type}`);
    if (r.type === DT_DIR && r.data !== null && r.data.length > 0) problems.push(`${l}: directory contains ${r.data.length} bytes of data`);
    if (r.parent !== 0) {
      const p = byInode.get(r.parent);
      if (p === undefined) problems.push(`${l}: orphan, parent inode ${r.parent} does not exist`);
      else if (p.type !== DT_DIR) problems.push(`${l}: parent inode ${r.parent} is not a directory`);
    }
    if (r.version < r.inode) problems.push(`${l}: version ${r.version} is lower than its inode (inodes are allocated from the version)`);
    if (root !== undefined && r.version > rootVersion) problems.push(`${l}: version ${r.version} is above the database version ${rootVersion}`);
    if (root !== undefined && r.inode > rootVersion) problems.push(`${l}: inode is above the database version ${rootVersion}`);
    if (r.name !== null) {
      const key = `${r.parent}/${r.name.toString('hex')}`;
      const other = seen.get(key);
      if (other !== undefined) problems.push(`${l}: duplicate name in directory ${r.parent} (also inode ${other})`);
      else seen.set(key, r.inode);
    }
  }
  // Reachability: every entry must lead to the root without a cycle.
  for (const r of rows) {
    if (r.inode === 0) continue;
    const visited = new Set<U64>();
    let cur: Row | undefined = r;
    while (cur !== undefined && cur.parent !== 0) {
      if (visited.has(cur.inode)) {
        problems.push(`${label(r)}: unreachable, its parent chain has a cycle`);
        break;
      }
      visited.add(cur.inode);
      cur = byInode.get(cur.parent);
    }
  }
  return problems;
}
