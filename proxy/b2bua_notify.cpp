// The B2BUA's side of responder alerts (issue 6): emergency-call events handed to the notifier
// (its SIP MESSAGEs are sent by proxy/message_sender.h). SIP thread only, like the rest of
// B2bua. Nothing here waits: events go to the I/O thread through the sink.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/call_events.h"

namespace sos::proxy {

void B2bua::alert(Call& call, notify::EventKind kind, std::string detail) {
  if (!eventSink_ || !call.alerting) return;
  try {
    eventSink_(callEvent(call.log, call.plan.get(), kind, std::move(detail), unixMsNow()));
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
  try {
    eventSink_(refusedEvent(req, decision, source, answered, unixMsNow()));
  } catch (const std::exception& ex) {
    spdlog::error("call {}: responder alert not queued: {}", req.callId, ex.what());
    return false;
  }
  return true;
}

}  // namespace sos::proxy
