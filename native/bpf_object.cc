#include "bpf_object.h"

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "libbpf_log.h"

namespace mltrace {

Napi::Function BpfObject::Define(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod("programs", &BpfObject::Programs),
                         InstanceMethod("maps", &BpfObject::Maps),
                         InstanceMethod("setAutoload", &BpfObject::SetAutoload),
                         InstanceMethod("setAutocreate", &BpfObject::SetAutocreate),
                         InstanceMethod("load", &BpfObject::Load),
                         InstanceMethod("startLoad", &BpfObject::StartLoad),
                         InstanceMethod("finishLoad", &BpfObject::FinishLoad),
                         InstanceMethod("attach", &BpfObject::Attach),
                         InstanceMethod("attachPerfEvent", &BpfObject::AttachPerfEvent),
                         InstanceMethod("detach", &BpfObject::Detach),
                         InstanceMethod("mapInfo", &BpfObject::MapInfo),
                         InstanceMethod("reuseMap", &BpfObject::ReuseMap),
                         InstanceMethod("mapUpdate", &BpfObject::MapUpdate),
                         InstanceMethod("mapLookup", &BpfObject::MapLookup),
                         InstanceMethod("mapDelete", &BpfObject::MapDelete),
                         InstanceMethod("mapDump", &BpfObject::MapDump),
                         InstanceMethod("setMaxEntries", &BpfObject::SetMaxEntries),
                         InstanceMethod("queuePush", &BpfObject::QueuePush),
                         InstanceMethod("queuePop", &BpfObject::QueuePop),
                         InstanceMethod("mapUsedSlots", &BpfObject::MapUsedSlots),
                         InstanceMethod("mapSnapshotSlots", &BpfObject::MapSnapshotSlots),
                         InstanceMethod("mapFetchAdd", &BpfObject::MapFetchAdd),
                         InstanceMethod("pollRing", &BpfObject::PollRing),
                         InstanceMethod("flushRing", &BpfObject::FlushRing),
                         InstanceMethod("close", &BpfObject::Close),
                     });
}

// new BpfObject(path): opens (parses) the object; nothing enters the kernel yet.
BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  std::string path = info[0].As<Napi::String>();
  // No verifier log is asked for, even with -v: for a program the kernel
  // refuses, libbpf loads it again with the log on and prints that log
  // (kept for the error, shown with -v); for the programs it accepts, the
  // log is thousands of lines that made -v's load several times slower.
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  long err = libbpf_get_error(obj_);
  if (err) {
    obj_ = nullptr;
    throw BpfError(info.Env(), "open BPF object " + path, static_cast<int>(err));
  }
}

BpfObject::~BpfObject() { Teardown(); }

void BpfObject::Teardown() {
  if (loader_.joinable()) loader_.join();
  loading_ = false;
  if (poller_) {
    poller_->Stop();
    poller_.reset();
  }
  for (auto& [name, m] : mappings_) munmap(m.addr, m.size);
  mappings_.clear();
  for (auto& [prog, link] : links_) bpf_link__destroy(link);
  links_.clear();
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
}

void BpfObject::RequireOpen(Napi::Env env) {
  if (!obj_) throw BpfError(env, "use BPF object (already closed)", EBADF);
  if (loading_) throw BpfError(env, "use BPF object (still loading)", EBUSY);
}

struct bpf_program* BpfObject::FindProgram(Napi::Env env, const std::string& name) {
  RequireOpen(env);
  auto* prog = bpf_object__find_program_by_name(obj_, name.c_str());
  if (!prog) throw BpfError(env, "find program " + name, ENOENT);
  return prog;
}

struct bpf_map* BpfObject::FindMap(Napi::Env env, const std::string& name) {
  RequireOpen(env);
  auto* map = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!map) throw BpfError(env, "find map " + name, ENOENT);
  return map;
}

// programs(): [{name, section, autoload}]
Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env());
  Napi::Array out = Napi::Array::New(info.Env());
  struct bpf_program* prog;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, obj_) {
    Napi::Object p = Napi::Object::New(info.Env());
    p.Set("name", bpf_program__name(prog));
    p.Set("section", bpf_program__section_name(prog));
    p.Set("autoload", bpf_program__autoload(prog));
    out.Set(i++, p);
  }
  return out;
}

// maps(): the names of the object's maps, libbpf's own (.bss, .rodata) included.
Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env());
  Napi::Array out = Napi::Array::New(info.Env());
  struct bpf_map* map;
  uint32_t i = 0;
  bpf_object__for_each_map(map, obj_) out.Set(i++, bpf_map__name(map));
  return out;
}

