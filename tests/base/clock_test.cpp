// The shared clock of the nodes on one database (base/clock.h).

#include "base/clock.h"

#include <gtest/gtest.h>

namespace sos {
namespace {

TEST(Clock, AnotherClocksOffsetIsItsReadingLessTheMidpointOfOurs) {
  // Read between 1,000 and 1,010 on this host: 1,005 is when it was read, as near as we know.
  EXPECT_EQ(clockOffsetMs(1000, 61005, 1010), 60000);    // the other is a minute ahead
  EXPECT_EQ(clockOffsetMs(1000, -58995, 1010), -60000);  // ... or behind
  EXPECT_EQ(clockOffsetMs(1000, 1005, 1010), 0);
}

TEST(Clock, TheSharedClockIsThisHostsPlusTheOffset) {
  setSharedClockOffsetMs(-60000);
  const int64_t before = unixMsNow();
  const int64_t shared = sharedMsNow();
  const int64_t after = unixMsNow();
  setSharedClockOffsetMs(0);
  EXPECT_GE(shared, before - 60000);
  EXPECT_LE(shared, after - 60000);
  EXPECT_EQ(sharedClockOffsetMs(), 0);
}

}  // namespace
}  // namespace sos
