// The admin route table (admin/routes.h): each path reaches its handler with what the request
// carried, and answers with the documented status and JSON; who may call what (401 without a
// token in force, 403 outside the token's role or sites); the Host, method and body checks.

#include "admin/routes.h"

#include "admin/openapi.h"
#include "admin/web_files.h"
#include "base/clock.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace sos::admin {
namespace {

using nlohmann::json;

struct Acknowledged {
  std::string callId, by;
};

class Routes : public ::testing::Test {
 protected:
  Routes() {
    add("ops", "super-admin", {}, "");
    add("hq-admin", "site-admin", {"HQ"}, "");
    add("london-desk", "responder", {"London"}, "");
    add("hq-desk", "responder", {"HQ"}, "");
    add("phone-1002", "device", {}, "1002");
    add("wlc", "network-reporter", {}, "");
    callSites["hq-call"] = "HQ";
    callSites["london-call"] = "London";
    callSites["broken"] = "HQ";
    callSites["unknown"] = "HQ";  // an alert row the acknowledgement no longer finds
  }

  // A token in force named `name`; its secret is "secret-NAME".
  void add(const std::string& name, const std::string& role, std::vector<std::string> sites,
           const std::string& subject) {
    store::ApiToken t;
    t.id = static_cast<int64_t>(tokens.size()) + 1;
    t.name = name;
    t.role = role;
    t.sites = std::move(sites);
    t.subject = subject;
    t.hash = tokenHash("secret-" + name);
    tokens[t.hash] = t;
  }

  AdminRoutes routes(bool alerts = true, AdminRoutes::Settings settings = {}) {
    AdminRoutes::Handlers h;
    h.metrics = [] { return std::string("sosproxy_calls_total 3\n"); };
    if (alerts) {
      h.acknowledge = [this](const std::string& callId, const std::string& by) -> Result<bool> {
        acks.push_back({callId, by});
        if (callId == "broken") return Error{"store.write", "disk full"};
        return callId != "unknown";
      };
    }
    h.callSite = [this](const std::string& callId) -> Result<std::optional<std::string>> {
      auto it = callSites.find(callId);
      if (it == callSites.end()) return std::optional<std::string>{};
      return std::optional<std::string>{it->second};
    };
    h.reload = [this] {
      ++reloads;
      return AdminRoutes::ReloadOutcome{
          reloadWorks, reloadWorks ? "{\"reloaded\":true}\n" : "{\"reloaded\":false}\n"};
    };
    h.tokens.find = [this](const std::string& hash) -> Result<std::optional<store::ApiToken>> {
      if (storeDown) return Error{"store.read", "database disk image is malformed"};
      auto it = tokens.find(hash);
      if (it == tokens.end() || it->second.revokedAtMs != 0) {
        return std::optional<store::ApiToken>{};
      }
      return std::optional<store::ApiToken>{it->second};
    };
    h.tokens.list = [this]() -> Result<std::vector<store::ApiToken>> {
      std::vector<store::ApiToken> out;
      for (const auto& [hash, t] : tokens) out.push_back(t);
      return out;
    };
    h.tokens.create = [this](store::ApiToken& t, const store::AuditEntry& e) -> Result<void> {
      for (const auto& [hash, existing] : tokens) {
        if (existing.name == t.name) return Error{"store.conflict", "name taken"};
      }
      tokens[t.hash] = t;
      audit.push_back(e);
      return {};
    };
    h.tokens.revoke = [this](const std::string& name, const store::AuditEntry& e) -> Result<bool> {
      for (auto& [hash, t] : tokens) {
        if (t.name == name && t.revokedAtMs == 0) {
          t.revokedAtMs = e.atMs;
          audit.push_back(e);
          return true;
        }
      }
      return false;
    };
    h.tokens.audit = [this](const store::AuditEntry& e) -> Result<int64_t> {
      audit.push_back(e);
      return static_cast<int64_t>(audit.size());
    };
    h.tokens.loadAudit =
        [this](const store::AuditQuery& q) -> Result<std::vector<store::AuditEntry>> {
      lastAuditQuery = q;
      return audit;
    };
    h.nowMs = [] { return int64_t{1'700'000'000'000}; };
    h.liveCalls = liveCalls;
    if (settings.sites.empty()) settings.sites = {"HQ", "London"};
    return AdminRoutes(std::move(h), std::move(settings));
  }

