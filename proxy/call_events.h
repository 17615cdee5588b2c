#pragma once
// What the responders are told of an emergency call (issue 6): the notify::CallEvent of each
// moment of a call, built from the call's routing-log entry and its plan, and the one for an
// emergency call the edge refused; and Alerts, which hands them to the notifier's sink.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "notify/event.h"
#include "proxy/routing_log.h"
#include "routing/call_planner.h"

namespace sos::proxy {

// An event of a routed call. `plan` (may be null) gives the address sent to the PSAP and the
// caller's name and DID (the callback number when no ELIN was sent).
notify::CallEvent callEvent(const RoutingLogEntry& log, const routing::CallPlan* plan,
                            notify::EventKind kind, std::string detail, int64_t atMs);

// An emergency call from outside trusted_networks, refused at the edge (issue 14): a "started"
// event like any emergency call's (so that it escalates until acknowledged), saying plainly
// that it reached no PSAP. `answered`: the edge answered 403 (else it dropped the request).
notify::CallEvent refusedEvent(const routing::CallRequest& req,
                               const routing::RouteDecision& decision, const std::string& source,
                               bool answered, int64_t atMs);

// The events' way out (issue 6): called on the SIP thread, the sinks hand them to other threads
// and must not block. An event that cannot be queued never costs the call: logged and dropped
// (the notifier and the dashboard's queue count their own losses).
class Alerts {
 public:
  using Sink = std::function<void(notify::CallEvent)>;
  // The dashboard's (issue 18): every event of every emergency call and callback, and every
  // emergency call refused at the edge (`refused`), whether anybody is alerted or not.
  using LiveSink = std::function<void(const notify::CallEvent&, bool refused)>;
  void setSink(Sink sink) { sink_ = std::move(sink); }
  void setLiveSink(LiveSink sink) { live_ = std::move(sink); }
  // An event of a routed call (see callEvent): to the live sink, and to the responders' sink
  // when `responders` (some site has responders).
  void call(const RoutingLogEntry& log, const routing::CallPlan* plan, notify::EventKind kind,
            std::string detail, bool responders) const;
  // An emergency call the edge refused (see refusedEvent), to the live sink and the responders'.
  // False when no responder is to be told (no sink, no site with responders) or the event could
  // not be queued for them.
  bool refused(const routing::CallRequest& req, const routing::RouteDecision& decision,
               const std::string& source, bool answered,
               const std::vector<config::Site>& sites) const;

 private:
  void tellLive(const notify::CallEvent& e, bool refused) const;
  Sink sink_;
  LiveSink live_;
};

}  // namespace sos::proxy
