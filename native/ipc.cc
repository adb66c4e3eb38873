// libqb IPC for the `pve2` service: the server (qb_ipcs_*, QB_IPC_SHM) with libqb's
// poll hooks driven by libuv on Node's main loop (no extra thread), and the blocking
// client (qb_ipcc_*) used by the CLI, tests and bench. No policy here: requests go to
// a JavaScript handler, which returns the reply (src/ipc/server.ts).
//
// | here              | C (server.c)                                         |
// |-------------------|------------------------------------------------------|
// | DispatchAdd/Mod/Del, JobAdd | my_dispatch_add / _mod / _del, my_job_add  |
// | OnAccept          | s1_connection_accept_fn (decision made in JS)        |
// | OnMsg             | s1_msg_process_fn (reply built from JS's answer)     |
// | OnDestroyed       | s1_connection_destroyed_fn                           |
// | ServerStart/Stop  | server_start / server_stop                           |
#include <napi.h>
#include <uv.h>
#include <qb/qbdefs.h>
#include <qb/qbipcc.h>
#include <qb/qbipcs.h>
#include <poll.h>
#include <sys/uio.h>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

namespace {

// ---- libqb poll hooks on libuv ----------------------------------------------------
// libqb's hooks carry no context pointer, so there is one hook table per process; one
// server per process, as in C.

struct PollEntry {
  uv_poll_t handle;
  int32_t fd;
  void* data;
  qb_ipcs_dispatch_fn_t fn;
  bool deleted;
};

uv_loop_t* g_loop = nullptr;
std::unordered_map<int32_t, PollEntry*> g_polls;
std::deque<std::pair<qb_loop_job_dispatch_fn, void*>> g_jobs;
uv_idle_t g_idle;
bool g_idle_init = false;

int UvEvents(int32_t events) {
  int r = UV_DISCONNECT;
  if (events & (POLLIN | POLLPRI)) r |= UV_READABLE;
  if (events & POLLOUT) r |= UV_WRITABLE;
  return r;
}

void DeleteEntry(PollEntry* e) {
  e->deleted = true;
  auto it = g_polls.find(e->fd);
  if (it != g_polls.end() && it->second == e) g_polls.erase(it);
  uv_close(reinterpret_cast<uv_handle_t*>(&e->handle), [](uv_handle_t* h) { delete static_cast<PollEntry*>(h->data); });
}

void OnPollEvent(PollEntry* e, int status, int events);

void OnPoll(uv_poll_t* h, int status, int events) {
  auto* e = static_cast<PollEntry*>(h->data);
  if (!e->deleted) OnPollEvent(e, status, events);
}

int32_t DispatchAdd(enum qb_loop_priority, int32_t fd, int32_t events, void* data, qb_ipcs_dispatch_fn_t fn) {
  if (g_polls.count(fd) != 0) return -EEXIST;
  auto* e = new PollEntry{};
  e->fd = fd;
  e->data = data;
  e->fn = fn;
  e->handle.data = e;
  int r = uv_poll_init(g_loop, &e->handle, fd);
  if (r != 0) {
    delete e;
    return r;
  }
  g_polls[fd] = e;
  r = uv_poll_start(&e->handle, UvEvents(events), OnPoll);
  if (r != 0) DeleteEntry(e);
  return r;
}

int32_t DispatchMod(enum qb_loop_priority, int32_t fd, int32_t events, void* data, qb_ipcs_dispatch_fn_t fn) {
  auto it = g_polls.find(fd);
  if (it == g_polls.end()) return -ENOENT;
  it->second->data = data;
  it->second->fn = fn;
  return uv_poll_start(&it->second->handle, UvEvents(events), OnPoll);
}

int32_t DispatchDel(int32_t fd) {
  auto it = g_polls.find(fd);
  if (it == g_polls.end()) return -ENOENT;
  DeleteEntry(it->second);
  return 0;
}

napi_env ServerEnv();

void OnIdle(uv_idle_t*) {
  // Jobs may end connections, which calls into JS (the closed handler).
  std::optional<Napi::HandleScope> hs;
  if (napi_env e = ServerEnv()) hs.emplace(Napi::Env(e));
  std::deque<std::pair<qb_loop_job_dispatch_fn, void*>> now;
  now.swap(g_jobs);
  for (auto& j : now) j.first(j.second);
  if (g_jobs.empty()) uv_idle_stop(&g_idle);
}

int32_t JobAdd(enum qb_loop_priority, void* data, qb_loop_job_dispatch_fn fn) {
  g_jobs.emplace_back(fn, data);
  uv_idle_start(&g_idle, OnIdle);
  return 0;
}

qb_ipcs_poll_handlers g_poll_handlers = {JobAdd, DispatchAdd, DispatchMod, DispatchDel};

// ---- server ------------------------------------------------------------------------

// Per-connection context (server.c: struct s1_context); the access decision is JS's.
struct Conn {
  uid_t uid;
  gid_t gid;
  int32_t pid;
  bool dropping;  // a reply failed: disconnect scheduled, further requests ignored
  bool closed;    // libqb ran connection_closed (it disconnected by itself)
};

struct Server {
  qb_ipcs_service_t* service = nullptr;
  Napi::Env env;
  Napi::FunctionReference accept;   // (uid, gid, pid) => 0 | code (C rejects with 1)
  Napi::FunctionReference request;  // (uid, gid, pid, request) => Buffer | negative errno
  Napi::FunctionReference failed;   // (pid, negative errno): reply could not be sent
  Napi::FunctionReference closed;   // (pid): an accepted connection is gone
  Napi::AsyncContext* context = nullptr;
  bool in_dispatch = false;
  explicit Server(Napi::Env e) : env(e) {}
};

Server* g_server = nullptr;

napi_env ServerEnv() { return g_server == nullptr ? nullptr : static_cast<napi_env>(g_server->env); }

void ReportException(Napi::Env env) {
  if (env.IsExceptionPending()) {
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

void OnPollEvent(PollEntry* e, int status, int events) {
  int32_t revents = 0;
  if (status < 0) {
    revents = POLLERR | POLLHUP;
  } else {
    if (events & UV_READABLE) revents |= POLLIN;
    if (events & UV_WRITABLE) revents |= POLLOUT;
    if (events & UV_DISCONNECT) revents |= POLLHUP;
  }
  // Microtasks queued by the JS handlers run when this scope closes, after libqb is
  // out of its dispatch (so JS never re-enters libqb from inside it).
  Server* s = g_server;
  if (s == nullptr) {
    if (e->fn(e->fd, revents, e->data) < 0 && !e->deleted) DeleteEntry(e);
    return;
  }
  Napi::HandleScope hs(s->env);
  Napi::CallbackScope cs(s->env, *s->context);
  s->in_dispatch = true;
  int32_t r = e->fn(e->fd, revents, e->data);
  s->in_dispatch = false;
  // qb_loop semantics: a negative result removes the poll entry.
  if (r < 0 && !e->deleted) DeleteEntry(e);
}

int32_t OnAccept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid) {
  Server* s = g_server;
  if (s == nullptr) return 1;
  struct qb_ipcs_connection_stats stats;
  qb_ipcs_connection_stats_get(c, &stats, QB_FALSE);
  Napi::Value v = s->accept.Call({Napi::Number::New(s->env, uid), Napi::Number::New(s->env, gid), Napi::Number::New(s->env, stats.client_pid)});
  if (v.IsEmpty() || !v.IsNumber()) {
    ReportException(s->env);
    return 1;
  }
  int32_t code = v.As<Napi::Number>().Int32Value();
  if (code != 0) return code;
  qb_ipcs_context_set(c, new Conn{uid, gid, stats.client_pid, false, false});
  return 0;
}

void OnDestroyed(qb_ipcs_connection_t* c) {
  auto* k = static_cast<Conn*>(qb_ipcs_context_get(c));
  qb_ipcs_context_set(c, nullptr);
  if (k == nullptr) return;
  Server* s = g_server;
  if (s != nullptr) {
    s->closed.Call({Napi::Number::New(s->env, k->pid)});
    ReportException(s->env);
  }
  delete k;
}

// The request bytes handed to JS: the header's size when it is plausible (libqb 2.0.6
// passes it unchecked), else the header alone, so the handler sees the mismatch. Bytes
// up to the negotiated buffer size stay inside libqb's doubly mapped ring.
size_t RequestLength(qb_ipcs_connection_t* c, const qb_ipc_request_header* hdr) {
  int32_t limit = qb_ipcs_connection_get_buffer_size(c);
  if (hdr->size >= static_cast<int32_t>(sizeof(*hdr)) && hdr->size <= limit) return static_cast<size_t>(hdr->size);
  return sizeof(*hdr);
}

// C calls qb_ipcs_disconnect inside msg_process. That frees the connection while libqb
// 2.0.6's qb_ipcs_dispatch_connection_request goes on using it for the queued requests
// (use after free; here it ended in qb_ipcs_connection_unref's assertion). So the
// disconnect runs as a job after the dispatch, holding a reference until then.
void DropJob(void* data) {
  auto* c = static_cast<qb_ipcs_connection_t*>(data);
  auto* k = static_cast<Conn*>(qb_ipcs_context_get(c));
  if (k != nullptr && !k->closed) qb_ipcs_disconnect(c);
  qb_ipcs_connection_unref(c);
}

void SendReply(qb_ipcs_connection_t* c, Conn* k, int32_t id, Napi::Value v) {
  Server* s = g_server;
  qb_ipc_response_header res{};
  res.id = id;
  res.error = -EIO;
  struct iovec iov[2] = {{&res, sizeof(res)}, {nullptr, 0}};
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    res.error = 0;
    iov[1] = {b.Data(), b.Length()};
  } else if (v.IsNumber()) {
    res.error = v.As<Napi::Number>().Int32Value();
  }
  res.size = static_cast<int32_t>(sizeof(res) + iov[1].iov_len);
  ssize_t r = qb_ipcs_response_sendv(c, iov, 2);
  if (r < 0) {
    s->failed.Call({Napi::Number::New(s->env, k->pid), Napi::Number::New(s->env, static_cast<double>(r))});
    ReportException(s->env);
    k->dropping = true;
    qb_ipcs_connection_ref(c);
    JobAdd(QB_LOOP_LOW, c, DropJob);
  }
}

int32_t OnMsg(qb_ipcs_connection_t* c, void* data, size_t) {
  Server* s = g_server;
  auto* k = static_cast<Conn*>(qb_ipcs_context_get(c));
  if (k == nullptr || k->dropping) return 0;
  auto* hdr = static_cast<qb_ipc_request_header*>(data);
  Napi::Buffer<char> req = Napi::Buffer<char>::Copy(s->env, static_cast<char*>(data), RequestLength(c, hdr));
  Napi::Env env = s->env;
  Napi::Value v = s->request.Call({Napi::Number::New(env, k->uid), Napi::Number::New(env, k->gid), Napi::Number::New(env, k->pid), req});
  if (v.IsEmpty()) ReportException(s->env);
  SendReply(c, k, hdr->id, v.IsEmpty() ? s->env.Undefined() : v);
  return 0;
}

int32_t OnClosed(qb_ipcs_connection_t* c) {
  auto* k = static_cast<Conn*>(qb_ipcs_context_get(c));
  if (k != nullptr) k->closed = true;
  return 0;
}

qb_ipcs_service_handlers g_service_handlers = {OnAccept, nullptr, OnMsg, OnClosed, OnDestroyed};

void EnsureLoop(Napi::Env env) {
  if (g_loop != nullptr) return;
  napi_get_uv_event_loop(env, &g_loop);
  uv_idle_init(g_loop, &g_idle);
  g_idle_init = true;
}

// serverStart(name, serviceId, {accept, request, failed, closed}) => 0 | -errno
Napi::Value ServerStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsObject()) {
    Napi::TypeError::New(env, "serverStart(name, serviceId, handlers)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (g_server != nullptr) return Napi::Number::New(env, -EBUSY);
  Napi::Object h = info[2].As<Napi::Object>();
  for (const char* k : {"accept", "request", "failed", "closed"}) {
    if (!h.Get(k).IsFunction()) {
      Napi::TypeError::New(env, std::string("handlers.") + k + " must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  EnsureLoop(env);
  auto* s = new Server(env);
  s->accept = Napi::Persistent(h.Get("accept").As<Napi::Function>());
  s->request = Napi::Persistent(h.Get("request").As<Napi::Function>());
  s->failed = Napi::Persistent(h.Get("failed").As<Napi::Function>());
  s->closed = Napi::Persistent(h.Get("closed").As<Napi::Function>());
  s->context = new Napi::AsyncContext(env, "pve2-ipc");
  std::string name = info[0].As<Napi::String>();
  s->service = qb_ipcs_create(name.c_str(), info[1].As<Napi::Number>().Int32Value(), QB_IPC_SHM, &g_service_handlers);
  if (s->service == nullptr) {
    int err = errno;
    delete s->context;
    delete s;
    return Napi::Number::New(env, -(err != 0 ? err : EINVAL));
  }
  qb_ipcs_poll_handlers_set(s->service, &g_poll_handlers);
  g_server = s;
  int32_t r = qb_ipcs_run(s->service);
  if (r < 0) {
    qb_ipcs_destroy(s->service);
    g_server = nullptr;
    delete s->context;
    delete s;
  }
  return Napi::Number::New(env, r < 0 ? r : 0);
}

// serverStop(): disconnect every client (shm files removed), withdraw the socket.
Napi::Value ServerStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Server* s = g_server;
  if (s == nullptr) return Napi::Boolean::New(env, false);
  if (s->in_dispatch) {
    Napi::Error::New(env, "serverStop called from inside an IPC request").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Pending jobs (scheduled disconnects) hold connection references: run them first.
  while (!g_jobs.empty()) OnIdle(&g_idle);
  qb_ipcs_destroy(s->service);
  while (!g_jobs.empty()) OnIdle(&g_idle);
  if (g_idle_init) uv_idle_stop(&g_idle);
  g_server = nullptr;
  delete s->context;
  delete s;
  return Napi::Boolean::New(env, true);
}

// serverStats() => {active, closed, polls}: for leak checks in tests.
Napi::Value ServerStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("polls", static_cast<double>(g_polls.size()));
  if (g_server != nullptr) {
    struct qb_ipcs_stats st;
    qb_ipcs_stats_get(g_server->service, &st, QB_FALSE);
    o.Set("active", st.active_connections);
    o.Set("closed", st.closed_connections);
  }
  return o;
}

// ---- client ------------------------------------------------------------------------

struct Client {
  qb_ipcc_connection_t* conn;
};

Client* ClientArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) return nullptr;
  auto* k = info[0].As<Napi::External<Client>>().Data();
  return k->conn == nullptr ? nullptr : k;
}

// connect(name, maxMessageSize) => External | errno as libqb left it (−1 when rejected)
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "connect(name, maxMessageSize)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>();
  errno = 0;
  qb_ipcc_connection_t* c = qb_ipcc_connect(name.c_str(), info[1].As<Napi::Number>().Int64Value());
  if (c == nullptr) return Napi::Number::New(env, errno);
  return Napi::External<Client>::New(env, new Client{c}, [](Napi::Env, Client* k) {
    if (k->conn != nullptr) qb_ipcc_disconnect(k->conn);
    delete k;
  });
}

