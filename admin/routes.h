#pragma once
// The admin HTTP API's route table: which path answers what, who may call it, and the answers'
// status codes and JSON. The handlers behind it are given by whoever runs the server
// (proxy/app.cpp), so admin/ knows nothing of the SIP side, the notifier or the reloader. Runs
// on the I/O thread, as the HttpServer's handler.
//
//   GET    /healthz                            open: live (the SIP thread turns)
//   GET    /readyz                             open: routing, store and trunks can serve
//   GET    /metrics                            Prometheus text; open unless
//                                              admin.metrics_public is false (then any token)
//   GET    /me, /me.css, /me.js                open: the self-service page "My emergency
//                                              location" (web_files.h), which calls the API
//                                              below with the user's token
//   GET    /dashboard, /dashboard.css, /dashboard.js, /chart.min.js (its charting library)
//                                              open: the dashboard page (web_files.h), which
//                                              calls the API below with a session cookie
//   POST   /api/v1/session                     open: sign in for the dashboard with {"token"}
//                                              of a super-admin, site-admin or responder, or
//                                              {"username", "password"} (password.h); 201 with
//                                              the session cookie (session.h) and {"csrf",
//                                              "name", "role", "sites"}; 401 for a wrong one,
//                                              429 after repeated failures from the address
//   GET    /api/v1/session                     the cookie's session: the same JSON
//   DELETE /api/v1/session                     sign out (the cookie is cleared)
//   GET    /api/v1/openapi.json                any token: the OpenAPI 3 document of this API
//   GET    /api/v1/whoami                      any token: its name, role, sites and subject
//   POST   /api/v1/location-reports            super-admin; site-admin (its sites' users);
//                                              device (its subject); network-reporter (any
//                                              device, marked network-provided)
//   POST   /api/v1/calls/CALL-ID/acknowledge   super-admin; site-admin or responder of the
//                                              call's site. JSON body {"by": "guard 1"}
//                                              (default: the token's name)
//   GET    /api/v1/calls, /api/v1/calls/CALL-ID  call records: calls_api.h
//   POST   /api/v1/admin/reload                super-admin: read the configuration file again
//   GET    /api/v1/tokens                      super-admin: every token (never the secret)
//   POST   /api/v1/tokens                      super-admin: {"name", "role", "sites", "user" |
//                                              "mac"}; 201 with the token, shown this once
//   DELETE /api/v1/tokens/NAME                 super-admin: revoke
//   GET    /api/v1/audit?limit=N&before=ID     super-admin (every entry); site-admin (its
//                                              sites'), newest first
//   GET    /api/v1/trunks, /api/v1/elin-mappings  trunk state, ELIN mappings: ops_api.h
//   GET, POST /api/v1/locations; GET, PUT, DELETE /api/v1/locations/KEY; POST
//   /api/v1/locations/KEY/networks
//                                              super-admin; site-admin (its sites):
//                                              locations_api.h
//   GET /api/v1/users, /api/v1/devices, /api/v1/personal-locations, /api/v1/sites; GET, PUT,
//   DELETE /api/v1/users/EXT, /api/v1/devices/MAC, /api/v1/personal-locations/KEY,
//   /api/v1/sites/NAME;
//   POST /api/v1/import/KIND (text/csv); GET /api/v1/export/KIND
//                                              super-admin; site-admin (its sites); device
//                                              (its own user's personal locations):
//                                              records_api.h
//   GET, PUT /api/v1/me; POST /api/v1/me/prompt-answer
//                                              device: the user's own side, me_api.h
//   GET /api/v1/location-requests; POST /api/v1/location-requests/ID/approve, .../reject
//                                              super-admin; site-admin (its sites): the
//                                              approval queue, location_requests_api.h
//   POST /api/v1/prompts/retrigger             super-admin; site-admin (its sites' users):
//                                              ask users again, retrigger_api.h
//   GET /api/v1/dashboard/location-tracking     super-admin; site-admin (its sites): the
//                                              dashboard's figures, dashboard_api.h
//   GET /api/v1/compliance/test-calls          super-admin; site-admin and responder (their
//                                              sites): scheduled test calls' compliance
//                                              report, JSON or CSV, compliance_api.h
//   GET /api/v1/events                          super-admin; site-admin, responder (their
//                                              sites' calls): the live emergency calls and
//                                              trunks as Server-Sent Events, live_calls.h
//   GET /api/v1/dashboard/calls                 the same, as one JSON snapshot
//
// Before any route: a Host header that names a host (not an IP address) must be one of
// admin.allowed_hosts or "localhost" (DNS rebinding: 421); a body must be JSON (415; an
// import's is text/csv); a method
// the path does not take gets 405 with Allow. Every /api/v1 path but the sign-in needs a token
// (Authorization: Bearer) or a session cookie standing for one: none, an unknown or a revoked
// one, or a session that has ended, gets 401 (an unknown path too, so nothing is learned without
// one); a token whose role or sites do not cover the request gets 403, and so does a request
// with the cookie, other than GET or HEAD, without the session's X-CSRF-Token header. Error bodies
// are
// {"error": "..."}. Tokens are read from the store at every request, so a new or revoked token
// counts at once; when the store cannot be read, a token read before is taken as it was then.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "admin/auth.h"
#include "admin/calls_api.h"
#include "admin/compliance_api.h"
#include "admin/dashboard_api.h"
#include "admin/http_server.h"
#include "admin/live_calls.h"
#include "admin/location_api.h"
#include "admin/location_requests_api.h"
#include "admin/locations_api.h"
#include "admin/me_api.h"
#include "admin/ops_api.h"
#include "admin/records_api.h"
#include "admin/retrigger_api.h"
#include "admin/session.h"
#include "base/result.h"
#include "store/api_token.h"

