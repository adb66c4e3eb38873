// N-API binding for corosync's libcpg, libquorum and libcmap.
//
// Deliberately free of policy: every call returns the cs_error_t code (or an object
// carrying it) and TypeScript decides what to do. Rules kept here:
//
// * Each library fd is watched with a uv_poll on the main loop; when readable we call
//   *_dispatch(CS_DISPATCH_ALL). No extra threads.
// * Library callbacks only queue plain C++ values. JavaScript is called after the
//   dispatch call has returned (never inside a library frame), so JS may call back
//   into the library (send, leave, finalize) from its handlers.
// * The poll is stopped before *_finalize (which closes the fd) and on any dispatch
//   error: a dead corosync leaves the fd level-triggered readable (hang-up) and an
//   unstopped poll spins at 100% CPU. The error is reported to JS as `error(code)`.
// * While a poll is active the JS object is referenced (not collectable).

#include <napi.h>
#include <uv.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------
// Common poll/dispatch/flush machinery.

// One queued event: a closure that builds JS arguments and calls a JS function.
using Event = std::function<void(Napi::Env)>;

template <typename T>
class Service : public Napi::ObjectWrap<T> {
 public:
  explicit Service(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "expected a callbacks object").ThrowAsJavaScriptException();
      return;
    }
    callbacks_ = Napi::Persistent(info[0].As<Napi::Object>());
    async_ = std::make_unique<Napi::AsyncContext>(env, T::kResourceName);
  }

  ~Service() override { StopPoll(false); }

 protected:
  // Subclass: call *_dispatch(CS_DISPATCH_ALL) and return its code.
  virtual cs_error_t DispatchAll() = 0;

  // One turn's dispatch; *more = events may be left in the library (dispatched again
  // from an idle handle on the next loop turn, so other handles — /dev/fuse — are
  // served between).
  virtual cs_error_t Dispatch(bool* more) {
    *more = false;
    return DispatchAll();
  }

  // Events handed to JavaScript per loop turn (the rest wait for the idle handle).
  virtual size_t EmitBatch() const { return SIZE_MAX; }

  // Start watching fd. Returns false (and leaves nothing running) on failure.
  bool StartPoll(Napi::Env env, int fd) {
    StopPoll(true);
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return false;
    auto* p = new uv_poll_t;
    if (uv_poll_init(loop, p, fd) != 0) {
      delete p;
      return false;
    }
    p->data = this;
    if (uv_poll_start(p, UV_READABLE, &Service::OnPoll) != 0) {
      p->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(p), &Service::OnClosed);
      return false;
    }
    poll_ = p;
    idle_ = new uv_idle_t;
    uv_idle_init(loop, idle_);
    idle_->data = this;
    if (!referenced_) {
      this->Ref();
      referenced_ = true;
    }
    env_ = env;
    return true;
  }

  // Stop watching (synchronously removes the fd from epoll; memory freed later).
  void StopPoll(bool unref) {
    paused_ = false;
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), &Service::OnClosed);
      poll_ = nullptr;
    }
    if (idle_ != nullptr) {
      uv_idle_stop(idle_);
      idle_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(idle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
      idle_ = nullptr;
    }
    if (unref && referenced_) {
      referenced_ = false;
      this->Unref();
    }
  }

  // Stop reading without closing the watcher; ResumePoll watches again (a readable fd
  // is then reported at once: the poll is level-triggered).
  void PausePoll() {
    if (poll_ != nullptr && !paused_) {
      uv_poll_stop(poll_);
      paused_ = true;
    }
  }

  void ResumePoll() {
    if (poll_ != nullptr && paused_) {
      paused_ = false;
      uv_poll_start(poll_, UV_READABLE, &Service::OnPoll);
    }
  }

  // Drop queued events and bump the generation so a running flush stops.
  void DiscardEvents() {
    pending_.clear();
    ++generation_;
  }

  void Queue(Event e) { pending_.push_back(std::move(e)); }

  // Call callbacks_[name](...args) as a proper top-level callback (microtasks and
  // nextTicks run afterwards); an exception becomes an uncaught exception.
  void Emit(Napi::Env env, const char* name, const std::vector<napi_value>& args) {
    Napi::Value fn = Callback(name);
    if (!fn.IsFunction()) return;
    napi_value result;
    napi_status s = napi_make_callback(env, *async_, callbacks_.Value(), fn, args.size(),
                                       args.data(), &result);
    if (s != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
  }

  bool polling() const { return poll_ != nullptr; }

  // The env of the running dispatch (valid inside the library callbacks).
  napi_env env() const { return env_; }

  Napi::ObjectReference callbacks_;

 private:
  static void OnClosed(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  // callbacks_[name], looked up once: a property read by name builds and interns the
  // key string each time, which showed in the per-delivery profile.
  Napi::Value Callback(const char* name) {
    auto it = fns_.find(name);
    if (it == fns_.end()) {
      Napi::Value v = callbacks_.Value().Get(name);
      it = fns_.emplace(name, v.IsFunction() ? Napi::Persistent(v.As<Napi::Function>()) : Napi::FunctionReference()).first;
    }
    return it->second.IsEmpty() ? Napi::Value() : it->second.Value();
  }

  static void OnPoll(uv_poll_t* h, int status, int /*events*/) {
    auto* self = static_cast<Service*>(h->data);
    if (self == nullptr) return;
    self->HandleReadable(status);
  }

  static void OnIdle(uv_idle_t* h) {
    auto* self = static_cast<Service*>(h->data);
    if (self == nullptr) return;
    uv_idle_stop(h);
    self->HandleReadable(0);
  }

  void HandleReadable(int status) {
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    cs_error_t err = CS_OK;
    bool more = false;
    if (status < 0) {
      err = CS_ERR_LIBRARY;
    } else {
      err = Dispatch(&more);
    }
    if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
      // Stop first: the hang-up is level-triggered. Keep our reference until the
      // events are flushed (JS may drop the last reference in the error handler).
      StopPoll(false);
      const int code = static_cast<int>(err);
      Queue([this, code](Napi::Env e) {
        Emit(e, "error", {Napi::Number::New(e, code)});
      });
    }
    // A stopped poll gets no idle turn: everything queued goes now.
    Flush(env, polling() ? EmitBatch() : SIZE_MAX);
    if ((more || !pending_.empty()) && idle_ != nullptr) uv_idle_start(idle_, &Service::OnIdle);
    if (poll_ == nullptr && referenced_) {
      referenced_ = false;
      this->Unref();
    }
  }

  // Emit up to `limit` queued events in order; a handler that finalizes discards the rest.
  void Flush(Napi::Env env, size_t limit) {
    const uint64_t gen = generation_;
    for (size_t n = 0; n < limit && !pending_.empty() && generation_ == gen; n++) {
      Event e = std::move(pending_.front());
      pending_.pop_front();
      Napi::HandleScope scope(env);
      e(env);
    }
  }

  uv_poll_t* poll_ = nullptr;
  uv_idle_t* idle_ = nullptr;
  bool paused_ = false;  // poll_ stopped by PausePoll
  bool referenced_ = false;
  napi_env env_ = nullptr;
  std::deque<Event> pending_;
  std::unordered_map<const char*, Napi::FunctionReference> fns_;
  uint64_t generation_ = 0;
  std::unique_ptr<Napi::AsyncContext> async_;
};

