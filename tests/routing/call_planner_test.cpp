// The call planner over the demo enterprise (config/examples/demo.yaml and demo-locations.yaml):
// one row per rule of the README's "The life of a call", steps 2 to 6, each a case a reader can
// check against the README. The data is the demo's as the store loads it from the seed.

#include "routing/call_planner.h"
#include "routing/planner_state.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "model/e164.h"
#include "store/store.h"
#include "tests/routing/test_time.h"
#include "tests/store/test_database.h"

namespace sos::routing {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // a fixed "now" (ms); time is injected

// The demo's configuration with the phones' 10.0.0.0/8 trusted and a PBX at 10.1.0.5 that may
// vouch for identities and network data (the demo itself trusts only 127.0.0.0/8).
std::shared_ptr<const Router> demoRouter() {
  auto loaded = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  config::Config cfg = std::move(loaded.value());
  cfg.trustedNetworks.push_back("10.0.0.0/8");
  cfg.pbxSources.push_back("10.1.0.5/32");
  cfg.networkSources.push_back("10.1.0.5/32");
  auto router = Router::create(std::make_shared<const config::Config>(std::move(cfg)));
  EXPECT_TRUE(router.ok()) << router.error().message;
  return router.value();
}

std::shared_ptr<const LocationSnapshot> demoSnapshot() {
  // In memory, or the database of SOSPROXY_TEST_POSTGRESQL emptied (test_database.h).
  std::string target = ":memory:";
  if (const std::string pg = store::testing::testPostgresql(); !pg.empty()) {
    store::testing::emptyPostgresql(pg);
    target = pg;
  }
  auto store = store::Store::open(target);
  EXPECT_TRUE(store.ok()) << store.error().message;
  auto seeded = store.value()->seedIfEmpty(std::string(SOS_SOURCE_DIR) +
                                           "/config/examples/demo-locations.yaml");
  EXPECT_TRUE(seeded.ok()) << seeded.error().message;
  auto data = store.value()->loadLocationData();
  EXPECT_TRUE(data.ok()) << data.error().message;
  return LocationSnapshot::build(std::move(data.value()));
}

// An INVITE as the edge hands it over: from the PBX (10.1.0.5) unless said otherwise.
struct Invite {
  std::string uri = "sip:911@sosproxy.hq.example";
  std::string from = "1001";
  std::string pai;
  std::string source = "10.1.0.5";
  std::string contactHost = "10.1.2.45";
  std::string pani;  // P-Access-Network-Info
  unsigned long maxForwards = 70;
};

CallRequest request(const Invite& in) {
  CallRequest r;
  r.callId = "c1@pbx";
  r.requestUri = in.uri;
  r.fromUser = in.from;
  r.fromUri = "sip:" + in.from + "@pbx.hq.example";
  r.paiUser = in.pai;
  if (!in.pai.empty()) r.paiUri = "sip:" + in.pai + "@pbx.hq.example";
  r.sourceAddress = in.source;
  r.transport = "udp";
  r.contactHost = in.contactHost;
  r.contactUri = "sip:" + in.from + "@" + in.contactHost + ":5062";
  r.pAccessNetworkInfo = in.pani;
  r.maxForwards = in.maxForwards;
  return r;
}

std::string names(const std::vector<const config::Trunk*>& route) {
  std::string out;
  for (const auto* t : route) out += (out.empty() ? "" : " ") + t->name;
  return out;
}

class CallPlannerTest : public ::testing::Test {
 protected:
  void SetUp() override { state_.setLocations(snapshot_, 300'000); }
  PlannerInputs inputs() const { return state_.inputs(*router_); }
  CallPlan plan(const Invite& in, int64_t now = kNow) const {
    return CallPlanner(inputs()).plan(request(in), now);
  }
  ElinAllocator& elins() { return *state_.elins(); }
  std::shared_ptr<const Router> router_ = demoRouter();
  std::shared_ptr<const LocationSnapshot> snapshot_ = demoSnapshot();
  PlannerState state_;
};

// ---- Step 3: trust, site, dial plan ----

struct DecisionRow {
  const char* name;
  Invite in;
  CallKind kind;
  const char* site;
  const char* requestUser;
  int rejectStatus;
};

void PrintTo(const DecisionRow& row, std::ostream* os) { *os << row.name; }

class CallPlannerDecision : public CallPlannerTest,
                            public ::testing::WithParamInterface<DecisionRow> {};

TEST_P(CallPlannerDecision, Row) {
  const DecisionRow& row = GetParam();
  CallPlan p = plan(row.in);
  EXPECT_EQ(toString(p.kind), toString(row.kind));
  EXPECT_EQ(p.decision.site ? p.decision.site->name : "", row.site);
  EXPECT_EQ(p.requestUser, row.requestUser);
  EXPECT_EQ(p.rejectStatus, row.rejectStatus);
}

Invite from(std::string user, std::string uri, std::string source = "10.1.0.5") {
  Invite in;
  in.from = std::move(user);
  in.uri = std::move(uri);
  in.source = std::move(source);
  return in;
}

INSTANTIATE_TEST_SUITE_P(
    LifeOfACallStep3, CallPlannerDecision,
    ::testing::Values(
        DecisionRow{"Dialed911IsAnEmergencyOfTheCallersSite", from("1001", "sip:911@x"),
                    CallKind::Emergency, "HQ", "911", 0},
        DecisionRow{"TheOutsideLinePrefixIsTakenOff", from("1001", "sip:9911@x"),
                    CallKind::Emergency, "HQ", "911", 0},
        DecisionRow{"ALongerNumberIsNoShortCode", from("1001", "sip:9112345@x"), CallKind::Ordinary,
                    "HQ", "9112345", 0},
        DecisionRow{"LondonDials999", from("2001", "sip:999@x", "10.44.0.9"), CallKind::Emergency,
                    "London", "999", 0},
        DecisionRow{"AnotherSitesDialStringIsAnEmergencyToo", from("1001", "sip:112@x"),
                    CallKind::Emergency, "HQ", "112", 0},
        DecisionRow{"AServiceUrnIsKeptAsTheRequestUri", from("1001", "urn:service:sos.fire"),
                    CallKind::Emergency, "HQ", "urn:service:sos.fire", 0},
        DecisionRow{"AnUntrustedSourceIsRefused", from("1001", "sip:5551234@x", "192.0.2.9"),
                    CallKind::Reject, "HQ", "", 403},
        DecisionRow{"AnUntrustedEmergencyIsRefusedAndAnAlarm",
                    from("1001", "sip:911@x", "192.0.2.9"), CallKind::Reject, "HQ", "", 403},
        DecisionRow{"MaxForwardsZeroIs483",
                    [] {
                      Invite in = from("1001", "sip:911@x");
                      in.maxForwards = 0;
                      return in;
                    }(),
                    CallKind::Reject, "HQ", "911", 483}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(CallPlannerTest, AnUntrustedEmergencyCallIsAnAlarmLine) {
  CallPlan p = plan(from("1001", "sip:911@x", "192.0.2.9"));
  EXPECT_TRUE(p.decision.alarm);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_EQ(p.notes[0].level, PlanNote::Level::Error);
  EXPECT_EQ(p.notes[0].text.rfind("ALARM: emergency call c1@pbx from untrusted source 192.0.2.9 "
                                  "refused: ",
                                  0),
            0u)
      << p.notes[0].text;
  EXPECT_TRUE(p.route.empty());
}

TEST_F(CallPlannerTest, OneHopIsTakenOffMaxForwards) {
  Invite in = from("1001", "sip:911@x");
  in.maxForwards = 7;
  EXPECT_EQ(plan(in).maxForwards, 6u);
}

TEST_F(CallPlannerTest, AnOrdinaryCallGoesToTheCarrierAndIsNotLocated) {
  CallPlan p = plan(from("1001", "sip:+12175559999@x"));
  EXPECT_EQ(p.kind, CallKind::Ordinary);
  EXPECT_EQ(names(p.route), "carrier");
  EXPECT_FALSE(p.where.has_value());
  EXPECT_TRUE(p.why.location.empty());
}

// ---- Step 2: what the source may vouch for ----

TEST_F(CallPlannerTest, AnIdentityFromThePbxIsTheCaller) {
  Invite in = from("anonymous", "sip:911@x");
  in.pai = "1002";
  CallPlan p = plan(in);
  EXPECT_EQ(p.caller, "1002");
  ASSERT_NE(p.user, nullptr);
  EXPECT_EQ(p.user->name, "Bob Baker");
  EXPECT_FALSE(p.tally.identityNotVouched);
}

TEST_F(CallPlannerTest, AnIdentityFromAPhoneIsIgnoredAndSaidSo) {
  Invite in = from("1001", "sip:911@x", "10.1.2.45");  // trusted, but no PBX
  in.pai = "2001";                                     // claims to be David in London
  CallPlan p = plan(in);
  EXPECT_EQ(p.caller, "1001");
  EXPECT_EQ(p.decision.site->name, "HQ");
  EXPECT_TRUE(p.vouched.identityDropped);
  EXPECT_TRUE(p.tally.identityNotVouched);
  ASSERT_FALSE(p.notes.empty());
  EXPECT_EQ(p.notes[0].text,
            "call c1@pbx from 10.1.2.45: P-Asserted-Identity ignored and removed (source not in "
            "pbx_sources)");
}

TEST_F(CallPlannerTest, AnUnknownAssertedIdentityFallsBackToTheFromUsersRecord) {
  Invite in = from("1002", "sip:911@x");
  in.pai = "+15550000000";  // no such user
  CallPlan p = plan(in);
  ASSERT_NE(p.user, nullptr);
  EXPECT_EQ(p.user->extension, "1002");
}

// ---- Step 4: where is the caller ----

struct LocateRow {
  const char* name;
  Invite in;
  const char* location;    // the location's name, "unknown" when none
  const char* signalWord;  // how it was found, the first word of the routing log's location_by
};

void PrintTo(const LocateRow& row, std::ostream* os) { *os << row.name; }

class CallPlannerLocate : public CallPlannerTest,
                          public ::testing::WithParamInterface<LocateRow> {};

TEST_P(CallPlannerLocate, Row) {
  const LocateRow& row = GetParam();
  CallPlan p = plan(row.in);
  ASSERT_EQ(p.kind, CallKind::Emergency);
  EXPECT_EQ(p.why.location, row.location) << p.why.locationBy;
  EXPECT_EQ(p.why.locationBy.substr(0, p.why.locationBy.find(':')), row.signalWord)
      << p.why.locationBy;
}

Invite at(std::string user, std::string contactHost, std::string pani = "",
          std::string source = "10.1.0.5") {
  Invite in = from(std::move(user), "sip:911@x", std::move(source));
  in.contactHost = std::move(contactHost);
  in.pani = std::move(pani);
  return in;
}

INSTANTIATE_TEST_SUITE_P(
    LifeOfACallStep4, CallPlannerLocate,
    ::testing::Values(LocateRow{"TheSubnetOfThePhonesAddress", at("1002", "10.1.3.7"), "HQ Floor 3",
                                "subnet"},
                      LocateRow{"AWifiAccessPointBeatsTheSubnet",
                                at("1002", "10.1.3.7", "IEEE-802.11; i-wlan-node-id=001122334455"),
                                "HQ Room 301", "bssid"},
                      LocateRow{"APlaceholderBssidIsIgnored",
                                at("1002", "10.1.3.7", "IEEE-802.11; i-wlan-node-id=ffffffffffff"),
                                "HQ Floor 3", "subnet"},
                      LocateRow{"NoDataPlacesTheCallerAtTheSiteDefault", at("1002", "192.168.9.9"),
                                "HQ Lobby", "site-default"},
                      LocateRow{"AConfirmedHomeForAUserOffTheNetwork", at("1003", "192.168.9.9"),
                                "Carol's home", "personal-confirmed"},
                      LocateRow{"LondonsSubnet", at("2001", "10.44.3.3", "", "10.44.0.9"),
                                "London Office", "subnet"}),
    [](const auto& info) { return std::string(info.param.name); });

// Nomadic emergency services off for HQ (issue 17, `sites[].nomadic: false`): Carol (1003, of
// HQ) has a confirmed home address and calls from her home network, yet the call carries HQ's
// default, a fallback counted and said, and the routing log's location_by says why. London's
// user keeps hers; with the setting back on, Carol's home is used again.
TEST(CallPlannerNomadic, OffForASiteTheCallCarriesTheCompanyLocation) {
  struct Row {
    const char* what;
    std::optional<bool> hq;  // sites[HQ].nomadic
    bool account;            // location.nomadic
    const char* location;
    const char* signalWord;
    bool policySaid;
  };
  const Row rows[] = {
      {"the demo as it is", std::nullopt, true, "Carol's home", "personal-network", false},
      {"off for HQ", false, true, "HQ Lobby", "site-default", true},
      {"off for the account", std::nullopt, false, "HQ Lobby", "site-default", true},
      {"off for the account, on for HQ", true, false, "Carol's home", "personal-network", false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    auto loaded = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    config::Config cfg = std::move(loaded.value());
    cfg.trustedNetworks.push_back("10.0.0.0/8");
    cfg.trustedNetworks.push_back("203.0.113.0/24");
    cfg.location.nomadic = row.account;
    for (auto& site : cfg.sites)
      if (site.name == "HQ") site.nomadic = row.hq;
    auto router = Router::create(std::make_shared<const config::Config>(cfg));
    ASSERT_TRUE(router.ok()) << router.error().message;
    auto base = demoSnapshot();
    auto snapshot = LocationSnapshot::build(base->data(), resolverSettings(cfg));
    PlannerState state;
    state.setLocations(snapshot, 300'000);
    Invite in = from("1003", "sip:911@x", "203.0.113.7");
    in.contactHost = "203.0.113.7";
    CallPlan p = CallPlanner(state.inputs(*router.value())).plan(request(in), kNow);
    ASSERT_EQ(p.kind, CallKind::Emergency);
    EXPECT_EQ(p.why.location, row.location) << p.why.locationBy;
    EXPECT_EQ(p.why.locationBy.substr(0, p.why.locationBy.find(':')), row.signalWord);
    const bool said = p.why.locationBy.find(
                          "nomadic emergency services off for site HQ: "
                          "personal addresses not used") != std::string::npos;
    EXPECT_EQ(said, row.policySaid) << p.why.locationBy;
    EXPECT_EQ(p.tally.locationFallback, row.policySaid);
    // London's user is not HQ's: her Manchester flat whatever HQ's setting.
    Invite london = from("2001", "sip:999@x", "10.44.0.9");
    london.contactHost = "198.51.100.20";
    if (row.account || row.hq.value_or(false)) continue;  // London follows the account
    CallPlan q = CallPlanner(state.inputs(*router.value())).plan(request(london), kNow);
    EXPECT_EQ(q.why.locationBy.substr(0, q.why.locationBy.find(':')), "site-default")
        << q.why.locationBy;
  }
}

TEST_F(CallPlannerTest, TheDevicesLastReportPlacesItByItsSwitchPort) {
  model::DeviceReport r;
  r.extension = "1002";
  r.chassis = "00:aa:bb:cc:dd:ee";
  r.port = "7";
  r.reportedAtMs = kNow - 5 * kMinute;
  state_.addReport(r);
  CallPlan p = plan(at("1002", "192.168.9.9"));
  EXPECT_EQ(p.why.location, "HQ Floor 2");
  EXPECT_EQ(p.why.locationBy.rfind("chassis-port", 0), 0u) << p.why.locationBy;
  EXPECT_EQ(p.why.locationAgeMs, 5 * kMinute);
}

TEST_F(CallPlannerTest, ASiteDefaultIsAFallbackCountedAndSaid) {
  CallPlan p = plan(at("1002", "192.168.9.9"));
  EXPECT_TRUE(p.tally.locationFallback);
  ASSERT_FALSE(p.notes.empty());
  EXPECT_EQ(p.notes[0].text,
            "call c1@pbx: no network data places caller 1002; using the site-default (HQ Lobby)");
}

TEST_F(CallPlannerTest, AUsableLocationFromTheDeviceIsKept) {
  Invite in = at("1002", "10.1.3.7");
  CallRequest req = request(in);
  req.geolocation = {"<cid:loc@phone>"};
  req.pidfParts = {{"loc@phone",
                    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
                    "xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" "
                    "xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\" "
                    "entity=\"pres:1002@hq.example\"><tuple id=\"t\"><status><gp:geopriv>"
                    "<gp:location-info><ca:civicAddress><ca:country>GB</ca:country>"
                    "<ca:A3>Manchester</ca:A3><ca:HNO>1</ca:HNO></ca:civicAddress>"
                    "</gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple>"
                    "</presence>"}};
  CallPlan kept = CallPlanner(inputs()).plan(req, kNow);
  EXPECT_EQ(kept.device.state, pidf::DeviceLocationState::Usable);
  EXPECT_EQ(kept.why.locationBy.rfind("device-supplied", 0), 0u) << kept.why.locationBy;
  // Without Geolocation-Routing: yes it does not choose the PSAP (step 5): the site's does.
  EXPECT_EQ(names(kept.route).rfind("il-psap-a", 0), 0u) << names(kept.route);
  // With it, the device's civic address routes the call by the GB rule.
  req.geolocationRouting = "yes";
  CallPlan routed = CallPlanner(inputs()).plan(req, kNow);
  EXPECT_EQ(names(routed.route).rfind("uk-999", 0), 0u) << names(routed.route);
  EXPECT_EQ(routed.why.route.rfind("civic rule GB", 0), 0u) << routed.why.route;
}

TEST_F(CallPlannerTest, AnUnusableLocationFromTheDeviceIsNamedAndNetworkDataWins) {
  CallRequest req = request(at("1002", "10.1.3.7"));
  req.geolocation = {"<cid:loc@phone>"};
  req.pidfParts = {{"loc@phone", "<presence>not a location</presence>"}};
  CallPlan p = CallPlanner(inputs()).plan(req, kNow);
  EXPECT_EQ(p.why.location, "HQ Floor 3");
  EXPECT_TRUE(p.tally.deviceLocationUnusable);
  EXPECT_NE(p.why.locationBy.find("; device location unusable: "), std::string::npos)
      << p.why.locationBy;
}

TEST_F(CallPlannerTest, WithoutASnapshotTheCallIsStillRouted) {
  PlannerInputs bare{router_.get(), nullptr, nullptr, nullptr};
  CallPlan p = CallPlanner(bare).plan(request(at("1002", "10.1.3.7")), kNow);
  EXPECT_EQ(p.kind, CallKind::Emergency);
  EXPECT_EQ(p.why.location, "unknown");
  EXPECT_EQ(p.why.locationBy, "no location data loaded");
  EXPECT_TRUE(p.tally.locationFallback);
  EXPECT_FALSE(p.route.empty());
  EXPECT_EQ(p.route.front()->name, "erc");
}

// ---- Step 5: which PSAP ----

struct RouteRow {
  const char* name;
  Invite in;
  const char* trunks;  // the whole route, tail included
  const char* basis;   // how the routing log's route field starts
};

void PrintTo(const RouteRow& row, std::ostream* os) { *os << row.name; }

class CallPlannerRoute : public CallPlannerTest, public ::testing::WithParamInterface<RouteRow> {};

TEST_P(CallPlannerRoute, Row) {
  const RouteRow& row = GetParam();
  CallPlan p = plan(row.in);
  EXPECT_EQ(names(p.route), row.trunks);
  EXPECT_EQ(p.why.route.rfind(row.basis, 0), 0u) << p.why.route;
  EXPECT_EQ(p.why.route.substr(p.why.route.find(": ") + 2), row.trunks);
}

INSTANTIATE_TEST_SUITE_P(
    LifeOfACallStep5, CallPlannerRoute,
    ::testing::Values(RouteRow{"AnIllinoisAddressByTheCivicRule", at("1002", "10.1.3.7"),
                               "il-psap-a il-psap-b erc carrier", "civic rule US/IL"},
                      RouteRow{"ALondonAddressByTheCivicRule",
                               at("2001", "10.44.3.3", "", "10.44.0.9"), "uk-999 erc carrier",
                               "civic rule GB"},
                      RouteRow{"ATestCallGoesToTheTestDestinationAlone",
                               [] {
                                 Invite in = at("1002", "10.1.3.7");
                                 in.uri = "sip:933@x";
                                 return in;
                               }(),
                               "psap-test", "test destination psap-test"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- PSAP callbacks (step 3's trunk exception) ----

TEST_F(CallPlannerTest, ACallbackToALiveElinReachesTheCaller) {
  const auto* floor2 = snapshot_->findLocation("hq-floor-2");
  ASSERT_NE(floor2, nullptr);
  model::CallerIdentity who{"1002", "+12175551002", "sip:1002@10.1.2.77:5062;transport=tcp",
                            "e1@pbx"};
  ElinChoice choice = elins().assign(*floor2, who, kNow - kMinute);
  ASSERT_EQ(choice.elin, "+12175550102");
  CallPlan p = plan(from("psap", "sip:+12175550102@x", "127.0.0.1"));  // a trunk's address
  ASSERT_EQ(p.kind, CallKind::Callback);
  ASSERT_NE(p.callbackHop, nullptr);
  EXPECT_EQ(p.callbackHop->host, "10.1.2.77");
  EXPECT_EQ(p.callbackHop->port, 5062);
  EXPECT_EQ(p.callbackHop->transport, config::Transport::Tcp);
  EXPECT_EQ(p.requestUser, "1002");
  ASSERT_EQ(p.route.size(), 1u);
  EXPECT_EQ(p.route[0], p.callbackHop.get());
  EXPECT_EQ(p.why.reason,
            "PSAP callback via ELIN +12175550102 to 1002 (emergency call e1@pbx, 60 s ago)");
  EXPECT_TRUE(p.tally.callbackToCaller);
  // The plan can be moved: its route still points at its own hop.
  CallPlan moved = std::move(p);
  EXPECT_EQ(moved.route[0]->host, "10.1.2.77");
}

TEST_F(CallPlannerTest, ACallbackMappingOutlivesASnapshotSwapAndARestart) {
  model::CallerIdentity who{"1002", "+12175551002", "sip:1002@10.1.2.77:5062", "e1@pbx"};
  ASSERT_EQ(elins().assign(*snapshot_->findLocation("hq-floor-2"), who, kNow).elin, "+12175550102");
  state_.setLocations(demoSnapshot(), 300'000);  // an edit through the API: a new snapshot
  EXPECT_EQ(plan(from("psap", "sip:+12175550102@x", "127.0.0.1")).requestUser, "1002");
  // A restart: the saved mappings are taken over by the first snapshot's pools.
  PlannerState restarted;
  restarted.restoreCallbacks(state_.elins()->callbacks().snapshot());
  restarted.setLocations(demoSnapshot(), 300'000);
  CallPlan p = CallPlanner(restarted.inputs(*router_))
                   .plan(request(from("psap", "sip:+12175550102@x", "127.0.0.1")), kNow);
  EXPECT_EQ(p.requestUser, "1002");
  EXPECT_TRUE(p.tally.callbackToCaller);
}

// Issue 22: a mapping another node made (read from the shared store) routes this node's callback;
// an older one for the same ELIN does not replace the newer one this node holds.
TEST_F(CallPlannerTest, AnotherNodesCallbackMappingIsMergedNewestAssignmentFirst) {
  PlannerState otherNode;
  otherNode.setLocations(demoSnapshot(), 300'000);
  model::CallerIdentity who{"1002", "+12175551002", "sip:1002@10.1.2.77:5062", "e1@pbx"};
  ASSERT_EQ(otherNode.elins()->assign(*snapshot_->findLocation("hq-floor-2"), who, kNow).elin,
            "+12175550102");
  EXPECT_NE(plan(from("psap", "sip:+12175550102@x", "127.0.0.1")).requestUser, "1002");
  state_.mergeCallbacks(otherNode.elins()->callbacks().snapshot());
  CallPlan p = plan(from("psap", "sip:+12175550102@x", "127.0.0.1"));
  EXPECT_EQ(p.requestUser, "1002");
  EXPECT_TRUE(p.tally.callbackToCaller);

  model::CallbackTarget older = otherNode.elins()->callbacks().snapshot().at(0);
  older.caller.extension = "1001";
  older.assignedAtMs -= 1000;
  state_.mergeCallbacks({older});
  EXPECT_EQ(plan(from("psap", "sip:+12175550102@x", "127.0.0.1")).requestUser, "1002");

  // Before the first snapshot they wait, and its pools take them over.
  PlannerState starting;
  starting.mergeCallbacks(otherNode.elins()->callbacks().snapshot());
  starting.setLocations(demoSnapshot(), 300'000);
  EXPECT_EQ(CallPlanner(starting.inputs(*router_))
                .plan(request(from("psap", "sip:+12175550102@x", "127.0.0.1")), kNow)
                .requestUser,
            "1002");
}

TEST_F(CallPlannerTest, ANetworkReportIsNotUndoneByThePhonesOwnAMinuteLater) {
  model::DeviceReport network;
  network.extension = "1002";
  network.bssid = "00:11:22:33:44:55";
  network.networkProvided = true;
  network.reportedAtMs = kNow - 2 * kMinute;
  model::DeviceReport phone;
  phone.extension = "1002";
  phone.ip = "10.1.3.9";
  phone.reportedAtMs = kNow - kMinute;
  state_.addReport(network);
  state_.addReport(phone);
  EXPECT_EQ(plan(at("1002", "192.168.9.9")).why.location, "HQ Room 301");
}

TEST_F(CallPlannerTest, ACallbackAfterTheWindowReachesTheSecurityDesk) {
  CallPlan p = plan(from("psap", "sip:+12175550103@x", "127.0.0.1"));
  ASSERT_EQ(p.kind, CallKind::Callback);
  EXPECT_EQ(p.callbackHop->host, "127.0.0.1");
  EXPECT_EQ(p.callbackHop->port, 5094);
  EXPECT_EQ(p.requestUser, "security-desk");
  EXPECT_EQ(p.why.reason,
            "PSAP callback to +12175550103 with no caller in the callback window: HQ security "
            "desk");
  EXPECT_TRUE(p.tally.callbackToDesk);
}

TEST_F(CallPlannerTest, ANumberThatIsNoElinOfOursIsAnOrdinaryCall) {
  CallPlan p = plan(from("1001", "sip:+12175559999@x", "127.0.0.1"));
  EXPECT_EQ(p.kind, CallKind::Ordinary);
  EXPECT_EQ(p.callbackHop, nullptr);
}

// ---- Step 6: the ELIN an attempt carries ----

TEST_F(CallPlannerTest, EachCallerAtALocationGetsItsOwnElinUntilThePoolIsBusy) {
  CallPlan first = plan(at("1001", "10.1.2.45"));
  ASSERT_EQ(first.why.location, "HQ Floor 2");
  ElinPlan a = CallPlanner::elinFor(first, elins(), kNow);
  EXPECT_EQ(a.elin, "+12175550102");
  EXPECT_TRUE(a.recorded);
  CallPlan second = plan(at("1002", "10.1.2.46"));
  ElinPlan b = CallPlanner::elinFor(second, elins(), kNow + 1);
  EXPECT_EQ(b.elin, "+12175550112");
  EXPECT_FALSE(b.reusedLive);
  CallPlan third = plan(at("1003", "10.1.2.47"));
  ElinPlan c = CallPlanner::elinFor(third, elins(), kNow + 2);
  EXPECT_TRUE(c.reusedLive);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].text.find("every ELIN of HQ Floor 2 is in its callback window"),
            std::string::npos)
      << c.notes[0].text;
}

TEST_F(CallPlannerTest, ACallWithoutALocationGetsNoElin) {
  PlannerInputs bare{router_.get(), nullptr, nullptr, nullptr};
  CallPlan p = CallPlanner(bare).plan(request(at("1002", "10.1.3.7")), kNow);
  ElinPlan e = CallPlanner::elinFor(p, elins(), kNow);
  EXPECT_TRUE(e.elin.empty());
  EXPECT_FALSE(e.recorded);
}

// ---- The one URI reader for where a callback goes ----

TEST(ParseSipHop, TheFormsAContactOrADeskTakes) {
  auto a = parseSipHop("sip:security-desk@127.0.0.1:5094");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user, "security-desk");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5094);
  EXPECT_FALSE(a->tcp);
  auto b = parseSipHop("SIP:1001@[2001:db8::7]:5070;lr;Transport=TCP");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "2001:db8::7");
  EXPECT_EQ(b->port, 5070);
  EXPECT_TRUE(b->tcp);
  auto c = parseSipHop("sips:desk.hq.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "");
  EXPECT_EQ(c->host, "desk.hq.example");
  EXPECT_EQ(c->port, 5061);  // sips: is TLS, whose default port is 5061 (RFC 3261 19.1.2)
  EXPECT_TRUE(c->tls);
  EXPECT_FALSE(a->tls);
  auto t = parseSipHop("sip:1001@10.1.2.45:5063;transport=TLS");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_FALSE(t->tcp);
  EXPECT_EQ(t->port, 5063);
  auto d = parseSipHop("sip:alice:secret@10.0.0.1?subject=x");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->user, "alice");
  EXPECT_EQ(d->host, "10.0.0.1");
  for (const char* bad : {"tel:+12175550102", "sip:", "sip:1001@", "sip:h:0", "sip:h:99999",
                          "sip:h:5o6", "sip:[::1", "mailto:a@b"})
    EXPECT_FALSE(parseSipHop(bad)) << bad;
}

}  // namespace
}  // namespace sos::routing
