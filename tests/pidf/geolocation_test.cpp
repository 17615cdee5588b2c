// Geolocation and Geolocation-Routing header values (RFC 6442 sections 4.1, 4.2; RFC 8787).

#include <gtest/gtest.h>

#include "pidf/geolocation.h"

namespace sos::pidf {
namespace {

TEST(Geolocation, CidWithLocSrc) {
  auto v = parseGeolocation("<cid:loc1@phone.example>;loc-src=sosproxy.example.com");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].uri, "cid:loc1@phone.example");
  EXPECT_TRUE(v[0].isCid);
  EXPECT_EQ(v[0].cid, "loc1@phone.example");
  EXPECT_EQ(v[0].locSrc, "sosproxy.example.com");
}

TEST(Geolocation, SeveralValuesByReferenceAndByValue) {
  auto v = parseGeolocation(
      " <https://lis.example.com/loc?id=a,b> , <CID:abc%40host> "
      ";foo=\"x;y,z\";LOC-SRC=\"lis.example\"");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].uri, "https://lis.example.com/loc?id=a,b");
  EXPECT_FALSE(v[0].isCid);
  EXPECT_TRUE(v[0].cid.empty());
  EXPECT_TRUE(v[1].isCid);
  EXPECT_EQ(v[1].cid, "abc@host");  // RFC 2392: cid URLs are percent-encoded
  EXPECT_EQ(v[1].locSrc, "lis.example");
}

TEST(Geolocation, LenientAboutMissingBracketsAndSkipsJunk) {
  auto v = parseGeolocation("cid:bare@x;loc-src=a, <>, <no-scheme>, <cid:>, <unclosed, \"q\"");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].cid, "bare@x");
  EXPECT_EQ(v[0].locSrc, "a");
  EXPECT_TRUE(parseGeolocation("").empty());
  EXPECT_TRUE(parseGeolocation(",,,").empty());
}

TEST(Geolocation, BoundedInput) {
  std::string many;
  for (int i = 0; i < 100; ++i) many += "<cid:a" + std::to_string(i) + "@x>,";
  EXPECT_EQ(parseGeolocation(many).size(), 16u);
  std::string huge = "<cid:" + std::string(10000, 'a') + ">";
  EXPECT_TRUE(parseGeolocation(huge).empty()) << "cut at 4 KiB, the URI never closes";
}

TEST(GeolocationRouting, OnlyYesAllows) {
  EXPECT_TRUE(geolocationRoutingAllowed("yes"));
  EXPECT_TRUE(geolocationRoutingAllowed(" YES "));
  EXPECT_TRUE(geolocationRoutingAllowed("Yes"));
  EXPECT_FALSE(geolocationRoutingAllowed(""));
  EXPECT_FALSE(geolocationRoutingAllowed("no"));
  EXPECT_FALSE(geolocationRoutingAllowed("yes please"));
  EXPECT_FALSE(geolocationRoutingAllowed("true"));
}

}  // namespace
}  // namespace sos::pidf
