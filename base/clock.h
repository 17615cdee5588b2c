#pragma once
// Wall-clock time as the store, the logs and the alerts keep it: Unix milliseconds; and how
// long something took, on the steady clock, in milliseconds as the logs print them.

#include <chrono>
#include <cstdint>

namespace sos {

inline int64_t unixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace sos
