// FUSE binding: libfuse3 low-level session, loop on its own std::thread, every
// request handed to JavaScript through a thread-safe function and answered later
// (from the JS thread) with fuse_reply_*. No policy here: the JS side decides every
// answer. Requests the JS side never sees: forget (node ids are managed in JS, so
// forgets are forwarded too), flush/fsync (0), symlink (ENOSYS), link (EPERM).
//
// Capabilities mimic pmxcfs on libfuse 2 (fuse.md §1): no atomic O_TRUNC (the kernel
// sends a separate size-0 setattr), no writeback cache, max_write 128 KiB.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

enum Op {
  OP_LOOKUP = 1, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_RENAME, OP_OPEN, OP_READ, OP_WRITE, OP_RELEASE, OP_OPENDIR, OP_READDIR,
  OP_RELEASEDIR, OP_STATFS, OP_CREATE, OP_EXIT
};

struct Request {
  int op = 0;
  fuse_req_t req = nullptr;
  uint64_t ino = 0;
  uint64_t ino2 = 0;
  std::string name;
  std::string name2;
  uint64_t size = 0;
  int64_t off = 0;
  int flags = 0;
  uint64_t fh = 0;
  int toSet = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime = 0;
  int64_t mtime = 0;
  uint32_t ctxUid = 0;
  uint32_t ctxGid = 0;
  uint32_t ctxPid = 0;
  std::vector<char> data;
};

struct Session;
void CallJs(Napi::Env env, Napi::Function cb, Session* ctx, Request* r);
using Tsfn = Napi::TypedThreadSafeFunction<Session, Request, CallJs>;

struct Session {
  fuse_session* se = nullptr;
  std::string mountpoint;
  Tsfn tsfn;
  std::thread thread;
  std::atomic<bool> done{false};
  std::atomic<bool> stopping{false};
  int loopResult = 0;
};

// Pending requests by id; touched only on the JS thread.
std::unordered_map<double, fuse_req_t> pending;
double nextId = 1;
std::unordered_map<int, std::unique_ptr<Session>> sessions;
int nextHandle = 1;

void Send(fuse_req_t req, Request* r) {
  const fuse_ctx* c = fuse_req_ctx(req);
  r->req = req;
  if (c != nullptr) {
    r->ctxUid = c->uid;
    r->ctxGid = c->gid;
    r->ctxPid = c->pid;
  }
  auto* s = static_cast<Session*>(fuse_req_userdata(req));
  if (s->tsfn.NonBlockingCall(r) != napi_ok) {
    if (r->op != OP_FORGET) fuse_reply_err(req, EIO);
    else fuse_reply_none(req);
    delete r;
  }
}

void CallJs(Napi::Env env, Napi::Function cb, Session* ctx, Request* r) {
  if (env == nullptr || cb == nullptr) {
    if (r->req != nullptr) {
      if (r->op == OP_FORGET) fuse_reply_none(r->req);
      else fuse_reply_err(r->req, EIO);
    }
    delete r;
    return;
  }
  Napi::Object o = Napi::Object::New(env);
  double id = 0;
  if (r->req != nullptr) {
    id = nextId++;
    pending[id] = r->req;
  }
  o.Set("id", id);
  o.Set("op", r->op);
  o.Set("ino", static_cast<double>(r->ino));
  switch (r->op) {
    case OP_LOOKUP: case OP_MKDIR: case OP_MKNOD: case OP_UNLINK: case OP_RMDIR: case OP_CREATE:
      o.Set("name", Napi::Buffer<char>::Copy(env, r->name.data(), r->name.size()));
      break;
    case OP_RENAME:
      o.Set("name", Napi::Buffer<char>::Copy(env, r->name.data(), r->name.size()));
      o.Set("newparent", static_cast<double>(r->ino2));
      o.Set("newname", Napi::Buffer<char>::Copy(env, r->name2.data(), r->name2.size()));
      break;
    default:
      break;
  }
  o.Set("size", static_cast<double>(r->size));
  o.Set("off", static_cast<double>(r->off));
  o.Set("flags", r->flags);
  o.Set("fh", static_cast<double>(r->fh));
  o.Set("mode", r->mode);
  if (r->op == OP_SETATTR) {
    o.Set("toSet", r->toSet);
    o.Set("uid", r->uid);
    o.Set("gid", r->gid);
    o.Set("atime", static_cast<double>(r->atime));
    o.Set("mtime", static_cast<double>(r->mtime));
  }
  if (r->op == OP_WRITE) o.Set("data", Napi::Buffer<char>::Copy(env, r->data.data(), r->data.size()));
  o.Set("uid", r->op == OP_SETATTR ? r->uid : r->ctxUid);
  o.Set("ctxUid", r->ctxUid);
  o.Set("ctxGid", r->ctxGid);
  o.Set("ctxPid", r->ctxPid);
  delete r;
  cb.Call({o});
}

