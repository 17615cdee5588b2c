#pragma once
// The admin HTTP API's route table: which path answers what, and the answers' status codes and
// JSON. The handlers behind it are given by whoever runs the server (proxy/app.cpp), so admin/
// knows nothing of the SIP side, the notifier or the reloader. Runs on the I/O thread, as the
// HttpServer's handler.
//
//   POST /api/v1/location-reports               the location-report API (location_api.h)
//   GET  /healthz                               live: the SIP thread turns (proxy/health.h)
//   GET  /readyz                                ready: routing, store and trunks can serve
//   GET  /metrics                               Prometheus text
//   POST /api/v1/calls/CALL-ID/acknowledge      a responder has the call in hand; JSON body
//                                               {"by": "guard 1"} (default: the peer address)
//   POST /api/v1/admin/reload                   read the configuration file again

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "admin/http_server.h"
#include "admin/location_api.h"
#include "base/result.h"

namespace sos::admin {

class AdminRoutes {
 public:
  // A reload's outcome: 200 with `json` when it took effect, 422 when the file was refused.
  struct ReloadOutcome {
    bool reloaded = false;
    std::string json;
  };
  struct Handlers {
    LocationApi* locationApi = nullptr;
    std::function<std::string()> metrics;
    std::function<HttpResponse()> healthz;
    std::function<HttpResponse()> readyz;
    // Records the acknowledgement: false when no alerted call has that Call-ID. Empty when
    // responder alerts are not running (503).
    std::function<Result<bool>(const std::string& callId, const std::string& by)> acknowledge;
    std::function<ReloadOutcome()> reload;
  };

  static constexpr std::string_view kHealthPath = "/healthz";
  static constexpr std::string_view kReadyPath = "/readyz";
  static constexpr std::string_view kMetricsPath = "/metrics";
  static constexpr std::string_view kReloadPath = "/api/v1/admin/reload";
  static constexpr std::string_view kCallsPath = "/api/v1/calls/";
  static constexpr std::string_view kAckSuffix = "/acknowledge";

  explicit AdminRoutes(Handlers handlers) : handlers_(std::move(handlers)) {}

  // Any path but those above: 404. The query string is ignored.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Acknowledgement {
    std::string callId, by;
  };
  // A POST to kCallsPath + CALL-ID + kAckSuffix (the Call-ID percent-decoded), else nullopt.
  static std::optional<Acknowledgement> acknowledgement(const HttpRequest& r,
                                                        std::string_view path);

  Handlers handlers_;
};

}  // namespace sos::admin
