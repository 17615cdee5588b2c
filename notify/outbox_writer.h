#pragma once
// The outbox's own writer (issue 14): an emergency call's alerts are on the disk the moment the
// call is routed, whatever the I/O thread is busy with, and the call never waits for it.
//
// Threads: submit() is called by the SIP thread (or any other) and costs it a lock held for a
// push and a wake-up: it never waits on SQLite or on I/O. The writer's own thread ("sos-outbox")
// takes what is queued and hands each event to `write` with the writer's Store, a connection of
// its own to the database file with synchronous=FULL (a commit that returned is on the disk,
// not only in the operating system's cache). `write` runs on that thread only; handing what it
// wrote on to the I/O thread is its business (notifier.cpp).
//
// The queue has no cap: every event is an emergency call's, and an event dropped is an alert
// lost, while a few hundred bytes each cost nothing.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "notify/event.h"

namespace sos::store {
class Store;
}

namespace sos::notify {

class OutboxWriter {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // Writes one event through `store` (the writer's); `queuedAt` is when submit() took it.
  using Write = std::function<void(store::Store& store, CallEvent event, SteadyTime queuedAt)>;

  // Opens the writer's connection to the database file at `path` and starts its thread. The
  // Error says why the connection could not be opened (no thread is started then); a
  // PostgreSQL server that does not answer yet is not an error (Store::openWhenReachable).
  static Result<std::unique_ptr<OutboxWriter>> start(const std::string& path, Write write);
  // Writes what is still queued, then ends the thread.
  ~OutboxWriter();
  OutboxWriter(const OutboxWriter&) = delete;
  OutboxWriter& operator=(const OutboxWriter&) = delete;

  // Any thread: queues the event for writing and returns.
  void submit(CallEvent event);

 private:
  OutboxWriter(std::unique_ptr<store::Store> store, Write write);
  void run();

  std::unique_ptr<store::Store> store_;  // the writer thread's only
  Write write_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::pair<CallEvent, SteadyTime>> queue_;  // guarded by mutex_
  bool stop_ = false;                                    // guarded by mutex_
  std::thread thread_;
};

}  // namespace sos::notify
