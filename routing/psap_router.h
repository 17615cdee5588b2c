#pragma once
// Which PSAP trunks serve an emergency caller's location (docs/ARCHITECTURE.md, "The life of a
// call", step 7). Pure: route() does no I/O and never fails; immutable once built, so the SIP
// thread reads it freely.
//
// The route is chosen, first match wins:
//   0. a test call goes to the configured test destination and nowhere else (not even the
//      ERC); without one it is routed as below, its basis prefixed "test call: ";
//   1. the resolved location's own PSAP override (Location::psapRoute, from the location data),
//      unless that location is unknown or unconfirmed; names that are no trunk are skipped
//      with a warning, and an override left with none falls through;
//   2. the device's own location (RouteQuery::deviceCivic, then deviceGeo): the most specific
//      civic rule, then the first boundary containing it ("... (device location)");
//   3. an unknown location (none, or only the account-wide default) or an unconfirmed personal
//      location: the emergency response centre (ERC) alone, ercOnly set; with no ERC
//      configured, a warning and on to step 5 (its address is not trusted for step 4);
//   4. the resolved location's address: the most specific civic rule (config
//      emergency_routing.civic_rules; most fields set wins, ties go to the first in the file),
//      then the first boundary whose polygon contains its coordinates (both needed);
//   5. the caller's site's psap_route.
// Every route then goes on with its tail (issue 14: an emergency call is never answered with a
// failure while a trunk could take it): the ERC when one is configured, then the trunks of the
// caller's site route not tried yet, then the site's last resort (sites[].last_resort, else
// emergency_routing.last_resort: a carrier that routes the dialed number itself). A trunk
// named twice is tried once, at its first place (the ERC's place is always the tail's first).

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "model/location.h"

namespace sos::routing {

struct RouteQuery {
  const model::Location* location = nullptr;  // the resolved location; null: unknown
  const config::Site* site = nullptr;         // the caller's site (never null in a real call)
  bool test = false;                          // a test call (933, urn:service:test.sos)
  // A location the device sent by value and allows routing by (Geolocation-Routing: yes).
  // When set it is routed on before `location`'s address (not before its override: a device
  // location has none), and `location` is used when it matches no rule or boundary.
  const model::CivicAddress* deviceCivic = nullptr;
  std::optional<std::pair<double, double>> deviceGeo;  // (latitude, longitude)
};

struct PsapRoute {
  std::vector<const config::Trunk*> trunks;  // in the order they are tried; never empty when
                                             // the configuration has a site route or an ERC
  // Why this route, for the routing log: "location override (hq-floor-2)", "civic rule
  // US/IL", "boundary Springfield, IL", "site default HQ", "ERC: location unknown",
  // "ERC: personal location not confirmed", "test destination psap-test".
  std::string basis;
  bool ercOnly = false;  // routed to the ERC because the location is unknown or unconfirmed
  size_t tailFrom = 0;   // trunks[tailFrom..] are the tail: ERC, rest of the site, last resort
  // Problems met on the way that did not stop routing ("location hq-x: psap_route names no
  // trunk 'gone'; ignored"), for a warning log line.
  std::vector<std::string> warnings;
};

class PsapRouter {
 public:
  // Checks every trunk name, rule and polygon of emergency_routing; problems are listed one
  // per line ("emergency_routing.civic_rules[1].route[0]: no trunk named 'x'"), code
  // "config.invalid". The sites' psap_route names are Router::create's to check; a name that
  // is no trunk is left out of the site route here. Keeps `config` alive: the trunks returned
  // point into it.
  static Result<std::shared_ptr<const PsapRouter>> create(
      std::shared_ptr<const config::Config> config);

  PsapRoute route(const RouteQuery& query) const;

  // What the configuration lacks without being wrong, one line each: sites without a last
  // resort. check-config prints them; the process logs them at start.
  const std::vector<std::string>& warnings() const;

 private:
  PsapRouter() = default;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// Point in polygon (even-odd rule) on (latitude, longitude) pairs; a point on an edge counts
// as inside. Polygons are small (a city or county) so plain planar geometry is accurate enough;
// a polygon must not cross the antimeridian (longitude 180). Fewer than 3 points: never inside.
bool pointInPolygon(std::pair<double, double> point,
                    const std::vector<std::pair<double, double>>& polygon);

}  // namespace sos::routing