Napi::Object ErrResult(Napi::Env env, cs_error_t err) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("err", Napi::Number::New(env, static_cast<int>(err)));
  return o;
}

Napi::Array NodeidArray(Napi::Env env, const std::vector<uint32_t>& ids) {
  Napi::Array a = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ids[i]));
  return a;
}

// ---------------------------------------------------------------------------------
// CPG

struct CpgAddr {
  uint32_t nodeid, pid, reason;
};

Napi::Array AddrArray(Napi::Env env, const std::vector<CpgAddr>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("nodeid", Napi::Number::New(env, v[i].nodeid));
    o.Set("pid", Napi::Number::New(env, v[i].pid));
    o.Set("reason", Napi::Number::New(env, v[i].reason));
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

std::vector<CpgAddr> CopyAddrs(const struct cpg_address* list, size_t n) {
  std::vector<CpgAddr> v;
  v.reserve(n);
  for (size_t i = 0; i < n; i++) v.push_back({list[i].nodeid, list[i].pid, list[i].reason});
  return v;
}

// Fill a cpg_name from a Buffer holding the exact bytes (the caller includes the NUL).
bool GroupName(const Napi::Value& v, struct cpg_name* name) {
  if (!v.IsBuffer()) return false;
  auto b = v.As<Napi::Buffer<char>>();
  if (b.Length() > CPG_MAX_NAME_LENGTH) return false;
  std::memset(name, 0, sizeof(*name));
  std::memcpy(name->value, b.Data(), b.Length());
  name->length = static_cast<uint32_t>(b.Length());
  return true;
}

// ---------------------------------------------------------------------------------
// Background sender: C's leader multicasts the full copy from its CPG thread
// (dcdb_process_state_update → dfsm_send_update → dfsm_send_message_full, which
// retries CS_ERR_TRY_AGAIN), so its FUSE threads keep answering meanwhile. Here one
// thread owns a FIFO of encoded messages and sends them in order; the JS side routes
// every later message of the group behind it while it is busy, so the wire order is
// the order of the sends. libcpg's request channel is used by one thread at a time:
// either this thread (queue busy) or the JS thread (queue idle), never both.

class Sender {
 public:
  // notify runs on the loop thread after the queue went idle or failed.
  Sender(cpg_handle_t handle, uv_loop_t* loop, void* owner, uv_async_cb notify) : handle_(handle) {
    async_ = new uv_async_t;
    uv_async_init(loop, async_, notify);
    async_->data = owner;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    thread_ = std::thread([this] { Run(); });
  }

  ~Sender() { Stop(); }

  // One lock and one wake-up per batch: a wake-up per message costs the loop thread a
  // context switch per UPDATE on a busy machine.
  void Push(std::vector<std::vector<char>> msgs, uint32_t retryMs) {
    std::lock_guard<std::mutex> l(m_);
    retryMs_ = retryMs;
    for (auto& m : msgs) q_.push_back(std::move(m));
    cv_.notify_one();
  }

  // Messages queued or being sent; 0 = the thread is idle.
  size_t Pending() {
    std::lock_guard<std::mutex> l(m_);
    return q_.size();
  }

  // The code that stopped the thread (CS_OK while it runs).
  cs_error_t Failed() {
    std::lock_guard<std::mutex> l(m_);
    return failed_;
  }

 private:
  // Join the thread (an in-flight send completes), drop the rest, close the async.
  void Stop() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    q_.clear();
    async_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    async_ = nullptr;
  }

  void Run() {
    // A little below the loop thread, so the FUSE requests it serves go first on a busy
    // machine (Linux: a thread's nice value is its own). 6k copy with the senders' stat
    // probe, medians of 6–12 interleaved runs: nice 10 2.90 s, p99 33 ms; nice 5 2.41 s,
    // 29 ms; nice 0 2.23 s, 39 ms.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kSenderNice);
    pthread_setname_np(pthread_self(), "cpg-send");  // its own line in /proc/PID/task
    std::unique_lock<std::mutex> l(m_);
    for (;;) {
      cv_.wait(l, [this] { return stop_ || (!q_.empty() && failed_ == CS_OK); });
      if (stop_) return;
      std::vector<char>& msg = q_.front();  // only this thread pops: stays valid
      l.unlock();
      cs_error_t err = Send(msg);
      l.lock();
      if (err == CS_OK) {
        q_.pop_front();
        if (q_.empty()) uv_async_send(async_);
      } else if (!stop_) {
        failed_ = err;
        q_.clear();
        uv_async_send(async_);
      }
    }
  }

  // cpg_mcast_joined(AGREED), TRY_AGAIN retried every retryMs until stopped.
  cs_error_t Send(std::vector<char>& msg) {
    struct iovec iov = {msg.data(), msg.size()};
    cs_error_t err = cpg_mcast_joined(handle_, CPG_TYPE_AGREED, &iov, 1);
    while (err == CS_ERR_TRY_AGAIN) {
      std::unique_lock<std::mutex> l(m_);
      if (cv_.wait_for(l, std::chrono::milliseconds(retryMs_), [this] { return stop_; })) return err;
      l.unlock();
      err = cpg_mcast_joined(handle_, CPG_TYPE_AGREED, &iov, 1);
    }
    return err;
  }

  static constexpr int kSenderNice = 5;
  const cpg_handle_t handle_;
  uv_async_t* async_ = nullptr;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::vector<char>> q_;
  uint32_t retryMs_ = 10;
  bool stop_ = false;
  cs_error_t failed_ = CS_OK;
};

