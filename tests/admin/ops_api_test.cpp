// Trunk state and ELIN mappings over the admin API (admin/ops_api.h).
#include "admin/ops_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sos::admin {
namespace {

using nlohmann::json;

struct Ops : ::testing::Test {
  Ops() {
    auto c = std::make_shared<config::Config>();
    config::Trunk a;
    a.name = "il-psap-a";
    a.host = "192.0.2.10";
    a.optionsIntervalMs = 10000;
    config::Trunk carrier = a;
    carrier.name = "carrier";
    carrier.optionsIntervalMs = 0;
    config::Trunk b = a;
    b.name = "il-psap-b";
    c->trunks = {carrier, a, b};
    c->carrierTrunk = "carrier";
    cfg = c;
    model::LocationData d;
    model::Location hq;
    hq.key = "hq-floor-2";
    hq.name = "HQ Floor 2";
    hq.site = "HQ";
    hq.elins = {"+12175550102"};
    model::Location london = hq;
    london.key = "london-office";
    london.name = "London office";
    london.site = "London";
    london.elins = {"+442075550100"};
    d.locations = {hq, london};
    d.accountDefaultKey = "hq-floor-2";
    snap = routing::LocationSnapshot::build(std::move(d));
  }
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<const routing::LocationSnapshot> snap;
  std::vector<model::CallbackTarget> mappings{
      {{"1001", "+12175551001", "sip:1001@10.1.2.45", "c1"}, "+12175550102", 1, 5000},
      {{"2001", "+442075552001", "sip:2001@10.2.0.9", "c2"}, "+442075550100", 1, 5000},
      {{"1002", "+12175551002", "sip:1002@10.1.2.46", "c3"}, "+12175550102", 1, 999}};
  OpsApi api{
      OpsApi::Deps{[this] { return cfg; }, [] { return std::vector<std::string>{"il-psap-b"}; },
                   [this]() -> Result<std::vector<model::CallbackTarget>> { return mappings; },
                   [this] { return snap; }, [] { return int64_t{1000}; }}};

  HttpResponse get(std::string_view path, const Principal& who) {
    HttpRequest r;
    r.method = "GET";
    r.target = std::string(path);
    return api.handle(r, path, who);
  }
};

TEST_F(Ops, TrunksSayUpDownOrNotProbed) {
  auto out = get(OpsApi::kTrunksPath, Principal{"desk", Role::Responder, {"HQ"}, ""});
  ASSERT_EQ(out.status, 200);
  auto t = json::parse(out.body)["trunks"];
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["state"], "not probed");
  EXPECT_EQ(t[0]["carrier"], true);
  EXPECT_EQ(t[1]["state"], "up");
  EXPECT_EQ(t[1]["target"], "192.0.2.10:5060");
  EXPECT_EQ(t[2]["state"], "down");
}

// Issue 18: besides up or down, what the SIP thread last said of each trunk.
TEST_F(Ops, TrunksSaySinceWhenTheirLastProbeAndTheirLastFailover) {
  OpsApi withFacts{OpsApi::Deps{
      [this] { return cfg; }, [] { return std::vector<std::string>{"il-psap-b"}; },
      [this]() -> Result<std::vector<model::CallbackTarget>> { return mappings; },
      [this] { return snap; }, [] { return int64_t{1000}; },
      [] {
        return std::vector<TrunkFacts>{{"il-psap-b", 900, "no answer to OPTIONS", 950, "no answer",
                                        800, "il-psap-b: 503; trying erc (call c1)", 2}};
      }}};
  HttpRequest r;
  r.method = "GET";
  r.target = std::string(OpsApi::kTrunksPath);
  auto out = withFacts.handle(r, OpsApi::kTrunksPath, Principal{"ops", Role::SuperAdmin, {}, ""});
  ASSERT_EQ(out.status, 200);
  auto t = json::parse(out.body)["trunks"];
  EXPECT_EQ(t[2]["name"], "il-psap-b");
  EXPECT_EQ(t[2]["state"], "down");
  EXPECT_EQ(t[2]["changed_at_ms"], 900);
  EXPECT_EQ(t[2]["why"], "no answer to OPTIONS");
  EXPECT_EQ(t[2]["last_probe_at_ms"], 950);
  EXPECT_EQ(t[2]["last_probe"], "no answer");
  EXPECT_EQ(t[2]["last_failover"], "il-psap-b: 503; trying erc (call c1)");
  EXPECT_EQ(t[2]["failovers"], 2);
  EXPECT_EQ(t[2]["options_interval_s"], 10.0);
  // A trunk it said nothing of: nulls.
  EXPECT_TRUE(t[1]["last_probe_at_ms"].is_null());
  EXPECT_TRUE(t[0]["options_interval_s"].is_null());
  EXPECT_EQ(withFacts.trunksJson(), t);
}

TEST_F(Ops, ElinMappingsInForceAreShownToTheirSiteOnly) {
  auto all = json::parse(get(OpsApi::kElinPath, Principal{"ops", Role::SuperAdmin, {}, ""}).body);
  ASSERT_EQ(all["mappings"].size(), 2u);  // the third expired at 999
  auto hq = json::parse(get(OpsApi::kElinPath, Principal{"d", Role::Responder, {"HQ"}, ""}).body);
  ASSERT_EQ(hq["mappings"].size(), 1u);
  EXPECT_EQ(hq["mappings"][0]["extension"], "1001");
  EXPECT_EQ(hq["mappings"][0]["location"], "HQ Floor 2");
  EXPECT_EQ(get(OpsApi::kElinPath, Principal{"p", Role::Device, {}, "1001"}).status, 403);
}

}  // namespace
}  // namespace sos::admin
