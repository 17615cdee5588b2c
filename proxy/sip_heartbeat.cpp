#include "proxy/sip_heartbeat.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sos::proxy {

std::chrono::milliseconds SipHeartbeat::interval(std::chrono::microseconds watchdog) {
  if (watchdog.count() <= 0) return kHeartbeatEvery;
  const auto quarter = std::chrono::duration_cast<std::chrono::milliseconds>(watchdog / 4);
  return std::clamp(quarter, std::chrono::milliseconds(1), kHeartbeatEvery);
}

SipHeartbeat::SipHeartbeat(su_root_t* root, SipHealth& health, DownTrunks downTrunks,
                           const SystemdNotifier* systemd, Trunks trunks)
    : health_(health),
      downTrunks_(std::move(downTrunks)),
      systemd_(systemd),
      every_(interval(systemd ? systemd->watchdog() : std::chrono::microseconds(0))),
      trunks_(std::move(trunks)) {
  if (systemd_ && systemd_->watchdog().count() > 0) pingEvery_ = systemd_->watchdog() / 4;
  timer_ = su_timer_create(su_root_task(root), static_cast<su_duration_t>(every_.count()));
  if (timer_ == nullptr)
    spdlog::error("SIP heartbeat: no timer; /healthz will say the SIP thread is not live");
  tick();
}

SipHeartbeat::~SipHeartbeat() {
  if (timer_) su_timer_destroy(timer_);
}

void SipHeartbeat::onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  reinterpret_cast<SipHeartbeat*>(arg)->tick();
}

void SipHeartbeat::tick() {
  const auto now = std::chrono::steady_clock::now();
  health_.beat(now);
  if (downTrunks_) {
    auto down = downTrunks_();
    if (down != down_) {
      down_ = down;
      health_.setDownTrunks(std::move(down));
    }
  }
  if (trunks_) {
    if (auto status = trunks_(trunksVersion_)) health_.setTrunks(std::move(*status));
  }
  // A late tick still pings only if the loop turned: that is the point of pinging from here.
  if (pingEvery_.count() > 0 && now - lastPing_ + every_ / 2 >= pingEvery_) {
    systemd_->notify("WATCHDOG=1");
    lastPing_ = now;
  }
  // Re-armed each time (not a periodic timer): a loop that was late does not catch up with a
  // burst of beats that would look like health.
  if (timer_) {
    su_timer_set_interval(timer_, onTick, reinterpret_cast<su_timer_arg_t*>(this),
                          static_cast<su_duration_t>(every_.count()));
  }
}

}  // namespace sos::proxy
