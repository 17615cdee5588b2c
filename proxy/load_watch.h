#pragma once
// How far behind the SIP thread is (issue 14): a timer that should fire every Admission::kTick;
// how late it fires, and how many requests and retransmissions nta counted since, go to
// Admission, which decides whether ordinary calls are shed. Each tick also runs `onTick` (the
// B2BUA lets go of what settled calls no longer need). SIP thread only.

#include <chrono>
#include <functional>

#include "proxy/admission.h"
#include "proxy/b2bua_counters.h"
#include "proxy/sofia.h"

namespace sos::proxy {

class LoadWatch {
 public:
  using Tick = std::function<void(std::chrono::steady_clock::time_point)>;
  // `limits` gives the limits in force at each tick (a reload may change them).
  LoadWatch(nta_agent_t* agent, su_root_t* root, Admission& admission, B2buaCounters& counters,
            std::function<config::Limits()> limits, Tick onTick);
  ~LoadWatch();
  LoadWatch(const LoadWatch&) = delete;
  LoadWatch& operator=(const LoadWatch&) = delete;

 private:
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void check();

  nta_agent_t* agent_;
  Admission& admission_;
  B2buaCounters& counters_;
  std::function<config::Limits()> limits_;
  Tick onTick_;
  su_timer_t* timer_ = nullptr;
  std::chrono::steady_clock::time_point due_{};
  usize_t requests_ = 0, retries_ = 0;  // nta's counters at the last tick
};

}  // namespace sos::proxy
