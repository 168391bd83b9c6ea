// Turning libbpf failures into the one JS error class TypeScript defines.
#pragma once
#include <napi.h>
#include <string>

namespace mltrace {

// Called once from JS (main thread) with the BpfError constructor.
void SetErrorClass(const Napi::CallbackInfo& info);

// Builds `new BpfError(message, {op, errno, code, log})`, with libbpf's
// recent log or the one given (kept by the thread that failed). Main thread only.
Napi::Error BpfError(Napi::Env env, const std::string& op, int err);
Napi::Error BpfError(Napi::Env env, const std::string& op, int err, const std::string& log);

// Throws BpfError when rc < 0 (libbpf returns -errno). Main thread only.
void ThrowIfFailed(Napi::Env env, const std::string& op, long rc);

}  // namespace mltrace
