/**
 * The fields of a tree entry as they appear in hashes and UPDATE messages
 * (memdb.h: memdb_tree_entry_t). Names are "byte strings": one UTF-16 code unit per
 * byte (latin1), so any byte sequence C accepts round-trips exactly.
 */

import type { U64 } from './u64.js';

export const DT_DIR = 4;
export const DT_REG = 8;
export type EntryType = typeof DT_DIR | typeof DT_REG;

export interface EntryFields {
  readonly inode: U64;
  readonly parent: U64;
  readonly version: U64;
  readonly writer: number;
  readonly mtime: number;
  /** File length; 0 for directories. May exceed data.length only in the C truncate quirk (memdb.md pitfall 2). */
  readonly size: number;
  readonly type: number;
  /** Byte string (latin1); "" for the root. */
  readonly name: string;
  /** File content, or null (directories, empty files). */
  readonly data: Buffer | null;
}

export function nameBytes(name: string): Buffer {
  return Buffer.from(name, 'latin1');
}

export function bytesToName(buf: Buffer): string {
  return buf.toString('latin1');
}

/** A byte string from text the user typed (UTF-8). */
export function nameFromText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Text for display: the bytes decoded as UTF-8. */
export function nameToText(name: string): string {
  return Buffer.from(name, 'latin1').toString('utf8');
}
