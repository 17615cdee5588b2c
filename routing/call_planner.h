#pragma once
// The call planner: every decision sosproxy takes about a new INVITE, in one pure, ordered
// function (docs/ARCHITECTURE.md, "The life of a call", steps 2 to 7). Given the request as
// plain values, what routing knows (configuration, location snapshot, device reports, live
// ELIN mappings) and the time, it says who the caller is, whether the call is refused, ordinary,
// an emergency or a PSAP callback, where the caller is, which trunks to try in which order and
// where a callback goes, with the explanation the routing log prints and the warnings to log.
// It does no I/O and logs nothing itself: the B2BUA (proxy/) logs the notes, counts the tally
// and sends what the plan says. The ELIN an attempt carries depends on the trunk it goes to, so
// it is chosen per attempt, by elinFor().

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "model/location.h"
#include "pidf/device_location.h"
#include "routing/call_request.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"
#include "routing/router.h"

namespace sos::routing {

// The caller as a request names it: the P-Asserted-Identity user when there is one (after
// Router::applySourceRights, so only a vouched one), else the From user.
const std::string& callerOf(const CallRequest& req);

// Where a URI points, for sending a request there: "sip:1001@10.1.2.45:5062;transport=tcp".
// A `sips:` URI, or ;transport=tls, goes over TLS (RFC 3261 19.1.2; its default port 5061).
// Nullopt for anything without a host (a tel: URI, garbage).
struct SipHop {
  std::string user;
  std::string host;  // without IPv6 brackets
  uint16_t port = 5060;
  bool tcp = false;
  bool tls = false;
};
std::optional<SipHop> parseSipHop(std::string_view uri);

// How the location snapshot resolves callers under `config`: the precedence order, when reports go
// stale, and the nomadic emergency services policy of the account and each site (issue 17).
// Signal names that are no signal are left out (the configuration's loader refuses them).
ResolverSettings resolverSettings(const config::Config& config);

// What the planner reads; all of it owned by the caller and unchanged while plan() runs.
struct PlannerInputs {
  const Router* router = nullptr;               // never null
  const LocationSnapshot* locations = nullptr;  // null before the first snapshot
  // Each user's device report the calls are located by (routing::preferredReport), by extension.
  const std::unordered_map<std::string, model::DeviceReport>* reports = nullptr;
  const CallbackMap* callbacks = nullptr;  // live ELIN -> caller mappings; null: none
};

enum class CallKind {
  Reject,     // answer rejectStatus, nothing is sent on
  Ordinary,   // relay to the carrier (subject to the ordinary-call limits)
  Emergency,  // route to the PSAP trunks of `route`, in order
  Callback,   // a PSAP calling back: to callbackHop, never limited
};
std::string_view toString(CallKind k);

// A line for the operational log, as the planner would write it.
struct PlanNote {
  enum class Level { Warn, Error };
  Level level = Level::Warn;
  std::string text;  // without the call's Call-ID, which the writer adds
  bool operator==(const PlanNote&) const = default;
};

// What happened that an operator counts (each a Prometheus counter in proxy/metrics).
struct PlanTally {
  bool identityNotVouched = false;      // a P-Asserted-Identity from outside pbx_sources
  bool networkMarkNotVouched = false;   // network-provided from outside network_sources
  bool callbackToCaller = false;        // a PSAP callback to the caller who used the ELIN
  bool callbackToDesk = false;          // ... to the security desk (no live mapping)
  bool locationFallback = false;        // placed at a site or account default, or not at all
  bool deviceLocationUnusable = false;  // the caller sent a location that says nothing
  bool ercOnly = false;                 // routed to the ERC: location unknown or unconfirmed
  bool degraded = false;                // locating failed unexpectedly: routed without location
};

struct CallPlan {
  CallKind kind = CallKind::Reject;
  CallRequest req;  // as planned from: what the source may not vouch for taken out
  Router::Vouched vouched;
  std::string caller;                    // callerOf(req)
  const model::UserRow* user = nullptr;  // the caller's user record (in the snapshot), if known
  RouteDecision decision;                // the dial plan's and the site's answer
  int rejectStatus = 0;                  // kind == Reject
  std::string requestUser;               // Request-URI user toward the trunk ("911"), or the urn
  bool urn = false;                      // requestUser is a service urn (RFC 5031)
  unsigned long maxForwards = 69;        // for the request that leaves (one less than received)
  // Emergency calls: the caller's own location (parsed once) and where the caller is.
  pidf::DeviceLocationCheck device;
  std::optional<Resolution> where;  // points into the snapshot planned with
  // The trunks to try, in order; a callback's one hop is callbackHop (owned here, so that the
  // plan can be moved).
  std::vector<const config::Trunk*> route;
  std::unique_ptr<config::Trunk> callbackHop;
  // The explanation, for the routing log.
  struct Why {
    std::string reason;      // "source 192.0.2.9 not trusted", "PSAP callback via ELIN ..."
    std::string location;    // emergency: the location's name, or "unknown"
    std::string locationBy;  // the signal and its evidence
    double locationAgeMs = -1;
    bool locationConflict = false;
    std::string route;            // "civic rule US/IL: il-psap-a il-psap-b erc carrier"
    bool locationFailed = false;  // locating threw: the PIDF-LO column says "failed"
  } why;
  std::vector<PlanNote> notes;
  PlanTally tally;

  bool emergency() const { return kind == CallKind::Emergency; }
  const model::Location* location() const { return where ? where->location : nullptr; }
};

// The ELIN an attempt carries (elin and both trunks), as CallPlanner::elinFor chose it.
struct ElinPlan {
  std::string elin;         // empty: no ELIN and no DID either
  bool recorded = false;    // a new ELIN -> caller mapping was made: persist the callback map
  bool reusedLive = false;  // every ELIN of the location was in its callback window
  bool fallback = false;    // none of the location's: the site default or the caller's DID
  std::vector<PlanNote> notes;
};

class CallPlanner {
 public:
  explicit CallPlanner(PlannerInputs in) : in_(in) {}

  // Steps 2 to 7 of the life of a call, in this order: what the source vouches for; the caller
  // and the user record (looked up once); the dial plan and site (Router::decide); Max-Forwards
  // (0 -> 483); a PSAP callback (from a trusted source or a trunk: the ELIN's live caller, else
  // the security desk of the ELIN's site); refusal (untrusted: 403); for an emergency call the
  // device's own location, where the caller is, and the PSAP route. Never throws: a failure to
  // locate routes the call without a location.
  CallPlan plan(CallRequest req, int64_t nowMs) const;
  // Would plan() take this request, whose Router::decide gave `decision`, for a PSAP callback?
  // The edge asks before it relays an ordinary call without state (edge.ordinary_relay).
  bool isCallback(CallRequest req, const RouteDecision& decision, int64_t nowMs) const;

  // The ELIN for one attempt of an emergency call at its location (RFC 6881 ELIN mode): from the
  // location's pool, else the site default, else the caller's own DID. Records the mapping in
  // `elins` for the callback window. Nothing (empty) when the call has no location.
  static ElinPlan elinFor(const CallPlan& plan, ElinAllocator& elins, int64_t nowMs);

 private:
  void identify(CallPlan& p, CallRequest& req) const;
  bool planCallback(CallPlan& p, int64_t nowMs) const;
  void locate(CallPlan& p, int64_t nowMs) const;
  void routeEmergency(CallPlan& p) const;
  std::string callbackTarget(CallPlan& p, int64_t nowMs) const;
  PlannerInputs in_;
};

}  // namespace sos::routing
