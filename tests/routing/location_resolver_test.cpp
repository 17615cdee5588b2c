// Location resolution over the demo enterprise (config/examples/demo-locations.yaml): each
// precedence step, each fallback, and the data that must be ignored.

#include "routing/location_resolver.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/routing/test_time.h"

namespace sos::routing {
namespace {

using model::CivicAddress;
using model::DeviceReport;
using model::Location;
using model::LocationData;
using model::LocationKind;
using model::PersonalLocationRow;
using model::UserRow;

constexpr int64_t kNow = 1'700'000'000'000;  // a fixed "now" (ms); time is injected

// A civic address from its commonest RFC 5139 parts.
CivicAddress street(std::string country, std::string a1, std::string a3, std::string hno,
                    std::string rd, std::string sts, std::string pc, std::string flr = "") {
  CivicAddress c;
  c.country = std::move(country);
  c.a1 = std::move(a1);
  c.a3 = std::move(a3);
  c.hno = std::move(hno);
  c.rd = std::move(rd);
  c.sts = std::move(sts);
  c.pc = std::move(pc);
  c.flr = std::move(flr);
  return c;
}

CivicAddress hqCivic(std::string floor, std::string room = "") {
  CivicAddress c = street("US", "IL", "Springfield", "100", "Main", "St", "62701", floor);
  c.a2 = "Sangamon";
  c.room = std::move(room);
  return c;
}

Location location(std::string key, std::string name, std::string site, CivicAddress civic,
                  LocationKind kind = LocationKind::Company) {
  Location l;
  l.key = std::move(key);
  l.name = std::move(name);
  l.site = std::move(site);
  l.kind = kind;
  l.civic = std::move(civic);
  return l;
}

UserRow user(std::string ext, std::string did, std::string site, bool nomadic = false) {
  UserRow u;
  u.extension = std::move(ext);
  u.did = std::move(did);
  u.name = "User " + u.extension;
  u.site = std::move(site);
  u.nomadic = nomadic;
  return u;
}

LocationData demoData() {
  LocationData d;
  CivicAddress london = street("GB", "", "London", "1", "Example", "Street", "EC1A 1AA", "4");
  CivicAddress registered = hqCivic("");
  d.locations = {
      location("hq-lobby", "HQ Lobby", "HQ", hqCivic("1"), LocationKind::SiteDefault),
      location("hq-floor-2", "HQ Floor 2", "HQ", hqCivic("2")),
      location("hq-floor-3", "HQ Floor 3", "HQ", hqCivic("3")),
      location("hq-room-301", "HQ Room 301", "HQ", hqCivic("3", "301")),
      location("london-office", "London Office", "London", london, LocationKind::SiteDefault),
      location("account-default", "Acme registered address", "", registered,
               LocationKind::AccountDefault),
  };
  d.locations[0].elins = {"+12175550100"};
  d.locations[1].elins = {"+12175550102", "+12175550112"};
  d.subnets = {{"10.1.2.0/24", "hq-floor-2"},     {"10.1.3.0/24", "hq-floor-3"},
               {"10.44.0.0/16", "london-office"}, {"10.1.0.0/16", "hq-lobby"},
               {"2001:db8:1::/48", "hq-floor-2"}, {"2001:db8:1:3::/64", "hq-floor-3"}};
  d.bssids = {{"00:11:22:33:44:55", "hq-room-301"},
              {"00-11-22-33-44-6*", "hq-floor-2"},  // one AP's 16 BSSIDs
              {"0011.2233.446a", "hq-floor-3"}};    // an exact row beats the wildcard
  d.switches = {{"00:aa:bb:cc:dd:ee", "7", "hq-floor-2"},
                {"00:aa:bb:cc:dd:ee", "", "hq-floor-2"},
                {"SW-3F.hq.example", "", "hq-floor-3"}};
  d.users = {user("1001", "+12175551001", "HQ"), user("1002", "+12175551002", "HQ", true),
             user("1003", "+12175551003", "HQ", true), user("2001", "+442079460001", "London")};
  d.users[0].macs = {"00:04:f2:00:10:01"};
  PersonalLocationRow home;
  home.extension = "1003";
  auto evergreen = street("US", "IL", "Springfield", "742", "Evergreen", "Terrace", "62704");
  home.location = location("home-1003", "Home of 1003", "", evergreen, LocationKind::Personal);
  home.matchNetworks = {"203.0.113.7"};
  PersonalLocationRow manchester;
  manchester.extension = "2001";
  auto mcr = street("GB", "", "Manchester", "5", "Oxford", "Road", "M1 5AN");
  manchester.location =
      location("manchester-2001", "Manchester flat", "", mcr, LocationKind::Personal);
  manchester.location.elins = {"+441619460001"};
  manchester.matchBssids = {"a0:b1:c2:d3:e4:f5"};
  d.personal = {home, manchester};
  d.siteDefaults = {{"HQ", "hq-lobby"}, {"London", "london-office"}};
  d.accountDefaultKey = "account-default";
  return d;
}

class Resolver : public ::testing::Test {
 protected:
  std::shared_ptr<const LocationSnapshot> snap = LocationSnapshot::build(demoData());

