#include "errors.h"

#include <cerrno>
#include <cstring>

#include "libbpf_log.h"

namespace mltrace {

static Napi::FunctionReference error_class;

void SetErrorClass(const Napi::CallbackInfo& info) {
  error_class = Napi::Persistent(info[0].As<Napi::Function>());
}

// errno's symbolic name, so JS can branch on code rather than on prose.
static const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESTALE: return "ESTALE";
    case ERANGE: return "ERANGE";
    default: return "E?";
  }
}

Napi::Error BpfError(Napi::Env env, const std::string& op, int err) { return BpfError(env, op, err, TakeRecentLog()); }

Napi::Error BpfError(Napi::Env env, const std::string& op, int err, const std::string& log) {
  if (err < 0) err = -err;
  std::string message = "failed to " + op + ": " + std::strerror(err);
  Napi::Object details = Napi::Object::New(env);
  details.Set("op", op);
  details.Set("errno", err);
  details.Set("code", ErrnoName(err));
  details.Set("log", log);
  if (error_class.IsEmpty()) return Napi::Error::New(env, message);
  Napi::Object obj = error_class.New({Napi::String::New(env, message), details});
  return Napi::Error(env, obj);
}

void ThrowIfFailed(Napi::Env env, const std::string& op, long rc) {
  if (rc < 0) throw BpfError(env, op, static_cast<int>(rc));
}

}  // namespace mltrace