class Cpg : public Service<Cpg> {
 public:
  static constexpr const char* kResourceName = "corosync.Cpg";

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Cpg",
                       {
                           InstanceMethod("initialize", &Cpg::Initialize),
                           InstanceMethod("join", &Cpg::Join),
                           InstanceMethod("leave", &Cpg::Leave),
                           InstanceMethod("mcastJoined", &Cpg::McastJoined),
                           InstanceMethod("sendQueued", &Cpg::SendQueued),
                           InstanceMethod("sendQueueLength", &Cpg::SendQueueLength),
                           InstanceMethod("localGet", &Cpg::LocalGet),
                           InstanceMethod("membershipGet", &Cpg::MembershipGet),
                           InstanceMethod("maxAtomicMsgsize", &Cpg::MaxAtomicMsgsize),
                           InstanceMethod("flowControlState", &Cpg::FlowControlState),
                           InstanceMethod("finalize", &Cpg::Finalize),
                           InstanceAccessor("initialized", &Cpg::Initialized, nullptr),
                           InstanceAccessor("deliveryBuffer", &Cpg::DeliveryBuffer, nullptr),
                       });
  }

  explicit Cpg(const Napi::CallbackInfo& info) : Service<Cpg>(info) {
    Napi::Buffer<char> staging = Napi::Buffer<char>::New(info.Env(), kStagingBytes);
    staging_data_ = staging.Data();
    staging_ = Napi::Persistent(staging);
  }
  ~Cpg() override {
    sender_.reset();
    if (handle_ != 0) {
      StopPoll(false);
      cpg_finalize(handle_);
      handle_ = 0;
    }
  }

 protected:
  cs_error_t DispatchAll() override { return cpg_dispatch(handle_, CS_DISPATCH_ALL); }

  // libcpg is read ahead of JavaScript (up to kMaxHeldBytes held), but at most
  // kEmitBatch events run in JavaScript per loop turn: a flood (a full copy arriving at
  // ~10k messages/s) would otherwise hold /etc/pve for its whole length. Reading ahead
  // keeps the daemon's IPC event ring from filling: when it is full, corosync queues
  // the messages and re-runs its flush as a busy loop job (exec/ipc_glue.c:
  // outq_flush) at SCHED_RR until we read, which starved everything else on the host.
  // The reading itself is kReadBatch messages per loop turn: on a loaded host one read
  // (libqb ring, copy) takes up to ~40 µs, and reading all that was there held the loop
  // for 90–127 ms at a time on a synced member during a 60k copy (its /etc/pve stat
  // p99 29 ms); 64 per turn still read several times faster than a copy arrives.
  //
  // Except while the background sender holds messages (a leader's full copy): then
  // nothing is read until it is idle, as C's leader, which sends the copy inside its
  // CPG deliver callback. Corosync delivers nothing to this daemon meanwhile and spends
  // its time on the sends; read-ahead during the copy made corosync deliver every
  // UPDATE back at once. Lab, a pmxcfs-ts leader and a C joiner, 6k inodes: the
  // joiner's wait for the UPDATEs 1015–1051 → 677–762 ms; 60k all pmxcfs-ts: the copy
  // 8.1–8.9 → 6.9–7.4 s, the three corosyncs' CPU 9.0–9.6 → 5.9–6.0 s.
  static constexpr size_t kEmitBatch = 16;
  static constexpr size_t kReadBatch = 64;
  static constexpr size_t kMaxHeldBytes = 16u << 20;
  size_t EmitBatch() const override { return kEmitBatch; }
  cs_error_t Dispatch(bool* more) override {
    *more = false;
    if (sender_ != nullptr && sender_->Pending() > 0) {
      PausePoll();  // OnSenderNotify resumes
      return CS_OK;
    }
    for (size_t n = 0; n < kReadBatch && held_bytes_ < kMaxHeldBytes; n++) {
      cs_error_t err = cpg_dispatch(handle_, CS_DISPATCH_ONE_NONBLOCKING);
      if (err == CS_ERR_TRY_AGAIN) return CS_OK;  // drained
      if (err != CS_OK) return err;
    }
    *more = true;  // the next loop turn reads on (an idle turn, see HandleReadable)
    return CS_OK;
  }

 private:
  static void OnDeliver(cpg_handle_t handle, const struct cpg_name* /*group*/, uint32_t nodeid,
                        uint32_t pid, void* msg, size_t len) {
    Cpg* self = FromHandle(handle);
    if (self == nullptr) return;
    // One copy, kept here until emitted (the event may wait for a later loop turn, after
    // the dispatch's handle scope has closed); the JS Buffer then takes these bytes over
    // instead of copying them again. A discarded event frees them with the lambda.
    auto bytes = std::make_shared<std::vector<char>>(static_cast<const char*>(msg), static_cast<const char*>(msg) + len);
    self->held_bytes_ += len;
    self->Queue([self, nodeid, pid, bytes](Napi::Env env) {
      self->held_bytes_ -= bytes->size();
      self->Emit(env, "deliver", {Napi::Number::New(env, nodeid), Napi::Number::New(env, pid), self->Message(env, bytes.get())});
    });
  }

  // A delivered message for JS. Small ones are copied into the staging Buffer and
  // passed as their length: the JS copy (a pool slice below 4 KiB) costs a fraction of
  // an external Buffer made here (a backing store, a finalizer and a weak object for
  // the GC to sweep, per message).
  napi_value Message(Napi::Env env, std::vector<char>* bytes) {
    if (bytes->size() <= kStagingBytes) {
      std::memcpy(staging_data_, bytes->data(), bytes->size());
      return Napi::Number::New(env, static_cast<double>(bytes->size()));
    }
    auto* owned = new std::vector<char>(std::move(*bytes));
    return Napi::Buffer<char>::New(env, owned->data(), owned->size(), [](Napi::Env, char*, std::vector<char>* v) { delete v; }, owned);
  }

  static void OnConfchg(cpg_handle_t handle, const struct cpg_name* /*group*/,
                        const struct cpg_address* members, size_t nm,
                        const struct cpg_address* left, size_t nl,
                        const struct cpg_address* joined, size_t nj) {
    Cpg* self = FromHandle(handle);
    if (self == nullptr) return;
    auto m = CopyAddrs(members, nm), l = CopyAddrs(left, nl), j = CopyAddrs(joined, nj);
    self->Queue([self, m, l, j](Napi::Env env) {
      self->Emit(env, "confchg", {AddrArray(env, m), AddrArray(env, l), AddrArray(env, j)});
    });
  }

  static void OnTotem(cpg_handle_t handle, struct cpg_ring_id ring, uint32_t n,
                      const uint32_t* list) {
    Cpg* self = FromHandle(handle);
    if (self == nullptr) return;
    std::vector<uint32_t> ids(list, list + n);
    const uint32_t rn = ring.nodeid;
    const double seq = static_cast<double>(ring.seq);
    self->Queue([self, rn, seq, ids](Napi::Env env) {
      self->Emit(env, "totem",
                 {Napi::Number::New(env, rn), Napi::Number::New(env, seq), NodeidArray(env, ids)});
    });
  }

  static Cpg* FromHandle(cpg_handle_t handle) {
    void* ctx = nullptr;
    if (cpg_context_get(handle, &ctx) != CS_OK) return nullptr;
    return static_cast<Cpg*>(ctx);
  }

  // initialize(): number — cpg_model_initialize (v1) + cpg_fd_get + start polling.
  Napi::Value Initialize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != 0) return Napi::Number::New(env, CS_ERR_EXIST);
    cpg_model_v1_data_t model;
    std::memset(&model, 0, sizeof(model));
    model.model = CPG_MODEL_V1;
    model.cpg_deliver_fn = &Cpg::OnDeliver;
    model.cpg_confchg_fn = &Cpg::OnConfchg;
    model.cpg_totem_confchg_fn = &Cpg::OnTotem;
    model.flags = 0;
    cpg_handle_t h = 0;
    cs_error_t err = cpg_model_initialize(&h, CPG_MODEL_V1,
                                          reinterpret_cast<cpg_model_data_t*>(&model), this);
    if (err != CS_OK) return Napi::Number::New(env, err);
    int fd = -1;
    err = cpg_fd_get(h, &fd);
    if (err != CS_OK) {
      cpg_finalize(h);
      return Napi::Number::New(env, err);
    }
    handle_ = h;
    if (!StartPoll(env, fd)) {
      cpg_finalize(h);
      handle_ = 0;
      return Napi::Number::New(env, CS_ERR_LIBRARY);
    }
    return Napi::Number::New(env, CS_OK);
  }

  Napi::Value Join(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct cpg_name name;
    if (info.Length() < 1 || !GroupName(info[0], &name)) {
      Napi::TypeError::New(env, "join(name: Buffer ≤ 128 bytes)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    return Napi::Number::New(env, cpg_join(handle_, &name));
  }

  Napi::Value Leave(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct cpg_name name;
    if (info.Length() < 1 || !GroupName(info[0], &name)) {
      Napi::TypeError::New(env, "leave(name: Buffer ≤ 128 bytes)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    return Napi::Number::New(env, cpg_leave(handle_, &name));
  }

  // mcastJoined(message: Buffer, guarantee: number): number — one iovec: the JS side
  // sends one Buffer per message (each Buffer read here costs a typed-array lookup, and
  // a small one created on the V8 heap is moved off it first).
  Napi::Value McastJoined(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct iovec iov;
    if (info.Length() < 2 || !BufferData(info[0], &iov) || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "mcastJoined(message: Buffer, guarantee: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    auto guarantee = static_cast<cpg_guarantee_t>(info[1].As<Napi::Number>().Int32Value());
    return Napi::Number::New(env, cpg_mcast_joined(handle_, guarantee, &iov, 1));
  }

  // The bytes of a Buffer value; false if it is not one.
  static bool BufferData(Napi::Value v, struct iovec* iov) {
    bool is = false;
    if (napi_is_buffer(v.Env(), v, &is) != napi_ok || !is) return false;
    return napi_get_buffer_info(v.Env(), v, &iov->iov_base, &iov->iov_len) == napi_ok;
  }

  // sendQueued(messages: Buffer[], retryMs: number): number — copies the messages into
  // the background sender's FIFO (the thread is started on first use); CS_OK once queued.
  Napi::Value SendQueued(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<std::vector<char>> msgs;
    bool ok = info.Length() >= 2 && info[0].IsArray() && info[1].IsNumber();
    if (ok) {
      Napi::Array arr = info[0].As<Napi::Array>();
      msgs.resize(arr.Length());
      struct iovec iov;
      for (uint32_t i = 0; ok && i < arr.Length(); i++) {
        ok = BufferData(arr.Get(i), &iov);
        if (ok) msgs[i].assign(static_cast<const char*>(iov.iov_base), static_cast<const char*>(iov.iov_base) + iov.iov_len);
      }
    }
    if (!ok) {
      Napi::TypeError::New(env, "sendQueued(messages: Buffer[], retryMs: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    if (sender_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok) return Napi::Number::New(env, CS_ERR_LIBRARY);
      sender_ = std::make_unique<Sender>(handle_, loop, this, &Cpg::OnSenderNotify);
      sender_env_ = env;
    }
    const cs_error_t failed = sender_->Failed();
    if (failed != CS_OK) return Napi::Number::New(env, failed);
    sender_->Push(std::move(msgs), info[1].As<Napi::Number>().Uint32Value());
    return Napi::Number::New(env, CS_OK);
  }

  // sendQueueLength(): number — messages the background sender has not sent yet.
  Napi::Value SendQueueLength(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), sender_ == nullptr ? 0 : static_cast<double>(sender_->Pending()));
  }

  // On the loop: the sender went idle ("sendIdle") or stopped on an error ("sendError").
  static void OnSenderNotify(uv_async_t* h) {
    auto* self = static_cast<Cpg*>(h->data);
    if (self == nullptr || self->sender_ == nullptr) return;
    Napi::Env env = self->sender_env_;
    Napi::HandleScope scope(env);
    const cs_error_t failed = self->sender_->Failed();
    if (self->sender_->Pending() == 0) self->ResumePoll();  // idle, or failed (the queue dropped)
    if (failed != CS_OK) {
      self->Emit(env, "sendError", {Napi::Number::New(env, static_cast<int>(failed))});
    } else if (self->sender_->Pending() == 0) {
      self->Emit(env, "sendIdle", {});
    }
  }

  // localGet(): {err, nodeid}
  Napi::Value LocalGet(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    unsigned int nodeid = 0;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : cpg_local_get(handle_, &nodeid);
    Napi::Object o = ErrResult(env, err);
    o.Set("nodeid", Napi::Number::New(env, nodeid));
    return o;
  }

  // membershipGet(name: Buffer): {err, members: [{nodeid, pid, reason}]}
  Napi::Value MembershipGet(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct cpg_name name;
    if (info.Length() < 1 || !GroupName(info[0], &name)) {
      Napi::TypeError::New(env, "membershipGet(name: Buffer)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct cpg_address list[CPG_MEMBERS_MAX];
    int n = CPG_MEMBERS_MAX;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : cpg_membership_get(handle_, &name, list, &n);
    Napi::Object o = ErrResult(env, err);
    o.Set("members", AddrArray(env, err == CS_OK ? CopyAddrs(list, static_cast<size_t>(n))
                                                 : std::vector<CpgAddr>{}));
    return o;
  }

  // maxAtomicMsgsize(): {err, size}
  Napi::Value MaxAtomicMsgsize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t size = 0;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : cpg_max_atomic_msgsize_get(handle_, &size);
    Napi::Object o = ErrResult(env, err);
    o.Set("size", Napi::Number::New(env, size));
    return o;
  }

  // flowControlState(): {err, enabled}
  Napi::Value FlowControlState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    cpg_flow_control_state_t st = CPG_FLOW_CONTROL_DISABLED;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : cpg_flow_control_state_get(handle_, &st);
    Napi::Object o = ErrResult(env, err);
    o.Set("enabled", Napi::Boolean::New(env, st == CPG_FLOW_CONTROL_ENABLED));
    return o;
  }

  // finalize(): number — stops the poll, drops queued events, cpg_finalize.
  Napi::Value Finalize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    StopPoll(true);
    DiscardEvents();
    held_bytes_ = 0;
    sender_.reset();  // before cpg_finalize: the thread may be inside cpg_mcast_joined
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    cs_error_t err = cpg_finalize(handle_);
    handle_ = 0;
    return Napi::Number::New(env, err);
  }

  Napi::Value Initialized(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), handle_ != 0);
  }

  // deliveryBuffer: Buffer — where a "deliver" event whose message is a number put it.
  Napi::Value DeliveryBuffer(const Napi::CallbackInfo& /*info*/) { return staging_.Value(); }

  // Messages up to this size reach JS through the staging Buffer: every replicated
  // write (FUSE max_write 128 KiB plus headers and path); larger ones are the rare
  // multi-MiB STATE and UPDATE messages of a sync, handed over without a second copy.
  static constexpr size_t kStagingBytes = 192u << 10;
  Napi::Reference<Napi::Buffer<char>> staging_;
  char* staging_data_ = nullptr;
  cpg_handle_t handle_ = 0;
  // Bytes of delivered messages read from libcpg and not yet emitted.
  size_t held_bytes_ = 0;
  std::unique_ptr<Sender> sender_;
  napi_env sender_env_ = nullptr;
};

