#pragma once
// What an operator checks during an incident (issue 16), over the admin API. I/O thread.
//
//   GET /api/v1/trunks          every trunk of the configuration in force: where it points, its
//                               mode, whether it is probed, and "up", "down" (its OPTIONS probe
//                               found it down) or "not probed"
//   GET /api/v1/elin-mappings   the ELIN -> caller mappings a PSAP's callback is routed by now
//                               (expired ones are left out), with the ELIN's location and site
// super-admin: all; site-admin and responder: trunks, and the mappings of their sites' ELINs;
// other roles: 403.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "config/config.h"
#include "model/callback.h"
#include "routing/location_resolver.h"

namespace sos::admin {

class OpsApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const config::Config>()> config;
    // The probed trunks found down now (the SIP thread's view).
    std::function<std::vector<std::string>()> downTrunks;
    std::function<Result<std::vector<model::CallbackTarget>>()> elinMappings;
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    std::function<int64_t()> nowMs;
  };

  static constexpr std::string_view kTrunksPath = "/api/v1/trunks";
  static constexpr std::string_view kElinPath = "/api/v1/elin-mappings";

  explicit OpsApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  Deps deps_;
};

}  // namespace sos::admin
