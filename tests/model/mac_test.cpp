// MAC and BSSID parsing and the normal forms of model/mac.h: one parser for the seed file, the
// store, the location-report API and the snapshot's indexes.

#include "model/mac.h"

#include <gtest/gtest.h>

namespace sos::model {
namespace {

TEST(Mac, NormalizesEveryWrittenForm) {
  for (const char* s : {"00:11:22:33:44:55", "00-11-22-33-44-55", "0011.2233.4455", "001122334455",
                        " 00:11:22:33:44:55 ", "0:11:22:33:44:55"}) {
    EXPECT_EQ(normalizeMac(s), "001122334455") << s;
  }
  EXPECT_EQ(normalizeMac("AA:BB:CC:DD:EE:FF"), "aabbccddeeff");
  for (const char* s :
       {"", "00:11:22:33:44", "00:11:22:33:44:55:66", "00:11-22:33:44:55", "0011223344556",
        "00:11:22:33:44:5*", "zz:11:22:33:44:55", "001:1:22:33:44:55", "00::11:22:33:44"}) {
    EXPECT_FALSE(normalizeMac(s)) << s;
  }
  EXPECT_TRUE(isPlaceholderMac("ffffffffffff"));
  EXPECT_TRUE(isPlaceholderMac("000000000000"));
  EXPECT_FALSE(isPlaceholderMac("001122334455"));
  EXPECT_FALSE(isPlaceholderMac("021122334455"));  // locally administered: a real AP's BSSID
}

TEST(Mac, WildcardOnlyWhereAllowedAndOnlyAsTheLastDigit) {
  auto w = parseMac("00:11:22:33:44:5*", true);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->wildcard);
  EXPECT_EQ(w->value, 0x001122334450ULL);
  EXPECT_TRUE(parseMac("0011.2233.445*", true));
  EXPECT_FALSE(parseMac("00:11:22:33:44:5*"));
  EXPECT_FALSE(parseMac("00:11:22:33:4*:55", true));
  EXPECT_FALSE(parseMac("00:11:22:33:44:*", true));
  EXPECT_TRUE(macMatches(*w, 0x00112233445aULL));
  EXPECT_FALSE(macMatches(*w, 0x00112233446aULL));
}

// The store keeps every MAC and BSSID in one form, so one device is one key however written.
TEST(Mac, StoredInColonForm) {
  EXPECT_EQ(colonForm(*parseMac("00-04-F2-00-10-01")), "00:04:f2:00:10:01");
  EXPECT_EQ(colonForm(*parseMac("0011.2233.445*", true)), "00:11:22:33:44:5*");
  EXPECT_EQ(normalizeChassis("0004.f200.1001"), "00:04:f2:00:10:01");
  EXPECT_EQ(normalizeChassis("core-sw-1"), "core-sw-1");  // LLDP allows names: kept as written
}

}  // namespace
}  // namespace sos::model