Napi::Value Disconnect(const Napi::CallbackInfo& info) {
  Client* k = ClientArg(info);
  if (k != nullptr) {
    qb_ipcc_disconnect(k->conn);
    k->conn = nullptr;
  }
  return info.Env().Undefined();
}

Napi::Value ResponseOrError(Napi::Env env, const std::vector<char>& buf, ssize_t r) {
  if (r < 0) return Napi::Number::New(env, static_cast<double>(r));
  return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(r));
}

// sendRecv(client, request, timeoutMs) => response bytes (header included) | -errno
Napi::Value SendRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Client* k = ClientArg(info);
  if (k == nullptr || !info[1].IsBuffer() || !info[2].IsNumber()) return Napi::Number::New(env, -ENOTCONN);
  auto req = info[1].As<Napi::Buffer<char>>();
  std::vector<char> buf(static_cast<size_t>(qb_ipcc_get_buffer_size(k->conn)));
  struct iovec iov = {req.Data(), req.Length()};
  ssize_t r = qb_ipcc_sendv_recv(k->conn, &iov, 1, buf.data(), buf.size(), info[2].As<Napi::Number>().Int32Value());
  return ResponseOrError(env, buf, r);
}

// send(client, request) => bytes sent | -errno (no wait for the reply)
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Client* k = ClientArg(info);
  if (k == nullptr || !info[1].IsBuffer()) return Napi::Number::New(env, -ENOTCONN);
  auto req = info[1].As<Napi::Buffer<char>>();
  return Napi::Number::New(env, static_cast<double>(qb_ipcc_send(k->conn, req.Data(), req.Length())));
}

// recv(client, timeoutMs) => response bytes | -errno
Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Client* k = ClientArg(info);
  if (k == nullptr || !info[1].IsNumber()) return Napi::Number::New(env, -ENOTCONN);
  std::vector<char> buf(static_cast<size_t>(qb_ipcc_get_buffer_size(k->conn)));
  ssize_t r = qb_ipcc_recv(k->conn, buf.data(), buf.size(), info[1].As<Napi::Number>().Int32Value());
  return ResponseOrError(env, buf, r);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("serverStart", Napi::Function::New(env, ServerStart));
  exports.Set("serverStop", Napi::Function::New(env, ServerStop));
  exports.Set("serverStats", Napi::Function::New(env, ServerStats));
  exports.Set("connect", Napi::Function::New(env, Connect));
  exports.Set("disconnect", Napi::Function::New(env, Disconnect));
  exports.Set("sendRecv", Napi::Function::New(env, SendRecv));
  exports.Set("send", Napi::Function::New(env, Send));
  exports.Set("recv", Napi::Function::New(env, Recv));
  return exports;
}

}  // namespace

NODE_API_MODULE(ipc, Init)
