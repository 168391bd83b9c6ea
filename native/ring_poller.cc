#include "ring_poller.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mltrace {

// The poll thread sleeps until records arrive or Stop() wakes it: no timer,
// so an idle session costs no wake-ups at all.
static constexpr int kPollForever = -1;

int RingPoller::Start(Napi::Env env, int map_fd, Napi::Function on_batch, Napi::Function on_error) {
  ring_ = ring_buffer__new(map_fd, &RingPoller::OnRecord, this, nullptr);
  if (!ring_) return errno ? errno : EINVAL;
  // Stop()'s doorbell, in the ring's own epoll set. libbpf reads an event's
  // data as the index of the ring to drain: 0, our only ring, so a ring of
  // the doorbell just drains that ring once more and returns from the poll.
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    ring_buffer__free(ring_);
    ring_ = nullptr;
    return err;
  }
  epoll_event doorbell{};
  doorbell.events = EPOLLIN;
  doorbell.data.fd = 0;
  if (epoll_ctl(ring_buffer__epoll_fd(ring_), EPOLL_CTL_ADD, wake_fd_, &doorbell) != 0) {
    int err = errno;
    close(wake_fd_);
    wake_fd_ = -1;
    ring_buffer__free(ring_);
    ring_ = nullptr;
    return err;
  }
  batches_ = Napi::ThreadSafeFunction::New(env, on_batch, "mltrace-ring-batches", 0, 1);
  errors_ = Napi::ThreadSafeFunction::New(env, on_error, "mltrace-ring-errors", 0, 1);
  thread_ = std::thread(&RingPoller::Run, this);
  return 0;
}

int RingPoller::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingPoller*>(ctx);
  uint32_t header[2] = {static_cast<uint32_t>(size), 0};
  auto& b = self->batch_;
  const auto* h = reinterpret_cast<const uint8_t*>(header);
  b.insert(b.end(), h, h + sizeof(header));
  const auto* d = static_cast<const uint8_t*>(data);
  b.insert(b.end(), d, d + size);
  b.resize((b.size() + 7) / 8 * 8, 0);
  return 0;
}

void RingPoller::Run() {
  while (!stopping_.load()) {
    int n = ring_buffer__poll(ring_, kPollForever);
    if (n < 0 && n != -EINTR) {
      auto* err = new int(-n);
      errors_.NonBlockingCall(err, [](Napi::Env env, Napi::Function fn, int* e) {
        std::string message = std::string("failed to poll ring buffer: ") + std::strerror(*e);
        fn.Call({Napi::String::New(env, message), Napi::Number::New(env, *e)});
        delete e;
      });
      break;
    }
    // The doorbell is level-triggered: quiet it, or every poll returns at once.
    uint64_t rings;
    if (read(wake_fd_, &rings, sizeof(rings)) < 0) {
      // EAGAIN: nobody rang
    }
    // A flush asked for after the drain above is served by one more drain
    // here, in this thread (libbpf's ring consumer is not thread-safe).
    bool flush = flush_pending_.exchange(false);
    if (flush) ring_buffer__consume(ring_);
    if (!batch_.empty()) {
      Deliver(new std::vector<uint8_t>(std::move(batch_)));
      batch_.clear();
    }
    if (flush) Deliver(new std::vector<uint8_t>());  // the marker: an empty batch
  }
}

void RingPoller::Deliver(std::vector<uint8_t>* batch) {
  napi_status status = batches_.NonBlockingCall(batch, [](Napi::Env env, Napi::Function fn, std::vector<uint8_t>* b) {
    auto buffer = Napi::ArrayBuffer::New(env, b->size());
    if (!b->empty()) std::memcpy(buffer.Data(), b->data(), b->size());
    delete b;
    fn.Call({buffer});
  });
  if (status != napi_ok) delete batch;  // JS is shutting down
}

void RingPoller::Flush() {
  if (!ring_) return;
  flush_pending_.store(true);
  uint64_t ring = 1;
  if (write(wake_fd_, &ring, sizeof(ring)) < 0) {
    // as in Stop()
  }
}

void RingPoller::Stop() {
  if (!ring_) return;
  stopping_.store(true);
  uint64_t ring = 1;
  if (write(wake_fd_, &ring, sizeof(ring)) < 0) {
    // An eventfd write fails only past 2^64-2 rings: the thread is awake anyway.
  }
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
  wake_fd_ = -1;
  batches_.Release();
  errors_.Release();
  ring_buffer__free(ring_);
  ring_ = nullptr;
}

}  // namespace mltrace
