// One opened BPF object file: its programs, maps, links and ring poller.
// Every method runs on the JS main thread; startLoad() hands the object to a
// loader thread until finishLoad().
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
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
  Napi::Value Maps(const Napi::CallbackInfo& info);
  void SetAutoload(const Napi::CallbackInfo& info);
  void SetAutocreate(const Napi::CallbackInfo& info);
  void Load(const Napi::CallbackInfo& info);
  void StartLoad(const Napi::CallbackInfo& info);
  void FinishLoad(const Napi::CallbackInfo& info);
  void Attach(const Napi::CallbackInfo& info);
  void AttachPerfEvent(const Napi::CallbackInfo& info);
  void Detach(const Napi::CallbackInfo& info);
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
  Napi::Value MapFetchAdd(const Napi::CallbackInfo& info);
  void PollRing(const Napi::CallbackInfo& info);
  void FlushRing(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void Teardown();
  struct MappedArray {
    uint8_t* data;
    size_t stride;
    uint32_t entries;
  };
  MappedArray Mapped(Napi::Env env, const std::string& name, bool writable = false);
  struct bpf_program* FindProgram(Napi::Env env, const std::string& name);
  struct bpf_map* FindMap(Napi::Env env, const std::string& name);
  void RequireOpen(Napi::Env env);

  struct bpf_object* obj_ = nullptr;
  bool loaded_ = false;
  bool loading_ = false;  // a loader thread owns obj_
  std::thread loader_;
  int load_err_ = 0;
  std::string load_log_;  // libbpf's log when the loader thread failed
  std::vector<std::pair<struct bpf_program*, struct bpf_link*>> links_;  // by the program they attach
  std::unique_ptr<RingPoller> poller_;
  struct Mapping {
    void* addr;
    size_t size;
  };
  std::map<std::string, Mapping> mappings_;  // mmap()ed array maps, by name
};

}  // namespace mltrace
