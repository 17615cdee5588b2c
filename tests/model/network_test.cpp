// The one IP address and CIDR parser (model/network.h), used by configuration checks, trusted
// sources, site networks, subnet rows and personal networks alike.

#include "model/network.h"

#include <gtest/gtest.h>

namespace sos::model {
namespace {

TEST(ParseIpAddress, Ipv4IsHeldMapped) {
  auto a = parseIpAddress("10.1.2.45");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->v4);
  std::array<uint8_t, 16> expected{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 45};
  EXPECT_EQ(a->bytes, expected);
}

TEST(ParseIpAddress, Ipv6WithAndWithoutBrackets) {
  auto plain = parseIpAddress("2001:db8::1");
  auto bracketed = parseIpAddress("[2001:db8::1]");
  ASSERT_TRUE(plain);
  ASSERT_TRUE(bracketed);
  EXPECT_FALSE(plain->v4);
  EXPECT_EQ(*plain, *bracketed);
  EXPECT_EQ(plain->bytes[0], 0x20);
  EXPECT_EQ(plain->bytes[15], 1);
}

TEST(ParseIpAddress, RejectsWhatIsNotAnAddress) {
  for (const char* text :
       {"", "[]", "[", "pbx.example", "10.1.2", "10.1.2.256", "10.1.2.3.4", "1.2.3.4 ",
        "2001:db8::1::2", "2001:db8::1%eth0", "10.1.2.3/8", "[10.1.2.3", "::ffff:10.1.2.3]"}) {
    EXPECT_FALSE(parseIpAddress(text)) << text;
  }
  // An embedded NUL must not let the part before it through.
  EXPECT_FALSE(parseIpAddress(std::string_view("10.1.2.3\0junk", 13)));
  EXPECT_FALSE(parseIpAddress(std::string(300, '1')));
}

TEST(ParseCidr, ParsesAndClearsHostBits) {
  auto c = parseCidr("10.1.2.3/8");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c.value().prefixLength, 8);
  EXPECT_EQ(c.value().network, *parseIpAddress("10.0.0.0"));

  auto v6 = parseCidr("2001:db8:ffff::1/32");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6.value().prefixLength, 32);
  EXPECT_EQ(v6.value().network, *parseIpAddress("2001:db8::"));
}

TEST(ParseCidr, BareAddressIsAHostRoute) {
  auto c4 = parseCidr("192.0.2.7");
  ASSERT_TRUE(c4);
  EXPECT_EQ(c4.value().prefixLength, 32);
  EXPECT_TRUE(c4.value().contains(*parseIpAddress("192.0.2.7")));
  EXPECT_FALSE(c4.value().contains(*parseIpAddress("192.0.2.8")));

  auto c6 = parseCidr("2001:db8::5");
  ASSERT_TRUE(c6);
  EXPECT_EQ(c6.value().prefixLength, 128);
}

TEST(ParseCidr, ErrorsSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  for (const Case& c : {Case{"10.0.0.0/33", "prefix length 33 is over 32"},
                        Case{"2001:db8::/129", "prefix length 129 is over 128"},
                        Case{"10.0.0.0/", "prefix length is missing"},
                        Case{"10.0.0.0/x", "prefix length 'x' is not a number"},
                        Case{"10.0.0.0/-1", "prefix length '-1' is not a number"},
                        Case{"10.0.0.0/8/8", "prefix length '8/8' is not a number"},
                        Case{"10.0.0.0/99999999999", "is over 32"},
                        Case{"10.0.0/8", "'10.0.0' is not an IPv4 or IPv6 address"},
                        Case{"pbx.example/24", "'pbx.example' is not an IPv4 or IPv6 address"},
                        Case{"", "empty network"}}) {
    auto r = parseCidr(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos)
        << c.text << " -> " << r.error().message;
    EXPECT_EQ(r.error().code, "network.invalid");
  }
}

TEST(Cidr, Ipv4PrefixBoundaries) {
  auto c = parseCidr("10.1.0.0/16").value();
  EXPECT_TRUE(c.contains(*parseIpAddress("10.1.0.0")));
  EXPECT_TRUE(c.contains(*parseIpAddress("10.1.255.255")));
  EXPECT_FALSE(c.contains(*parseIpAddress("10.2.0.0")));
  EXPECT_FALSE(c.contains(*parseIpAddress("10.0.255.255")));

  auto odd = parseCidr("192.168.1.128/25").value();
  EXPECT_TRUE(odd.contains(*parseIpAddress("192.168.1.200")));
  EXPECT_FALSE(odd.contains(*parseIpAddress("192.168.1.127")));
}