  static HttpRequest request(std::string method, std::string target, std::string body = "",
                             const std::string& token = "ops") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    if (!r.body.empty()) r.contentType = "application/json";
    if (!token.empty()) r.authorization = "Bearer secret-" + token;
    r.host = "127.0.0.1:8080";
    r.peerAddress = "192.0.2.7";
    return r;
  }

  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return "";
  }

  std::map<std::string, store::ApiToken> tokens;  // by hash
  std::map<std::string, std::string> callSites;
  std::vector<Acknowledged> acks;
  std::vector<store::AuditEntry> audit;
  store::AuditQuery lastAuditQuery;
  int reloads = 0;
  bool reloadWorks = true;
  bool storeDown = false;
  LiveCalls* liveCalls = nullptr;
};

TEST_F(Routes, HealthAndMetricsAreOpen) {
  auto r = routes();
  HttpResponse health = r.handle(request("GET", "/healthz", "", ""));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  HttpResponse metrics = r.handle(request("GET", "/metrics?x=1", "", ""));  // query ignored
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.contentType, "text/plain; version=0.0.4");
  EXPECT_EQ(metrics.body, "sosproxy_calls_total 3\n");
}

TEST_F(Routes, MetricsNeedAnyTokenWhenNotPublic) {
  AdminRoutes::Settings s;
  s.metricsPublic = false;
  auto r = routes(true, s);
  EXPECT_EQ(r.handle(request("GET", "/metrics", "", "")).status, 401);
  EXPECT_EQ(r.handle(request("GET", "/metrics", "", "phone-1002")).status, 200);
}

// Every /api/v1 route, with no token, an unknown one and a revoked one: 401 with a
// WWW-Authenticate challenge, and no handler reached.
TEST_F(Routes, EveryApiRouteRefusesAMissingUnknownOrRevokedToken) {
  add("gone", "super-admin", {}, "");
  tokens[tokenHash("secret-gone")].revokedAtMs = 1;
  auto r = routes();
  const std::vector<std::pair<std::string, std::string>> all{
      {"GET", "/api/v1/whoami"},
      {"POST", "/api/v1/location-reports"},
      {"POST", "/api/v1/calls/hq-call/acknowledge"},
      {"POST", "/api/v1/admin/reload"},
      {"GET", "/api/v1/tokens"},
      {"POST", "/api/v1/tokens"},
      {"DELETE", "/api/v1/tokens/ops"},
      {"GET", "/api/v1/audit"},
      {"GET", "/api/v1/no-such-route"}};
  for (const auto& [method, path] : all) {
    for (const std::string token : {"", "nobody", "gone"}) {
      HttpRequest req = request(method, path, method == "POST" ? "{}" : "", token);
      HttpResponse out = r.handle(req);
      EXPECT_EQ(out.status, 401) << method << " " << path << " token " << token << ": " << out.body;
      EXPECT_EQ(header(out, "WWW-Authenticate"), "Bearer realm=\"sosproxy\"");
      EXPECT_TRUE(json::parse(out.body).contains("error"));
    }
  }
  EXPECT_TRUE(acks.empty());
  EXPECT_EQ(reloads, 0);
  EXPECT_EQ(r.counters().unauthenticated.load(), all.size() * 3);
}

// Fallback: a store that cannot be read does not lock out a responder whose token was read
// before; a token never read is refused with 503, and a revocation seen before still counts.
TEST_F(Routes, AnUnreadableStoreKeepsTokensAsLastRead) {
  auto r = routes();
  EXPECT_EQ(r.handle(request("GET", "/api/v1/whoami", "", "hq-desk")).status, 200);
  tokens[tokenHash("secret-ops")].revokedAtMs = 5;
  EXPECT_EQ(r.handle(request("GET", "/api/v1/whoami", "", "ops")).status, 401);
  storeDown = true;
  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls/hq-call/acknowledge", "", "hq-desk")).status,
            200);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/whoami", "", "hq-admin")).status, 503);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/whoami", "", "ops")).status, 503);
  EXPECT_EQ(r.counters().tokenStoreFallbacks.load(), 1u);
}

TEST_F(Routes, WhoamiSaysWhatTheTokenIs) {
  HttpResponse out = routes().handle(request("GET", "/api/v1/whoami", "", "hq-admin"));
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(json::parse(out.body),
            json::parse(R"({"name":"hq-admin","role":"site-admin","sites":["HQ"]})"));
}

