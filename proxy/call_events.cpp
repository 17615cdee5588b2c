#include "proxy/call_events.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"

namespace sos::proxy {

notify::CallEvent callEvent(const RoutingLogEntry& log, const routing::CallPlan* plan,
                            notify::EventKind kind, std::string detail, int64_t atMs) {
  notify::CallEvent e;
  e.kind = kind;
  e.callId = log.callId;
  e.atMs = atMs;
  e.test = log.test;
  e.site = log.site;
  e.dialed = log.dialed;
  e.callerExtension = log.caller;
  e.location = log.location;
  e.locationBy = log.locationBy;
  e.trunk = log.trunk;
  e.detail = std::move(detail);
  e.callbackNumber = log.elin;
  e.attempts = log.attempts;
  if (plan && plan->where) {
    const routing::Resolution& where = *plan->where;
    if (where.location) e.address = where.location->civic.oneLine();
    if (where.user) {
      e.callerName = where.user->name;
      e.callerExtension = where.user->extension;
      // Without an ELIN the PSAP calls the caller's own number back.
      if (e.callbackNumber.empty()) e.callbackNumber = where.user->did;
    }
  }
  return e;
}

notify::CallEvent refusedEvent(const routing::CallRequest& req,
                               const routing::RouteDecision& decision, const std::string& source,
                               bool answered, int64_t atMs) {
  notify::CallEvent e;
  e.kind = notify::EventKind::Started;
  e.callId = req.callId;
  e.atMs = atMs;
  e.test = decision.match.test;
  e.site = decision.site ? decision.site->name : "";
  e.dialed = decision.match.dialed;
  e.callerExtension = routing::callerOf(req);
  e.callerName = req.fromDisplay;
  e.location = "unknown: untrusted source " + source;
  e.locationBy = "none (the call came from outside trusted_networks)";
  e.detail = "REFUSED at the edge: emergency call from untrusted source " + source +
             (answered ? ", answered 403" : ", not answered (dropped)") +
             "; it reached no PSAP. Someone may need help at an unknown place.";
  return e;
}

void Alerts::tellLive(const notify::CallEvent& e, bool refused) const {
  if (!live_) return;
  try {
    live_(e, refused);
  } catch (const std::exception& ex) {
    spdlog::error("call {}: event not handed to the dashboard: {}", e.callId, ex.what());
  }
}

void Alerts::call(const RoutingLogEntry& log, const routing::CallPlan* plan, notify::EventKind kind,
                  std::string detail, bool responders) const {
  const bool toResponders = responders && sink_;
  if (!toResponders && !live_) return;
  try {
    notify::CallEvent e = callEvent(log, plan, kind, std::move(detail), unixMsNow());
    tellLive(e, false);
    if (toResponders) sink_(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("call {}: responder alert not queued: {}", log.callId, ex.what());
  }
}

bool Alerts::refused(const routing::CallRequest& req, const routing::RouteDecision& decision,
                     const std::string& source, bool answered,
                     const std::vector<config::Site>& sites) const {
  const bool toResponders =
      sink_ && std::any_of(sites.begin(), sites.end(),
                           [](const config::Site& s) { return !s.responders.empty(); });
  if (!toResponders && !live_) return false;
  try {
    notify::CallEvent e = refusedEvent(req, decision, source, answered, unixMsNow());
    tellLive(e, true);
    if (!toResponders) return false;
    sink_(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("call {}: responder alert not queued: {}", req.callId, ex.what());
    return false;
  }
  return true;
}

}  // namespace sos::proxy