Request* New(int op, fuse_ino_t ino) {
  auto* r = new Request();
  r->op = op;
  r->ino = ino;
  return r;
}

// ---- low-level operations (FUSE thread) -----------------------------------------

void LlInit(void* userdata, fuse_conn_info* conn) {
  conn->want &= ~(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
  conn->max_write = 131072;
}

void LlLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* r = New(OP_LOOKUP, parent);
  r->name = name;
  Send(req, r);
}

void LlForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  auto* r = New(OP_FORGET, ino);
  r->size = nlookup;
  Send(req, r);
}

void LlGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Send(req, New(OP_GETATTR, ino)); }

void LlSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  auto* r = New(OP_SETATTR, ino);
  r->toSet = to_set;
  r->mode = attr->st_mode;
  r->uid = attr->st_uid;
  r->gid = attr->st_gid;
  r->size = attr->st_size;
  r->atime = attr->st_atim.tv_sec;
  r->mtime = attr->st_mtim.tv_sec;
  r->fh = fi != nullptr ? fi->fh : 0;
  Send(req, r);
}

void LlReadlink(fuse_req_t req, fuse_ino_t ino) { Send(req, New(OP_READLINK, ino)); }

void LlMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  auto* r = New(OP_MKNOD, parent);
  r->name = name;
  r->mode = mode;
  Send(req, r);
}

void LlMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  auto* r = New(OP_MKDIR, parent);
  r->name = name;
  r->mode = mode;
  Send(req, r);
}

void LlUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* r = New(OP_UNLINK, parent);
  r->name = name;
  Send(req, r);
}

void LlRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* r = New(OP_RMDIR, parent);
  r->name = name;
  Send(req, r);
}

void LlSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) { fuse_reply_err(req, ENOSYS); }

void LlRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname, unsigned int flags) {
  if (flags != 0) {
    fuse_reply_err(req, EINVAL);  // libfuse 2 has no RENAME_NOREPLACE/EXCHANGE
    return;
  }
  auto* r = New(OP_RENAME, parent);
  r->name = name;
  r->ino2 = newparent;
  r->name2 = newname;
  Send(req, r);
}

void LlLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) { fuse_reply_err(req, EPERM); }

void LlOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* r = New(OP_OPEN, ino);
  r->flags = fi->flags;
  Send(req, r);
}

void LlRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* r = New(OP_READ, ino);
  r->size = size;
  r->off = off;
  r->fh = fi->fh;
  Send(req, r);
}

void LlWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  auto* r = New(OP_WRITE, ino);
  r->data.assign(buf, buf + size);
  r->size = size;
  r->off = off;
  r->fh = fi->fh;
  r->flags = fi->flags;  // the open flags (O_APPEND: the kernel's offset is its cached size)
  Send(req, r);
}

void LlFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { fuse_reply_err(req, 0); }

void LlRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* r = New(OP_RELEASE, ino);
  r->fh = fi->fh;
  Send(req, r);
}

void LlFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) { fuse_reply_err(req, 0); }

void LlOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Send(req, New(OP_OPENDIR, ino)); }

void LlReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* r = New(OP_READDIR, ino);
  r->size = size;
  r->off = off;
  r->fh = fi->fh;
  Send(req, r);
}

void LlReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* r = New(OP_RELEASEDIR, ino);
  r->fh = fi->fh;
  Send(req, r);
}

void LlFsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) { fuse_reply_err(req, 0); }

void LlStatfs(fuse_req_t req, fuse_ino_t ino) { Send(req, New(OP_STATFS, ino)); }

void LlCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  auto* r = New(OP_CREATE, parent);
  r->name = name;
  r->mode = mode;
  r->flags = fi->flags;
  Send(req, r);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops o;
  std::memset(&o, 0, sizeof o);
  o.init = LlInit;
  o.lookup = LlLookup;
  o.forget = LlForget;
  o.getattr = LlGetattr;
  o.setattr = LlSetattr;
  o.readlink = LlReadlink;
  o.mknod = LlMknod;
  o.mkdir = LlMkdir;
  o.unlink = LlUnlink;
  o.rmdir = LlRmdir;
  o.symlink = LlSymlink;
  o.rename = LlRename;
  o.link = LlLink;
  o.open = LlOpen;
  o.read = LlRead;
  o.write = LlWrite;
  o.flush = LlFlush;
  o.release = LlRelease;
  o.fsync = LlFsync;
  o.opendir = LlOpendir;
  o.readdir = LlReaddir;
  o.releasedir = LlReleasedir;
  o.fsyncdir = LlFsyncdir;
  o.statfs = LlStatfs;
  o.create = LlCreate;
  return o;
}();

// ---- JS API -----------------------------------------------------------------------

fuse_req_t Take(const Napi::CallbackInfo& info) {
  double id = info[0].As<Napi::Number>().DoubleValue();
  auto it = pending.find(id);
  if (it == pending.end()) return nullptr;
  fuse_req_t req = it->second;
  pending.erase(it);
  return req;
}

struct AttrOut {
  struct stat st;
  double timeout;
};

void ToStat(const Napi::Object& a, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  auto num = [&](const char* k) { Napi::Value v = a.Get(k); return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0; };
  st->st_ino = static_cast<ino_t>(num("ino"));
  st->st_mode = static_cast<mode_t>(num("mode"));
  st->st_nlink = static_cast<nlink_t>(num("nlink"));
  st->st_uid = static_cast<uid_t>(num("uid"));
  st->st_gid = static_cast<gid_t>(num("gid"));
  st->st_size = static_cast<off_t>(num("size"));
  st->st_blocks = static_cast<blkcnt_t>(num("blocks"));
  time_t t = static_cast<time_t>(num("mtime"));
  st->st_atim.tv_sec = t;
  st->st_mtim.tv_sec = t;
  st->st_ctim.tv_sec = t;
}

Napi::Value Result(const Napi::CallbackInfo& info, int r) { return Napi::Number::New(info.Env(), r); }

// replyErr(id, errno)
Napi::Value ReplyErr(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  return Result(info, fuse_reply_err(req, info[1].As<Napi::Number>().Int32Value()));
}

// replyNone(id): forget
Napi::Value ReplyNone(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req != nullptr) fuse_reply_none(req);
  return info.Env().Undefined();
}

// The entry of replyEntry/replyCreate from (id, attr, timeoutSec, ...).
fuse_entry_param EntryParam(const Napi::CallbackInfo& info) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  ToStat(info[1].As<Napi::Object>(), &e.attr);
  e.ino = e.attr.st_ino;
  e.attr_timeout = info[2].As<Napi::Number>().DoubleValue();
  e.entry_timeout = e.attr_timeout;
  return e;
}

// replyEntry(id, attr, timeoutSec)
Napi::Value ReplyEntry(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_entry_param e = EntryParam(info);
  return Result(info, fuse_reply_entry(req, &e));
}

// replyCreate(id, attr, timeoutSec, fh)
Napi::Value ReplyCreate(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_entry_param e = EntryParam(info);
  fuse_file_info fi;
  std::memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(info[3].As<Napi::Number>().DoubleValue());
  fi.direct_io = 1;
  fi.keep_cache = 0;
  return Result(info, fuse_reply_create(req, &e, &fi));
}