TEST_F(Routes, AForeignHostNameIsRefusedAnIpAddressOrAnAllowedNameIsNot) {
  AdminRoutes::Settings s;
  s.allowedHosts = {"sosproxy.hq.example"};
  auto r = routes(true, s);
  auto with = [&](const std::string& host) {
    HttpRequest req = request("GET", "/api/v1/whoami");
    req.host = host;
    return r.handle(req).status;
  };
  EXPECT_EQ(with("attacker.example"), 421);  // DNS rebinding: a name that resolves to us
  EXPECT_EQ(with("attacker.example:8080"), 421);
  EXPECT_EQ(with(""), 421);
  EXPECT_EQ(with("sosproxy.hq.example:8080"), 200);
  EXPECT_EQ(with("SOSPROXY.HQ.EXAMPLE"), 200);
  EXPECT_EQ(with("localhost:8080"), 200);
  EXPECT_EQ(with("10.0.0.5:8080"), 200);
  EXPECT_EQ(with("[::1]:8080"), 200);
  EXPECT_EQ(r.counters().badHost.load(), 3u);
  // Probes are answered whatever Host they give (a load balancer's health check).
  HttpRequest probe = request("GET", "/healthz", "", "");
  probe.host = "10-0-0-5.pod.example";
  EXPECT_EQ(r.handle(probe).status, 200);
}

TEST_F(Routes, ABodyThatIsNotJsonIs415) {
  HttpRequest req = request("POST", "/api/v1/calls/hq-call/acknowledge", "by=guard");
  req.contentType = "text/plain";
  EXPECT_EQ(routes().handle(req).status, 415);
  req.contentType = "application/json; charset=utf-8";
  req.body = R"({"by":"guard"})";
  EXPECT_EQ(routes().handle(req).status, 200);
  EXPECT_EQ(acks.size(), 1u);
}

TEST_F(Routes, AWrongMethodIs405WithAllow) {
  auto r = routes();
  HttpResponse get = r.handle(request("GET", "/api/v1/admin/reload"));
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(header(get, "Allow"), "POST");
  HttpResponse put = r.handle(request("PUT", "/api/v1/tokens", "{}"));
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(header(put, "Allow"), "GET, POST");
  // No state changes on GET.
  EXPECT_EQ(r.handle(request("GET", "/api/v1/calls/hq-call/acknowledge")).status, 405);
  EXPECT_EQ(reloads, 0);
  EXPECT_TRUE(acks.empty());
}

TEST_F(Routes, UnknownPathWithATokenIs404) {
  HttpResponse r = routes().handle(request("GET", "/api/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no such path\"}\n");
  EXPECT_EQ(routes().handle(request("POST", "/api/v1/calls//acknowledge", "{}")).status, 404);
}

TEST_F(Routes, AcknowledgementNamesTheCallAndWhoTookIt) {
  callSites["1-42@127.0.0.1"] = "HQ";
  auto r = routes();
  HttpResponse ok = r.handle(
      request("POST", "/api/v1/calls/1-42%40127.0.0.1/acknowledge", R"({"by": "guard 1"})"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"acknowledged\":true}\n");
  // Without a "by", the acknowledgement is the token's.
  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls/hq-call/acknowledge", "", "hq-desk")).status,
            200);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].callId, "1-42@127.0.0.1");  // percent-decoded
  EXPECT_EQ(acks[0].by, "guard 1");
  EXPECT_EQ(acks[1].by, "hq-desk");
  // Each is in the audit trail with the token's name and the call's site.
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].actor, "hq-desk");
  EXPECT_EQ(audit[1].role, "responder");
  EXPECT_EQ(audit[1].action, "call.acknowledge");
  EXPECT_EQ(audit[1].object, "call:hq-call");
  EXPECT_EQ(audit[1].site, "HQ");

  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls/unknown/acknowledge")).status, 404);
  HttpResponse broken = r.handle(request("POST", "/api/v1/calls/broken/acknowledge"));
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.body, "{\"error\":\"disk full\"}\n");
}

