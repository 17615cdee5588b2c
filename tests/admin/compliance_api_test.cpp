// The compliance report of scheduled test calls over the admin API (admin/compliance_api.h,
// issue 21): every site and the trunks it tests, scheduled or not, with the store's last success
// and failure; JSON or CSV; scoped to the token's sites.
#include "admin/compliance_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sos::admin {
namespace {

using nlohmann::json;

config::Trunk trunk(const std::string& name, const std::string& destination) {
  config::Trunk t;
  t.name = name;
  t.host = "192.0.2.10";
  t.testDestination = destination;
  return t;
}

config::Site site(const std::string& name, std::vector<std::string> route) {
  config::Site s;
  s.name = name;
  s.psapRoute = std::move(route);
  return s;
}

struct Compliance : ::testing::Test {
  Compliance() {
    auto c = std::make_shared<config::Config>();
    c->trunks = {trunk("il-psap-a", "urn:service:test.sos"), trunk("il-psap-b", "933"),
                 trunk("uk-999", "")};
    config::Site hq = site("HQ", {"il-psap-a", "il-psap-b"});
    hq.testCalls = config::SiteTestCalls{3600, {}, {}};
    c->sites = {hq, site("London", {"uk-999"})};
    cfg = c;
    store::TestCallStatus a;
    a.site = "HQ";
    a.trunk = "il-psap-a";
    a.lastTestAtMs = a.lastSuccessAtMs = 1'700'000'000'000;
    a.lastSuccessDestination = "urn:service:test.sos";
    a.tests = 4;
    store::TestCallStatus b;
    b.site = "HQ";
    b.trunk = "il-psap-b";
    b.lastTestAtMs = b.lastFailureAtMs = 1'700'000'000'000;
    b.lastFailureOutcome = "rejected";
    b.lastFailureStatus = 503;
    b.lastFailureReason = "503 Service Unavailable";
    b.consecutiveFailures = 2;
    b.tests = b.failures = 2;
    store::TestCallStatus gone;  // tested once, no longer configured
    gone.site = "HQ";
    gone.trunk = "old-psap";
    gone.lastTestAtMs = gone.lastSuccessAtMs = 1'600'000'000'000;
    gone.tests = 1;
    statuses = {a, b, gone};
  }

  HttpResponse get(const std::string& target, const Principal& who) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    return api.handle(r, who);
  }

  std::shared_ptr<const config::Config> cfg;
  std::vector<store::TestCallStatus> statuses;
  std::vector<std::string> askedFor;
  int64_t now = 1'700'000'000'000 + 1000;
  ComplianceApi api{ComplianceApi::Deps{
      [this] { return cfg; },
      [this](const std::vector<std::string>& sites) -> Result<std::vector<store::TestCallStatus>> {
        askedFor = sites;
        return statuses;
      },
      [this] { return now; }}};
  Principal admin{"root", Role::SuperAdmin, {}, ""};
  Principal london{"london-it", Role::SiteAdmin, {"London"}, ""};
};

TEST_F(Compliance, EverySiteAndTrunkWithLastSuccessAndLastFailure) {
  HttpResponse out = get("/api/v1/compliance/test-calls", admin);
  ASSERT_EQ(out.status, 200) << out.body;
  const json report = json::parse(out.body);
  EXPECT_EQ(report["generated_at_ms"], now);
  const json& rows = report["test_calls"];
  ASSERT_EQ(rows.size(), 4u) << rows.dump(2);
  EXPECT_EQ(rows[0]["trunk"], "il-psap-a");
  EXPECT_EQ(rows[0]["state"], "passing");
  EXPECT_EQ(rows[0]["scheduled"], true);
  EXPECT_EQ(rows[0]["interval_s"], 3600);
  EXPECT_EQ(rows[0]["last_success"]["at_ms"], 1'700'000'000'000);
  EXPECT_TRUE(rows[0]["last_failure"].is_null());
  EXPECT_EQ(rows[1]["trunk"], "il-psap-b");
  EXPECT_EQ(rows[1]["destination"], "933");
  EXPECT_EQ(rows[1]["state"], "failing");
  EXPECT_EQ(rows[1]["last_failure"]["status"], 503);
  EXPECT_EQ(rows[1]["last_failure"]["reason"], "503 Service Unavailable");
  EXPECT_EQ(rows[1]["consecutive_failures"], 2);
  EXPECT_TRUE(rows[1]["last_success"].is_null());
  // London tests uk-999 by default, but has no schedule (and uk-999 no destination).
  EXPECT_EQ(rows[2]["site"], "London");
  EXPECT_EQ(rows[2]["state"], "not-scheduled");
  EXPECT_TRUE(rows[2]["destination"].is_null());
  EXPECT_TRUE(rows[2]["last_test_at_ms"].is_null());
  // What the store has of a trunk no longer configured is listed last.
  EXPECT_EQ(rows[3]["trunk"], "old-psap");
  EXPECT_EQ(rows[3]["scheduled"], false);
  EXPECT_EQ(rows[3]["state"], "passing");
  EXPECT_TRUE(askedFor.empty());
}