namespace sos::admin {

struct RouteCounters {
  std::atomic<uint64_t> unauthenticated{0};  // 401: no token, or an unknown or revoked one
  std::atomic<uint64_t> forbidden{0};        // 403: a token outside its role or sites
  std::atomic<uint64_t> csrfRefused{0};      // 403: a cookie request without its CSRF token
  std::atomic<uint64_t> badHost{0};          // 421: a Host naming no host of ours
  // Requests let in on a token as last read from the store, because the store could not be
  // read (a token never read before gets 503 then).
  std::atomic<uint64_t> tokenStoreFallbacks{0};
  // Dashboard sign-ins refused 401 (a wrong token, user or password; counted in
  // unauthenticated too), and those refused 429 for an address's repeated failures.
  std::atomic<uint64_t> signInFailures{0};
  std::atomic<uint64_t> signInThrottled{0};
};

// One path the server answers and the methods it takes. A "{name}" part stands for one
// non-empty value that neither starts nor ends with '/' (percent-encoded by the client); the table
// is the OpenAPI document's list of paths (admin/openapi.json), which a test holds it to.
struct RouteSpec {
  std::string_view path;
  std::string_view methods;  // "GET, POST"
};

class AdminRoutes {
 public:
  // A reload's outcome: 200 with `json` when it took effect, 422 when the file was refused.
  struct ReloadOutcome {
    bool reloaded = false;
    std::string json;
  };
  // Where tokens and the audit trail are kept (the store, on the I/O thread).
  struct Tokens {
    std::function<Result<std::optional<store::ApiToken>>(const std::string& hash)> find;
    std::function<Result<std::vector<store::ApiToken>>()> list;
    std::function<Result<void>(store::ApiToken&, const store::AuditEntry&)> create;
    std::function<Result<bool>(const std::string& name, const store::AuditEntry&)> revoke;
    std::function<Result<int64_t>(const store::AuditEntry&)> audit;
    std::function<Result<std::vector<store::AuditEntry>>(const store::AuditQuery&)> loadAudit;
    // The token in force named as a user, with its dashboard password (none: no such token, or
    // it has no password).
    std::function<Result<std::optional<store::PasswordLogin>>(const std::string& name)> findLogin;
  };
  struct Handlers {
    LocationApi* locationApi = nullptr;
    LocationsApi* locationsApi = nullptr;
    CallsApi* callsApi = nullptr;
    OpsApi* opsApi = nullptr;
    RecordsApi* recordsApi = nullptr;
    MeApi* meApi = nullptr;
    LocationRequestsApi* requestsApi = nullptr;
    RetriggerApi* retriggerApi = nullptr;
    DashboardApi* dashboardApi = nullptr;
    ComplianceApi* complianceApi = nullptr;
    std::function<std::string()> metrics;
    std::function<HttpResponse()> healthz;
    std::function<HttpResponse()> readyz;
    // Records the acknowledgement: false when no alerted call has that Call-ID. Empty when
    // responder alerts are not running (503).
    std::function<Result<bool>(const std::string& callId, const std::string& by)> acknowledge;
    // The site of an alerted call ("" when it has none), or nullopt when no alerted call has
    // that Call-ID.
    std::function<Result<std::optional<std::string>>(const std::string& callId)> callSite;
    std::function<ReloadOutcome()> reload;
    Tokens tokens;
    std::function<int64_t()> nowMs;
    LiveCalls* liveCalls = nullptr;  // the live calls and their streams; none: 503
  };
  // What the configuration says about the API (admin.*); replaced on reload.
  struct Settings {
    std::vector<std::string> allowedHosts;  // names a Host header may give, beside localhost
    bool metricsPublic = true;
    std::vector<std::string> sites;  // the configuration's sites, for tokens' --site
    // Only these paths are served (others: 404), e.g. the device listener's; empty: all.
    std::vector<std::string> onlyPaths;
  };

