// The emergency side of the B2BUA (issues 3 and 4): where the caller is, what the PSAP receives
// (PIDF-LO, ELIN), the 424 retry, and PSAP callbacks. SIP thread only, like the rest of B2bua.

#include <spdlog/spdlog.h>
#include <strings.h>

#include <map>

#include "base/clock.h"
#include "base/text.h"
#include "pidf/pidf.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"
#include "routing/access_network_info.h"
#include "routing/dial_plan.h"
#include "routing/psap_router.h"

namespace sos::proxy {

// ---- PSAP callbacks ----

void B2bua::persistElins(int64_t nowMs) {
  if (!elinSink_ || !elins_) return;
  elins_->callbacks().expire(nowMs);  // what is written is only what can still be called back
  elinSink_(elins_->callbacks().snapshot());
}

std::string B2bua::callbackTarget(const routing::CallRequest& req, RoutingLogEntry& entry) {
  if (!elins_ || !locations_) return {};
  std::string const dialed = routing::parseDialed(req.requestUri).user;
  const int64_t nowMs = unixMsNow();
  if (auto hit = elins_->callbacks().lookup(dialed, nowMs); hit && !hit->caller.contact.empty()) {
    entry.reason = "PSAP callback via ELIN " + hit->elin + " to " + hit->caller.extension +
                   " (emergency call " + hit->caller.callId + ", " +
                   std::to_string((nowMs - hit->assignedAtMs) / 1000) + " s ago)";
    ++counters_.callbacksToCaller;
    return hit->caller.contact;
  }
  // One of our ELINs with no live mapping (or a PSAP that says it is calling back): the
  // security desk of the ELIN's site answers instead of a guessed person.
  const model::Location* held = locations_->findElin(model::normalizeDialedNumber(dialed));
  const config::Site* site = held ? router_->config().findSite(held->site) : nullptr;
  bool ourElin = site != nullptr || (held && held->kind == model::LocationKind::Personal);
  if (!ourElin && !req.psapCallback) return {};
  if (site == nullptr || site->securityDesk.empty()) site = &router_->config().sites.front();
  if (site->securityDesk.empty()) {
    spdlog::warn("PSAP callback {} to {}: no security desk configured; relayed as dialed",
                 req.callId, dialed);
    return {};
  }
  entry.reason = "PSAP callback to " + dialed +
                 " with no caller in the callback window: " + site->name + " security desk";
  spdlog::warn("call {}: {}", req.callId, entry.reason);
  ++counters_.callbacksToDesk;
  return site->securityDesk;
}

// ---- Location ----

void B2bua::setLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot) {
  if (!snapshot) return;
  for (const auto& r : snapshot->data().reports) holdReport(r);
  // Site default ELINs come with the data; the callback mappings carry over.
  std::map<std::string, std::string, std::less<>> defaults;
  for (const auto& row : snapshot->data().siteDefaults)
    if (const auto* loc = snapshot->findLocation(row.locationKey); loc && !loc->elins.empty())
      defaults[row.site] = loc->elins.front();
  callbackWindowMs_ = router_->config().location.callbackWindowSeconds * 1000;
  auto next = std::make_unique<routing::ElinAllocator>(std::move(defaults), callbackWindowMs_);
  if (elins_) {
    next->callbacks().restore(elins_->callbacks().snapshot());
  } else if (!initialElins_.empty()) {
    next->callbacks().restore(std::move(initialElins_));  // saved before a restart
    initialElins_.clear();
  }
  elins_ = std::move(next);
  locations_ = std::move(snapshot);
}

void B2bua::addReport(const model::DeviceReport& report) { holdReport(report); }

// The report a call of this user is located by: a fresh network-provided one beats the phone's
// own (routing::preferredReport).
void B2bua::holdReport(const model::DeviceReport& report) {
  if (report.extension.empty()) return;
  auto [it, fresh] = reports_.try_emplace(report.extension, report);
  if (!fresh && &routing::preferredReport(it->second, report) == &report) it->second = report;
}

pidf::DeviceLocationCheck B2bua::checkDeviceLocation(const routing::CallRequest& req) {
  std::vector<pidf::GeolocationValue> values;
  for (const auto& header : req.geolocation)
    for (auto& v : pidf::parseGeolocation(header)) values.push_back(std::move(v));
  std::vector<pidf::LocationPart> parts;
  parts.reserve(req.pidfParts.size());
  for (const auto& p : req.pidfParts) parts.push_back({p.contentId, p.text});
  return pidf::checkDeviceLocation(values, parts);
}

