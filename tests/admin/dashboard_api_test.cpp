// The dashboard's location-tracking figures (admin/dashboard_api.h) over the demo enterprise
// (config/examples/demo-locations.yaml) in a store, with device reports saved as the report
// API saves them: each figure's count and list, the scope of a site-admin, and who may ask.

#include "admin/dashboard_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "store/store.h"
#include "tests/store/test_database.h"

namespace sos::admin {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000'000;
const std::string kDemoSeed = std::string(SOS_SOURCE_DIR) + "/config/examples/demo-locations.yaml";

class Dashboard : public ::testing::Test {
 protected:
  Dashboard() {
    // In memory, or the database of SOSPROXY_TEST_POSTGRESQL emptied (test_database.h).
    std::string target = ":memory:";
    if (const std::string pg = store::testing::testPostgresql(); !pg.empty()) {
      store::testing::emptyPostgresql(pg);
      target = pg;
    }
    auto opened = store::Store::open(target);
    EXPECT_TRUE(opened.ok());
    db = std::move(opened.value());
    auto seeded = db->seedIfEmpty(kDemoSeed);
    EXPECT_TRUE(seeded.ok() && seeded.value());
  }

  void report(const std::string& extension, const std::string& mac, const std::string& ip,
              int64_t agoMs) {
    model::DeviceReport r;
    r.extension = extension;
    r.mac = mac;
    r.ip = ip;
    r.reportedAtMs = kNow - agoMs;
    ASSERT_TRUE(db->saveReport(r).ok());
  }

  json figures(const TrackingScope& scope) {
    auto data = db->loadLocationData();
    EXPECT_TRUE(data.ok());
    auto snapshot = routing::LocationSnapshot::build(data.value());
    auto reports = db->latestReports();
    EXPECT_TRUE(reports.ok());
    return locationTracking(*snapshot, reports.value(), scope, kNow);
  }

  DashboardApi api() {
    return DashboardApi({[this]() -> std::shared_ptr<const routing::LocationSnapshot> {
                           auto data = db->loadLocationData();
                           return routing::LocationSnapshot::build(data.value());
                         },
                         [this] { return db->latestReports(); }, [] { return kNow; }});
  }

  static HttpRequest get(const std::string& target) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    return r;
  }

  static std::set<std::string> usersOf(const json& entries) {
    std::set<std::string> out;
    for (const auto& e : entries) out.insert(e["user"].get<std::string>());
    return out;
  }

  std::unique_ptr<store::Store> db;
};

const json* entryOf(const json& entries, const std::string& user) {
  for (const auto& e : entries)
    if (e["user"] == user) return &e;
  return nullptr;
}

// The demo's four users: Bob (1002) alone is nomadic and allows sharing; Carol (1003) and David
// (2001) have confirmed home addresses, Carol's with the network that finds it; nobody has
// reported yet, so nobody's whereabouts are known.
TEST_F(Dashboard, TheDemoEnterprisesFiguresBeforeAnyReport) {
  const json t = figures({true, {}});
  EXPECT_EQ(t["nomadic"]["count"], 1);
  EXPECT_EQ(t["nomadic"]["of"], 4);
  EXPECT_EQ(usersOf(t["nomadic"]["entries"]), std::set<std::string>{"1002"});
  EXPECT_EQ(t["sharing"]["count"], 1);
  EXPECT_EQ(t["sharing"]["of"], 1);
  EXPECT_EQ(t["emergency_address"]["personal"], 2);
  EXPECT_EQ(t["emergency_address"]["default"], 2);
  EXPECT_EQ((*entryOf(t["emergency_address"]["entries"], "1003"))["location"], "Carol's home");
  EXPECT_EQ((*entryOf(t["emergency_address"]["entries"], "1001"))["address"], "default");
  EXPECT_EQ(t["personal_locations"]["detectable"], 1);
  EXPECT_EQ(t["personal_locations"]["not_detectable"], 1);
  const json& users = t["now"]["users"];
  EXPECT_EQ(users["counts"], (json{{"company", 0}, {"personal", 0}, {"unknown", 4}}));
  EXPECT_EQ(users["total"], 4);
  EXPECT_TRUE((*entryOf(users["entries"], "1001"))["age_ms"].is_null());
  // Alice's desk phone is the demo's one IP phone.
  const json& phones = t["now"]["phones"];
  EXPECT_EQ(phones["counts"], (json{{"company", 0}, {"personal", 0}, {"unknown", 1}}));
  EXPECT_EQ(phones["entries"][0]["device"], "00:04:f2:00:10:01");
}

