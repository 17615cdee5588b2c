// ELIN pools and PSAP callback (issue 4), on the demo enterprise of config/examples.

#include "routing/elin.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/routing/test_time.h"

namespace sos::routing {
namespace {

using model::CallbackTarget;
using model::CallerIdentity;
using model::Location;
using model::LocationKind;

constexpr int64_t kT0 = 1'700'000'000'000;             // an arbitrary Unix time in ms
constexpr int64_t kWindow = kDefaultCallbackWindowMs;  // 3 h

Location company(std::string key, std::string site, std::vector<std::string> elins) {
  Location l;
  l.key = key;
  l.name = key;
  l.site = std::move(site);
  l.elins = std::move(elins);
  return l;
}

const Location kFloor2 = company("hq-floor-2", "HQ", {"+12175550102", "+12175550112"});
const Location kRoom301 = company("hq-room-301", "HQ", {"+12175550131"});
const Location kLondon = company("london-office", "London", {"+442071234567"});

Location manchester() {
  // 2001's personal address: no site (location.h), its own UK ELIN.
  Location l = company("2001-manchester", "", {"+441619460001"});
  l.kind = LocationKind::Personal;
  l.civic.country = "GB";
  l.civic.a3 = "Manchester";
  return l;
}

const CallerIdentity k1001{"1001", "+12175551001", "sip:1001@10.1.2.45", "call-1001"};
const CallerIdentity k1002{"1002", "+12175551002", "sip:1002@10.1.2.46", "call-1002"};
const CallerIdentity k1003{"1003", "+12175551003", "sip:1003@203.0.113.7", "call-1003"};
const CallerIdentity k2001{"2001", "+442079460001", "sip:2001@10.44.0.9", "call-2001"};

ElinAllocator demoAllocator() {
  return ElinAllocator({{"HQ", "+12175550100"}, {"London", "+442071234567"}}, kWindow);
}

TEST(ElinAllocator, PoolIsHandedOutLeastRecentlyUsedFirst) {
  ElinAllocator a = demoAllocator();
  EXPECT_EQ(a.assign(kFloor2, k1001, kT0).elin, "+12175550102");
  // 0102 is live for 1001: the other one.
  EXPECT_EQ(a.assign(kFloor2, k1002, kT0 + kMinute).elin, "+12175550112");
  a.callbacks().expire(kT0 + kMinute + kWindow);
  EXPECT_EQ(a.callbacks().liveMappings(), 0u);
  // With both windows over and dropped, pool order (the store's LRU order) decides.
  EXPECT_EQ(a.assign(kFloor2, k1003, kT0 + 4 * kHour).elin, "+12175550102");
  // 0102's window ended but it is still held; 0112 is unused since the drop, so older.
  EXPECT_EQ(a.assign(kFloor2, k1001, kT0 + 8 * kHour).elin, "+12175550112");
  // Expired but not yet dropped: 0102 (used at 4 h) is older than 0112 (used at 8 h).
  EXPECT_EQ(a.assign(kFloor2, k1002, kT0 + 12 * kHour).elin, "+12175550102");
  EXPECT_EQ(a.counters().reusesOfLiveElin, 0u);
  EXPECT_EQ(a.counters().fallbacks, 0u);
}

TEST(ElinAllocator, NeverUsedElinBeatsOneWhoseWindowEnded) {
  ElinAllocator a = demoAllocator();
  ASSERT_EQ(a.assign(kFloor2, k1001, kT0).elin, "+12175550102");
  // 0102's window is over (but still held); 0112 was never used, so it is the older one.
  ElinChoice c = a.assign(kFloor2, k1002, kT0 + kWindow + kMinute);
  EXPECT_EQ(c.elin, "+12175550112");
  EXPECT_FALSE(c.reusedLive);
}

TEST(ElinAllocator, ExpiredMappingIsPreferredOverAnOlderLiveOne) {
  // Mappings reloaded from a run with a longer window: 0102 is older but still live, 0112 was
  // used later but its window is over. The live one must be kept for its callback.
  ElinAllocator a = demoAllocator();
  a.callbacks().restore({
      {k1001, "+12175550102", kT0, kT0 + 10 * kHour},
      {k1002, "+12175550112", kT0 + kHour, kT0 + 2 * kHour},
  });
  ElinChoice c = a.assign(kFloor2, k1003, kT0 + 3 * kHour);
  EXPECT_EQ(c.elin, "+12175550112");
  EXPECT_FALSE(c.reusedLive);
  auto back = a.callbacks().lookup("+12175550102", kT0 + 3 * kHour);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->caller.extension, "1001");
}

TEST(ElinAllocator, SameCallerKeepsItsLiveElinWithoutWarning) {
  ElinAllocator a = demoAllocator();
  ASSERT_EQ(a.assign(kFloor2, k1002, kT0).elin, "+12175550102");
  ASSERT_EQ(a.assign(kFloor2, k1001, kT0 + kMinute).elin, "+12175550112");
  // 1001 calls again: 0102 would be next by LRU, but 1001 already holds 0112.
  ElinChoice c = a.assign(kFloor2, k1001, kT0 + 2 * kMinute);
  EXPECT_EQ(c.elin, "+12175550112");
  EXPECT_FALSE(c.reusedLive);
  EXPECT_FALSE(c.fromFallback);
  EXPECT_EQ(a.counters().reusesOfLiveElin, 0u);
  // The window restarts from the repeated call.
  auto t = a.callbacks().lookup("+12175550112", kT0 + 2 * kMinute);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->assignedAtMs, kT0 + 2 * kMinute);
  EXPECT_EQ(t->expiresAtMs, kT0 + 2 * kMinute + kWindow);
  // 1002 keeps its own.
  EXPECT_EQ(a.callbacks().lookup("+12175550102", kT0 + 2 * kMinute)->caller.extension, "1002");
}