std::optional<routing::Resolution> B2bua::locate(const routing::CallRequest& req,
                                                 const pidf::DeviceLocationCheck& device,
                                                 const std::string& site, RoutingLogEntry& entry) {
  if (!locations_) {  // cannot happen after start-up; still, the call goes on
    entry.location = "unknown";
    entry.locationBy = "no location data loaded";
    ++counters_.locationFallbacks;
    return std::nullopt;
  }
  routing::CallNetworkData net;
  net.extension = !req.paiUser.empty() ? req.paiUser : req.fromUser;
  if (const auto* u = locations_->findUser(net.extension))
    net.extension = u->extension;
  else if (const auto* f = locations_->findUser(req.fromUser))
    net.extension = f->extension;
  net.site = site;
  net.contactHost = req.contactHost;
  // A BSSID the network vouches for beats one the phone wrote (RFC 7315 5.4 network-provided).
  for (const auto& info : routing::parseAccessNetworkInfo(req.pAccessNetworkInfo)) {
    if (info.wlanNodeId.empty()) continue;
    if (net.bssid.empty() || (info.networkProvided && !net.bssidNetworkProvided)) {
      net.bssid = info.wlanNodeId;
      net.bssidNetworkProvided = info.networkProvided;
    }
  }
  // Only a location that names a place is the device's: one that says nothing (garbled, empty,
  // "0 0", a reference not fetched) does not beat the network data, and ours goes beside it.
  net.deviceSuppliedLocation = device.state == pidf::DeviceLocationState::Usable;
  net.deviceLocation = device.summary;
  auto it = reports_.find(net.extension);
  if (it != reports_.end()) net.report = &it->second;

  const int64_t nowMs = unixMsNow();
  routing::Resolution res = locations_->resolve(net, nowMs);
  entry.location = res.location ? res.location->name : "unknown";
  entry.locationBy = std::string(routing::toString(res.signal));
  if (!res.evidence.empty()) entry.locationBy += ": " + res.evidence;
  entry.locationAgeMs = static_cast<double>(res.ageMs);
  entry.locationConflict = res.conflict;
  if (device.state == pidf::DeviceLocationState::Unusable) {
    entry.locationBy += "; device location unusable: " + device.summary;
    ++counters_.deviceLocationUnusable;
    spdlog::warn("call {}: the location the caller sent is unusable ({}); located by {}",
                 req.callId, device.summary, routing::toString(res.signal));
  }
  if (res.signal == routing::Signal::SiteDefault || res.signal == routing::Signal::AccountDefault) {
    ++counters_.locationFallbacks;
    spdlog::warn("call {}: no network data places caller {}; using the {} ({})", req.callId,
                 net.extension, routing::toString(res.signal), entry.location);
  }
  if (res.conflict)
    spdlog::warn("call {}: location signals disagree; {} won", req.callId, entry.locationBy);
  return res;
}

EmergencyInvite B2bua::planInvite(const config::Trunk& trunk, const routing::CallRequest& req,
                                  const pidf::DeviceLocationCheck& device,
                                  const routing::Resolution* where, RoutingLogEntry& entry,
                                  const std::string* elin) {
  const int64_t nowMs = unixMsNow();
  EmergencyInputs in;
  in.mode = trunk.mode;
  in.location = where ? where->location : nullptr;
  in.request = &req;
  in.device = &device;
  in.host = host_;
  in.locSrc = locSrc_;
  std::string const caller = !req.paiUser.empty() ? req.paiUser : req.fromUser;
  in.entity = "pres:" + (caller.empty() ? std::string("caller") : caller) + "@" + host_;
  in.method = where && where->signal == routing::Signal::Bssid ? "802.11" : "Manual";
  in.nowMs = nowMs;
  in.seed = (static_cast<uint64_t>(nowMs) << 20) ^ nextId_;
  const bool elinMode =
      trunk.mode == config::TrunkMode::Elin || trunk.mode == config::TrunkMode::Both;
  if (elin) {
    in.elin = *elin;  // chosen before, for the same attempt
  } else if (elinMode && elins_ && in.location) {
    model::CallerIdentity who;
    who.extension = where && where->user ? where->user->extension : caller;
    who.did = where && where->user ? where->user->did : "";
    who.contact = req.contactUri;
    who.callId = req.callId;
    routing::ElinChoice choice = elins_->assign(*in.location, who, nowMs);
    if (choice.reusedLive) ++counters_.elinReusedLive;
    if (choice.fromFallback) ++counters_.elinFallbacks;
    if (choice.reusedLive)
      spdlog::warn(
          "call {}: every ELIN of {} is in its callback window; reused {} (callback to "
          "the earlier caller is lost)",
          req.callId, in.location->name, choice.elin);
    if (choice.fromFallback) spdlog::warn("call {}: {}", req.callId, choice.fallbackReason);
    // No ELIN at all: the caller's own DID is the best callback number left.
    in.elin = !choice.elin.empty() ? choice.elin : who.did;
    if (!choice.elin.empty()) persistElins(nowMs);
  }
  EmergencyInvite plan = planEmergencyInvite(in);
  entry.elin = plan.elin;
  entry.pidf = plan.pidf;
  return plan;
}

