// When scheduled test calls are due (issue 21): the rules of proxy/test_schedule.h with the time
// passed in, never slept.

#include "proxy/test_schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/test_call_records.h"

namespace sos::proxy {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;

config::TestCallTarget target(const std::string& site, const std::string& trunk,
                              int64_t intervalMs = kDay) {
  return {site, trunk, trunk == "il-psap-b" ? "933" : "urn:service:test.sos", intervalMs};
}

std::vector<std::string> names(const TestSchedule::Due& due) {
  std::vector<std::string> out;
  for (const auto& t : due.place) out.push_back(t.site + "/" + t.trunk);
  return out;
}

TEST(TestSchedule, ANewTestWaitsTheSettleTimeThenEveryInterval) {
  TestSchedule s(kStart);
  s.configure({target("HQ", "il-psap-a"), target("HQ", "il-psap-b", 2000)});
  EXPECT_EQ(s.dueAt("HQ", "il-psap-a"), kStart + TestSchedule::kSettleMs);
  EXPECT_EQ(s.dueAt("HQ", "il-psap-b"), kStart + 2000);  // the interval, when shorter
  EXPECT_TRUE(s.due(kStart + 1999, false).place.empty());
  EXPECT_EQ(names(s.due(kStart + 2000, false)), std::vector<std::string>{"HQ/il-psap-b"});
  // In flight: not placed again until its outcome.
  EXPECT_TRUE(s.due(kStart + 9000, false).place.empty());
  s.finished("HQ", "il-psap-b", kStart + 2000);
  EXPECT_EQ(s.dueAt("HQ", "il-psap-b"), kStart + 4000);
  EXPECT_EQ(names(s.due(kStart + 10000, false)),
            (std::vector<std::string>{"HQ/il-psap-a", "HQ/il-psap-b"}));
}

TEST(TestSchedule, ARestartGoesOnFromTheLastTestInTheStore) {
  TestSchedule s(kStart);
  s.restore("HQ", "il-psap-a", kStart - kDay / 2);  // half a day ago: due in half a day
  s.restore("HQ", "il-psap-b", kStart - 2 * kDay);  // overdue: due once settled
  s.configure({target("HQ", "il-psap-a"), target("HQ", "il-psap-b")});
  EXPECT_EQ(s.dueAt("HQ", "il-psap-a"), kStart + kDay / 2);
  EXPECT_EQ(s.dueAt("HQ", "il-psap-b"), kStart + TestSchedule::kSettleMs);
}

TEST(TestSchedule, WhileBusyNothingIsPlacedAndEachDueTestWaits) {
  TestSchedule s(kStart);
  s.configure({target("HQ", "il-psap-a"), target("London", "uk-999", 5000)});
  const int64_t now = kStart + TestSchedule::kSettleMs;
  TestSchedule::Due due = s.due(now, /*busy=*/true);
  EXPECT_TRUE(due.place.empty());
  EXPECT_EQ(due.postponed, 2u);
  EXPECT_EQ(s.dueAt("HQ", "il-psap-a"), now + TestSchedule::kPostponeMs);
  EXPECT_EQ(s.dueAt("London", "uk-999"), now + 5000);  // the interval, when shorter
  EXPECT_EQ(names(s.due(now + TestSchedule::kPostponeMs, false)),
            (std::vector<std::string>{"HQ/il-psap-a", "London/uk-999"}));
}

TEST(TestSchedule, ATrunkHasOneTestCallAtATime) {
  TestSchedule s(kStart);
  s.configure({target("HQ", "erc"), target("London", "erc"), target("London", "uk-999")});
  const int64_t now = kStart + TestSchedule::kSettleMs;
  EXPECT_EQ(names(s.due(now, false)), (std::vector<std::string>{"HQ/erc", "London/uk-999"}));
  EXPECT_TRUE(s.due(now + 1000, false).place.empty());  // London's waits for HQ's outcome
  s.finished("HQ", "erc", now);
  EXPECT_EQ(names(s.due(now + 1000, false)), std::vector<std::string>{"London/erc"});
}

TEST(TestSchedule, AReloadKeepsWhatItStillHasAndDropsTheRest) {
  TestSchedule s(kStart);
  s.configure({target("HQ", "il-psap-a"), target("HQ", "il-psap-b")});
  const int64_t now = kStart + TestSchedule::kSettleMs;
  ASSERT_EQ(s.due(now, false).place.size(), 2u);
  s.finished("HQ", "il-psap-a", now);
  // il-psap-b's test is in flight when the reload takes it away; il-psap-a's interval changes.
  s.configure({target("HQ", "il-psap-a", 3600000), target("HQ", "erc")});
  EXPECT_EQ(s.dueAt("HQ", "il-psap-a"), now + 3600000);
  EXPECT_EQ(s.dueAt("HQ", "il-psap-b"), 0);  // not scheduled any more
  EXPECT_EQ(s.dueAt("HQ", "erc"), now);      // new: the settle time after the start has passed
  s.finished("HQ", "il-psap-b", now + 500);  // its outcome still comes: nothing placed again
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(names(s.due(now + 1000, false)), std::vector<std::string>{"HQ/erc"});
}

// The alert rule (test_call_records.h): at the second failure in a row, once; a pass resets it.
TEST(TestCallAlert, AtTheSecondFailureInARowOnly) {
  store::TestCallResult failed;
  failed.site = "HQ";
  failed.trunk = "il-psap-b";
  failed.destination = "933";
  failed.callId = "abc@127.0.0.1";
  failed.location = "HQ Lobby";
  failed.outcome = "rejected";
  failed.status = 503;
  failed.reason = "503 Service Unavailable";
  store::TestCallStatus status;
  for (int inARow : {1, 3, 4}) {
    status.consecutiveFailures = inARow;
    EXPECT_FALSE(testCallAlert(failed, status)) << inARow;
  }
  status.consecutiveFailures = 2;
  auto alert = testCallAlert(failed, status);
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->kind, notify::EventKind::TestCallFailed);
  EXPECT_TRUE(alert->test);
  EXPECT_EQ(alert->site, "HQ");
  EXPECT_EQ(alert->trunk, "il-psap-b");
  EXPECT_EQ(alert->dialed, "933");
  EXPECT_EQ(alert->location, "HQ Lobby");
  EXPECT_EQ(alert->callId, "abc@127.0.0.1");
  EXPECT_EQ(alert->detail, "rejected: 503 Service Unavailable");
  store::TestCallResult passed = failed;
  passed.outcome = "answered";
  EXPECT_FALSE(testCallAlert(passed, status));
}

}  // namespace
}  // namespace sos::proxy
