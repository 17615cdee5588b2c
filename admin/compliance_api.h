#pragma once
// The compliance report of scheduled test calls (issue 21), over the admin API. I/O thread;
// reads the configuration in force and the store only.
//
//   GET /api/v1/compliance/test-calls[?site=SITE][&format=csv]
//       every site and each trunk it tests (its test_calls.trunks, else its psap_route and the
//       ERC): whether it is scheduled and how often, its last test, last success and last
//       failure with the reason, and the failures in a row; a site and trunk tested before but
//       no longer configured is listed too (scheduled false). &format=csv: the same rows as a
//       CSV file (RFC 4180), times in RFC 3339 UTC.
// super-admin: every site; site-admin and responder: their sites (another site is 403); other
// roles: 403.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "config/config.h"
#include "store/test_call.h"

namespace sos::admin {

class ComplianceApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const config::Config>()> config;
    // The stored status of the given sites' trunks (all sites when empty).
    std::function<Result<std::vector<store::TestCallStatus>>(const std::vector<std::string>&)>
        statuses;
    std::function<int64_t()> nowMs;
  };

  static constexpr std::string_view kPath = "/api/v1/compliance/test-calls";

  // One line of the report.
  struct Row {
    std::string site, trunk, destination;
    bool scheduled = false;
    int64_t intervalSeconds = 0;
    // "not-scheduled", "never-tested", "passing" (the last test passed), "failing"
    std::string state;
    bool overdue = false;  // scheduled, and no test for more than two intervals
    store::TestCallStatus status;
  };
  // The report's rows for `sites` (all when empty), site by site in the configuration's order,
  // then what the store has of sites or trunks no longer configured. Pure.
  static std::vector<Row> rows(const config::Config& config,
                               const std::vector<store::TestCallStatus>& statuses,
                               const std::vector<std::string>& sites, int64_t nowMs);
  static std::string csv(const std::vector<Row>& rows);

  explicit ComplianceApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, const Principal& who);

 private:
  Deps deps_;
};

}  // namespace sos::admin
