// The edge's side of the stateless relay of ordinary calls (edge.ordinary_relay: stateless):
// which requests go through it, the limits, and who may reach where (proxy/stateless_relay.h).

#include <spdlog/spdlog.h>
#include <strings.h>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/edge.h"
#include "proxy/sip_edge.h"
#include "routing/call_planner.h"

namespace sos::proxy {

bool Edge::relays(const routing::RouteDecision& d, const routing::CallRequest& req,
                  bool invite) const {
  // A PSAP's callback keeps the B2BUA. Only its INVITE needs the question: its CANCEL, and the
  // ACK of its failure, meet the B2BUA's transaction in nta before they get here.
  return relay_ && settings_.ordinaryRelay == config::OrdinaryRelay::Stateless &&
         d.action == routing::Action::RelayOrdinary && !carrierHop_.empty() &&
         req.transport == "udp" &&
         !(invite && routing::CallPlanner(b2bua_->plannerState().inputs(*b2bua_->router()))
                         .isCallback(req, d, unixMsNow()));
}

void Edge::relayInitial(msg_t* msg, sip_t* sip, const routing::RouteDecision& d,
                        const routing::CallRequest& req, const routing::Router& router) {
  if (dropMaddr(sip)) counters_.maddrIgnored.fetch_add(1, std::memory_order_relaxed);
  if (sip->sip_request->rq_method == sip_method_invite) {
    if (const char* limited = b2bua_->admitOrdinary()) {
      counters_.relayLimited.fetch_add(1, std::memory_order_relaxed);
      RoutingLogEntry e;
      e.event = "route";
      e.callId = req.callId;
      e.caller = !req.paiUser.empty() ? req.paiUser : req.fromUser;
      e.dialed = d.match.dialed;
      e.site = d.site ? d.site->name : "";
      unsigned port = 0;
      (void)sourceAddress(msg, &port);
      e.source = uriHost(req.sourceAddress) + ":" + std::to_string(port) + "/udp";
      e.outcome = "rejected";
      e.status = 503;
      e.reason = limited;
      log_.write(e);
      return reply(msg, sip, 503);
    }
  }
  // What the source cannot vouch for does not reach the carrier (as on the B2BUA's legs).
  StatelessRelay::Unvouched drop;
  routing::CallRequest rights;
  rights.sourceAddress = req.sourceAddress;
  if (sip_p_asserted_identity(sip) != nullptr) rights.paiUri = "present";
  for (const sip_unknown_t* u = sip->sip_unknown; u != nullptr; u = u->un_next) {
    if (u->un_name && u->un_value && strcasecmp(u->un_name, "P-Access-Network-Info") == 0) {
      rights.pAccessNetworkInfo +=
          std::string(rights.pAccessNetworkInfo.empty() ? "" : ", ") + u->un_value;
    }
  }
  if (!rights.paiUri.empty() || !rights.pAccessNetworkInfo.empty()) {
    const routing::Router::Vouched v = router.applySourceRights(rights);
    drop.identity = v.identityDropped;
    drop.networkMark = v.networkMarkDropped;
    drop.accessNetworkInfo = rights.pAccessNetworkInfo;  // the mark taken out
  }
  if (relay_->forwardInitial(msg, sip, carrierHop_, drop) == 0)
    counters_.relayedInitial.fetch_add(1, std::memory_order_relaxed);
}

void Edge::relayInDialog(msg_t* msg, sip_t* sip, const routing::Router& router) {
  const std::string source = sourceAddress(msg);
  const std::string dest = StatelessRelay::nextHost(sip);
  const auto isCarrier = [&](const std::string& address) {
    auto a = model::parseIpAddress(address);
    return a && carrierAddress_ && *a == *carrierAddress_;
  };
  const bool allowed =
      (router.trusts(source) && isCarrier(dest)) || (isCarrier(source) && router.trusts(dest));
  if (!allowed) {
    counters_.relayRefused.fetch_add(1, std::memory_order_relaxed);
    const char* method = sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : "?";
    logCause(EdgeCause::Untrusted, std::string(method) + " with sosproxy's Record-Route from " +
                                       source + " to " + (dest.empty() ? "(none)" : dest) +
                                       " refused: only phones to the carrier and back");
    if (sip->sip_request->rq_method == sip_method_ack) {
      msg_destroy(msg);
      return;
    }
    return reply(msg, sip, 403);
  }
  if (dropMaddr(sip)) counters_.maddrIgnored.fetch_add(1, std::memory_order_relaxed);
  if (relay_->forwardInDialog(msg, sip) == 0)
    counters_.relayedInDialog.fetch_add(1, std::memory_order_relaxed);
}

bool Edge::relayResponse(msg_t* msg, sip_t* sip) {
  if (!relay_) return false;
  applySettings();
  const std::string source = sourceAddress(msg);
  if (!b2bua_->router()->trusts(source) && !fromTrunk(source)) return false;
  if (!relay_->forwardResponse(msg, sip)) return false;
  counters_.relayedResponses.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace sos::proxy
