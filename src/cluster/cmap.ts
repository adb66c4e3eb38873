/**
 * libcmap through the native addon: the cluster configuration (cluster name,
 * config_version, nodelist) and change tracking, following C confdb.c.
 *
 * `CmapClient.open` tracks the prefix `nodelist.node.` and the key
 * `totem.config_version` (add, delete, modify) like C; each tracked change calls
 * `handlers.changed(key, event)` after dispatch. A dispatch error finalizes the handle
 * and calls `handlers.failure(code)`.
 */

import { CsError } from './transport.js';
import { CorosyncError, loadCorosync, type CmapValue, type NativeCmap } from './native.js';

export const CmapTrack = { DELETE: 1, MODIFY: 2, ADD: 4, PREFIX: 8 } as const;

export interface ClusterNode {
  readonly nodeid: number;
  readonly name: string;
  readonly votes: number;
  readonly ring0Addr: string | undefined;
}

export interface ClusterConfig {
  readonly clusterName: string;
  /** totem.config_version; 0 when missing (C logs it as critical and uses 0). */
  readonly configVersion: number;
  readonly configVersionMissing: boolean;
  /** Nodes with a name and a non-zero nodeid, in nodelist order. */
  readonly nodes: readonly ClusterNode[];
}

export interface CmapHandlers {
  changed(key: string, event: number): void;
  failure(code: number): void;
}

function num(v: CmapValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function str(v: CmapValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

/**
 * The nodelist from `nodelist.node.<i>.<subkey>` entries (C cmap_read_clusternodes):
 * a new `<i>` starts a new node; `name` replaces any name so far, `ring0_addr` is the
 * name only if none is set yet; a node needs a name and a non-zero nodeid.
 */
export function parseNodelist(entries: readonly (readonly [string, CmapValue])[]): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  let cur: { index: string; nodeid: number; name: string | undefined; votes: number; ring0: string | undefined } | undefined;
  const flush = (): void => {
    if (cur !== undefined && cur.name !== undefined && cur.nodeid !== 0) {
      nodes.push({ nodeid: cur.nodeid, name: cur.name, votes: cur.votes, ring0Addr: cur.ring0 });
    }
  };
  for (const [key, value] of entries) {
    const m = /^nodelist\.node\.(\d+)\.(.+)$/.exec(key);
    if (m === null) continue;
    const [, index, sub] = m as unknown as [string, string, string];
    if (cur === undefined || cur.index !== index) {
      flush();
      cur = { index, nodeid: 0, name: undefined, votes: 0, ring0: undefined };
    }
    if (sub === 'nodeid') cur.nodeid = (num(value) ?? 0) >>> 0;
    else if (sub === 'quorum_votes') cur.votes = (num(value) ?? 0) >>> 0;
    else if (sub === 'name') cur.name = str(value);
    else if (sub === 'ring0_addr') {
      cur.ring0 = str(value);
      if (cur.name === undefined) cur.name = cur.ring0;
    }
  }
  flush();
  return nodes;
}

export class CmapClient {
  private readonly c: NativeCmap;
  private closed = false;

  /** Throws CorosyncError on failure (nothing left open). track=false skips tracking. */
  static open(handlers: CmapHandlers, options: { track?: boolean } = {}): CmapClient {
    return new CmapClient(handlers, options.track ?? true);
  }

  private constructor(
    private readonly handlers: CmapHandlers,
    track: boolean,
  ) {
    const { Cmap } = loadCorosync();
    this.c = new Cmap({
      notify: (event, key) => {
        if (!this.closed) this.handlers.changed(key, event);
      },
      error: (code) => this.fail(code),
    });
    const err = this.c.initialize();
    if (err !== CsError.OK) throw new CorosyncError('cmap_initialize', err);
    if (track) {
      const all = CmapTrack.ADD | CmapTrack.DELETE | CmapTrack.MODIFY;
      for (const [key, type] of [
        ['nodelist.node.', all | CmapTrack.PREFIX],
        ['totem.config_version', all],
      ] as const) {
        const r = this.c.trackAdd(key, type);
        if (r.err !== CsError.OK) {
          this.c.finalize();
          throw new CorosyncError(`cmap_track_add ${key}`, r.err);
        }
      }
    }
  }

  get(key: string): { err: number; value: CmapValue | undefined } {
    if (this.closed) return { err: CsError.BAD_HANDLE, value: undefined };
    return this.c.get(key);
  }

  iter(prefix: string): { err: number; entries: [string, CmapValue][] } {
    if (this.closed) return { err: CsError.BAD_HANDLE, entries: [] };
    return this.c.iter(prefix);
  }

  /** Read cluster name, config_version and nodelist (C cmap_read_config). */
  readConfig(): { err: number; config: ClusterConfig | undefined } {
    const version = this.get('totem.config_version');
    if (isFatal(version.err)) return { err: version.err, config: undefined };
    const name = this.get('totem.cluster_name');
    const clusterName = str(name.value);
    if (name.err !== CsError.OK || clusterName === undefined) {
      return { err: name.err === CsError.OK ? CsError.NOT_EXIST : name.err, config: undefined };
    }
    const list = this.iter('nodelist.node.');
    if (list.err !== CsError.OK) return { err: list.err, config: undefined };
    const configVersionMissing = version.err !== CsError.OK;
    return {
      err: CsError.OK,
      config: {
        clusterName,
        configVersion: configVersionMissing ? 0 : (num(version.value) ?? 0) >>> 0,
        configVersionMissing,
        nodes: parseNodelist(list.entries),
      },
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.finalize();
  }

  private fail(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.c.finalize();
    this.handlers.failure(code);
  }
}

function isFatal(code: number): boolean {
  return code === CsError.LIBRARY || code === CsError.BAD_HANDLE;
}
