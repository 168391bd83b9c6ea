// One opened BPF object file: its programs, maps, links and ring poller.
// Every method runs on the JS main thread.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ring_poller.h"

namespace mltrace {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  void SetAutoload(const Napi::CallbackInfo& info);
  void Load(const Napi::CallbackInfo& info);
  void Attach(const Napi::CallbackInfo& info);
  void AttachPerfEvent(const Napi::CallbackInfo& info);
  Napi::Value MapInfo(const Napi::CallbackInfo& info);
  void ReuseMap(const Napi::CallbackInfo& info);
  void MapUpdate(const Napi::CallbackInfo& info);
  Napi::Value MapLookup(const Napi::CallbackInfo& info);
  Napi::Value MapDelete(const Napi::CallbackInfo& info);
  Napi::Value MapDump(const Napi::CallbackInfo& info);
  void SetMaxEntries(const Napi::CallbackInfo& info);
  void QueuePush(const Napi::CallbackInfo& info);
  Napi::Value QueuePop(const Napi::CallbackInfo& info);
  Napi::Value MapUsedSlots(const Napi::CallbackInfo& info);
  Napi::Value MapSnapshotSlots(const Napi::CallbackInfo& info);
  void PollRing(const Napi::CallbackInfo& info);
  void FlushRing(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void Teardown();
  struct MappedArray {
    const uint8_t* data;
    size_t stride;
    uint32_t entries;
  };
  MappedArray Mapped(Napi::Env env, const std::string& name);
  struct bpf_program* FindProgram(Napi::Env env, const std::string& name);
  struct bpf_map* FindMap(Napi::Env env, const std::string& name);
  void RequireOpen(Napi::Env env);

  struct bpf_object* obj_ = nullptr;
  bool loaded_ = false;
  std::vector<struct bpf_link*> links_;
  std::unique_ptr<RingPoller> poller_;
  struct Mapping {
    void* addr;
    size_t size;
  };
  std::map<std::string, Mapping> mappings_;  // mmap()ed array maps, by name
};

}  // namespace mltrace
