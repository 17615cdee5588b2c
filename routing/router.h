#pragma once
// The routing decision for a new INVITE: reject (untrusted source), relay to the carrier, or
// route as an emergency call to its site's PSAP route. Pure: decide() does no I/O.
// A Router is immutable once built and shared between threads behind a shared_ptr.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "model/network.h"
#include "routing/call_request.h"
#include "routing/dial_plan.h"
#include "routing/psap_router.h"

namespace sos::routing {

enum class Action {
  Reject,          // answer `rejectStatus` (403: source outside the trusted networks)
  RelayOrdinary,   // relay to the carrier trunk
  RouteEmergency,  // route to the PSAP trunks of the caller's site, in order
};

struct RouteDecision {
  Action action = Action::Reject;
  int rejectStatus = 0;
  std::string reason;  // one phrase for the routing log, e.g. "source 192.0.2.9 not trusted"
  bool trusted = false;
  bool alarm = false;  // an emergency call from outside the trusted networks
  EmergencyMatch match;
  const config::Site* site = nullptr;        // the caller's site (never null after decide)
  std::vector<const config::Trunk*> trunks;  // ordered; [0] is tried first
  std::string requestUser;  // user part for the outgoing Request-URI ("911" without prefix)
};

class Router {
 public:
  // Validates the networks, trunk names and emergency routing (PsapRouter::create) of the
  // configuration; errors are configuration errors, one per line.
  static Result<std::shared_ptr<const Router>> create(std::shared_ptr<const config::Config> cfg);

  RouteDecision decide(const CallRequest& request) const;
  // Is `address` ("10.1.2.45", "::1") inside trusted_networks?
  bool trusts(std::string_view address) const { return trusted_.contains(address); }

  // What the packet's source may vouch for (issue 14): the caller's identity (pbx_sources) and
  // network-provided access data (network_sources). Removes from `request` what it may not
  // assert — P-Asserted-Identity, the network-provided mark of P-Access-Network-Info — so that
  // neither decides the location; the result says what was removed, for the edge to strip or
  // rewrite toward the trunks.
  struct Vouched {
    bool identityDropped = false;     // a P-Asserted-Identity from outside pbx_sources
    bool networkMarkDropped = false;  // "network-provided" from outside network_sources
  };
  Vouched applySourceRights(CallRequest& request) const;

  // Site of a caller: the user store's site (CallRequest::userSite) when it names a configured
  // site; else the first site whose extension patterns match the From/PAI user, else whose
  // networks contain the Contact host, else the first site.
  const config::Site& siteOf(const CallRequest& request) const;

  const config::Config& config() const { return *config_; }
  // Route selection from the caller's location (issue 5); built and checked by create().
  const PsapRouter& psap() const { return *psap_; }
  // The configuration as shared: calls in progress keep the one they started with.
  const std::shared_ptr<const config::Config>& sharedConfig() const { return config_; }

 private:
  Router() = default;
  std::shared_ptr<const config::Config> config_;
  model::NetworkSet trusted_;
  model::NetworkSet pbxSources_;
  model::NetworkSet networkSources_;
  std::vector<model::NetworkSet> siteNetworks_;  // parallel to config_->sites
  // Trunks resolved once by create(), so decide() never looks a name up and never meets a
  // missing trunk. They point into *config_, which the Router keeps alive.
  const config::Trunk* carrier_ = nullptr;
  std::vector<std::vector<const config::Trunk*>> siteRoutes_;  // parallel to config_->sites
  std::shared_ptr<const PsapRouter> psap_;
};

}  // namespace sos::routing