  static constexpr std::string_view kHealthPath = "/healthz";
  static constexpr std::string_view kReadyPath = "/readyz";
  static constexpr std::string_view kMetricsPath = "/metrics";
  static constexpr std::string_view kApiPrefix = "/api/v1/";
  static constexpr std::string_view kWhoamiPath = "/api/v1/whoami";
  static constexpr std::string_view kReloadPath = "/api/v1/admin/reload";
  static constexpr std::string_view kCallsPath = "/api/v1/calls/";
  static constexpr std::string_view kAckSuffix = "/acknowledge";
  static constexpr std::string_view kTokensPath = "/api/v1/tokens";
  static constexpr std::string_view kAuditPath = "/api/v1/audit";
  static constexpr std::string_view kOpenApiPath = "/api/v1/openapi.json";
  static constexpr std::string_view kSessionPath = "/api/v1/session";

  static constexpr std::array<RouteSpec, 46> kRouteTable{{
      {"/healthz", "GET"},
      {"/readyz", "GET"},
      {"/metrics", "GET"},
      {"/me", "GET"},
      {"/me.css", "GET"},
      {"/me.js", "GET"},
      {"/dashboard", "GET"},
      {"/dashboard.css", "GET"},
      {"/dashboard.js", "GET"},
      {"/chart.min.js", "GET"},
      {"/api/v1/session", "GET, POST, DELETE"},
      {"/api/v1/openapi.json", "GET"},
      {"/api/v1/whoami", "GET"},
      {"/api/v1/location-reports", "POST"},
      {"/api/v1/calls/{callId}/acknowledge", "POST"},
      {"/api/v1/calls", "GET"},
      {"/api/v1/calls/{callId}", "GET"},
      {"/api/v1/admin/reload", "POST"},
      {"/api/v1/tokens", "GET, POST"},
      {"/api/v1/tokens/{name}", "DELETE"},
      {"/api/v1/audit", "GET"},
      {"/api/v1/locations", "GET, POST"},
      {"/api/v1/locations/{key}/networks", "POST"},  // before {key}, which would take it
      {"/api/v1/locations/{key}", "GET, PUT, DELETE"},
      {"/api/v1/trunks", "GET"},
      {"/api/v1/elin-mappings", "GET"},
      {"/api/v1/users", "GET"},
      {"/api/v1/users/{extension}", "GET, PUT, DELETE"},
      {"/api/v1/devices", "GET"},
      {"/api/v1/devices/{mac}", "GET, PUT, DELETE"},
      {"/api/v1/personal-locations", "GET"},
      {"/api/v1/personal-locations/{key}", "GET, PUT, DELETE"},
      {"/api/v1/sites", "GET"},
      {"/api/v1/sites/{name}", "GET, PUT, DELETE"},
      {"/api/v1/import/{kind}", "POST"},
      {"/api/v1/export/{kind}", "GET"},
      {"/api/v1/me", "GET, PUT"},
      {"/api/v1/me/prompt-answer", "POST"},
      {"/api/v1/location-requests", "GET"},
      {"/api/v1/location-requests/{id}/approve", "POST"},
      {"/api/v1/location-requests/{id}/reject", "POST"},
      {"/api/v1/prompts/retrigger", "POST"},
      {"/api/v1/dashboard/location-tracking", "GET"},
      {"/api/v1/compliance/test-calls", "GET"},
      {"/api/v1/dashboard/calls", "GET"},
      {"/api/v1/events", "GET"},
  }};
  // The entry of kRouteTable `path` falls under, or null.
  static const RouteSpec* findRoute(std::string_view path);