TEST_F(Routes, AcknowledgingIsForTheCallsSiteOnly) {
  auto r = routes();
  auto ack = [&](const std::string& call, const std::string& token) {
    return r.handle(request("POST", "/api/v1/calls/" + call + "/acknowledge", "", token)).status;
  };
  EXPECT_EQ(ack("london-call", "hq-admin"), 403);
  EXPECT_EQ(ack("london-call", "hq-desk"), 403);
  EXPECT_EQ(ack("hq-call", "london-desk"), 403);
  // A call no alert knows looks like another site's to a scoped token.
  EXPECT_EQ(ack("no-such-call", "hq-desk"), 403);
  EXPECT_EQ(ack("hq-call", "phone-1002"), 403);
  EXPECT_EQ(ack("hq-call", "wlc"), 403);
  EXPECT_TRUE(acks.empty());
  EXPECT_EQ(ack("london-call", "london-desk"), 200);
  EXPECT_EQ(ack("hq-call", "hq-admin"), 200);
  EXPECT_EQ(ack("london-call", "ops"), 200);
  EXPECT_EQ(acks.size(), 3u);
  EXPECT_EQ(r.counters().forbidden.load(), 6u);
}

TEST_F(Routes, AcknowledgementWithoutAlertsIs503) {
  HttpResponse r = routes(false).handle(request("POST", "/api/v1/calls/hq-call/acknowledge"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"error\":\"responder alerts are not running\"}\n");
}

TEST_F(Routes, ReloadIsASuperAdminsAndSaysWhetherItTookEffect) {
  auto r = routes();
  EXPECT_EQ(r.handle(request("POST", "/api/v1/admin/reload", "", "hq-admin")).status, 403);
  EXPECT_EQ(reloads, 0);
  HttpResponse ok = r.handle(request("POST", "/api/v1/admin/reload"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"reloaded\":true}\n");
  reloadWorks = false;
  HttpResponse refused = r.handle(request("POST", "/api/v1/admin/reload"));
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.body, "{\"reloaded\":false}\n");
  EXPECT_EQ(reloads, 2);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "config.reload");
  EXPECT_EQ(audit[0].actor, "ops");
}

TEST_F(Routes, LocationReportsAreRefusedToAResponderBeforeAnyHandler) {
  // No LocationApi is set: a 503 would mean the request got past the role check.
  HttpResponse out = routes().handle(
      request("POST", "/api/v1/location-reports", R"({"extension":"1001"})", "hq-desk"));
  EXPECT_EQ(out.status, 403);
}

TEST_F(Routes, ASuperAdminCreatesListsAndRevokesTokens) {
  auto r = routes();
  HttpResponse made = r.handle(request(
      "POST", "/api/v1/tokens", R"({"name":"london-it","role":"site-admin","sites":["London"]})"));
  ASSERT_EQ(made.status, 201) << made.body;
  const json created = json::parse(made.body);
  const std::string secret = created["token"];
  EXPECT_EQ(secret.substr(0, 4), "sos_");
  EXPECT_EQ(created["sites"], json::array({"London"}));
  // The new token works at once; only its hash was kept.
  HttpRequest who = request("GET", "/api/v1/whoami", "", "");
  who.authorization = "Bearer " + secret;
  EXPECT_EQ(json::parse(r.handle(who).body)["name"], "london-it");
  EXPECT_EQ(tokens.count(tokenHash(secret)), 1u);

  HttpResponse list = r.handle(request("GET", "/api/v1/tokens"));
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "a listing shows no secret";
  EXPECT_EQ(list.body.find("\"hash\""), std::string::npos);
  EXPECT_NE(list.body.find("london-it"), std::string::npos);

  EXPECT_EQ(
      r.handle(request("POST", "/api/v1/tokens", R"({"name":"london-it","role":"super-admin"})"))
          .status,
      409);
  EXPECT_EQ(
      r.handle(request("POST", "/api/v1/tokens", R"({"name":"x","role":"site-admin"})")).status,
      400);
  EXPECT_EQ(r.handle(request("DELETE", "/api/v1/tokens/london-it")).status, 200);
  EXPECT_EQ(r.handle(who).status, 401);
  EXPECT_EQ(r.handle(request("DELETE", "/api/v1/tokens/london-it")).status, 404);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "token.create");
  EXPECT_EQ(audit[1].action, "token.revoke");
  EXPECT_EQ(audit[1].object, "token:london-it");
}

