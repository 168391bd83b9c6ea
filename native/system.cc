#include "system.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "errors.h"

namespace mltrace {

// vmlinux BTF is megabytes to parse: once per process, kept until exit.
static struct btf* VmlinuxBtf() {
  static struct btf* vmlinux = nullptr;
  static bool tried = false;
  if (!tried) {
    tried = true;
    vmlinux = btf__load_vmlinux_btf();
    if (libbpf_get_error(vmlinux)) vmlinux = nullptr;
  }
  return vmlinux;
}

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
