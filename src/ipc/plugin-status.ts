/**
 * A StatusBackend over today's function-file generators (src/fuse/plugins.ts) for
 * `.version`, `.members` and `.vmlist`, until the status module (src/status) lands.
 * The kvstore, cluster-log and RRD operations answer ENOSYS here: they are not faked.
 */
import { ENOSYS, ErrnoError } from '../memdb/errno.js';
import { generate, type PluginSources } from '../fuse/plugins.js';

/** The sources the three texts read (the `.debug` switch is not one of them). */
export type TextSources = Omit<PluginSources, 'getDebug' | 'setDebug'>;
import type { ClusterLogRequest, StatusBackend } from '../status/backend.js';

function missing(): never {
  throw new ErrnoError(-ENOSYS, 'status module not available');
}

export function pluginStatusBackend(texts: TextSources): StatusBackend {
  const src: PluginSources = { ...texts, getDebug: () => false, setDebug: () => undefined };
  return {
    versionText: () => generate('.version', src),
    memberListText: () => generate('.members', src),
    vmListText: () => generate('.vmlist', src),
    setStatus: (_name: Buffer, _value: Buffer) => missing(),
    getStatus: (_name: Buffer, _node: Buffer) => missing(),
    logClusterMessage: (_req: ClusterLogRequest) => missing(),
    clusterLogJson: (_max: number, _user: Buffer) => missing(),
    rrdDump: () => missing(),
  };
}
