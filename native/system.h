// What the running kernel offers, asked through libbpf (main thread).
#pragma once
#include <napi.h>

namespace mltrace {
// tracepointHasBtf(name): true when vmlinux BTF describes btf_trace_<name>,
// i.e. a tp_btf program can attach to it.
// Starts parsing vmlinux BTF in the background (TracepointHasBtf waits for it).
void StartVmlinuxBtfParse();
Napi::Value TracepointHasBtf(const Napi::CallbackInfo& info);
// ringbufSupported(): the kernel accepts BPF_MAP_TYPE_RINGBUF (5.8+).
Napi::Value RingbufSupported(const Napi::CallbackInfo& info);
// possibleCpus(): what libbpf sizes per-CPU values by.
Napi::Value PossibleCpus(const Napi::CallbackInfo& info);
}  // namespace mltrace