bool B2bua::retryWithElinOnly(Call& call, Branch& br) {
  if (!call.plan || call.plan->elinRetryDone || !br.pidfAdded || !elins_) return false;
  Call::Plan& p = *call.plan;
  if (!p.where || !p.where->location) return false;
  p.elinRetryDone = true;
  model::CallerIdentity who;
  who.extension = p.where->user ? p.where->user->extension : call.log.caller;
  who.did = p.where->user ? p.where->user->did : "";
  who.contact = p.req.contactUri;
  who.callId = p.req.callId;
  const int64_t nowMs = unixMsNow();
  routing::ElinChoice choice = elins_->assign(*p.where->location, who, nowMs);
  if (!choice.elin.empty()) persistElins(nowMs);
  EmergencyInvite plan;
  plan.elin = !choice.elin.empty() ? choice.elin : who.did;
  // No location body and no Geolocation this time: the SDP alone, the ELIN as the caller.
  plan.skip = kSkipBody | kSkipBodyHeaders | kSkipGeolocation |
              (plan.elin.empty() ? 0u : unsigned{kSkipIdentity});
  plan.contentType = p.req.sdpContentType;
  plan.body = p.req.sdp;
  if (p.vouched.identityDropped) plan.skip |= kSkipIdentity;
  if (p.vouched.networkMarkDropped) {
    plan.skip |= kSkipAccessNetworkInfo;
    if (!p.req.pAccessNetworkInfo.empty())
      plan.extraHeaders = "P-Access-Network-Info: " + p.req.pAccessNetworkInfo;
  }

  // Same dialog identifiers (Call-ID, From-tag), next CSeq: a retry of the same request
  // (RFC 3261 8.1.3.5); send() puts the ELIN in the From user part.
  nta_outgoing_t* orq = send(
      call.b, &br, sip_method_invite, "INVITE", p.request, URL_STRING_MAKE(br.requestUri.c_str()),
      URL_STRING_MAKE(br.nextHop.c_str()), p.maxForwards, &plan, onBranchResponse);
  if (orq == nullptr) return false;
  br.oldOrqs.push_back(br.orq);
  br.orq = orq;
  br.cseq = nta_outgoing_cseq(orq);
  br.pidfAdded = false;
  br.final = false;
  call.invite->outCseq = br.cseq;
  RoutingLogEntry e = call.log;
  e.event = "retry";
  e.outcome = "routed";
  e.status = 424;
  e.elin = plan.elin;
  e.pidf = "";
  e.addedMs = -1;
  e.reason = "424 Bad Location Information: same trunk again with ELIN only";
  ++counters_.locationRetries424;
  log_.write(e);
  call.log.elin = plan.elin;
  call.log.pidf = "";
  call.attempts += (call.attempts.empty() ? "" : " ") + br.trunk + ":424";
  spdlog::warn("call {}: trunk {} refused the location (424); retrying with ELIN {} only",
               call.log.callId, br.trunk, plan.elin);
  return true;
}

// ---- Which PSAP ----

std::vector<const config::Trunk*> B2bua::emergencyRoute(const routing::RouteDecision& decision,
                                                        const routing::CallRequest& req,
                                                        const pidf::DeviceLocationCheck& device,
                                                        const routing::Resolution* where,
                                                        RoutingLogEntry& entry) {
  routing::RouteQuery q;
  q.site = decision.site;
  q.test = decision.match.test;
  q.location = where ? where->location : nullptr;
  // The device's own location routes the call only when it says so (RFC 6442 section 4.2:
  // Geolocation-Routing "yes"), and only a usable one.
  if (where && where->deviceSupplied && device.state == pidf::DeviceLocationState::Usable &&
      pidf::geolocationRoutingAllowed(req.geolocationRouting)) {
    if (device.location.civic) q.deviceCivic = &*device.location.civic;
    if (device.location.latitude && device.location.longitude)
      q.deviceGeo = std::make_pair(*device.location.latitude, *device.location.longitude);
  }
  routing::PsapRoute route = router_->psap().route(q);
  for (const auto& w : route.warnings) spdlog::warn("call {}: {}", req.callId, w);
  if (route.ercOnly) {
    ++counters_.ercOnly;
    spdlog::warn("call {}: {}; routed to the emergency response centre", req.callId, route.basis);
  }
  if (route.trunks.empty()) {
    // Only a configuration with neither site route nor ERC gets here (the check refuses it).
    route.trunks = decision.trunks;
    route.basis += route.basis.empty() ? "site route" : "; site route";
  }
  entry.route = route.basis + ":";
  for (const auto* t : route.trunks) entry.route += " " + t->name;
  return std::move(route.trunks);
}

}  // namespace sos::proxy
