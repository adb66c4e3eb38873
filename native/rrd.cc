// librrd (Debian's librrd8) for the status module: create and update RRD files the way
// status.c does (rrd_create_r, rrd_update_r, and rrdc_connect/rrdc_update through
// rrdcached's socket), plus rrd_info_r / rrd_lastupdate_r for reading files back.
// No policy here: results are null (ok) or the library's error text.
#include <napi.h>
// librrd's headers (rrd_client.h in particular) have no extern "C" guards.
extern "C" {
#include <rrd.h>
#include <rrd_client.h>
}
#include <string>
#include <vector>

namespace {

std::vector<std::string> StringArray(const Napi::Array& a) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

std::vector<const char*> CStrings(const std::vector<std::string>& v) {
  std::vector<const char*> out;
  for (const auto& s : v) out.push_back(s.c_str());
  out.push_back(nullptr);
  return out;
}

Napi::Value ErrorOrNull(Napi::Env env, int r) {
  if (r == 0) return env.Null();
  const char* e = rrd_get_error();
  return Napi::String::New(env, e != nullptr ? e : "unknown rrd error");
}

// create(file, step, start, defs[]): status.c create_rrd_file.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsArray()) {
    Napi::TypeError::New(env, "create(file, step, start, defs)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  auto defs = StringArray(info[3].As<Napi::Array>());
  auto argv = CStrings(defs);
  rrd_clear_error();
  int r = rrd_create_r(file.c_str(), info[1].As<Napi::Number>().Uint32Value(), static_cast<time_t>(info[2].As<Napi::Number>().Int64Value()),
                       static_cast<int>(defs.size()), argv.data());
  return ErrorOrNull(env, r);
}

// update(file, sample): rrd_update_r with one "<time>:<v>..." argument.
Napi::Value Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "update(file, sample)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::string sample = info[1].As<Napi::String>().Utf8Value();
  const char* argv[] = {sample.c_str(), nullptr};
  rrd_clear_error();
  return ErrorOrNull(env, rrd_update_r(file.c_str(), nullptr, 1, argv));
}

// cachedUpdate(address, file, sample): rrdc_connect + rrdc_update. Returns
// {connected, status}; on a failed update the connection is dropped (status.c).
Napi::Value CachedUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString()) {
    Napi::TypeError::New(env, "cachedUpdate(address, file, sample)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  std::string file = info[1].As<Napi::String>().Utf8Value();
  std::string sample = info[2].As<Napi::String>().Utf8Value();
  Napi::Object res = Napi::Object::New(env);
  if (rrdc_connect(addr.c_str()) != 0) {
    res.Set("connected", false);
    res.Set("status", 0);
    return res;
  }
  const char* argv[] = {sample.c_str(), nullptr};
  int status = rrdc_update(file.c_str(), 1, argv);
  if (status != 0) rrdc_disconnect();
  res.Set("connected", true);
  res.Set("status", status);
  return res;
}

// info(file): rrd_info_r as {key: number|string}, or the error text.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "info(file)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  rrd_clear_error();
  rrd_info_t* head = rrd_info_r(file.c_str());
  if (head == nullptr) return ErrorOrNull(env, -1);
  Napi::Object out = Napi::Object::New(env);
  for (rrd_info_t* p = head; p != nullptr; p = p->next) {
    switch (p->type) {
      case RD_I_VAL: out.Set(p->key, Napi::Number::New(env, p->value.u_val)); break;
      case RD_I_CNT: out.Set(p->key, Napi::Number::New(env, static_cast<double>(p->value.u_cnt))); break;
      case RD_I_INT: out.Set(p->key, Napi::Number::New(env, p->value.u_int)); break;
      case RD_I_STR: out.Set(p->key, Napi::String::New(env, p->value.u_str)); break;
      default: break;
    }
  }
  rrd_info_free(head);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("update", Napi::Function::New(env, Update));
  exports.Set("cachedUpdate", Napi::Function::New(env, CachedUpdate));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(rrd, Init)
