#include "routing/router.h"

#include <gtest/gtest.h>

namespace sos::routing {
namespace {

// The demo enterprise of config/examples/demo.yaml, plus an IPv6 PBX network.
config::Config demoConfig() {
  auto loaded = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  if (!loaded.ok()) return {};
  config::Config c = std::move(loaded.value());
  c.trustedNetworks.push_back("2001:db8:5::/48");
  return c;
}

std::shared_ptr<const Router> makeRouter(config::Config cfg = demoConfig()) {
  auto r = Router::create(std::make_shared<const config::Config>(std::move(cfg)));
  EXPECT_TRUE(r) << r.error().message;
  return r ? r.value() : nullptr;
}

CallRequest call(const std::string& uri, const std::string& fromUser = "1001",
                 const std::string& source = "127.0.0.1") {
  CallRequest req;
  req.callId = "c1@pbx";
  req.requestUri = uri;
  req.fromUser = fromUser;
  req.fromUri = "sip:" + fromUser + "@pbx.example";
  req.sourceAddress = source;
  req.transport = "udp";
  return req;
}

std::vector<std::string> trunkNames(const RouteDecision& d) {
  std::vector<std::string> names;
  for (const auto* t : d.trunks) names.push_back(t ? t->name : "(null)");
  return names;
}

using Names = std::vector<std::string>;
const Names kHqRoute{"il-psap-a", "il-psap-b", "erc"};
const Names kLondonRoute{"uk-999", "erc"};

struct DecideCase {
  const char* name;
  const char* uri;
  const char* fromUser;
  const char* source;
  Action action;
  int status;
  bool alarm;
  bool emergency;
  bool test;
  const char* site;
  Names trunks;
  const char* requestUser;
};

TEST(RouterDecide, Table) {
  auto router = makeRouter();
  ASSERT_TRUE(router);
  const Action E = Action::RouteEmergency, O = Action::RelayOrdinary, R = Action::Reject;
  // clang-format off: one row per case reads as a table
  const DecideCase cases[] = {
      {"911", "sip:911@127.0.0.1", "1001", "127.0.0.1", E, 0, false, true, false, "HQ", kHqRoute,
       "911"},
      {"9911 drops the prefix", "sip:9911@127.0.0.1", "1001", "127.0.0.1", E, 0, false, true, false,
       "HQ", kHqRoute, "911"},
      {"933 test call", "sip:933@127.0.0.1", "1001", "127.0.0.1", E, 0, false, true, true, "HQ",
       kHqRoute, "933"},
      {"999 from London", "sip:999@127.0.0.1", "2001", "127.0.0.1", E, 0, false, true, false,
       "London", kLondonRoute, "999"},
      {"112 from London", "sip:112@127.0.0.1", "2001", "127.0.0.1", E, 0, false, true, false,
       "London", kLondonRoute, "112"},
      {"999 from HQ uses HQ's route", "sip:999@127.0.0.1", "1001", "127.0.0.1", E, 0, false, true,
       false, "HQ", kHqRoute, "999"},
      {"urn:service:sos", "urn:service:sos", "1001", "127.0.0.1", E, 0, false, true, false, "HQ",
       kHqRoute, "urn:service:sos"},
      {"URN upper case", "URN:SERVICE:SOS.FIRE", "1001", "127.0.0.1", E, 0, false, true, false,
       "HQ", kHqRoute, "urn:service:sos.fire"},
      {"unknown sos sub-service", "urn:service:sos.unknownthing", "2001", "127.0.0.1", E, 0, false,
       true, false, "London", kLondonRoute, "urn:service:sos.unknownthing"},
      {"urn test call", "urn:service:test.sos", "1001", "127.0.0.1", E, 0, false, true, true, "HQ",
       kHqRoute, "urn:service:test.sos"},
      {"tel:911", "tel:911", "1001", "127.0.0.1", E, 0, false, true, false, "HQ", kHqRoute, "911"},
      {"user params", "sip:911;phone-context=x@h", "1001", "127.0.0.1", E, 0, false, true, false,
       "HQ", kHqRoute, "911"},
      {"9112345 is ordinary",
       "sip:9112345@127.0.0.1",
       "1001",
       "127.0.0.1",
       O,
       0,
       false,
       false,
       false,
       "HQ",
       {"carrier"},
       "9112345"},
      {"19911 is ordinary",
       "sip:19911@127.0.0.1",
       "1001",
       "127.0.0.1",
       O,
       0,
       false,
       false,
       false,
       "HQ",
       {"carrier"},
       "19911"},
      {"ordinary",
       "sip:5551234@127.0.0.1",
       "1001",
       "127.0.0.1",
       O,
       0,
       false,
       false,
       false,
       "HQ",
       {"carrier"},
       "5551234"},
      {"untrusted 911 raises an alarm",
       "sip:911@198.51.100.1",
       "1001",
       "192.0.2.9",
       R,
       403,
       true,
       true,
       false,
       "HQ",
       {},
       ""},
      {"untrusted ordinary is only refused",
       "sip:5551234@198.51.100.1",
       "1001",
       "192.0.2.9",
       R,
       403,
       false,
       false,
       false,
       "HQ",
       {},
       ""},
      {"untrusted IPv6",
       "sip:911@h",
       "1001",
       "2001:db8:6::1",
       R,
       403,
       true,
       true,
       false,
       "HQ",
       {},
       ""},
      {"trusted IPv6 network", "sip:911@h", "1001", "2001:db8:5:1::10", E, 0, false, true, false,
       "HQ", kHqRoute, "911"},
      {"trusted IPv6 ordinary",
       "sip:5551234@h",
       "2001",
       "[2001:db8:5::1]",
       O,
       0,
       false,
       false,
       false,
       "London",
       {"carrier"},
       "5551234"},
      {"mapped IPv4 source", "sip:911@h", "1001", "::ffff:127.0.0.1", E, 0, false, true, false,
       "HQ", kHqRoute, "911"},
      {"no source at all", "sip:911@h", "1001", "", R, 403, true, true, false, "HQ", {}, ""},
      {"junk source",
       "sip:911@h",
       "1001",
       "not-an-address",
       R,
       403,
       true,
       true,
       false,
       "HQ",
       {},
       ""},
  };
  // clang-format on
  for (const DecideCase& c : cases) {
    RouteDecision d = router->decide(call(c.uri, c.fromUser, c.source));
    SCOPED_TRACE(c.name);
    EXPECT_EQ(d.action, c.action);
    EXPECT_EQ(d.rejectStatus, c.status);
    EXPECT_EQ(d.alarm, c.alarm);
    EXPECT_EQ(d.trusted, c.action != Action::Reject);
    EXPECT_EQ(d.match.emergency, c.emergency);
    EXPECT_EQ(d.match.test, c.test);
    ASSERT_NE(d.site, nullptr);
    EXPECT_EQ(d.site->name, c.site);
    EXPECT_EQ(trunkNames(d), c.trunks);
    EXPECT_EQ(d.requestUser, c.requestUser);
    EXPECT_FALSE(d.reason.empty());
  }
}

TEST(RouterDecide, RejectionReasonNamesTheSource) {
  auto router = makeRouter();
  ASSERT_TRUE(router);
  RouteDecision d = router->decide(call("sip:911@h", "1001", "192.0.2.9"));
  EXPECT_NE(d.reason.find("192.0.2.9"), std::string::npos) << d.reason;
}

TEST(RouterDecide, ForeignDialStringIsNamedInTheReason) {
  auto router = makeRouter();
  ASSERT_TRUE(router);
  RouteDecision d = router->decide(call("sip:999@h", "1001"));
  EXPECT_EQ(d.match.matchedSite, "London");
  EXPECT_EQ(d.site->name, "HQ");
  EXPECT_NE(d.reason.find("London"), std::string::npos) << d.reason;
}

TEST(RouterSiteOf, ByExtensionNetworkOrDefault) {
  auto router = makeRouter();
  ASSERT_TRUE(router);
  CallRequest req = call("sip:911@h", "2001");
  EXPECT_EQ(router->siteOf(req).name, "London");

  // P-Asserted-Identity wins over From.
  req.paiUser = "1002";
  EXPECT_EQ(router->siteOf(req).name, "HQ");

  // A PAI no site knows falls through to From.
  req.paiUser = "+442079460001";
  EXPECT_EQ(router->siteOf(req).name, "London");

  // No extension matches: the Contact host's network decides.
  CallRequest byNet = call("sip:911@h", "3001");
  byNet.contactHost = "10.44.1.2";
  EXPECT_EQ(router->siteOf(byNet).name, "London");
  byNet.contactHost = "10.1.2.45";
  EXPECT_EQ(router->siteOf(byNet).name, "HQ");

  // Neither: the first site.
  CallRequest unknown = call("sip:911@h", "3001");
  unknown.contactHost = "192.0.2.1";
  EXPECT_EQ(router->siteOf(unknown).name, "HQ");
  unknown.contactHost = "phone.example";
  EXPECT_EQ(router->siteOf(unknown).name, "HQ");
  unknown.fromUser.clear();
  unknown.contactHost.clear();
  EXPECT_EQ(router->siteOf(unknown).name, "HQ");
}

TEST(RouterSiteOf, ExactExtensionPattern) {
  config::Config cfg = demoConfig();
  cfg.sites[1].extensions = {"1050"};     // a London user with an HQ-looking number
  std::swap(cfg.sites[0], cfg.sites[1]);  // London first, so its exact pattern is tried first
  auto router = makeRouter(cfg);
  ASSERT_TRUE(router);
  EXPECT_EQ(router->siteOf(call("sip:911@h", "1050")).name, "London");
  EXPECT_EQ(router->siteOf(call("sip:911@h", "10500")).name, "HQ");
  EXPECT_EQ(router->siteOf(call("sip:911@h", "105")).name, "HQ");
}

TEST(RouterDecide, LondonCallerByNetworkGetsLondonRoute) {
  auto router = makeRouter();
  ASSERT_TRUE(router);
  CallRequest req = call("sip:112@h", "7000");
  req.contactHost = "10.44.0.9";
  RouteDecision d = router->decide(req);
  EXPECT_EQ(d.action, Action::RouteEmergency);
  EXPECT_EQ(trunkNames(d), kLondonRoute);
}

TEST(RouterCreate, ErrorsNameTheEntry) {
  config::Config cfg = demoConfig();
  cfg.trustedNetworks.push_back("10.0.0.0/33");
  cfg.sites[1].networks.push_back("10.44.0.0/x");
  auto r = Router::create(std::make_shared<const config::Config>(cfg));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "config.invalid");
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("trusted_networks[2]: '10.0.0.0/33': prefix length 33 is over 32"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("sites[1] (London) networks[1]: '10.44.0.0/x'"), std::string::npos) << m;
}

TEST(RouterCreate, RefusesMissingTrunksAndSites) {
  config::Config cfg = demoConfig();
  cfg.carrierTrunk = "nowhere";
  cfg.sites[0].psapRoute.push_back("il-psap-z");
  cfg.sites[1].psapRoute.clear();
  auto r = Router::create(std::make_shared<const config::Config>(cfg));
  ASSERT_FALSE(r);
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("carrier_trunk: no trunk named 'nowhere'"), std::string::npos) << m;
  EXPECT_NE(m.find("sites[0] (HQ) psap_route[3]: no trunk named 'il-psap-z'"), std::string::npos)
      << m;
  EXPECT_NE(m.find("sites[1] (London) psap_route: empty"), std::string::npos) << m;

