#pragma once
// The approval queue (issue 17): company locations users submitted (POST
// /api/v1/me/prompt-answer, choice submit-company), decided by an admin of the site. Runs on the
// I/O thread.
//
//   GET  /api/v1/location-requests[?state=pending|approved|rejected]   newest first
//   POST /api/v1/location-requests/ID/approve   {"key": ..., any location field to change}:
//        the location is created as submitted (with the changes), the request marked approved
//        in the same transaction, and the routing snapshot rebuilt: the next 911 from its
//        networks resolves to it. 201 with the location's key; 400 with every problem; 409
//        when the request is decided already or the key or a network is taken.
//   POST /api/v1/location-requests/ID/reject    {"reason": "..."} (required): the user sees it
//        in GET /api/v1/me.
// Either way the submitting user is told by e-mail (which location, approved or rejected with
// the reason), when they have an address.
// super-admin: every site's; site-admin: its sites' (another site's request is 403 and not
// listed); other roles: 403.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "store/api_token.h"
#include "store/data_import.h"
#include "store/location_request.h"

namespace sos::admin {

class LocationRequestsApi {
 public:
  struct Deps {
    std::function<Result<std::vector<store::LocationRequest>>(const store::LocationRequestQuery&)>
        list;
    std::function<Result<std::optional<store::LocationRequest>>(int64_t id)> find;
    // Checks and writes (with ImportRequest::approvesRequest), then rebuilds the snapshot.
    std::function<Result<store::ImportResult>(const store::ImportRequest&)> apply;
    std::function<Result<bool>(int64_t id, const std::string& reason, const store::AuditEntry&)>
        reject;
    std::function<int64_t()> nowMs;
    // The submitting user told of the decision (an e-mail to their address, if they have one;
    // a failed delivery is logged). May be empty.
    std::function<void(const store::LocationRequest&, const std::string& subject,
                       const std::string& body)>
        tellUser;
  };

  static constexpr std::string_view kPath = "/api/v1/location-requests";

  explicit LocationRequestsApi(Deps deps) : deps_(std::move(deps)) {}

  static bool serves(std::string_view path);
  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  Deps deps_;
};

// "HQ Annex" -> "hq-annex": a location key from a name (letters and digits kept, lower case,
// the rest one '-'); "" when nothing is left.
std::string keyFromName(std::string_view name);

}  // namespace sos::admin
