// Company locations over the admin API (admin/locations_api.h): a site-admin sees and writes its
// own sites' locations only; what is written reaches the store with an audit entry naming the
// token; the store's refusals keep their status.
#include "admin/locations_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sos::admin {
namespace {

using nlohmann::json;

model::Location location(std::string key, std::string site) {
  model::Location l;
  l.key = std::move(key);
  l.name = l.key;
  l.site = std::move(site);
  l.civic.country = "US";
  l.civic.flr = "2";
  return l;
}

struct Locations : ::testing::Test {
  Locations() {
    model::LocationData d;
    d.locations = {location("hq-floor-2", "HQ"), location("london-1", "London")};
    d.subnets = {{"10.1.2.0/24", "hq-floor-2"}};
    d.accountDefaultKey = "hq-floor-2";
    snap = routing::LocationSnapshot::build(std::move(d));
  }
  std::shared_ptr<const routing::LocationSnapshot> snap;
  std::vector<std::pair<std::string, store::AuditEntry>> puts;
  std::vector<std::string> removed;
  std::vector<std::string> texts;  // what each put wrote
  Result<store::Store::LocationWrite> putResult = store::Store::LocationWrite{"x", "HQ", true};

  LocationsApi api{
      LocationsApi::Deps{[this] { return snap; },
                         [this](const std::string& text, const std::string& key,
                                const store::AuditEntry& a) -> Result<store::Store::LocationWrite> {
                           puts.push_back({key.empty() ? text : key, a});
                           texts.push_back(text);
                           return putResult;
                         },
                         [this](const std::string& key, const store::AuditEntry&) -> Result<bool> {
                           removed.push_back(key);
                           return true;
                         },
                         [] { return int64_t{42}; }}};

  HttpResponse call(const std::string& method, const std::string& target, const Principal& who,
                    const std::string& body = "", std::string ifMatch = "*") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.ifMatch = std::move(ifMatch);
    std::string_view path(r.target);
    return api.handle(r, path.substr(0, path.find('?')), who);
  }
  const Principal ops{"ops", Role::SuperAdmin, {}, ""};
  const Principal hq{"hq-it", Role::SiteAdmin, {"HQ"}, ""};
};

TEST_F(Locations, ASiteAdminListsAndReadsItsOwnSitesOnly) {
  auto all = json::parse(call("GET", "/api/v1/locations", ops).body)["locations"];
  EXPECT_EQ(all.size(), 2u);
  auto mine = json::parse(call("GET", "/api/v1/locations", hq).body)["locations"];
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["key"], "hq-floor-2");
  EXPECT_EQ(mine[0]["subnets"], json::array({"10.1.2.0/24"}));
  EXPECT_EQ(mine[0]["civic"], json::parse(R"({"country":"US","FLR":"2"})"));
  EXPECT_EQ(call("GET", "/api/v1/locations?site=London", ops).body.find("hq-floor-2"),
            std::string::npos);
  // Pages in key order: "next" names the key to go on after.
  auto first = json::parse(call("GET", "/api/v1/locations?limit=1", ops).body);
  ASSERT_EQ(first["locations"].size(), 1u);
  EXPECT_EQ(first["next"], first["locations"][0]["key"]);
  auto second = json::parse(
      call("GET", "/api/v1/locations?limit=1&after=" + first["next"].get<std::string>(), ops).body);
  ASSERT_EQ(second["locations"].size(), 1u);
  EXPECT_NE(second["locations"][0]["key"], first["locations"][0]["key"]);
  EXPECT_TRUE(second["next"].is_null());
  EXPECT_EQ(call("GET", "/api/v1/locations?limit=0", ops).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/locations/london-1", hq).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/locations/nowhere", hq).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/locations/hq-floor-2", hq).status, 200);
}

TEST_F(Locations, ASiteAdminWritesItsOwnSitesOnly) {
  EXPECT_EQ(call("POST", "/api/v1/locations", hq, R"({"key":"l2","site":"London"})").status, 403);
  EXPECT_EQ(
      call("PUT", "/api/v1/locations/london-1", hq, R"({"key":"london-1","site":"HQ"})").status,
      403);
  // Moving an HQ location to London needs London too.
  EXPECT_EQ(
      call("PUT", "/api/v1/locations/hq-floor-2", hq, R"({"key":"hq-floor-2","site":"London"})")
          .status,
      403);
  EXPECT_EQ(call("DELETE", "/api/v1/locations/london-1", hq).status, 403);
  EXPECT_TRUE(puts.empty());
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(call("POST", "/api/v1/locations", hq, R"({"key":"hq-4","site":"HQ"})").status, 201);
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].second.actor, "hq-it");
  EXPECT_EQ(puts[0].second.action, "location.create");
  EXPECT_EQ(puts[0].second.object, "location:hq-4");
  EXPECT_EQ(call("DELETE", "/api/v1/locations/hq-floor-2", hq).status, 200);
  EXPECT_EQ(removed, std::vector<std::string>{"hq-floor-2"});
}