// replyAttr(id, attr, timeoutSec)
Napi::Value ReplyAttr(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  struct stat st;
  ToStat(info[1].As<Napi::Object>(), &st);
  return Result(info, fuse_reply_attr(req, &st, info[2].As<Napi::Number>().DoubleValue()));
}

// replyOpen(id, fh, directIo)
Napi::Value ReplyOpen(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_file_info fi;
  std::memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  fi.direct_io = info[2].As<Napi::Boolean>().Value() ? 1 : 0;
  fi.keep_cache = 0;
  return Result(info, fuse_reply_open(req, &fi));
}

// replyBuf(id, buffer)
Napi::Value ReplyBuf(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto b = info[1].As<Napi::Buffer<char>>();
  return Result(info, fuse_reply_buf(req, b.Data(), b.Length()));
}

// replyWrite(id, count)
Napi::Value ReplyWrite(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  return Result(info, fuse_reply_write(req, static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue())));
}

// replyReadlink(id, buffer)
Napi::Value ReplyReadlink(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto b = info[1].As<Napi::Buffer<char>>();
  std::string s(b.Data(), b.Length());
  return Result(info, fuse_reply_readlink(req, s.c_str()));
}

// replyStatfs(id, {bsize, frsize, blocks, bfree, bavail, files, ffree, namemax})
Napi::Value ReplyStatfs(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto a = info[1].As<Napi::Object>();
  auto num = [&](const char* k) { Napi::Value v = a.Get(k); return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0; };
  struct statvfs sv;
  std::memset(&sv, 0, sizeof sv);
  sv.f_bsize = static_cast<unsigned long>(num("bsize"));
  sv.f_frsize = static_cast<unsigned long>(num("frsize"));
  sv.f_blocks = static_cast<fsblkcnt_t>(num("blocks"));
  sv.f_bfree = static_cast<fsblkcnt_t>(num("bfree"));
  sv.f_bavail = static_cast<fsblkcnt_t>(num("bavail"));
  sv.f_files = static_cast<fsfilcnt_t>(num("files"));
  sv.f_ffree = static_cast<fsfilcnt_t>(num("ffree"));
  sv.f_namemax = static_cast<unsigned long>(num("namemax"));
  return Result(info, fuse_reply_statfs(req, &sv));
}

// replyDir(id, names: Buffer[], types: number[] (st_mode type bits), offset, size):
// entries from index `offset` on; the offset of entry i is i + 1; d_ino unknown.
Napi::Value ReplyDir(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto names = info[1].As<Napi::Array>();
  auto types = info[2].As<Napi::Array>();
  size_t off = static_cast<size_t>(info[3].As<Napi::Number>().DoubleValue());
  size_t size = static_cast<size_t>(info[4].As<Napi::Number>().DoubleValue());
  std::vector<char> buf(size);
  size_t used = 0;
  for (uint32_t i = static_cast<uint32_t>(off); i < names.Length(); i++) {
    auto nb = names.Get(i).As<Napi::Buffer<char>>();
    std::string name(nb.Data(), nb.Length());
    struct stat st;
    std::memset(&st, 0, sizeof st);
    st.st_ino = 0xffffffffu;  // FUSE_UNKNOWN_INO, as libfuse 2 without use_ino
    st.st_mode = static_cast<mode_t>(types.Get(i).As<Napi::Number>().Uint32Value());
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st, i + 1);
    if (need > size - used) break;
    used += need;
  }
  return Result(info, fuse_reply_buf(req, buf.data(), used));
}

void Loop(Session* s) {
  s->loopResult = fuse_session_loop(s->se);
  s->done = true;
  if (!s->stopping) {
    auto* r = New(OP_EXIT, 0);
    r->off = s->loopResult;
    if (s->tsfn.NonBlockingCall(r) != napi_ok) delete r;
  }
  s->tsfn.Release();
}

