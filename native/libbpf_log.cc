#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <mutex>

namespace mltrace {

static std::atomic<bool> verbose{false};
static std::mutex kept_mutex;
static std::deque<std::string> kept;
static constexpr size_t kKeptLines = 40;

static int PrintFromLibbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (verbose.load()) return vfprintf(stderr, fmt, args);
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard<std::mutex> lock(kept_mutex);
  kept.emplace_back(line);
  if (kept.size() > kKeptLines) kept.pop_front();
  return 0;
}

void InstallLibbpfLog() { libbpf_set_print(PrintFromLibbpf); }

void SetLibbpfVerbose(bool on) { verbose.store(on); }


std::string TakeRecentLog() {
  std::lock_guard<std::mutex> lock(kept_mutex);
  std::string all;
  for (const auto& line : kept) all += line;
  kept.clear();
  return all;
}

}  // namespace mltrace
