// What an emergency INVITE carries per trunk mode (issue 4), decided by planEmergencyInvite.
#include "proxy/emergency_invite.h"

#include <gtest/gtest.h>

#include "pidf/pidf.h"
#include "proxy/copy_skip.h"

namespace sos::proxy {
namespace {

model::Location room301() {
  model::Location l;
  l.key = "hq-room-301";
  l.name = "HQ Room 301";
  l.site = "HQ";
  l.civic.country = "US";
  l.civic.a1 = "IL";
  l.civic.a3 = "Springfield";
  l.civic.hno = "100";
  l.civic.rd = "Main";
  l.civic.sts = "St";
  l.civic.flr = "3";
  l.civic.room = "301";
  l.civic.pc = "62701";
  l.elins = {"+12175550131"};
  return l;
}

constexpr char const* kSdp =
    "v=0\r\no=a 1 1 IN IP4 10.1.3.20\r\ns=-\r\nc=IN IP4 10.1.3.20\r\n"
    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

struct Fixture : ::testing::Test {
  model::Location location = room301();
  routing::CallRequest req;
  EmergencyInputs in;
  Fixture() {
    req.sdpContentType = "application/sdp";
    req.sdp = kSdp;
    in.mode = config::TrunkMode::Pidf;
    in.location = &location;
    in.request = &req;
    in.host = "127.0.0.1";
    in.locSrc = "sosproxy.test";
    in.entity = "pres:1001@127.0.0.1";
    in.method = "802.11";
    in.nowMs = 1'700'000'000'000;
    in.seed = 42;
  }
  // A device PIDF-LO part, usable or not.
  routing::CallRequest::BodyPart devicePart(bool usable) {
    model::Location own = location;
    own.civic.room = "302";
    pidf::PidfOptions o;
    o.entity = "pres:phone@example";
    o.deviceId = "dev";
    o.timestampMs = in.nowMs;
    std::string xml = usable ? pidf::buildPidfLo(own, o) : std::string("<presence>broken");
    return {"phone-loc@example", xml};
  }
};

TEST_F(Fixture, PidfTrunkGetsMultipartWithOurLocationAndGeolocation) {
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added");
  EXPECT_TRUE(out.skip & kSkipBody);
  EXPECT_TRUE(out.skip & kSkipGeolocation);
  EXPECT_FALSE(out.skip & kSkipIdentity);
  EXPECT_TRUE(out.elin.empty());
  EXPECT_EQ(out.contentType.rfind("multipart/mixed;boundary=", 0), 0u);
  EXPECT_NE(out.body.find(kSdp), std::string::npos);
  EXPECT_NE(out.body.find("<ca:ROOM>301</ca:ROOM>"), std::string::npos) << out.body;
  EXPECT_NE(out.extraHeaders.find("Geolocation: <cid:loc-"), std::string::npos);
  EXPECT_NE(out.extraHeaders.find(";loc-src=sosproxy.test"), std::string::npos);
  EXPECT_NE(out.extraHeaders.find("Geolocation-Routing: yes"), std::string::npos);
}

TEST_F(Fixture, UsableDeviceLocationIsKeptAndNotOverridden) {
  req.pidfParts = {devicePart(true)};
  req.geolocation = {"<cid:phone-loc@example>"};
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "device-kept");
  EXPECT_EQ(out.skip, 0u);  // the caller's body and Geolocation go through untouched
  EXPECT_TRUE(out.body.empty());
  EXPECT_TRUE(out.extraHeaders.empty());
}

TEST_F(Fixture, UnusableDeviceLocationGetsOursFirstAndKeepsTheirs) {
  req.pidfParts = {devicePart(false)};
  req.geolocation = {"<cid:phone-loc@example>"};
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added");
  auto ours = out.extraHeaders.find("<cid:loc-");
  auto theirs = out.extraHeaders.find("<cid:phone-loc@example>");
  ASSERT_NE(ours, std::string::npos) << out.extraHeaders;
  ASSERT_NE(theirs, std::string::npos) << out.extraHeaders;
  EXPECT_LT(ours, theirs);
  EXPECT_NE(out.body.find("Content-ID: <phone-loc@example>"), std::string::npos) << out.body;
  EXPECT_NE(out.body.find("<presence>broken"), std::string::npos);
}

TEST_F(Fixture, DeviceByReferenceLocationIsKept) {
  req.geolocation = {"<https://lis.example/loc/1>"};
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "device-by-reference");
  EXPECT_EQ(out.skip, 0u);
}

TEST_F(Fixture, GeolocationRoutingNoIsNeverRaised) {
  req.pidfParts = {devicePart(false)};
  req.geolocation = {"<cid:phone-loc@example>"};
  req.geolocationRouting = "no";
  auto out = planEmergencyInvite(in);
  EXPECT_NE(out.extraHeaders.find("Geolocation-Routing: no"), std::string::npos);
}

TEST_F(Fixture, ElinTrunkGetsTheElinAndNoBody) {
  in.mode = config::TrunkMode::Elin;
  in.elin = "+12175550131";
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.elin, "+12175550131");
  EXPECT_TRUE(out.skip & kSkipIdentity);
  EXPECT_FALSE(out.skip & kSkipBody);
  EXPECT_TRUE(out.pidf.empty());
}

TEST_F(Fixture, BothModeSendsElinAndPidfTogether) {
  in.mode = config::TrunkMode::Both;
  in.elin = "+12175550131";
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.elin, "+12175550131");
  EXPECT_EQ(out.pidf, "added");
  EXPECT_TRUE(out.skip & kSkipIdentity);
  EXPECT_TRUE(out.skip & kSkipBody);
}

TEST_F(Fixture, NoSdpStillCarriesTheLocation) {
  req.sdp.clear();
  req.sdpContentType.clear();
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added");
  EXPECT_NE(out.body.find("application/pidf+xml"), std::string::npos);
  EXPECT_EQ(out.body.find("application/sdp"), std::string::npos);
}

TEST_F(Fixture, PlainTrunkChangesNothing) {
  in.mode = config::TrunkMode::Plain;
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.skip, 0u);
  EXPECT_TRUE(out.pidf.empty());
}

}  // namespace
}  // namespace sos::proxy