// mount(mountpoint, options, handler) -> handle; throws on failure.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "mount(mountpoint, options, handler)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto s = std::make_unique<Session>();
  s->mountpoint = info[0].As<Napi::String>().Utf8Value();
  std::string opts = info[1].As<Napi::String>().Utf8Value();
  std::vector<std::string> argvS = {"pmxcfs", "-o", opts};
  std::vector<char*> argv;
  for (auto& a : argvS) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  s->se = fuse_session_new(&args, &kOps, sizeof kOps, s.get());
  fuse_opt_free_args(&args);
  if (s->se == nullptr) {
    Napi::Error::New(env, "fuse_session_new failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (fuse_session_mount(s->se, s->mountpoint.c_str()) != 0) {
    fuse_session_destroy(s->se);
    Napi::Error::New(env, "fuse_session_mount failed for " + s->mountpoint).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  s->tsfn = Tsfn::New(env, info[2].As<Napi::Function>(), "pmxcfs-fuse", 0, 1, s.get());
  Session* raw = s.get();
  raw->thread = std::thread(Loop, raw);
  int h = nextHandle++;
  sessions[h] = std::move(s);
  return Napi::Number::New(env, h);
}

Session* Get(const Napi::CallbackInfo& info) {
  auto it = sessions.find(info[0].As<Napi::Number>().Int32Value());
  return it == sessions.end() ? nullptr : it->second.get();
}

// stop(handle): ask the loop to end and detach the mount (lazy, as libfuse 2's
// fuse_unmount). The loop ends once the kernel connection goes away.
Napi::Value Stop(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  if (s == nullptr) return info.Env().Undefined();
  s->stopping = true;
  fuse_session_exit(s->se);
  int r = umount2(s->mountpoint.c_str(), MNT_DETACH);
  return Napi::Number::New(info.Env(), r == 0 ? 0 : -errno);
}

Napi::Value Done(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  return Napi::Boolean::New(info.Env(), s == nullptr || s->done.load());
}

// destroy(handle): join the loop thread (only when done) and free the session.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  auto it = sessions.find(info[0].As<Napi::Number>().Int32Value());
  if (it == sessions.end()) return info.Env().Undefined();
  Session* s = it->second.get();
  if (!s->done) {
    // Still serving (files held open on a detached mount): leave the thread; the
    // process exit closes the device.
    s->thread.detach();
    sessions.erase(it->first);
    it->second.release();
    return Napi::Boolean::New(info.Env(), false);
  }
  s->thread.join();
  fuse_session_unmount(s->se);
  fuse_session_destroy(s->se);
  sessions.erase(it);
  return Napi::Boolean::New(info.Env(), true);
}

// umount2(path, flags) -> 0 or -errno (stale-mount clearing at start).
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string p = info[0].As<Napi::String>().Utf8Value();
  int r = umount2(p.c_str(), info[1].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), r == 0 ? 0 : -errno);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("stop", Napi::Function::New(env, Stop));
  exports.Set("done", Napi::Function::New(env, Done));
  exports.Set("destroy", Napi::Function::New(env, Destroy));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("replyErr", Napi::Function::New(env, ReplyErr));
  exports.Set("replyNone", Napi::Function::New(env, ReplyNone));
  exports.Set("replyEntry", Napi::Function::New(env, ReplyEntry));
  exports.Set("replyCreate", Napi::Function::New(env, ReplyCreate));
  exports.Set("replyAttr", Napi::Function::New(env, ReplyAttr));
  exports.Set("replyOpen", Napi::Function::New(env, ReplyOpen));
  exports.Set("replyBuf", Napi::Function::New(env, ReplyBuf));
  exports.Set("replyWrite", Napi::Function::New(env, ReplyWrite));
  exports.Set("replyReadlink", Napi::Function::New(env, ReplyReadlink));
  exports.Set("replyStatfs", Napi::Function::New(env, ReplyStatfs));
  exports.Set("replyDir", Napi::Function::New(env, ReplyDir));
  exports.Set("MNT_FORCE", Napi::Number::New(env, MNT_FORCE));
  exports.Set("MNT_DETACH", Napi::Number::New(env, MNT_DETACH));
  return exports;
}

}  // namespace

NODE_API_MODULE(fuse, Init)
