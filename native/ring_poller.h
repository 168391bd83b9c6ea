// The one background thread per ring buffer: it waits in epoll, drains every
// ready record into one batch, and hands the whole batch to JS through one
// ThreadSafeFunction, so the event loop never blocks and never sees a record
// at a time.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace mltrace {

class RingPoller {
 public:
  // Main thread. Returns 0 or a positive errno.
  int Start(Napi::Env env, int map_fd, Napi::Function on_batch, Napi::Function on_error);
  // Main thread. Asks the poll thread to drain the ring and then deliver an
  // empty batch: JS then holds every record written before this call.
  void Flush();
  // Main thread. Joins the poll thread; safe to call twice.
  void Stop();
  ~RingPoller() { Stop(); }

 private:
  static int OnRecord(void* ctx, void* data, size_t size);  // poll thread
  void Run();                                              // poll thread
  void Deliver(std::vector<uint8_t>* batch);               // poll thread

  struct ring_buffer* ring_ = nullptr;
  int wake_fd_ = -1;  // eventfd Stop() and Flush() ring to end the poll
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> flush_pending_{false};
  Napi::ThreadSafeFunction batches_;
  Napi::ThreadSafeFunction errors_;
  // Records framed as [u32 size][u32 zero][bytes, padded to 8].
  std::vector<uint8_t> batch_;
};

}  // namespace mltrace
