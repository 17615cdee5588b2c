#pragma once
// The location-report API (issue 3): a device posts the network it sees; the answer says
// whether sosproxy can place it ("detectable", with the location to confirm) or not
// ("undetectable": the user must add an address), and whether the network is new for the user.
// Runs on the I/O thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "routing/location_resolver.h"
#include "store/store.h"

namespace sos::admin {

// What the answer to a report asks of the user (issue 17): to confirm the location found
// ("detectable"), or to add an address ("undetectable"), and the answers they may give
// (POST /api/v1/me/prompt-answer's choices). The location-report API says it, and GET
// /api/v1/me says it again for the user's latest report.
struct ReportPrompt {
  bool detectable = false;
  std::string text;
  std::vector<std::string> choices;
};
ReportPrompt reportPrompt(const routing::Resolution& resolution);

// Why a user of `site` is not prompted and cannot add personal addresses: nomadic emergency
// services are off for the site (issue 17; config `sites[].nomadic`, `location.nomadic`).
std::string nomadicOffText(std::string_view site);

// Why a SIP MESSAGE to a desk phone that reported from a new network (issue 17,
// location.desk_phone_moved: phone) may not go to the IP address its report names, or "" when
// it may. The report's body is the token holder's to write: the MESSAGE goes only to the address
// the report came from (`peer`, the HTTP client's), and only when the report names that same
// address (IPv4-mapped IPv6 written either way), so a device token cannot make sosproxy send
// SIP to an address of its choosing. A report relayed by a network-reporter or an admin from
// another address sends none.
std::string deskPhoneMessageRefusal(std::string_view reportedIp, std::string_view peer);

class LocationApi {
 public:
  struct Deps {
    // Writes the report (all or nothing); fills in the extension from the MAC when needed.
    std::function<Result<store::Store::ReportOutcome>(model::DeviceReport&)> save;
    // The snapshot in force (users, network map) for answering.
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    // Hands the accepted report to the call path (the SIP thread keeps each device's latest).
    std::function<void(const model::DeviceReport&)> publish;
    std::function<int64_t()> nowMs;
    // A desk phone (a report naming a MAC of the user's) reported from a network new for its
    // user (issue 17): tell the user. `peer` is the address the report came from (the HTTP
    // client's), which is not always the one the report names (deskPhoneMessageRefusal).
    // Empty: nobody is told.
    std::function<void(const model::DeviceReport&, const model::UserRow&, const std::string& peer)>
        deskPhoneMoved;
  };

  explicit LocationApi(Deps deps) : deps_(std::move(deps)) {}

  static constexpr const char* kPath = "/api/v1/location-reports";

  // POST kPath with a JSON object: {"extension"|"mac" (one at least), "ip", "bssid",
  // "chassis", "port"}. 400 with the reason for bad JSON or fields, 404 for an unknown user or
  // device, 405 for another method. 403 when `who` may not report for that device: a device
  // token reports for its own extension or MAC only, a site-admin for its sites' users; a
  // network-reporter's report is kept as network-provided. Nothing is written or published
  // for a refused report.
  HttpResponse handle(const HttpRequest& request, const Principal& who);

 private:
  Deps deps_;
};

}  // namespace sos::admin
