// FUSE binding: libfuse3 low-level session served on the Node event loop. The
// session fd (non-blocking) is watched with uv_poll; when readable, requests are
// read with fuse_session_receive_buf and run with fuse_session_process_buf, whose
// callbacks hand each request to JavaScript at once (same thread, no hand-off); the
// JS side answers now or later with fuse_reply_*. No policy here: the JS side
// decides every answer. Answered here without JS: symlink (ENOSYS), link (EPERM);
// flush, fsync and fsyncdir are not registered, so libfuse answers ENOSYS once and
// the kernel stops sending them (what pmxcfs on libfuse 2 gets: it defines none);
// release is not registered either, so libfuse answers it 0 (pmxcfs has no release
// work: a file handle holds nothing), one JS entry less per file written.
//
// Rule that follows from serving on the loop (as before with a loop thread, since
// JS answers): the daemon must never touch its own mount with a synchronous call.
// Asynchronous fs calls run on libuv's thread pool and are served normally.
//
// Capabilities mimic pmxcfs on libfuse 2: no atomic O_TRUNC (the kernel sends a
// separate size-0 setattr), no writeback cache, max_write 128 KiB (big_writes).
//
// | here           | C / libfuse                                               |
// |----------------|-----------------------------------------------------------|
// | OnReadable     | fuse_session_loop (one batch of receive/process per wake) |
// | Stop           | fuse_unmount (lazy)                                       |
// | Destroy        | fuse_session_destroy after every pending request answered |
//
// Request ids carry their session (handle << 32 | seq), so a late answer for a
// destroyed session finds nothing and is dropped instead of using freed memory.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unordered_map>
#include <vector>

namespace {

enum Op {
  OP_LOOKUP = 1, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_RENAME, OP_OPEN, OP_READ, OP_WRITE, OP_OPENDIR, OP_READDIR,
  OP_RELEASEDIR, OP_STATFS, OP_CREATE, OP_EXIT
};

// Slots of the shared Float64Array that carries a request's numbers to JS
// (src/fuse/native.ts: Slot); read synchronously by the handler.
enum Slot {
  S_SIZE, S_OFF, S_FLAGS, S_FH, S_MODE, S_TOSET, S_UID, S_GID, S_ATIME, S_MTIME,
  S_CTX_UID, S_CTX_GID, S_CTX_PID, S_INO2, S_COUNT
};

// Requests read per readable event before yielding to the rest of the loop.
constexpr int kMaxBatch = 64;
constexpr double kSeqSpan = 4294967296.0;  // 2^32
// max_write, as pmxcfs's libfuse 2 with big_writes: the largest WRITE the kernel sends.
constexpr size_t kMaxWrite = 131072;

struct Pending {
  fuse_req_t req;
  bool none;  // forget: answered with fuse_reply_none
};

struct Session {
  napi_env env = nullptr;
  int handle = 0;
  fuse_session* se = nullptr;
  std::string mountpoint;
  uv_poll_t poll;
  bool pollInit = false;
  bool polling = false;
  fuse_buf buf{};
  Napi::FunctionReference handler;
  Napi::ObjectReference numsRef;
  double* nums = nullptr;
  Napi::ObjectReference dataRef;
  char* data = nullptr;  // a WRITE's bytes (its length is the SIZE slot)
  napi_async_context actx = nullptr;
  std::unordered_map<uint32_t, Pending> pending;
  uint32_t nextSeq = 1;
  bool done = false;
  bool stopping = false;
  bool inCallback = false;
  bool destroyed = false;
};

std::unordered_map<int, Session*> sessions;
int nextHandle = 1;

// Call the JS handler (op, id, ino, name, name2); numbers are in s->nums, a WRITE's
// bytes in s->data. Names go as latin1 strings (one byte per char, so any bytes
// survive): JS uses them as strings, and a Buffer per name cost more than the rest of
// the call.
void CallJs(Session* s, int op, double id, fuse_ino_t ino, const char* name, const char* name2) {
  Napi::Env env(s->env);
  Napi::HandleScope scope(env);
  auto str = [&](const char* p) -> napi_value {
    if (p == nullptr) return env.Undefined();
    napi_value v;
    napi_create_string_latin1(env, p, NAPI_AUTO_LENGTH, &v);
    return v;
  };
  napi_value args[5] = {
      Napi::Number::New(env, op), Napi::Number::New(env, id), Napi::Number::New(env, static_cast<double>(ino)),
      str(name), str(name2),
  };
  napi_value result;
  if (napi_call_function(env, env.Global(), s->handler.Value(), 5, args, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

// Hand request `req` to JS; it stays pending until a reply function takes it.
void Deliver(fuse_req_t req, int op, fuse_ino_t ino, const char* name = nullptr, const char* name2 = nullptr) {
  auto* s = static_cast<Session*>(fuse_req_userdata(req));
  const fuse_ctx* c = fuse_req_ctx(req);
  s->nums[S_CTX_UID] = c->uid;
  s->nums[S_CTX_GID] = c->gid;
  s->nums[S_CTX_PID] = c->pid;
  uint32_t seq = s->nextSeq++;
  if (s->nextSeq == 0) s->nextSeq = 1;
  s->pending[seq] = Pending{req, op == OP_FORGET};
  CallJs(s, op, s->handle * kSeqSpan + seq, ino, name, name2);
}

double* Nums(fuse_req_t req) {
  double* n = static_cast<Session*>(fuse_req_userdata(req))->nums;
  std::memset(n, 0, sizeof(double) * S_COUNT);
  return n;
}

// ---- low-level operations (event-loop thread, inside OnReadable) -------------------

void LlInit(void* userdata, fuse_conn_info* conn) {
  conn->want &= ~(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
  conn->max_write = kMaxWrite;
}

void LlLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Nums(req);
  Deliver(req, OP_LOOKUP, parent, name);
}

void LlForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Nums(req)[S_SIZE] = static_cast<double>(nlookup);
  Deliver(req, OP_FORGET, ino);
}

void LlGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Nums(req);
  Deliver(req, OP_GETATTR, ino);
}

void LlSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  double* n = Nums(req);
  n[S_TOSET] = to_set;
  n[S_MODE] = attr->st_mode;
  n[S_UID] = attr->st_uid;
  n[S_GID] = attr->st_gid;
  n[S_SIZE] = static_cast<double>(attr->st_size);
  n[S_ATIME] = static_cast<double>(attr->st_atim.tv_sec);
  n[S_MTIME] = static_cast<double>(attr->st_mtim.tv_sec);
  n[S_FH] = fi != nullptr ? static_cast<double>(fi->fh) : 0;
  Deliver(req, OP_SETATTR, ino);
}

void LlReadlink(fuse_req_t req, fuse_ino_t ino) {
  Nums(req);
  Deliver(req, OP_READLINK, ino);
}

void LlMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Nums(req)[S_MODE] = mode;
  Deliver(req, OP_MKNOD, parent, name);
}

void LlMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Nums(req)[S_MODE] = mode;
  Deliver(req, OP_MKDIR, parent, name);
}

void LlUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Nums(req);
  Deliver(req, OP_UNLINK, parent, name);
}

void LlRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Nums(req);
  Deliver(req, OP_RMDIR, parent, name);
}

void LlSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) { fuse_reply_err(req, ENOSYS); }

void LlRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname, unsigned int flags) {
  if (flags != 0) {
    fuse_reply_err(req, EINVAL);  // libfuse 2 has no RENAME_NOREPLACE/EXCHANGE
    return;
  }
  Nums(req)[S_INO2] = static_cast<double>(newparent);
  Deliver(req, OP_RENAME, parent, name, newname);
}

void LlLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) { fuse_reply_err(req, EPERM); }

void LlOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Nums(req)[S_FLAGS] = fi->flags;
  Deliver(req, OP_OPEN, ino);
}

void LlRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  double* n = Nums(req);
  n[S_SIZE] = static_cast<double>(size);
  n[S_OFF] = static_cast<double>(off);
  n[S_FH] = static_cast<double>(fi->fh);
  Deliver(req, OP_READ, ino);
}

void LlWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  double* n = Nums(req);
  n[S_SIZE] = static_cast<double>(size);
  n[S_OFF] = static_cast<double>(off);
  n[S_FH] = static_cast<double>(fi->fh);
  n[S_FLAGS] = fi->flags;  // the open flags (O_APPEND: the kernel's offset is its cached size)
  if (size > kMaxWrite) {  // the kernel keeps to the max_write of LlInit
    fuse_reply_err(req, EIO);
    return;
  }
  std::memcpy(static_cast<Session*>(fuse_req_userdata(req))->data, buf, size);
  Deliver(req, OP_WRITE, ino);
}

void LlOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Nums(req);
  Deliver(req, OP_OPENDIR, ino);
}

void LlReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  double* n = Nums(req);
  n[S_SIZE] = static_cast<double>(size);
  n[S_OFF] = static_cast<double>(off);
  n[S_FH] = static_cast<double>(fi->fh);
  Deliver(req, OP_READDIR, ino);
}

void LlReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Nums(req)[S_FH] = static_cast<double>(fi->fh);
  Deliver(req, OP_RELEASEDIR, ino);
}

void LlStatfs(fuse_req_t req, fuse_ino_t ino) {
  Nums(req);
  Deliver(req, OP_STATFS, ino);
}

void LlCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  double* n = Nums(req);
  n[S_MODE] = mode;
  n[S_FLAGS] = fi->flags;
  Deliver(req, OP_CREATE, parent, name);
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
  o.opendir = LlOpendir;
  o.readdir = LlReaddir;
  o.releasedir = LlReleasedir;
  o.statfs = LlStatfs;
  o.create = LlCreate;
  return o;
}();

// ---- session lifetime ---------------------------------------------------------------

// Free everything of a session whose pending requests are all answered.
void Release(Session* s) {
  if (s->polling) uv_poll_stop(&s->poll);
  s->polling = false;
  // Closing the fd ends the kernel connection. stop() already detached the mount; a
  // second unmount by path could hit a newer mount at the same place.
  if (!s->stopping) fuse_session_unmount(s->se);
  fuse_session_destroy(s->se);
  std::free(s->buf.mem);
  s->handler.Reset();
  s->numsRef.Reset();
  s->dataRef.Reset();
  if (s->actx != nullptr) napi_async_destroy(s->env, s->actx);
  if (!s->pollInit) {
    delete s;
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), [](uv_handle_t* h) { delete static_cast<Session*>(h->data); });
}

// The kernel connection is gone (or reading failed): no more requests will come.
void EndLoop(Session* s, int result) {
  s->done = true;
  if (s->polling) uv_poll_stop(&s->poll);
  s->polling = false;
  if (s->stopping) return;
  std::memset(s->nums, 0, sizeof(double) * S_COUNT);
  s->nums[S_OFF] = result;
  CallJs(s, OP_EXIT, 0, 0, nullptr, nullptr);
}

// Read and run up to kMaxBatch requests; JS promise jobs run when the scope closes.
void OnReadable(uv_poll_t* h, int status, int events) {
  auto* s = static_cast<Session*>(h->data);
  Napi::Env env(s->env);
  Napi::HandleScope hs(env);
  napi_callback_scope scope;
  napi_open_callback_scope(s->env, s->handler.Value(), s->actx, &scope);
  s->inCallback = true;
  if (status < 0) EndLoop(s, status);
  for (int k = 0; k < kMaxBatch && !s->done && !s->destroyed; k++) {
    int r = fuse_session_receive_buf(s->se, &s->buf);
    if (r == -EAGAIN) break;
    if (r == -EINTR) continue;
    if (r <= 0) {
      EndLoop(s, r);
      break;
    }
    fuse_session_process_buf(s->se, &s->buf);
  }
  napi_close_callback_scope(s->env, scope);
  s->inCallback = false;
  if (s->destroyed) Release(s);
}

// ---- JS API -----------------------------------------------------------------------

// The pending request of id (removed), or nullptr (answered, or session destroyed).
fuse_req_t Take(const Napi::CallbackInfo& info) {
  double id = info[0].As<Napi::Number>().DoubleValue();
  auto sit = sessions.find(static_cast<int>(id / kSeqSpan));
  if (sit == sessions.end()) return nullptr;
  auto& pending = sit->second->pending;
  auto it = pending.find(static_cast<uint32_t>(id - static_cast<double>(sit->first) * kSeqSpan));
  if (it == pending.end()) return nullptr;
  fuse_req_t req = it->second.req;
  pending.erase(it);
  return req;
}

double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }

// Attributes from arguments first..first+7: ino mode nlink uid gid size blocks mtime.
void ToStat(const Napi::CallbackInfo& info, size_t first, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = static_cast<ino_t>(Num(info, first));
  st->st_mode = static_cast<mode_t>(Num(info, first + 1));
  st->st_nlink = static_cast<nlink_t>(Num(info, first + 2));
  st->st_uid = static_cast<uid_t>(Num(info, first + 3));
  st->st_gid = static_cast<gid_t>(Num(info, first + 4));
  st->st_size = static_cast<off_t>(Num(info, first + 5));
  st->st_blocks = static_cast<blkcnt_t>(Num(info, first + 6));
  time_t t = static_cast<time_t>(Num(info, first + 7));
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

// The entry of replyEntry/replyCreate from (id, 8 attribute numbers, timeoutSec, ...).
fuse_entry_param EntryParam(const Napi::CallbackInfo& info) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  ToStat(info, 1, &e.attr);
  e.ino = e.attr.st_ino;
  e.attr_timeout = Num(info, 9);
  e.entry_timeout = e.attr_timeout;
  return e;
}

// replyEntry(id, ino, mode, nlink, uid, gid, size, blocks, mtime, timeoutSec)
Napi::Value ReplyEntry(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_entry_param e = EntryParam(info);
  return Result(info, fuse_reply_entry(req, &e));
}

// replyCreate(id, ino, mode, nlink, uid, gid, size, blocks, mtime, timeoutSec, fh)
Napi::Value ReplyCreate(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_entry_param e = EntryParam(info);
  fuse_file_info fi;
  std::memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(Num(info, 10));
  fi.direct_io = 1;
  fi.keep_cache = 0;
  return Result(info, fuse_reply_create(req, &e, &fi));
}

// replyAttr(id, ino, mode, nlink, uid, gid, size, blocks, mtime, timeoutSec)
Napi::Value ReplyAttr(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  struct stat st;
  ToStat(info, 1, &st);
  return Result(info, fuse_reply_attr(req, &st, Num(info, 9)));
}

// replyOpen(id, fh, directIo)
Napi::Value ReplyOpen(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  fuse_file_info fi;
  std::memset(&fi, 0, sizeof fi);
  fi.fh = static_cast<uint64_t>(Num(info, 1));
  fi.direct_io = info[2].As<Napi::Boolean>().Value() ? 1 : 0;
  fi.keep_cache = 0;
  return Result(info, fuse_reply_open(req, &fi));
}

// replyBuf(id, buffer): written to the device straight from the Buffer (no copy)
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
  return Result(info, fuse_reply_write(req, static_cast<size_t>(Num(info, 1))));
}

// replyReadlink(id, buffer)
Napi::Value ReplyReadlink(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto b = info[1].As<Napi::Buffer<char>>();
  std::string s(b.Data(), b.Length());
  return Result(info, fuse_reply_readlink(req, s.c_str()));
}

// replyStatfs(id, bsize, frsize, blocks, bfree, bavail, files, ffree, namemax)
Napi::Value ReplyStatfs(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  struct statvfs sv;
  std::memset(&sv, 0, sizeof sv);
  sv.f_bsize = static_cast<unsigned long>(Num(info, 1));
  sv.f_frsize = static_cast<unsigned long>(Num(info, 2));
  sv.f_blocks = static_cast<fsblkcnt_t>(Num(info, 3));
  sv.f_bfree = static_cast<fsblkcnt_t>(Num(info, 4));
  sv.f_bavail = static_cast<fsblkcnt_t>(Num(info, 5));
  sv.f_files = static_cast<fsfilcnt_t>(Num(info, 6));
  sv.f_ffree = static_cast<fsfilcnt_t>(Num(info, 7));
  sv.f_namemax = static_cast<unsigned long>(Num(info, 8));
  return Result(info, fuse_reply_statfs(req, &sv));
}

