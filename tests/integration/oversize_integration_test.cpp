// Requests larger than a UDP datagram toward a trunk (issue 14). A caller on TCP may send a
// 911 INVITE of any size; the PSAP trunks take UDP. Without tcp_fallback the INVITE is trimmed
// to what the PSAP needs and the call is answered (it used to fail on every UDP trunk with a
// local 503); with tcp_fallback the trunk gets every request over 1300 bytes over TCP
// (RFC 3261 18.1.1), whole.

#include <gtest/gtest.h>

#include <thread>

#include "b2bua_fixture.h"
#include "raw_sip.h"

namespace sos::itest {
namespace {

constexpr const char* kShortSdp =
    "v=0\r\no=phone 1 1 IN IP4 10.1.2.45\r\ns=-\r\nc=IN IP4 10.1.2.45\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

// The phone's own PIDF-LO (a usable civic address), padded with `padding` bytes of XML
// comment: a location object that is large but well-formed.
std::string devicePidf(size_t padding) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
         "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
         "    xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"\r\n"
         "    xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\"\r\n"
         "    xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\"\r\n"
         "    entity=\"pres:1001@phone.example\">\r\n"
         "  <!-- " +
         std::string(padding, 'x') +
         " -->\r\n"
         "  <dm:device id=\"phone1001\">\r\n"
         "    <gp:geopriv>\r\n"
         "      <gp:location-info>\r\n"
         "        <ca:civicAddress xml:lang=\"en\">\r\n"
         "          <ca:country>US</ca:country><ca:A1>IL</ca:A1><ca:A3>Springfield</ca:A3>\r\n"
         "          <ca:RD>Capitol</ca:RD><ca:STS>Ave</ca:STS><ca:HNO>301</ca:HNO>\r\n"
         "        </ca:civicAddress>\r\n"
         "      </gp:location-info>\r\n"
         "      <gp:usage-rules/>\r\n"
         "    </gp:geopriv>\r\n"
         "  </dm:device>\r\n"
         "</presence>\r\n";
}

std::string deviceBody(size_t padding) {
  return "--big-bnd\r\nContent-Type: application/sdp\r\n\r\n" + std::string(kShortSdp) +
         "\r\n--big-bnd\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc1@phone.example>"
         "\r\n\r\n" +
         devicePidf(padding) + "\r\n--big-bnd--\r\n";
}

// The message that starts with `prefix` among what `tcp` received, waiting up to `timeout`.
std::string awaitOn(RawTcp& tcp, std::string& seen, const std::string& prefix,
                    milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    size_t at = seen.find(prefix);
    if (at != std::string::npos && seen.find("\r\n\r\n", at) != std::string::npos)
      return seen.substr(at, seen.find("\r\n\r\n", at) + 4 - at);
    if (Clock::now() >= deadline) return "";
    seen += tcp.receive(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  }
}

class Oversize : public B2buaTest {
 protected:
  // 911 from 1001 over TCP with the phone's padded PIDF-LO; SIPp cannot send a message this
  // large (it cuts an inserted file at 64 KB), so the test writes it. Returns once the call is
  // answered and hung up, or has failed.
  void call911(size_t padding, bool& answered) {
    answered = false;
    RawTcp phone(ports_.proxy);
    ASSERT_TRUE(phone.ok());
    RawRequest invite;
    invite.transport = "TCP";
    invite.requestUri = "sip:911@127.0.0.1:" + std::to_string(ports_.proxy);
    invite.callId = "oversize-911";
    invite.branch = "z9hG4bK-oversize-911";
    invite.extra = "Geolocation: <cid:loc1@phone.example>\r\n";
    invite.contentType = "multipart/mixed;boundary=big-bnd";
    invite.body = deviceBody(padding);
    ASSERT_TRUE(phone.send(buildRequest(invite, "127.0.0.1", 5060)));
    std::string seen;
    const std::string ok = awaitOn(phone, seen, "SIP/2.0 200", milliseconds(15000));
    ASSERT_FALSE(ok.empty()) << "no 200 to the 911: " << seen;
    std::string contact = rawHeader(ok, "Contact");
    contact = contact.substr(contact.find('<') + 1);
    contact = contact.substr(0, contact.find('>'));
    std::string tag = rawHeader(ok, "To");
    tag = tag.substr(tag.find("tag=") + 4);
    RawRequest ack = invite;
    ack.method = "ACK";
    ack.toUri = invite.requestUri;
    ack.requestUri = contact;
    ack.toTag = tag.substr(0, tag.find_first_of("; >"));
    ack.branch = invite.branch + "-ack";
    ack.body.clear();
    ack.extra.clear();
    RawRequest bye = ack;
    bye.method = "BYE";
    bye.cseq = 2;
    bye.branch = invite.branch + "-bye";
    ASSERT_TRUE(phone.send(buildRequest(ack, "127.0.0.1", 5060)));
    ASSERT_TRUE(phone.send(buildRequest(bye, "127.0.0.1", 5060)));
    seen.clear();
    answered = !awaitOn(phone, seen, "SIP/2.0 200", milliseconds(10000)).empty();
  }
};

TEST_F(Oversize, EmergencyInviteTooLargeForUdpIsTrimmedAndAnswered) {
  startProxy("udp", /*withLocations=*/true);
  auto psap = startTrunk("uas-psap-expect-sdp-and-named-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  bool answered = false;
  call911(70 * 1024, answered);
  EXPECT_TRUE(answered) << report({psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({psap.get()});

  const std::string invite = findMessage(*psap, true, "INVITE ");
  ASSERT_FALSE(invite.empty()) << report({psap.get()});
  EXPECT_LT(invite.size(), 65507u);
  EXPECT_EQ(invite.find("xxxxxxxxxx"), std::string::npos)
      << "the caller's 70 KB location went on to the PSAP";
  EXPECT_NE(invite.find("m=audio 49170"), std::string::npos) << "the caller's SDP is missing";
  EXPECT_NE(headerValue(invite, "Geolocation").find(";loc-src=sosproxy.test"), std::string::npos)
      << headerValue(invite, "Geolocation");

  const std::string cid = "oversize-911";
  const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
  EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
  EXPECT_NE(route.get("reason").find("too large for UDP trunk il-psap-a"), std::string::npos)
      << route.raw;
  EXPECT_EQ(route.get("pidf"), "added") << route.raw;
  const auto final = waitForLogLine({{"event", "final"}, {"call_id", cid}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("attempts"), "il-psap-a:200") << final.raw;
  EXPECT_EQ(metric("sosproxy_udp_oversize_trimmed_total"), 1) << metrics();
}

// il-psap-a takes TCP (tcp_fallback): the 70 KB INVITE reaches it whole over TCP. Its stand-in
// refuses it (503), and il-psap-b, a UDP trunk without tcp_fallback, gets it trimmed and
// answers: the call is answered, no local 503 anywhere.
TEST_F(Oversize, TcpFallbackTrunkGetsTheWholeInviteOverTcp) {
  ports_.psapATcpFallback = true;
  RawTcpServer psapA(ports_.psapA);
  ASSERT_TRUE(psapA.ok());
  startProxy("udp", /*withLocations=*/true);
  auto psapB = startTrunk("uas-psap-answer.xml", ports_.psapB, "il-psap-b");
  ASSERT_FALSE(HasFailure());
  bool answered = false;
  std::thread phone([&] { call911(70 * 1024, answered); });

  const auto invite = psapA.receiveMessage(milliseconds(10000));
  if (!invite) phone.join();
  ASSERT_TRUE(invite) << "nothing reached il-psap-a over TCP\n" << report({psapB.get()});
  EXPECT_EQ(startLine(*invite).rfind("INVITE sip:911@", 0), 0u) << startLine(*invite);
  EXPECT_NE(rawHeader(*invite, "Via").find("SIP/2.0/TCP"), std::string::npos)
      << rawHeader(*invite, "Via");
  EXPECT_GT(invite->size(), 65507u);
  EXPECT_NE(invite->find(std::string(70 * 1024, 'x')), std::string::npos)
      << "the caller's location did not reach il-psap-a whole";
  std::string refusal = "SIP/2.0 503 Service Unavailable\r\n";
  for (const char* h : {"Via", "From", "To", "Call-ID", "CSeq"})
    refusal += std::string(h) + ": " + rawHeader(*invite, h) +
               (std::string(h) == "To" ? ";tag=psap-a" : "") + "\r\n";
  refusal += "Content-Length: 0\r\n\r\n";
  EXPECT_TRUE(psapA.send(refusal));
  phone.join();

  EXPECT_TRUE(answered) << report({psapB.get()});
  EXPECT_EQ(psapB->wait(), 0) << report({psapB.get()});
  EXPECT_LT(findMessage(*psapB, true, "INVITE ").size(), 65507u);
  const auto final = waitForLogLine({{"event", "final"}, {"call_id", "oversize-911"}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("attempts"), "il-psap-a:503(Service Unavailable) il-psap-b:200") << final.raw;
  EXPECT_EQ(metric("sosproxy_udp_oversize_over_tcp_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_udp_oversize_trimmed_total"), 1) << metrics();
}

}  // namespace
}  // namespace sos::itest
