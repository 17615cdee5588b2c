// Sofia-SIP's own log through sosproxy's (issue 14): at most kLinesPerSecond lines a second
// are written, the rest counted.

#include "proxy/sofia_log.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "proxy/sofia.h"

namespace sos::proxy {
namespace {

TEST(SofiaLog, AFloodOfLinesIsCutToTenASecondAndCounted) {
  for (const char* v : {"SOFIA_DEBUG", "NTA_DEBUG", "TPORT_DEBUG", "TPORT_LOG"})
    if (std::getenv(v)) GTEST_SKIP() << v << " is set: Sofia's log is left as it is";
  sofia_log::redirect();
  const uint64_t before = sofia_log::suppressed();
  // Written in pieces, as Sofia does: each line ends at its newline.
  for (int i = 0; i < 25; ++i) {
    su_llog(su_log_default, 0, "nta_agent: tport: %s", "Connection reset");
    su_llog(su_log_default, 0, " by peer (%d)\n", i);
  }
  const uint64_t left = sofia_log::suppressed() - before;
  // All 25 in one second: 15 left out; across a second's turn, at most 5 more written.
  EXPECT_GE(left, 5u);
  EXPECT_LE(left, 15u);
  sofia_log::flush();
}

}  // namespace
}  // namespace sos::proxy
