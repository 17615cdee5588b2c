// The B2BUA's side of responder alerts (issue 6): emergency-call events handed to the notifier
// (its SIP MESSAGEs are sent by proxy/message_sender.h). SIP thread only, like the rest of
// B2bua. Nothing here waits: events go to the I/O thread through the sink.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

void B2bua::alert(Call& call, notify::EventKind kind, std::string detail) {
  if (!eventSink_ || !call.alerting) return;
  notify::CallEvent e;
  e.kind = kind;
  e.callId = call.log.callId;
  e.atMs = unixMsNow();
  e.test = call.log.test;
  e.site = call.log.site;
  e.dialed = call.log.dialed;
  e.callerExtension = call.log.caller;
  e.location = call.log.location;
  e.locationBy = call.log.locationBy;
  e.trunk = call.log.trunk;
  e.detail = std::move(detail);
  e.callbackNumber = call.log.elin;
  if (call.plan && call.plan->where) {
    const routing::Resolution& where = *call.plan->where;
    if (where.location) e.address = where.location->civic.oneLine();
    if (where.user) {
      e.callerName = where.user->name;
      e.callerExtension = where.user->extension;
      // Without an ELIN the PSAP calls the caller's own number back.
      if (e.callbackNumber.empty()) e.callbackNumber = where.user->did;
    }
  }
  try {
    eventSink_(std::move(e));
  } catch (const std::exception& ex) {
    // An alert that cannot be queued must not cost the call; the notifier counts its own losses.
    spdlog::error("call {}: responder alert not queued: {}", call.log.callId, ex.what());
  }
}

bool B2bua::alertUntrusted(const routing::CallRequest& req, const routing::RouteDecision& decision,
                           const std::string& source, bool answered) {
  if (!eventSink_) return false;
  const auto& sites = router_->config().sites;
  if (std::none_of(sites.begin(), sites.end(),
                   [](const config::Site& s) { return !s.responders.empty(); }))
    return false;
  // A "started" alert like any emergency call's (so it escalates until acknowledged), saying
  // plainly that the call was refused and reached no PSAP.
  notify::CallEvent e;
  e.kind = notify::EventKind::Started;
  e.callId = req.callId;
  e.atMs = unixMsNow();
  e.test = decision.match.test;
  e.site = decision.site ? decision.site->name : "";
  e.dialed = decision.match.dialed;
  e.callerExtension = !req.paiUser.empty() ? req.paiUser : req.fromUser;
  e.callerName = req.fromDisplay;
  e.location = "unknown: untrusted source " + source;
  e.locationBy = "none (the call came from outside trusted_networks)";
  e.detail = "REFUSED at the edge: emergency call from untrusted source " + source +
             (answered ? ", answered 403" : ", not answered (dropped)") +
             "; it reached no PSAP. Someone may need help at an unknown place.";
  try {
    eventSink_(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("call {}: responder alert not queued: {}", req.callId, ex.what());
    return false;
  }
  return true;
}

}  // namespace sos::proxy
