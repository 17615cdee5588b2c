// The edge's side of the stateless relay of ordinary calls (edge.ordinary_relay: stateless):
// which requests go through it, the limits, and who may reach where (proxy/stateless_relay.h).

#include <spdlog/spdlog.h>
#include <strings.h>

#include <charconv>

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
  return relay_ && tap_->on() && settings_.ordinaryRelay == config::OrdinaryRelay::Stateless &&
         d.action == routing::Action::RelayOrdinary && !carrierHost_.empty() &&
         req.transport == "udp" &&
         !(invite && routing::CallPlanner(b2bua_->plannerState().inputs(*b2bua_->router()))
                         .isCallback(req, d, unixMsNow()));
}

bool Edge::relayEmergency(msg_t* msg, sip_t* sip, const routing::CallRequest& req) {
  if (!emergency_ || settings_.emergencyRelay != config::EmergencyRelay::Stateful ||
      req.transport != "udp")
    return false;
  if (dropMaddr(sip)) counters_.maddrIgnored.fetch_add(1, std::memory_order_relaxed);
  unsigned port = 0;
  (void)sourceAddress(msg, &port);
  return emergency_->invite(msg, sip, Peer{req.sourceAddress, static_cast<uint16_t>(port)});
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
  (void)relay_->forwardInitial(msg, sip, carrierHost_, carrierPort_, drop);
}

bool Edge::relayDatagram(const wire::Message& m, const Peer& from, bool tapped) {
  if (!relay_) return false;
  applySettings();
  const std::shared_ptr<const routing::Router> router = b2bua_->router();
  if (m.response) {
    // Anything else (the B2BUA's, a forgery, from a stranger) is Sofia's: a stray when no
    // transaction of nta's matches it.
    if (!router->trusts(from.ip) && !fromTrunk(from.ip)) return false;
    if (emergency_ && emergency_->held() > 0 && emergency_->response(m)) {
      if (tapped) counters_.relayTaken.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (!relay_->sentByUs(m)) return false;
    if (tapped) counters_.relayTaken.fetch_add(1, std::memory_order_relaxed);
    relay_->forwardResponse(m);
    return true;
  }
  const wire::Header* to = m.first(wire::Kind::To);
  if (to == nullptr || !wire::hasTag(to->value) || m.first(wire::Kind::Via) == nullptr ||
      !relay_->routedHere(m))
    return false;
  if (tapped) counters_.relayTaken.fetch_add(1, std::memory_order_relaxed);
  std::string_view host;
  std::string_view portText;
  unsigned port = 5060;
  const bool routable =
      StatelessRelay::nextHop(m, host, portText) &&
      (portText.empty() ||
       (std::from_chars(portText.data(), portText.data() + portText.size(), port).ec ==
            std::errc() &&
        port > 0 && port < 65536));
  const std::string dest(bareHost(host));
  const auto isCarrier = [&](const std::string& address) {
    auto a = model::parseIpAddress(address);
    return a && carrierAddress_ && *a == *carrierAddress_;
  };
  // A phone to the carrier and back; or a phone to the carrier's Contact, and from anywhere to
  // the phone's, as the Route's dialog token names them.
  using Toward = StatelessRelay::Toward;
  const bool allowed =
      routable && ((router->trusts(from.ip) &&
                    (isCarrier(dest) || relay_->tokenAllows(m, Toward::Carrier, host, portText))) ||
                   ((isCarrier(from.ip) || relay_->tokenAllows(m, Toward::Phone, host, portText)) &&
                    router->trusts(dest)));
  if (!allowed) {
    counters_.relayRefused.fetch_add(1, std::memory_order_relaxed);
    logCause(EdgeCause::Untrusted, std::string(m.method) + " with sosproxy's Record-Route from " +
                                       from.ip + " to " + (dest.empty() ? "(none)" : dest) +
                                       " refused: only phones to the carrier and back");
    if (m.method != "ACK") relay_->answer(m, from, 403, "Forbidden");
    return true;
  }
  if (relay_->forwardInDialog(m, from, dest, static_cast<uint16_t>(port)) == 0 && emergency_)
    emergency_->dialogRequest(m);
  return true;
}

bool Edge::relayFromSofia(msg_t* msg) {
  if (!relay_ || !tap_->on()) return false;
  su_home_t home[1] = {SU_HOME_INIT(home)};
  size_t len = 0;
  char* text = msg_as_string(home, msg, reinterpret_cast<msg_pub_t*>(sip_object(msg)), 0, &len);
  wire::Message m;
  Peer from;
  unsigned port = 0;
  from.ip = sourceAddress(msg, &port);
  from.port = static_cast<uint16_t>(port);
  const bool taken = text != nullptr && wire::parse(std::string_view(text, len), m, nullptr) &&
                     relayDatagram(m, from, false);
  su_home_deinit(home);
  if (taken) msg_destroy(msg);
  return taken;
}

}  // namespace sos::proxy
