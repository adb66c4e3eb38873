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
 */
import { EIO } from '../memdb/errno.js';
import type { Memdb } from '../memdb/memdb.js';
import { VmType, type VmEntry } from '../memdb/vmlist.js';

const NL = 0x0a;
const COLON = 0x3a;
const SECTION = 0x5b; // '['

/** C isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** C `char` is signed on the platforms Proxmox runs on: bytes >= 0x80 compare below 'a'. */
function signedChar(c: number): number {
  return (c << 24) >> 24;
}

/** The value of `prop:` on the line [start, start + len), as a C string, or null. */
function valueFromLine(conf: Buffer, start: number, len: number, prop: Buffer): Buffer | null {
  const p = prop.length;
  if (len <= p + 1) return null;
  if (conf[start + p] !== COLON || conf.compare(prop, 0, p, start, start + p) !== 0) return null;
  let vs = start + p + 1;
  let ve = start + len - 1;
  // The leading skip stops at the last character without testing it (C quirk).
  while (vs < ve && conf[vs] !== 0 && isSpace(conf[vs]!)) vs++;
  if (conf[vs] === 0) return null;
  while (ve > vs && isSpace(conf[ve]!)) ve--;
  const nul = conf.indexOf(0, vs);
  return conf.subarray(vs, nul >= 0 && nul <= ve ? nul : ve + 1);
}

/** _get_property_values over a newline-terminated config: the value found per property. */
function propertyValues(conf: Buffer, props: readonly Buffer[], min: number, max: number): (Buffer | null)[] {
  const found: (Buffer | null)[] = props.map(() => null);
  let count = 0; // uint8_t in C: counts re-matches only
  let line = 0;
  let nl = conf.indexOf(NL, 0);
  while (nl >= 0) {
    const first = line < nl ? conf[line]! : 0;
    if (first === SECTION) return found;
    const c = signedChar(first);
    if (first !== 0 && c >= min && c <= max) {
      props.forEach((prop, i) => {
        const v = valueFromLine(conf, line, nl - line, prop);
        if (v === null) return;
        if (found[i] !== null) count = (count + 1) & 0xff;
        found[i] = v;
      });
      if (count === props.length) return found;
    }
    line = nl + 1;
    nl = conf.indexOf(NL, line);
  }
  return found;
}

/** `"<prop>": "<value>"` with only `\` and `"` escaped (_g_str_append_kv_jsonescaped). */
function keyValue(prop: Buffer, value: Buffer): Buffer {
  const out: number[] = [];
  for (const c of value) {
    if (c === 0x5c || c === 0x22) out.push(0x5c);
    out.push(c);
  }
  return Buffer.concat([Buffer.from('"'), prop, Buffer.from('": "'), Buffer.from(out), Buffer.from('"')]);
}

/** One guest's `"<vmid>":{...}` or null when nothing was found (_print_found_properties). */
function appendGuest(vmid: number, conf: Buffer, props: readonly Buffer[], min: number, max: number): Buffer | null {
  const values = propertyValues(conf, props, min, max);
  const parts = props.flatMap((p, i) => (values[i] === null ? [] : [keyValue(p, values[i]!)]));
  if (parts.length === 0) return null;
  const sep = Buffer.from(',');
  return Buffer.concat([Buffer.from(`"${vmid}":{`), ...parts.flatMap((p, i) => (i === 0 ? [p] : [sep, p])), Buffer.from('}')]);
}

const SUBDIR: Record<number, string> = { [VmType.QEMU]: 'qemu-server', [VmType.LXC]: 'lxc', [VmType.OPENVZ]: 'openvz' };

/** The config with a final newline (C appends one in memory), or null: unreadable or empty. */
function readConfig(memdb: Memdb, vm: VmEntry): Buffer | null {
  const data = memdb.read(`nodes/${vm.node}/${SUBDIR[vm.type]!}/${vm.vmid}.conf`);
  if (typeof data === 'number' || data.length === 0) return null;
  return data[data.length - 1] === NL ? data : Buffer.concat([data, Buffer.from([NL])]);
}

/**
 * cfs_create_guest_conf_properties_msg: JSON of the found properties of one guest
 * (vmid >= 100, known to exist) or of all guests (vmid 0), or −EIO when the one
 * guest's config cannot be read. Property names are C strings.
 */
export function guestPropertiesJson(memdb: Memdb, vmid: number, props: readonly Buffer[]): Buffer | number {
  let min = signedChar(0x7a);
  let max = signedChar(0x61);
  for (const p of props) {
    const c = signedChar(p.length > 0 ? p[0]! : 0);
    if (c > max) max = c;
    if (c < min) min = c;
  }
  const guests: Buffer[] = [];
  const vms = vmid === 0 ? [...memdb.vmlist.entries()] : [memdb.vmlist.get(vmid)!];
  for (const vm of memdb.vmlist.size === 0 ? [] : vms) {
    const conf = readConfig(memdb, vm);
    if (conf === null) {
      if (vmid !== 0) return -EIO;
      continue;
    }
    const g = appendGuest(vm.vmid, conf, props, min, max);
    if (g !== null) guests.push(g);
  }
  const sep = Buffer.from(',\n');
  return Buffer.concat([Buffer.from('{\n'), ...guests.flatMap((g, i) => (i === 0 ? [g] : [sep, g])), Buffer.from('\n}\n')]);
}
