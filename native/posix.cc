// Small POSIX calls Node does not expose. No policy: results are 0 or -errno.
#include <napi.h>
#include <sys/file.h>
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flockExclusive", Napi::Function::New(env, FlockExclusive));
  return exports;
}

}  // namespace

NODE_API_MODULE(posix, Init)
