// Entry point of the native addon: registers the BpfObject class and the
// few free functions. Thin on purpose: validation and wording live in
// src/native/ (TypeScript).
#include <napi.h>

#include "bpf_object.h"
#include "errors.h"
#include "layouts.h"
#include "libbpf_log.h"
#include "system.h"

namespace mltrace {

static void SetVerbose(const Napi::CallbackInfo& info) {
  SetLibbpfVerbose(info[0].As<Napi::Boolean>());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLog();
  StartVmlinuxBtfParse();
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass));
  exports.Set("setVerbose", Napi::Function::New(env, SetVerbose));
  exports.Set("tracepointHasBtf", Napi::Function::New(env, TracepointHasBtf));
  exports.Set("ringbufSupported", Napi::Function::New(env, RingbufSupported));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("layouts", Layouts(env));
  return exports;
}

NODE_API_MODULE(mltrace_native, Init)

}  // namespace mltrace
