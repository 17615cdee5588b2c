#pragma once
// The SIP thread's heartbeat (issue 21): a Sofia timer on the SIP thread's own event loop that,
// each time it fires, stamps SipHealth (for /healthz), hands over the trunks the OPTIONS probes
// found down (for /readyz) and, when it changed, what is known of each trunk (the dashboard),
// and sends systemd's WATCHDOG=1 when a watchdog was asked for. A SIP thread that is wedged
// stops all of it; no other thread can send them in its place.
// Lives on the SIP thread: created, fired and destroyed there.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/health.h"
#include "proxy/sofia.h"
#include "proxy/systemd.h"

namespace sos::proxy {

class SipHeartbeat {
 public:
  using DownTrunks = std::function<std::vector<std::string>()>;
  // The trunks' status when it changed since `version` (which it updates), else nullopt.
  using Trunks = std::function<std::optional<std::vector<TrunkStatus>>(uint64_t& version)>;

  // Beats at once, then every interval(). `systemd` may be null (no watchdog); it must outlive
  // the heartbeat.
  SipHeartbeat(su_root_t* root, SipHealth& health, DownTrunks downTrunks,
               const SystemdNotifier* systemd, Trunks trunks = nullptr);
  ~SipHeartbeat();
  SipHeartbeat(const SipHeartbeat&) = delete;
  SipHeartbeat& operator=(const SipHeartbeat&) = delete;

  // How often it fires: kHeartbeatEvery, or a quarter of a shorter watchdog interval.
  static std::chrono::milliseconds interval(std::chrono::microseconds watchdog);

 private:
  static void onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void tick();

  SipHealth& health_;
  DownTrunks downTrunks_;
  const SystemdNotifier* systemd_;
  std::chrono::milliseconds every_;
  std::chrono::microseconds pingEvery_{0};  // a quarter of the watchdog interval; 0: no pings
  SteadyTime lastPing_{};
  std::vector<std::string> down_;  // as last handed over
  Trunks trunks_;
  uint64_t trunksVersion_ = 0;  // of what was last handed over
  su_timer_t* timer_ = nullptr;
};

}  // namespace sos::proxy