  Resolution call(std::string ext, std::string contact = "", std::string bssid = "",
                  const DeviceReport* report = nullptr) const {
    CallNetworkData c;
    c.extension = std::move(ext);
    c.contactHost = std::move(contact);
    c.bssid = std::move(bssid);
    c.report = report;
    return snap->resolve(c, kNow);
  }
  static DeviceReport report(std::string ext, int64_t ageMs = 5 * kMinute) {
    DeviceReport r;
    r.extension = std::move(ext);
    r.reportedAtMs = kNow - ageMs;
    return r;
  }
};

std::string key(const Resolution& r) { return r.location ? r.location->key : "<null>"; }

bool anyIgnored(const Resolution& r, std::string_view text) {
  return std::any_of(r.ignored.begin(), r.ignored.end(),
                     [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

TEST(SignalNames, RoundTripAndLeniency) {
  for (int i = 0; i <= static_cast<int>(Signal::AccountDefault); ++i) {
    auto s = static_cast<Signal>(i);
    EXPECT_EQ(signalFromString(toString(s)), s);
  }
  EXPECT_EQ(toString(Signal::ChassisPort), "chassis-port");
  EXPECT_EQ(toString(Signal::PersonalConfirmed), "personal-confirmed");
  EXPECT_EQ(signalFromString("Chassis_Port"), Signal::ChassisPort);
  EXPECT_FALSE(signalFromString("gps"));
  EXPECT_FALSE(signalFromString(""));
}

TEST(CivicAddressText, OneLine) {
  EXPECT_EQ(hqCivic("3", "301").oneLine(),
            "100 Main St, FLR 3, ROOM 301, Springfield, IL 62701, US");
  auto d = demoData();
  EXPECT_EQ(d.locations[4].civic.oneLine(), "1 Example Street, FLR 4, London EC1A 1AA, GB");
  EXPECT_EQ(CivicAddress{}.oneLine(), "");
}

TEST_F(Resolver, DemoDataBuildsWithoutWarnings) {
  EXPECT_TRUE(snap->warnings().empty()) << snap->warnings().front();
  EXPECT_EQ(snap->accountDefault()->key, "account-default");
  EXPECT_GT(snap->memoryBytes(), sizeof(LocationSnapshot));
}

TEST_F(Resolver, BssidFromInvite) {
  auto r = call("1002", "", "00:11:22:33:44:55");
  EXPECT_EQ(key(r), "hq-room-301");
  EXPECT_EQ(r.signal, Signal::Bssid);
  EXPECT_EQ(r.evidence, "bssid 00:11:22:33:44:55 from INVITE");
  EXPECT_EQ(r.ageMs, 0);
  ASSERT_NE(r.user, nullptr);
  EXPECT_EQ(r.user->extension, "1002");
  EXPECT_FALSE(r.conflict);
}

TEST_F(Resolver, NetworkProvidedBssidIsNoted) {
  CallNetworkData c;
  c.extension = "1001";
  c.bssid = "001122334455";
  c.bssidNetworkProvided = true;
  auto r = snap->resolve(c, kNow);
  EXPECT_EQ(r.evidence, "bssid 00:11:22:33:44:55 from INVITE (network-provided)");
}

TEST_F(Resolver, BssidBeatsSubnetOfTheSameFloorWithoutConflict) {
  auto r = call("1001", "10.1.3.45", "00:11:22:33:44:55");
  EXPECT_EQ(key(r), "hq-room-301");
  ASSERT_EQ(r.losers.size(), 1u);
  EXPECT_EQ(r.losers[0].signal, Signal::Subnet);
  EXPECT_EQ(r.losers[0].location->key, "hq-floor-3");
  EXPECT_EQ(r.losers[0].evidence, "ip 10.1.3.45 from Contact in subnet 10.1.3.0/24");
  EXPECT_FALSE(r.conflict);  // Room 301 is on floor 3: the same place, refined
}

TEST_F(Resolver, SignalsThatDisagreeAreFlagged) {
  auto r = call("1001", "10.1.2.45", "00:11:22:33:44:55");
  EXPECT_EQ(key(r), "hq-room-301");
  EXPECT_TRUE(r.conflict);  // Wi-Fi says floor 3, the subnet floor 2
  r = call("1001", "10.44.9.9", "00:11:22:33:44:55");
  EXPECT_TRUE(r.conflict);  // another site altogether
}

TEST_F(Resolver, BssidWildcardAndExact) {
  auto r = call("1001", "", "00:11:22:33:44:6b");
  EXPECT_EQ(key(r), "hq-floor-2");
  EXPECT_EQ(r.evidence, "bssid 00:11:22:33:44:6b from INVITE matching 00:11:22:33:44:6*");
  EXPECT_EQ(key(call("1001", "", "00:11:22:33:44:6A")), "hq-floor-3");
  EXPECT_EQ(call("1001", "", "00:11:22:33:44:7b").signal, Signal::SiteDefault);
}

TEST_F(Resolver, ChassisPortBeatsChassisAndSubnet) {
  auto rep = report("1001", 5 * kMinute);
  rep.chassis = "00-AA-BB-CC-DD-EE";
  rep.port = "7";
  rep.ip = "10.1.3.9";
  auto r = call("1001", "", "", &rep);
  EXPECT_EQ(key(r), "hq-floor-2");
  EXPECT_EQ(r.signal, Signal::ChassisPort);
  EXPECT_EQ(r.ageMs, 5 * kMinute);
  EXPECT_EQ(r.evidence, "chassis 00-AA-BB-CC-DD-EE port 7 from device report (reported 5 min ago)");
  ASSERT_EQ(r.losers.size(), 2u);
  EXPECT_EQ(r.losers[0].signal, Signal::Chassis);
  EXPECT_EQ(r.losers[1].signal, Signal::Subnet);
  EXPECT_EQ(r.losers[1].ageMs, 5 * kMinute);
  EXPECT_TRUE(r.conflict);  // the report's IP is on floor 3
}

TEST_F(Resolver, ChassisAloneWhenThePortIsNotMapped) {
  auto rep = report("1001");
  rep.chassis = "00:aa:bb:cc:dd:ee";
  rep.port = "9";
  EXPECT_EQ(call("1001", "", "", &rep).signal, Signal::Chassis);
  rep.chassis = "sw-3f.HQ.example";  // a named chassis compares without case
  rep.port = "";
  auto r = call("1001", "", "", &rep);
  EXPECT_EQ(r.signal, Signal::Chassis);
  EXPECT_EQ(key(r), "hq-floor-3");
}

TEST_F(Resolver, SubnetLongestPrefixWins) {
  EXPECT_EQ(key(call("1001", "10.1.2.45")), "hq-floor-2");
  auto r = call("1001", "10.1.9.9");
  EXPECT_EQ(key(r), "hq-lobby");
  EXPECT_EQ(r.signal, Signal::Subnet);  // matched 10.1.0.0/16, not the site default
  EXPECT_EQ(key(call("2001", "10.44.200.1")), "london-office");
}

TEST_F(Resolver, SubnetIpv6AndMapped) {
  auto r = call("1001", "[2001:db8:1:3::45]");
  EXPECT_EQ(key(r), "hq-floor-3");
  EXPECT_EQ(r.evidence, "ip [2001:db8:1:3::45] from Contact in subnet 2001:db8:1:3::/64");
  EXPECT_EQ(key(call("1001", "2001:db8:1:9::1")), "hq-floor-2");
  EXPECT_EQ(call("1001", "2001:db8:2::1").signal, Signal::SiteDefault);
  EXPECT_EQ(key(call("1001", "::ffff:10.1.2.45")), "hq-floor-2");
}

TEST_F(Resolver, ContactAddressBeatsTheReportsAddress) {
  auto rep = report("1001");
  rep.ip = "10.1.3.7";
  auto r = call("1001", "10.1.2.45", "", &rep);
  EXPECT_EQ(key(r), "hq-floor-2");
  EXPECT_EQ(r.ageMs, 0);
  ASSERT_EQ(r.losers.size(), 1u);
  EXPECT_EQ(r.losers[0].location->key, "hq-floor-3");
  EXPECT_TRUE(r.conflict);
  // A Contact host that is a name, not an address, leaves the report's address in charge.
  r = call("1001", "pbx.example", "", &rep);
  EXPECT_EQ(key(r), "hq-floor-3");
  EXPECT_TRUE(anyIgnored(r, "'pbx.example' is not an IP address"));
}

TEST_F(Resolver, InviteBssidBeatsTheReportsBssid) {
  auto rep = report("1001");
  rep.bssid = "00:11:22:33:44:6b";
  auto r = call("1001", "", "00:11:22:33:44:55", &rep);
  EXPECT_EQ(key(r), "hq-room-301");
  ASSERT_EQ(r.losers.size(), 1u);
  EXPECT_EQ(r.losers[0].signal, Signal::Bssid);
  EXPECT_EQ(r.losers[0].location->key, "hq-floor-2");
  // An INVITE BSSID no access point is mapped to leaves the report's one.
  r = call("1001", "", "02:00:00:00:00:01", &rep);
  EXPECT_EQ(key(r), "hq-floor-2");
  EXPECT_NE(r.evidence.find("from device report"), std::string::npos);
  // The same BSSID twice is one candidate, not a loser to itself.
  rep.bssid = "00:11:22:33:44:55";
  EXPECT_TRUE(call("1001", "", "00:11:22:33:44:55", &rep).losers.empty());
}

TEST_F(Resolver, PersonalLocationMatchedToThisNetwork) {
  auto rep = report("1003");
  rep.ip = "203.0.113.7";
  auto r = call("1003", "", "", &rep);
  EXPECT_EQ(key(r), "home-1003");
  EXPECT_EQ(r.signal, Signal::PersonalNetwork);
  EXPECT_EQ(r.ageMs, 5 * kMinute);
  EXPECT_EQ(call("1003", "203.0.113.7").signal, Signal::PersonalNetwork);
  r = call("2001", "", "A0-B1-C2-D3-E4-F5");
  EXPECT_EQ(key(r), "manchester-2001");
  EXPECT_EQ(r.signal, Signal::PersonalNetwork);
  // Another user's home network is not evidence for 1001.
  EXPECT_EQ(call("1001", "203.0.113.7").signal, Signal::SiteDefault);
}

// Nomadic emergency services off for a site (issue 17): its users' personal addresses are not
// looked at, whatever matches them; the company's location is used and its evidence says why.
// The account's setting holds for every site that does not set its own.
TEST(NomadicPolicy, PersonalAddressesAreUsedOnlyWhereNomadicServicesAreOn) {
  struct Row {
    const char* what;
    bool account;                                     // location.nomadic
    std::vector<std::pair<std::string, bool>> sites;  // sites[].nomadic
    std::string ext, contact;
    std::string key;  // the location the call gives
    Signal signal;
    bool policyNamed;  // the evidence says nomadic services are off
  };
  const std::vector<Row> rows = {
      {"on everywhere: the home network",
       true,
       {},
       "1003",
       "203.0.113.7",
       "home-1003",
       Signal::PersonalNetwork,
       false},
      {"on everywhere: confirmed, unknown network",
       true,
       {},
       "1003",
       "198.51.100.20",
       "home-1003",
       Signal::PersonalConfirmed,
       false},
      {"off for HQ: the home network gives HQ's default",
       true,
       {{"HQ", false}},
       "1003",
       "203.0.113.7",
       "hq-lobby",
       Signal::SiteDefault,
       true},
      {"off for HQ: unknown network, HQ's default",
       true,
       {{"HQ", false}},
       "1003",
       "198.51.100.20",
       "hq-lobby",
       Signal::SiteDefault,
       true},
      {"off for HQ: in the office the subnet",
       true,
       {{"HQ", false}},
       "1003",
       "10.1.2.45",
       "hq-floor-2",
       Signal::Subnet,
       true},
      {"off for HQ: London's user keeps hers",
       true,
       {{"HQ", false}},
       "2001",
       "198.51.100.20",
       "manchester-2001",
       Signal::PersonalConfirmed,
       false},
      {"off for HQ: a user without personal addresses",
       true,
       {{"HQ", false}},
       "1001",
       "198.51.100.20",
       "hq-lobby",
       Signal::SiteDefault,
       false},
      {"off for the account: HQ's default",
       false,
       {},
       "1003",
       "203.0.113.7",
       "hq-lobby",
       Signal::SiteDefault,
       true},
      {"off for the account, on for London",
       false,
       {{"London", true}},
       "2001",
       "198.51.100.20",
       "manchester-2001",
       Signal::PersonalConfirmed,
       false},
      {"off for the account, on for London: HQ still off",
       false,
       {{"London", true}},
       "1003",
       "203.0.113.7",
       "hq-lobby",
       Signal::SiteDefault,
       true},
      {"on for the account, HQ says on",
       true,
       {{"HQ", true}},
       "1003",
       "203.0.113.7",
       "home-1003",
       Signal::PersonalNetwork,
       false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    ResolverSettings settings;
    settings.nomadic = row.account;
    settings.nomadicBySite = row.sites;
    auto snap = LocationSnapshot::build(demoData(), settings);
    CallNetworkData c;
    c.extension = row.ext;
    c.contactHost = row.contact;
    auto r = snap->resolve(c, kNow);
    EXPECT_EQ(key(r), row.key);
    EXPECT_EQ(r.signal, row.signal);
    const bool named =
        r.evidence.find("nomadic emergency services off for site") != std::string::npos;
    EXPECT_EQ(named, row.policyNamed) << r.evidence;
    EXPECT_EQ(anyIgnored(r, "nomadic emergency services are off"), row.policyNamed);
    // Nor is a personal address listed among the losers: it was never a candidate.
    for (const auto& l : r.losers) {
      if (row.policyNamed) {
        EXPECT_NE(l.location->kind, LocationKind::Personal) << l.evidence;
      }
    }
  }
  ResolverSettings hqOff;
  hqOff.nomadicBySite = {{"HQ", false}};
  auto snap = LocationSnapshot::build(demoData(), hqOff);
  EXPECT_FALSE(snap->nomadicAllowed("HQ"));
  EXPECT_TRUE(snap->nomadicAllowed("London"));
  EXPECT_TRUE(snap->nomadicAllowed("Elsewhere"));  // a site nobody configured: the account's
  CallNetworkData home;
  home.extension = "1003";
  home.contactHost = "203.0.113.7";
  auto r = snap->resolve(home, kNow);
  EXPECT_EQ(r.evidence,
            "default location of site HQ (nomadic emergency services off for site HQ: personal "
            "addresses not used)");
}

TEST_F(Resolver, ConfirmedPersonalLocationWhenTheNetworkIsUnknown) {
  auto r = call("1003", "198.51.100.20");
  EXPECT_EQ(key(r), "home-1003");
  EXPECT_EQ(r.signal, Signal::PersonalConfirmed);
  EXPECT_EQ(r.evidence.find("nomadic"), std::string::npos);
  r = call("2001", "198.51.100.20");
  EXPECT_EQ(key(r), "manchester-2001");
  EXPECT_NE(r.evidence.find("nomadic emergency service is off"), std::string::npos);
  // In the office the subnet wins, and the home address is a loser that says so.
  r = call("1003", "10.1.2.45");
  EXPECT_EQ(key(r), "hq-floor-2");
  ASSERT_EQ(r.losers.size(), 1u);
  EXPECT_EQ(r.losers[0].signal, Signal::PersonalConfirmed);
  EXPECT_FALSE(r.conflict);  // a confirmed address is not network evidence
}

TEST_F(Resolver, UnconfirmedPersonalLocationIsNotUsedAsConfirmed) {
  auto d = demoData();
  d.personal[0].location.confirmed = false;
  auto s = LocationSnapshot::build(std::move(d));
  CallNetworkData c;
  c.extension = "1003";
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::SiteDefault);
  c.contactHost = "203.0.113.7";
  auto r = s->resolve(c, kNow);
  EXPECT_EQ(r.signal, Signal::PersonalNetwork);
  EXPECT_NE(r.evidence.find("(unconfirmed)"), std::string::npos);
}

// Issue 17, "use this address for this emergency only": 1003 is given a hotel address for the
// network 198.51.100.20 until an hour from now. Their 911 carries it while the device's latest
// report is from there (Contact or not), before a kept address for the same network; not
// once the report is from elsewhere, nor without a report, nor after its time; and it is never
// "the user's confirmed address wherever they are".
TEST_F(Resolver, AnAddressHeldForOneEmergencyOnlyWhileReportedFromItsNetworkAndInTime) {
  auto d = demoData();
  PersonalLocationRow kept;
  kept.extension = "1003";
  kept.location = location("1003-0-kept", "Kept for that network", "",
                           street("US", "IL", "Springfield", "1", "Kept", "St", "62701"),
                           LocationKind::Personal);
  kept.matchNetworks = {"198.51.100.20"};
  PersonalLocationRow hotel;
  hotel.extension = "1003";
  hotel.location = location("1003-hold-1", "Hotel", "",
                            street("US", "IL", "Chicago", "10", "Lake", "Shore Dr", "60601"),
                            LocationKind::Personal);
  hotel.matchNetworks = {"198.51.100.20"};
  hotel.holdUntilMs = kNow + kHour;
  PersonalLocationRow onlyHeld = hotel;
  onlyHeld.extension = "1002";
  onlyHeld.location.key = "1002-hold-1";
  d.personal.push_back(kept);
  d.personal.push_back(hotel);
  d.personal.push_back(onlyHeld);
  auto s = LocationSnapshot::build(std::move(d));
  ASSERT_TRUE(s->warnings().empty());
  auto resolve = [&](std::string ext, std::string contact, const DeviceReport* rep,
                     int64_t now = kNow) {
    CallNetworkData c;
    c.extension = std::move(ext);
    c.contactHost = std::move(contact);
    c.report = rep;
    return s->resolve(c, now);
  };

  auto there = report("1003");
  there.ip = "198.51.100.20";
  for (const std::string contact : {"198.51.100.20", ""}) {
    auto r = resolve("1003", contact, &there);
    EXPECT_EQ(key(r), "1003-hold-1") << contact;
    EXPECT_EQ(r.signal, Signal::PersonalNetwork) << contact;
    EXPECT_TRUE(r.location->confirmed);
    EXPECT_NE(r.location->civic.oneLine().find("Chicago"), std::string::npos);
  }
  // The latest report is from another network: the hold is not used, even from its Contact.
  auto elsewhere = report("1003");
  elsewhere.ip = "192.0.2.50";
  auto r = resolve("1003", "198.51.100.20", &elsewhere);
  EXPECT_EQ(key(r), "1003-0-kept");
  EXPECT_TRUE(anyIgnored(r,
                         "'Hotel' held for one emergency: the device's latest report is from "
                         "another network"));
  // No report at all: nothing says the device is still there.
  EXPECT_EQ(key(resolve("1003", "198.51.100.20", nullptr)), "1003-0-kept");
  // Its time is over.
  auto later = there;
  later.reportedAtMs = kNow + 2 * kHour - 5 * kMinute;
  r = resolve("1003", "", &later, kNow + 2 * kHour);
  EXPECT_EQ(key(r), "1003-0-kept");
  EXPECT_TRUE(anyIgnored(r, "'Hotel' held for one emergency: its time is over"));
  // Not the confirmed address of a user elsewhere: 1002 has only the hold.
  auto office = report("1002");
  office.ip = "192.0.2.50";
  EXPECT_EQ(resolve("1002", "", &office).signal, Signal::SiteDefault);
  auto hotel1002 = report("1002");
  hotel1002.ip = "198.51.100.20";
  EXPECT_EQ(key(resolve("1002", "", &hotel1002)), "1002-hold-1");
}

TEST_F(Resolver, SiteDefaultThenAccountDefault) {
  auto r = call("1001", "192.0.2.9");
  EXPECT_EQ(key(r), "hq-lobby");
  EXPECT_EQ(r.signal, Signal::SiteDefault);
  EXPECT_EQ(r.evidence, "default location of site HQ");
  EXPECT_TRUE(r.losers.empty());

  r = call("9999");  // unknown caller, no site known
  EXPECT_EQ(r.user, nullptr);
  EXPECT_EQ(key(r), "account-default");
  EXPECT_EQ(r.signal, Signal::AccountDefault);
  EXPECT_EQ(r.evidence, "account default location (caller's site unknown)");

  CallNetworkData c;
  c.extension = "9999";
  c.site = "London";  // as routing determined it
  EXPECT_EQ(key(snap->resolve(c, kNow)), "london-office");
  c.site = "Paris";
  EXPECT_EQ(snap->resolve(c, kNow).evidence,
            "account default location (site Paris has no default location)");
}

TEST_F(Resolver, UnknownCallerStillUsesTheNetwork) {
  auto r = call("+15555550000", "10.1.2.45", "");
  EXPECT_EQ(r.user, nullptr);
  EXPECT_EQ(key(r), "hq-floor-2");
}

TEST_F(Resolver, CallerFoundByDid) {
  auto r = call("+12175551003", "198.51.100.20");
  ASSERT_NE(r.user, nullptr);
  EXPECT_EQ(r.user->extension, "1003");
  EXPECT_EQ(key(r), "home-1003");
}

TEST_F(Resolver, PlaceholderBssidsAreIgnored) {
  auto rep = report("1001");
  rep.bssid = "00:00:00:00:00:00";
  auto r = call("1001", "10.1.2.45", "ffffffffffff", &rep);
  EXPECT_EQ(r.signal, Signal::Subnet);
  EXPECT_TRUE(anyIgnored(r, "placeholder BSSID ffffffffffff from INVITE"));
  EXPECT_TRUE(anyIgnored(r, "placeholder BSSID 000000000000 from device report"));
  r = call("1001", "", "not-a-mac");
  EXPECT_TRUE(anyIgnored(r, "'not-a-mac' from INVITE is not a MAC address"));
  EXPECT_EQ(r.signal, Signal::SiteDefault);
  r = call("1001", "", std::string(10000, 'x'));  // hostile input is quoted, not copied whole
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_LT(r.ignored[0].size(), 120u);
}

TEST_F(Resolver, StaleReportsAreIgnored) {
  auto rep = report("1001", 25 * kHour);
  rep.chassis = "00:aa:bb:cc:dd:ee";
  rep.port = "7";
  auto r = call("1001", "", "", &rep);
  EXPECT_EQ(r.signal, Signal::SiteDefault);
  EXPECT_TRUE(anyIgnored(r, "device report 25 h old (limit 24 h)"));

  ResolverSettings quick;
  quick.staleAfterMs = kHour;
  auto s = LocationSnapshot::build(demoData(), quick);
  rep.reportedAtMs = kNow - 2 * kHour;
  CallNetworkData c;
  c.extension = "1001";
  c.report = &rep;
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::SiteDefault);
  rep.reportedAtMs = kNow - 30 * kMinute;
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::ChassisPort);
  rep.reportedAtMs = kNow + kHour;  // a report "from the future" (clock skew) counts as fresh
  EXPECT_EQ(s->resolve(c, kNow).ageMs, 0);
}

TEST_F(Resolver, AnotherUsersReportIsNotUsed) {
  auto rep = report("1002");
  rep.ip = "10.1.2.45";
  auto r = call("1001", "", "", &rep);
  EXPECT_EQ(r.signal, Signal::SiteDefault);
  EXPECT_TRUE(anyIgnored(r, "belongs to 1002"));
}

TEST_F(Resolver, NoLocationPermission) {
  auto d = demoData();
  d.users.push_back(user("1005", "+12175551005", "HQ"));
  d.users.back().locationPermission = false;
  auto s = LocationSnapshot::build(std::move(d));
  auto rep = report("1005");
  rep.chassis = "00:aa:bb:cc:dd:ee";
  rep.port = "7";
  CallNetworkData c;
  c.extension = "1005";
  c.contactHost = "10.1.2.45";
  c.report = &rep;
  auto r = s->resolve(c, kNow);
  EXPECT_EQ(r.signal, Signal::SiteDefault);
  ASSERT_FALSE(r.ignored.empty());
  EXPECT_EQ(r.ignored[0],
            "location permission is off for 1005: device report and Contact "
            "address not used");
  c.bssid = "00:11:22:33:44:55";  // what the INVITE itself says is still the call's own data
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::Bssid);
}

TEST_F(Resolver, DeviceSuppliedLocationIsKept) {
  CallNetworkData c;
  c.extension = "1001";
  c.bssid = "00:11:22:33:44:55";
  c.deviceSuppliedLocation = true;
  auto r = snap->resolve(c, kNow);
  EXPECT_TRUE(r.deviceSupplied);
  EXPECT_EQ(r.signal, Signal::DeviceSupplied);
  EXPECT_EQ(key(r), "hq-room-301");  // where PSAP routing goes
  EXPECT_NE(r.evidence.find("bssid 00:11:22:33:44:55"), std::string::npos);
  c.bssid.clear();
  r = snap->resolve(c, kNow);
  EXPECT_TRUE(r.deviceSupplied);
  EXPECT_EQ(key(r), "hq-lobby");
  // Ranked below the BSSID by configuration: the BSSID wins and the PIDF-LO is noted.
  ResolverSettings settings;
  settings.order = {Signal::Bssid, Signal::DeviceSupplied, Signal::SiteDefault};
  c.bssid = "00:11:22:33:44:55";
  r = LocationSnapshot::build(demoData(), settings)->resolve(c, kNow);
  EXPECT_EQ(r.signal, Signal::Bssid);
  EXPECT_FALSE(r.deviceSupplied);
  EXPECT_TRUE(anyIgnored(r, "device-supplied location ranked below bssid"));
}

TEST_F(Resolver, CustomOrder) {
  ResolverSettings settings;
  settings.order = {Signal::Subnet, Signal::Bssid, Signal::SiteDefault};
  auto s = LocationSnapshot::build(demoData(), settings);
  auto rep = report("1001");
  rep.chassis = "00:aa:bb:cc:dd:ee";
  rep.port = "7";
  CallNetworkData c;
  c.extension = "1001";
  c.contactHost = "10.1.3.45";
  c.bssid = "00:11:22:33:44:6b";
  c.report = &rep;
  c.deviceSuppliedLocation = true;
  auto r = s->resolve(c, kNow);
  EXPECT_EQ(r.signal, Signal::Subnet);
  EXPECT_EQ(key(r), "hq-floor-3");
  ASSERT_EQ(r.losers.size(), 1u);  // switch signals are not in the order: not even losers
  EXPECT_EQ(r.losers[0].signal, Signal::Bssid);
  EXPECT_FALSE(r.deviceSupplied);
  EXPECT_TRUE(anyIgnored(r, "device-supplied location: not in the precedence order"));
  // The account default is the last resort even when the order leaves it out.
  c = CallNetworkData{};
  c.extension = "1003";  // has a confirmed home, but personal-confirmed is not in the order
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::SiteDefault);
  c.extension = "9999";
  EXPECT_EQ(key(s->resolve(c, kNow)), "account-default");
}

TEST_F(Resolver, EmptyOrderFallsBackToTheDefaultOrder) {
  ResolverSettings settings;
  settings.order.clear();
  auto s = LocationSnapshot::build(demoData(), settings);
  EXPECT_EQ(s->warnings().size(), 1u);
  CallNetworkData c;
  c.extension = "1001";
  c.bssid = "00:11:22:33:44:55";
  EXPECT_EQ(s->resolve(c, kNow).signal, Signal::Bssid);
}

TEST_F(Resolver, ResolveReportAnswersFromTheNetworkAlone) {
  auto rep = report("1002", 0);
  rep.bssid = "00:11:22:33:44:55";
  auto r = snap->resolveReport(rep, kNow);
  EXPECT_EQ(r.signal, Signal::Bssid);
  EXPECT_EQ(key(r), "hq-room-301");
  rep.bssid = "02:00:00:00:00:09";
  rep.ip = "198.51.100.1";
  EXPECT_EQ(snap->resolveReport(rep, kNow).signal, Signal::SiteDefault);
}

TEST_F(Resolver, Lookups) {
  EXPECT_EQ(snap->findUser("+442079460001")->extension, "2001");
  EXPECT_EQ(snap->findUser("nobody"), nullptr);
  EXPECT_EQ(snap->findUserByMac("0004.f200.1001")->extension, "1001");
  EXPECT_EQ(snap->findLocation("hq-room-301")->name, "HQ Room 301");
  EXPECT_EQ(snap->findLocation("home-1003")->kind, LocationKind::Personal);
  EXPECT_EQ(snap->findLocation("nowhere"), nullptr);
  EXPECT_EQ(snap->siteDefault("London")->key, "london-office");
  EXPECT_EQ(snap->siteDefault("Paris"), nullptr);

  auto d = demoData();
  d.reports = {report("1001", kHour), report("1001", kMinute), report("1002", 0)};
  d.reports[1].ip = "10.1.2.45";
  auto s = LocationSnapshot::build(std::move(d));
  ASSERT_NE(s->latestReport("1001"), nullptr);
  EXPECT_EQ(s->latestReport("1001")->ip, "10.1.2.45");
  EXPECT_EQ(s->latestReport("2001"), nullptr);
}

TEST(LocationSnapshotBuild, BadRowsAreSkippedWithWarnings) {
  auto d = demoData();
  d.subnets.push_back({"10.1.2.0/33", "hq-floor-2"});
  d.subnets.push_back({"10.9.0.0/16", "no-such-place"});
  d.subnets.push_back({"10.1.2.0/24", "hq-floor-3"});  // duplicate prefix
  d.bssids.push_back({"zz:11:22:33:44:55", "hq-floor-2"});
  d.bssids.push_back({"ff:ff:ff:ff:ff:ff", "hq-floor-2"});
  d.switches.push_back({"", "3", "hq-floor-2"});
  d.locations.push_back(location("", "Nameless", "HQ", {}));
  d.locations.push_back(location("hq-floor-2", "Second floor again", "HQ", {}));
  d.siteDefaults.push_back({"Berlin", "berlin-office"});
  auto s = LocationSnapshot::build(std::move(d));
  const auto& w = s->warnings();
  auto warned = [&](std::string_view text) {
    return std::any_of(w.begin(), w.end(),
                       [&](const std::string& x) { return x.find(text) != std::string::npos; });
  };
  EXPECT_EQ(w.size(), 9u);
  EXPECT_TRUE(warned("prefix length 33 is over 32"));
  EXPECT_TRUE(warned("unknown location 'no-such-place'"));
  EXPECT_TRUE(warned("subnet '10.1.2.0/24' is mapped twice"));
  EXPECT_TRUE(warned("'zz:11:22:33:44:55' is not a BSSID"));
  EXPECT_TRUE(warned("is a placeholder"));
  EXPECT_TRUE(warned("chassis ID missing"));
  EXPECT_TRUE(warned("has no key"));
  EXPECT_TRUE(warned("location key 'hq-floor-2' appears twice"));
  EXPECT_TRUE(warned("'berlin-office' is not a known location"));
  // The good rows still work, and the first of two duplicates is the one used.
  CallNetworkData c;
  c.extension = "1001";
  c.contactHost = "10.1.2.45";
  auto r = s->resolve(c, kNow);
  EXPECT_EQ(r.location->name, "HQ Floor 2");
}

TEST(LocationSnapshotBuild, MissingAccountDefaultIsSynthesized) {
  auto d = demoData();
  d.accountDefaultKey = "gone";
  auto s = LocationSnapshot::build(std::move(d));
  ASSERT_EQ(s->warnings().size(), 1u);
  EXPECT_NE(s->warnings()[0].find("'gone' is not a known location"), std::string::npos);
  CallNetworkData c;
  c.extension = "9999";
  auto r = s->resolve(c, kNow);
  ASSERT_NE(r.location, nullptr);
  EXPECT_EQ(r.location->name, "Unknown location");
  EXPECT_EQ(r.signal, Signal::AccountDefault);

  auto empty = LocationSnapshot::build(LocationData{});
  r = empty->resolve(c, kNow);
  ASSERT_NE(r.location, nullptr);
  EXPECT_EQ(r.location->key, "unknown-location");
  c.contactHost = "10.1.2.45";
  c.bssid = "00:11:22:33:44:55";
  EXPECT_EQ(empty->resolve(c, kNow).location, empty->accountDefault());
}

TEST(LocationSnapshotBuild, ManyBadRowsAreCountedNotListed) {
  auto d = demoData();
  for (int i = 0; i < 1000; ++i) d.subnets.push_back({"bad-" + std::to_string(i), "hq-lobby"});
  auto s = LocationSnapshot::build(std::move(d));
  EXPECT_LE(s->warnings().size(), 201u);
  EXPECT_NE(s->warnings().back().find("800 more problems"), std::string::npos);
}

// Issue 16: which report a call is located by. Each row: two reports of one device (who sent
// it, when), and the one that must win, in either order.
TEST(PreferredReport, TheNetworksReportBeatsThePhonesOwnUnlessThePhonesCameMuchLater) {
  struct Row {
    bool aNetwork;
    int64_t aAtMs;
    bool bNetwork;
    int64_t bAtMs;
    char wins;
    const char* why;
  };
  const int64_t hold = kNetworkReportHoldMs;
  const Row rows[] = {
      {false, 0, false, 1000, 'b', "two of the phone's: the later"},
      {true, 1000, true, 0, 'a', "two of the network's: the later"},
      {true, 0, false, 60'000, 'a', "the phone's a minute after the network's: the network's"},
      {true, 0, false, hold, 'a', "the phone's at the end of the hold: still the network's"},
      {true, 0, false, hold + 1, 'b', "the phone's after the hold (it moved since): the phone's"},
      {false, 0, true, 1000, 'b', "the network's after the phone's: the network's"},
      {false, 5, false, 5, 'b', "a tie: the one given second"},
  };
  for (const Row& row : rows) {
    DeviceReport a, b;
    a.extension = b.extension = "1002";
    a.networkProvided = row.aNetwork;
    a.reportedAtMs = row.aAtMs;
    a.ip = "a";
    b.networkProvided = row.bNetwork;
    b.reportedAtMs = row.bAtMs;
    b.ip = "b";
    EXPECT_EQ(preferredReport(a, b).ip, std::string(1, row.wins)) << row.why;
    if (row.aAtMs != row.bAtMs) {
      EXPECT_EQ(preferredReport(b, a).ip, std::string(1, row.wins)) << row.why << " (swapped)";
    }
  }
}

TEST_F(Resolver, ANetworkProvidedReportSaysSoInTheEvidence) {
  DeviceReport r = report("1002");
  r.bssid = "00:11:22:33:44:55";
  r.networkProvided = true;
  auto res = call("1002", "", "", &r);
  EXPECT_EQ(key(res), "hq-room-301");
  EXPECT_EQ(res.evidence,
            "bssid 00:11:22:33:44:55 from device report (network-provided, reported 5 min ago)");
}

}  // namespace
}  // namespace sos::routing
