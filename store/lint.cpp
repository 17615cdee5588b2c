// The checks of `sosproxy lint` (lint.h), one function each, over the parsed configuration and
// seed rows.

#include "store/lint.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "model/mac.h"
#include "model/network.h"

namespace sos::store {
namespace {

using config::YamlPlace;

struct Context {
  const config::Config& config;
  const Seed& seed;
  const std::string& seedSource;
  std::vector<LintFinding>& out;

  void inConfig(const YamlPlace& at, std::string what, std::string fix) const {
    out.push_back({config.sourcePath, at, std::move(what), std::move(fix)});
  }
  void inSeed(const YamlPlace& at, std::string what, std::string fix) const {
    out.push_back({seedSource, at, std::move(what), std::move(fix)});
  }
};

std::string lineOf(const YamlPlace& at) { return at.key + ", line " + std::to_string(at.line); }

std::string list(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// Does `outer` take in every address of `inner`? Both of one family (an IPv6 network never
// takes in IPv4 addresses, model/network.h).
bool covers(const model::Cidr& outer, const model::Cidr& inner) {
  return outer.network.v4 == inner.network.v4 && outer.prefixLength <= inner.prefixLength &&
         outer.contains(inner.network);
}

// The resolver takes the longest prefix, so a nested subnet of another location is legal; but
// it is the usual trace of a network renumbered or a floor moved with its old row left behind,
// and an equal pair decides by row order.
void overlappingSubnets(const Context& c) {
  const auto& rows = c.seed.subnets;
  std::vector<std::optional<model::Cidr>> nets;
  for (const auto& r : rows) {
    auto cidr = model::parseCidr(r.row.cidr);
    nets.push_back(cidr.ok() ? std::optional(cidr.value()) : std::nullopt);
  }
  for (size_t j = 0; j < rows.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      if (!nets[i] || !nets[j] || rows[i].row.locationKey == rows[j].row.locationKey) continue;
      if (!covers(*nets[i], *nets[j]) && !covers(*nets[j], *nets[i])) continue;
      const auto& a = rows[i];
      const auto& b = rows[j];
      c.inSeed(b.at,
               "subnet " + b.row.cidr + " of location " + b.row.locationKey +
                   (a.row.cidr == b.row.cidr ? " is also " : " overlaps ") + a.row.cidr +
                   " of location " + a.row.locationKey + " (" + lineOf(a.at) + ")",
               "make the two networks disjoint, or give the network to one location only");
      break;  // one finding per row: the first network it collides with
    }
  }
}

// Exact duplicates are refused by the seed parser; a wildcard over another location's BSSID is
// not, and the resolver then picks by its own order.
void coveredBssids(const Context& c) {
  const auto& rows = c.seed.bssids;
  for (const auto& w : rows) {
    auto pattern = model::parseMac(w.row.bssid, true);
    if (!pattern || !pattern->wildcard) continue;
    for (const auto& e : rows) {
      auto mac = model::parseMac(e.row.bssid, true);
      if (!mac || mac->wildcard || e.row.locationKey == w.row.locationKey ||
          !model::macMatches(*pattern, mac->value)) {
        continue;
      }
      c.inSeed(w.at,
               "BSSID range " + w.row.bssid + " of location " + w.row.locationKey + " covers " +
                   e.row.bssid + " of location " + e.row.locationKey + " (" + lineOf(e.at) + ")",
               "list the access point's BSSIDs one by one, leaving out " + e.row.bssid +
                   ", or move one of the two rows");
      break;
    }
  }
}

// A building: the civic address without what tells its parts apart.
model::CivicAddress buildingOf(model::CivicAddress a) {
  a.flr.clear();
  a.room.clear();
  a.unit.clear();
  a.seat.clear();
  return a;
}

// Without FLR, a PSAP sends responders to a building of several floors with no floor to go to.
void missingFloors(const Context& c) {
  const auto& rows = c.seed.locations;
  auto ofPlaces = [](const model::Location& l) {
    return l.kind == model::LocationKind::Company || l.kind == model::LocationKind::SiteDefault;
  };
  for (const auto& r : rows) {
    const model::Location& l = r.row;
    if (l.kind != model::LocationKind::Company || !l.civic.flr.empty()) continue;
    const model::CivicAddress building = buildingOf(l.civic);
    std::set<std::string> floors;
    for (const auto& other : rows) {
      if (ofPlaces(other.row) && !other.row.civic.flr.empty() &&
          buildingOf(other.row.civic) == building) {
        floors.insert(other.row.civic.flr);
      }
    }
    if (floors.size() < 2) continue;
    c.inSeed(r.at,
             "company location " + l.key + " has no FLR in " + building.oneLine() +
                 ", a building with floors " +
                 list(std::vector<std::string>(floors.begin(), floors.end())),
             "add its floor to civic (FLR), so that responders know where to go");
  }
}

// Issue 4: each caller holds an ELIN for the callback window; with fewer ELINs than
// callers at once, an ELIN is handed out again and the PSAP's callback reaches only the last.
void smallElinPools(const Context& c) {
  // Without a seed the locations live in the database alone: nothing here to count.
  if (c.seedSource.empty()) return;
  for (size_t i = 0; i < c.config.sites.size(); ++i) {
    const config::Site& site = c.config.sites[i];
    const int expected = site.expectedConcurrentEmergencyCalls;
    if (expected <= 0) continue;
    std::set<std::string> elins;
    for (const auto& r : c.seed.locations) {
      const model::Location& l = r.row;
      if (l.site == site.name && l.kind != model::LocationKind::AccountDefault) {
        elins.insert(l.elins.begin(), l.elins.end());
      }
    }
    if (static_cast<int>(elins.size()) >= expected) continue;
    auto where = std::find_if(c.seed.sites.begin(), c.seed.sites.end(),
                              [&](const auto& s) { return s.row.name == site.name; });
    std::string what = "site " + site.name + " has " + std::to_string(elins.size()) +
                       (elins.size() == 1 ? " ELIN" : " ELINs") + " for " +
                       std::to_string(expected) + " expected concurrent emergency calls";
    std::string fix = "add ELINs to the site's locations, or set sites[" + std::to_string(i) +
                      "].expected_concurrent_emergency_calls (default 2) in " + c.config.sourcePath;
    if (where != c.seed.sites.end()) {
      c.inSeed(where->at, std::move(what), std::move(fix));
    } else {
      c.inConfig(site.at, std::move(what), std::move(fix));
    }
  }
}

// A trunk that is never probed is found dead only by an emergency call, which then waits its
// response_timeout_s before the next trunk is tried.
void unprobedPsapTrunks(const Context& c) {
  std::map<std::string, std::string, std::less<>> why;  // trunk -> the first route naming it
  auto named = [&](const std::vector<std::string>& route, const std::string& by) {
    for (const auto& t : route) why.emplace(t, by);
  };
  const auto& er = c.config.emergencyRouting;
  if (!er.erc.empty()) why.emplace(er.erc, "the ERC");
  for (const auto& s : c.config.sites) named(s.psapRoute, "site " + s.name + "'s route");
  for (const auto& r : er.civicRules) named(r.route, "a civic rule's route");
  for (const auto& b : er.boundaries) named(b.route, "boundary " + b.name + "'s route");
  for (const auto& l : c.seed.locations) {
    named(l.row.psapRoute, "location " + l.row.key + "'s route");
  }
  for (const config::Trunk& t : c.config.trunks) {
    auto it = why.find(t.name);
    if (it == why.end() || t.optionsIntervalMs > 0 || t.optionsIntervalWritten) continue;
    c.inConfig(t.at,
               "PSAP trunk " + t.name + " (in " + it->second +
                   ") is not probed with OPTIONS: a dead PSAP is found only by an emergency "
                   "call, which waits for it",
               "set options_interval_s (e.g. 30), or options_interval_s: 0 if the PSAP does "
               "not answer OPTIONS");
  }
}

void sitesWithoutResponders(const Context& c) {
  for (size_t i = 0; i < c.config.sites.size(); ++i) {
    const config::Site& site = c.config.sites[i];
    if (!site.responders.empty()) continue;
    c.inConfig(site.at,
               "site " + site.name +
                   " has no responders: nobody on site is alerted of its emergency calls",
               "add sites[" + std::to_string(i) + "].responders (webhook, email or sip)");
  }
}

// Every route ends with the ERC when there is one (routing/psap_router.h); without one, a
// caller whose location is unknown is sent to the site's PSAPs, which may serve somewhere else.
void routesWithoutErc(const Context& c) {
  if (!c.config.emergencyRouting.erc.empty()) return;
  for (const config::Site& site : c.config.sites) {
    c.inConfig(site.psapRouteAt.line > 0 ? site.psapRouteAt : site.at,
               "the route of site " + site.name + " (" + list(site.psapRoute) +
                   ") never reaches an ERC: emergency_routing.erc is not set, so a call from "
                   "an unknown location goes to these PSAPs",
               "set emergency_routing.erc to the trunk of the emergency response centre");
  }
}

}  // namespace

std::string toString(const LintFinding& f) {
  return f.file + ":" + std::to_string(f.at.line) + ":" + std::to_string(f.at.column) +
         ": warning: " + f.what + "; fix: " + f.fix;
}

std::vector<LintFinding> lint(const config::Config& config, const Seed& seed,
                              const std::string& seedSource) {
  std::vector<LintFinding> out;
  const Context c{config, seed, seedSource, out};
  overlappingSubnets(c);
  coveredBssids(c);
  missingFloors(c);
  smallElinPools(c);
  unprobedPsapTrunks(c);
  sitesWithoutResponders(c);
  routesWithoutErc(c);
  std::stable_sort(out.begin(), out.end(), [&](const LintFinding& a, const LintFinding& b) {
    return std::tuple(a.file != config.sourcePath, a.at.line, a.at.column) <
           std::tuple(b.file != config.sourcePath, b.at.line, b.at.column);
  });
  return out;
}

Result<std::vector<LintFinding>> lintText(const config::Config& config, const std::string& seedText,
                                          const std::string& seedSource) {
  if (seedSource.empty()) return lint(config, Seed{}, seedSource);
  auto seed = parseSeed(seedText, seedSource);
  if (!seed.ok()) return seed.error();
  return lint(config, seed.value(), seedSource);
}

}  // namespace sos::store