// replyDir(id, names: Buffer[], types: number[] (st_mode type bits), offset, size):
// entries from index `offset` on; the offset of entry i is i + 1; d_ino unknown.
Napi::Value ReplyDir(const Napi::CallbackInfo& info) {
  fuse_req_t req = Take(info);
  if (req == nullptr) return Result(info, -ENOENT);
  auto names = info[1].As<Napi::Array>();
  auto types = info[2].As<Napi::Array>();
  size_t off = static_cast<size_t>(Num(info, 3));
  size_t size = static_cast<size_t>(Num(info, 4));
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

// A new session for mountpoint with options; nullptr (and a pending JS error) on failure.
Session* NewSession(Napi::Env env, const std::string& mountpoint, std::string opts) {
  auto* s = new Session();
  s->env = env;
  s->mountpoint = mountpoint;
  std::string prog = "pmxcfs", dashO = "-o";
  char* argv[] = {prog.data(), dashO.data(), opts.data()};
  fuse_args args = FUSE_ARGS_INIT(3, argv);
  s->se = fuse_session_new(&args, &kOps, sizeof kOps, s);
  fuse_opt_free_args(&args);
  if (s->se == nullptr) {
    delete s;
    Napi::Error::New(env, "fuse_session_new failed").ThrowAsJavaScriptException();
    return nullptr;
  }
  if (fuse_session_mount(s->se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(s->se);
    delete s;
    Napi::Error::New(env, "fuse_session_mount failed for " + mountpoint).ThrowAsJavaScriptException();
    return nullptr;
  }
  return s;
}

// Watch the session fd on the loop of env; false when libuv refuses it.
bool StartPolling(Session* s) {
  int fd = fuse_session_fd(s->se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(s->env, &loop);
  s->poll.data = s;
  if (uv_poll_init(loop, &s->poll, fd) != 0) return false;
  s->pollInit = true;
  s->polling = uv_poll_start(&s->poll, UV_READABLE, OnReadable) == 0;
  return s->polling;
}

// mount(mountpoint, options, handler, nums: Float64Array(S_COUNT), data: Buffer(MAX_WRITE))
// -> handle; throws on failure.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsFunction() || !info[3].IsTypedArray() ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info[3].As<Napi::Float64Array>().ElementLength() < S_COUNT ||
      !info[4].IsBuffer() || info[4].As<Napi::Buffer<char>>().Length() < kMaxWrite) {
    Napi::TypeError::New(env, "mount(mountpoint, options, handler, nums: Float64Array, data: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Session* s = NewSession(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
  if (s == nullptr) return env.Undefined();
  s->handler = Napi::Persistent(info[2].As<Napi::Function>());
  s->numsRef = Napi::Persistent(info[3].As<Napi::Object>());
  s->nums = info[3].As<Napi::Float64Array>().Data();
  s->dataRef = Napi::Persistent(info[4].As<Napi::Object>());
  s->data = info[4].As<Napi::Buffer<char>>().Data();
  napi_async_init(env, info[2], Napi::String::New(env, "pmxcfs-fuse"), &s->actx);
  s->handle = nextHandle++;
  if (!StartPolling(s)) {
    Release(s);
    Napi::Error::New(env, "uv_poll on the FUSE device failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sessions[s->handle] = s;
  return Napi::Number::New(env, s->handle);
}

Session* Get(const Napi::CallbackInfo& info) {
  auto it = sessions.find(info[0].As<Napi::Number>().Int32Value());
  return it == sessions.end() ? nullptr : it->second;
}

// stop(handle): detach the mount (lazy, as libfuse 2's fuse_unmount). Requests still
// coming (files held open) are served until the kernel connection ends; the watch no
// longer keeps the process alive.
Napi::Value Stop(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  if (s == nullptr) return info.Env().Undefined();
  s->stopping = true;
  if (s->polling) uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  int r = umount2(s->mountpoint.c_str(), MNT_DETACH);
  return Napi::Number::New(info.Env(), r == 0 ? 0 : -errno);
}

Napi::Value Done(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  return Napi::Boolean::New(info.Env(), s == nullptr || s->done);
}

// destroy(handle) -> whether the connection had ended by itself. Every request still
// pending is answered (EIO; forget: none) before the session is freed; a reply
// arriving later for one of its ids finds no session and is dropped.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  if (s == nullptr) return info.Env().Undefined();
  bool clean = s->done;
  for (auto& [seq, p] : s->pending) {
    if (p.none) fuse_reply_none(p.req);
    else fuse_reply_err(p.req, EIO);
  }
  s->pending.clear();
  sessions.erase(s->handle);
  s->destroyed = true;
  if (!s->inCallback) Release(s);  // else OnReadable releases it when the batch ends
  return Napi::Boolean::New(info.Env(), clean);
}

// pendingCount(handle) -> requests handed to JS and not yet answered.
Napi::Value PendingCount(const Napi::CallbackInfo& info) {
  Session* s = Get(info);
  return Napi::Number::New(info.Env(), s == nullptr ? 0 : static_cast<double>(s->pending.size()));
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
  exports.Set("pendingCount", Napi::Function::New(env, PendingCount));
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
  exports.Set("SLOTS", Napi::Number::New(env, S_COUNT));
  exports.Set("MAX_WRITE", Napi::Number::New(env, static_cast<double>(kMaxWrite)));
  return exports;
}

}  // namespace

NODE_API_MODULE(fuse, Init)
