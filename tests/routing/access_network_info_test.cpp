// P-Access-Network-Info parsing (RFC 7315 section 5.4). The header comes from phones and PBXs,
// so the malformed cases matter as much as the well-formed ones.

#include "routing/access_network_info.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sos::routing {
namespace {

TEST(AccessNetworkInfo, WifiNodeIdUnquoted) {
  // The form REFERENCE.md quotes from 3GPP TS 24.229.
  auto v = parseAccessNetworkInfo("IEEE-802.11; i-wlan-node-id=34a84edc9615");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].accessType, "IEEE-802.11");
  EXPECT_EQ(v[0].wlanNodeId, "34a84edc9615");
  EXPECT_FALSE(v[0].networkProvided);
}

TEST(AccessNetworkInfo, WifiNodeIdQuotedWithColons) {
  auto v = parseAccessNetworkInfo(R"(IEEE-802.11;i-wlan-node-id="00:11:22:33:44:55")");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].wlanNodeId, "00:11:22:33:44:55");
}

TEST(AccessNetworkInfo, UnquotedColonsAreTakenLeniently) {
  // ':' is not a token character, but phones write it unquoted; the BSSID is still wanted.
  auto v = parseAccessNetworkInfo("IEEE-802.11; i-wlan-node-id=00:11:22:33:44:55");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].wlanNodeId, "00:11:22:33:44:55");
}

TEST(AccessNetworkInfo, NetworkProvidedFlag) {
  auto v = parseAccessNetworkInfo("IEEE-802.11; i-wlan-node-id=001122334455; network-provided");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].networkProvided);
  EXPECT_EQ(v[0].wlanNodeId, "001122334455");
}

TEST(AccessNetworkInfo, ParameterNamesAreCaseInsensitive) {
  auto v = parseAccessNetworkInfo("ieee-802.11; I-WLAN-Node-ID=001122334455; Network-Provided");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].accessType, "ieee-802.11");  // kept as written
  EXPECT_EQ(v[0].wlanNodeId, "001122334455");
  EXPECT_TRUE(v[0].networkProvided);
}

TEST(AccessNetworkInfo, ExtraWhitespaceEverywhere) {
  auto v = parseAccessNetworkInfo(
      "  \tIEEE-802.11  ;   i-wlan-node-id  =  \"001122334455\"  ;\r\n network-provided  ");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].accessType, "IEEE-802.11");
  EXPECT_EQ(v[0].wlanNodeId, "001122334455");
  EXPECT_TRUE(v[0].networkProvided);
}

TEST(AccessNetworkInfo, SeveralValues) {
  // Two headers joined by the edge, as RFC 3261 section 7.3.1 allows.
  auto v = parseAccessNetworkInfo(
      "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=2344501F0A8C1B02, "
      "IEEE-802.11; i-wlan-node-id=001122334455; network-provided, IEEE-802.3");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].accessType, "3GPP-E-UTRAN-FDD");
  EXPECT_EQ(v[0].wlanNodeId, "");
  EXPECT_FALSE(v[0].networkProvided);
  EXPECT_EQ(v[1].accessType, "IEEE-802.11");
  EXPECT_EQ(v[1].wlanNodeId, "001122334455");
  EXPECT_TRUE(v[1].networkProvided);
  EXPECT_EQ(v[2].accessType, "IEEE-802.3");
}

TEST(AccessNetworkInfo, QuotedStringsMayHoldCommasSemicolonsAndEscapes) {
  auto v = parseAccessNetworkInfo(
      R"(ADSL; dsl-location="Main St, Suite 2; \"rear\"", IEEE-802.11; i-wlan-node-id="0011\"22")");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].accessType, "ADSL");
  EXPECT_EQ(v[1].accessType, "IEEE-802.11");
  EXPECT_EQ(v[1].wlanNodeId, "0011\"22");  // unescaped; normalizeMac will refuse it later
}

TEST(AccessNetworkInfo, FirstNodeIdOfAnEntryCounts) {
  auto v = parseAccessNetworkInfo("IEEE-802.11; i-wlan-node-id=aaaaaaaaaaaa; i-wlan-node-id=bbb");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].wlanNodeId, "aaaaaaaaaaaa");
}

