// The outbox's writer thread (see outbox_writer.h).

#include "notify/outbox_writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <exception>

#include "store/store.h"

namespace sos::notify {

Result<std::unique_ptr<OutboxWriter>> OutboxWriter::start(const std::string& path, Write write) {
  // A PostgreSQL server that does not answer now is connected to when it does (until then
  // each write fails as in an outage of a running node).
  std::string unreachable;
  auto opened =
      store::Store::openWhenReachable(path, store::Store::Synchronous::Full, &unreachable);
  if (!opened.ok()) {
    return opened.error();
  }
  if (!unreachable.empty()) {
    spdlog::warn("responder alerts: the outbox's writer waits for its database: {}", unreachable);
  }
  return std::unique_ptr<OutboxWriter>(
      new OutboxWriter(std::move(opened).value(), std::move(write)));
}

OutboxWriter::OutboxWriter(std::unique_ptr<store::Store> store, Write write)
    : store_(std::move(store)), write_(std::move(write)), thread_([this] { run(); }) {}

OutboxWriter::~OutboxWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void OutboxWriter::submit(CallEvent event) {
  const SteadyTime now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back(std::move(event), now);
  }
  wake_.notify_one();
}

void OutboxWriter::run() {
  pthread_setname_np(pthread_self(), "sos-outbox");  // top -H, gdb
  std::vector<std::pair<CallEvent, SteadyTime>> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and nothing is left to write
      }
      batch.swap(queue_);
    }
    // Written one by one in the order they came: each event's jobs are handed on as soon as
    // they are on the disk, not after the whole batch.
    for (auto& [event, queuedAt] : batch) {
      try {
        write_(*store_, std::move(event), queuedAt);
      } catch (const std::exception& e) {
        spdlog::error("responder alerts: outbox writer: internal error: {}", e.what());
      } catch (...) {
        spdlog::error("responder alerts: outbox writer: internal error");
      }
    }
    batch.clear();
  }
}

}  // namespace sos::notify
