/**
 * The FUSE addon as seen by the metrics (src/metrics): every request handed to
 * JavaScript starts a timer, every fuse_reply_* stops it with the errno sent. One
 * wrapper at mount time, so neither the dispatch nor the handlers know about it.
 */
import type { FuseMeter } from '../metrics/requests.js';
import type { FuseAddon, FuseRequest } from './native.js';

/** The addon with every request and reply seen by `meter` (one wrapper at mount). */
export function meterFuse(addon: FuseAddon, meter: FuseMeter): FuseAddon {
  const ok = (id: number): void => meter.reply(id, 0);
  return {
    ...addon,
    mount: (mountpoint, options, handler) =>
      addon.mount(mountpoint, options, (req: FuseRequest) => {
        meter.request(req.id, req.op);
        handler(req);
      }),
    replyErr: (id, errno) => (meter.reply(id, errno), addon.replyErr(id, errno)),
    replyNone: (id) => (ok(id), addon.replyNone(id)),
    replyEntry: (id, attr, timeout) => (ok(id), addon.replyEntry(id, attr, timeout)),
    replyCreate: (id, attr, timeout, fh) => (ok(id), addon.replyCreate(id, attr, timeout, fh)),
    replyAttr: (id, attr, timeout) => (ok(id), addon.replyAttr(id, attr, timeout)),
    replyOpen: (id, fh, directIo) => (ok(id), addon.replyOpen(id, fh, directIo)),
    replyBuf: (id, data) => (ok(id), addon.replyBuf(id, data)),
    replyWrite: (id, count) => (ok(id), addon.replyWrite(id, count)),
    replyReadlink: (id, target) => (ok(id), addon.replyReadlink(id, target)),
    replyStatfs: (id, st) => (ok(id), addon.replyStatfs(id, st)),
    replyDir: (id, names, types, offset, size) => (ok(id), addon.replyDir(id, names, types, offset, size)),
  };
}
