#include "routing/router.h"

#include "routing/access_network_info.h"

#include <algorithm>
#include <string_view>

namespace sos::routing {

namespace {

// Extension patterns of a site (config.h): "1001" is one extension, "1*" every extension that
// starts with "1".
bool extensionMatches(std::string_view pattern, std::string_view user) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return user.substr(0, pattern.size()) == pattern;
  }
  return !pattern.empty() && user == pattern;
}

bool siteHasExtension(const config::Site& site, std::string_view user) {
  return std::any_of(site.extensions.begin(), site.extensions.end(),
                     [&](const std::string& p) { return extensionMatches(p, user); });
}

std::string siteLabel(size_t index, const config::Site& site) {
  return "sites[" + std::to_string(index) + "] (" + site.name + ")";
}

// The networks of a list in the configuration; each entry that is no network is a problem
// ("pbx_sources[2]: ...").
model::NetworkSet parseNetworks(const std::vector<std::string>& list, const std::string& key,
                                std::vector<std::string>& problems) {
  std::vector<model::Cidr> out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto c = model::parseCidr(list[i]);
    if (c) {
      out.push_back(c.value());
    } else {
      problems.push_back(key + "[" + std::to_string(i) + "]: " + c.error().message);
    }
  }
  return model::NetworkSet(std::move(out));
}

// A site's psap_route as trunks.
std::vector<const config::Trunk*> siteRoute(const config::Config& cfg, size_t s,
                                            std::vector<std::string>& problems) {
  const config::Site& site = cfg.sites[s];
  // Every emergency call must reach a PSAP or a default answering point (47 CFR 9.16): a
  // site without a usable route is a configuration error, not a call-time surprise.
  std::vector<const config::Trunk*> route;
  if (site.psapRoute.empty()) {
    problems.push_back(siteLabel(s, site) + " psap_route: empty; emergency calls need a trunk");
  }
  for (size_t i = 0; i < site.psapRoute.size(); ++i) {
    const config::Trunk* t = cfg.findTrunk(site.psapRoute[i]);
    if (t == nullptr) {
      problems.push_back(siteLabel(s, site) + " psap_route[" + std::to_string(i) +
                         "]: no trunk named '" + site.psapRoute[i] + "'");
    } else {
      route.push_back(t);
    }
  }
  return route;
}

// One problem per line of `lines`.
void addLines(std::string_view lines, std::vector<std::string>& problems) {
  while (!lines.empty()) {
    size_t end = std::min(lines.find('\n'), lines.size());
    problems.emplace_back(lines.substr(0, end));
    lines.remove_prefix(std::min(end + 1, lines.size()));
  }
}

// The configuration's problems, one per line, each prefixed with the file they are in.
Error configError(const config::Config& cfg, const std::vector<std::string>& problems) {
  std::string message;
  std::string origin = cfg.sourcePath.empty() ? "" : cfg.sourcePath + ": ";
  for (const auto& p : problems) {
    if (!message.empty()) message += '\n';
    message += origin + p;
  }
  return Error{"config.invalid", message};
}

}  // namespace

Result<std::shared_ptr<const Router>> Router::create(std::shared_ptr<const config::Config> cfg) {
  if (!cfg) return Error{"config.invalid", "no configuration"};
  std::vector<std::string> problems;
  std::shared_ptr<Router> router(new Router());

  router->trusted_ = parseNetworks(cfg->trustedNetworks, "trusted_networks", problems);
  router->pbxSources_ = parseNetworks(cfg->pbxSources, "pbx_sources", problems);
  router->networkSources_ = parseNetworks(cfg->networkSources, "network_sources", problems);

  // The first site is the default for callers nobody recognizes (siteOf), so there must be one.
  if (cfg->sites.empty()) problems.push_back("sites: at least one site is needed");

  router->carrier_ = cfg->findTrunk(cfg->carrierTrunk);
  if (router->carrier_ == nullptr) {
    problems.push_back("carrier_trunk: no trunk named '" + cfg->carrierTrunk + "'");
  }

  for (size_t s = 0; s < cfg->sites.size(); ++s) {
    const config::Site& site = cfg->sites[s];
    router->siteNetworks_.push_back(
        parseNetworks(site.networks, siteLabel(s, site) + " networks", problems));
    router->siteRoutes_.push_back(siteRoute(*cfg, s, problems));
  }

  // Route selection by location: its problems (emergency_routing) are configuration errors too.
  auto psap = PsapRouter::create(cfg);
  if (psap) {
    router->psap_ = std::move(psap).value();
  } else {
    addLines(psap.error().message, problems);
  }

  if (!problems.empty()) return configError(*cfg, problems);
  router->config_ = std::move(cfg);
  return std::shared_ptr<const Router>(std::move(router));
}