TEST(ElinAllocator, ExhaustedPoolReusesOldestLiveElinAndCountsIt) {
  ElinAllocator a = demoAllocator();
  a.assign(kFloor2, k1001, kT0);
  a.assign(kFloor2, k1002, kT0 + kMinute);
  ElinChoice c = a.assign(kFloor2, k1003, kT0 + 2 * kMinute);
  EXPECT_EQ(c.elin, "+12175550102");  // assigned longest ago
  EXPECT_TRUE(c.reusedLive);
  ASSERT_TRUE(c.displaced.has_value());
  EXPECT_EQ(c.displaced->caller.extension, "1001");
  EXPECT_FALSE(c.fromFallback);
  EXPECT_EQ(a.counters().reusesOfLiveElin, 1u);
  // A callback to 0102 now reaches the newest caller.
  EXPECT_EQ(a.callbacks().lookup("+12175550102", kT0 + 3 * kMinute)->caller.extension, "1003");

  // The single-ELIN room: a second person in Room 301 takes it over too.
  a.assign(kRoom301, k1001, kT0);
  EXPECT_TRUE(a.assign(kRoom301, k1002, kT0 + kMinute).reusedLive);
  EXPECT_EQ(a.counters().reusesOfLiveElin, 2u);
}

// Issue 22: two nodes on one database, neither yet aware of the other's mapping (the change
// feed's few milliseconds, or the database away): each hands out an idle ELIN of its own share
// first, so two callers at one place get different ELINs; once the other's mapping is merged,
// the usual rules hold.
TEST(ElinAllocator, TwoNodesHandOutDifferentElinsOfAPoolAtOnce) {
  ElinAllocator nodeA = demoAllocator();
  ElinAllocator nodeB = demoAllocator();
  nodeA.setShare({0, 2});
  nodeB.setShare({1, 2});
  const ElinChoice a = nodeA.assign(kFloor2, k1001, kT0);
  const ElinChoice b = nodeB.assign(kFloor2, k1002, kT0);
  EXPECT_EQ(a.elin, "+12175550102");
  EXPECT_EQ(b.elin, "+12175550112");
  EXPECT_FALSE(a.reusedLive || b.reusedLive);
  // Node B hears of node A's mapping: the pool is full there, so the next caller takes the
  // ELIN assigned longest ago (a tie here: the pool's first), counted.
  nodeB.callbacks().restore(nodeA.callbacks().snapshot());
  const ElinChoice c = nodeB.assign(kFloor2, k1003, kT0 + kMinute);
  EXPECT_TRUE(c.reusedLive);
  // Without a share (one node), the pool's first idle ELIN as before.
  ElinAllocator alone = demoAllocator();
  alone.setShare({1, 1});  // an index outside the count: the whole pool
  EXPECT_EQ(alone.share().count, 1);
  EXPECT_EQ(alone.assign(kFloor2, k1002, kT0).elin, "+12175550102");
  // A third node's share of a pool of two is empty: it takes the least recently used idle one.
  ElinAllocator nodeC = demoAllocator();
  nodeC.setShare({2, 3});
  nodeC.callbacks().restore({{k1001, "+12175550102", kT0 - kWindow - kHour, kT0 - kHour}});
  EXPECT_EQ(nodeC.assign(kFloor2, k1003, kT0).elin, "+12175550112");
  // Its own share when it has one: position 3 of a pool of three.
  const Location three =
      company("hq-three", "HQ", {"+12175550102", "+12175550112", "+12175550122"});
  EXPECT_EQ(nodeC.assign(three, k1002, kT0).elin, "+12175550122");
}

