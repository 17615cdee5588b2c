// The PSAP's shield for session descriptions (proxy/sdp_shield.h, issue 14): each row a caller's
// SDP and what leaves toward the trunk.
#include "proxy/sdp_shield.h"

#include <gtest/gtest.h>

namespace sos::proxy {
namespace {

constexpr const char* kGood =
    "v=0\r\n"
    "o=phone 2890844526 2890844526 IN IP4 10.1.2.45\r\n"
    "s=-\r\n"
    "c=IN IP4 10.1.2.45\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

TEST(SdpShield, AWellFormedDescriptionIsLeftAsItIs) {
  auto s = shieldSdp(kGood);
  EXPECT_EQ(s.kind, ShieldedSdp::Kind::Unchanged);
  EXPECT_EQ(s.sdp, kGood);
  EXPECT_TRUE(s.dropped.empty());
}

TEST(SdpShield, MalformedLinesAreLeftOutAndTheRestKeptInOrder) {
  struct Row {
    const char* bad;  // a line inserted after a=rtpmap:0
    const char* why;  // a piece of the reason
  };
  for (auto row : {Row{"a=rtpmap:xyz PCMU", "rtpmap not"}, Row{"a=rtpmap:0 PCMU", "rtpmap not"},
                   Row{"a=fmtp:101", "fmtp not"}, Row{"a=ptime:fast", "ptime not"},
                   Row{"a=bad name:1", "attribute name"}, Row{"this is not sdp", "not <type>"},
                   Row{"c=IN IP4", "connection not"}, Row{"b=AS:lots", "bandwidth"},
                   Row{"m=audio 99999 RTP/AVP 0", "media port"}, Row{"x=unknown", "not an SDP"},
                   Row{"a=ctl\x01char", "not <type>"}, Row{"v=0", "a second v="}}) {
    std::string in = kGood;
    const std::string anchor = "a=rtpmap:0 PCMU/8000\r\n";
    in.insert(in.find(anchor) + anchor.size(), std::string(row.bad) + "\r\n");
    auto s = shieldSdp(in);
    EXPECT_EQ(s.kind, ShieldedSdp::Kind::Cleaned) << row.bad;
    EXPECT_EQ(s.sdp, kGood) << row.bad;
    ASSERT_EQ(s.dropped.size(), 1u) << row.bad;
    EXPECT_NE(s.dropped[0].find("line 8: "), std::string::npos) << s.dropped[0];
    EXPECT_NE(s.dropped[0].find(row.why), std::string::npos) << s.dropped[0];
  }
}

TEST(SdpShield, LineEndsBecomeCrlfAndMissingRequiredLinesAreAdded) {
  auto s = shieldSdp("v=0\no=- 1 1 IN IP4 10.0.0.1\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n");
  EXPECT_EQ(s.kind, ShieldedSdp::Kind::Cleaned);
  EXPECT_EQ(s.sdp,
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 0\r\n");
}

TEST(SdpShield, WhatCannotBeMadeWholeBecomesAMinimalOfferOrNone) {
  // No v= and no o=, but an address and an audio port: a minimal offer to them.
  auto minimal = shieldSdp("garbage\r\nc=IN IP4 10.1.2.45\r\nm=audio 49170 RTP/AVP 0\r\n");
  EXPECT_EQ(minimal.kind, ShieldedSdp::Kind::Minimal);
  EXPECT_NE(minimal.sdp.find("c=IN IP4 10.1.2.45\r\n"), std::string::npos) << minimal.sdp;
  EXPECT_NE(minimal.sdp.find("m=audio 49170 RTP/AVP 0 8 101\r\n"), std::string::npos);
  EXPECT_EQ(shieldSdp(minimal.sdp).kind, ShieldedSdp::Kind::Unchanged);  // well-formed itself
  EXPECT_EQ(shieldSdp("\x01\x02\x03").kind, ShieldedSdp::Kind::None);
  EXPECT_EQ(shieldSdp("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n").kind, ShieldedSdp::Kind::None);
}

TEST(SdpShield, SizesAreBounded) {
  std::string in = kGood;
  in += "a=x-long:" + std::string(2000, 'a') + "\r\n";
  auto s = shieldSdp(in);
  EXPECT_EQ(s.sdp, kGood);
  std::string many = kGood;
  for (int i = 0; i < 400; ++i) many += "a=x-" + std::to_string(i) + "\r\n";
  auto m = shieldSdp(many);
  EXPECT_EQ(m.kind, ShieldedSdp::Kind::Cleaned);
  EXPECT_LE(m.sdp.size(), kMaxSdpBytes);
}

TEST(SdpShield, InAMultipartOnlyTheSdpPartChangesEveryOtherByteStays) {
  const std::string pidf = "<presence/>";
  std::string body = std::string("preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\n") +
                     kGood +
                     "a=rtpmap:bad\r\n\r\n--b1\r\nContent-Type: application/pidf+xml\r\n"
                     "Content-ID: <l@p>\r\n\r\n" +
                     pidf + "\r\n--b1--\r\n";
  auto out = shieldBody("multipart/mixed;boundary=b1", body);
  ASSERT_TRUE(out.changed);
  std::string expected = body;
  expected.erase(expected.find("a=rtpmap:bad\r\n"), 14);
  EXPECT_EQ(out.body, expected);
  EXPECT_EQ(out.sdp, kGood);
  EXPECT_EQ(out.contentType, "multipart/mixed;boundary=b1");
  auto same = shieldBody("multipart/mixed;boundary=b1", expected);
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(same.sdp, kGood);
}

TEST(SdpShield, ABodyWithNothingUsableIsLeftOut) {
  auto single = shieldBody("application/sdp", "nothing at all");
  EXPECT_TRUE(single.changed);
  EXPECT_TRUE(single.body.empty());
  EXPECT_TRUE(single.contentType.empty());
  std::string body =
      "--b1\r\nContent-Type: application/sdp\r\n\r\nnonsense\r\n--b1\r\n"
      "Content-Type: application/pidf+xml\r\n\r\n<presence/>\r\n--b1--\r\n";
  auto multi = shieldBody("multipart/mixed;boundary=b1", body);
  EXPECT_TRUE(multi.changed);
  EXPECT_EQ(multi.body,
            "--b1\r\nContent-Type: application/pidf+xml\r\n\r\n<presence/>\r\n--b1--\r\n");
  EXPECT_TRUE(multi.sdp.empty());
}

}  // namespace
}  // namespace sos::proxy
