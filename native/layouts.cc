#include "layouts.h"

#include <linux/types.h>

#include <cstddef>

#include "../probes/faults.h"
#include "../probes/io.h"
#include "../probes/numa.h"
#include "../probes/sched.h"

namespace mltrace {

// {size, fields} of one struct.
static Napi::Object Described(Napi::Env env, size_t size, Napi::Object fields) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", static_cast<uint32_t>(size));
  out.Set("fields", fields);
  return out;
}

// Each field as [offset, size]: TypeScript checks the sizes against the kinds
// it decodes, so a changed header fails loudly instead of decoding garbage.
#define FIELD(obj, type, field)                                              \
  do {                                                                       \
    Napi::Array where = Napi::Array::New(env, 2);                            \
    where.Set(0u, static_cast<uint32_t>(offsetof(type, field)));             \
    where.Set(1u, static_cast<uint32_t>(sizeof(((type*)nullptr)->field)));   \
    (obj).Set(#field, where);                                                \
  } while (0)

static Napi::Object SchedThread(Napi::Env env) {
  using T = struct mlt_sched_thread;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, tid);
  FIELD(f, T, tgid);
  FIELD(f, T, comm);
  FIELD(f, T, start_ns);
  FIELD(f, T, proc_start_ns);
  FIELD(f, T, oncpu_ns);
  FIELD(f, T, runq_wait_ns);
  FIELD(f, T, sleep_ns);
  FIELD(f, T, iowait_ns);
  FIELD(f, T, switches_voluntary);
  FIELD(f, T, switches_involuntary);
  FIELD(f, T, wakeups);
  FIELD(f, T, migrations);
  FIELD(f, T, faults_minor);
  FIELD(f, T, faults_major);
  FIELD(f, T, io_wait_ns);
  FIELD(f, T, runq_hist);
  FIELD(f, T, offcpu_hist);
  FIELD(f, T, off_since);
  FIELD(f, T, phase);
  FIELD(f, T, flags);
  return Described(env, sizeof(T), f);
}

static Napi::Object Neighbour(Napi::Env env) {
  using T = struct mlt_neighbour;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, count);
  FIELD(f, T, comm);
  return Described(env, sizeof(T), f);
}

static Napi::Object ProcEvent(Napi::Env env) {
  using T = struct mlt_proc_event;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, kind);
  FIELD(f, T, pid);
  FIELD(f, T, ppid);
  FIELD(f, T, exit_code);
  FIELD(f, T, ts_ns);
  FIELD(f, T, proc_start_ns);
  FIELD(f, T, comm);
  return Described(env, sizeof(T), f);
}

static Napi::Object SchedConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("COMM_LEN", MLT_COMM_LEN);
  c.Set("HIST_SLOTS", MLT_HIST_SLOTS);
  c.Set("PHASE_DEAD", static_cast<uint32_t>(MLT_PHASE_DEAD));
  c.Set("THREAD_BASELINE", MLT_THREAD_BASELINE);
  c.Set("EV_FORK", static_cast<uint32_t>(MLT_EV_FORK));
  c.Set("EV_EXEC", static_cast<uint32_t>(MLT_EV_EXEC));
  c.Set("EV_EXIT", static_cast<uint32_t>(MLT_EV_EXIT));
  c.Set("CTR_EVENTS_DROPPED", static_cast<uint32_t>(MLT_CTR_EVENTS_DROPPED));
  c.Set("CTR_THREADS_DROPPED", static_cast<uint32_t>(MLT_CTR_THREADS_DROPPED));
  c.Set("CTR_TARGETS_DROPPED", static_cast<uint32_t>(MLT_CTR_TARGETS_DROPPED));
  c.Set("CTR_NEIGHBOURS_DROPPED", static_cast<uint32_t>(MLT_CTR_NEIGHBOURS_DROPPED));
  c.Set("CTR_COUNT", static_cast<uint32_t>(MLT_CTR_COUNT));
  c.Set("MAX_THREADS", MLT_MAX_THREADS);
  c.Set("MAX_TARGETS", MLT_MAX_TARGETS);
  c.Set("EVENTS_BYTES", MLT_EVENTS_BYTES);
  return c;
}

static Napi::Object FaultThread(Napi::Env env) {
  using T = struct mlt_fault_thread;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, exceptions_user);
  FIELD(f, T, exceptions_kernel);
  FIELD(f, T, major_file);
  FIELD(f, T, major_anon);
  FIELD(f, T, major_unclassified);
  FIELD(f, T, major_user);
  FIELD(f, T, major_kernel);
  FIELD(f, T, major_latency_hist);
  FIELD(f, T, reclaim_ns);
  FIELD(f, T, reclaim_stalls);
  return Described(env, sizeof(T), f);
}

static Napi::Object FaultFileKey(Napi::Env env) {
  using T = struct mlt_fault_file_key;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, tgid);
  FIELD(f, T, dev);
  FIELD(f, T, ino);
  return Described(env, sizeof(T), f);
}

static Napi::Object FaultFile(Napi::Env env) {
  using T = struct mlt_fault_file;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, major_faults);
  FIELD(f, T, timed);
  FIELD(f, T, latency_ns);
  FIELD(f, T, name);
  return Described(env, sizeof(T), f);
}

static Napi::Object IoThread(Napi::Env env) {
  using T = struct mlt_io_thread;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, read_ops);
  FIELD(f, T, read_bytes);
  FIELD(f, T, write_ops);
  FIELD(f, T, write_bytes);
  FIELD(f, T, pagecache_misses);
  FIELD(f, T, queue_hist);
  FIELD(f, T, device_hist);
  return Described(env, sizeof(T), f);
}

static Napi::Object IoDevice(Napi::Env env) {
  using T = struct mlt_io_device;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, read_ops);
  FIELD(f, T, read_bytes);
  FIELD(f, T, write_ops);
  FIELD(f, T, write_bytes);
  FIELD(f, T, name);
  return Described(env, sizeof(T), f);
}

static Napi::Object NumaThread(Napi::Env env) {
  using T = struct mlt_numa_thread;
  Napi::Object f = Napi::Object::New(env);
  FIELD(f, T, cross_node_migrations);
  FIELD(f, T, balancing_moves);
  FIELD(f, T, balancing_swaps);
  FIELD(f, T, page_migrations);
  FIELD(f, T, placed);
  FIELD(f, T, wanted);
  Napi::Object out = Described(env, sizeof(T), f);
  out.Set("nodes", MLT_NUMA_NODES);
  return out;
}

Napi::Object Layouts(Napi::Env env) {
  Napi::Object sched = Napi::Object::New(env);
  sched.Set("thread", SchedThread(env));
  sched.Set("neighbour", Neighbour(env));
  sched.Set("procEvent", ProcEvent(env));
  sched.Set("constants", SchedConstants(env));
  Napi::Object faults = Napi::Object::New(env);
  faults.Set("thread", FaultThread(env));
  faults.Set("fileKey", FaultFileKey(env));
  faults.Set("file", FaultFile(env));
  Napi::Object io = Napi::Object::New(env);
  io.Set("thread", IoThread(env));
  io.Set("device", IoDevice(env));
  Napi::Object numa = Napi::Object::New(env);
  numa.Set("thread", NumaThread(env));
  Napi::Object out = Napi::Object::New(env);
  out.Set("sched", sched);
  out.Set("faults", faults);
  out.Set("io", io);
  out.Set("numa", numa);
  return out;
}

}  // namespace mltrace