// The pools a node's warning names when its share changes (proxy/app.cpp): those with fewer
// distinct ELINs than its position in the share, so it has none of its own there, each with its
// distinct ELINs (a number written twice counts once).
TEST(ElinAllocator, PoolsTooSmallForANodesShareAreNamed) {
  const std::vector<Location> locations{
      company("one", "HQ", {"+12175550102"}),
      company("two", "HQ", {"+12175550102", "+12175550112"}),
      company("twice-the-same", "HQ", {"+12175550102", "+1 217 555 0102"}),
      company("none", "HQ", {}),
  };
  auto keys = [&](ElinShare share) {
    std::vector<std::string> out;
    for (const auto& p : poolsWithoutShare(locations, share)) {
      out.push_back(p.location->key + " " + std::to_string(p.elins));
    }
    return out;
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(keys({0, 1}), Keys{});  // alone: the whole pool
  EXPECT_EQ(keys({0, 2}), Keys{});  // the first node has the first ELIN of every pool
  EXPECT_EQ(keys({1, 2}), (Keys{"one 1", "twice-the-same 1"}));
  EXPECT_EQ(keys({2, 3}), (Keys{"one 1", "two 2", "twice-the-same 1"}));
  EXPECT_EQ(keys({3, 2}), Keys{});  // an index outside the count: the whole pool
}

TEST(ElinAllocator, NoElinFallsBackToSiteDefault) {
  ElinAllocator a = demoAllocator();
  Location floor4 = company("hq-floor-4", "HQ", {});
  ElinChoice c = a.assign(floor4, k1001, kT0);
  EXPECT_EQ(c.elin, "+12175550100");
  EXPECT_TRUE(c.fromFallback);
  EXPECT_NE(c.fallbackReason.find("hq-floor-4"), std::string::npos);
  EXPECT_NE(c.fallbackReason.find("HQ"), std::string::npos);
  EXPECT_EQ(a.counters().fallbacks, 1u);
  // The default ELIN is called back like any other.
  auto t = a.callbacks().lookup("2175550100", kT0 + kHour);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->caller.extension, "1001");

  // Unusable entries count as none.
  ElinChoice junk = a.assign(company("hq-junk", "HQ", {"", "n/a"}), k1002, kT0);
  EXPECT_EQ(junk.elin, "+12175550100");
  EXPECT_TRUE(junk.fromFallback);
  EXPECT_TRUE(junk.reusedLive);  // 1001 still holds the default ELIN
  EXPECT_EQ(a.counters().fallbacks, 2u);
}

TEST(ElinAllocator, NothingAtAllGivesEmptyElin) {
  ElinAllocator a = demoAllocator();
  // 1003's home: personal, no site, no ELIN. The HQ ELIN's address would be the office.
  Location home = company("1003-home", "", {});
  home.kind = LocationKind::Personal;
  ElinChoice c = a.assign(home, k1003, kT0);
  EXPECT_TRUE(c.elin.empty());
  EXPECT_TRUE(c.fromFallback);
  EXPECT_NE(c.fallbackReason.find("own DID"), std::string::npos);
  // A site with no default configured.
  ElinChoice paris = a.assign(company("paris", "Paris", {}), k1001, kT0);
  EXPECT_TRUE(paris.elin.empty());
  EXPECT_TRUE(paris.fromFallback);
  EXPECT_NE(paris.fallbackReason.find("Paris"), std::string::npos);
  EXPECT_EQ(a.counters().fallbacks, 2u);
  EXPECT_EQ(a.callbacks().liveMappings(), 0u);
}

TEST(CallbackMap, CallbackInsideWindowReachesTheCaller) {
  ElinAllocator a = demoAllocator();
  ASSERT_EQ(a.assign(kRoom301, k1001, kT0).elin, "+12175550131");
  auto t = a.callbacks().lookup("+12175550131", kT0 + 2 * kHour);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->caller.extension, "1001");
  EXPECT_EQ(t->caller.did, "+12175551001");
  EXPECT_EQ(t->caller.contact, "sip:1001@10.1.2.45");
  EXPECT_EQ(t->caller.callId, "call-1001");
  EXPECT_EQ(t->elin, "+12175550131");
  EXPECT_EQ(t->assignedAtMs, kT0);
  EXPECT_EQ(t->expiresAtMs, kT0 + kWindow);
  EXPECT_TRUE(a.callbacks().lookup("+12175550131", kT0 + kWindow - 1).has_value());
}

