#pragma once
// The dashboard's location tracking (issue 18): five figures over the users and desk phones an
// admin may see, each with the list behind it. Runs on the I/O thread; the figures themselves
// are a pure function of the routing snapshot, the latest device reports and the time.
//
//   GET /api/v1/dashboard/location-tracking[?site=S]
// super-admin: every site, or site S; site-admin: its sites, or S when it is one of them
// (another site is 403); other roles: 403. A user is counted under their own site; a desk phone
// under its user's.
//
// The figures (each {"count", "of"} or a split of the users counted):
//   nomadic            users with nomadic emergency services enabled (the user's nomadic
//                      flag), of all users
//   sharing            of those, the users who allow their device's network data to be used
//                      (location_permission)
//   emergency_address  every user by the address a 911 of theirs reports when no network data
//                      places them (the resolver run with no report): "personal" when that is
//                      one of their own addresses (a confirmed personal location), "default"
//                      when it is the site's or the account's default
//   personal_locations the users' kept personal locations (not "this emergency only" holds):
//                      "detectable" when it has a network (public IP or CIDR) or a BSSID a
//                      device report can match, "not_detectable" otherwise
//   now                where everyone is right now, for users and for desk phones: "company"
//                      when the latest device report (within the resolver's staleness limit,
//                      location permission on) matched a company location's BSSID, switch or
//                      subnet; "personal" when it matched a personal location's network;
//                      "unknown" otherwise (no report, too old, not allowed, or matching
//                      nothing). A user's report is the one routing would use of all their
//                      devices' (routing::preferredReport); a desk phone's is its MAC's.
// Each entry of the lists: user, name, site, device (MAC, "" for a report without one),
// network (what the report saw, in words; ip and bssid as reported, "" for none), location (what a
// 911 placed now would report: key, name, address), found_by and evidence (the resolver's signal
// and why), age_ms (of the report; null without one).

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "model/location.h"
#include "routing/location_resolver.h"

namespace sos::admin {

// The users counted: those of `sites` (every site when `allSites`).
struct TrackingScope {
  bool allSites = false;
  std::vector<std::string> sites;
  bool covers(std::string_view site) const;
};

// The figures and lists described above, as the API answers them.
nlohmann::json locationTracking(const routing::LocationSnapshot& snapshot,
                                const std::vector<model::DeviceReport>& reports,
                                const TrackingScope& scope, int64_t nowMs);

class DashboardApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    // Each device's latest report of each kind (store::Store::latestReports).
    std::function<Result<std::vector<model::DeviceReport>>()> reports;
    std::function<int64_t()> nowMs;
  };

  static constexpr std::string_view kTrackingPath = "/api/v1/dashboard/location-tracking";

  explicit DashboardApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, const Principal& who);

 private:
  Deps deps_;
};

}  // namespace sos::admin
