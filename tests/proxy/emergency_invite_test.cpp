// What an emergency INVITE carries per trunk mode (issue 4), decided by planEmergencyInvite.
#include "proxy/emergency_invite.h"

#include <gtest/gtest.h>

#include "pidf/device_location.h"
#include "pidf/multipart.h"
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

constexpr const char* kSdp =
    "v=0\r\no=a 1 1 IN IP4 10.1.3.20\r\ns=-\r\nc=IN IP4 10.1.3.20\r\n"
    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

struct Fixture : ::testing::Test {
  model::Location location = room301();
  routing::CallRequest req;
  pidf::DeviceLocationCheck device;
  EmergencyInputs in;
  Fixture() {
    req.bodyContentType = "application/sdp";
    req.body = kSdp;
    req.sdpContentType = "application/sdp";
    req.sdp = kSdp;
    in.mode = config::TrunkMode::Pidf;
    in.location = &location;
    in.request = &req;
    in.device = &device;
    in.host = "127.0.0.1";
    in.locSrc = "sosproxy.test";
    in.entity = "pres:1001@127.0.0.1";
    in.method = "802.11";
    in.nowMs = 1'700'000'000'000;
    in.seed = 42;
  }
  // A device PIDF-LO document, usable or not.
  std::string deviceXml(bool usable) {
    model::Location own = location;
    own.civic.room = "302";
    pidf::PidfOptions o;
    o.entity = "pres:phone@example";
    o.deviceId = "dev";
    o.timestampMs = in.nowMs;
    return usable ? pidf::buildPidfLo(own, o) : std::string("<presence>broken");
  }
  // The caller's body: multipart/mixed with the SDP and the device's PIDF-LO (RFC 6442 section 3),
  // referenced by its Geolocation header, as the edge gives it.
  void sendDeviceBody(bool usable, const std::string& preamble = "") {
    const std::string xml = deviceXml(usable);
    req.bodyContentType = "multipart/mixed;boundary=dev-b1";
    req.body = preamble + "--dev-b1\r\nContent-Type: application/sdp\r\n\r\n" + kSdp +
               "\r\n--dev-b1\r\nContent-Type: application/pidf+xml\r\n"
               "Content-ID: <phone-loc@example>\r\n\r\n" +
               xml + "\r\n--dev-b1--\r\n";
    req.pidfParts = {{"phone-loc@example", xml}};
    req.geolocation = {"<cid:phone-loc@example>"};
    check();
  }
  void check() {
    std::vector<pidf::GeolocationValue> values;
    for (const auto& h : req.geolocation)
      for (auto& v : pidf::parseGeolocation(h)) values.push_back(v);
    std::vector<pidf::LocationPart> parts;
    for (const auto& p : req.pidfParts) parts.push_back({p.contentId, p.text});
    device = pidf::checkDeviceLocation(values, parts);
  }
};

TEST_F(Fixture, PidfTrunkGetsMultipartWithTheSdpAndOurLocationAndGeolocation) {
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added");
  EXPECT_TRUE(out.skip & kSkipBody);
  EXPECT_TRUE(out.skip & kSkipGeolocation);
  EXPECT_FALSE(out.skip & kSkipIdentity);
  EXPECT_TRUE(out.elin.empty());
  ASSERT_EQ(out.contentType.rfind("multipart/mixed;boundary=", 0), 0u);
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_TRUE(body.wellFormed) << body.problem << "\n" << out.body;
  ASSERT_EQ(body.parts.size(), 2u) << out.body;
  EXPECT_EQ(body.parts[0].contentType, "application/sdp");
  EXPECT_EQ(body.parts[0].content, kSdp);  // the caller's SDP, byte for byte
  EXPECT_EQ(body.parts[1].contentType, "application/pidf+xml");
  EXPECT_NE(body.parts[1].content.find("<ca:ROOM>301</ca:ROOM>"), std::string::npos) << out.body;
  EXPECT_NE(out.extraHeaders.find("Geolocation: <cid:" + body.parts[1].contentId + ">"),
            std::string::npos)
      << out.extraHeaders;
  EXPECT_NE(out.extraHeaders.find(";loc-src=sosproxy.test"), std::string::npos);
  EXPECT_NE(out.extraHeaders.find("Geolocation-Routing: yes"), std::string::npos);
}

