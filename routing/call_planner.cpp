#include "routing/call_planner.h"

#include <algorithm>
#include <charconv>
#include <exception>

#include "base/text.h"
#include "model/e164.h"
#include "pidf/geolocation.h"
#include "routing/access_network_info.h"
#include "routing/dial_plan.h"

namespace sos::routing {

namespace {

void warn(CallPlan& p, std::string text) {
  p.notes.push_back({PlanNote::Level::Warn, std::move(text)});
}

// The Geolocation values and PIDF-LO parts of the request, each document read once.
pidf::DeviceLocationCheck checkDevice(const CallRequest& req) {
  std::vector<pidf::GeolocationValue> values;
  for (const auto& header : req.geolocation)
    for (auto& v : pidf::parseGeolocation(header)) values.push_back(std::move(v));
  std::vector<pidf::LocationPart> parts;
  parts.reserve(req.pidfParts.size());
  for (const auto& part : req.pidfParts) parts.push_back({part.contentId, part.text});
  return pidf::checkDeviceLocation(values, parts);
}

// A BSSID the network vouches for beats one the phone wrote (RFC 7315 5.4 network-provided).
void takeBssid(const CallRequest& req, CallNetworkData& net) {
  for (const auto& info : parseAccessNetworkInfo(req.pAccessNetworkInfo)) {
    if (info.wlanNodeId.empty()) continue;
    if (net.bssid.empty() || (info.networkProvided && !net.bssidNetworkProvided)) {
      net.bssid = info.wlanNodeId;
      net.bssidNetworkProvided = info.networkProvided;
    }
  }
}

}  // namespace

const std::string& callerOf(const CallRequest& req) {
  return !req.paiUser.empty() ? req.paiUser : req.fromUser;
}

std::optional<SipHop> parseSipHop(std::string_view uri) {
  SipHop hop;
  if (equalsNoCase(uri.substr(0, 5), "sips:")) {
    uri.remove_prefix(5);
    hop.tls = true;
    hop.port = 5061;
  } else if (equalsNoCase(uri.substr(0, 4), "sip:")) {
    uri.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  std::string_view params;
  if (auto semi = uri.find(';'); semi != std::string_view::npos) {
    params = uri.substr(semi);
    uri = uri.substr(0, semi);
  }
  if (auto q = uri.find('?'); q != std::string_view::npos) uri = uri.substr(0, q);
  if (auto at = uri.rfind('@'); at != std::string_view::npos) {
    hop.user = std::string(uri.substr(0, at));
    if (auto colon = hop.user.find(':'); colon != std::string::npos) hop.user.resize(colon);
    uri.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!uri.empty() && uri.front() == '[') {
    auto close = uri.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hop.host = std::string(uri.substr(1, close - 1));
    std::string_view rest = uri.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    auto colon = uri.find(':');
    hop.host = std::string(uri.substr(0, colon));
    if (colon != std::string_view::npos) port = uri.substr(colon + 1);
  }
  if (hop.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    hop.port = static_cast<uint16_t>(value);
  }
  // ;transport=tcp or tls among the parameters (RFC 3261 19.1.1), any case.
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    std::string_view param = params.substr(0, params.find(';'));
    params.remove_prefix(param.size());
    if (equalsNoCase(param, "transport=tcp")) hop.tcp = true;
    if (equalsNoCase(param, "transport=tls")) hop.tls = true;
  }
  return hop;
}

std::string_view toString(CallKind k) {
  switch (k) {
    case CallKind::Reject:
      return "reject";
    case CallKind::Ordinary:
      return "ordinary";
    case CallKind::Emergency:
      return "emergency";
    case CallKind::Callback:
      return "callback";
  }
  return "?";
}

CallPlan CallPlanner::plan(CallRequest req, int64_t nowMs) const {
  CallPlan p;
  identify(p, req);
  // Step 3: trust, site, dial plan.
  p.decision = in_.router->decide(req);
  p.requestUser = p.decision.requestUser;
  // A urn (RFC 5031) is kept as the service identifier, with the trunk as next hop.
  p.urn = p.decision.match.normalized.rfind("urn:", 0) == 0;
  if (p.urn) p.requestUser = p.decision.match.normalized;
  p.req = std::move(req);
  // RFC 3261 16.3 step 2: a request that has used up its hops goes no further.
  if (p.req.maxForwards == 0) {
    p.kind = CallKind::Reject;
    p.rejectStatus = 483;
    p.why.reason = "Max-Forwards is 0";
    return p;
  }
  p.maxForwards = p.req.maxForwards - 1;
  if (planCallback(p, nowMs)) return p;
  p.why.reason = p.decision.reason;
  if (p.decision.action == Action::Reject) {
    p.kind = CallKind::Reject;
    p.rejectStatus = p.decision.rejectStatus;
    if (p.decision.alarm) {
      p.notes.push_back({PlanNote::Level::Error,
                         "ALARM: emergency call " + p.req.callId + " from untrusted source " +
                             p.req.sourceAddress + " refused: " + p.decision.reason});
    } else {
      warn(p, "call " + p.req.callId + " from untrusted source " + p.req.sourceAddress +
                  " refused: " + p.decision.reason);
    }
    return p;
  }
  p.route = p.decision.trunks;
  if (!p.decision.match.emergency) {
    p.kind = CallKind::Ordinary;
    return p;
  }
  p.kind = CallKind::Emergency;
  // Steps 4 and 5. Locating the caller must never cost the call: if it fails unexpectedly, the
  // INVITE still goes to the site's route, as the caller sent it.
  try {
    p.device = checkDevice(p.req);
    locate(p, nowMs);
  } catch (const std::exception& e) {
    p.tally.degraded = true;
    p.notes.push_back({PlanNote::Level::Error, "call " + p.req.callId +
                                                   ": locating the caller failed (" + e.what() +
                                                   "); routing without a location"});
    p.where.reset();
    p.why.locationFailed = true;
  }
  routeEmergency(p);
  return p;
}

// Step 2: what the source may not vouch for decides nothing and does not go on as sent. Then
// the caller, and its user record looked up once: by the asserted identity, else by From.
void CallPlanner::identify(CallPlan& p, CallRequest& req) const {
  p.vouched = in_.router->applySourceRights(req);
  p.tally.identityNotVouched = p.vouched.identityDropped;
  p.tally.networkMarkNotVouched = p.vouched.networkMarkDropped;
  if (p.vouched.identityDropped || p.vouched.networkMarkDropped) {
    std::string what;
    if (p.vouched.identityDropped)
      what = "P-Asserted-Identity ignored and removed (source not in pbx_sources)";
    if (p.vouched.networkMarkDropped) {
      what += std::string(what.empty() ? "" : "; ") +
              "network-provided mark of P-Access-Network-Info ignored and removed (source not in "
              "network_sources)";
    }
    warn(p, "call " + req.callId + " from " + req.sourceAddress + ": " + what);
  }
  if (in_.locations) {
    p.user = in_.locations->findUser(callerOf(req));
    if (p.user == nullptr && !req.paiUser.empty()) p.user = in_.locations->findUser(req.fromUser);
    if (p.user) req.userSite = p.user->site;
  }
  p.caller = callerOf(req);
}

bool CallPlanner::isCallback(CallRequest req, const RouteDecision& decision, int64_t nowMs) const {
  CallPlan p;
  p.decision = decision;
  p.req = std::move(req);
  return planCallback(p, nowMs);
}

// A PSAP calls back from its trunk, which need not be inside trusted_networks: a callback is
// accepted from a trusted source or from the address of a configured trunk. True when this
// call is one, with its hop planned.
bool CallPlanner::planCallback(CallPlan& p, int64_t nowMs) const {
  const auto& trunks = in_.router->config().trunks;
  const bool fromTrunk = std::any_of(trunks.begin(), trunks.end(), [&](const config::Trunk& t) {
    return t.host == p.req.sourceAddress;
  });
  if (p.decision.match.emergency || !(p.decision.trusted || fromTrunk)) return false;
  const std::string target = callbackTarget(p, nowMs);
  auto hop = target.empty() ? std::nullopt : parseSipHop(target);
  if (!hop) return false;
  p.callbackHop = std::make_unique<config::Trunk>();
  p.callbackHop->name = "callback";
  p.callbackHop->host = hop->host;
  p.callbackHop->port = hop->port;
  p.callbackHop->transport = hop->tls   ? config::Transport::Tls
                             : hop->tcp ? config::Transport::Tcp
                                        : config::Transport::Udp;
  p.route = {p.callbackHop.get()};
  p.requestUser = hop->user;
  p.urn = false;
  p.kind = CallKind::Callback;
  return true;
}

ResolverSettings resolverSettings(const config::Config& config) {
  ResolverSettings s;
  if (!config.location.precedence.empty()) {
    s.order.clear();
    for (const auto& name : config.location.precedence)
      if (auto sig = signalFromString(name)) s.order.push_back(*sig);
  }
  s.staleAfterMs = config.location.staleAfterSeconds * 1000;
  s.nomadic = config.location.nomadic;
  for (const auto& site : config.sites)
    if (site.nomadic) s.nomadicBySite.emplace_back(site.name, *site.nomadic);
  return s;
}

void CallPlanner::locate(CallPlan& p, int64_t nowMs) const {
  if (in_.locations == nullptr) {  // cannot happen after start-up; still, the call goes on
    p.why.location = "unknown";
    p.why.locationBy = "no location data loaded";
    p.tally.locationFallback = true;
    return;
  }
  const CallRequest& req = p.req;
  CallNetworkData net;
  net.extension = p.user ? p.user->extension : p.caller;
  net.site = p.decision.site ? p.decision.site->name : "";
  net.contactHost = req.contactHost;
  takeBssid(req, net);
  // Only a location that names a place is the device's: one that says nothing (garbled, empty,
  // "0 0", a reference not fetched) does not beat the network data, and ours goes beside it.
  net.deviceSuppliedLocation = p.device.state == pidf::DeviceLocationState::Usable;
  net.deviceLocation = p.device.summary;
  if (in_.reports) {
    if (auto it = in_.reports->find(net.extension); it != in_.reports->end())
      net.report = &it->second;
  }
  Resolution res = in_.locations->resolve(net, nowMs);
  p.why.location = res.location ? res.location->name : "unknown";
  p.why.locationBy = std::string(toString(res.signal));
  if (!res.evidence.empty()) p.why.locationBy += ": " + res.evidence;
  p.why.locationAgeMs = static_cast<double>(res.ageMs);
  p.why.locationConflict = res.conflict;
  if (p.device.state == pidf::DeviceLocationState::Unusable) {
    p.why.locationBy += "; device location unusable: " + p.device.summary;
    p.tally.deviceLocationUnusable = true;
    warn(p, "call " + req.callId + ": the location the caller sent is unusable (" +
                p.device.summary + "); located by " + std::string(toString(res.signal)));
  }
  if (res.signal == Signal::SiteDefault || res.signal == Signal::AccountDefault) {
    p.tally.locationFallback = true;
    warn(p, "call " + req.callId + ": no network data places caller " + net.extension +
                "; using the " + std::string(toString(res.signal)) + " (" + p.why.location + ")");
  }
  if (res.conflict)
    warn(p, "call " + req.callId + ": location signals disagree; " + p.why.locationBy + " won");
  p.where = std::move(res);
}

void CallPlanner::routeEmergency(CallPlan& p) const {
  RouteQuery q;
  q.site = p.decision.site;
  q.test = p.decision.match.test;
  q.location = p.location();
  // The device's own location routes the call only when it says so (RFC 6442 section 4.2:
  // Geolocation-Routing "yes"), and only a usable one.
  if (p.where && p.where->deviceSupplied && p.device.state == pidf::DeviceLocationState::Usable &&
      pidf::geolocationRoutingAllowed(p.req.geolocationRouting)) {
    if (p.device.location.civic) q.deviceCivic = &*p.device.location.civic;
    if (p.device.location.latitude && p.device.location.longitude)
      q.deviceGeo = std::make_pair(*p.device.location.latitude, *p.device.location.longitude);
  }
  PsapRoute route = in_.router->psap().route(q);
  for (const auto& w : route.warnings) warn(p, "call " + p.req.callId + ": " + w);
  if (route.ercOnly) {
    p.tally.ercOnly = true;
    warn(p,
         "call " + p.req.callId + ": " + route.basis + "; routed to the emergency response centre");
  }
  if (route.trunks.empty()) {
    // Only a configuration with neither site route nor ERC gets here (the check refuses it).
    route.trunks = p.decision.trunks;
    route.basis += route.basis.empty() ? "site route" : "; site route";
  }
  p.why.route = route.basis + ":";
  for (const auto* t : route.trunks) p.why.route += " " + t->name;
  p.route = std::move(route.trunks);
}

// A PSAP calling an ELIN back (or saying Priority: psap-callback): the caller who used the ELIN
// within its window, else the security desk of the ELIN's site. Empty: not a callback.
std::string CallPlanner::callbackTarget(CallPlan& p, int64_t nowMs) const {
  if (in_.callbacks == nullptr || in_.locations == nullptr) return {};
  const CallRequest& req = p.req;
  const std::string dialed = parseDialed(req.requestUri).user;
  if (auto hit = in_.callbacks->lookup(dialed, nowMs); hit && !hit->caller.contact.empty()) {
    p.why.reason = "PSAP callback via ELIN " + hit->elin + " to " + hit->caller.extension +
                   " (emergency call " + hit->caller.callId + ", " +
                   std::to_string((nowMs - hit->assignedAtMs) / 1000) + " s ago)";
    p.tally.callbackToCaller = true;
    return hit->caller.contact;
  }
  // One of our ELINs with no live mapping (or a PSAP that says it is calling back): the
  // security desk of the ELIN's site answers instead of a guessed person.
  const config::Config& cfg = in_.router->config();
  const model::Location* held = in_.locations->findElin(model::normalizeDialedNumber(dialed));
  const config::Site* site = held ? cfg.findSite(held->site) : nullptr;
  const bool ourElin = site != nullptr || (held && held->kind == model::LocationKind::Personal);
  if (!ourElin && !req.psapCallback) return {};
  if (site == nullptr || site->securityDesk.empty()) site = &cfg.sites.front();
  if (site->securityDesk.empty()) {
    warn(p, "PSAP callback " + req.callId + " to " + dialed +
                ": no security desk configured; relayed as dialed");
    return {};
  }
  p.why.reason = "PSAP callback to " + dialed +
                 " with no caller in the callback window: " + site->name + " security desk";
  warn(p, "call " + req.callId + ": " + p.why.reason);
  p.tally.callbackToDesk = true;
  return site->securityDesk;
}

ElinPlan CallPlanner::elinFor(const CallPlan& plan, ElinAllocator& elins, int64_t nowMs) {
  ElinPlan out;
  const model::Location* location = plan.location();
  if (location == nullptr) return out;
  const model::UserRow* user = plan.where->user;
  model::CallerIdentity who;
  who.extension = user ? user->extension : plan.caller;
  who.did = user ? user->did : "";
  who.contact = plan.req.contactUri;
  who.callId = plan.req.callId;
  ElinChoice choice = elins.assign(*location, who, nowMs);
  out.reusedLive = choice.reusedLive;
  out.fallback = choice.fromFallback;
  if (choice.reusedLive) {
    out.notes.push_back(
        {PlanNote::Level::Warn, "call " + who.callId + ": every ELIN of " + location->name +
                                    " is in its callback window; reused " + choice.elin +
                                    " (callback to the earlier caller is lost)"});
  }
  if (choice.fromFallback) {
    out.notes.push_back(
        {PlanNote::Level::Warn, "call " + who.callId + ": " + choice.fallbackReason});
  }
  // No ELIN at all: the caller's own DID is the best callback number left.
  out.recorded = !choice.elin.empty();
  out.elin = out.recorded ? std::move(choice.elin) : who.did;
  return out;
}

}  // namespace sos::routing
