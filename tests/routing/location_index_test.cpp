// The snapshot's ELIN index (LocationSnapshot::findElin): which location's pool holds a dialed
// number, found with one lookup where each INVITE used to scan every ELIN of every location.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "model/e164.h"
#include "routing/location_resolver.h"

namespace sos::routing {
namespace {

using model::Location;
using model::LocationData;
using model::LocationKind;

Location place(std::string key, std::string site, LocationKind kind,
               std::vector<std::string> elins) {
  Location l;
  l.key = key;
  l.name = key;
  l.site = std::move(site);
  l.kind = kind;
  l.elins = std::move(elins);
  return l;
}

LocationData elinData() {
  LocationData d;
  d.locations.push_back(place("hq-lobby", "HQ", LocationKind::SiteDefault, {"+12175550100"}));
  d.locations.push_back(
      place("hq-floor-2", "HQ", LocationKind::Company, {"+12175550102", "+12175550112"}));
  d.locations.push_back(place("london-office", "London", LocationKind::Company, {"+442071234567"}));
  d.locations.push_back(place("no-pool", "HQ", LocationKind::Company, {}));
  d.accountDefaultKey = "hq-lobby";
  model::PersonalLocationRow home;
  home.extension = "2001";
  home.location = place("home-2001", "", LocationKind::Personal, {"+441619460001"});
  d.personal.push_back(home);
  return d;
}

const Location* find(const LocationSnapshot& s, std::string_view dialed) {
  return s.findElin(model::normalizeDialedNumber(dialed));
}

TEST(ElinIndex, FindsTheLocationWhosePoolHoldsTheNumber) {
  auto s = LocationSnapshot::build(elinData());
  EXPECT_TRUE(s->warnings().empty()) << s->warnings().front();

  const Location* floor2 = find(*s, "+12175550112");  // the second ELIN of the pool
  ASSERT_NE(floor2, nullptr);
  EXPECT_EQ(floor2->key, "hq-floor-2");
  EXPECT_EQ(floor2->site, "HQ");

  const Location* lobby = find(*s, "+12175550100");  // a site default's ELIN
  ASSERT_NE(lobby, nullptr);
  EXPECT_EQ(lobby->kind, LocationKind::SiteDefault);

  const Location* london = find(*s, "+442071234567");
  ASSERT_NE(london, nullptr);
  EXPECT_EQ(london->site, "London");
}

TEST(ElinIndex, PersonalLocationsAreIndexedToo) {
  auto s = LocationSnapshot::build(elinData());
  const Location* home = find(*s, "+441619460001");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->key, "home-2001");
  EXPECT_EQ(home->kind, LocationKind::Personal);
  EXPECT_EQ(home->site, "");  // a home belongs to no site; the proxy's desk rule handles it
}

// Every written form of the number meets the index in the normal form: the comparison the
// PSAP-callback rule made before, ELIN by ELIN.
TEST(ElinIndex, MatchesTheNormalFormOfTheDialedNumber) {
  auto s = LocationSnapshot::build(elinData());
  for (const char* dialed :
       {"+1 (217) 555-0102", "tel:+1-217-555-0102", "sip:+12175550102@10.0.0.1;user=phone"}) {
    const Location* l = find(*s, dialed);
    ASSERT_NE(l, nullptr) << dialed;
    EXPECT_EQ(l->key, "hq-floor-2") << dialed;
  }
  // No guessing at country codes here: the national form is a different number.
  EXPECT_EQ(find(*s, "2175550102"), nullptr);
}

TEST(ElinIndex, OtherNumbersFindNothing) {
  auto s = LocationSnapshot::build(elinData());
  for (const char* dialed : {"5551234", "+12175550199", "911", "security-desk", ""}) {
    EXPECT_EQ(find(*s, dialed), nullptr) << dialed;
  }
  EXPECT_EQ(s->findElin(""), nullptr);
}

TEST(ElinIndex, AnEmptySnapshotFindsNothing) {
  auto s = LocationSnapshot::build(LocationData{});
  EXPECT_EQ(find(*s, "+12175550100"), nullptr);
}

// Bad data is reported and never stops the rest from being indexed.
TEST(ElinIndex, DuplicatesAndJunkAreWarnedAbout) {
  LocationData d = elinData();
  d.locations.push_back(place("hq-room-301", "HQ", LocationKind::Company,
                              {"+1 217 555 0102", "ext. 12", "+12175550131"}));
  auto s = LocationSnapshot::build(std::move(d));
  const auto& w = s->warnings();
  auto warned = [&](std::string_view text) {
    return std::any_of(w.begin(), w.end(),
                       [&](const std::string& x) { return x.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(warned("ELIN '+1 217 555 0102' is in the pools of 'hq-floor-2' and 'hq-room-301'"));
  EXPECT_TRUE(warned("ELIN 'ext. 12' is not a telephone number"));
  // The first pool keeps the number; the rest of the bad location's pool is still indexed.
  ASSERT_NE(find(*s, "+12175550102"), nullptr);
  EXPECT_EQ(find(*s, "+12175550102")->key, "hq-floor-2");
  ASSERT_NE(find(*s, "+12175550131"), nullptr);
  EXPECT_EQ(find(*s, "+12175550131")->key, "hq-room-301");
}

}  // namespace
}  // namespace sos::routing