TEST_F(Fixture, UsableDeviceLocationIsKeptAndNotOverridden) {
  sendDeviceBody(true);
  ASSERT_EQ(device.state, pidf::DeviceLocationState::Usable) << device.summary;
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "device-kept");
  EXPECT_EQ(out.skip, 0u);  // the caller's body and Geolocation go through untouched
  EXPECT_TRUE(out.body.empty());
  EXPECT_TRUE(out.extraHeaders.empty());
}

TEST_F(Fixture, UnusableDeviceLocationStaysByteForByteAndOursIsAddedBesideIt) {
  sendDeviceBody(false);
  ASSERT_EQ(device.state, pidf::DeviceLocationState::Unusable);
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added-beside-device");
  EXPECT_EQ(out.contentType, req.bodyContentType);  // the caller's multipart, its boundary
  // Everything before the caller's close delimiter is theirs, unchanged.
  const std::string close = "\r\n--dev-b1--\r\n";
  const size_t theirs = req.body.size() - close.size();
  EXPECT_EQ(out.body.substr(0, theirs), req.body.substr(0, theirs));
  EXPECT_EQ(out.body.substr(out.body.size() - close.size()), close);
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_TRUE(body.wellFormed) << body.problem;
  ASSERT_EQ(body.parts.size(), 3u);
  EXPECT_EQ(body.parts[1].contentId, "phone-loc@example");
  EXPECT_EQ(body.parts[1].content, "<presence>broken");
  EXPECT_NE(body.parts[2].content.find("<ca:ROOM>301</ca:ROOM>"), std::string::npos);
  auto ours = out.extraHeaders.find("<cid:" + body.parts[2].contentId + ">");
  auto deviceValue = out.extraHeaders.find("<cid:phone-loc@example>");
  ASSERT_NE(ours, std::string::npos) << out.extraHeaders;
  ASSERT_NE(deviceValue, std::string::npos) << out.extraHeaders;
  EXPECT_LT(ours, deviceValue);
}

TEST_F(Fixture, APreambleAndEpilogueAreKept) {
  sendDeviceBody(false, "This is a preamble.\r\n");
  req.body += "an epilogue\r\n";
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.body.rfind("This is a preamble.\r\n--dev-b1\r\n", 0), 0u) << out.body;
  EXPECT_EQ(out.body.substr(out.body.size() - 27), "\r\n--dev-b1--\r\nan epilogue\r\n");
}

TEST_F(Fixture, DeviceByReferenceOnlyGetsOursByValueAndKeepsTheReference) {
  req.geolocation = {"<https://lis.example/loc/1>"};
  check();
  ASSERT_EQ(device.state, pidf::DeviceLocationState::Unusable);
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added-beside-device");
  EXPECT_TRUE(out.skip & kSkipGeolocation);
  EXPECT_NE(out.extraHeaders.find(">;loc-src=sosproxy.test, <https://lis.example/loc/1>"),
            std::string::npos)
      << out.extraHeaders;
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_EQ(body.parts.size(), 2u);
  EXPECT_EQ(body.parts[0].content, kSdp);
}