TEST(Cidr, Ipv4NetworkMatchesMappedIpv6ButNoPureIpv6) {
  auto c = parseCidr("10.0.0.0/8").value();
  EXPECT_TRUE(c.contains(*parseIpAddress("::ffff:10.1.2.3")));
  EXPECT_TRUE(c.contains(*parseIpAddress("[::ffff:a01:203]")));
  // Same low 32 bits, but not a mapped address.
  EXPECT_FALSE(c.contains(*parseIpAddress("::a01:203")));
  EXPECT_FALSE(c.contains(*parseIpAddress("2001:db8::10.1.2.3")));

  auto everything4 = parseCidr("0.0.0.0/0").value();
  EXPECT_TRUE(everything4.contains(*parseIpAddress("203.0.113.7")));
  EXPECT_FALSE(everything4.contains(*parseIpAddress("2001:db8::1")));
  EXPECT_FALSE(everything4.contains(*parseIpAddress("::")));
}

TEST(Cidr, Ipv6NetworkNeverMatchesIpv4) {
  auto everything6 = parseCidr("::/0").value();
  EXPECT_TRUE(everything6.contains(*parseIpAddress("2001:db8::1")));
  EXPECT_FALSE(everything6.contains(*parseIpAddress("10.1.2.3")));
  EXPECT_FALSE(everything6.contains(*parseIpAddress("::ffff:10.1.2.3")));

  auto doc = parseCidr("2001:db8::/32").value();
  EXPECT_TRUE(doc.contains(*parseIpAddress("2001:db8:1::1")));
  EXPECT_FALSE(doc.contains(*parseIpAddress("2001:db9::1")));
}

TEST(Cidr, MappedIpv6NetworkIsAnIpv4Network) {
  auto c = parseCidr("::ffff:10.0.0.0/104");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c.value().network.v4);
  EXPECT_EQ(c.value().prefixLength, 8);
  EXPECT_TRUE(c.value().contains(*parseIpAddress("10.200.1.1")));
  EXPECT_FALSE(c.value().contains(*parseIpAddress("11.0.0.1")));
}

TEST(NetworkSet, ParseAndContains) {
  auto set = NetworkSet::parse({"127.0.0.0/8", "10.44.0.0/16", "2001:db8:1::/48"});
  ASSERT_TRUE(set) << set.error().message;
  const NetworkSet& s = set.value();
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(s.contains("127.0.0.1"));
  EXPECT_TRUE(s.contains("10.44.3.3"));
  EXPECT_TRUE(s.contains("[2001:db8:1:2::9]"));
  EXPECT_FALSE(s.contains("10.45.0.1"));
  EXPECT_FALSE(s.contains("2001:db8:2::1"));
  EXPECT_FALSE(s.contains(""));
  EXPECT_FALSE(s.contains("localhost"));
}

TEST(NetworkSet, ParseReportsTheBadEntry) {
  auto set = NetworkSet::parse({"127.0.0.0/8", "10.0.0.0/40"});
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("'10.0.0.0/40'"), std::string::npos) << set.error().message;
}

TEST(NetworkSet, EmptySetContainsNothing) {
  NetworkSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains("127.0.0.1"));
}

// The YAML loaders name the value themselves and want only the reason, the same one
// parseCidr gives after the quoted value.
TEST(CidrProblem, SameReasonsAsParseCidr) {
  EXPECT_EQ(cidrProblem("10.0.0.0/8"), "");
  EXPECT_EQ(cidrProblem("2001:db8::1"), "");
  EXPECT_EQ(cidrProblem("10.0.0.0/33"), "prefix length 33 is over 32");
  EXPECT_EQ(cidrProblem("bogus"), "'bogus' is not an IPv4 or IPv6 address");
  EXPECT_EQ(parseCidr("10.0.0.0/33").error().message, "'10.0.0.0/33': prefix length 33 is over 32");
}

TEST(AddressBits, NumericAddressesOnly) {
  EXPECT_EQ(addressBits("127.0.0.1"), 32);
  EXPECT_EQ(addressBits("2001:db8::5"), 128);
  EXPECT_EQ(addressBits("::ffff:10.1.2.3"), 128);
  // A configured host is written bare; brackets belong in a SIP URI, which sosproxy writes.
  EXPECT_EQ(addressBits("[2001:db8::5]"), 0);
  EXPECT_EQ(addressBits("sip.carrier.example"), 0);
  EXPECT_EQ(addressBits(std::string_view("10.1.2.3\0junk", 13)), 0);
  EXPECT_EQ(addressBits(""), 0);
}

}  // namespace
}  // namespace sos::model