TEST(AccessNetworkInfo, MalformedPartsAreSkipped) {
  // An access type that is not a token drops the entry; a bad parameter drops the parameter.
  auto v = parseAccessNetworkInfo(
      "IEEE 802.11; i-wlan-node-id=111111111111, , ;network-provided, "
      "IEEE-802.11; =x; bad name=1; i-wlan-node-id=\"unterminated");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].accessType, "IEEE-802.11");
  EXPECT_EQ(v[0].wlanNodeId, "");
}

TEST(AccessNetworkInfo, QuoteLeftOpenSwallowsTheRest) {
  // A stray quote must not let the text after it pose as a separate, network-provided entry.
  auto v = parseAccessNetworkInfo(
      "IEEE-802.11; i-wlan-node-id=\"0011, IEEE-802.11; i-wlan-node-id=aa; network-provided");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].wlanNodeId, "");
  EXPECT_FALSE(v[0].networkProvided);
}

TEST(AccessNetworkInfo, Garbage) {
  for (std::string_view s : {"", ",", ",,,,", ";;;", "\"", "\"\"", "=", ";i-wlan-node-id=1", "\\",
                             "\xff\xfe\x00\x01", "IEEE-802.11\"x\"; y"}) {
    auto v = parseAccessNetworkInfo(s);
    for (const auto& e : v) EXPECT_FALSE(e.accessType.empty()) << s;
  }
  EXPECT_TRUE(parseAccessNetworkInfo(std::string_view("\0\0\0", 3)).empty());
}

TEST(AccessNetworkInfo, AtMostSixteenEntries) {
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "IEEE-802.11; i-wlan-node-id=00112233445" + std::to_string(i % 10) + ",";
  EXPECT_EQ(parseAccessNetworkInfo(many).size(), 16u);
}

TEST(AccessNetworkInfo, InputCutAtFourKibibytesDropsTheCutEntry) {
  std::string value = "IEEE-802.3, IEEE-802.11; x=\"" + std::string(4070, 'a') + "\"";
  value += "; i-wlan-node-id=001122334455";  // beyond 4096 bytes
  auto v = parseAccessNetworkInfo(value);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].accessType, "IEEE-802.3");
  // A megabyte of input costs no more than 4 KiB of it.
  EXPECT_LE(parseAccessNetworkInfo(std::string(1 << 20, ',')).size(), 16u);
}

TEST(AccessNetworkInfo, RandomInputNeverCrashes) {
  // A deterministic smoke fuzz over the characters the grammar cares about.
  std::mt19937 rng(7);
  const std::string alphabet = "IEEE-802.11;i-wlan-node-id=\"\\, \t0123456789abcdef:np\x01\xff";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 200);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (size_t n = length(rng); n > 0; --n) s += alphabet[pick(rng)];
    auto v = parseAccessNetworkInfo(s);
    EXPECT_LE(v.size(), 16u);
    for (const auto& e : v) ASSERT_FALSE(e.accessType.empty()) << s;
  }
}

TEST(AccessNetworkInfo, NetworkProvidedMarkIsTakenOutAndTheRestKept) {
  EXPECT_EQ(withoutNetworkProvided("IEEE-802.11; i-wlan-node-id=001122334455; network-provided"),
            "IEEE-802.11; i-wlan-node-id=001122334455");
  EXPECT_EQ(withoutNetworkProvided("IEEE-802.11;Network-Provided;i-wlan-node-id=00112233"),
            "IEEE-802.11;i-wlan-node-id=00112233");
  EXPECT_EQ(withoutNetworkProvided("IEEE-802.3, IEEE-802.11; network-provided"),
            "IEEE-802.3, IEEE-802.11");
  // Inside a quoted string it is a value, not the mark.
  EXPECT_EQ(withoutNetworkProvided("IEEE-802.11; x=\"a;network-provided\""),
            "IEEE-802.11; x=\"a;network-provided\"");
  EXPECT_EQ(withoutNetworkProvided("network-provided"), "");
  EXPECT_EQ(withoutNetworkProvided("IEEE-802.3"), "IEEE-802.3");
}

}  // namespace
}  // namespace sos::routing
