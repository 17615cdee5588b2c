#pragma once
// Durations in the routing tests, in the Unix milliseconds the routing library takes.

#include <cstdint>

namespace sos::routing {

inline constexpr int64_t kMinute = 60'000;
inline constexpr int64_t kHour = 60 * kMinute;

}  // namespace sos::routing