// ---------------------------------------------------------------------------------
// Quorum

class Quorum : public Service<Quorum> {
 public:
  static constexpr const char* kResourceName = "corosync.Quorum";

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Quorum",
                       {
                           InstanceMethod("initialize", &Quorum::Initialize),
                           InstanceMethod("getQuorate", &Quorum::GetQuorate),
                           InstanceMethod("trackStart", &Quorum::TrackStart),
                           InstanceMethod("trackStop", &Quorum::TrackStop),
                           InstanceMethod("finalize", &Quorum::Finalize),
                           InstanceAccessor("initialized", &Quorum::Initialized, nullptr),
                       });
  }

  explicit Quorum(const Napi::CallbackInfo& info) : Service<Quorum>(info) {}
  ~Quorum() override {
    if (handle_ != 0) {
      StopPoll(false);
      quorum_finalize(handle_);
      handle_ = 0;
    }
  }

 protected:
  cs_error_t DispatchAll() override { return quorum_dispatch(handle_, CS_DISPATCH_ALL); }

 private:
  static void OnNotify(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq, uint32_t n,
                       uint32_t* list) {
    const void* ctx = nullptr;
    if (quorum_context_get(handle, &ctx) != CS_OK || ctx == nullptr) return;
    auto* self = static_cast<Quorum*>(const_cast<void*>(ctx));
    std::vector<uint32_t> ids(list, list + n);
    const double seq = static_cast<double>(ring_seq);
    self->Queue([self, quorate, seq, ids](Napi::Env env) {
      self->Emit(env, "notify",
                 {Napi::Boolean::New(env, quorate != 0), Napi::Number::New(env, seq),
                  NodeidArray(env, ids)});
    });
  }

  // initialize(): {err, quorumType} — quorum_initialize + context + fd + poll.
  Napi::Value Initialize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t type = 0;
    if (handle_ != 0) {
      Napi::Object o = ErrResult(env, CS_ERR_EXIST);
      o.Set("quorumType", Napi::Number::New(env, type));
      return o;
    }
    quorum_callbacks_t cb;
    std::memset(&cb, 0, sizeof(cb));
    cb.quorum_notify_fn = &Quorum::OnNotify;
    quorum_handle_t h = 0;
    cs_error_t err = quorum_initialize(&h, &cb, &type);
    if (err == CS_OK) err = quorum_context_set(h, this);
    int fd = -1;
    if (err == CS_OK) err = quorum_fd_get(h, &fd);
    if (err == CS_OK) {
      handle_ = h;
      if (!StartPoll(env, fd)) err = CS_ERR_LIBRARY;
    }
    if (err != CS_OK && h != 0) {
      quorum_finalize(h);
      handle_ = 0;
    }
    Napi::Object o = ErrResult(env, err);
    o.Set("quorumType", Napi::Number::New(env, type));
    return o;
  }

  // getQuorate(): {err, quorate}
  Napi::Value GetQuorate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int q = 0;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : quorum_getquorate(handle_, &q);
    Napi::Object o = ErrResult(env, err);
    o.Set("quorate", Napi::Boolean::New(env, q != 0));
    return o;
  }

  // trackStart(flags = CS_TRACK_CHANGES): number
  Napi::Value TrackStart(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    unsigned int flags = CS_TRACK_CHANGES;
    if (info.Length() > 0 && info[0].IsNumber()) flags = info[0].As<Napi::Number>().Uint32Value();
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    return Napi::Number::New(env, quorum_trackstart(handle_, flags));
  }

  Napi::Value TrackStop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    return Napi::Number::New(env, quorum_trackstop(handle_));
  }

  Napi::Value Finalize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    StopPoll(true);
    DiscardEvents();
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    cs_error_t err = quorum_finalize(handle_);
    handle_ = 0;
    return Napi::Number::New(env, err);
  }

  Napi::Value Initialized(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), handle_ != 0);
  }

  quorum_handle_t handle_ = 0;
};

