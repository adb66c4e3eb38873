// Small POSIX calls Node does not expose. No policy: results are 0 or -errno.
#include <napi.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <cerrno>

namespace {

// flock(fd, LOCK_EX | LOCK_NB): the single-instance lock of pmxcfs.c: main.
Napi::Value FlockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "flockExclusive(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int r = flock(fd, LOCK_EX | LOCK_NB);
  return Napi::Number::New(env, r == 0 ? 0 : -errno);
}

// mallopt(M_TRIM_THRESHOLD, trim) and mallopt(M_TOP_PAD, pad): glibc keeps up to
// `trim` bytes of free heap top instead of returning it with brk after each free, and
// grows the heap `pad` bytes at a time. Returns 0, or -1 if glibc refused a value.
Napi::Value KeepMallocHeap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "keepMallocHeap(trimBytes, padBytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int trim = info[0].As<Napi::Number>().Int32Value();
  int pad = info[1].As<Napi::Number>().Int32Value();
  bool ok = mallopt(M_TRIM_THRESHOLD, trim) == 1 && mallopt(M_TOP_PAD, pad) == 1;
  return Napi::Number::New(env, ok ? 0 : -1);
}

// prctl(PR_SET_THP_DISABLE, 1): no transparent huge pages for this process from now
// on, whatever glibc's hugetlb tunable madvised (pages already huge stay). 0 or -errno.
Napi::Value DisableHugePages(const Napi::CallbackInfo& info) {
  int r = prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  return Napi::Number::New(info.Env(), r == 0 ? 0 : -errno);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("disableHugePages", Napi::Function::New(env, DisableHugePages));
  exports.Set("flockExclusive", Napi::Function::New(env, FlockExclusive));
  exports.Set("keepMallocHeap", Napi::Function::New(env, KeepMallocHeap));
  return exports;
}

}  // namespace

NODE_API_MODULE(posix, Init)
