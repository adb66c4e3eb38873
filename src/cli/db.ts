/**
 * `pmxcfs-ts db dump|index|checksum|check FILE` — offline tools. Every one opens the
 * file read-only and never modifies it.
 */
import { createHash } from 'node:crypto';
import { checkDatabase } from '../memdb/check.js';
import { Memdb, MemdbOpenError } from '../memdb/memdb.js';
import type { TreeEntry } from '../memdb/tree.js';
import { DT_DIR, nameToText } from '../wire/entry.js';
import { decodeIndex, indexEntries } from '../wire/memdb-index.js';
import { toJson } from '../util/json.js';

const USAGE = `usage: pmxcfs-ts db dump FILE [--json]
       pmxcfs-ts db index FILE [--hex]
       pmxcfs-ts db checksum FILE
       pmxcfs-ts db check FILE
`;

/** Full path of an entry ("/" for the root), as bytes decoded for display. */
function entryPath(memdb: Memdb, e: TreeEntry): string {
  const parts: string[] = [];
  let cur: TreeEntry | undefined = e;
  let guard = memdb.index.size + 1;
  while (cur !== undefined && cur.inode !== 0 && guard-- > 0) {
    parts.unshift(nameToText(cur.name));
    cur = memdb.index.get(cur.parent);
  }
  return '/' + parts.join('/');
}

/** The same shape as the golden tree.json, so a dump can be compared with it directly. */
export function treeJson(memdb: Memdb): object {
  const index = decodeIndex(memdb.encodeIndex());
  if (!index.ok) throw new Error(index.error.message);
  const { version, lastInode, writer, mtime, size, bytes } = index.value;
  return {
    root: { version: memdb.root.version, writer: memdb.root.writer, mtime: memdb.root.mtime },
    index: { version, last_inode: lastInode, writer, mtime, size, bytes },
    checksum: memdb.checksum().toString('hex'),
    entries: memdb.sortedEntries().map((e) => {
      const out: Record<string, unknown> = {
        inode: e.inode,
        parent: e.parent,
        version: e.version,
        writer: e.writer,
        mtime: e.mtime,
        type: e.type === DT_DIR ? 'dir' : 'file',
        type_code: e.type,
        name: nameToText(e.name),
        path: entryPath(memdb, e),
        size: e.size,
      };
      if (e.type !== DT_DIR) out['sha256'] = createHash('sha256').update(e.data ?? Buffer.alloc(0)).digest('hex');
      return out;
    }),
  };
}

function dumpText(memdb: Memdb): string {
  const lines = ['INODE    PARENT   VERSION  WRITER MTIME       TYPE SIZE     PATH'];
  for (const e of memdb.sortedEntries()) {
    lines.push(
      [
        String(e.inode).padEnd(8),
        String(e.parent).padEnd(8),
        String(e.version).padEnd(8),
        String(e.writer).padEnd(6),
        String(e.mtime).padEnd(11),
        (e.type === DT_DIR ? 'dir' : 'file').padEnd(4),
        String(e.size).padEnd(8),
        entryPath(memdb, e),
      ].join(' '),
    );
  }
  return lines.join('\n') + '\n';
}

function withMemdb(file: string, fn: (m: Memdb) => string): number {
  let memdb: Memdb;
  try {
    memdb = Memdb.openReadonly(file);
  } catch (err) {
    if (err instanceof MemdbOpenError || err instanceof Error) {
      process.stderr.write(`pmxcfs-ts db: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    process.stdout.write(fn(memdb));
    return 0;
  } finally {
    memdb.close();
  }
}

export async function run(args: string[]): Promise<number> {
  const [sub, file, ...flags] = args;
  if (sub === undefined || file === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const flag = (name: string): boolean => flags.includes(name);
  switch (sub) {
    case 'dump':
      return withMemdb(file, (m) => (flag('--json') ? toJson(treeJson(m), 1) + '\n' : dumpText(m)));
    case 'index':
      return withMemdb(file, (m) => {
        const idx = m.encodeIndex();
        if (flag('--hex')) return idx.toString('hex') + '\n';
        const d = decodeIndex(idx);
        if (!d.ok) throw new Error(d.error.message);
        const v = d.value;
        const head = `version ${v.version} last_inode ${v.lastInode} writer ${v.writer} mtime ${v.mtime} size ${v.size} bytes ${v.bytes}\n`;
        return head + indexEntries(v).map((e) => `${String(e.inode).padEnd(10)} ${e.digest.toString('hex')}`).join('\n') + '\n';
      });
    case 'checksum':
      return withMemdb(file, (m) => m.checksum().toString('hex') + '\n');
    case 'check': {
      let report;
      try {
        report = checkDatabase(file);
      } catch (err) {
        process.stderr.write(`pmxcfs-ts db check: ${(err as Error).message}\n`);
        return 1;
      }
      // The loader's verdict too: a database C cannot load is a problem even if each row looks fine.
      try {
        Memdb.openReadonly(file).close();
      } catch (err) {
        if (report.problems.length === 0) report.problems.push(`load: ${(err as Error).message}`);
      }
      if (report.problems.length === 0) {
        process.stdout.write(`${file}: clean (${report.rows} rows)\n`);
        return 0;
      }
      process.stdout.write(`${file}: ${report.problems.length} problem(s) in ${report.rows} rows\n`);
      for (const p of report.problems) process.stdout.write(`  - ${p}\n`);
      return 1;
    }
    default:
      process.stderr.write(`pmxcfs-ts db: unknown subcommand '${sub}'\n${USAGE}`);
      return 2;
  }
}