// setAutocreate(name, bool): before load(), leave out a map that only
// programs not loaded use (a family not wanted in the combined object).
void BpfObject::SetAutocreate(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  ThrowIfFailed(info.Env(), "set autocreate of " + name, bpf_map__set_autocreate(map, info[1].As<Napi::Boolean>()));
}

// setAutoload(name, bool): before load(), choose between tp_btf and raw_tp twins.
void BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* prog = FindProgram(info.Env(), name);
  ThrowIfFailed(info.Env(), "set autoload of " + name,
                bpf_program__set_autoload(prog, info[1].As<Napi::Boolean>()));
}

// load(): creates maps and verifies every autoloaded program.
void BpfObject::Load(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env());
  ThrowIfFailed(info.Env(), "load BPF object " + std::string(bpf_object__name(obj_)),
                bpf_object__load(obj_));
  loaded_ = true;
}

// startLoad(): load() on a thread of its own, so the main thread can do
// other work meanwhile (start the command to trace). libbpf allows one
// thread per object; until finishLoad() every other method refuses (EBUSY).
void BpfObject::StartLoad(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env());
  if (loaded_) throw BpfError(info.Env(), "load BPF object (already loaded)", EBUSY);
  loading_ = true;
  load_err_ = 0;
  loader_ = std::thread([this] {
    load_err_ = bpf_object__load(obj_);
    if (load_err_) load_log_ = TakeRecentLog();
  });
}

// finishLoad(): waits for startLoad()'s thread; throws what load() would have.
void BpfObject::FinishLoad(const Napi::CallbackInfo& info) {
  if (!loading_) throw BpfError(info.Env(), "finish loading BPF object (not loading)", EINVAL);
  loader_.join();
  loading_ = false;
  if (load_err_) {
    throw BpfError(info.Env(), "load BPF object " + std::string(bpf_object__name(obj_)), load_err_, load_log_);
  }
  loaded_ = true;
}

// attach(name): the link is owned by an fd of this process, so it goes away
// when the process dies, however it dies. Nothing is pinned.
void BpfObject::Attach(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* prog = FindProgram(info.Env(), name);
  struct bpf_link* link = bpf_program__attach(prog);
  long err = libbpf_get_error(link);
  if (err) throw BpfError(info.Env(), "attach program " + name, static_cast<int>(err));
  links_.emplace_back(prog, link);
}

// detach(name): destroys every link of one program (a family given up after
// load, in an object other families still use); the program stays loaded
// until close().
void BpfObject::Detach(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* prog = FindProgram(info.Env(), name);
  for (auto it = links_.begin(); it != links_.end();) {
    if (it->first == prog) {
      bpf_link__destroy(it->second);
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
}

// attachPerfEvent(name, type, config, cpu): runs the program on every
// occurrence of a perf event (e.g. PERF_COUNT_SW_PAGE_FAULTS_MAJ) on one CPU,
// for every task. The link owns the event's fd, like any other link.
void BpfObject::AttachPerfEvent(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* prog = FindProgram(info.Env(), name);
  struct perf_event_attr attr = {};
  attr.size = sizeof(attr);
  attr.type = info[1].As<Napi::Number>().Uint32Value();
  attr.config = info[2].As<Napi::Number>().Int64Value();
  attr.sample_period = 1;
  attr.disabled = 1;  // enabled by libbpf once the program is set
  int cpu = info[3].As<Napi::Number>().Int32Value();
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) throw BpfError(info.Env(), "open perf event for " + name + " on CPU " + std::to_string(cpu), errno);
  struct bpf_link* link = bpf_program__attach_perf_event(prog, fd);
  long err = libbpf_get_error(link);
  if (err) {
    close(fd);
    throw BpfError(info.Env(), "attach program " + name + " to a perf event", static_cast<int>(err));
  }
  links_.emplace_back(prog, link);
}

// mapInfo(name): {type, keySize, valueSize, maxEntries, valueStride}
// valueStride is the per-CPU slot size for per-CPU maps (libbpf rounds to 8).
Napi::Value BpfObject::MapInfo(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("type", static_cast<uint32_t>(bpf_map__type(map)));
  out.Set("keySize", bpf_map__key_size(map));
  out.Set("valueSize", bpf_map__value_size(map));
  out.Set("maxEntries", bpf_map__max_entries(map));
  out.Set("valueStride", (bpf_map__value_size(map) + 7) / 8 * 8);
  return out;
}

// reuseMap(name, otherObject, otherName): before load(), share a map that
// another (loaded) object created, e.g. every family filtering on `targets`.
void BpfObject::ReuseMap(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* other = Napi::ObjectWrap<BpfObject>::Unwrap(info[1].As<Napi::Object>());
  std::string other_name = info[2].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto* source = other->FindMap(info.Env(), other_name);
  ThrowIfFailed(info.Env(), "reuse map " + other_name, bpf_map__reuse_fd(map, bpf_map__fd(source)));
}

static void RequireSize(Napi::Env env, const std::string& what, size_t got, size_t want) {
  if (got != want) throw BpfError(env, what + " (size " + std::to_string(got) + ", expected " +
                                           std::to_string(want) + ")", EINVAL);
}

// mapUpdate(name, key, value, flags)
void BpfObject::MapUpdate(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto key = info[1].As<Napi::Uint8Array>();
  auto value = info[2].As<Napi::Uint8Array>();
  uint64_t flags = info[3].As<Napi::Number>().Int64Value();
  RequireSize(info.Env(), "update map " + name + " key", key.ByteLength(), bpf_map__key_size(map));
  ThrowIfFailed(info.Env(), "update map " + name,
                bpf_map_update_elem(bpf_map__fd(map), key.Data(), value.Data(), flags) ? -errno : 0);
}

// mapLookup(name, key): Buffer with the value, or null when absent.
Napi::Value BpfObject::MapLookup(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto key = info[1].As<Napi::Uint8Array>();
  RequireSize(info.Env(), "look up map " + name + " key", key.ByteLength(), bpf_map__key_size(map));
  size_t size = bpf_map__value_size(map);
  if (bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY || bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH)
    size = (size + 7) / 8 * 8 * libbpf_num_possible_cpus();
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), size);
  if (bpf_map_lookup_elem(bpf_map__fd(map), key.Data(), out.Data())) {
    if (errno == ENOENT) return info.Env().Null();
    throw BpfError(info.Env(), "look up map " + name, errno);
  }
  return out;
}

