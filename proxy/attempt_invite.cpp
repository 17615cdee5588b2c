// What one attempt's INVITE carries toward its trunk (proxy/attempt_invite.h).
//
// Requests too large for one UDP datagram toward a UDP trunk (issue 14). sosproxy sets nta's
// UDP MTU to 65535 so that nta never moves a request to TCP on its own (a trunk that does not
// take TCP would cost the call 5 s: SOFIA-NOTES 4.2); an INVITE over about 64 KB (a big PIDF-LO,
// a long header) then could not be sent at all, and every UDP trunk answered it with a local
// 503. Now:
// - a trunk with tcp_fallback takes every request over 1300 bytes over TCP, as RFC 3261 18.1.1
//   wants when the path MTU is unknown;
// - otherwise an emergency INVITE that cannot fit is trimmed to what the PSAP needs: the SDP,
//   sosproxy's PIDF-LO by value (pidf and both trunks) and the ELIN (elin and both trunks);
//   the caller's other body parts, their Geolocation values and unknown headers over 1 KB stay
//   behind. The call goes on; the routing log and a warning say so.
// An ordinary call is not trimmed: its body is the caller's business.

#include "proxy/attempt_invite.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "base/clock.h"
#include "proxy/copy_skip.h"

namespace sos::proxy {

namespace {

// RFC 3261 18.1.1: with the path MTU unknown, a request over 1300 bytes goes over a congestion
// controlled transport.
constexpr size_t kTcpAbove = 1300;
// What one UDP datagram can carry (65535 less the IPv4 and UDP headers), less room for what
// sosproxy writes itself (Via, Contact, Max-Forwards, identity).
constexpr size_t kUdpLimit = 65507 - 1024;

bool longUnknown(const msg_header_t* h) {
  if (h->sh_class != sip_unknown_class) return false;
  const auto* u = reinterpret_cast<const sip_unknown_t*>(h);
  return u->un_value && std::strlen(u->un_value) > kLongHeader;
}

// The size of the INVITE send() would build from the caller's `request` and `rewrite`, within
// a few hundred bytes: the caller's header lines as received, its body unless replaced, and
// what the rewrite adds.
size_t estimatedSize(msg_t* request, const EmergencyInvite& rewrite) {
  size_t n = 0;
  if (request) {
    for (const msg_header_t* h = *msg_chain_head(request); h; h = h->sh_succ) {
      if (h->sh_class == sip_payload_class) {
        if (!(rewrite.skip & kSkipBody)) n += reinterpret_cast<const sip_payload_t*>(h)->pl_len;
        continue;
      }
      if ((rewrite.skip & kSkipLongUnknown) && longUnknown(h)) continue;
      n += h->sh_len ? h->sh_len : 128;
    }
  }
  return n + rewrite.contentType.size() + rewrite.body.size() + rewrite.extraHeaders.size();
}

}  // namespace

void logPlanNotes(const std::vector<routing::PlanNote>& notes) {
  for (const auto& n : notes) {
    if (n.level == routing::PlanNote::Level::Error) {
      spdlog::error("{}", n.text);
    } else {
      spdlog::warn("{}", n.text);
    }
  }
}

// What this attempt changes in the caller's INVITE: the PIDF-LO or ELIN for the trunk's mode,
// the shielded body, and what the source could not vouch for taken out.
EmergencyInvite AttemptInvite::forTrunk(Call& call, const config::Trunk& trunk) {
  Call::Plan& p = *call.plan;
  EmergencyInvite rewrite;
  if (p.emergency() && trunk.mode != config::TrunkMode::Plain) {
    // The PIDF-LO or ELIN for this trunk's mode. Building them must never cost the call: on an
    // unexpected failure the INVITE goes as the caller sent it.
    try {
      rewrite = planInvite(trunk, p, p.req, p.device, call.log, call.id);
    } catch (const std::exception& e) {
      ++counters_.emergencyDegraded;
      spdlog::error("call {}: PIDF-LO/ELIN for trunk {} failed ({}); sending without them",
                    p.req.callId, trunk.name, e.what());
      rewrite = EmergencyInvite{};
      call.log.pidf = "failed";
      call.log.elin.clear();
    }
  } else if (p.emergency()) {
    call.log.pidf.clear();
    call.log.elin.clear();
  }
  // A shielded body replaces the caller's (the PSAP's shield, issue 14); a location of ours has
  // already been added to it.
  if (p.bodyShielded && !(rewrite.skip & kSkipBody)) {
    rewrite.skip |= kSkipBody;
    rewrite.contentType = p.req.bodyContentType;
    rewrite.body = p.req.body;
  }
  withoutUnvouched(p, rewrite);
  return rewrite;
}

void AttemptInvite::withoutUnvouched(const Call::Plan& p, EmergencyInvite& rewrite) {
  if (p.vouched.identityDropped) rewrite.skip |= kSkipIdentity;
  if (p.vouched.networkMarkDropped) {
    rewrite.skip |= kSkipAccessNetworkInfo;
    if (!p.req.pAccessNetworkInfo.empty()) {
      rewrite.extraHeaders += (rewrite.extraHeaders.empty() ? "" : "\r\n") +
                              std::string("P-Access-Network-Info: ") + p.req.pAccessNetworkInfo;
    }
  }
}

bool AttemptInvite::overTcp(Call& call, const config::Trunk& trunk, EmergencyInvite& rewrite) {
  if (trunk.transport != config::Transport::Udp || !call.plan) return false;
  Call::Plan& p = *call.plan;
  const size_t size = estimatedSize(p.request, rewrite);
  if (trunk.tcpFallback && size > kTcpAbove) {
    counters_.edge.oversizeOverTcp.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("call {}: INVITE of about {} bytes to {} goes over TCP (tcp_fallback)",
                  call.log.callId, size, trunk.name);
    return true;
  }
  if (size <= kUdpLimit) return false;
  if (!p.emergency()) {
    spdlog::warn(
        "call {}: INVITE of about {} bytes cannot go to UDP trunk {} in one datagram "
        "and the trunk has no tcp_fallback",
        call.log.callId, size, trunk.name);
    return false;
  }
  // The caller's body goes, ours stays: the request as if the caller had sent the SDP alone.
  routing::CallRequest slim = p.req;
  slim.body = p.req.sdp;
  slim.bodyContentType = p.req.sdpContentType;
  slim.bodyHeaders.clear();
  slim.pidfParts.clear();
  slim.geolocation.clear();
  const std::string elin = rewrite.elin;  // already given to this attempt
  EmergencyInvite trimmed;
  if (trunk.mode != config::TrunkMode::Plain) {
    trimmed = planInvite(trunk, p, slim, pidf::DeviceLocationCheck{}, call.log, call.id,
                         elin.empty() ? nullptr : &elin);
  }
  trimmed.skip |= kSkipBody | kSkipBodyHeaders | kSkipGeolocation | kSkipLongUnknown;
  if (trimmed.body.empty()) {  // no location by value on this trunk: the SDP alone
    trimmed.contentType = p.req.sdpContentType;
    trimmed.body = p.req.sdp;
  }
  const size_t after = estimatedSize(p.request, trimmed);
  rewrite = std::move(trimmed);
  counters_.edge.oversizeTrimmed.fetch_add(1, std::memory_order_relaxed);
  const std::string note =
      "INVITE of about " + std::to_string(size / 1024) + " KB too large for UDP trunk " +
      trunk.name + " (no tcp_fallback): trimmed to about " + std::to_string(after / 1024) +
      " KB (SDP" + (rewrite.pidf.empty() ? std::string() : ", sosproxy's PIDF-LO") +
      (rewrite.elin.empty() ? std::string() : ", ELIN") + ")";
  spdlog::warn("call {}: {}", call.log.callId, note);
  call.log.reason += (call.log.reason.empty() ? "" : "; ") + note;
  return false;
}

std::optional<EmergencyInvite> AttemptInvite::elinOnly(Call& call) {
  if (!call.plan || call.plan->elinRetryDone || !state_.elins()) return std::nullopt;
  Call::Plan& p = *call.plan;
  if (p.location() == nullptr) return std::nullopt;
  p.elinRetryDone = true;
  EmergencyInvite retry;
  retry.elin = assignElin(p);
  // No location body and no Geolocation this time: the SDP alone, the ELIN as the caller.
  retry.skip = kSkipBody | kSkipBodyHeaders | kSkipGeolocation |
               (retry.elin.empty() ? 0u : unsigned{kSkipIdentity});
  retry.contentType = p.req.sdpContentType;
  retry.body = p.req.sdp;
  withoutUnvouched(p, retry);
  return retry;
}

std::string AttemptInvite::assignElin(const Call::Plan& plan) {
  routing::ElinAllocator* elins = state_.elins();
  if (elins == nullptr) return {};
  const int64_t nowMs = unixMsNow();
  routing::ElinPlan chosen = routing::CallPlanner::elinFor(plan, *elins, nowMs);
  if (chosen.reusedLive) ++counters_.elinReusedLive;
  if (chosen.fallback) ++counters_.elinFallbacks;
  logPlanNotes(chosen.notes);
  if (chosen.recorded) persistElins(nowMs);
  return chosen.elin;
}

void AttemptInvite::persistElins(int64_t nowMs) {
  routing::ElinAllocator* elins = state_.elins();
  if (!elinSink_ || elins == nullptr) return;
  elins->callbacks().expire(nowMs);  // what is written is only what can still be called back
  elinSink_(elins->callbacks().snapshot());
}

EmergencyInvite AttemptInvite::planInvite(const config::Trunk& trunk, const Call::Plan& plan,
                                          const routing::CallRequest& req,
                                          const pidf::DeviceLocationCheck& device,
                                          RoutingLogEntry& entry, uint64_t seed,
                                          const std::string* elin) {
  const int64_t nowMs = unixMsNow();
  const routing::Resolution* where = plan.where ? &*plan.where : nullptr;
  EmergencyInputs in;
  in.mode = trunk.mode;
  in.location = plan.location();
  in.request = &req;
  in.device = &device;
  in.host = host_;
  in.locSrc = locSrc_;
  in.entity = "pres:" + (plan.caller.empty() ? std::string("caller") : plan.caller) + "@" + host_;
  in.method = where && where->signal == routing::Signal::Bssid ? "802.11" : "Manual";
  in.nowMs = nowMs;
  in.seed = (static_cast<uint64_t>(nowMs) << 20) ^ seed;
  const bool elinMode =
      trunk.mode == config::TrunkMode::Elin || trunk.mode == config::TrunkMode::Both;
  if (elin) {
    in.elin = *elin;  // chosen before, for the same attempt
  } else if (elinMode && in.location) {
    in.elin = assignElin(plan);
  }
  EmergencyInvite invite = planEmergencyInvite(in);
  entry.elin = invite.elin;
  entry.pidf = invite.pidf;
  return invite;
}

}  // namespace sos::proxy