TEST_F(Dashboard, WhereEveryoneIsNowFollowsTheirLatestReports) {
  report("1001", "", "10.1.2.45", 60'000);                  // Alice's softphone: HQ Floor 2
  report("", "00:04:f2:00:10:01", "10.1.3.20", 120'000);    // her desk phone: HQ Floor 3
  report("1003", "", "203.0.113.7", 30'000);                // Carol at home
  report("2001", "", "198.51.100.9", 10'000);               // David: a network we do not know
  report("1002", "", "10.1.2.46", 3LL * 24 * 3600 * 1000);  // Bob: three days ago, too old
  const json t = figures({true, {}});
  const json& users = t["now"]["users"];
  EXPECT_EQ(users["counts"], (json{{"company", 1}, {"personal", 1}, {"unknown", 2}}));
  const json& alice = *entryOf(users["entries"], "1001");
  // The later of her two devices' reports is the softphone's.
  EXPECT_EQ(alice["where"], "company");
  EXPECT_EQ(alice["location"]["key"], "hq-floor-2");
  EXPECT_EQ(alice["found_by"], "subnet");
  EXPECT_EQ(alice["network"], "ip 10.1.2.45");
  EXPECT_EQ(alice["age_ms"], 60'000);
  const json& carol = *entryOf(users["entries"], "1003");
  EXPECT_EQ(carol["where"], "personal");
  EXPECT_EQ(carol["location"]["key"], "1003-home");
  EXPECT_EQ(carol["found_by"], "personal-network");
  const json& david = *entryOf(users["entries"], "2001");
  EXPECT_EQ(david["where"], "unknown");  // his confirmed home is reported, but nothing placed him
  EXPECT_EQ(david["location"]["key"], "2001-home");
  EXPECT_EQ((*entryOf(users["entries"], "1002"))["where"], "unknown");
  const json& phone = t["now"]["phones"]["entries"][0];
  EXPECT_EQ(phone["where"], "company");
  EXPECT_EQ(phone["location"]["key"], "hq-floor-3");
  EXPECT_EQ(phone["age_ms"], 120'000);
}

TEST_F(Dashboard, LocationPermissionOffLeavesAUserUnknown) {
  store::ImportRequest req;
  req.kind = store::DataKind::Users;
  req.records.push_back({0, {{"extension", "1001", 0}, {"location_permission", "no", 0}}});
  req.actor = "test";
  req.role = "super-admin";
  req.atMs = kNow;
  ASSERT_TRUE(db->applyRecords(req).ok());
  report("1001", "", "10.1.2.45", 1000);
  const json t = figures({true, {}});
  EXPECT_EQ((*entryOf(t["now"]["users"]["entries"], "1001"))["where"], "unknown");
}

// A London site-admin sees London's one user and nothing of HQ's.
TEST_F(Dashboard, ASiteAdminSeesItsSitesOnly) {
  Principal london{"london-admin", Role::SiteAdmin, {"London"}, ""};
  auto dashboard = api();
  HttpResponse out = dashboard.handle(get(std::string(DashboardApi::kTrackingPath)), london);
  ASSERT_EQ(out.status, 200) << out.body;
  const json t = json::parse(out.body);
  EXPECT_EQ(t["sites"], json::array({"London"}));
  EXPECT_EQ(t["nomadic"]["of"], 1);
  EXPECT_EQ(t["nomadic"]["count"], 0);
  EXPECT_EQ(t["emergency_address"]["personal"], 1);
  EXPECT_EQ(t["emergency_address"]["default"], 0);
  EXPECT_EQ(t["personal_locations"]["detectable"], 0);
  EXPECT_EQ(t["personal_locations"]["not_detectable"], 1);
  EXPECT_EQ(usersOf(t["now"]["users"]["entries"]), std::set<std::string>{"2001"});
  EXPECT_EQ(t["now"]["phones"]["total"], 0);
  EXPECT_EQ(out.body.find("1001"), std::string::npos);
  EXPECT_EQ(out.body.find("HQ"), std::string::npos) << out.body;

  EXPECT_EQ(
      dashboard.handle(get(std::string(DashboardApi::kTrackingPath) + "?site=HQ"), london).status,
      403);
  EXPECT_EQ(dashboard.handle(get(std::string(DashboardApi::kTrackingPath) + "?site=London"), london)
                .status,
            200);
}

TEST_F(Dashboard, ASuperAdminSeesEverySiteOrOne) {
  Principal ops{"ops", Role::SuperAdmin, {}, ""};
  auto dashboard = api();
  const json all =
      json::parse(dashboard.handle(get(std::string(DashboardApi::kTrackingPath)), ops).body);
  EXPECT_TRUE(all["sites"].is_null());
  EXPECT_EQ(all["nomadic"]["of"], 4);
  const json hq = json::parse(
      dashboard.handle(get(std::string(DashboardApi::kTrackingPath) + "?site=HQ"), ops).body);
  EXPECT_EQ(hq["nomadic"]["of"], 3);
  EXPECT_EQ(usersOf(hq["now"]["users"]["entries"]),
            (std::set<std::string>{"1001", "1002", "1003"}));
  EXPECT_EQ(
      dashboard.handle(get(std::string(DashboardApi::kTrackingPath) + "?limit=3"), ops).status,
      400);
}

TEST_F(Dashboard, OnlyAdminsMayAsk) {
  auto dashboard = api();
  for (Role role : {Role::Responder, Role::Device, Role::NetworkReporter}) {
    Principal who{"x", role, {"HQ"}, "1001"};
    EXPECT_EQ(dashboard.handle(get(std::string(DashboardApi::kTrackingPath)), who).status, 403)
        << toString(role);
  }
}

}  // namespace
}  // namespace sos::admin
