#pragma once
// What the responders are told of an emergency call (issue 6): the notify::CallEvent of each
// moment of a call, built from the call's routing-log entry and its plan, and the one for an
// emergency call the edge refused. Pure: the B2BUA hands the events to the notifier's sink.

#include <cstdint>
#include <string>

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

}  // namespace sos::proxy
