#include "proxy/admission.h"

#include <algorithm>

namespace sos::proxy {

const char* Admission::admit(TimePoint now, int64_t inProgress) {
  if (draining_) return "sosproxy shutting down";
  if (shedding_ && now < sheddingUntil_) return "sosproxy overloaded";
  if (limits_.maxOrdinaryCalls > 0 && inProgress >= limits_.maxOrdinaryCalls)
    return "ordinary-call limit reached (calls in progress)";
  if (limits_.ordinaryCallsPerSecond <= 0) return nullptr;
  const double rate = limits_.ordinaryCallsPerSecond;
  const double burst = limits_.ordinaryBurst > 0 ? limits_.ordinaryBurst : rate;
  if (!started_) {
    tokens_ = burst;
    tokensAt_ = now;
    started_ = true;
  }
  tokens_ =
      std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - tokensAt_).count());
  tokensAt_ = now;
  if (tokens_ < 1.0) return "ordinary-call limit reached";
  tokens_ -= 1.0;
  return nullptr;
}

// Two signs that the SIP thread cannot keep up: its event loop runs late (a timer fires more
// than overload_lag_ms after it was due), or callers retransmit because our answers come too
// slowly (RFC 3261 timers A/E: 500 ms). The second shows a full socket queue that a punctual
// event loop cannot see.
Admission::Change Admission::observe(TimePoint now, int64_t lateMs, uint64_t requests,
                                     uint64_t retransmissions) {
  Change change;
  const int threshold = limits_.overloadLagMs;
  if (threshold <= 0) {
    if (shedding_) change.kind = Change::Kind::Ended;
    shedding_ = false;
    return change;
  }
  const bool late = lateMs > threshold;
  const bool retransmitting =
      retransmissions >= kRetriesPerTick && retransmissions * 20 >= requests;
  if (late || retransmitting) {
    if (!shedding_) {
      change.kind = Change::Kind::Began;
      change.why = late ? "event loop " + std::to_string(lateMs) + " ms late"
                        : std::to_string(retransmissions) + " of " + std::to_string(requests) +
                              " requests in " + std::to_string(kTick.count()) +
                              " ms were retransmissions";
    }
    shedding_ = true;
    sheddingUntil_ = now + kShedFor;
  } else if (shedding_ && now >= sheddingUntil_) {
    shedding_ = false;
    change.kind = Change::Kind::Ended;
  }
  return change;
}

}  // namespace sos::proxy
