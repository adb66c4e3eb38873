/**
 * Guest config properties without a config parser (ipc.md §5.8, §5.9): the first
 * lines of each guest config up to the first section, matched byte-wise with all of
 * C's quirks (whitespace-only values, last duplicate wins, re-match early exit).
 *
 * | here                 | C (status.c)                                |
 * |----------------------|---------------------------------------------|
 * | valueFromLine        | _get_property_value_from_line               |
 * | propertyValues       | _get_property_values                        |
 * | appendGuest          | _print_found_properties                     |
 * | guestPropertiesJson  | cfs_create_guest_conf_properties_msg        |
 * | configEntry          | vminfo_to_path + memdb_read_nolock          |
 */
import { EIO } from '../memdb/errno.js';
import type { Memdb } from '../memdb/memdb.js';
import { VmType, type VmEntry } from '../memdb/vmlist.js';
import type { TreeEntry } from '../memdb/tree.js';
import { DT_DIR, DT_REG } from '../wire/entry.js';

// Configs and names are handled as latin1 strings: one char per byte, and V8's string
// search is much faster than byte loops over Buffers.
const SECTION = 0x5b; // '['

/** C isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** C `char` is signed on the platforms Proxmox runs on: bytes >= 0x80 compare below 'a'. */
function signedChar(c: number): number {
  return (c << 24) >> 24;
}

/** The value of `prop:` on the line [start, end), as a C string, or null. */
function valueFromLine(conf: string, start: number, end: number, prop: string): string | null {
  const p = prop.length;
  if (end - start <= p + 1) return null;
  if (conf.charCodeAt(start + p) !== 0x3a || !conf.startsWith(prop, start)) return null;
  let vs = start + p + 1;
  let ve = end - 1;
  // The leading skip stops at the last character without testing it (C quirk).
  while (vs < ve && conf.charCodeAt(vs) !== 0 && isSpace(conf.charCodeAt(vs))) vs++;
  if (conf.charCodeAt(vs) === 0) return null;
  while (ve > vs && isSpace(conf.charCodeAt(ve))) ve--;
  const nul = conf.indexOf('\0', vs);
  return conf.slice(vs, nul >= 0 && nul <= ve ? nul : ve + 1);
}

/** _get_property_values over a newline-terminated config: the value found per property. */
function propertyValues(conf: string, props: readonly string[], min: number, max: number): (string | null)[] {
  const found: (string | null)[] = props.map(() => null);
  let count = 0; // uint8_t in C: counts re-matches only
  let line = 0;
  let nl = conf.indexOf('\n', 0);
  while (nl >= 0) {
    const first = line < nl ? conf.charCodeAt(line) : 0;
    if (first === SECTION) return found;
    const c = signedChar(first);
    if (first !== 0 && c >= min && c <= max) {
      for (let i = 0; i < props.length; i++) {
        const v = valueFromLine(conf, line, nl, props[i]!);
        if (v === null) continue;
        if (found[i] !== null) count = (count + 1) & 0xff;
        found[i] = v;
      }
      if (count === props.length) return found;
    }
    line = nl + 1;
    nl = conf.indexOf('\n', line);
  }
  return found;
}

/** `"<prop>": "<value>"` with only `\` and `"` escaped (_g_str_append_kv_jsonescaped). */
function keyValue(prop: string, value: string): string {
  return `"${prop}": "${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** One guest's `"<vmid>":{...}` or null when nothing was found (_print_found_properties). */
function appendGuest(vmid: number, conf: string, props: readonly string[], min: number, max: number): string | null {
  const values = propertyValues(conf, props, min, max);
  let out = '';
  for (let i = 0; i < props.length; i++) {
    if (values[i] === null) continue;
    out += (out === '' ? `"${vmid}":{` : ',') + keyValue(props[i]!, values[i]!);
  }
  return out === '' ? null : out + '}';
}

const SUBDIR: Record<number, string> = { [VmType.QEMU]: 'qemu-server', [VmType.LXC]: 'lxc', [VmType.OPENVZ]: 'openvz' };

/**
 * Answers per config entry and property list. Entries are replaced, never mutated, when
 * their data changes (src/memdb/tree.ts), so an entry's answer stays valid as long as
 * the entry lives; the WeakMap lets it go with the entry.
 */
const fragments = new WeakMap<TreeEntry, { key: string; frag: string | null }[]>();
/** Property lists remembered per config (Perl asks a handful: lock, tags, ...). */
const FRAGMENT_KEYS_PER_CONFIG = 4;

/** The config file entry of a guest, or null (memdb_read_nolock: missing, or not a file). */
function configEntry(memdb: Memdb, dirs: Map<string, TreeEntry | null>, vm: VmEntry): TreeEntry | null {
  const dirPath = `nodes/${vm.node}/${SUBDIR[vm.type]!}`;
  let dir = dirs.get(dirPath);
  if (dir === undefined) {
    dir = memdb.getattr(dirPath);
    dirs.set(dirPath, dir);
  }
  const e = dir !== null && dir.type === DT_DIR ? (dir.children.get(`${vm.vmid}.conf`) ?? null) : null;
  return e !== null && e.type === DT_REG ? e : null;
}

/** One guest's fragment, or undefined when its config is unreadable or empty (C: no data). */
function guestFragment(e: TreeEntry, vmid: number, props: readonly string[], key: string, min: number, max: number): string | null | undefined {
  const cached = fragments.get(e);
  const hit = cached?.find((c) => c.key === key);
  if (hit !== undefined) return hit.frag;
  if (e.data === null || e.data.length === 0) return undefined;
  // C appends the missing final newline in memory.
  const text = e.data.toString('latin1');
  const frag = appendGuest(vmid, e.data[e.data.length - 1] === 0x0a ? text : text + '\n', props, min, max);
  const list = cached ?? [];
  if (list.length >= FRAGMENT_KEYS_PER_CONFIG) list.shift();
  list.push({ key, frag });
  fragments.set(e, list);
  return frag;
}

/**
 * cfs_create_guest_conf_properties_msg: JSON of the found properties of one guest
 * (vmid >= 100, known to exist) or of all guests (vmid 0), or −EIO when the one
 * guest's config cannot be read. Property names are C strings (bytes).
 */
export function guestPropertiesJson(memdb: Memdb, vmid: number, propBytes: readonly Buffer[]): Buffer | number {
  const props = propBytes.map((p) => p.toString('latin1'));
  const key = props.join('\0');
  let min = signedChar(0x7a);
  let max = signedChar(0x61);
  for (const p of props) {
    const c = signedChar(p.length > 0 ? p.charCodeAt(0) : 0);
    if (c > max) max = c;
    if (c < min) min = c;
  }
  let out = '';
  memdb.ensureData(); // the configs' bytes, all of them for vmid 0
  const dirs = new Map<string, TreeEntry | null>();
  const vms = vmid === 0 ? memdb.vmlist.entries() : [memdb.vmlist.get(vmid)!];
  for (const vm of memdb.vmlist.size === 0 ? [] : vms) {
    const e = configEntry(memdb, dirs, vm);
    const g = e === null ? undefined : guestFragment(e, vm.vmid, props, key, min, max);
    if (g === undefined) {
      if (vmid !== 0) return -EIO;
      continue;
    }
    if (g !== null) out += (out === '' ? '' : ',\n') + g;
  }
  return Buffer.from(`{\n${out}\n}\n`, 'latin1');
}
