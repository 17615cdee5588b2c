// Admission of ordinary calls (proxy/admission.h): each row a situation the README's "Limits and
// overload" describes, with the time passed in by hand.
#include "proxy/admission.h"

#include <gtest/gtest.h>

namespace sos::proxy {
namespace {

using std::chrono::milliseconds;
const Admission::TimePoint t0 = Admission::TimePoint{} + std::chrono::hours(1);

config::Limits limits(int perSecond, int burst = 0, int maxCalls = 0, int lagMs = 100) {
  config::Limits l;
  l.ordinaryCallsPerSecond = perSecond;
  l.ordinaryBurst = burst;
  l.maxOrdinaryCalls = maxCalls;
  l.overloadLagMs = lagMs;
  return l;
}

std::string answer(const char* why) { return why ? why : "admitted"; }

TEST(Admission, NoLimitsAdmitsEverything) {
  Admission a(limits(0));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.admit(t0, i), nullptr);
}

TEST(Admission, TheBucketHoldsABurstAndRefillsAtTheRate) {
  Admission a(limits(10, 3));
  EXPECT_EQ(answer(a.admit(t0, 0)), "admitted");
  EXPECT_EQ(answer(a.admit(t0, 0)), "admitted");
  EXPECT_EQ(answer(a.admit(t0, 0)), "admitted");
  EXPECT_EQ(answer(a.admit(t0, 0)), "ordinary-call limit reached");
  EXPECT_EQ(answer(a.admit(t0 + milliseconds(50), 0)), "ordinary-call limit reached");
  EXPECT_EQ(answer(a.admit(t0 + milliseconds(100), 0)), "admitted");  // 10/s: one per 100 ms
  EXPECT_EQ(answer(a.admit(t0 + milliseconds(150), 0)), "ordinary-call limit reached");
  // A long pause fills the bucket to its burst, no more.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(answer(a.admit(t0 + std::chrono::seconds(60), 0)), "admitted");
  EXPECT_EQ(answer(a.admit(t0 + std::chrono::seconds(60), 0)), "ordinary-call limit reached");
}

TEST(Admission, WithoutABurstTheBucketHoldsOneSecond) {
  Admission a(limits(5));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(answer(a.admit(t0, 0)), "admitted");
  EXPECT_EQ(answer(a.admit(t0, 0)), "ordinary-call limit reached");
}

TEST(Admission, CallsInProgressAreCapped) {
  Admission a(limits(0, 0, 2));
  EXPECT_EQ(answer(a.admit(t0, 1)), "admitted");
  EXPECT_EQ(answer(a.admit(t0, 2)), "ordinary-call limit reached (calls in progress)");
}

TEST(Admission, ALateEventLoopShedsForTwoSecondsPastTheLastSign) {
  Admission a(limits(0));
  auto c = a.observe(t0, 250, 10, 0);
  EXPECT_EQ(c.kind, Admission::Change::Kind::Began);
  EXPECT_EQ(c.why, "event loop 250 ms late");
  EXPECT_EQ(answer(a.admit(t0, 0)), "sosproxy overloaded");
  EXPECT_EQ(a.observe(t0 + milliseconds(100), 300, 10, 0).kind, Admission::Change::Kind::None);
  EXPECT_EQ(a.observe(t0 + milliseconds(1500), 0, 10, 0).kind, Admission::Change::Kind::None);
  EXPECT_EQ(answer(a.admit(t0 + milliseconds(1500), 0)), "sosproxy overloaded");
  EXPECT_EQ(a.observe(t0 + milliseconds(2100), 0, 10, 0).kind, Admission::Change::Kind::Ended);
  EXPECT_EQ(answer(a.admit(t0 + milliseconds(2100), 0)), "admitted");
}

TEST(Admission, RetransmissionsShedOnlyWhenTheyAreManyAndAShare) {
  struct Row {
    uint64_t requests, retransmissions;
    bool sheds;
  };
  for (auto r : {Row{100, 2, false}, Row{100, 3, false}, Row{100, 5, true}, Row{40, 3, true},
                 Row{1000, 40, false}, Row{1000, 50, true}}) {
    Admission a(limits(0));
    auto c = a.observe(t0, 0, r.requests, r.retransmissions);
    EXPECT_EQ(c.kind == Admission::Change::Kind::Began, r.sheds)
        << r.requests << " requests, " << r.retransmissions << " retransmissions";
    if (r.sheds) {
      EXPECT_EQ(c.why, std::to_string(r.retransmissions) + " of " + std::to_string(r.requests) +
                           " requests in 100 ms were retransmissions");
    }
  }
}

TEST(Admission, LagThresholdZeroNeverSheds) {
  Admission a(limits(0, 0, 0, 0));
  EXPECT_EQ(a.observe(t0, 5000, 100, 100).kind, Admission::Change::Kind::None);
  EXPECT_EQ(answer(a.admit(t0, 0)), "admitted");
}

TEST(Admission, ADrainRefusesEveryNewOrdinaryCall) {
  Admission a(limits(0));
  a.startDraining();
  EXPECT_EQ(answer(a.admit(t0, 0)), "sosproxy shutting down");
}

}  // namespace
}  // namespace sos::proxy
