/**
 * The fixed root entries of /etc/pve (fuse.md §2, §7): four symlinks and six
 * function files. Their text comes from src/status (status.c's generators).
 *
 * | here                 | C                                                       |
 * |----------------------|---------------------------------------------------------|
 * | FIXED_NAMES          | pmxcfs.c: create_symlinks + the cfs_plug_func_new calls |
 * | generate             | cfs-plug-func.c: the read callbacks of the function files |
 */
import { CLUSTERLOG_FILE_ENTRIES } from '../clusterlog/clusterlog.js';
import type { StatusBackend } from '../status/backend.js';

/** Root listing order as observed on C (GLib hash order of the fixed table). */
export const FIXED_NAMES = ['.debug', '.vmlist', '.members', 'lxc', 'local', '.rrd', '.version', '.clusterlog', 'openvz', 'qemu-server'] as const;
export type FixedName = (typeof FIXED_NAMES)[number];

export function isFixedName(name: string): name is FixedName {
  return (FIXED_NAMES as readonly string[]).includes(name);
}

export const LINK_SUBDIRS: Partial<Record<FixedName, string>> = { local: '', 'qemu-server': '/qemu-server', openvz: '/openvz', lxc: '/lxc' };

export function isLink(name: FixedName): boolean {
  return LINK_SUBDIRS[name] !== undefined;
}

export function linkTarget(name: FixedName, nodename: string): string {
  return `nodes/${nodename}${LINK_SUBDIRS[name]!}`;
}


/** What the function files read: the status module and the debug switch. */
export interface PluginSources {
  readonly status: StatusBackend;
  getDebug(): boolean;
  setDebug(on: boolean): void;
}

/** `.rrd` shows the dump without the NUL a freshly built dump ends with. */
function withoutTrailingNul(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;
}

/** Content of a function file, generated now. */
export function generate(name: FixedName, src: PluginSources): Buffer {
  switch (name) {
    case '.version':
      return src.status.versionText();
    case '.members':
      return src.status.memberListText();
    case '.vmlist':
      return src.status.vmListText();
    case '.rrd':
      return withoutTrailingNul(src.status.rrdDump());
    case '.clusterlog':
      return src.status.clusterLogJson(CLUSTERLOG_FILE_ENTRIES, Buffer.alloc(0));
    case '.debug':
      return Buffer.from(src.getDebug() ? '1\n' : '0\n');
    default:
      return Buffer.alloc(0);
  }
}

/** pmxcfs.c: write_debug_setting_cb: bytes consumed (2) or −EIO. */
export function writeDebug(src: PluginSources, data: Buffer, offset: number): number {
  if (offset !== 0 || data.length < 2 || data[1] !== 0x0a || (data[0] !== 0x30 && data[0] !== 0x31)) return -5;
  src.setDebug(data[0] === 0x31);
  return 2;
}
