/**
 * SQLite persistence with C's schema and statements (memdb.md §2, §4).
 *
 * | here                 | C (database.c)                              |
 * |----------------------|---------------------------------------------|
 * | Database.open        | bdb_create + sql_create_db + prepare         |
 * | Database.rows        | stmt_load_all                               |
 * | Database.writeChange | bdb_backend_write (one transaction)         |
 * | Database.transaction | BEGIN / COMMIT / ROLLBACK around a commit   |
 */
import { chmodSync, existsSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { assert } from '../util/assert.js';
import { stageMark, stageSpan, stagesOn } from '../util/stages.js';
import { type U64, u64, u64ToSql } from '../wire/u64.js';
import { metrics } from '../metrics/metrics.js';

export const VERSION_FILENAME = '__version__';
/** Mapped while loading (a bound, not a size: SQLite maps at most the file). */
const LOAD_MMAP_BYTES = 2 ** 30;
/**
 * Rows per chunk of a sized load (loadRowsSized), and the longest name a chunk holds
 * inline: one chunk's JSON text stays below ~40 MiB however long names get (memdb has
 * no name limit), far from V8's longest string. A longer name is read on its own.
 */
const LOAD_CHUNK_ROWS = 16_384;
const LOAD_INLINE_NAME_BYTES = 1024;
/** The type bdb_backend_write gives the `__version__` row. */
const VERSION_TYPE = 8;

const SCHEMA = `CREATE TABLE IF NOT EXISTS tree (
  inode INTEGER PRIMARY KEY NOT NULL,
  parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'),
  version INTEGER NOT NULL CHECK(typeof(version)=='integer'),
  writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'),
  mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'),
  type INTEGER NOT NULL CHECK(typeof(type)=='integer'),
  name TEXT NOT NULL,
  data BLOB);`;

/** The smallest and the largest SQLite integer (inodes are stored as signed 64-bit). */
export const SQL_INT_MIN = -(2n ** 63n);
const SQL_INT_MAX = 2n ** 63n - 1n;

/**
 * A u64 column as a JS number while it is in 0..2^53 − 1 and as decimal text outside
 * (C binds guint64 as int64, so values from 2^63 are negative INTEGERs): exact for every
 * value, and no bigint is created for ordinary rows (statement-wide safeIntegers cost
 * ~5% of the load).
 */
function wide(column: string): string {
  return `CASE WHEN ${column} BETWEEN 0 AND ${Number.MAX_SAFE_INTEGER} THEN ${column} ELSE CAST(${column} AS TEXT) END AS ${column}`;
}

/**
 * True for a name to be read as raw bytes: GLOB on TEXT stops at a NUL, as C's name
 * does; any byte >= 0x80 reads as a code point >= 0x80 (valid UTF-8 or not), so only
 * ASCII names come as TEXT.
 */
const NAME_IS_RAW = `name GLOB '*[^' || char(1) || '-' || char(127) || ']*'`;

/**
 * loadRowsSized's statement: up to ?2 rows from SQL inode ?1 on, in inode order, as ONE
 * JSON array per column (columns of SIZED_COLUMNS), with the row count and the last
 * inode. better-sqlite3 makes a JS value per column per row (8 × 60k at 60k inodes);
 * JSON.parse builds flat arrays natively and no array per row is made. A name longer
 * than LOAD_INLINE_NAME_BYTES comes as '' and is read on its own; whether a name is
 * ASCII is decided in JS (sizedName), a GLOB here cost a fifth of the statement.
 */
function sizedChunkSql(ints: string): string {
  const rows = `SELECT inode AS cursor, ${ints}, CASE WHEN octet_length(name) > ${LOAD_INLINE_NAME_BYTES} THEN '' ELSE name END AS name, octet_length(data) AS size FROM tree WHERE tree.inode >= ? ORDER BY tree.inode LIMIT ?`;
  return `SELECT ${SIZED_COLUMNS.map((c) => `json_group_array(${c})`).join(', ')}, count(*), max(cursor) FROM (${rows});`;
}

/** The columns of a sized chunk, in LoadRow order (`size`: the data's length). */
const SIZED_COLUMNS = ['inode', 'parent', 'version', 'writer', 'mtime', 'type', 'name', 'size'] as const;
const SIZED_NAME = SIZED_COLUMNS.indexOf('name');
/** A name JSON cannot be trusted to carry byte for byte: NUL, or any byte >= 0x80 (decoded from UTF-8 by then). */
const NOT_PLAIN_ASCII = /[^\x01-\x7f]/;

/**
 * The SQL inode a chunked read goes on from after `rows` rows ending at `last`, asked
 * for `limit` (-1: all); null when none is left (fewer rows than asked for, or all).
 */
function cursorAfter(last: bigint | null, rows: number, limit: number): bigint | null {
  return last === null || limit < 0 || rows < limit || last === SQL_INT_MAX ? null : last + 1n;
}

export function fromSql(v: unknown): U64 {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return u64(BigInt(v));
  throw new DatabaseError(`expected an integer, got ${typeof v} ${String(v)}`);
}

interface RowFields {
  readonly inode: U64;
  readonly parent: U64;
  readonly version: U64;
  readonly writer: number;
  readonly mtime: number;
  readonly type: number;
  /** null → NULL; a 0-length Buffer → X'' (C writes both for directories). */
  readonly data: Buffer | null;
}

/**
 * A row as the loader reads it: better-sqlite3's raw mode (one array, no object per
 * row). u64 columns as in wide(); `name` as a string when its bytes up to the first
 * NUL are ASCII (they decode the same as UTF-8 and as byte string) and as the raw
 * bytes otherwise; `data` as the blob, or as its length where the caller has the
 * bytes already (loadRowsSized).
 */
export type LoadRow = [inode: unknown, parent: unknown, version: unknown, writer: number, mtime: number, type: number, name: string | Buffer | null, data: Buffer | number | null];

/** A sized chunk as loadSized returns it: one JSON array per column of SIZED_COLUMNS, the row count, the last SQL inode. */
type SizedChunk = [...columns: string[], count: bigint, last: bigint | null];

/** A row as stored. `name` is the raw bytes of the TEXT column (null if NULL). */
export interface Row extends RowFields {
  readonly name: Buffer | null;
}

/** What one row write stores; `name` is a byte string. */
export interface RowWrite extends RowFields {
  readonly name: string;
}

export interface RootValues {
  readonly version: U64;
  readonly writer: number;
  readonly mtime: number;
}

export class DatabaseError extends Error {}

interface WriteStatements {
  readonly replace: BetterSqlite3.Statement;
  /** An entry row and the `__version__` row in one statement (see writeChange). */
  readonly replaceWithRoot: BetterSqlite3.Statement;
  readonly remove: BetterSqlite3.Statement;
}

const ROW_VALUES = '(?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)';
const REPLACE_ROWS = 'REPLACE INTO tree (inode, parent, version, writer, mtime, type, name, data) VALUES';
/** The `__version__` row with its constant columns in the SQL: 3 parameters to bind instead of 8. */
const VERSION_ROW_VALUES = `(0, 0, ?, ?, ?, ${VERSION_TYPE}, '${VERSION_FILENAME}', NULL)`;

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A name as the parameter of `CAST(? AS TEXT)`: its bytes (one per char). An ASCII
 * name is bound as the string itself (its UTF-8 is the same bytes), which spares a
 * Buffer per written row; any other byte goes through a latin1 Buffer.
 */
function nameParam(name: string): string | Buffer {
  return NON_ASCII.test(name) ? Buffer.from(name, 'latin1') : name;
}

export class Database {
  private readonly db: BetterSqlite3.Database;
  private readonly loadAll: BetterSqlite3.Statement;
  private readonly loadFast: BetterSqlite3.Statement;
  /** A chunk of sized rows as JSON arrays, one per column (sizedChunkSql). */
  private readonly loadSized: BetterSqlite3.Statement;
  private readonly loadData: BetterSqlite3.Statement;
  private readonly loadDataFrom: BetterSqlite3.Statement;
  /** One row's name as bytes (a name loadSized's JSON cannot carry: long, or not plain ASCII). */
  private readonly loadName: BetterSqlite3.Statement;
  /** The write statements; null when open read-only. */
  private readonly writes: WriteStatements | null;
  readonly file: string;
  readonly readonly: boolean;
  /** True when the file did not exist before this open (C imports corosync.conf then). */
  readonly created: boolean;

  private constructor(file: string, readonly: boolean) {
    this.file = file;
    this.readonly = readonly;
    const existing = existsSync(file) && statSync(file).size > 0;
    this.created = !readonly && !existsSync(file);
    try {
      this.db = new BetterSqlite3(file, { readonly, fileMustExist: readonly, timeout: 10_000 });
    } catch (err) {
      throw new DatabaseError(`cannot open database ${file}: ${(err as Error).message}`);
    }
    try {
      // An existing file is only read until the caller has loaded it (activate()): a
      // database we refuse stays byte-identical. A file without `tree` is refused, not
      // given a new table (C creates it and starts with an empty tree, outside the cluster).
      if (existing && !this.hasTree()) throw new DatabaseError('it has no table tree');
      if (!readonly && !existing) this.activate();
      // Names are read as raw bytes so that any byte sequence round-trips.
      this.loadAll = this.db.prepare(
        `SELECT ${wide('inode')}, ${wide('parent')}, ${wide('version')}, writer, mtime, type, CAST(name AS BLOB) AS name, data FROM tree;`,
      );
      const ints = `${wide('inode')}, ${wide('parent')}, ${wide('version')}, writer, mtime, type`;
      const name = `CASE WHEN ${NAME_IS_RAW} THEN CAST(name AS BLOB) ELSE name END`;
      this.loadFast = this.db.prepare(`SELECT ${ints}, ${name}, CAST(data AS BLOB) FROM tree;`).raw(true);
      this.loadSized = this.db.prepare(sizedChunkSql(ints)).raw(true).safeIntegers(true);
      this.loadName = this.db.prepare('SELECT CAST(name AS BLOB) FROM tree WHERE inode = ?;').pluck(true);
      this.loadData = this.db.prepare('SELECT CAST(data AS BLOB) FROM tree WHERE inode = ?;').pluck(true);
      // Signed 64-bit inodes as BigInt: the cursor of dataFrom is the SQL value itself.
      this.loadDataFrom = this.db
        .prepare('SELECT inode, CAST(data AS BLOB) FROM tree WHERE inode >= ? AND octet_length(data) > 0 ORDER BY inode LIMIT ?;')
        .raw(true)
        .safeIntegers(true);
      this.writes = readonly
        ? null
        : {
            replace: this.db.prepare(`${REPLACE_ROWS} ${ROW_VALUES};`),
            replaceWithRoot: this.db.prepare(`${REPLACE_ROWS} ${ROW_VALUES}, ${VERSION_ROW_VALUES};`),
            remove: this.db.prepare('DELETE FROM tree WHERE inode = ?;'),
          };
    } catch (err) {
      this.db.close();
      throw new DatabaseError(`${file} is not a pmxcfs database: ${(err as Error).message}`);
    }
  }

  private active = false;

  private hasTree(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tree';").get() !== undefined;
  }

  /**
   * bdb_create's changes to the file: mode 0600, WAL, the schema. Called for a new
   * file at once and for an existing one only after it loaded without error.
   */
  activate(): void {
    if (this.readonly) throw new DatabaseError(`${this.file} is open read-only`);
    if (this.active) return;
    this.active = true;
    try {
      chmodSync(this.file, 0o600);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (err) {
      // e.g. a read-only file or file system (C: "chmod failed", memdb_open fails)
      throw new DatabaseError(`cannot open ${this.file} for writing: ${(err as Error).message}`);
    }
  }

  static open(file: string, options: { readonly?: boolean } = {}): Database {
    return new Database(file, options.readonly === true);
  }

  *rows(): Generator<Row> {
    for (const r of this.loadAll.iterate() as Iterable<Record<string, unknown>>) {
      yield {
        inode: fromSql(r['inode']),
        parent: fromSql(r['parent']),
        version: fromSql(r['version']),
        writer: Number(r['writer']),
        mtime: Number(r['mtime']),
        type: Number(r['type']),
        name: (r['name'] as Buffer | null) ?? null,
        data: (r['data'] as Buffer | null) ?? null,
      };
    }
  }

  /**
   * `load` over every row (database.c: stmt_load_all), one at a time or one chunk at
   * a time (sized), so each dies young. The file is memory-mapped meanwhile: SQLite
   * then reads its pages without a pread and a copy each, about half of the scan's
   * CPU at 60k rows (read-only; the file is not changed). Unmapped again after, so
   * the daemon runs as before.
   */
  loadRows<T>(load: (rows: Iterable<LoadRow>) => T, options: { sized?: boolean } = {}): T {
    this.db.pragma(`mmap_size = ${LOAD_MMAP_BYTES}`);
    try {
      return load(options.sized === true ? this.loadRowsSized() : (this.loadFast.iterate() as IterableIterator<LoadRow>));
    } finally {
      this.db.pragma('mmap_size = 0');
    }
  }

  /**
   * Every row for the loader with `data` as its length: for a caller that holds the
   * bytes. Each chunk is read whole (no statement stays active while its rows are
   * used), so the caller may read a row (dataOf) while it loads. The row yielded is
   * one array, refilled for each row: a caller keeps what it needs of it, not it.
   */
  *loadRowsSized(): Generator<LoadRow> {
    const row: unknown[] = [];
    for (let from: bigint | null = SQL_INT_MIN; from !== null; ) {
      const chunk = this.loadSized.get(from, LOAD_CHUNK_ROWS) as SizedChunk;
      const count = Number(chunk[SIZED_COLUMNS.length]);
      const columns = chunk.slice(0, SIZED_COLUMNS.length).map((json) => JSON.parse(json as string) as unknown[]);
      assert(columns.every((c) => c.length === count), 'a sized chunk has a column per row');
      for (let i = 0; i < count; i++) {
        for (let c = 0; c < SIZED_COLUMNS.length; c++) row[c] = columns[c]![i];
        row[SIZED_NAME] = this.sizedName(row[0], row[SIZED_NAME] as string);
        yield row as LoadRow;
      }
      from = cursorAfter(chunk[SIZED_COLUMNS.length + 1] as bigint | null, count, LOAD_CHUNK_ROWS);
    }
  }

  /** A sized row's name: the JSON string when it is plain ASCII (C's bytes exactly), else the row's bytes. */
  private sizedName(inode: unknown, name: string): string | Buffer {
    if (name !== '' && !NOT_PLAIN_ASCII.test(name)) return name;
    return this.loadName.get(u64ToSql(fromSql(inode))) as Buffer;
  }

  /**
   * The non-empty blobs of up to `limit` rows (-1: all) from SQL inode `from` on, in
   * inode order, and the cursor after them (null when no row is left).
   */
  dataFrom(from: bigint, limit: number): { rows: [U64, Buffer][]; next: bigint | null } {
    const raw = this.loadDataFrom.all(from, limit) as [bigint, Buffer][];
    const rows = raw.map(([inode, data]): [U64, Buffer] => [u64(inode), data]);
    const last = raw.length > 0 ? raw[raw.length - 1]![0] : null;
    return { rows, next: cursorAfter(last, raw.length, limit) };
  }

  /** The data of one row (null if NULL or no such row). */
  dataOf(inode: U64): Buffer | null {
    return (this.loadData.get(u64ToSql(inode)) as Buffer | null | undefined) ?? null;
  }

  /** Column names and types of `tree`, for `db check`. */
  schema(): { name: string; type: string }[] {
    return this.db.pragma('table_info(tree)') as { name: string; type: string }[];
  }

  private writable(): WriteStatements {
    if (this.writes === null) throw new DatabaseError(`${this.file} is open read-only`);
    return this.writes;
  }

  writeRow(row: RowWrite): void {
    const info = this.writable().replace.run(u64ToSql(row.inode), u64ToSql(row.parent), u64ToSql(row.version), row.writer, row.mtime, row.type, nameParam(row.name), row.data);
    if (info.changes !== 1) throw new DatabaseError(`writing inode ${row.inode} changed ${info.changes} rows`);
  }

  deleteRow(inode: U64): void {
    this.writable().remove.run(u64ToSql(inode));
  }

  /** The `__version__` row as bdb_backend_write stores it: type 8, data NULL. */
  writeRoot(root: RootValues): void {
    this.writeRow({ inode: 0, parent: 0, version: root.version, writer: root.writer, mtime: root.mtime, type: VERSION_TYPE, name: VERSION_FILENAME, data: null });
  }

  /**
   * bdb_backend_write: one transaction with an optional deleted row, an optional
   * entry row and always the `__version__` row, committed before this returns.
   */
  writeChange(change: { deleteInode?: U64; entry?: RowWrite; root: RootValues }): void {
    const { deleteInode, entry, root } = change;
    if (entry !== undefined && (deleteInode === undefined || deleteInode === 0) && !this.db.inTransaction) {
      this.timed(() => this.writeWithRoot(entry, root));
      return;
    }
    this.transaction(() => {
      if (deleteInode !== undefined && deleteInode !== 0) this.deleteRow(deleteInode);
      if (entry !== undefined) this.writeRow(entry);
      this.writeRoot(root);
    });
  }

  /**
   * The entry row, then the `__version__` row, in one REPLACE statement outside any
   * transaction: SQLite runs it as one transaction of its own (autocommit) and commits
   * it before the call returns — the rows, their order and the commit of BEGIN, two
   * REPLACEs and COMMIT, in one call into SQLite instead of four (each call costs a
   * result object and a statement start; measured in src/bench/deliver.ts).
   */
  private writeWithRoot(row: RowWrite, root: RootValues): void {
    const info = this.writable().replaceWithRoot.run(
      u64ToSql(row.inode), u64ToSql(row.parent), u64ToSql(row.version), row.writer, row.mtime, row.type, nameParam(row.name), row.data,
      u64ToSql(root.version), root.writer, root.mtime,
    );
    // A REPLACE inserts every row it names; anything else is a broken SQLite. The
    // statement has committed by now, so the memdb's errors flag (no more writes until
    // a restart reloads the file) is what stops memory and file from drifting apart.
    if (info.changes !== 2) throw new DatabaseError(`writing inode ${row.inode} and the version changed ${info.changes} rows`);
  }

  /** Run fn inside BEGIN/COMMIT; any throw rolls back and propagates. */
  transaction<T>(fn: () => T): T {
    // Prepared once: better-sqlite3's db.transaction(fn) builds a new wrapper per call,
    // which cost ~0.5 ms per change (measured with --cpu-prof on the write path).
    const { begin, commit, rollback } = this.txStatements();
    return this.timed(() => {
      begin.run();
      try {
        const result = fn();
        commit.run();
        return result;
      } catch (err) {
        if (this.db.inTransaction) rollback.run();
        throw err;
      }
    });
  }

  /** A committed change: the stage stamps and the commit metric around fn. */
  private timed<T>(fn: () => T): T {
    const t0 = stagesOn ? process.hrtime.bigint() : 0n;
    const started = performance.now();
    const result = fn();
    stageMark('commit');
    stageSpan('SQLite transaction', t0);
    metrics.sqliteCommit((performance.now() - started) / 1000);
    return result;
  }

  private tx: { begin: BetterSqlite3.Statement; commit: BetterSqlite3.Statement; rollback: BetterSqlite3.Statement } | null = null;

  private txStatements(): { begin: BetterSqlite3.Statement; commit: BetterSqlite3.Statement; rollback: BetterSqlite3.Statement } {
    this.tx ??= {
      begin: this.db.prepare('BEGIN TRANSACTION;'),
      commit: this.db.prepare('COMMIT TRANSACTION;'),
      rollback: this.db.prepare('ROLLBACK TRANSACTION;'),
    };
    return this.tx;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
