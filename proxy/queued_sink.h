#pragma once
// An spdlog sink for the operational log that never waits on its destination and never wakes
// another thread: the message is formatted on the thread that logs it and queued; a LineWriter
// writes the queue out every few milliseconds. (spdlog's own async logger signals its worker
// once per message, a wake-up the SIP thread would pay for every warning it logs.)

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/line_writer.h"

namespace sos::proxy {

class QueuedSink final : public spdlog::sinks::sink {
 public:
  QueuedSink(std::FILE* out, size_t queueLines, std::chrono::milliseconds flushEvery)
      : writer_(out, false, queueLines, flushEvery),
        formatter_(std::make_unique<spdlog::pattern_formatter>()) {}

  void log(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // a formatter is not thread-safe
      formatter_->format(msg, buf);
    }
    writer_.push(std::string(buf.data(), buf.size()));
  }
  void flush() override {}  // the writer flushes on its own, every flushEvery
  void set_pattern(const std::string& pattern) override {
    std::lock_guard<std::mutex> lock(mutex_);
    formatter_ = std::make_unique<spdlog::pattern_formatter>(pattern);
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard<std::mutex> lock(mutex_);
    formatter_ = std::move(formatter);
  }
  uint64_t dropped() const { return writer_.dropped(); }

 private:
  LineWriter writer_;
  std::mutex mutex_;
  std::unique_ptr<spdlog::formatter> formatter_;
};

}  // namespace sos::proxy
