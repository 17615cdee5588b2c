// The dashboard's live emergency calls (admin/live_calls.h): a call's moments, alerts,
// acknowledgement and record make one row; each stream sees its sites' calls only, in a
// snapshot and then as they change; a stream that does not keep up misses messages, counted,
// and gets a snapshot instead; a stream whose sign-in ended is told and closed.

#include "admin/live_calls.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"

namespace sos::admin {
namespace {

using nlohmann::json;

// A stream that keeps what it is sent; `full` makes it refuse, as a stalled client's would.
struct FakeStream : EventStream {
  bool send(std::string text) override {
    if (isEnded || full) return false;
    sent.push_back(std::move(text));
    return true;
  }
  void end() override { isEnded = true; }
  bool ended() const override { return isEnded; }

  // The messages of `event`, their data parsed.
  std::vector<json> of(const std::string& event) const {
    std::vector<json> out;
    for (const auto& m : sent) {
      if (m.rfind("event: " + event + "\n", 0) != 0) continue;
      out.push_back(json::parse(m.substr(m.find("data: ") + 6)));
    }
    return out;
  }
  std::vector<std::string> sent;
  bool full = false;
  bool isEnded = false;
};

LiveCallEvent started(const std::string& callId, const std::string& site, int64_t at) {
  LiveCallEvent e;
  e.kind = "started";
  e.callId = callId;
  e.atMs = at;
  e.site = site;
  e.dialed = site == "HQ" ? "911" : "999";
  e.callerExtension = site == "HQ" ? "1001" : "2001";
  e.callerName = site == "HQ" ? "Alice Smith" : "David Jones";
  e.location = site == "HQ" ? "HQ Floor 2" : "London office";
  e.address = "100 Main St, FLR 2, Springfield, IL 62701, US";
  e.locationBy = "subnet 10.1.2.0/24";
  e.trunk = site == "HQ" ? "il-psap-a" : "uk-999";
  return e;
}

const Principal kSuper{"ops", Role::SuperAdmin, {}, ""};
const Principal kLondon{"london-desk", Role::SiteAdmin, {"London"}, ""};
const Principal kHqResponder{"hq-desk", Role::Responder, {"HQ"}, ""};

struct Live : ::testing::Test {
  // Opens a stream for `who` as the HTTP server would.
  std::shared_ptr<FakeStream> follow(const Principal& who, bool* signedIn = nullptr) {
    auto out = live.openStream(who, [signedIn] { return signedIn == nullptr || *signedIn; });
    EXPECT_EQ(out.status, 200) << out.body;
    EXPECT_EQ(out.contentType, "text/event-stream");
    auto s = std::make_shared<FakeStream>();
    out.stream(s);
    return s;
  }
  json snapshotOf(const Principal& who) {
    auto out = live.snapshot(who, 1000);
    EXPECT_EQ(out.status, 200) << out.body;
    return json::parse(out.body);
  }
  LiveCalls live;
};

TEST_F(Live, ACallsMomentsAlertsAndAcknowledgementMakeOneRow) {
  live.event(started("c1", "HQ", 1000));
  live.delivery("c1", LiveDelivery{7, "started", 1, "email", "security@hq.example", "pending"});
  live.delivery("c1", LiveDelivery{8, "started", 1, "webhook", "http://x/alerts", "pending"});
  live.delivery("c1",
                LiveDelivery{7, "started", 1, "email", "security@hq.example", "delivered", 1});
  live.delivery("c1", LiveDelivery{8, "started", 1, "webhook", "http://x/alerts", "retrying", 1,
                                   "connection refused"});
  LiveCallEvent answered;
  answered.kind = "answered";
  answered.callId = "c1";
  answered.atMs = 1500;
  live.event(answered);
  live.acknowledged("c1", "guard 1", 1600);
  live.acknowledged("c1", "guard 2", 1700);  // the first is kept

  auto calls = snapshotOf(kSuper)["calls"];
  ASSERT_EQ(calls.size(), 1u);
  json c = calls[0];
  EXPECT_EQ(c["caller"]["extension"], "1001");
  EXPECT_EQ(c["location"]["name"], "HQ Floor 2");
  EXPECT_EQ(c["trunk"], "il-psap-a");
  EXPECT_EQ(c["state"], "answered");
  EXPECT_EQ(c["in_progress"], true);
  EXPECT_EQ(c["answered_at_ms"], 1500);
  EXPECT_EQ(c["alerts"]["delivered"], 1);
  EXPECT_EQ(c["alerts"]["retrying"], 1);
  EXPECT_EQ(c["acknowledged_by"], "guard 1");
  EXPECT_EQ(c["acknowledged_at_ms"], 1600);

  LiveCallEvent ended = answered;
  ended.kind = "ended";
  ended.atMs = 9000;
  ended.detail = "answered";
  live.event(ended);
  // A late record (it came another way) does not bring an ended call back.
  store::CallRecord r;
  r.callId = "c1";
  r.emergency = true;
  r.outcome = "answered";
  r.status = 200;
  r.attempts = "il-psap-a:200";
  r.endedAtMs = 1500;
  live.record(r);
  c = snapshotOf(kSuper)["calls"][0];
  EXPECT_EQ(c["state"], "ended");
  EXPECT_EQ(c["in_progress"], false);
  EXPECT_EQ(c["attempts"], "il-psap-a:200");
  EXPECT_EQ(c["ended_at_ms"], 9000);
}

// A call's alerts can go out before its first event reaches the dashboard (events come every
// 100 ms, the outbox does not wait): what was reported of it is kept and shown when it appears,
// so its row says its responders were alerted and offers Acknowledge at once. What is kept for
// calls that never appear is bounded: the oldest goes first.
TEST_F(Live, AlertsReportedBeforeTheCallAppearsAreShownWithIt) {
  live.delivery("c1",
                LiveDelivery{7, "started", 1, "email", "security@hq.example", "delivered", 1});
  live.delivery("c1", LiveDelivery{8, "started", 1, "sip", "sip:desk@hq.example", "pending"});
  live.acknowledged("c1", "guard 1", 1100);
  live.acknowledged("c1", "guard 2", 1200);  // the first is kept
  EXPECT_EQ(live.calls(), 0u);
  EXPECT_TRUE(snapshotOf(kSuper)["calls"].empty());

  live.event(started("c1", "HQ", 1000));
  auto calls = snapshotOf(kSuper)["calls"];
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["alerted"], true);
  EXPECT_EQ(calls[0]["alerts"]["delivered"], 1);
  EXPECT_EQ(calls[0]["alerts"]["pending"], 1);
  EXPECT_EQ(calls[0]["acknowledged_by"], "guard 1");
  EXPECT_EQ(calls[0]["acknowledged_at_ms"], 1100);

