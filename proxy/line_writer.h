#pragma once
// Lines queued by any thread and written to a file by a thread of the writer's own, all queued
// lines at once and flushed, every `flushEvery`. Queueing never waits on the file: a line costs
// the thread that logs it a format, a lock and a move. While lines keep coming the writer comes
// round on its own every `flushEvery`; after a round with nothing to write it sleeps until a
// line (or a reopen, or the end) comes, and the line that finds it asleep wakes it (one
// notification for the first line after a quiet spell; the writer then waits `flushEvery` for
// more before it writes). An idle process's writers do not wake at all.
// When the writer falls `queueLines` lines behind (a stalled disk, a full pipe), the oldest
// queued lines go, counted, as are lines the file refused.
// reopen() has the writer thread open the file by its path again (logrotate moved it away):
// lines queued before the request are written to the old file, later ones to the new.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
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
  // Asks the writer thread to open `path` for appending in place of the file it writes (only
  // when it owns its file). Returns at once; `done` is called on the writer thread with "" once
  // the new file is in use, or with why it could not be opened (the old file is kept then).
  using ReopenDone = std::function<void(const std::string& error)>;
  void reopen(std::string path, ReopenDone done);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // For tests: the writer's rounds so far, and whether it sleeps until a line comes.
  uint64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }
  bool asleep();

 private:
  void run();

  std::FILE* out_;
  bool ownsOut_;
  size_t queueLines_;
  std::chrono::milliseconds flushEvery_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // guarded by mutex_
  bool stop_ = false;              // guarded by mutex_
  bool asleep_ = false;            // guarded by mutex_: the writer waits for a line, untimed
  std::string reopenPath_;         // guarded by mutex_; empty: no reopen asked
  ReopenDone reopenDone_;          // guarded by mutex_
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> rounds_{0};
  std::thread writer_;
};

}  // namespace sos::proxy