TEST_F(Locations, AChangeMustNameTheVersionItWasMadeFrom) {
  HttpResponse read = call("GET", "/api/v1/locations/hq-floor-2", ops);
  ASSERT_EQ(read.status, 200);
  ASSERT_EQ(read.headers.size(), 1u);
  EXPECT_EQ(read.headers[0].first, "ETag");
  const std::string etag = read.headers[0].second;
  EXPECT_EQ(call("DELETE", "/api/v1/locations/hq-floor-2", ops, "", "").status, 428);
  EXPECT_EQ(call("DELETE", "/api/v1/locations/hq-floor-2", ops, "", "\"0123\"").status, 412);
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(call("DELETE", "/api/v1/locations/hq-floor-2", ops, "", etag).status, 200);
  EXPECT_EQ(removed.size(), 1u);
}

// Issue 17: a network attached to a company location by an admin of its site. The location is
// written back whole with the network added (the store checks it as a PUT), audited under the
// token's name; another site's admin, a responder or device token, a network the location has
// already and a body that is neither a subnet nor a BSSID are refused without a write.
TEST_F(Locations, ANetworkIsAttachedByAnAdminOfTheLocationsSiteOnly) {
  const std::string path = "/api/v1/locations/hq-floor-2/networks";
  const Principal london{"london-it", Role::SiteAdmin, {"London"}, ""};
  const Principal desk{"hq-desk", Role::Responder, {"HQ"}, ""};
  const Principal phone{"phone-1002", Role::Device, {}, "1002"};
  for (const Principal* who : {&london, &desk, &phone}) {
    EXPECT_EQ(call("POST", path, *who, R"({"subnet": "10.1.9.0/24"})", "").status, 403)
        << who->name;
  }
  EXPECT_EQ(call("POST", path, hq, R"({"subnet": "10.1.2.0/24"})", "").status, 409);
  EXPECT_EQ(call("POST", path, hq, R"({"subnet": "10.1.9.0/24", "bssid": "x"})", "").status, 400);
  EXPECT_EQ(call("POST", path, hq, R"({"ip": "10.1.9.1"})", "").status, 400);
  EXPECT_EQ(call("GET", path, hq).status, 405);
  EXPECT_EQ(call("POST", "/api/v1/locations/nowhere/networks", hq, R"({"bssid": "x"})", "").status,
            404);
  EXPECT_TRUE(puts.empty());

  auto added = call("POST", path, hq, R"({"subnet": "10.1.9.0/24"})", "");
  EXPECT_EQ(added.status, 200) << added.body;
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].first, "hq-floor-2");
  const json written = json::parse(texts[0]);
  EXPECT_EQ(written["subnets"], json::array({"10.1.2.0/24", "10.1.9.0/24"}));
  EXPECT_EQ(written["civic"], json::parse(R"({"country":"US","FLR":"2"})"));
  EXPECT_EQ(puts[0].second.action, "location.network-add");
  EXPECT_EQ(puts[0].second.actor, "hq-it");
  EXPECT_EQ(puts[0].second.site, "HQ");
  EXPECT_EQ(call("POST", path, ops, R"({"bssid": "00:11:22:33:44:99"})", "").status, 200);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(json::parse(texts[1])["bssids"], json::array({"00:11:22:33:44:99"}));
}

TEST_F(Locations, OtherRolesAreRefused) {
  for (Role r : {Role::Responder, Role::Device, Role::NetworkReporter}) {
    EXPECT_EQ(call("GET", "/api/v1/locations", Principal{"x", r, {"HQ"}, "1001"}).status, 403);
  }
}

TEST_F(Locations, TheStoresRefusalsKeepTheirStatus) {
  putResult = Error{"store.invalid-location", "1:2: elinss: unknown key"};
  auto bad = call("POST", "/api/v1/locations", ops, R"({"key":"a","site":"HQ"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"], "1:2: elinss: unknown key");
  putResult = Error{"store.conflict", "taken"};
  EXPECT_EQ(call("POST", "/api/v1/locations", ops, R"({"key":"a","site":"HQ"})").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/locations", ops, "[1]").status, 400);
}

}  // namespace
}  // namespace sos::admin