// mapDelete(name, key): true when an entry was removed.
Napi::Value BpfObject::MapDelete(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto key = info[1].As<Napi::Uint8Array>();
  if (bpf_map_delete_elem(bpf_map__fd(map), key.Data())) {
    if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
    throw BpfError(info.Env(), "delete from map " + name, errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapDump(name): {count, keys, values} with keys and values packed back to
// back (values at valueStride × CPUs for per-CPU maps). An entry deleted while
// we walk is skipped, not an error: the kernel and exiting threads race us.
Napi::Value BpfObject::MapDump(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  int fd = bpf_map__fd(map);
  size_t key_size = bpf_map__key_size(map);
  size_t value_size = bpf_map__value_size(map);
  bool per_cpu = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
                 bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH;
  if (per_cpu) value_size = (value_size + 7) / 8 * 8 * libbpf_num_possible_cpus();

  std::vector<uint8_t> keys, values;
  std::vector<uint8_t> key(key_size), next(key_size), value(value_size);
  void* prev = nullptr;
  uint32_t count = 0;
  while (true) {
    if (bpf_map_get_next_key(fd, prev, next.data())) {
      if (errno == ENOENT) break;
      throw BpfError(info.Env(), "walk map " + name, errno);
    }
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(fd, key.data(), value.data())) {
      if (errno == ENOENT) continue;
      throw BpfError(info.Env(), "look up map " + name, errno);
    }
    keys.insert(keys.end(), key.begin(), key.end());
    values.insert(values.end(), value.begin(), value.end());
    count++;
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("count", count);
  out.Set("keys", Napi::Buffer<uint8_t>::Copy(info.Env(), keys.data(), keys.size()));
  out.Set("values", Napi::Buffer<uint8_t>::Copy(info.Env(), values.data(), values.size()));
  return out;
}

// setMaxEntries(name, n): before load(), size a map to this machine (pid_max).
void BpfObject::SetMaxEntries(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  ThrowIfFailed(info.Env(), "size map " + name, bpf_map__set_max_entries(map, info[1].As<Napi::Number>().Uint32Value()));
}

// queuePush(name, value): append to a BPF queue map.
void BpfObject::QueuePush(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto value = info[1].As<Napi::Uint8Array>();
  RequireSize(info.Env(), "push to queue " + name, value.ByteLength(), bpf_map__value_size(map));
  ThrowIfFailed(info.Env(), "push to queue " + name,
                bpf_map_update_elem(bpf_map__fd(map), nullptr, value.Data(), BPF_ANY) ? -errno : 0);
}

// queuePop(name): the oldest value of a BPF queue map, or null when empty.
Napi::Value BpfObject::QueuePop(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), bpf_map__value_size(map));
  if (bpf_map_lookup_and_delete_elem(bpf_map__fd(map), nullptr, out.Data())) {
    if (errno == ENOENT) return info.Env().Null();
    throw BpfError(info.Env(), "pop from queue " + name, errno);
  }
  return out;
}

// A BPF_F_MMAPABLE array, read through a shared mapping made on first use
// and undone by close(). JS only ever gets copies, so it never holds memory
// that close() unmaps.
BpfObject::MappedArray BpfObject::Mapped(Napi::Env env, const std::string& name, bool writable) {
  auto* map = FindMap(env, name);
  size_t stride = (bpf_map__value_size(map) + 7) / 8 * 8;
  uint32_t entries = bpf_map__max_entries(map);
  std::string key = writable ? name + " (rw)" : name;
  auto it = mappings_.find(key);
  if (it == mappings_.end()) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t size = (stride * entries + page - 1) / page * page;
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    void* addr = mmap(nullptr, size, prot, MAP_SHARED, bpf_map__fd(map), 0);
    if (addr == MAP_FAILED) throw BpfError(env, "mmap map " + name, errno);
    it = mappings_.emplace(key, Mapping{addr, size}).first;
  }
  return {static_cast<uint8_t*>(it->second.addr), stride, entries};
}