const config::Site& Router::siteOf(const CallRequest& request) const {
  const auto& sites = config_->sites;
  // The user store knows the caller's site best (issue 3).
  if (!request.userSite.empty()) {
    if (const config::Site* site = config_->findSite(request.userSite)) return *site;
  }
  // P-Asserted-Identity first: the PBX vouches for it (RFC 3325), while From is whatever the
  // phone wrote.
  for (const std::string* user : {&request.paiUser, &request.fromUser}) {
    if (user->empty()) continue;
    for (const auto& site : sites) {
      if (siteHasExtension(site, *user)) return site;
    }
  }
  // Calls usually come through a PBX, so the packet source says nothing about the phone; the
  // Contact host is the phone's own address (issue 3).
  if (auto contact = model::parseIpAddress(request.contactHost)) {
    for (size_t i = 0; i < sites.size(); ++i) {
      if (siteNetworks_[i].contains(*contact)) return sites[i];
    }
  }
  return sites.front();
}

Router::Vouched Router::applySourceRights(CallRequest& request) const {
  Vouched v;
  if (!request.paiUri.empty() && !pbxSources_.contains(request.sourceAddress)) {
    request.paiUri.clear();
    request.paiUser.clear();
    v.identityDropped = true;
  }
  if (!request.pAccessNetworkInfo.empty() && !networkSources_.contains(request.sourceAddress)) {
    std::string plain = withoutNetworkProvided(request.pAccessNetworkInfo);
    if (plain != request.pAccessNetworkInfo) {
      request.pAccessNetworkInfo = std::move(plain);
      v.networkMarkDropped = true;
    }
  }
  return v;
}

RouteDecision Router::decide(const CallRequest& request) const {
  RouteDecision d;
  d.site = &siteOf(request);
  d.match = classify(request.requestUri, *d.site, *config_);
  d.trusted = trusted_.contains(request.sourceAddress);

  if (!d.trusted) {
    // sosproxy is never an open relay towards carriers or PSAPs. An emergency-looking call
    // from outside is still refused, but raised as an alarm so that somebody looks at it.
    d.action = Action::Reject;
    d.rejectStatus = 403;
    d.alarm = d.match.emergency;
    std::string source = request.sourceAddress.empty() ? "(unknown)" : request.sourceAddress;
    d.reason = "source " + source + " not trusted";
    return d;
  }

  if (d.match.emergency) {
    d.action = Action::RouteEmergency;
    // The caller's own site route even when another site's dial string matched: the caller is
    // physically at their site, and that site's PSAP serves the place.
    size_t index = static_cast<size_t>(d.site - config_->sites.data());
    d.trunks = siteRoutes_[index];
    d.requestUser = d.match.normalized;
    d.reason = std::string(d.match.test ? "test call " : "emergency call ") + d.match.normalized;
    if (!d.match.matchedSite.empty() && d.match.matchedSite != d.site->name) {
      d.reason += " (dial string of " + d.match.matchedSite + ")";
    }
    return d;
  }

  d.action = Action::RelayOrdinary;
  d.trunks = {carrier_};
  d.requestUser = d.match.dialed;
  d.reason = "ordinary call";
  return d;
}

}  // namespace sos::routing