TEST_F(Routes, TokensAreASuperAdminsOnly) {
  auto r = routes();
  for (const std::string t : {"hq-admin", "hq-desk", "phone-1002", "wlc"}) {
    EXPECT_EQ(r.handle(request("GET", "/api/v1/tokens", "", t)).status, 403) << t;
    EXPECT_EQ(r.handle(request("POST", "/api/v1/tokens", R"({"name":"y","role":"super-admin"})", t))
                  .status,
              403)
        << t;
    EXPECT_EQ(r.handle(request("DELETE", "/api/v1/tokens/ops", "", t)).status, 403) << t;
  }
  EXPECT_EQ(tokens.size(), 6u);
}

TEST_F(Routes, TheAuditTrailIsScopedToASiteAdminsSites) {
  auto r = routes();
  EXPECT_EQ(r.handle(request("GET", "/api/v1/audit?limit=5", "", "hq-admin")).status, 200);
  EXPECT_EQ(lastAuditQuery.sites, std::vector<std::string>{"HQ"});
  EXPECT_EQ(lastAuditQuery.limit, 5u);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/audit?before=7")).status, 200);
  EXPECT_TRUE(lastAuditQuery.sites.empty());
  EXPECT_EQ(lastAuditQuery.beforeId, 7);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/audit", "", "hq-desk")).status, 403);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/audit?limit=0")).status, 400);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/audit?limit=x")).status, 400);
}

// Issue 16: the OpenAPI document lists exactly the paths and methods the server answers, and
// every /api/v1 operation says what a missing token gets.
TEST(OpenApi, TheDocumentDescribesEveryRouteTheServerAnswersAndNoOther) {
  const json doc = json::parse(kOpenApiJson);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  const json& paths = doc["paths"];
  std::set<std::string> documented;
  for (const auto& [path, item] : paths.items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      documented.insert(method + " " + path);
      if (path.rfind("/api/v1/", 0) == 0) {
        EXPECT_TRUE(op["responses"].contains("401")) << method << " " << path;
      }
    }
  }
  std::set<std::string> answered;
  for (const auto& route : AdminRoutes::kRouteTable) {
    std::string_view methods = route.methods;
    while (!methods.empty()) {
      const auto comma = methods.find(',');
      std::string m(methods.substr(0, comma));
      m.erase(0, m.find_first_not_of(' '));
      for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      answered.insert(m + " " + std::string(route.path));
      if (comma == std::string_view::npos) break;
      methods.remove_prefix(comma + 1);
    }
  }
  EXPECT_EQ(documented, answered);
}

TEST(OpenApi, TemplatesMatchOnePartAndTheDocumentIsServedToAnyToken) {
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/locations/hq-lobby")->path, "/api/v1/locations/{key}");
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/locations")->path, "/api/v1/locations");
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/locations/hq-lobby/networks")->path,
            "/api/v1/locations/{key}/networks");
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/calls/a%2Fb@h/acknowledge")->path,
            "/api/v1/calls/{callId}/acknowledge");
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/calls//acknowledge"), nullptr);
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/tokens/"), nullptr);
  EXPECT_EQ(AdminRoutes::findRoute("/api/v1/nothing"), nullptr);
}

// A stream that keeps what it is sent.
struct KeptStream : EventStream {
  bool send(std::string text) override {
    if (over) return false;
    sent += text;
    return true;
  }
  void end() override { over = true; }
  bool ended() const override { return over; }
  std::string sent;
  bool over = false;
};

// Issue 18: the live calls' stream is an admin's or a responder's (its sites' calls, live_calls.h),
// and it ends once its token is revoked.
TEST_F(Routes, TheLiveCallsStreamIsForAdminsAndRespondersAndEndsWithItsToken) {
  EXPECT_EQ(routes().handle(request("GET", "/api/v1/events", "", "hq-desk")).status, 503);
  LiveCalls live;
  liveCalls = &live;
  auto r = routes();
  EXPECT_EQ(r.handle(request("GET", "/api/v1/events", "", "")).status, 401);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/events", "", "phone-1002")).status, 403);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/dashboard/calls", "", "wlc")).status, 403);
  EXPECT_EQ(r.handle(request("POST", "/api/v1/events", "", "ops")).status, 405);
  EXPECT_EQ(r.handle(request("GET", "/api/v1/dashboard/calls", "", "hq-desk")).status, 200);
  HttpResponse out = r.handle(request("GET", "/api/v1/events", "", "hq-desk"));
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.contentType, "text/event-stream");
  ASSERT_TRUE(out.stream);
  auto stream = std::make_shared<KeptStream>();
  out.stream(stream);
  EXPECT_NE(stream->sent.find("event: snapshot\n"), std::string::npos) << stream->sent;
  EXPECT_EQ(live.counters().streams.load(), 1u);

  live.flush(unixMsNow() + 20000);  // checked: still in force
  EXPECT_FALSE(stream->ended());
  tokens[tokenHash("secret-hq-desk")].revokedAtMs = 5;
  live.flush(unixMsNow() + 40000);
  EXPECT_TRUE(stream->ended());
  EXPECT_NE(stream->sent.find("event: signed-out\n"), std::string::npos) << stream->sent;
}

