#pragma once
// The user's own side of the API (issue 17), for a `device` token (the user's phone or
// softphone; a token for a MAC acts for the user that MAC belongs to). Runs on the I/O thread.
//
//   GET  /api/v1/me                 the user, their location sharing permission and whether
//                                   they have answered that question themselves (the page asks
//                                   at first use), whether nomadic emergency services are on for
//                                   their site (a `note` says why not), and where their next 911
//                                   would say they are now and how that was found (from their
//                                   latest report), and that report's prompt (status detectable
//                                   or undetectable, its text, the choices below; none when it
//                                   found a personal address the user confirmed, or when nomadic
//                                   emergency services are off)
//   PUT  /api/v1/me                 {"location_permission": true | false}: may sosproxy use the
//                                   device's network data; the user's answer, kept with its time
//   POST /api/v1/me/prompt-answer   the user's answer to the report's prompt:
//        {"choice": "confirm"}      "yes, I am there": a personal address of theirs that matched
//                                   is marked confirmed (sent to a PSAP as certain from then on)
//        {"choice": "save-personal", "name": ..., "country": ..., RFC 5139 elements ...,
//         "latitude", "longitude", "elin"}
//                                   "I am at this address": saved as a confirmed personal address
//                                   tied to the network of their latest report (its IP and
//                                   BSSID), so their next 911 from there carries it
//        {"choice": "this-emergency-only", "name", "country", RFC 5139 elements ...}
//                                   "use this address for this emergency only": held for the
//                                   user, not kept: their next 911 carries it while their device
//                                   reports from the same network, for location.temporary_hold_s
//                                   at most; a new one replaces the last
//        {"choice": "submit-company", "name": ..., RFC 5139 elements ..., "subnets", "bssids",
//         ...}                      "this is a place of the company": submitted to the site's
//                                   admins for approval (location_requests_api.h) with the
//                                   networks given, or else those of the latest report; the
//                                   site's approvers are e-mailed; checked at once as the
//                                   approval would write it
// GET /api/v1/me also lists the user's submissions with their state (pending, approved with
// the location made, rejected with the reason).
// A user's personal addresses themselves are at /api/v1/personal-locations (records_api.h),
// where a device token sees and changes its own user's only. Every other role gets 403 here.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "routing/location_resolver.h"
#include "store/api_token.h"
#include "store/data_import.h"
#include "store/location_request.h"

namespace sos::admin {

class MeApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    // The user's latest report (the store's), or none.
    std::function<Result<std::optional<model::DeviceReport>>(const std::string& extension)>
        latestReport;
    // Checks and writes, then rebuilds the routing snapshot (store::Store::applyRecords).
    std::function<Result<store::ImportResult>(const store::ImportRequest&)> apply;
    std::function<int64_t()> nowMs;
    // Company locations submitted for approval: kept, listed, and the site's approvers told
    // (an e-mail each; a failed delivery is logged, the request stays listed).
    std::function<Result<void>(store::LocationRequest&, const store::AuditEntry&)> submit;
    std::function<Result<std::vector<store::LocationRequest>>(const store::LocationRequestQuery&)>
        requests;
    std::function<void(const store::LocationRequest&, const std::string& subject,
                       const std::string& body)>
        tellApprovers;
    // How long "this emergency only" holds an address (location.temporary_hold_s, in ms).
    std::function<int64_t()> holdMs;
    // The user's answer to the location sharing question: written with when it was given and
    // `audit`, then the snapshot rebuilt (store::Store::answerLocationPermission). Null: written
    // through `apply` as an admin's change would be (when it was given is not kept).
    std::function<Result<bool>(const std::string& extension, bool allowed, int64_t atMs,
                               const store::AuditEntry&)>
        answerPermission;
  };

  static constexpr std::string_view kPath = "/api/v1/me";
  static constexpr std::string_view kAnswerPath = "/api/v1/me/prompt-answer";

  explicit MeApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  HttpResponse answer(const HttpRequest& r, const model::UserRow& user, const Principal& who);
  HttpResponse save(const nlohmann::json& body, const model::UserRow& user,
                    const model::DeviceReport& report, const routing::LocationSnapshot& snapshot,
                    const Principal& who, bool hold);
  HttpResponse submit(const nlohmann::json& body, const model::UserRow& user,
                      const model::DeviceReport& report, const Principal& who);
  store::ImportRequest request(store::DataKind kind, const Principal& who) const;
  Deps deps_;
};

// A submission as the API shows it (GET /api/v1/me, /api/v1/location-requests).
nlohmann::json requestJson(const store::LocationRequest& request);

// The user a device token acts for: its extension, or the user its MAC belongs to; null when
// the token is no device token or names no user of the snapshot.
const model::UserRow* userOf(const Principal& who, const routing::LocationSnapshot& snapshot);

}  // namespace sos::admin