// ---------------------------------------------------------------------------------
// cmap

// A copied cmap value: type 0 means "no value".
struct CmapValue {
  int type = 0;
  std::string bytes;
};

template <typename V>
V Load(const std::string& b) {
  V v{};
  std::memcpy(&v, b.data(), std::min(sizeof(V), b.size()));
  return v;
}

// int8..uint32, float, double → number; int64/uint64 → bigint; string → string
// (without the trailing NUL); binary → Buffer; no value → undefined.
Napi::Value ToJs(Napi::Env env, const CmapValue& v) {
  switch (v.type) {
    case CMAP_VALUETYPE_INT8: return Napi::Number::New(env, Load<int8_t>(v.bytes));
    case CMAP_VALUETYPE_UINT8: return Napi::Number::New(env, Load<uint8_t>(v.bytes));
    case CMAP_VALUETYPE_INT16: return Napi::Number::New(env, Load<int16_t>(v.bytes));
    case CMAP_VALUETYPE_UINT16: return Napi::Number::New(env, Load<uint16_t>(v.bytes));
    case CMAP_VALUETYPE_INT32: return Napi::Number::New(env, Load<int32_t>(v.bytes));
    case CMAP_VALUETYPE_UINT32: return Napi::Number::New(env, Load<uint32_t>(v.bytes));
    case CMAP_VALUETYPE_INT64: return Napi::BigInt::New(env, Load<int64_t>(v.bytes));
    case CMAP_VALUETYPE_UINT64: return Napi::BigInt::New(env, Load<uint64_t>(v.bytes));
    case CMAP_VALUETYPE_FLOAT: return Napi::Number::New(env, Load<float>(v.bytes));
    case CMAP_VALUETYPE_DOUBLE: return Napi::Number::New(env, Load<double>(v.bytes));
    case CMAP_VALUETYPE_STRING: {
      size_t n = strnlen(v.bytes.data(), v.bytes.size());
      return Napi::String::New(env, v.bytes.data(), n);
    }
    case CMAP_VALUETYPE_BINARY: return Napi::Buffer<char>::Copy(env, v.bytes.data(), v.bytes.size());
    default: return env.Undefined();
  }
}

