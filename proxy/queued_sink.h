#pragma once
// An spdlog sink for the operational log that never waits on its destination and never wakes
// another thread: the message is formatted on the thread that logs it and queued; a LineWriter
// writes the queue out every few milliseconds. (spdlog's own async logger signals its worker
// once per message, a wake-up the SIP thread would pay for every warning it logs.)
// With `syslogPrefixes` each line starts with its syslog priority, "<4>" for a warning: journald
// reads the prefix of a line on a service's standard error as the entry's priority (issue 21).

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
#include "proxy/systemd.h"

namespace sos::proxy {

class QueuedSink final : public spdlog::sinks::sink {
 public:
  QueuedSink(std::FILE* out, size_t queueLines, std::chrono::milliseconds flushEvery,
             bool syslogPrefixes = false)
      : writer_(out, false, queueLines, flushEvery),
        formatter_(std::make_unique<spdlog::pattern_formatter>()),
        syslogPrefixes_(syslogPrefixes) {}

  void log(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // a formatter is not thread-safe
      formatter_->format(msg, buf);
    }
    if (!syslogPrefixes_) {
      writer_.push(std::string(buf.data(), buf.size()));
      return;
    }
    // Every line of a multi-line message gets the prefix: journald makes each an entry.
    const char prefix[] = {'<', static_cast<char>('0' + syslogPriority(msg.level)), '>'};
    std::string line(prefix, sizeof prefix);
    for (size_t i = 0; i < buf.size(); ++i) {
      line += buf.data()[i];
      if (buf.data()[i] == '\n' && i + 1 < buf.size()) line.append(prefix, sizeof prefix);
    }
    writer_.push(std::move(line));
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
  bool syslogPrefixes_;
};

}  // namespace sos::proxy
