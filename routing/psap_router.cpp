// Route selection from the caller's location. create() resolves every trunk name once, so that
// route() on the SIP thread looks up nothing by name except a location's own override (location
// data changes without a configuration reload) and builds one vector and one string per call.

#include "routing/psap_router.h"

#include "base/text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace sos::routing {

namespace {

using Trunks = std::vector<const config::Trunk*>;
using Point = std::pair<double, double>;

// The civic fields rules match on, each in the rule and in the address, with its name for
// messages.
struct MatchField {
  std::string config::CivicRule::*rule;
  std::string model::CivicAddress::*address;
};
constexpr std::array<MatchField, 5> kMatchFields{{
    {&config::CivicRule::country, &model::CivicAddress::country},
    {&config::CivicRule::a1, &model::CivicAddress::a1},
    {&config::CivicRule::a2, &model::CivicAddress::a2},
    {&config::CivicRule::a3, &model::CivicAddress::a3},
    {&config::CivicRule::pc, &model::CivicAddress::pc},
}};

// A distance below which a point counts as on an edge: about 0.1 mm, far below what any
// location is known to, and far above the rounding of a few products of degrees.
constexpr double kEdgeTolerance = 1e-9;

bool onSegment(Point p, Point a, Point b) {
  auto [y, x] = p;
  auto [ya, xa] = a;
  auto [yb, xb] = b;
  if (x < std::min(xa, xb) - kEdgeTolerance || x > std::max(xa, xb) + kEdgeTolerance ||
      y < std::min(ya, yb) - kEdgeTolerance || y > std::max(ya, yb) + kEdgeTolerance) {
    return false;
  }
  // |cross| is the segment's length times the point's distance from its line.
  double cross = (xb - xa) * (y - ya) - (yb - ya) * (x - xa);
  return std::fabs(cross) <= kEdgeTolerance * std::hypot(xb - xa, yb - ya);
}

// Appended, not `"'" + std::string(name)`: GCC 12 at -O3 warns about that form (-Wrestrict, a
// false positive).
std::string quotedName(std::string_view name) {
  std::string out = "'";
  out += name;
  out += '\'';
  return out;
}

std::string number(double d) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", d);
  return text;
}

constexpr std::string_view kPrefix = "emergency_routing.";

// The trunk a configuration entry names; a name that is no trunk is a problem.
const config::Trunk* findTrunk(const config::Config& cfg, const std::string& name,
                               const std::string& where, std::vector<std::string>& problems) {
  const config::Trunk* t = cfg.findTrunk(name);
  if (t == nullptr) {
    problems.push_back(where + ": no trunk named " + quotedName(name));
  }
  return t;
}