  for (int i = 0; i < 300; ++i) {
    live.delivery("ghost-" + std::to_string(i),
                  LiveDelivery{100 + i, "started", 1, "email", "security@hq.example", "pending"});
  }
  live.event(started("ghost-0", "HQ", 2000));  // reported 300 calls ago: let go
  live.event(started("ghost-299", "HQ", 2001));
  std::map<std::string, bool> alerted;
  const json after = snapshotOf(kSuper);
  for (const json& c : after["calls"]) alerted[c["call_id"]] = c["alerted"];
  EXPECT_EQ(alerted,
            (std::map<std::string, bool>{{"c1", true}, {"ghost-0", false}, {"ghost-299", true}}));
}

TEST_F(Live, AnEmergencyCallThatReachedNoTrunkComesFromItsRecord) {
  store::CallRecord r;
  r.callId = "c9";
  r.emergency = true;
  r.site = "HQ";
  r.caller = "1001";
  r.dialed = "911";
  r.outcome = "failed";
  r.status = 503;
  r.startedAtMs = 100;
  r.endedAtMs = 120;
  live.record(r);
  store::CallRecord ordinary = r;
  ordinary.callId = "c10";
  ordinary.emergency = false;
  live.record(ordinary);
  auto calls = snapshotOf(kSuper)["calls"];
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["call_id"], "c9");
  EXPECT_EQ(calls[0]["state"], "ended");
  EXPECT_EQ(calls[0]["outcome"], "failed");
}

