// /healthz and /readyz (issue 21): what each answers, decided from the SIP thread's heartbeat,
// the trunks its probes found down, the location snapshot and the store.

#include "proxy/health.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace sos::proxy {
namespace {

using namespace std::chrono_literals;

SteadyTime at(std::chrono::milliseconds ms) { return SteadyTime(ms); }

config::Config twoSites() {
  config::Config c;
  config::Site hq;
  hq.name = "HQ";
  hq.psapRoute = {"il-psap-a", "il-psap-b"};
  config::Site london;
  london.name = "London";
  london.psapRoute = {"uk-999"};
  c.sites = {hq, london};
  c.emergencyRouting.erc = "erc";
  c.emergencyRouting.lastResort = "carrier";
  return c;
}

// Everything fine: listening, beating, locations loaded, store writable, no trunk down.
ReadinessFacts fine() {
  ReadinessFacts f;
  f.sip.listening = true;
  f.sip.lastBeat = at(10'000ms);
  f.live = liveness(f.sip, at(10'200ms));
  f.snapshotLoaded = true;
  f.locations = 12;
  return f;
}

std::vector<std::string> reasons(const Readiness& r) {
  std::vector<std::string> out;
  for (const auto& p : r.notReady) out.push_back(p.check + ": " + p.reason);
  return out;
}

TEST(Liveness, TheSipThreadMustHaveBeatenWithinTheLimit) {
  SipHealth health;
  const auto never = liveness(health.view(), at(1000ms));
  EXPECT_FALSE(never.live);
  EXPECT_EQ(never.detail, "the SIP thread has not turned its event loop yet");

  health.beat(at(10'000ms));
  EXPECT_TRUE(liveness(health.view(), at(10'400ms)).live);
  EXPECT_TRUE(liveness(health.view(), at(15'000ms)).live) << "exactly at the limit";
  const auto wedged = liveness(health.view(), at(16'200ms));
  EXPECT_FALSE(wedged.live);
  EXPECT_EQ(wedged.detail, "the SIP thread last turned its event loop 6.2 s ago (limit 5.0 s)");

  health.beat(at(16'300ms));  // it turns again: live again
  EXPECT_TRUE(liveness(health.view(), at(16'400ms)).live);
}

TEST(Liveness, HealthzAnswers200OkOr503WithTheReason) {
  const auto ok = healthzAnswer({true, "the SIP thread turned its event loop 0.1 s ago"});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  const auto down = healthzAnswer({false, "the SIP thread last turned its event loop 9.0 s ago"});
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body, "not live: the SIP thread last turned its event loop 9.0 s ago\n");
  EXPECT_EQ(down.contentType, "text/plain");
}

TEST(Readiness, ReadyWhenEverythingIsInPlace) {
  const auto r = readiness(fine(), twoSites());
  EXPECT_TRUE(r.ready()) << ::testing::PrintToString(reasons(r));
  const auto a = readyzAnswer(r);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"ready\":true,\"not_ready\":[]}\n");
}

// Each fact that is not in place is named, on its own, with its check.
TEST(Readiness, EachProblemIsNamed) {
  struct Case {
    const char* name;
    void (*spoil)(ReadinessFacts&);
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"not listening", [](ReadinessFacts& f) { f.sip.listening = false; },
       "sip: the SIP sockets are not listening"},
      {"stopping", [](ReadinessFacts& f) { f.sip.stopping = true; },
       "stopping: sosproxy is stopping (draining calls)"},
      {"SIP thread wedged", [](ReadinessFacts& f) { f.live = liveness(f.sip, at(20'000ms)); },
       "sip: the SIP thread last turned its event loop 10.0 s ago (limit 5.0 s)"},
      {"no snapshot", [](ReadinessFacts& f) { f.snapshotLoaded = false; },
       "locations: no location snapshot is loaded"},
      {"empty snapshot", [](ReadinessFacts& f) { f.locations = 0; },
       "locations: the location snapshot holds no locations: emergency calls would go out with "
       "the location unknown"},
      {"store", [](ReadinessFacts& f) { f.storeProblem = "db: the database is read-only"; },
       "store: db: the database is read-only"},
      {"alerts",
       [](ReadinessFacts& f) {
         f.alertsProblem =
             "the outbox's database could not be opened at start: db: file is "
             "not a database";
       },
       "alerts: the outbox's database could not be opened at start: db: file is not a database"},
  };
  for (const auto& c : cases) {
    auto facts = fine();
    c.spoil(facts);
    const auto r = readiness(facts, twoSites());
    EXPECT_EQ(reasons(r), std::vector<std::string>{c.expected}) << c.name;
  }
}

// A site is served while one trunk of its route (psap_route, then the ERC) is not down; the last
// resort (a carrier) does not count; unprobed trunks are never down.
TEST(Readiness, ASiteWithEveryTrunkOfItsRouteDownIsNamed) {
  struct Case {
    std::vector<std::string> down;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {{"il-psap-a"}, {}},
      {{"il-psap-a", "il-psap-b"}, {}},  // the ERC still serves HQ
      {{"il-psap-a", "il-psap-b", "erc"},
       {"routes: site HQ: every trunk of its route is down: il-psap-a, il-psap-b, erc"}},
      {{"erc", "uk-999"}, {"routes: site London: every trunk of its route is down: uk-999, erc"}},
      {{"carrier", "erc", "il-psap-a", "il-psap-b", "uk-999"},
       {"routes: site HQ: every trunk of its route is down: il-psap-a, il-psap-b, erc",
        "routes: site London: every trunk of its route is down: uk-999, erc"}},
  };
  for (const auto& c : cases) {
    auto facts = fine();
    facts.sip.downTrunks = c.down;
    EXPECT_EQ(reasons(readiness(facts, twoSites())), c.expected)
        << ::testing::PrintToString(c.down);
  }
}

TEST(Readiness, ReadyzAnswers503WithEveryProblemAsJson) {
  auto facts = fine();
  facts.storeProblem = "db: database is locked";
  facts.sip.downTrunks = {"il-psap-a", "il-psap-b", "erc"};
  const auto a = readyzAnswer(readiness(facts, twoSites()));
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.contentType, "application/json");
  const auto body = nlohmann::json::parse(a.body);
  EXPECT_EQ(body["ready"], false);
  ASSERT_EQ(body["not_ready"].size(), 2u) << a.body;
  EXPECT_EQ(body["not_ready"][0]["check"], "store");
  EXPECT_EQ(body["not_ready"][0]["reason"], "db: database is locked");
  EXPECT_EQ(body["not_ready"][1]["check"], "routes");
}

TEST(SipHealthState, TheViewHoldsWhatWasSet) {
  SipHealth health;
  EXPECT_FALSE(health.view().listening);
  EXPECT_FALSE(health.view().lastBeat.has_value());
  health.setListening(true);
  health.setDownTrunks({"erc"});
  health.beat(at(1234ms));
  health.setStopping();
  const auto v = health.view();
  EXPECT_TRUE(v.listening);
  EXPECT_TRUE(v.stopping);
  EXPECT_EQ(v.lastBeat, at(1234ms));
  EXPECT_EQ(v.downTrunks, std::vector<std::string>{"erc"});
}

// Issue 18: what the SIP thread knows of each trunk, with a version that changes each time it
// hands it over (the dashboard's pump sends the trunks again then).
TEST(SipHealthState, TrunksAreHandedOverWithAVersion) {
  SipHealth health;
  EXPECT_TRUE(health.trunks().empty());
  const uint64_t before = health.trunksVersion();
  TrunkStatus t;
  t.name = "il-psap-a";
  t.probed = true;
  t.up = false;
  t.lastProbe = "no answer";
  health.setTrunks({t});
  EXPECT_NE(health.trunksVersion(), before);
  ASSERT_EQ(health.trunks().size(), 1u);
  EXPECT_EQ(health.trunks()[0], t);
}

}  // namespace
}  // namespace sos::proxy
