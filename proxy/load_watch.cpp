#include "proxy/load_watch.h"

#include <spdlog/spdlog.h>

namespace sos::proxy {

LoadWatch::LoadWatch(nta_agent_t* agent, su_root_t* root, Admission& admission,
                     B2buaCounters& counters, std::function<config::Limits()> limits, Tick onTick)
    : agent_(agent),
      admission_(admission),
      counters_(counters),
      limits_(std::move(limits)),
      onTick_(std::move(onTick)) {
  timer_ = su_timer_create(su_root_task(root), Admission::kTick.count());
  if (timer_) su_timer_set(timer_, onTimer, this);
}

LoadWatch::~LoadWatch() {
  if (timer_) su_timer_destroy(timer_);
}

void LoadWatch::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* self = static_cast<LoadWatch*>(arg);
  try {
    self->check();
    self->onTick_(std::chrono::steady_clock::now());
  } catch (...) {
    spdlog::error("overload check or call settling: internal error");
  }
  self->due_ = std::chrono::steady_clock::now() + Admission::kTick;
  su_timer_set(self->timer_, onTimer, arg);
}

void LoadWatch::check() {
  const auto now = std::chrono::steady_clock::now();
  usize_t requests = 0, retries = 0;
  nta_agent_get_stats(agent_, NTATAG_S_RECV_REQUEST_REF(requests), NTATAG_S_RECV_RETRY_REF(retries),
                      TAG_END());
  const usize_t newRequests = requests - requests_, newRetries = retries - retries_;
  requests_ = requests;
  retries_ = retries;
  if (due_ == std::chrono::steady_clock::time_point{}) return;  // the first tick
  admission_.setLimits(limits_());
  const auto change = admission_.observe(
      now, std::chrono::duration_cast<std::chrono::milliseconds>(now - due_).count(), newRequests,
      newRetries);
  if (change.kind == Admission::Change::Kind::Began) {
    ++counters_.overloads;
    spdlog::warn(
        "overloaded ({}): refusing new ordinary calls (503) for 2 s; emergency calls are not "
        "affected",
        change.why);
  } else if (change.kind == Admission::Change::Kind::Ended) {
    spdlog::info("caught up: ordinary calls accepted again");
  }
}

}  // namespace sos::proxy
