/**
 * The VM list: vmid → {type, node} (memdb.md §10).
 *
 * | here                 | C                                         |
 * |----------------------|-------------------------------------------|
 * | pathVmConfig         | memdb.c: path_contain_vm_config           |
 * | nameIsVmConfig       | memdb.c: name_is_vm_config                |
 * | validNodename        | memdb.c: valid_nodename                   |
 * | VmList.differentExists | status.c: vmlist_different_vm_exists    |
 * | VmList.register/remove | status.c: vmlist_register_vm / vmlist_delete_vm |
 */
import { splitPath } from './path.js';

export const VmType = { QEMU: 1, OPENVZ: 2, LXC: 3 } as const;
export type VmType = (typeof VmType)[keyof typeof VmType];

export interface VmInfo {
  readonly vmid: number;
  readonly type: VmType;
  readonly node: string;
}

const U32_MAX = 0xffff_ffff;

/** The vmid of `NNN.conf` (first digit 1–9, digits only, <= 2^32 − 1), else null. */
export function nameIsVmConfig(name: string): number | null {
  const m = /^([1-9][0-9]*)\.conf$/.exec(name);
  if (m === null) return null;
  const vmid = Number(m[1]);
  return vmid <= U32_MAX ? vmid : null;
}

export function validNodename(name: string): boolean {
  if (name.length < 1) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const alnum = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (alnum) continue;
    if (c === 0x2d && i !== 0 && i !== name.length - 1) continue;
    return false;
  }
  return true;
}

const subdirTypes: Record<string, VmType> = { 'qemu-server': VmType.QEMU, openvz: VmType.OPENVZ, lxc: VmType.LXC };

export function vmTypeOfSubdir(name: string): VmType | undefined {
  return Object.hasOwn(subdirTypes, name) ? subdirTypes[name] : undefined;
}

/** `nodes/NODE/{qemu-server,openvz,lxc}/VMID.conf` → info; a leading slash defeats it as in C. */
export function pathVmConfig(path: string): VmInfo | null {
  // The dirname is a prefix of the path: most paths are refused without splitting.
  if (!path.startsWith('nodes/')) return null;
  const { dirname, basename } = splitPath(path);
  const vmid = nameIsVmConfig(basename);
  if (vmid === null || !dirname.startsWith('nodes/')) return null;
  const rest = dirname.slice(6);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const node = rest.slice(0, slash);
  const type = vmTypeOfSubdir(rest.slice(slash + 1));
  if (type === undefined || !validNodename(node)) return null;
  return { vmid, type, node };
}

/** A registered guest with its own version (status.c: vminfo->version). */
export interface VmEntry extends VmInfo {
  readonly version: number;
}

export class VmList {
  private readonly vms = new Map<number, VmEntry>();
  /** Bumped on every change, as status.c's vmlist_version (shown in .vmlist). */
  version = 0;
  /** status.c: vminfo_version_counter, one step per insert. */
  private entryCounter = 0;

  get(vmid: number): VmEntry | undefined {
    return this.vms.get(vmid);
  }

  entries(): IterableIterator<VmEntry> {
    return this.vms.values();
  }

  private insert(vm: VmInfo): void {
    this.vms.set(vm.vmid, { vmid: vm.vmid, type: vm.type, node: vm.node, version: ++this.entryCounter });
  }

  get size(): number {
    return this.vms.size;
  }

  differentExists(vm: VmInfo): boolean {
    const cur = this.vms.get(vm.vmid);
    return cur !== undefined && !(cur.type === vm.type && cur.node === vm.node);
  }

  register(vm: VmInfo): void {
    this.version++;
    this.insert(vm);
  }

  remove(vmid: number): void {
    this.version++;
    this.vms.delete(vmid);
  }

  replaceAll(list: Iterable<VmInfo>): void {
    this.version++;
    this.vms.clear();
    for (const vm of list) this.insert(vm);
  }
}
