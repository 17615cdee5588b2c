#pragma once
// Wall-clock time as the store, the logs and the alerts keep it: Unix milliseconds.

#include <chrono>
#include <cstdint>

namespace sos {

inline int64_t unixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sos
