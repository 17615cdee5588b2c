#pragma once
// Lines queued by any thread and written to a file by a thread of the writer's own, all queued
// lines at once and flushed, every `flushEvery`. Queueing never waits on the file and never wakes
// the writer: a line costs the thread that logs it a format, a lock and a move. When the writer
// falls `queueLines` lines behind (a stalled disk, a full pipe), the oldest queued lines go,
// counted, as are lines the file refused.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace sos::proxy {

class LineWriter {
 public:
  // Takes `out` over (closes it at the end) when `ownsOut`; standard output or error otherwise.
  LineWriter(std::FILE* out, bool ownsOut, size_t queueLines, std::chrono::milliseconds flushEvery);
  ~LineWriter();  // writes what is still queued
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  void push(std::string line);  // `line` ends with '\n'
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();

  std::FILE* out_;
  bool ownsOut_;
  size_t queueLines_;
  std::chrono::milliseconds flushEvery_;
  std::mutex mutex_;
  std::condition_variable stopRequested_;
  std::deque<std::string> queue_;  // guarded by mutex_
  bool stop_ = false;              // guarded by mutex_
  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace sos::proxy
