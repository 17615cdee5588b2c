// The emergency side of the B2BUA (issues 3 and 4): what the PSAP receives (PIDF-LO, ELIN), the
// 424 retry, and the ELIN callback map handed to the store. The decisions are
// routing::CallPlanner's. SIP thread only, like the rest of B2bua.

#include <spdlog/spdlog.h>
#include <strings.h>

#include "base/clock.h"
#include "base/text.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

void B2bua::persistElins(int64_t nowMs) {
  routing::ElinAllocator* elins = state_.elins();
  if (!elinSink_ || elins == nullptr) return;
  elins->callbacks().expire(nowMs);  // what is written is only what can still be called back
  elinSink_(elins->callbacks().snapshot());
}

void B2bua::setLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot) {
  state_.setLocations(std::move(snapshot), router_->config().location.callbackWindowSeconds * 1000);
}

std::string B2bua::assignElin(const Call::Plan& plan) {
  routing::ElinAllocator* elins = state_.elins();
  if (elins == nullptr) return {};
  const int64_t nowMs = unixMsNow();
  routing::ElinPlan chosen = routing::CallPlanner::elinFor(plan, *elins, nowMs);
  if (chosen.reusedLive) ++counters_.elinReusedLive;
  if (chosen.fallback) ++counters_.elinFallbacks;
  writeNotes(chosen.notes);
  if (chosen.recorded) persistElins(nowMs);
  return chosen.elin;
}

EmergencyInvite B2bua::planInvite(const config::Trunk& trunk, const Call::Plan& plan,
                                  const routing::CallRequest& req,
                                  const pidf::DeviceLocationCheck& device, RoutingLogEntry& entry,
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
  in.seed = (static_cast<uint64_t>(nowMs) << 20) ^ nextId_;
  const bool elinMode =
      trunk.mode == config::TrunkMode::Elin || trunk.mode == config::TrunkMode::Both;
  if (elin)
    in.elin = *elin;  // chosen before, for the same attempt
  else if (elinMode && in.location)
    in.elin = assignElin(plan);
  EmergencyInvite invite = planEmergencyInvite(in);
  entry.elin = invite.elin;
  entry.pidf = invite.pidf;
  return invite;
}

bool B2bua::retryWithElinOnly(Call& call, Branch& br) {
  if (!call.plan || call.plan->elinRetryDone || !br.pidfAdded || !state_.elins()) return false;
  Call::Plan& p = *call.plan;
  if (p.location() == nullptr) return false;
  p.elinRetryDone = true;
  EmergencyInvite plan;
  plan.elin = assignElin(p);
  // No location body and no Geolocation this time: the SDP alone, the ELIN as the caller.
  plan.skip = kSkipBody | kSkipBodyHeaders | kSkipGeolocation |
              (plan.elin.empty() ? 0u : unsigned{kSkipIdentity});
  plan.contentType = p.req.sdpContentType;
  plan.body = p.req.sdp;
  withoutUnvouched(p, plan);

  // Same dialog identifiers (Call-ID, From-tag), next CSeq: a retry of the same request
  // (RFC 3261 8.1.3.5); send() puts the ELIN in the From user part.
  nta_outgoing_t* orq = send(
      call.b, &br, sip_method_invite, "INVITE", p.request, URL_STRING_MAKE(br.requestUri.c_str()),
      URL_STRING_MAKE(br.nextHop.c_str()), p.maxForwards, &plan, onBranchResponse);
  if (orq == nullptr) return false;
  br.oldOrqs.push_back(br.orq);
  br.orq = orq;
  br.cseq = nta_outgoing_cseq(orq);
  br.pidfAdded = false;
  br.final = false;
  call.invite->outCseq = br.cseq;
  RoutingLogEntry e = call.log;
  e.event = "retry";
  e.outcome = "routed";
  e.status = 424;
  e.elin = plan.elin;
  e.pidf = "";
  e.addedMs = -1;
  e.reason = "424 Bad Location Information: same trunk again with ELIN only";
  ++counters_.locationRetries424;
  log_.write(e);
  call.log.elin = plan.elin;
  call.log.pidf = "";
  call.attempts += (call.attempts.empty() ? "" : " ") + br.trunk + ":424";
  spdlog::warn("call {}: trunk {} refused the location (424); retrying with ELIN {} only",
               call.log.callId, br.trunk, plan.elin);
  return true;
}

}  // namespace sos::proxy
