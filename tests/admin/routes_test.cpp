// The admin route table (admin/routes.h): each path reaches its handler with what the request
// carried, and answers with the documented status and JSON; unknown paths get 404.

#include "admin/routes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sos::admin {
namespace {

HttpRequest request(std::string method, std::string target, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.peerAddress = "192.0.2.7";
  return r;
}

struct Acknowledged {
  std::string callId, by;
};

class Routes : public ::testing::Test {
 protected:
  AdminRoutes routes(bool alerts = true) {
    AdminRoutes::Handlers h;
    h.metrics = [] { return std::string("sosproxy_calls_total 3\n"); };
    if (alerts) {
      h.acknowledge = [this](const std::string& callId, const std::string& by) -> Result<bool> {
        acks.push_back({callId, by});
        if (callId == "broken") return Error{"store.write", "disk full"};
        return callId != "unknown";
      };
    }
    h.reload = [this] {
      ++reloads;
      return AdminRoutes::ReloadOutcome{
          reloadWorks, reloadWorks ? "{\"reloaded\":true}\n" : "{\"reloaded\":false}\n"};
    };
    return AdminRoutes(std::move(h));
  }
  std::vector<Acknowledged> acks;
  int reloads = 0;
  bool reloadWorks = true;
};

TEST_F(Routes, HealthAndMetrics) {
  auto r = routes();
  HttpResponse health = r.handle(request("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  HttpResponse metrics = r.handle(request("GET", "/metrics?x=1"));  // the query is ignored
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.contentType, "text/plain; version=0.0.4");
  EXPECT_EQ(metrics.body, "sosproxy_calls_total 3\n");
}

TEST_F(Routes, UnknownPathIs404) {
  HttpResponse r = routes().handle(request("GET", "/api/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no such path\"}\n");
}

TEST_F(Routes, AcknowledgementNamesTheCallAndWhoTookIt) {
  auto r = routes();
  HttpResponse ok = r.handle(
      request("POST", "/api/v1/calls/1-42%40127.0.0.1/acknowledge", R"({"by": "guard 1"})"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"acknowledged\":true}\n");
  // Without a "by", the acknowledgement is the peer's.
  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls/2-1@h/acknowledge")).status, 200);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].callId, "1-42@127.0.0.1");  // percent-decoded
  EXPECT_EQ(acks[0].by, "guard 1");
  EXPECT_EQ(acks[1].by, "192.0.2.7");

  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls/unknown/acknowledge")).status, 404);
  HttpResponse broken = r.handle(request("POST", "/api/v1/calls/broken/acknowledge"));
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.body, "{\"error\":\"disk full\"}\n");
  // Not a POST, or no Call-ID: not this route.
  EXPECT_EQ(r.handle(request("GET", "/api/v1/calls/1-42/acknowledge")).status, 404);
  EXPECT_EQ(r.handle(request("POST", "/api/v1/calls//acknowledge")).status, 404);
  EXPECT_EQ(acks.size(), 4u);
}

TEST_F(Routes, AcknowledgementWithoutAlertsIs503) {
  HttpResponse r = routes(false).handle(request("POST", "/api/v1/calls/1-42/acknowledge"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"error\":\"responder alerts are not running\"}\n");
}

TEST_F(Routes, ReloadTakesAPostAndSaysWhetherItTookEffect) {
  auto r = routes();
  HttpResponse wrongMethod = r.handle(request("GET", "/api/v1/admin/reload"));
  EXPECT_EQ(wrongMethod.status, 405);
  EXPECT_EQ(reloads, 0);
  HttpResponse ok = r.handle(request("POST", "/api/v1/admin/reload"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"reloaded\":true}\n");
  reloadWorks = false;
  HttpResponse refused = r.handle(request("POST", "/api/v1/admin/reload"));
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.body, "{\"reloaded\":false}\n");
  EXPECT_EQ(reloads, 2);
}

}  // namespace
}  // namespace sos::admin
