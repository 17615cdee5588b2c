// Route selection from the caller's location: the location's override, civic rules (most
// specific wins), boundaries, the site route; the ERC for unknown and unconfirmed locations and
// at the end of every route; test calls; the device's own location; and the checks of create().

#include "routing/psap_router.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "routing/router.h"

namespace sos::routing {
namespace {

using model::CivicAddress;
using model::Location;
using model::LocationKind;

using Names = std::vector<std::string>;
using Polygon = std::vector<std::pair<double, double>>;

config::Trunk trunk(const char* name, uint16_t port) {
  config::Trunk t;
  t.name = name;
  t.host = "127.0.0.1";
  t.port = port;
  t.mode = config::TrunkMode::Pidf;
  return t;
}

config::CivicRule rule(std::string country, std::string a1, std::string a2, std::string a3,
                       std::string pc, Names route) {
  return config::CivicRule{std::move(country), std::move(a1), std::move(a2),
                           std::move(a3),      std::move(pc), std::move(route)};
}

// Springfield, IL as a box; "the U" is concave: its notch (latitude 41.2..42, longitude
// -88.8..-88.2) is outside it.
const Polygon kSpringfield{{39.70, -89.75}, {39.90, -89.75}, {39.90, -89.55}, {39.70, -89.55}};
const Polygon kU{{41, -89},     {42, -89},   {42, -88.8}, {41.2, -88.8},
                 {41.2, -88.2}, {42, -88.2}, {42, -88},   {41, -88}};

config::Config routingConfig() {
  config::Config c;
  c.carrierTrunk = "carrier";
  uint16_t port = 5080;
  for (const char* name :
       {"carrier", "il-psap-a", "il-psap-b", "erc", "uk-999", "psap-test", "us-national",
        "springfield", "sangamon", "indiana", "chicago-u", "springfield-geo"}) {
    c.trunks.push_back(trunk(name, port++));
  }
  config::Site hq;
  hq.name = "HQ";
  hq.country = "US";
  hq.dialStrings = {"911"};
  hq.psapRoute = {"il-psap-a", "il-psap-b", "erc"};
  config::Site london;
  london.name = "London";
  london.country = "GB";
  london.dialStrings = {"999", "112"};
  london.psapRoute = {"uk-999", "erc"};
  c.sites = {hq, london};

  config::EmergencyRouting& er = c.emergencyRouting;
  er.erc = "erc";
  er.testDestination = "psap-test";
  er.civicRules = {
      rule("US", "", "", "", "", {"us-national"}),                  // 1 field
      rule("US", "IL", "", "", "", {"il-psap-a", "il-psap-b"}),     // 2 fields
      rule("US", "IL", "", "Springfield", "", {"springfield"}),     // 3 fields, first of two
      rule("US", "IN", "", "", "", {"indiana"}),                    // 2 fields
      rule("US", "IL", "Sangamon", "", "", {"sangamon"}),           // 3 fields, second of two
      rule("GB", "", "", "", "", {"uk-999"}),                       // 1 field
      rule("", "", "", "", "62999", {"us-national", "il-psap-b"}),  // postal code alone
  };
  er.boundaries = {
      config::Boundary{"Springfield, IL", kSpringfield, {"springfield-geo"}},
      config::Boundary{"the U", kU, {"chicago-u"}},
  };
  return c;
}

struct Fixture {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const PsapRouter> router;
};

Fixture make(config::Config c = routingConfig()) {
  Fixture f{std::make_shared<const config::Config>(std::move(c)), nullptr};
  auto r = PsapRouter::create(f.config);
  EXPECT_TRUE(r) << r.error().message;
  if (r) {
    f.router = r.value();
  }
  return f;
}

// The route chosen for the location and its ERC: the trunks before the tail, and the tail's
// first when it is the ERC (what the tests below check; the tail has tests of its own).
Names names(const PsapRoute& r) {
  Names out;
  for (size_t i = 0; i < r.trunks.size(); ++i) {
    const auto* t = r.trunks[i];
    if (i > r.tailFrom || (i == r.tailFrom && (t == nullptr || t->name != "erc"))) {
      break;
    }
    out.push_back(t ? t->name : "(null)");
  }
  return out;
}

// Every trunk, tail included.
Names everything(const PsapRoute& r) {
  Names out;
  for (const auto* t : r.trunks) {
    out.push_back(t ? t->name : "(null)");
  }
  return out;
}

CivicAddress civic(std::string country, std::string a1 = "", std::string a2 = "",
                   std::string a3 = "", std::string pc = "") {
  CivicAddress a;
  a.country = std::move(country);
  a.a1 = std::move(a1);
  a.a2 = std::move(a2);
  a.a3 = std::move(a3);
  a.pc = std::move(pc);
  a.rd = "Main";
  return a;
}

Location company(std::string key, CivicAddress address) {
  Location l;
  l.key = std::move(key);
  l.name = l.key;
  l.site = "HQ";
  l.kind = LocationKind::Company;
  l.civic = std::move(address);
  return l;
}

// A location in France: no civic rule matches it.
Location nowhereInParticular() { return company("paris", civic("FR", "", "", "Paris")); }

struct Query {
  const Fixture& f;
  RouteQuery q;
  Query(const Fixture& fixture, const Location* location, size_t site = 0) : f(fixture) {
    q.location = location;
    q.site = &f.config->sites[site];
  }
  PsapRoute route() const { return f.router->route(q); }
};

const Names kIl{"il-psap-a", "il-psap-b", "erc"};
const Names kErc{"erc"};

TEST(PsapRouter, LocationOverrideWins) {
  Fixture f = make();
  Location l = company("hq-floor-2", civic("US", "IL", "Sangamon", "Springfield"));
  l.latitude = 39.8;
  l.longitude = -89.65;
  l.psapRoute = {"uk-999", "il-psap-b"};
  PsapRoute r = Query(f, &l).route();
  EXPECT_EQ(names(r), (Names{"uk-999", "il-psap-b", "erc"}));
  EXPECT_EQ(r.basis, "location override (hq-floor-2)");
  EXPECT_FALSE(r.ercOnly);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(PsapRouter, OverrideWithUnknownTrunksSkipsThemWithAWarning) {
  Fixture f = make();
  Location l = company("hq-x", civic("US", "IL"));
  l.psapRoute = {"gone"};
  PsapRoute r = Query(f, &l).route();
  EXPECT_EQ(names(r), kIl);  // nothing usable: on to the civic rules
  EXPECT_EQ(r.basis, "civic rule US/IL");
  EXPECT_EQ(r.warnings, Names{"location hq-x: psap_route names no trunk 'gone'; ignored"});

  l.psapRoute = {"gone", "uk-999", "also-gone"};
  r = Query(f, &l).route();
  EXPECT_EQ(names(r), (Names{"uk-999", "erc"}));
  EXPECT_EQ(r.basis, "location override (hq-x)");
  EXPECT_EQ(r.warnings, (Names{"location hq-x: psap_route names no trunk 'gone'; ignored",
                               "location hq-x: psap_route names no trunk 'also-gone'; ignored"}));
}

TEST(PsapRouter, MostSpecificCivicRuleWins) {
  Fixture f = make();
  struct Case {
    const char* name;
    CivicAddress address;
    Names trunks;
    const char* basis;
  };
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {"country only", civic("US", "TX"), {"us-national", "erc"}, "civic rule US"},
      {"country and A1", civic("US", "IL", "Cook", "Chicago"), kIl, "civic rule US/IL"},
      {"country, A1 and A3",
       civic("US", "IL", "", "Springfield"),
       {"springfield", "erc"},
       "civic rule US/IL/Springfield"},
      {"tie of 3 fields: the first rule",
       civic("US", "IL", "Sangamon", "Springfield"),
       {"springfield", "erc"},
       "civic rule US/IL/Springfield"},
      {"the second 3-field rule alone",
       civic("US", "IL", "Sangamon", "Chatham"),
       {"sangamon", "erc"},
       "civic rule US/IL/Sangamon"},
      {"another A1", civic("US", "IN", "", "Gary"), {"indiana", "erc"}, "civic rule US/IN"},
      {"another country", civic("GB", "", "", "London"), {"uk-999", "erc"}, "civic rule GB"},
      {"postal code alone",
       civic("CA", "", "", "", "62999"),
       {"us-national", "il-psap-b", "erc"},
       "civic rule 62999"},
      {"no rule: site route", civic("FR", "", "", "Paris"), kIl, "site default HQ"},
      {"empty address: site route", CivicAddress{}, kIl, "site default HQ"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Location l = company("here", c.address);
    PsapRoute r = Query(f, &l).route();
    EXPECT_EQ(names(r), c.trunks);
    EXPECT_EQ(r.basis, c.basis);
    EXPECT_FALSE(r.ercOnly);
    EXPECT_TRUE(r.warnings.empty());
  }
}

TEST(PsapRouter, CivicRulesMatchWithoutCase) {
  Fixture f = make();
  Location l = company("here", civic("us", "il", "sangamon", "SPRINGFIELD"));
  EXPECT_EQ(names(Query(f, &l).route()), (Names{"springfield", "erc"}));
  l.civic = civic("Us", "iL");
  EXPECT_EQ(names(Query(f, &l).route()), kIl);
  // Whole values only: "ILL" is not "IL".
  l.civic = civic("US", "ILL");
  EXPECT_EQ(Query(f, &l).route().basis, "civic rule US");
}

TEST(PointInPolygon, InsideOutsideEdgeAndConcave) {
  struct Case {
    const char* name;
    const Polygon& polygon;
    std::pair<double, double> point;
    bool inside;
  };
  const Polygon triangle{{0, 0}, {0, 10}, {10, 0}};
  const Polygon two{{0, 0}, {1, 1}};
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {"box: centre", kSpringfield, {39.80, -89.65}, true},
      {"box: north of it", kSpringfield, {39.95, -89.65}, false},
      {"box: west of it", kSpringfield, {39.80, -89.80}, false},
      {"box: east of it", kSpringfield, {39.80, -89.50}, false},
      {"box: on the west edge", kSpringfield, {39.80, -89.75}, true},
      {"box: on the north edge", kSpringfield, {39.90, -89.65}, true},
      {"box: on a corner", kSpringfield, {39.70, -89.55}, true},
      {"box: level with an edge, outside", kSpringfield, {39.90, -89.40}, false},
      {"triangle: on the hypotenuse", triangle, {5, 5}, true},
      {"triangle: just beyond it", triangle, {5, 5.001}, false},
      {"triangle: just inside it", triangle, {5, 4.999}, true},
      {"U: left arm", kU, {41.6, -88.9}, true},
      {"U: right arm", kU, {41.6, -88.1}, true},
      {"U: base", kU, {41.1, -88.5}, true},
      {"U: the notch", kU, {41.6, -88.5}, false},
      {"U: on the notch's floor", kU, {41.2, -88.5}, true},
      {"U: level with the notch's corners", kU, {41.2, -87.5}, false},
      {"U: through both arms' tops, between them", kU, {42, -88.5}, false},
      {"U: south of it", kU, {40.9, -88.5}, false},
      {"fewer than 3 points", two, {0.5, 0.5}, false},
      {"no points", Polygon{}, {0, 0}, false},
  };
  // clang-format on
  for (const Case& c : cases) {
    EXPECT_EQ(pointInPolygon(c.point, c.polygon), c.inside) << c.name;
  }
}

TEST(PsapRouter, BoundaryRoutesALocationNoCivicRuleMatches) {
  Fixture f = make();
  Location l = nowhereInParticular();
  l.latitude = 39.8;
  l.longitude = -89.65;
  PsapRoute r = Query(f, &l).route();
  EXPECT_EQ(names(r), (Names{"springfield-geo", "erc"}));
  EXPECT_EQ(r.basis, "boundary Springfield, IL");

  l.latitude = 41.6;  // the U's left arm
  l.longitude = -88.9;
  EXPECT_EQ(Query(f, &l).route().basis, "boundary the U");
  l.longitude = -88.5;  // its notch: in no boundary
  EXPECT_EQ(Query(f, &l).route().basis, "site default HQ");

  // A civic rule comes before any boundary.
  Location il = company("il", civic("US", "IL"));
  il.latitude = 41.6;
  il.longitude = -88.9;
  EXPECT_EQ(Query(f, &il).route().basis, "civic rule US/IL");
}

TEST(PsapRouter, LocationWithoutBothCoordinatesSkipsBoundaries) {
  Fixture f = make();
  Location l = nowhereInParticular();
  EXPECT_EQ(Query(f, &l).route().basis, "site default HQ");
  l.latitude = 39.8;  // latitude alone
  EXPECT_EQ(Query(f, &l).route().basis, "site default HQ");
  l.latitude.reset();
  l.longitude = -89.65;
  EXPECT_EQ(Query(f, &l).route().basis, "site default HQ");
}

TEST(PsapRouter, SiteDefaultIsTheCallersSiteRoute) {
  Fixture f = make();
  Location l = nowhereInParticular();
  PsapRoute hq = Query(f, &l, 0).route();
  EXPECT_EQ(names(hq), kIl);
  EXPECT_EQ(hq.basis, "site default HQ");
  PsapRoute london = Query(f, &l, 1).route();
  EXPECT_EQ(names(london), (Names{"uk-999", "erc"}));
  EXPECT_EQ(london.basis, "site default London");

  // A site of another copy of the configuration (a call from before a reload) by its name.
  config::Site copy = f.config->sites[1];
  RouteQuery q;
  q.location = &l;
  q.site = &copy;
  EXPECT_EQ(f.router->route(q).basis, "site default London");
  copy.name = "Atlantis";
  PsapRoute none = f.router->route(q);
  EXPECT_EQ(names(none), kErc);
  EXPECT_EQ(none.basis, "no site route");
  EXPECT_FALSE(none.warnings.empty());
}

TEST(PsapRouter, UnknownLocationGoesToTheErcAlone) {
  Fixture f = make();
  Location account = company("account-default", civic("US", "IL"));
  account.kind = LocationKind::AccountDefault;
  account.psapRoute = {"uk-999"};  // never used: the place is not known
  for (const Location* l : std::initializer_list<const Location*>{nullptr, &account}) {
    SCOPED_TRACE(l ? "account default" : "none");
    PsapRoute r = Query(f, l).route();
    EXPECT_EQ(names(r), kErc);
    EXPECT_TRUE(r.ercOnly);
    EXPECT_EQ(r.basis, "ERC: location unknown");
    EXPECT_TRUE(r.warnings.empty());
  }
}

TEST(PsapRouter, PersonalLocationUnconfirmedGoesToTheErcConfirmedByItsAddress) {
  Fixture f = make();
  Location home = company("1003-home", civic("US", "IN", "", "Gary"));
  home.kind = LocationKind::Personal;
  home.site = "";
  home.confirmed = false;
  PsapRoute r = Query(f, &home).route();
  EXPECT_EQ(names(r), kErc);
  EXPECT_TRUE(r.ercOnly);
  EXPECT_EQ(r.basis, "ERC: personal location not confirmed");

  home.confirmed = true;
  r = Query(f, &home).route();
  EXPECT_EQ(names(r), (Names{"indiana", "erc"}));
  EXPECT_FALSE(r.ercOnly);
  EXPECT_EQ(r.basis, "civic rule US/IN");
}

TEST(PsapRouter, WithoutAnErcUnknownLocationsTakeTheSiteRouteWithAWarning) {
  config::Config c = routingConfig();
  c.emergencyRouting.erc = "";
  c.sites[0].psapRoute = {"il-psap-a", "il-psap-b"};
  Fixture f = make(c);
  PsapRoute r = Query(f, nullptr).route();
  EXPECT_EQ(names(r), (Names{"il-psap-a", "il-psap-b"}));
  EXPECT_FALSE(r.ercOnly);
  EXPECT_EQ(r.basis, "site default HQ");
  EXPECT_EQ(r.warnings, Names{"location unknown and no ERC configured; the site route is used"});

  Location home = company("home", civic("US", "IN"));
  home.kind = LocationKind::Personal;
  home.confirmed = false;
  r = Query(f, &home).route();
  EXPECT_EQ(names(r), (Names{"il-psap-a", "il-psap-b"}));  // not its unconfirmed address's rule
  EXPECT_EQ(r.warnings, Names{"personal location not confirmed and no ERC configured; the "
                              "site route is used"});

  // Nor is anything appended to a known location's route.
  Location l = company("il", civic("US", "IL"));
  EXPECT_EQ(names(Query(f, &l).route()), (Names{"il-psap-a", "il-psap-b"}));
}

TEST(PsapRouter, ErcIsTriedOnceAndLastAndEveryTrunkOnce) {
  config::Config c = routingConfig();
  c.sites[0].psapRoute = {"il-psap-a", "erc", "il-psap-b", "il-psap-a", "erc"};
  c.emergencyRouting.civicRules.push_back(
      rule("DE", "", "", "", "", {"erc", "uk-999", "uk-999", "il-psap-a"}));
  Fixture f = make(c);
  Location paris = nowhereInParticular();
  EXPECT_EQ(names(Query(f, &paris).route()), kIl);
  Location berlin = company("berlin", civic("DE"));
  EXPECT_EQ(names(Query(f, &berlin).route()), (Names{"uk-999", "il-psap-a", "erc"}));
  Location override = company("o", civic("US"));
  override.psapRoute = {"erc", "chicago-u", "erc", "chicago-u"};
  EXPECT_EQ(names(Query(f, &override).route()), (Names{"chicago-u", "erc"}));
  override.psapRoute = {"erc"};
  EXPECT_EQ(names(Query(f, &override).route()), kErc);
}

// Issue 14: after the chosen route and the ERC, the caller's site route (what is not tried yet),
// then the last resort: an emergency call never ends with a failure while a trunk could take it.
TEST(PsapRouter, TheTailIsTheErcThenTheRestOfTheSiteRouteThenTheLastResort) {
  config::Config c = routingConfig();
  c.emergencyRouting.lastResort = "carrier";
  auto f = make(c);
  const config::Site* hq = &f.config->sites[0];
  RouteQuery q;
  q.site = hq;
  Location springfield = company("hq-x", civic("US", "IL", "", "Springfield"));
  q.location = &springfield;
  auto r = f.router->route(q);
  EXPECT_EQ(everything(r), (Names{"springfield", "erc", "il-psap-a", "il-psap-b", "carrier"}));
  EXPECT_EQ(r.tailFrom, 1u);
  // An unknown location: the ERC first, and when it is down the site's PSAPs, then the carrier.
  q.location = nullptr;
  r = f.router->route(q);
  EXPECT_TRUE(r.ercOnly);
  EXPECT_EQ(everything(r), (Names{"erc", "il-psap-a", "il-psap-b", "carrier"}));
  EXPECT_EQ(r.tailFrom, 0u);
  // London's own route, then its last resort (a site's own beats the global one).
  c.sites[1].lastResort = "us-national";
  f = make(c);
  q.site = &f.config->sites[1];
  Location london = company("london", civic("GB"));
  q.location = &london;
  r = f.router->route(q);
  EXPECT_EQ(everything(r), (Names{"uk-999", "erc", "us-national"}));
  // A test call never gets a tail: nothing but the test destination.
  q.test = true;
  r = f.router->route(q);
  EXPECT_EQ(everything(r), (Names{"psap-test"}));
}

TEST(PsapRouter, SitesWithoutALastResortAreNamedInTheWarnings) {
  auto none = make();
  ASSERT_EQ(none.router->warnings().size(), 2u);
  EXPECT_NE(none.router->warnings()[0].find("site HQ has no last resort"), std::string::npos);
  config::Config c = routingConfig();
  c.sites[1].lastResort = "carrier";
  auto one = make(c);
  ASSERT_EQ(one.router->warnings().size(), 1u);
  EXPECT_NE(one.router->warnings()[0].find("site HQ"), std::string::npos);
  c.emergencyRouting.lastResort = "carrier";
  EXPECT_TRUE(make(c).router->warnings().empty());
  c.emergencyRouting.lastResort = "nowhere";
  auto bad = PsapRouter::create(std::make_shared<const config::Config>(c));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("emergency_routing.last_resort: no trunk named 'nowhere'"),
            std::string::npos)
      << bad.error().message;
}

TEST(PsapRouter, TestCallGoesToTheTestDestinationOnly) {
  Fixture f = make();
  Location l = company("il", civic("US", "IL"));
  l.psapRoute = {"uk-999"};
  for (const Location* where : std::initializer_list<const Location*>{nullptr, &l}) {
    Query q(f, where);
    q.q.test = true;
    PsapRoute r = q.route();
    EXPECT_EQ(names(r), Names{"psap-test"});  // not even the ERC
    EXPECT_EQ(r.basis, "test destination psap-test");
    EXPECT_FALSE(r.ercOnly);
  }
}

TEST(PsapRouter, TestCallWithoutATestDestinationTakesTheEmergencyRoute) {
  config::Config c = routingConfig();
  c.emergencyRouting.testDestination = "";
  Fixture f = make(c);
  Location l = company("il", civic("US", "IL"));
  Query q(f, &l);
  q.q.test = true;
  PsapRoute r = q.route();
  EXPECT_EQ(names(r), kIl);
  EXPECT_EQ(r.basis, "test call: civic rule US/IL");

  Query unknown(f, nullptr);
  unknown.q.test = true;
  r = unknown.route();
  EXPECT_EQ(names(r), kErc);
  EXPECT_TRUE(r.ercOnly);
  EXPECT_EQ(r.basis, "test call: ERC: location unknown");
}

TEST(PsapRouter, DeviceLocationIsRoutedBeforeTheResolvedAddress) {
  Fixture f = make();
  Location london = company("london-office", civic("GB", "", "", "London"));
  CivicAddress springfield = civic("US", "IL", "", "Springfield");
  struct Case {
    const char* name;
    const Location* location;
    const CivicAddress* deviceCivic;
    std::optional<std::pair<double, double>> deviceGeo;
    Names trunks;
    const char* basis;
    bool ercOnly;
  };
  Location overridden = london;
  overridden.psapRoute = {"uk-999"};
  Location unconfirmed = company("home", civic("US", "IN"));
  unconfirmed.kind = LocationKind::Personal;
  unconfirmed.confirmed = false;
  CivicAddress paris = civic("FR");
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {"device civic before the location's",
       &london,
       &springfield,
       std::nullopt,
       {"springfield", "erc"},
       "civic rule US/IL/Springfield (device location)",
       false},
      {"device geo before the location's civic rule",
       &london,
       nullptr,
       std::pair{39.8, -89.65},
       {"springfield-geo", "erc"},
       "boundary Springfield, IL (device location)",
       false},
      {"device civic before device geo",
       &london,
       &springfield,
       std::pair{41.6, -88.9},
       {"springfield", "erc"},
       "civic rule US/IL/Springfield (device location)",
       false},
      {"device civic matching nothing: device geo",
       &london,
       &paris,
       std::pair{41.6, -88.9},
       {"chicago-u", "erc"},
       "boundary the U (device location)",
       false},
      {"device location matching nothing: the location's",
       &london,
       &paris,
       std::pair{0.0, 0.0},
       {"uk-999", "erc"},
       "civic rule GB",
       false},
      {"the override still wins",
       &overridden,
       &springfield,
       std::nullopt,
       {"uk-999", "erc"},
       "location override (london-office)",
       false},
      {"unknown location: routed by the device's",
       nullptr,
       &springfield,
       std::nullopt,
       {"springfield", "erc"},
       "civic rule US/IL/Springfield (device location)",
       false},
      {"unconfirmed location: routed by the device's",
       &unconfirmed,
       nullptr,
       std::pair{39.8, -89.65},
       {"springfield-geo", "erc"},
       "boundary Springfield, IL (device location)",
       false},
      {"unknown and the device's matches nothing: ERC", nullptr, &paris, std::nullopt, kErc,
       "ERC: location unknown", true},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Query q(f, c.location);
    q.q.deviceCivic = c.deviceCivic;
    q.q.deviceGeo = c.deviceGeo;
    PsapRoute r = q.route();
    EXPECT_EQ(names(r), c.trunks);
    EXPECT_EQ(r.basis, c.basis);
    EXPECT_EQ(r.ercOnly, c.ercOnly);
  }
}

