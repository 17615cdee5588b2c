#pragma once
// Whether a new ordinary call may go on (issues 5 and 14; a class of its own since issue 15):
// a token bucket of new calls per second, a cap on ordinary calls in progress, overload shedding
// while the SIP thread cannot keep up, and refusal while sosproxy is stopping. Emergency calls
// and PSAP callbacks never come here. Pure: no Sofia, no clock of its own; the time and what
// the SIP thread observed are passed in, so the rules are table-tested without real time.
// Lives on the SIP thread.

#include <chrono>
#include <cstdint>
#include <string>

#include "config/config.h"

namespace sos::proxy {

class Admission {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::milliseconds kTick{100};  // how often observe() is called
  static constexpr std::chrono::seconds kShedFor{2};      // shedding lasts past the last sign
  static constexpr uint64_t kRetriesPerTick = 3;          // fewer are ordinary UDP loss

  explicit Admission(config::Limits limits = {}) : limits_(limits) {}
  // A reloaded configuration's limits; the bucket and shedding carry on.
  void setLimits(config::Limits limits) { limits_ = limits; }

  // Why a new ordinary call may not go on at `now` with `inProgress` ordinary calls up, or
  // nullptr when it may (and then it has taken its token).
  const char* admit(TimePoint now, int64_t inProgress);

  // One overload check, every kTick: `lateMs` is how late the check's timer fired, `requests`
  // and `retransmissions` how many came in since the last check.
  struct Change {
    enum class Kind { None, Began, Ended } kind = Kind::None;
    std::string why;  // Began: "event loop 250 ms late", "12 of 80 requests in 100 ms were ..."
  };
  Change observe(TimePoint now, int64_t lateMs, uint64_t requests, uint64_t retransmissions);

  // The process is stopping (issue 14): from now on new ordinary calls get 503; emergency calls
  // and PSAP callbacks are still routed, calls in progress go on.
  void startDraining() { draining_ = true; }
  bool draining() const { return draining_; }
  bool shedding() const { return shedding_; }
  // Whether new work that can wait (a scheduled test call) should: shedding or draining.
  bool busy() const { return shedding_ || draining_; }

 private:
  config::Limits limits_;
  double tokens_ = 0;
  TimePoint tokensAt_{};
  bool started_ = false;
  bool shedding_ = false;
  TimePoint sheddingUntil_{};
  bool draining_ = false;
};

}  // namespace sos::proxy
