// Call records over the admin API (admin/calls_api.h): who reads which calls, the filters as the
// store receives them, one call with its alert and deliveries, and the CSV export.
#include "admin/calls_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sos::admin {
namespace {

using nlohmann::json;

store::CallRecord record(int64_t id, std::string callId, std::string site) {
  store::CallRecord r;
  r.id = id;
  r.callId = std::move(callId);
  r.site = std::move(site);
  r.emergency = true;
  r.caller = "1001";
  r.dialed = "911";
  r.outcome = "answered";
  r.status = 200;
  r.attempts = "il-psap-a:503 il-psap-b:200";
  r.durationMs = 812.25;
  return r;
}

struct Calls : ::testing::Test {
  std::vector<store::CallRecord> records{record(2, "b@h", "London"), record(1, "a@h", "HQ")};
  store::CallQuery last;
  CallsApi api{CallsApi::Deps{
      [this](const store::CallQuery& q) -> Result<std::vector<store::CallRecord>> {
        last = q;
        std::vector<store::CallRecord> out;
        for (const auto& r : records) {
          const bool siteOk =
              q.sites.empty() || std::find(q.sites.begin(), q.sites.end(), r.site) != q.sites.end();
          if (siteOk && (q.callId.empty() || q.callId == r.callId)) out.push_back(r);
        }
        return out;
      },
      [](const std::string& callId) -> Result<std::optional<store::CallAlert>> {
        store::CallAlert a;
        a.callId = callId;
        a.site = "HQ";
        a.acknowledgedBy = "guard 1";
        a.acknowledgedAtMs = 9;
        return std::optional<store::CallAlert>{a};
      },
      [](const std::string& callId) -> Result<std::vector<store::NotificationJob>> {
        store::NotificationJob j;
        j.callId = callId;
        j.channel = "webhook";
        j.state = "delivered";
        j.event = "started";
        return std::vector<store::NotificationJob>{j};
      }}};

  HttpResponse get(const std::string& target, const Principal& who) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    std::string_view path(r.target);
    return api.handle(r, path.substr(0, path.find('?')), who);
  }
  const Principal ops{"ops", Role::SuperAdmin, {}, ""};
  const Principal hqDesk{"hq-desk", Role::Responder, {"HQ"}, ""};
};

TEST_F(Calls, AResponderReadsItsSitesCallsOnly) {
  auto list = json::parse(get("/api/v1/calls", hqDesk).body)["calls"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["call_id"], "a@h");
  EXPECT_EQ(last.sites, std::vector<std::string>{"HQ"});
  EXPECT_EQ(get("/api/v1/calls?site=London", hqDesk).status, 403);
  EXPECT_EQ(get("/api/v1/calls/b%40h", hqDesk).status, 403);
  EXPECT_EQ(get("/api/v1/calls/none", hqDesk).status, 404);
  EXPECT_EQ(get("/api/v1/calls", Principal{"d", Role::Device, {}, "1001"}).status, 403);
  EXPECT_EQ(get("/api/v1/calls", ops).body.find("b@h") != std::string::npos, true);
}

TEST_F(Calls, FiltersReachTheStoreAndBadOnesAre400) {
  EXPECT_EQ(
      get("/api/v1/calls?since=5&until=9&emergency=no&outcome=failed&limit=7&before=3", ops).status,
      200);
  EXPECT_EQ(last.sinceMs, 5);
  EXPECT_EQ(last.untilMs, 9);
  EXPECT_EQ(last.emergency, std::optional<bool>(false));
  EXPECT_EQ(last.outcome, "failed");
  EXPECT_EQ(last.limit, 7u);
  EXPECT_EQ(last.beforeId, 3);
  EXPECT_EQ(get("/api/v1/calls?since=yesterday", ops).status, 400);
  EXPECT_EQ(get("/api/v1/calls?emergency=maybe", ops).status, 400);
  EXPECT_EQ(get("/api/v1/calls?limit=0", ops).status, 400);
  EXPECT_EQ(get("/api/v1/calls?sort=asc", ops).status, 400);
}

TEST_F(Calls, OneCallHasItsAlertAndDeliveries) {
  auto out = get("/api/v1/calls/a%40h", hqDesk);
  ASSERT_EQ(out.status, 200) << out.body;
  auto j = json::parse(out.body);
  EXPECT_EQ(j["records"][0]["attempts"], "il-psap-a:503 il-psap-b:200");
  EXPECT_EQ(j["alert"]["acknowledged_by"], "guard 1");
  EXPECT_EQ(j["deliveries"][0]["state"], "delivered");
}

// A '+' in a path is itself (a Call-ID may hold one); only a query's '+' is a space.
TEST_F(Calls, APlusInTheCallIdIsKept) {
  records.push_back(record(3, "a+b@h", "HQ"));
  EXPECT_EQ(get("/api/v1/calls/a+b%40h", ops).status, 200);
  EXPECT_EQ(last.callId, "a+b@h");
  EXPECT_EQ(get("/api/v1/calls?outcome=no+answer", ops).status, 200);
  EXPECT_EQ(last.outcome, "no answer");
}

TEST_F(Calls, TheCsvExportQuotesWhatNeedsIt) {
  records[1].reason = "said \"no\", twice";
  auto out = get("/api/v1/calls?format=csv", ops);
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.contentType, "text/csv; charset=utf-8");
  const std::string header =
      "id,call_id,started_at_ms,ended_at_ms,caller,dialed,emergency,test,site,location,"
      "location_by,elin,pidf,trunk,route,attempts,outcome,status,duration_ms,reason\r\n";
  EXPECT_EQ(out.body.substr(0, header.size()), header);
  EXPECT_NE(out.body.find("\r\n1,a@h,0,0,1001,911,1,0,HQ,,,,,,,il-psap-a:503 il-psap-b:200,"
                          "answered,200,812.2,\"said \"\"no\"\", twice\"\r\n"),
            std::string::npos)
      << out.body;
}

}  // namespace
}  // namespace sos::admin