TEST(CallbackMap, CallbackAfterWindowOrUnmappedGoesNowhere) {
  ElinAllocator a = demoAllocator();
  a.assign(kRoom301, k1001, kT0);
  EXPECT_FALSE(a.callbacks().lookup("+12175550131", kT0 + kWindow).has_value());
  EXPECT_FALSE(a.callbacks().lookup("+12175550131", kT0 + 5 * kHour).has_value());
  EXPECT_FALSE(a.callbacks().lookup("+12175550102", kT0).has_value());  // never assigned
}

TEST(CallbackMap, ConfigurableWindow) {
  ElinAllocator a({}, 30 * kMinute);
  a.assign(kRoom301, k1001, kT0);
  EXPECT_TRUE(a.callbacks().lookup("+12175550131", kT0 + 29 * kMinute).has_value());
  EXPECT_FALSE(a.callbacks().lookup("+12175550131", kT0 + 30 * kMinute).has_value());
  EXPECT_THROW(ElinAllocator({}, 0), std::invalid_argument);
  EXPECT_THROW(ElinAllocator({}, -1), std::invalid_argument);
}

TEST(CallbackMap, DialedNumberNormalization) {
  ElinAllocator a = demoAllocator();
  a.assign(kRoom301, k1001, kT0);
  a.assign(kLondon, k2001, kT0);
  const int64_t now = kT0 + kHour;
  struct Case {
    const char* dialed;
    const char* expectExtension;  // nullptr: no match
  };
  const Case cases[] = {
      {"+12175550131", "1001"},
      {"12175550131", "1001"},
      {"2175550131", "1001"},         // NANP national form
      {"+1 (217) 555-0131", "1001"},  // visual separators
      {"217.555.0131", "1001"},
      {" 1-217-555-0131 ", "1001"},
      {"tel:+1-217-555-0131", "1001"},
      {"sip:+12175550131@10.0.0.1;user=phone", "1001"},
      {"TEL:2175550131;phone-context=+1", "1001"},
      {"+2175550131", nullptr},  // '+' means complete E.164: country code 2...
      {"5550131", nullptr},
      {"112175550131", nullptr},
      {"+442071234567", "2001"},
      {"442071234567", "2001"},
      {"+44 20 7123 4567", "2001"},
      {"2071234567", nullptr},  // UK national without 0: not NANP-mapped to +44
      {"", nullptr},
      {"+", nullptr},
      {"security-desk", nullptr},
      {"+1217555013a", nullptr},
      {"++12175550131", nullptr},
      {"1234567890123456", nullptr},  // longer than E.164 allows
  };
  for (const Case& c : cases) {
    auto t = a.callbacks().lookup(c.dialed, now);
    if (c.expectExtension == nullptr) {
      EXPECT_FALSE(t.has_value()) << c.dialed;
    } else {
      ASSERT_TRUE(t.has_value()) << c.dialed;
      EXPECT_EQ(t->caller.extension, c.expectExtension) << c.dialed;
    }
  }
}

TEST(CallbackMap, AmbiguousNationalFormMatchesNothing) {
  // "4989223456" is both +49 89 223456 (Munich) and NANP (498) 922-3456.
  CallbackMap m;
  m.restore(
      {{k2001, "+4989223456", kT0, kT0 + kWindow}, {k1001, "+14989223456", kT0, kT0 + kWindow}});
  EXPECT_FALSE(m.lookup("4989223456", kT0).has_value());
  EXPECT_EQ(m.lookup("+4989223456", kT0)->caller.extension, "2001");
  EXPECT_EQ(m.lookup("14989223456", kT0)->caller.extension, "1001");
  // Once one mapping is gone the other form is unambiguous again.
  m.restore({{k2001, "+4989223456", kT0 + 1, kT0 + 2}});
  EXPECT_EQ(m.lookup("4989223456", kT0 + 10)->caller.extension, "1001");
}