class Cmap : public Service<Cmap> {
 public:
  static constexpr const char* kResourceName = "corosync.Cmap";

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Cmap",
                       {
                           InstanceMethod("initialize", &Cmap::Initialize),
                           InstanceMethod("get", &Cmap::Get),
                           InstanceMethod("iter", &Cmap::Iter),
                           InstanceMethod("trackAdd", &Cmap::TrackAdd),
                           InstanceMethod("trackDelete", &Cmap::TrackDelete),
                           InstanceMethod("finalize", &Cmap::Finalize),
                           InstanceAccessor("initialized", &Cmap::Initialized, nullptr),
                       });
  }

  explicit Cmap(const Napi::CallbackInfo& info) : Service<Cmap>(info) {}
  ~Cmap() override {
    if (handle_ != 0) {
      StopPoll(false);
      cmap_finalize(handle_);
      handle_ = 0;
    }
  }

 protected:
  cs_error_t DispatchAll() override { return cmap_dispatch(handle_, CS_DISPATCH_ALL); }

 private:
  static CmapValue Copy(const struct cmap_notify_value& v) {
    CmapValue c;
    c.type = static_cast<int>(v.type);
    if (v.data != nullptr && v.len > 0) c.bytes.assign(static_cast<const char*>(v.data), v.len);
    return c;
  }

  static void OnNotify(cmap_handle_t /*h*/, cmap_track_handle_t track, int32_t event,
                       const char* key, struct cmap_notify_value nv, struct cmap_notify_value ov,
                       void* user_data) {
    auto* self = static_cast<Cmap*>(user_data);
    if (self == nullptr) return;
    std::string k(key != nullptr ? key : "");
    CmapValue n = Copy(nv), o = Copy(ov);
    const uint64_t th = track;
    self->Queue([self, th, event, k, n, o](Napi::Env env) {
      self->Emit(env, "notify",
                 {Napi::Number::New(env, event), Napi::String::New(env, k), ToJs(env, n),
                  ToJs(env, o), Napi::BigInt::New(env, th)});
    });
  }

  cs_error_t GetValue(const char* key, CmapValue* out) {
    size_t len = 0;
    cmap_value_types_t type;
    cs_error_t err = cmap_get(handle_, key, nullptr, &len, &type);
    if (err != CS_OK) return err;
    std::string buf(len, '\0');
    err = cmap_get(handle_, key, buf.data(), &len, &type);
    if (err != CS_OK) return err;
    buf.resize(len);
    out->type = static_cast<int>(type);
    out->bytes = std::move(buf);
    return CS_OK;
  }

  Napi::Value Initialize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ != 0) return Napi::Number::New(env, CS_ERR_EXIST);
    cmap_handle_t h = 0;
    cs_error_t err = cmap_initialize(&h);
    if (err != CS_OK) return Napi::Number::New(env, err);
    int fd = -1;
    err = cmap_fd_get(h, &fd);
    if (err != CS_OK) {
      cmap_finalize(h);
      return Napi::Number::New(env, err);
    }
    handle_ = h;
    if (!StartPoll(env, fd)) {
      cmap_finalize(h);
      handle_ = 0;
      return Napi::Number::New(env, CS_ERR_LIBRARY);
    }
    return Napi::Number::New(env, CS_OK);
  }

  // get(key): {err, value}
  Napi::Value Get(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "get(key: string)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string key = info[0].As<Napi::String>().Utf8Value();
    CmapValue v;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE : GetValue(key.c_str(), &v);
    Napi::Object o = ErrResult(env, err);
    o.Set("value", err == CS_OK ? ToJs(env, v) : env.Undefined());
    return o;
  }

  // iter(prefix): {err, entries: [[key, value], ...]}
  Napi::Value Iter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string prefix;
    if (info.Length() > 0 && info[0].IsString()) prefix = info[0].As<Napi::String>().Utf8Value();
    std::vector<std::pair<std::string, CmapValue>> out;
    cs_error_t err = CS_ERR_BAD_HANDLE;
    if (handle_ != 0) {
      cmap_iter_handle_t it = 0;
      err = cmap_iter_init(handle_, prefix.empty() ? nullptr : prefix.c_str(), &it);
      if (err == CS_OK) {
        char key[CMAP_KEYNAME_MAXLEN + 1];
        size_t len = 0;
        cmap_value_types_t type;
        for (;;) {
          cs_error_t e = cmap_iter_next(handle_, it, key, &len, &type);
          if (e == CS_ERR_NO_SECTIONS) break;
          if (e != CS_OK) {
            err = e;
            break;
          }
          CmapValue v;
          e = GetValue(key, &v);
          if (e == CS_ERR_NOT_EXIST) continue;  // removed meanwhile
          if (e != CS_OK) {
            err = e;
            break;
          }
          out.emplace_back(key, std::move(v));
        }
        cmap_iter_finalize(handle_, it);
      }
    }
    Napi::Object o = ErrResult(env, err);
    Napi::Array a = Napi::Array::New(env, out.size());
    for (size_t i = 0; i < out.size(); i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, out[i].first));
      pair.Set(1u, ToJs(env, out[i].second));
      a.Set(static_cast<uint32_t>(i), pair);
    }
    o.Set("entries", a);
    return o;
  }

  // trackAdd(keyOrPrefix, trackType): {err, track: bigint}
  Napi::Value TrackAdd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "trackAdd(key: string, type: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string key = info[0].As<Napi::String>().Utf8Value();
    int32_t type = info[1].As<Napi::Number>().Int32Value();
    cmap_track_handle_t th = 0;
    cs_error_t err = handle_ == 0 ? CS_ERR_BAD_HANDLE
                                  : cmap_track_add(handle_, key.c_str(), type, &Cmap::OnNotify, this, &th);
    Napi::Object o = ErrResult(env, err);
    o.Set("track", Napi::BigInt::New(env, static_cast<uint64_t>(th)));
    return o;
  }

  Napi::Value TrackDelete(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool lossless = false;
    if (info.Length() < 1 || !info[0].IsBigInt()) {
      Napi::TypeError::New(env, "trackDelete(track: bigint)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint64_t th = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    return Napi::Number::New(env, cmap_track_delete(handle_, th));
  }

  Napi::Value Finalize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    StopPoll(true);
    DiscardEvents();
    if (handle_ == 0) return Napi::Number::New(env, CS_ERR_BAD_HANDLE);
    cs_error_t err = cmap_finalize(handle_);
    handle_ = 0;
    return Napi::Number::New(env, err);
  }

  Napi::Value Initialized(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), handle_ != 0);
  }

  cmap_handle_t handle_ = 0;
};

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("Cpg", Cpg::Init(env));
  exports.Set("Quorum", Quorum::Init(env));
  exports.Set("Cmap", Cmap::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(pmxcfs_corosync, InitAll)
