#pragma once
// Wall-clock time as the store, the logs and the alerts keep it: Unix milliseconds (this host's,
// and the one the nodes sharing a database agree on); and how long something took, on the
// steady clock, in milliseconds as the logs print them.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sos {

inline int64_t unixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The clock of the nodes that share one database: this host's wall clock plus its offset to the
// database server's clock, as the node's store watch last measured it (once a second; 0 until
// then, and with SQLite, where there is one host). Times that other nodes compare with their own
// (heartbeats, alert claims and their leases, escalation and retry times) are taken from it, so
// a host whose clock is off neither finds the others dead nor takes their claims early.
namespace detail {
inline std::atomic<int64_t>& sharedClockOffset() {
  static std::atomic<int64_t> offsetMs{0};
  return offsetMs;
}
}  // namespace detail

inline int64_t sharedClockOffsetMs() {
  return detail::sharedClockOffset().load(std::memory_order_relaxed);
}
inline void setSharedClockOffsetMs(int64_t offsetMs) {
  detail::sharedClockOffset().store(offsetMs, std::memory_order_relaxed);
}
inline int64_t sharedMsNow() { return unixMsNow() + sharedClockOffsetMs(); }

// How far another clock, read once between two readings of this host's, is ahead of this one
// (negative: behind): its reading less the midpoint of the two.
inline int64_t clockOffsetMs(int64_t localBeforeMs, int64_t otherMs, int64_t localAfterMs) {
  return otherMs - (localBeforeMs + (localAfterMs - localBeforeMs) / 2);
}

inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace sos