TEST(CallbackMap, ExpireBoundsMemory) {
  ElinAllocator a = demoAllocator();
  // A day of calls every minute over three pools: one entry per ELIN at most.
  for (int i = 0; i < 24 * 60; ++i) {
    const CallerIdentity who{std::to_string(3000 + i), "", "", ""};
    a.assign(i % 3 == 0 ? kFloor2 : i % 3 == 1 ? kRoom301 : kLondon, who, kT0 + i * kMinute);
  }
  EXPECT_EQ(a.callbacks().liveMappings(), 4u);
  const int64_t last = kT0 + (24 * 60 - 1) * kMinute;
  // Part-way: the ELINs used in the last few minutes stay, older ones go.
  a.callbacks().expire(last + kWindow - 2 * kMinute);
  EXPECT_EQ(a.callbacks().liveMappings(), 2u);  // London (last) and Room 301 (one before)
  EXPECT_TRUE(a.callbacks().lookup("+442071234567", last + kWindow - 2 * kMinute).has_value());
  a.callbacks().expire(last + kWindow);
  EXPECT_EQ(a.callbacks().liveMappings(), 0u);
  EXPECT_TRUE(a.callbacks().snapshot().empty());
}

TEST(CallbackMap, SnapshotRestoreRoundTrip) {
  ElinAllocator a = demoAllocator();
  a.assign(kFloor2, k1001, kT0);
  a.assign(kFloor2, k1002, kT0 + kMinute);
  a.assign(kRoom301, k1003, kT0 + 2 * kMinute);
  a.assign(manchester(), k2001, kT0 + 3 * kMinute);
  std::vector<CallbackTarget> saved = a.callbacks().snapshot();
  ASSERT_EQ(saved.size(), 4u);
  EXPECT_EQ(saved[0].elin, "+12175550102");  // ordered by ELIN
  EXPECT_EQ(saved[3].elin, "+441619460001");

  ElinAllocator b = demoAllocator();
  b.callbacks().restore(saved);
  EXPECT_EQ(b.callbacks().liveMappings(), 4u);
  const int64_t now = kT0 + kHour;
  for (const char* elin : {"+12175550102", "+12175550112", "+12175550131", "+441619460001"}) {
    auto x = a.callbacks().lookup(elin, now);
    auto y = b.callbacks().lookup(elin, now);
    ASSERT_TRUE(x.has_value() && y.has_value()) << elin;
    EXPECT_EQ(y->caller.extension, x->caller.extension);
    EXPECT_EQ(y->caller.did, x->caller.did);
    EXPECT_EQ(y->caller.contact, x->caller.contact);
    EXPECT_EQ(y->caller.callId, x->caller.callId);
    EXPECT_EQ(y->assignedAtMs, x->assignedAtMs);
    EXPECT_EQ(y->expiresAtMs, x->expiresAtMs);
  }
  // The reloaded state keeps the pool's LRU order and "same caller" rule.
  EXPECT_EQ(b.assign(kFloor2, k1002, now).elin, "+12175550112");
  ElinChoice next = b.assign(kFloor2, k1003, now);
  EXPECT_EQ(next.elin, "+12175550102");
  EXPECT_TRUE(next.reusedLive);
}

TEST(CallbackMap, RestoreSkipsJunkAndKeepsNewest) {
  CallbackMap m;
  m.restore({
      {k1001, "", kT0, kT0 + kWindow},  // no ELIN
      {k1001, "not-a-number", kT0, kT0 + kWindow},
      {k1001, "+12175550131", kT0, kT0 - 1},  // expires before assigned
      {k1001, "+12175550102", kT0 + kMinute, kT0 + kWindow},
      {k1002, "+12175550102", kT0, kT0 + kWindow},  // older than the one above
  });
  EXPECT_EQ(m.liveMappings(), 1u);
  EXPECT_EQ(m.lookup("+12175550102", kT0 + 2 * kMinute)->caller.extension, "1001");
}

TEST(ElinAllocator, LocationsOutsideNorthAmericaUseTheirOwnElin) {
  ElinAllocator a = demoAllocator();
  // 2001 at home in Manchester: the Manchester ELIN, not London's and not a fallback.
  ElinChoice home = a.assign(manchester(), k2001, kT0);
  EXPECT_EQ(home.elin, "+441619460001");
  EXPECT_FALSE(home.fromFallback);
  EXPECT_FALSE(home.reusedLive);
  ElinChoice office = a.assign(kLondon, k1001, kT0);
  EXPECT_EQ(office.elin, "+442071234567");
  EXPECT_FALSE(office.fromFallback);

  auto t = a.callbacks().lookup("+441619460001", kT0 + kHour);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->caller.extension, "2001");
  EXPECT_EQ(t->caller.did, "+442079460001");
  EXPECT_EQ(a.counters().fallbacks, 0u);
}

}  // namespace
}  // namespace sos::routing