// mapFetchAdd(name): adds 1 to the u64 that is entry 0 of an mmap()able
// array and returns what it held, atomically with the BPF programs that do
// the same (__sync_fetch_and_add there: both are locked adds on one page).
Napi::Value BpfObject::MapFetchAdd(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto m = Mapped(info.Env(), name, true);
  if (m.stride < sizeof(uint64_t)) throw BpfError(info.Env(), "add to map " + name + " (value smaller than u64)", EINVAL);
  auto* counter = reinterpret_cast<uint64_t*>(m.data);
  return Napi::Number::New(info.Env(), static_cast<double>(__atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST)));
}

// mapUsedSlots(name, offset): indexes of the entries whose u32 at `offset`
// is not zero (a record's tid: the slot is in use). Scans in place, so a
// sample costs the threads traced, not the map's size.
Napi::Value BpfObject::MapUsedSlots(const Napi::CallbackInfo& info) {
  auto m = Mapped(info.Env(), info[0].As<Napi::String>());
  uint32_t offset = info[1].As<Napi::Number>().Uint32Value();
  std::vector<uint32_t> used;
  for (uint32_t i = 0; i < m.entries; i++) {
    uint32_t v;
    std::memcpy(&v, m.data + i * m.stride + offset, sizeof(v));
    if (v) used.push_back(i);
  }
  auto out = Napi::Uint32Array::New(info.Env(), used.size());
  std::memcpy(out.Data(), used.data(), used.size() * sizeof(uint32_t));
  return out;
}

// mapSnapshotSlots(name, slots): copies of those entries, back to back.
Napi::Value BpfObject::MapSnapshotSlots(const Napi::CallbackInfo& info) {
  auto m = Mapped(info.Env(), info[0].As<Napi::String>());
  auto slots = info[1].As<Napi::Uint32Array>();
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), slots.ElementLength() * m.stride);
  for (size_t i = 0; i < slots.ElementLength(); i++) {
    if (slots[i] >= m.entries) throw BpfError(info.Env(), "read slot of map", ERANGE);
    std::memcpy(out.Data() + i * m.stride, m.data + slots[i] * m.stride, m.stride);
  }
  return out;
}

// pollRing(name, onBatch, onError): starts the one poll thread for this
// object's ring buffer; onBatch(ArrayBuffer) runs on the main thread.
void BpfObject::PollRing(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  auto* map = FindMap(info.Env(), name);
  if (poller_) throw BpfError(info.Env(), "poll ring buffer " + name + " (already polling)", EBUSY);
  poller_ = std::make_unique<RingPoller>();
  int err = poller_->Start(info.Env(), bpf_map__fd(map), info[1].As<Napi::Function>(),
                           info[2].As<Napi::Function>());
  if (err) {
    poller_.reset();
    throw BpfError(info.Env(), "open ring buffer " + name, err);
  }
}

// close(): stops polling, detaches every link, frees programs and maps.
void BpfObject::Close(const Napi::CallbackInfo& info) { Teardown(); }

// flushRing(): the poll thread drains the ring and then delivers an empty
// batch, so JS knows it has every record written before the call.
void BpfObject::FlushRing(const Napi::CallbackInfo& info) {
  if (!poller_) throw BpfError(info.Env(), "flush ring buffer (not polling)", EINVAL);
  poller_->Flush();
}

}  // namespace mltrace
