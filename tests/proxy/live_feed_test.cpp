// The dashboard's live calls, the proxy's side (proxy/live_feed.h, live_dashboard.h): the SIP
// thread's bounded queue keeps order, never waits and counts what it drops when full; what the
// notifier and the SIP thread say becomes the dashboard's view.

#include "proxy/live_feed.h"

#include "proxy/live_dashboard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace sos::proxy {
namespace {

notify::CallEvent event(const std::string& callId, notify::EventKind kind) {
  notify::CallEvent e;
  e.kind = kind;
  e.callId = callId;
  e.site = "HQ";
  e.callerExtension = "1001";
  e.location = "HQ Floor 2";
  e.trunk = "il-psap-a";
  e.attempts = "il-psap-b:503";
  return e;
}

TEST(LiveFeed, KeepsOrderAndDropsAndCountsWhatDoesNotFit) {
  LiveFeed feed(3);
  EXPECT_TRUE(feed.offer(event("a", notify::EventKind::Started), false));
  EXPECT_TRUE(feed.offer(event("a", notify::EventKind::Answered), false));
  EXPECT_TRUE(feed.offer(event("b", notify::EventKind::Started), true));
  EXPECT_FALSE(feed.offer(event("c", notify::EventKind::Started), false));
  EXPECT_EQ(feed.dropped(), 1u);
  std::vector<std::string> taken;
  EXPECT_EQ(feed.drain([&](const notify::CallEvent& e, bool refused) {
    taken.push_back(e.callId + ":" + std::string(notify::toString(e.kind)) +
                    (refused ? ":refused" : ""));
  }),
            3u);
  EXPECT_EQ(taken, (std::vector<std::string>{"a:started", "a:answered", "b:started:refused"}));
  EXPECT_TRUE(feed.offer(event("d", notify::EventKind::Started), false));  // room again
}

// One thread offers while another drains, as the SIP and I/O threads do: what was taken is
// taken once and in order, and every offer refused (a full queue) is counted.
TEST(LiveFeed, OneProducerAndOneConsumerOnTwoThreads) {
  LiveFeed feed(64);
  constexpr int kEvents = 20000;
  uint64_t refused = 0;
  std::thread sip([&] {
    for (int i = 0; i < kEvents; ++i) {
      while (!feed.offer(event(std::to_string(i), notify::EventKind::Started), false)) {
        ++refused;  // the test's producer tries again; the SIP thread would go on without it
        std::this_thread::yield();
      }
    }
  });
  int next = 0;
  bool inOrder = true;
  while (next < kEvents) {
    feed.drain([&](const notify::CallEvent& e, bool) {
      inOrder = inOrder && e.callId == std::to_string(next);
      ++next;
    });
  }
  sip.join();
  EXPECT_TRUE(inOrder);
  EXPECT_EQ(next, kEvents);
  EXPECT_EQ(feed.dropped(), refused);
}

TEST(LiveFeed, EventsAndAlertChangesBecomeTheDashboardsView) {
  admin::LiveCalls calls;
  calls.event(liveEvent(event("a", notify::EventKind::Started), false));
  notify::AlertChange queued;
  queued.callId = "a";
  queued.job = 4;
  queued.event = "started";
  queued.channel = "email";
  queued.target = "security@hq.example";
  applyAlertChange(calls, queued);
  notify::AlertChange failed = queued;
  failed.what = notify::AlertChange::What::Failed;
  failed.attempts = 1;
  failed.error = "smtp: connection refused";
  applyAlertChange(calls, failed);
  notify::AlertChange ack;
  ack.what = notify::AlertChange::What::Acknowledged;
  ack.callId = "a";
  ack.by = "guard 1";
  ack.atMs = 5;
  applyAlertChange(calls, ack);
  const admin::Principal all{"ops", admin::Role::SuperAdmin, {}, ""};
  auto c = nlohmann::json::parse(calls.snapshot(all, 0).body)["calls"][0];
  EXPECT_EQ(c["attempts"], "il-psap-b:503");
  EXPECT_EQ(c["alerts"]["retrying"], 1);
  EXPECT_EQ(c["deliveries"][0]["last_error"], "smtp: connection refused");
  EXPECT_EQ(c["acknowledged_by"], "guard 1");

  calls.event(liveEvent(event("r", notify::EventKind::Started), true));
  auto refused = nlohmann::json::parse(calls.snapshot(all, 0).body)["calls"];
  bool seen = false;
  for (const auto& r : refused) seen = seen || (r["call_id"] == "r" && r["state"] == "refused");
  EXPECT_TRUE(seen) << refused.dump();
}

TEST(LiveFeed, TrunkStatusBecomesTheApisFacts) {
  TrunkStatus s;
  s.name = "il-psap-a";
  s.probed = true;
  s.up = false;
  s.changedAtMs = 10;
  s.why = "no answer to OPTIONS";
  s.lastProbeAtMs = 11;
  s.lastProbe = "no answer";
  s.lastFailoverAtMs = 12;
  s.lastFailover = "il-psap-a: timeout; trying il-psap-b (call x)";
  s.failovers = 3;
  auto facts = trunkFacts({s});
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].name, "il-psap-a");
  EXPECT_EQ(facts[0].why, "no answer to OPTIONS");
  EXPECT_EQ(facts[0].lastProbe, "no answer");
  EXPECT_EQ(facts[0].lastFailoverAtMs, 12);
  EXPECT_EQ(facts[0].failovers, 3u);
}

}  // namespace
}  // namespace sos::proxy