TEST_F(Fixture, NestedMultipartIsRelayedWithEveryPartAndOursAddedAtTheTop) {
  // An upstream ESRP's body (RFC 7852): SDP, then a multipart/mixed with the location and
  // additional data. The location here says nothing, so ours goes beside it.
  const std::string inner =
      "--inner\r\nContent-Type: application/pidf+xml\r\nContent-ID: <esrp-loc@esrp.example>\r\n"
      "\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:x@y\"/>\r\n"
      "--inner\r\nContent-Type: application/EmergencyCallData.ProviderInfo+xml\r\n"
      "Content-ID: <provider@esrp.example>\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "<provider/>\r\n--inner--";
  req.bodyContentType = "multipart/mixed; boundary=\"outer\"";
  req.body = "--outer\r\nContent-Type: application/sdp\r\n\r\n" + std::string(kSdp) +
             "\r\n--outer\r\nContent-Type: multipart/mixed;boundary=inner\r\n\r\n" + inner +
             "\r\n--outer--\r\n";
  req.pidfParts = {{"esrp-loc@esrp.example",
                    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:x@y\"/>"}};
  req.geolocation = {"<cid:esrp-loc@esrp.example>"};
  check();
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added-beside-device");
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_TRUE(body.wellFormed) << body.problem;
  ASSERT_EQ(body.parts.size(), 3u);
  EXPECT_EQ(body.parts[1].contentType, "multipart/mixed");
  EXPECT_EQ(body.parts[1].content, inner);
  ASSERT_EQ(body.parts[1].parts.size(), 2u);
  EXPECT_EQ(body.parts[1].parts[1].contentId, "provider@esrp.example");
  EXPECT_EQ(body.parts[2].contentType, "application/pidf+xml");
}

TEST_F(Fixture, AnotherMultipartTypeIsWrappedWhole) {
  req.bodyContentType = "multipart/alternative;boundary=alt";
  req.body =
      "--alt\r\nContent-Type: application/sdp\r\n\r\n" + std::string(kSdp) + "\r\n--alt--\r\n";
  auto out = planEmergencyInvite(in);
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_EQ(body.parts.size(), 2u) << out.body;
  EXPECT_EQ(body.parts[0].contentTypeValue, "multipart/alternative;boundary=alt");
  EXPECT_EQ(body.parts[0].content, req.body);
  EXPECT_EQ(body.parts[1].contentType, "application/pidf+xml");
}

TEST_F(Fixture, AMultipartWithoutItsCloseDelimiterIsRebuiltFromItsParts) {
  sendDeviceBody(false);
  req.body.resize(req.body.size() - std::string("\r\n--dev-b1--\r\n").size());
  auto out = planEmergencyInvite(in);
  EXPECT_NE(out.contentType, req.bodyContentType);  // a new boundary
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_TRUE(body.wellFormed) << body.problem << "\n" << out.body;
  ASSERT_EQ(body.parts.size(), 3u);
  EXPECT_EQ(body.parts[0].content, kSdp);
  EXPECT_EQ(body.parts[1].content, "<presence>broken");
}

TEST_F(Fixture, TheBodysOwnContentHeadersGoIntoTheWrappedPart) {
  req.bodyHeaders = "Content-Disposition: session\r\n";
  auto out = planEmergencyInvite(in);
  EXPECT_TRUE(out.skip & kSkipBodyHeaders);
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_EQ(body.parts.size(), 2u);
  EXPECT_EQ(body.parts[0].disposition, "session");
}

TEST_F(Fixture, GeolocationRoutingNoIsNeverRaised) {
  sendDeviceBody(false);
  req.geolocationRouting = "no";
  auto out = planEmergencyInvite(in);
  EXPECT_NE(out.extraHeaders.find("Geolocation-Routing: no"), std::string::npos);
  req.geolocationRouting = " YES ";
  out = planEmergencyInvite(in);
  EXPECT_NE(out.extraHeaders.find("Geolocation-Routing: yes"), std::string::npos);
}

TEST_F(Fixture, ElinTrunkGetsTheElinAndTheBodyAsSent) {
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

TEST_F(Fixture, NoBodyStillCarriesTheLocation) {
  req.body.clear();
  req.bodyContentType.clear();
  req.sdp.clear();
  req.sdpContentType.clear();
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.pidf, "added");
  auto body = pidf::parseBody(out.contentType, out.body);
  ASSERT_EQ(body.parts.size(), 1u) << out.body;
  EXPECT_EQ(body.parts[0].contentType, "application/pidf+xml");
}

TEST_F(Fixture, PlainTrunkChangesNothing) {
  in.mode = config::TrunkMode::Plain;
  auto out = planEmergencyInvite(in);
  EXPECT_EQ(out.skip, 0u);
  EXPECT_TRUE(out.pidf.empty());
}

}  // namespace
}  // namespace sos::proxy