TEST_F(Compliance, OverdueWhenNoTestForTwoIntervals) {
  now = 1'700'000'000'000 + 2 * 3600 * 1000 + 1;
  const json rows = json::parse(get("/api/v1/compliance/test-calls", admin).body)["test_calls"];
  EXPECT_EQ(rows[0]["overdue"], true);
  EXPECT_EQ(rows[2]["overdue"], false);  // not scheduled
}

TEST_F(Compliance, CsvHasTheSameRows) {
  HttpResponse out = get("/api/v1/compliance/test-calls?format=csv", admin);
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.contentType, "text/csv; charset=utf-8");
  EXPECT_EQ(out.body.substr(0, out.body.find("\r\n")),
            "site,trunk,destination,scheduled,interval_s,state,overdue,last_test_at,"
            "last_success_at,last_failure_at,last_failure_outcome,last_failure_status,"
            "last_failure_reason,consecutive_failures,tests,failures");
  EXPECT_NE(out.body.find("\r\nHQ,il-psap-a,urn:service:test.sos,yes,3600,passing,no,"
                          "2023-11-14T22:13:20.000Z,2023-11-14T22:13:20.000Z,,,,,0,4,0\r\n"),
            std::string::npos)
      << out.body;
  EXPECT_NE(
      out.body.find("\r\nHQ,il-psap-b,933,yes,3600,failing,no,2023-11-14T22:13:20.000Z,,"
                    "2023-11-14T22:13:20.000Z,rejected,503,503 Service Unavailable,2,2,2\r\n"),
      std::string::npos)
      << out.body;
  EXPECT_NE(out.body.find("\r\nLondon,uk-999,,no,,not-scheduled,no,,,,,,,0,0,0\r\n"),
            std::string::npos)
      << out.body;
}

TEST_F(Compliance, ASiteAdminSeesItsSitesOnly) {
  statuses.clear();
  HttpResponse out = get("/api/v1/compliance/test-calls", london);
  ASSERT_EQ(out.status, 200) << out.body;
  const json rows = json::parse(out.body)["test_calls"];
  ASSERT_EQ(rows.size(), 1u) << rows.dump(2);
  EXPECT_EQ(rows[0]["site"], "London");
  EXPECT_EQ(askedFor, std::vector<std::string>{"London"});
  EXPECT_EQ(get("/api/v1/compliance/test-calls?site=HQ", london).status, 403);
  EXPECT_EQ(get("/api/v1/compliance/test-calls?site=London", london).status, 200);
  // A scoped token without sites sees nothing rather than everything.
  Principal nobody{"x", Role::Responder, {}, ""};
  const json none = json::parse(get("/api/v1/compliance/test-calls", nobody).body)["test_calls"];
  EXPECT_TRUE(none.empty()) << none.dump();
}

TEST_F(Compliance, OtherRolesAndBadParametersAreRefused) {
  EXPECT_EQ(get("/api/v1/compliance/test-calls", Principal{"p", Role::Device, {}, "1002"}).status,
            403);
  EXPECT_EQ(
      get("/api/v1/compliance/test-calls", Principal{"n", Role::NetworkReporter, {}, ""}).status,
      403);
  EXPECT_EQ(get("/api/v1/compliance/test-calls?format=xml", admin).status, 400);
  EXPECT_EQ(get("/api/v1/compliance/test-calls?limit=3", admin).status, 400);
}

}  // namespace
}  // namespace sos::admin