  config::Config none = demoConfig();
  none.sites.clear();
  EXPECT_FALSE(Router::create(std::make_shared<const config::Config>(none)));
  EXPECT_FALSE(Router::create(nullptr));
}

TEST(RouterCreate, DemoConfigurationRoutesAsDocumented) {
  auto cfg = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto router = makeRouter(cfg.value());
  ASSERT_TRUE(router);
  RouteDecision d = router->decide(call("sip:9911@127.0.0.1", "1001"));
  EXPECT_EQ(d.action, Action::RouteEmergency);
  EXPECT_EQ(trunkNames(d), kHqRoute);
  EXPECT_EQ(d.requestUser, "911");
  EXPECT_EQ(router->decide(call("sip:5551234@127.0.0.1")).action, Action::RelayOrdinary);
  EXPECT_EQ(router->decide(call("sip:911@h", "1001", "192.0.2.9")).action, Action::Reject);
}

}  // namespace
}  // namespace sos::routing

namespace sos::routing {
namespace {

// The user store's word on the caller's site beats extension patterns (issue 3); an unknown
// site name from the store is ignored rather than trusted.
TEST(RouterSiteOf, UserStoreSiteWins) {
  auto cfg = std::make_shared<config::Config>(
      config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml").value());
  auto router = Router::create(cfg).value();
  CallRequest req;
  req.requestUri = "sip:999@h";
  req.fromUser = "1001";  // an HQ extension pattern
  req.sourceAddress = "127.0.0.1";
  req.userSite = "London";
  EXPECT_EQ(router->siteOf(req).name, "London");
  auto d = router->decide(req);
  ASSERT_FALSE(d.trunks.empty());
  EXPECT_EQ(d.trunks.front()->name, "uk-999");
  req.userSite = "Atlantis";
  EXPECT_EQ(router->siteOf(req).name, "HQ");
}

// Issue 14: who may vouch for the caller's identity and for the access network.
TEST(SourceRights, OnlyPbxSourcesAssertIdentityAndOnlyNetworkSourcesTheNetwork) {
  config::Config cfg = demoConfig();
  cfg.pbxSources = {"10.0.0.10/32"};
  cfg.networkSources = {"10.0.0.20/32"};
  auto r = Router::create(std::make_shared<const config::Config>(std::move(cfg)));
  ASSERT_TRUE(r) << r.error().message;
  struct Row {
    const char* source;
    bool identityKept, markKept;
  };
  for (auto row : {Row{"10.0.0.10", true, false}, Row{"10.0.0.20", false, true},
                   Row{"10.0.0.99", false, false}}) {
    CallRequest req;
    req.sourceAddress = row.source;
    req.paiUri = "sip:1003@pbx";
    req.paiUser = "1003";
    req.pAccessNetworkInfo = "IEEE-802.11; i-wlan-node-id=001122334455; network-provided";
    auto v = r.value()->applySourceRights(req);
    EXPECT_EQ(v.identityDropped, !row.identityKept) << row.source;
    EXPECT_EQ(req.paiUser.empty(), !row.identityKept) << row.source;
    EXPECT_EQ(v.networkMarkDropped, !row.markKept) << row.source;
    EXPECT_EQ(req.pAccessNetworkInfo,
              row.markKept ? "IEEE-802.11; i-wlan-node-id=001122334455; network-provided"
                           : "IEEE-802.11; i-wlan-node-id=001122334455")
        << row.source;
  }
  // Nothing to drop: nothing reported.
  CallRequest plain;
  plain.sourceAddress = "10.0.0.99";
  plain.pAccessNetworkInfo = "IEEE-802.3";
  auto v = r.value()->applySourceRights(plain);
  EXPECT_FALSE(v.identityDropped || v.networkMarkDropped);
  EXPECT_EQ(plain.pAccessNetworkInfo, "IEEE-802.3");
}

}  // namespace
}  // namespace sos::routing