  AdminRoutes(Handlers handlers, Settings settings)
      : handlers_(std::move(handlers)), settings_(std::move(settings)) {}

  HttpResponse handle(const HttpRequest& request) const;
  void setSettings(Settings settings) { settings_ = std::move(settings); }
  const RouteCounters& counters() const { return counters_; }

 private:
  // The answer to a request that passed the Host, method and body checks and, on /api/v1,
  // carries a token in force.
  HttpResponse route(const HttpRequest& r, std::string_view path, const Principal* who) const;
  HttpResponse acknowledge(const HttpRequest& r, std::string_view callIdEncoded,
                           const Principal& who) const;
  HttpResponse tokens(const HttpRequest& r, std::string_view path, const Principal& who) const;
  HttpResponse audit(const HttpRequest& r, const Principal& who) const;
  // GET /api/v1/events: a stream that ends when the token (`hashOfToken`) is revoked or the
  // session of cookie `sessionId` ("" for a bearer token) ends.
  HttpResponse events(const Principal& who, std::string hashOfToken, std::string sessionId) const;
  // Is the token still in force, and the session (if any) still open?
  bool stillSignedIn(const std::string& hashOfToken, const std::string& sessionId) const;
  // POST /api/v1/session: the sign-in.
  HttpResponse signIn(const HttpRequest& r) const;
  // The token named `name` if `password` is its dashboard password; nullopt with
  // `unavailable` set: the store cannot be read now.
  std::optional<store::ApiToken> passwordUser(const std::string& name, std::string_view password,
                                              bool& unavailable) const;
  // 401 for a failed sign-in: counted, logged with `what` was presented, and held against the
  // address.
  HttpResponse signInFailed(const HttpRequest& r, const std::string& what,
                            std::string_view body) const;
  // GET and DELETE /api/v1/session; `sessionId` the cookie's ("" without one).
  HttpResponse session(const HttpRequest& r, const Principal& who, const std::string& sessionId,
                       const Sessions::Session* session) const;
  int64_t nowMs() const;
  // 403, counted and logged (a refused location report may be a spoofing attempt).
  HttpResponse forbidden(const HttpRequest& r, const Principal& who, const std::string& why) const;
  void record(const Principal& who, std::string action, std::string object, std::string site,
              std::string before, std::string after) const;

  // The token a request presents, from the store; when the store cannot be read, as it was last
  // read (by hash). nullopt with `unavailable` set: unreadable and never read.
  std::optional<store::ApiToken> lookUp(const std::string& hash, bool& unavailable) const;

  Handlers handlers_;
  Settings settings_;
  mutable RouteCounters counters_;
  // Tokens as last read from the store, by hash: a database that cannot be read for a moment
  // does not lock out the responders (a revoked token is dropped at its next successful read).
  mutable std::unordered_map<std::string, store::ApiToken> lastRead_;
  // The dashboard's signed-in browsers.
  mutable Sessions sessions_;
  mutable SignInLimiter signInLimiter_;
};

}  // namespace sos::admin
