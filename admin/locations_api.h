#pragma once
// Company locations over the admin API (issue 16): list, read, create, replace, delete. A
// location is written as the seed file writes one (config/examples/demo-locations.yaml), in
// JSON, and passes the seed's checks; a write swaps in a rebuilt routing snapshot, so the very
// next 911 sees it (calls in progress keep theirs). Runs on the I/O thread.
//
//   GET    /api/v1/locations[?site=SITE&limit=N&after=KEY]  super-admin (all), site-admin (its
//                                          sites); a page in key order, "next" the key to go on
//   GET    /api/v1/locations/KEY
//   POST   /api/v1/locations               201; 409 when the key, an ELIN or a network is taken
//   PUT    /api/v1/locations/KEY           replaces it whole: ELINs and networks as given
//   DELETE /api/v1/locations/KEY           409 for a site's or the account's default
//   POST   /api/v1/locations/KEY/networks  {"subnet": CIDR} or {"bssid": MAC}: this network
//                                          attached to the location as well (issue 17: a
//                                          network a user reported from, found to be a
//                                          company place); 409 when it is the location's
//                                          already or another's; no If-Match (nothing is lost)
// A site-admin reads and writes locations of its sites only (a location moved between sites
// needs both), else 403; other roles get 403. Lost updates are refused: GET and every write
// answer with the location's ETag, and PUT and DELETE must send it back as If-Match (428
// without one, 412 when the location has changed since).

#include <functional>
#include <memory>
#include <string>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "routing/location_resolver.h"
#include "store/store.h"

namespace sos::admin {

class LocationsApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    // Writes and rebuilds the snapshot (store::Store::putLocation, deleteLocation).
    std::function<Result<store::Store::LocationWrite>(
        const std::string& text, const std::string& key, const store::AuditEntry&)>
        put;
    std::function<Result<bool>(const std::string& key, const store::AuditEntry&)> remove;
    std::function<int64_t()> nowMs;
  };

  static constexpr std::string_view kPath = "/api/v1/locations";

  explicit LocationsApi(Deps deps) : deps_(std::move(deps)) {}

  // `path` is the request's path without its query; `who` is the caller (any role: the roles
  // without access get 403 here).
  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  HttpResponse addNetwork(const HttpRequest& request, const std::string& key,
                          const model::LocationData& data, const Principal& who);
  Deps deps_;
};

}  // namespace sos::admin