// A route of the configuration as trunks; an empty one is a problem.
Trunks findRoute(const config::Config& cfg, const std::vector<std::string>& names,
                 const std::string& where, std::vector<std::string>& problems) {
  Trunks out;
  if (names.empty()) {
    problems.push_back(where + ": empty; a route needs at least one trunk");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string entry = where + "[" + std::to_string(i) + "]";
    if (const config::Trunk* t = findTrunk(cfg, names[i], entry, problems)) {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace

bool pointInPolygon(std::pair<double, double> point,
                    const std::vector<std::pair<double, double>>& polygon) {
  const size_t n = polygon.size();
  if (n < 3) {
    return false;
  }
  auto [y, x] = point;
  bool inside = false;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    if (onSegment(point, polygon[j], polygon[i])) {
      return true;
    }
    auto [yi, xi] = polygon[i];
    auto [yj, xj] = polygon[j];
    // Edges that straddle the point's latitude (one end strictly above, half-open so a vertex
    // on the ray counts once) and cross the ray east of the point flip the parity.
    if ((yi > y) != (yj > y)) {
      double crossingX = xi + (y - yi) * (xj - xi) / (yj - yi);
      if (x < crossingX) {
        inside = !inside;
      }
    }
  }
  return inside;
}

struct PsapRouter::Impl {
  struct Rule {
    const config::CivicRule* rule;
    int specificity;  // match fields set
    Trunks route;
    std::string basis;  // "civic rule US/IL"
  };
  struct Area {
    const config::Boundary* boundary;
    Point low, high;  // bounding box, to skip most polygons with four comparisons
    Trunks route;
    std::string basis;  // "boundary Springfield, IL"
  };
  struct SiteRoute {
    Trunks route;
    std::string basis;                          // "site default HQ"
    const config::Trunk* lastResort = nullptr;  // the site's own, else emergency_routing's
  };

  std::shared_ptr<const config::Config> config;
  const config::Trunk* erc = nullptr;
  const config::Trunk* testDestination = nullptr;
  std::string testBasis;  // "test destination psap-test"
  std::vector<Rule> rules;
  std::vector<Area> areas;
  std::vector<SiteRoute> sites;  // parallel to config->sites

  const Rule* civicMatch(const model::CivicAddress& civic) const;
  const Area* boundaryMatch(Point point) const;
  const SiteRoute* siteRoute(const config::Site* site) const;
  std::vector<std::string> warnings;  // of the configuration, for check-config

  // The route's trunks, each once, in order, then the tail: the ERC, the rest of the caller's
  // site route, the last resort.
  void fill(PsapRoute& out, const Trunks& route, const SiteRoute* site) const;

  // A route chosen by a civic rule or a boundary, with its basis; `route` null when none matched.
  struct Choice {
    const Trunks* route = nullptr;
    std::string_view basis;
  };
  // The most specific civic rule matching `civic`, else the first boundary holding `point`.
  Choice byPlace(const model::CivicAddress* civic, std::optional<Point> point) const;
  // A location's own psap_route, looked up now: names that are no trunk are warned about.
  Trunks locationOverride(const model::Location& location,
                          std::vector<std::string>& routeWarnings) const;

  // create()'s parts: each reads one part of the configuration into this, listing its problems.
  void addCivicRules(const config::Config& cfg, std::vector<std::string>& problems);
  void addBoundaries(const config::Config& cfg, std::vector<std::string>& problems);
  void addSiteRoutes(const config::Config& cfg, std::vector<std::string>& problems);
};

const PsapRouter::Impl::Rule* PsapRouter::Impl::civicMatch(const model::CivicAddress& civic) const {
  const Rule* best = nullptr;
  for (const Rule& r : rules) {
    // Strictly more specific only: of equally specific rules the first wins.
    if (best != nullptr && r.specificity <= best->specificity) {
      continue;
    }
    bool all = std::all_of(kMatchFields.begin(), kMatchFields.end(), [&](const MatchField& f) {
      const std::string& wanted = r.rule->*f.rule;
      return wanted.empty() || equalsNoCase(wanted, civic.*f.address);
    });
    if (all) {
      best = &r;
    }
  }
  return best;
}

const PsapRouter::Impl::Area* PsapRouter::Impl::boundaryMatch(Point point) const {
  for (const Area& a : areas) {
    bool inBox = point.first >= a.low.first - kEdgeTolerance &&
                 point.first <= a.high.first + kEdgeTolerance &&
                 point.second >= a.low.second - kEdgeTolerance &&
                 point.second <= a.high.second + kEdgeTolerance;
    if (inBox && pointInPolygon(point, a.boundary->polygon)) {
      return &a;
    }
  }
  return nullptr;
}

const PsapRouter::Impl::SiteRoute* PsapRouter::Impl::siteRoute(const config::Site* site) const {
  if (site == nullptr) {
    return nullptr;
  }
  const auto& all = config->sites;
  if (site >= all.data() && site < all.data() + all.size()) {
    return &sites[static_cast<size_t>(site - all.data())];
  }
  // A site of another copy of the configuration (a call that started before a reload): the
  // same name is the same site.
  const config::Site* same = config->findSite(site->name);
  return same == nullptr ? nullptr : &sites[static_cast<size_t>(same - all.data())];
}

void PsapRouter::Impl::fill(PsapRoute& out, const Trunks& route, const SiteRoute* site) const {
  out.trunks.reserve(route.size() + 2 + (site ? site->route.size() : 0));
  auto add = [&](const config::Trunk* t) {
    if (t != nullptr && std::find(out.trunks.begin(), out.trunks.end(), t) == out.trunks.end()) {
      out.trunks.push_back(t);
    }
  };
  for (const config::Trunk* t : route) {
    if (t != erc) {
      add(t);
    }
  }
  out.tailFrom = out.trunks.size();
  // Issue 14: a route that has failed so far still has trunks that could take the call. The
  // ERC first (it takes any location), then the site's own PSAPs (a route chosen by the
  // location may have left them out), then a carrier that routes the dialed number itself.
  add(erc);
  if (site != nullptr) {
    for (const config::Trunk* t : site->route) {
      add(t);
    }
    add(site->lastResort);
  }
}

void PsapRouter::Impl::addCivicRules(const config::Config& cfg,
                                     std::vector<std::string>& problems) {
  const auto& civicRules = cfg.emergencyRouting.civicRules;
  for (size_t i = 0; i < civicRules.size(); ++i) {
    const config::CivicRule& rule = civicRules[i];
    const std::string where = std::string(kPrefix) + "civic_rules[" + std::to_string(i) + "]";
    Rule r{&rule, 0, findRoute(cfg, rule.route, where + ".route", problems), "civic rule "};
    for (const MatchField& f : kMatchFields) {
      if (const std::string& wanted = rule.*f.rule; !wanted.empty()) {
        r.basis += (r.specificity++ == 0 ? "" : "/") + wanted;
      }
    }
    if (r.specificity == 0) {
      problems.push_back(where +
                         ".match: empty; a rule must match on at least one of country, "
                         "A1, A2, A3 or PC");
    }
    rules.push_back(std::move(r));
  }
}

void PsapRouter::Impl::addBoundaries(const config::Config& cfg,
                                     std::vector<std::string>& problems) {
  const auto& boundaries = cfg.emergencyRouting.boundaries;
  for (size_t i = 0; i < boundaries.size(); ++i) {
    const config::Boundary& b = boundaries[i];
    const std::string where = std::string(kPrefix) + "boundaries[" + std::to_string(i) + "]";
    Area a{&b,
           {90, 180},
           {-90, -180},
           findRoute(cfg, b.route, where + ".route", problems),
           "boundary " + b.name};
    if (b.polygon.size() < 3) {
      problems.push_back(where + ".polygon: " + std::to_string(b.polygon.size()) +
                         " points; a polygon needs at least 3");
    }
    for (size_t p = 0; p < b.polygon.size(); ++p) {
      auto [lat, lon] = b.polygon[p];
      if (!(std::fabs(lat) <= 90 && std::fabs(lon) <= 180)) {  // NaN fails too
        problems.push_back(where + ".polygon[" + std::to_string(p) + "]: [" + number(lat) + ", " +
                           number(lon) +
                           "] is not [latitude, longitude] in degrees within [-90, 90] and "
                           "[-180, 180]");
      }
      a.low = {std::min(a.low.first, lat), std::min(a.low.second, lon)};
      a.high = {std::max(a.high.first, lat), std::max(a.high.second, lon)};
    }
    areas.push_back(std::move(a));
  }
}

void PsapRouter::Impl::addSiteRoutes(const config::Config& cfg,
                                     std::vector<std::string>& problems) {
  // Site routes are checked by Router::create (they predate this class); a name it refuses is
  // left out here rather than reported twice.
  const config::Trunk* lastResort = nullptr;
  if (const std::string& name = cfg.emergencyRouting.lastResort; !name.empty()) {
    lastResort = findTrunk(cfg, name, std::string(kPrefix) + "last_resort", problems);
  }
  for (size_t i = 0; i < cfg.sites.size(); ++i) {
    const config::Site& site = cfg.sites[i];
    SiteRoute s{{}, "site default " + site.name, lastResort};
    for (const std::string& name : site.psapRoute) {
      if (const config::Trunk* t = cfg.findTrunk(name)) {
        s.route.push_back(t);
      }
    }
    if (!site.lastResort.empty()) {
      s.lastResort =
          findTrunk(cfg, site.lastResort, "sites[" + std::to_string(i) + "].last_resort", problems);
    }
    if (s.lastResort == nullptr) {
      warnings.push_back(
          "site " + site.name +
          " has no last resort (sites[].last_resort or emergency_routing.last_resort): when "
          "every trunk of an emergency route fails, its caller gets the failure");
    }
    sites.push_back(std::move(s));
  }
}

Result<std::shared_ptr<const PsapRouter>> PsapRouter::create(
    std::shared_ptr<const config::Config> config) {
  if (!config) {
    return Error{"config.invalid", "no configuration"};
  }
  auto impl = std::make_shared<Impl>();
  const config::Config& cfg = *config;
  const config::EmergencyRouting& er = cfg.emergencyRouting;
  std::vector<std::string> problems;

  if (!er.erc.empty()) {
    impl->erc = findTrunk(cfg, er.erc, std::string(kPrefix) + "erc", problems);
  }
  if (!er.testDestination.empty()) {
    impl->testDestination =
        findTrunk(cfg, er.testDestination, std::string(kPrefix) + "test_destination", problems);
    impl->testBasis = "test destination " + er.testDestination;
  }
  impl->addCivicRules(cfg, problems);
  impl->addBoundaries(cfg, problems);
  impl->addSiteRoutes(cfg, problems);

  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) {
      message += (message.empty() ? "" : "\n") + p;
    }
    return Error{"config.invalid", std::move(message)};
  }
  impl->config = std::move(config);
  std::shared_ptr<PsapRouter> router(new PsapRouter());
  router->impl_ = std::move(impl);
  return std::shared_ptr<const PsapRouter>(std::move(router));
}