TEST_F(Routes, TheOpenApiDocumentIsServedToAnyToken) {
  auto r = routes();
  EXPECT_EQ(r.handle(request("GET", "/api/v1/openapi.json", "", "")).status, 401);
  HttpResponse doc = r.handle(request("GET", "/api/v1/openapi.json", "", "phone-1002"));
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(json::parse(doc.body)["info"]["title"], "sosproxy admin API");
}

// Issue 17: the self-service page is public (it holds no data: the user signs in on it) and comes
// with headers that keep a browser from caching, sniffing or framing it, or from running anything
// that is not this origin's file.
TEST_F(Routes, TheSelfServicePageIsServedToAnyoneWithStrictHeaders) {
  auto r = routes();
  const std::vector<std::pair<std::string, std::string>> files{
      {"/me", "text/html; charset=utf-8"},
      {"/me.css", "text/css; charset=utf-8"},
      {"/me.js", "text/javascript; charset=utf-8"},
      {"/dashboard", "text/html; charset=utf-8"},
      {"/dashboard.css", "text/css; charset=utf-8"},
      {"/dashboard.js", "text/javascript; charset=utf-8"}};
  for (const auto& [path, type] : files) {
    HttpResponse out = r.handle(request("GET", path, "", ""));
    EXPECT_EQ(out.status, 200) << path << ": " << out.body;
    EXPECT_EQ(out.contentType, type) << path;
    EXPECT_FALSE(out.body.empty()) << path;
    EXPECT_EQ(header(out, "Cache-Control"), "no-store") << path;
    EXPECT_EQ(header(out, "X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(header(out, "Content-Security-Policy").rfind("default-src 'self';", 0), 0u) << path;
    EXPECT_NE(header(out, "Content-Security-Policy").find("form-action 'none'"), std::string::npos);
  }
  for (const std::string page : {"me", "dashboard"}) {
    const std::string html = r.handle(request("GET", "/" + page, "", "")).body;
    EXPECT_NE(html.find("<script src=\"/" + page + ".js\" defer></script>"), std::string::npos)
        << html;
    EXPECT_NE(html.find("<link rel=\"stylesheet\" href=\"/" + page + ".css\">"), std::string::npos)
        << html;
    // Nothing inline: the policy would refuse it.
    EXPECT_EQ(html.find("<script>"), std::string::npos) << page;
    EXPECT_EQ(html.find("<style"), std::string::npos) << page;
    EXPECT_EQ(html.find(" style="), std::string::npos) << page;
    EXPECT_EQ(html.find(" onclick="), std::string::npos) << page;
  }
  EXPECT_EQ(r.handle(request("POST", "/me", "{}", "")).status, 405);
  EXPECT_EQ(r.handle(request("GET", "/me.html", "", "")).status, 404);
  // A page reached through a name of an attacker's (DNS rebinding) is refused like the API.
  HttpRequest rebound = request("GET", "/me", "", "");
  rebound.host = "attacker.example";
  EXPECT_EQ(r.handle(rebound).status, 421);
}

TEST(WebFiles, EveryFileIsARouteOfTheTable) {
  ASSERT_FALSE(kWebFiles.empty());
  for (const WebFile& file : kWebFiles) {
    const RouteSpec* route = AdminRoutes::findRoute(file.path);
    ASSERT_NE(route, nullptr) << file.path;
    EXPECT_EQ(route->path, file.path);
    EXPECT_EQ(route->methods, "GET") << file.path;
    EXPECT_EQ(findWebFile(file.path), &file);
  }
  EXPECT_EQ(findWebFile("/api/v1/me"), nullptr);
}

}  // namespace
}  // namespace sos::admin
