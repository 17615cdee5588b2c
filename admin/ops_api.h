#pragma once
// What an operator checks during an incident (issue 16), over the admin API. I/O thread.
//
//   GET /api/v1/trunks          every trunk of the configuration in force: where it points, its
//                               mode, whether it is probed, and "up", "down" (its OPTIONS probe
//                               found it down) or "not probed"; when it went up or down and why,
//                               its last probe, and the last time a call moved off it
//   GET /api/v1/elin-mappings   the ELIN -> caller mappings a PSAP's callback is routed by now
//                               (expired ones are left out), with the ELIN's location and site
// super-admin: all; site-admin and responder: trunks, and the mappings of their sites' ELINs;
// other roles: 403.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "config/config.h"
#include "model/callback.h"
#include "routing/location_resolver.h"

namespace sos::admin {

// What the SIP thread last said of a trunk besides up or down (proxy/trunk_monitor.h).
struct TrunkFacts {
  std::string name;
  int64_t changedAtMs = 0;  // went up or down (0: not since start)
  std::string why;          // why it went down, or what brought it back
  int64_t lastProbeAtMs = 0;
  std::string lastProbe;  // "200 OK", "503 Service Unavailable", "no answer", "not sent" ("": none)
  int64_t lastFailoverAtMs = 0;
  std::string lastFailover;  // "call ID: 503; trying il-psap-b"
  uint64_t failovers = 0;    // calls that moved off it since start
};

class OpsApi {
 public:
  struct Deps {
    std::function<std::shared_ptr<const config::Config>()> config;
    // The probed trunks found down now (the SIP thread's view).
    std::function<std::vector<std::string>()> downTrunks;
    std::function<Result<std::vector<model::CallbackTarget>>()> elinMappings;
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> snapshot;
    std::function<int64_t()> nowMs;
    // Each trunk's facts (none: the answer has up or down only).
    std::function<std::vector<TrunkFacts>()> facts = nullptr;
  };

  static constexpr std::string_view kTrunksPath = "/api/v1/trunks";
  static constexpr std::string_view kElinPath = "/api/v1/elin-mappings";

  explicit OpsApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);
  // The trunks as GET /api/v1/trunks lists them (the dashboard's snapshots too).
  nlohmann::json trunksJson() const;

 private:
  Deps deps_;
};

}  // namespace sos::admin