TEST(PsapRouterCreate, EveryNameRuleAndPolygonIsChecked) {
  config::Config c = routingConfig();
  config::EmergencyRouting& er = c.emergencyRouting;
  er.erc = "ercc";
  er.testDestination = "nowhere";
  er.civicRules.push_back(rule("", "", "", "", "", {"erc"}));
  er.civicRules.push_back(rule("FR", "", "", "", "", {}));
  er.civicRules[1].route.push_back("il-psap-z");
  er.boundaries.push_back(config::Boundary{"line", {{0, 0}, {1, 1}}, {"erc"}});
  er.boundaries.push_back(config::Boundary{"far", {{0, 0}, {91, 0}, {0, -181}}, {"gone"}});
  auto r = PsapRouter::create(std::make_shared<const config::Config>(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "config.invalid");
  EXPECT_EQ(r.error().message,
            "emergency_routing.erc: no trunk named 'ercc'\n"
            "emergency_routing.test_destination: no trunk named 'nowhere'\n"
            "emergency_routing.civic_rules[1].route[2]: no trunk named 'il-psap-z'\n"
            "emergency_routing.civic_rules[7].match: empty; a rule must match on at least one of "
            "country, A1, A2, A3 or PC\n"
            "emergency_routing.civic_rules[8].route: empty; a route needs at least one trunk\n"
            "emergency_routing.boundaries[2].polygon: 2 points; a polygon needs at least 3\n"
            "emergency_routing.boundaries[3].route[0]: no trunk named 'gone'\n"
            "emergency_routing.boundaries[3].polygon[1]: [91, 0] is not [latitude, longitude] in "
            "degrees within [-90, 90] and [-180, 180]\n"
            "emergency_routing.boundaries[3].polygon[2]: [0, -181] is not [latitude, longitude] "
            "in degrees within [-90, 90] and [-180, 180]");
  EXPECT_FALSE(PsapRouter::create(nullptr));
}

TEST(PsapRouterCreate, NothingConfiguredRoutesBySiteAlone) {
  config::Config c = routingConfig();
  c.emergencyRouting = {};
  Fixture f = make(c);
  Location l = company("il", civic("US", "IL"));
  l.latitude = 39.8;
  l.longitude = -89.65;
  PsapRoute r = Query(f, &l).route();
  EXPECT_EQ(names(r), kIl);
  EXPECT_EQ(r.basis, "site default HQ");
  Query test(f, &l);
  test.q.test = true;
  EXPECT_EQ(test.route().basis, "test call: site default HQ");
}

// Router::create builds the PsapRouter; its problems are the Router's.
TEST(PsapRouterCreate, RouterCarriesItAndItsProblems) {
  config::Config c = routingConfig();
  c.trustedNetworks = {"127.0.0.0/8"};
  auto router = Router::create(std::make_shared<const config::Config>(c));
  ASSERT_TRUE(router) << router.error().message;
  Location l = company("il", civic("US", "IL"));
  RouteQuery q;
  q.location = &l;
  q.site = &router.value()->config().sites[0];
  EXPECT_EQ(router.value()->psap().route(q).basis, "civic rule US/IL");

  c.sourcePath = "sos.yaml";
  c.emergencyRouting.erc = "ercc";
  c.emergencyRouting.boundaries[1].route = {"gone"};
  c.sites[1].psapRoute.push_back("il-psap-z");
  auto bad = Router::create(std::make_shared<const config::Config>(c));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "sos.yaml: sites[1] (London) psap_route[2]: no trunk named 'il-psap-z'\n"
            "sos.yaml: emergency_routing.erc: no trunk named 'ercc'\n"
            "sos.yaml: emergency_routing.boundaries[1].route[0]: no trunk named 'gone'");
}

TEST(PsapRouterCreate, DemoConfigurationRoutesAsDocumented) {
  auto loaded = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  ASSERT_TRUE(loaded) << loaded.error().message;
  Fixture f = make(loaded.value());
  ASSERT_TRUE(f.router);
  Location floor2 = company("hq-floor-2", civic("US", "IL", "Sangamon", "Springfield"));
  PsapRoute r = Query(f, &floor2).route();
  EXPECT_EQ(names(r), kIl);
  EXPECT_EQ(r.basis, "civic rule US/IL");
  Location london = company("london-office", civic("GB", "", "", "London"));
  EXPECT_EQ(names(Query(f, &london, 1).route()), (Names{"uk-999", "erc"}));
  Query test(f, &floor2);
  test.q.test = true;
  EXPECT_EQ(names(test.route()), Names{"psap-test"});
  EXPECT_EQ(names(Query(f, nullptr).route()), kErc);
}

}  // namespace
}  // namespace sos::routing