const std::vector<std::string>& PsapRouter::warnings() const { return impl_->warnings; }

PsapRouter::Impl::Choice PsapRouter::Impl::byPlace(const model::CivicAddress* civic,
                                                   std::optional<Point> point) const {
  if (civic != nullptr) {
    if (const Rule* r = civicMatch(*civic)) {
      return {&r->route, r->basis};
    }
  }
  if (point) {
    if (const Area* a = boundaryMatch(*point)) {
      return {&a->route, a->basis};
    }
  }
  return {};
}

Trunks PsapRouter::Impl::locationOverride(const model::Location& location,
                                          std::vector<std::string>& routeWarnings) const {
  Trunks own;
  for (const std::string& name : location.psapRoute) {
    if (const config::Trunk* t = config->findTrunk(name)) {
      own.push_back(t);
    } else {
      routeWarnings.push_back("location " + location.key + ": psap_route names no trunk " +
                              quotedName(name) + "; ignored");
    }
  }
  return own;
}

PsapRoute PsapRouter::route(const RouteQuery& query) const {
  const Impl& im = *impl_;
  PsapRoute out;

  if (query.test && im.testDestination != nullptr) {
    // Never the ERC: a test must not reach a dispatcher.
    out.trunks.push_back(im.testDestination);
    out.tailFrom = out.trunks.size();  // no tail either
    out.basis = im.testBasis;
    return out;
  }
  // A test call without a test destination takes the emergency route, said so in its basis.
  const Impl::SiteRoute* site = im.siteRoute(query.site);
  auto done = [&](const Trunks& route, std::string_view basis, std::string_view suffix = {}) {
    im.fill(out, route, site);
    out.basis.reserve((query.test ? 11 : 0) + basis.size() + suffix.size());
    out.basis.append(query.test ? "test call: " : "").append(basis).append(suffix);
    return std::move(out);
  };

  const model::Location* location = query.location;
  const bool unknown = location == nullptr || location->kind == model::LocationKind::AccountDefault;
  const bool unconfirmed =
      !unknown && location->kind == model::LocationKind::Personal && !location->confirmed;

  // 1. The location's own override (names looked up now: location data changes without a
  // configuration reload). Only for a location known to be right.
  if (!unknown && !unconfirmed && !location->psapRoute.empty()) {
    Trunks own = im.locationOverride(*location, out.warnings);
    if (!own.empty()) {
      return done(own, "location override (" + location->key + ")");
    }
  }

  // 2. Where the device says it is, when it allows routing by it.
  if (Impl::Choice c = im.byPlace(query.deviceCivic, query.deviceGeo); c.route != nullptr) {
    return done(*c.route, c.basis, " (device location)");
  }

  // 3. Nowhere known, or a home address the user never confirmed: the ERC locates the caller.
  if (unknown || unconfirmed) {
    std::string_view why = unknown ? "location unknown" : "personal location not confirmed";
    if (im.erc != nullptr) {
      out.ercOnly = true;
      return done({}, "ERC: ", why);
    }
    out.warnings.push_back(std::string(why) + " and no ERC configured; the site route is used");
  }

  // 4. The resolved location's address and coordinates.
  if (!unknown && !unconfirmed) {
    std::optional<Point> point;
    if (location->latitude && location->longitude) {
      point = Point{*location->latitude, *location->longitude};
    }
    if (Impl::Choice c = im.byPlace(&location->civic, point); c.route != nullptr) {
      return done(*c.route, c.basis);
    }
  }

  // 5. The caller's site.
  if (site != nullptr) {
    return done(site->route, site->basis);
  }
  out.warnings.push_back("caller's site unknown: no site route to fall back on");
  return done({}, "no site route");
}

}  // namespace sos::routing
