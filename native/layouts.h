// Byte layouts of the probes' ABI structs, taken from probes/*.h with
// offsetof/sizeof so TypeScript decodes without re-declaring them.
#pragma once
#include <napi.h>

namespace mltrace {
Napi::Object Layouts(Napi::Env env);
}
