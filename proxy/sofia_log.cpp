#include "proxy/sofia_log.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "proxy/sofia.h"

namespace sos::proxy::sofia_log {
namespace {

std::atomic<uint64_t> gSuppressed{0};
std::mutex gMutex;     // Sofia may log from any thread that calls into it
std::string gPartial;  // a line Sofia writes in pieces, until its newline
int64_t gWindowSecond = -1;
int gWindowLines = 0;
uint64_t gUnreported = 0;

int64_t nowSecond() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A new second: the count of the last one's left-out lines, then a fresh window.
void roll(int64_t second) {
  if (second == gWindowSecond) return;
  if (gUnreported > 0) {
    spdlog::warn("sofia: {} more line(s) of Sofia's log not written (at most {} a second)",
                 gUnreported, kLinesPerSecond);
  }
  gUnreported = 0;
  gWindowSecond = second;
  gWindowLines = 0;
}

void write(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty()) return;
  roll(nowSecond());
  if (++gWindowLines > kLinesPerSecond) {
    ++gUnreported;
    gSuppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  spdlog::warn("sofia: {}", line);
}

void logger(void*, const char* fmt, va_list ap) {
  char buf[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  try {
    std::lock_guard<std::mutex> lock(gMutex);
    gPartial.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
    size_t nl;
    while ((nl = gPartial.find('\n')) != std::string::npos) {
      std::string line = gPartial.substr(0, nl);
      gPartial.erase(0, nl + 1);
      write(std::move(line));
    }
    if (gPartial.size() > 4096) write(std::exchange(gPartial, std::string()));
  } catch (...) {
  }
}

}  // namespace

void redirect() {
  for (const char* v : {"SOFIA_DEBUG", "NTA_DEBUG", "TPORT_DEBUG", "TPORT_LOG"})
    if (std::getenv(v) != nullptr) return;
  su_log_redirect(nullptr, logger, nullptr);
}

void flush() {
  try {
    std::lock_guard<std::mutex> lock(gMutex);
    roll(nowSecond());
  } catch (...) {
  }
}

uint64_t suppressed() { return gSuppressed.load(std::memory_order_relaxed); }

}  // namespace sos::proxy::sofia_log
