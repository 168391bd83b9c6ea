#include "system.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <future>

#include "errors.h"

namespace mltrace {

// vmlinux BTF is megabytes to parse (10 ms and more): once per process, on
// a thread started when the addon loads, so the parse overlaps what the main
// thread does before its first question (loading mltrace's other modules,
// opening the probe objects). Kept until exit.
static std::shared_future<struct btf*>& VmlinuxBtfParse() {
  static std::shared_future<struct btf*> parse = std::async(std::launch::async, [] {
    struct btf* vmlinux = btf__load_vmlinux_btf();
    return libbpf_get_error(vmlinux) ? nullptr : vmlinux;
  }).share();
  return parse;
}

void StartVmlinuxBtfParse() { VmlinuxBtfParse(); }

static struct btf* VmlinuxBtf() { return VmlinuxBtfParse().get(); }

Napi::Value TracepointHasBtf(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  struct btf* vmlinux = VmlinuxBtf();
  if (!vmlinux) return Napi::Boolean::New(info.Env(), false);
  std::string type = "btf_trace_" + name;
  return Napi::Boolean::New(info.Env(), btf__find_by_name_kind(vmlinux, type.c_str(), BTF_KIND_TYPEDEF) > 0);
}

Napi::Value RingbufSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1);
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  ThrowIfFailed(info.Env(), "count possible CPUs", n);
  return Napi::Number::New(info.Env(), n);
}

}  // namespace mltrace
