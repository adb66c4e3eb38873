/**
 * The memdb's structural invariant, checked by the simulator after every applied
 * message and every sync commit (and by tests): the inode index holds exactly the
 * entries reachable from the root, each under its own inode, each child's parent
 * field naming the directory it is in.
 *
 * | here              | C (memdb.c)                                   |
 * |-------------------|-----------------------------------------------|
 * | indexMatchesTree  | the consistency memdb_tree_entry_new/insert keep between root and index |
 */
import { DT_DIR } from '../wire/entry.js';
import type { U64 } from '../wire/u64.js';
import type { Memdb } from './memdb.js';
import type { TreeEntry } from './tree.js';

/** null when the invariant holds, else what is wrong (for the failure message). */
export function indexMatchesTree(memdb: Memdb): string | null {
  const seen = new Set<U64>();
  const stack: TreeEntry[] = [memdb.root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e.inode)) return `inode ${e.inode} reachable twice`;
    seen.add(e.inode);
    if (memdb.index.get(e.inode) !== e) return `index entry of inode ${e.inode} is not the tree's entry`;
    if (e.type !== DT_DIR) continue;
    for (const [name, child] of e.children) {
      if (child.name !== name) return `inode ${child.inode} listed as '${name}' but named '${child.name}'`;
      if (child.parent !== e.inode) return `inode ${child.inode} has parent ${child.parent}, found in ${e.inode}`;
      stack.push(child);
    }
  }
  if (seen.size !== memdb.index.size) return `index holds ${memdb.index.size} entries, the tree ${seen.size}`;
  return null;
}
