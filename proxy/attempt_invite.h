#pragma once
// What one attempt's INVITE carries toward its trunk (issues 3, 4 and 14): the PIDF-LO and/or
// ELIN for the trunk's mode, the caller's body as the shield left it, what the source could not
// vouch for taken out, and, for a request too large for one UDP datagram, TCP or a trimmed
// INVITE. The ELIN it assigns is mapped for the PSAP's callback and the map handed to the
// store. The decisions are routing::CallPlanner's; this turns them into an EmergencyInvite for
// SipRelay::send. SIP thread only.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/callback.h"
#include "proxy/b2bua_counters.h"
#include "proxy/call.h"
#include "proxy/emergency_invite.h"
#include "routing/call_planner.h"
#include "routing/planner_state.h"

namespace sos::proxy {

// The planner's notes as operational log lines (warning, or error).
void logPlanNotes(const std::vector<routing::PlanNote>& notes);

class AttemptInvite {
 public:
  // Where ELIN -> caller mappings go after each assignment (the store, via the I/O thread).
  using ElinSink = std::function<void(std::vector<model::CallbackTarget>)>;

  // `host`: our address, for Content-IDs and the PIDF-LO's entity.
  AttemptInvite(routing::PlannerState& state, B2buaCounters& counters, std::string host)
      : state_(state), counters_(counters), host_(std::move(host)) {}

  // Our host name for loc-src (RFC 8787), from the configuration in force.
  void setLocSrc(std::string locSrc) { locSrc_ = std::move(locSrc); }
  void setElinSink(ElinSink sink) { elinSink_ = std::move(sink); }

  // What this attempt changes in the caller's INVITE. Building the location must never cost
  // the call: on an unexpected failure the INVITE goes as the caller sent it (counted, logged,
  // "pidf=failed" in the routing log). Fills the call's log entry's elin and pidf fields.
  EmergencyInvite forTrunk(Call& call, const config::Trunk& trunk);
  // A request too large for one UDP datagram toward a UDP trunk: true when it goes over TCP
  // (the trunk's tcp_fallback); otherwise an emergency INVITE's `rewrite` is trimmed to what
  // the PSAP needs so that it fits, and the call's log entry says so.
  bool overTcp(Call& call, const config::Trunk& trunk, EmergencyInvite& rewrite);
  // The INVITE again after a 424 to our PIDF-LO (RFC 6442 section 4.3): the SDP alone, no
  // Geolocation, the ELIN as the caller. Empty when the call has no location or ELIN pool, or
  // had its retry.
  std::optional<EmergencyInvite> elinOnly(Call& call);
  // The ELIN for an attempt of `plan` (routing::CallPlanner::elinFor), counted, logged and its
  // mapping handed to the store.
  std::string assignElin(const Call::Plan& plan);

 private:
  // PIDF-LO and/or ELIN for the trunk's mode, for `req` (the plan's, or a trimmed one); fills
  // the log entry's elin/pidf fields.
  EmergencyInvite planInvite(const config::Trunk& trunk, const Call::Plan& plan,
                             const routing::CallRequest& req,
                             const pidf::DeviceLocationCheck& device, RoutingLogEntry& entry,
                             uint64_t seed, const std::string* elin = nullptr);
  // What the source could not vouch for leaves without it (issue 14).
  static void withoutUnvouched(const Call::Plan& p, EmergencyInvite& rewrite);
  void persistElins(int64_t nowMs);

  routing::PlannerState& state_;
  B2buaCounters& counters_;
  std::string host_;
  std::string locSrc_;
  ElinSink elinSink_;
};

}  // namespace sos::proxy
