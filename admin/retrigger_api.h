#pragma once
// Re-trigger (issue 17): an admin asks users again where they are. Runs on the I/O thread.
//
//   POST /api/v1/prompts/retrigger  {"site": "HQ"} (every user of the site) or
//                                   {"users": ["1001", "1002"]}
// Each user's prompt state is reset (the networks they reported from are forgotten, so their
// next report from anywhere prompts again) and each user with an e-mail address is e-mailed.
// Answers {"reset": [...], "emailed": [...], "no_email": [...]}. super-admin: any users;
// site-admin: its sites' users only (a user of another site makes it 403, nothing reset);
// other roles: 403.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "routing/location_resolver.h"
#include "store/api_token.h"

namespace sos::admin {

class RetriggerApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    // Resets and audits; returns each user found with their e-mail address.
    std::function<Result<std::vector<std::pair<std::string, std::string>>>(
        const std::vector<std::string>& extensions, const store::AuditEntry&)>
        reset;
    // One e-mail (sent from the I/O thread; a failed delivery is logged).
    std::function<void(const std::string& to, const std::string& subject, const std::string& body)>
        mail;
    std::function<int64_t()> nowMs;
    // The self-service page as users reach it (config::Config::selfServiceUrl), which the
    // e-mail names. Empty: the e-mail names none.
    std::function<std::string()> selfServiceUrl;
  };

  static constexpr std::string_view kPath = "/api/v1/prompts/retrigger";

  explicit RetriggerApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, const Principal& who);

 private:
  Deps deps_;
};

}  // namespace sos::admin