TEST_F(Live, EachStreamSeesItsSitesCallsOnlyInTheSnapshotAndAsTheyChange) {
  live.event(started("hq-1", "HQ", 1000));
  live.flush(1100);  // nobody follows yet
  auto london = follow(kLondon);
  auto hq = follow(kHqResponder);
  auto all = follow(kSuper);
  ASSERT_EQ(london->of("snapshot").size(), 1u);
  EXPECT_TRUE(london->of("snapshot")[0]["calls"].empty());
  EXPECT_EQ(hq->of("snapshot")[0]["calls"].size(), 1u);

  live.event(started("hq-2", "HQ", 2000));
  live.event(started("uk-1", "London", 2100));
  live.flush(2200);
  ASSERT_EQ(london->of("calls").size(), 1u);
  auto seen = london->of("calls")[0]["calls"];
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["call_id"], "uk-1");
  ASSERT_EQ(hq->of("calls").size(), 1u);
  EXPECT_EQ(hq->of("calls")[0]["calls"].size(), 1u);
  EXPECT_EQ(hq->of("calls")[0]["calls"][0]["call_id"], "hq-2");
  EXPECT_EQ(all->of("calls")[0]["calls"].size(), 2u);
  for (const auto& m : london->sent) EXPECT_EQ(m.find("hq-"), std::string::npos) << m;
  EXPECT_EQ(snapshotOf(kLondon)["calls"].size(), 1u);

  // Nothing changed: nothing sent.
  const size_t before = hq->sent.size();
  live.flush(2300);
  EXPECT_EQ(hq->sent.size(), before);
  EXPECT_EQ(live.counters().streams.load(), 3u);
}

TEST_F(Live, OnlyAdminsAndRespondersFollowTheCalls) {
  const Principal device{"phone", Role::Device, {}, "1001"};
  EXPECT_EQ(live.openStream(device, nullptr).status, 403);
  EXPECT_EQ(live.snapshot(device, 0).status, 403);
}

TEST_F(Live, ASlowStreamMissesMessagesCountedThenGetsASnapshot) {
  auto slow = follow(kSuper);
  slow->full = true;
  live.event(started("c1", "HQ", 1000));
  live.flush(1100);
  live.event(started("c2", "HQ", 1200));
  live.flush(1300);
  EXPECT_EQ(live.counters().slowClientDrops.load(), 2u);
  slow->full = false;
  live.flush(1400);
  auto snapshots = slow->of("snapshot");
  ASSERT_EQ(snapshots.size(), 2u);  // at the start, and now instead of what it missed
  EXPECT_EQ(snapshots[1]["calls"].size(), 2u);
  EXPECT_EQ(snapshots[1]["slow_client_drops"], 2);
}

TEST_F(Live, EventsLostOnTheWayAreSaidInAFreshSnapshot) {
  auto s = follow(kSuper);
  live.counters().eventsLost = 3;
  live.eventsLost();
  live.flush(1000);
  auto snapshots = s->of("snapshot");
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[1]["events_lost"], 3);
}

TEST_F(Live, AStreamWhoseSignInEndedIsToldAndClosedAtTheNextCheck) {
  bool signedIn = true;
  auto s = follow(kSuper, &signedIn);
  live.flush(unixMsNow());
  EXPECT_FALSE(s->ended());
  signedIn = false;
  live.flush(unixMsNow() + 20000);  // past the keepalive
  EXPECT_TRUE(s->ended());
  EXPECT_EQ(s->of("signed-out").size(), 1u);
  live.flush(unixMsNow() + 20100);
  EXPECT_EQ(live.counters().streams.load(), 0u);
}

TEST_F(Live, AQuietStreamGetsAKeepalive) {
  auto s = follow(kSuper);
  const size_t before = s->sent.size();
  live.flush(unixMsNow() + 16000);
  ASSERT_EQ(s->sent.size(), before + 1);
  EXPECT_EQ(s->sent.back(), ": keepalive\n\n");
}

TEST_F(Live, OnlyTheMostRecentEndedCallsAreKept) {
  LiveCalls small(LiveCalls::Settings{3, 5000, 64, 15000});
  for (int i = 0; i < 5; ++i) {
    LiveCallEvent e = started("c" + std::to_string(i), "HQ", 1000 + i);
    small.event(e);
    e.kind = "ended";
    small.event(e);
  }
  small.event(started("in-progress", "HQ", 2000));
  EXPECT_EQ(small.calls(), 4u);
  auto calls = json::parse(small.snapshot(kSuper, 0).body)["calls"];
  EXPECT_EQ(calls[0]["call_id"], "in-progress");
  EXPECT_EQ(calls[3]["call_id"], "c2");
}

TEST_F(Live, TrunksGoToEveryStreamWhenTheyChange) {
  live.setTrunks([] { return json::array({{{"name", "il-psap-a"}, {"state", "down"}}}); });
  auto london = follow(kLondon);
  EXPECT_EQ(london->of("snapshot")[0]["trunks"][0]["state"], "down");
  live.trunksChanged();
  live.flush(1000);
  ASSERT_EQ(london->of("trunks").size(), 1u);
  EXPECT_EQ(london->of("trunks")[0]["trunks"][0]["name"], "il-psap-a");
}

}  // namespace
}  // namespace sos::admin
