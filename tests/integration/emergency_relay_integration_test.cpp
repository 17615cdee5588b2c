// edge.emergency_relay: stateful, against the real sosproxy: a 911 crosses it as a
// transaction-stateful proxy's would (RFC 3261 16), located and with its PIDF-LO as through the
// B2BUA: the PSAP's stand-in receives the caller's own Call-ID, From and CSeq with sosproxy's Via
// and Record-Route on top and the location in the body; the caller gets 100 at once and the
// trunk's answers; the INVITE is sent again until the trunk answers and goes to the next trunk
// when one says nothing; the caller's CANCEL reaches the ringing trunk; the dialog's ACK and BYE
// follow the Record-Route; the routing log, the call record and the counters are the B2BUA's.

#include <gtest/gtest.h>

#include <regex>

#include "b2bua_fixture.h"
#include "raw_sip.h"

namespace sos::itest {
namespace {

class EmergencyRelayTest : public B2buaTest {
 protected:
  void SetUp() override {
    ports_.sets.emplace_back("edge.emergency_relay", "stateful");
    startProxy("udp", /*withLocations=*/true);
    ASSERT_TRUE(psapA_.ok());
    ASSERT_TRUE(psapB_.ok());
    ASSERT_TRUE(phone_.ok());
  }
  std::string proxyPort() const { return std::to_string(ports_.proxy); }
  // sosproxy's Record-Route with a dialog token, as the relay writes it.
  std::regex ourRoute() const {
    return std::regex("<sip:127\\.0\\.0\\.1:" + proxyPort() + ";lr;sosrelay;tok=[0-9a-f]{16}>");
  }
  // A 911 from extension 1001's phone at 10.1.2.45 (HQ Floor 2 by its Contact's subnet).
  RawRequest emergencyInvite(const std::string& callId) {
    RawRequest r;
    r.requestUri = "sip:911@127.0.0.1:" + proxyPort();
    r.callId = callId;
    r.branch = "z9hG4bK-" + callId;
    r.body = sdpOffer("10.1.2.45");
    return r;
  }
  std::string send(const RawRequest& r) {
    const std::string bytes = buildRequest(r, phone_.ip(), phone_.port());
    EXPECT_TRUE(phone_.send(bytes, ports_.proxy));
    return bytes;
  }
  std::string receive(RawUdp& at, const std::string& prefix, int ms = 10000) {
    return at.receiveStarting(prefix, milliseconds(ms)).value_or("");
  }

  RawUdp psapA_{"127.0.0.1", ports_.psapA};
  RawUdp psapB_{"127.0.0.1", ports_.psapB};
  RawUdp phone_{"127.0.0.3"};  // trusted
};

// A whole call, each message checked where it arrives.
TEST_F(EmergencyRelayTest, AnEmergencyCallCrossesAsAProxyWithItsLocation) {
  const RawRequest invite = emergencyInvite("er-call");
  const std::string sent = send(invite);
  const std::string trying = receive(phone_, "SIP/2.0 100");
  ASSERT_FALSE(trying.empty()) << routingLogText();
  EXPECT_EQ(rawHeader(trying, "Call-ID"), invite.callId);
  const std::string got = receive(psapA_, "INVITE ");
  ASSERT_FALSE(got.empty()) << routingLogText();

  EXPECT_EQ(startLine(got),
            "INVITE sip:911@127.0.0.1:" + std::to_string(ports_.psapA) + " SIP/2.0");
  const auto vias = headerValues(got, "Via");
  ASSERT_EQ(vias.size(), 2u) << got;
  EXPECT_EQ(vias[0].rfind("SIP/2.0/UDP 127.0.0.1:" + proxyPort() + ";branch=z9hG4bKse", 0), 0u)
      << got;
  EXPECT_EQ(vias[1].rfind(rawHeader(sent, "Via"), 0), 0u) << got;
  const auto routes = headerValues(got, "Record-Route");
  ASSERT_EQ(routes.size(), 1u) << got;
  EXPECT_TRUE(std::regex_match(routes[0], ourRoute())) << got;
  // The caller's dialog, end to end: no second leg.
  for (const char* same : {"From", "To", "Call-ID", "CSeq", "Contact"})
    EXPECT_EQ(rawHeader(got, same), rawHeader(sent, same)) << same << "\n" << got;
  EXPECT_EQ(rawHeader(got, "Max-Forwards"), "69") << got;
  // The location by value (RFC 6442): multipart/mixed with the SDP and sosproxy's PIDF-LO.
  EXPECT_EQ(rawHeader(got, "Content-Type").rfind("multipart/mixed;", 0), 0u) << got;
  EXPECT_EQ(rawHeader(got, "Geolocation-Routing"), "yes") << got;
  EXPECT_EQ(rawHeader(got, "Geolocation").rfind("<cid:", 0), 0u) << got;
  const std::string body = bodyOf(got);
  EXPECT_EQ(std::to_string(body.size()), rawHeader(got, "Content-Length")) << got;
  EXPECT_NE(body.find(invite.body), std::string::npos) << got;
  EXPECT_NE(body.find("application/pidf+xml"), std::string::npos) << got;
  EXPECT_NE(body.find("<ca:FLR>2</ca:FLR>"), std::string::npos) << got;  // HQ Floor 2

  // A retransmission of the INVITE gets the 100 again and never reaches the trunk twice.
  ASSERT_TRUE(phone_.send(sent, ports_.proxy));
  EXPECT_FALSE(receive(phone_, "SIP/2.0 100").empty());

  const std::string ringing = answerFrom(got, "180 Ringing", "psap-1", ports_.psapA);
  ASSERT_TRUE(psapA_.send(ringing, ports_.proxy));
  const std::string gotRinging = receive(phone_, "SIP/2.0 180");
  ASSERT_FALSE(gotRinging.empty());
  EXPECT_EQ(headerValues(gotRinging, "Via").size(), 1u) << gotRinging;
  ASSERT_TRUE(psapA_.send(answerFrom(got, "200 OK", "psap-1", ports_.psapA), ports_.proxy));
  const std::string ok = receive(phone_, "SIP/2.0 200");
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(headerValues(ok, "Via").size(), 1u) << ok;
  const auto okRoutes = headerValues(ok, "Record-Route");
  ASSERT_EQ(okRoutes.size(), 1u) << ok;
  EXPECT_TRUE(std::regex_match(okRoutes[0], ourRoute())) << ok;
  // Only the one INVITE reached the trunk: the phone's retransmission stayed in sosproxy.
  EXPECT_EQ(psapA_.receiveStarting("INVITE ", milliseconds(200)), std::nullopt);

  // ACK and BYE follow the Record-Route to the PSAP's Contact.
  RawRequest ack = invite;
  ack.method = "ACK";
  ack.requestUri = "sip:psap@127.0.0.1:" + std::to_string(ports_.psapA);
  ack.toTag = "psap-1";
  ack.toUri = invite.requestUri;
  ack.branch = "z9hG4bK-er-call-ack";
  ack.body.clear();
  ack.extra = "Route: " + okRoutes[0] + "\r\n";
  send(ack);
  const std::string gotAck = receive(psapA_, "ACK ");
  ASSERT_FALSE(gotAck.empty());
  EXPECT_EQ(rawHeader(gotAck, "Route"), "") << gotAck;
  RawRequest bye = ack;
  bye.method = "BYE";
  bye.cseq = 2;
  bye.branch = "z9hG4bK-er-call-bye";
  send(bye);
  const std::string gotBye = receive(psapA_, "BYE ");
  ASSERT_FALSE(gotBye.empty());
  ASSERT_TRUE(psapA_.send(answerFrom(gotBye, "200 OK", "psap-1", ports_.psapA), ports_.proxy));
  EXPECT_EQ(rawHeader(receive(phone_, "SIP/2.0 200"), "CSeq"), "2 BYE");

  auto route = waitForLogLine({{"event", "route"}, {"call_id", invite.callId}});
  EXPECT_EQ(route.get("location"), "HQ Floor 2") << route.raw;
  EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
  EXPECT_EQ(route.get("pidf"), "added") << route.raw;
  auto final = waitForLogLine({{"event", "final"}, {"call_id", invite.callId}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("attempts"), "il-psap-a:200") << final.raw;
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_active_calls") == 0; }, milliseconds(5000)))
      << metrics();
  EXPECT_EQ(metric("sosproxy_emergency_calls_total"), 1) << metrics();
  EXPECT_TRUE(waitFor(
      [&] {
        return storeCount(
                   "SELECT COUNT(*) FROM call_records WHERE call_id = 'er-call' AND "
                   "outcome = 'answered' AND trunk = 'il-psap-a'") == 1;
      },
      milliseconds(10000)));
}

// A trunk that says nothing gets the INVITE again (Timer A), then after response_timeout_s (2 s
// here) the call goes to the next trunk with a new branch; the caller hears 180 meanwhile; the
// first trunk's late answer is ACKed and hung up.
TEST_F(EmergencyRelayTest, ATrunkThatSaysNothingIsLeftForTheNextAndItsLateAnswerHungUp) {
  const RawRequest invite = emergencyInvite("er-failover");
  send(invite);
  const std::string first = receive(psapA_, "INVITE ");
  ASSERT_FALSE(first.empty()) << routingLogText();
  const std::string again = receive(psapA_, "INVITE ", 3000);
  ASSERT_FALSE(again.empty()) << "no retransmission within 3 s";
  EXPECT_EQ(again, first);  // the same request, byte for byte
  const std::string next = receive(psapB_, "INVITE ");
  ASSERT_FALSE(next.empty()) << routingLogText();
  EXPECT_EQ(rawHeader(next, "Call-ID"), invite.callId);
  EXPECT_NE(viaBranch(headerValues(next, "Via")[0]), viaBranch(headerValues(first, "Via")[0]));
  // il-psap-b is an ELIN trunk: HQ Floor 2's ELIN is the caller, in From (its tag the phone's)
  // and P-Asserted-Identity; the body is the phone's SDP.
  EXPECT_TRUE(std::regex_match(rawHeader(next, "From"),
                               std::regex("<sip:\\+121755501[01]2@127\\.0\\.0\\.3:[0-9]+>;tag=.+")))
      << next;
  EXPECT_TRUE(std::regex_match(rawHeader(next, "P-Asserted-Identity"),
                               std::regex("<sip:\\+121755501[01]2@127\\.0\\.0\\.1>")))
      << next;
  EXPECT_EQ(bodyOf(next), invite.body) << next;
  EXPECT_FALSE(receive(phone_, "SIP/2.0 180").empty());
  // The answer from an address that is neither a trunk nor trusted goes nowhere.
  const std::string answer = answerFrom(next, "200 OK", "psap-b", ports_.psapB);
  RawUdp stranger("127.0.0.2");
  ASSERT_TRUE(stranger.send(answer, ports_.proxy));
  EXPECT_EQ(phone_.receiveStarting("SIP/2.0 200", milliseconds(300)), std::nullopt);
  ASSERT_TRUE(psapB_.send(answer, ports_.proxy));
  EXPECT_FALSE(receive(phone_, "SIP/2.0 200").empty());

  // il-psap-a answers at last: sosproxy confirms and ends that dialog itself.
  ASSERT_TRUE(psapA_.send(answerFrom(first, "200 OK", "psap-a", ports_.psapA), ports_.proxy));
  const std::string ack = receive(psapA_, "ACK ");
  ASSERT_FALSE(ack.empty());
  EXPECT_EQ(rawHeader(ack, "To").find(";tag=psap-a") != std::string::npos, true) << ack;
  const std::string bye = receive(psapA_, "BYE ");
  ASSERT_FALSE(bye.empty());
  EXPECT_EQ(rawHeader(bye, "CSeq"), "2 BYE") << bye;
  EXPECT_EQ(rawHeader(bye, "Call-ID"), invite.callId) << bye;

  auto failover = waitForLogLine({{"event", "failover"}, {"call_id", invite.callId}});
  EXPECT_NE(failover.get("reason").find("il-psap-a: no response within 2000 ms; trying il-psap-b"),
            std::string::npos)
      << failover.raw;
  auto final = waitForLogLine({{"event", "final"}, {"call_id", invite.callId}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("trunk"), "il-psap-b") << final.raw;
}

// The caller's CANCEL: 200 at once, a CANCEL to the ringing trunk with its INVITE's branch, the
// trunk's 487 to the caller and ACKed by sosproxy (RFC 3261 9.1, 16.10, 17.1.1.3).
TEST_F(EmergencyRelayTest, TheCallersCancelReachesTheRingingTrunk) {
  const RawRequest invite = emergencyInvite("er-cancel");
  const std::string sent = send(invite);
  const std::string got = receive(psapA_, "INVITE ");
  ASSERT_FALSE(got.empty()) << routingLogText();
  ASSERT_TRUE(psapA_.send(answerFrom(got, "180 Ringing", "psap-1", ports_.psapA), ports_.proxy));
  ASSERT_FALSE(receive(phone_, "SIP/2.0 180").empty());

  RawRequest cancel = invite;
  cancel.method = "CANCEL";
  cancel.body.clear();
  // The same CANCEL from another socket is not the caller's: the call goes on.
  RawUdp other("127.0.0.3");
  ASSERT_TRUE(other.send(buildRequest(cancel, phone_.ip(), phone_.port()), ports_.proxy));
  EXPECT_EQ(statusOf(receive(other, "SIP/2.0")), 481);
  EXPECT_EQ(psapA_.receiveStarting("CANCEL ", milliseconds(300)), std::nullopt);
  send(cancel);
  EXPECT_EQ(rawHeader(receive(phone_, "SIP/2.0 200"), "CSeq"), "1 CANCEL");
  const std::string gotCancel = receive(psapA_, "CANCEL ");
  ASSERT_FALSE(gotCancel.empty());
  EXPECT_EQ(headerValues(gotCancel, "Via"), std::vector<std::string>{headerValues(got, "Via")[0]});
  EXPECT_EQ(rawHeader(gotCancel, "CSeq"), "1 CANCEL");
  const std::string terminated = answerFrom(got, "487 Request Terminated", "psap-1", ports_.psapA);
  ASSERT_TRUE(psapA_.send(terminated, ports_.proxy));
  const std::string gotTerminated = receive(phone_, "SIP/2.0 487");
  ASSERT_FALSE(gotTerminated.empty());
  EXPECT_EQ(headerValues(gotTerminated, "Via").size(), 1u) << gotTerminated;
  const std::string ack = receive(psapA_, "ACK ");
  ASSERT_FALSE(ack.empty());
  EXPECT_EQ(headerValues(ack, "Via"), std::vector<std::string>{headerValues(got, "Via")[0]});
  EXPECT_EQ(rawHeader(ack, "CSeq"), "1 ACK");
  // The INVITE again: its final answer again.
  ASSERT_TRUE(phone_.send(sent, ports_.proxy));
  EXPECT_FALSE(receive(phone_, "SIP/2.0 487").empty());

  auto final = waitForLogLine({{"event", "final"}, {"call_id", invite.callId}});
  EXPECT_EQ(final.get("outcome"), "cancelled") << final.raw;
}

// A CANCEL before the trunk said anything: the caller gets 200 and 487 at once, the INVITE is no
// longer sent again, and the trunk gets its CANCEL as soon as it speaks (RFC 3261 9.1).
TEST_F(EmergencyRelayTest, ACancelBeforeTheTrunkSpeaksWaitsForItsFirstResponse) {
  const RawRequest invite = emergencyInvite("er-early-cancel");
  send(invite);
  const std::string got = receive(psapA_, "INVITE ");
  ASSERT_FALSE(got.empty()) << routingLogText();
  RawRequest cancel = invite;
  cancel.method = "CANCEL";
  cancel.body.clear();
  send(cancel);
  EXPECT_EQ(rawHeader(receive(phone_, "SIP/2.0 200"), "CSeq"), "1 CANCEL");
  EXPECT_FALSE(receive(phone_, "SIP/2.0 487").empty());
  // Timer A would have sent it again within 500 ms; given up, it is not.
  EXPECT_EQ(psapA_.receiveStarting("INVITE ", milliseconds(1200)), std::nullopt);
  ASSERT_TRUE(psapA_.send(answerFrom(got, "180 Ringing", "psap-1", ports_.psapA), ports_.proxy));
  const std::string gotCancel = receive(psapA_, "CANCEL ");
  ASSERT_FALSE(gotCancel.empty());
  EXPECT_EQ(headerValues(gotCancel, "Via"), std::vector<std::string>{headerValues(got, "Via")[0]});
  auto final = waitForLogLine({{"event", "final"}, {"call_id", invite.callId}});
  EXPECT_EQ(final.get("outcome"), "cancelled") << final.raw;
}

// RFC 6442 section 4.3: a 424 to sosproxy's PIDF-LO is ACKed and the INVITE goes again to the
// same trunk, a new transaction, with HQ Floor 2's ELIN as the caller and the SDP alone.
TEST_F(EmergencyRelayTest, A424IsRetriedOnTheSameTrunkWithTheElinOnly) {
  const RawRequest invite = emergencyInvite("er-424");
  send(invite);
  const std::string first = receive(psapA_, "INVITE ");
  ASSERT_FALSE(first.empty()) << routingLogText();
  ASSERT_NE(bodyOf(first).find("application/pidf+xml"), std::string::npos) << first;
  ASSERT_TRUE(psapA_.send(answerFrom(first, "424 Bad Location Information", "psap-1", ports_.psapA),
                          ports_.proxy));
  const std::string ack = receive(psapA_, "ACK ");
  ASSERT_FALSE(ack.empty());
  EXPECT_EQ(headerValues(ack, "Via"), std::vector<std::string>{headerValues(first, "Via")[0]});
  const std::string again = receive(psapA_, "INVITE ");
  ASSERT_FALSE(again.empty()) << routingLogText();
  EXPECT_NE(viaBranch(headerValues(again, "Via")[0]), viaBranch(headerValues(first, "Via")[0]));
  EXPECT_EQ(rawHeader(again, "Call-ID"), invite.callId);
  EXPECT_TRUE(std::regex_match(rawHeader(again, "From"),
                               std::regex("<sip:\\+121755501[01]2@127\\.0\\.0\\.3:[0-9]+>;tag=.+")))
      << again;
  EXPECT_EQ(rawHeader(again, "Geolocation"), "") << again;
  EXPECT_EQ(bodyOf(again), invite.body) << again;
  ASSERT_TRUE(psapA_.send(answerFrom(again, "200 OK", "psap-2", ports_.psapA), ports_.proxy));
  EXPECT_FALSE(receive(phone_, "SIP/2.0 200").empty());
  auto retry = waitForLogLine({{"event", "retry"}, {"call_id", invite.callId}});
  EXPECT_EQ(retry.get("status"), "424") << retry.raw;
  auto final = waitForLogLine({{"event", "final"}, {"call_id", invite.callId}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("attempts"), "il-psap-a:424 il-psap-a:200") << final.raw;
}

// What the relay does not take keeps the B2BUA: here il-psap-a moves large requests to TCP
// (tcp_fallback), which the relay does not do, so the PSAP receives the B2BUA's own leg (over
// TCP: with its PIDF-LO the INVITE is over 1300 bytes).
class EmergencyRelayFallback : public B2buaTest {
 protected:
  void SetUp() override {
    ports_.sets.emplace_back("edge.emergency_relay", "stateful");
    ports_.sets.emplace_back("edge.ordinary_relay", "stateless");  // both: the thread cache
    ports_.psapATcpFallback = true;
    startProxy("udp", /*withLocations=*/true);
  }
};

TEST_F(EmergencyRelayFallback, ARouteWithATcpFallbackTrunkKeepsTheB2bua) {
  RawTcpServer psap(ports_.psapA);
  RawUdp phone("127.0.0.3");
  ASSERT_TRUE(psap.ok() && phone.ok());
  RawRequest r;
  r.requestUri = "sip:911@127.0.0.1:" + std::to_string(ports_.proxy);
  r.callId = "er-fallback";
  r.branch = "z9hG4bK-er-fallback";
  r.body = sdpOffer("10.1.2.45");
  ASSERT_TRUE(phone.send(buildRequest(r, phone.ip(), phone.port()), ports_.proxy));
  const std::string got = psap.receiveMessage(milliseconds(10000)).value_or("");
  ASSERT_FALSE(got.empty()) << routingLogText();
  EXPECT_NE(rawHeader(got, "Call-ID"), r.callId) << got;  // the B2BUA's second leg
  EXPECT_EQ(headerValues(got, "Via").size(), 1u) << got;
  EXPECT_NE(bodyOf(got).find("<ca:FLR>2</ca:FLR>"), std::string::npos) << got;
  auto line = waitForLogLine({{"event", "route"}, {"call_id", r.callId}});
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
}

class EmergencyRelaySipp : public B2buaTest {
 protected:
  void SetUp() override {
    ports_.sets.emplace_back("edge.emergency_relay", "stateful");
    ports_.sets.emplace_back("edge.ordinary_relay", "stateless");  // both: the thread cache
    startProxy("udp", /*withLocations=*/true);
  }
};

// With SIPp at both ends: the PSAP's stand-in checks the PIDF-LO of what it receives, and the
// Call-ID it sees is the caller's (no second leg).
TEST_F(EmergencyRelaySipp, APsapStandInFindsTheLocationInTheCallersOwnDialog) {
  auto psap =
      startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a", "u1", {{"proxied", "1"}});
  Sipp uac(call911Options("1001", "10.1.2.45", "er-sipp"), dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(inviteCallId(*psap, true), inviteCallId(uac, false)) << "one dialog, end to end";
  auto line = waitForLogLine({{"event", "final"}, {"call_id", inviteCallId(uac, false)}});
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  EXPECT_EQ(line.get("outcome"), "answered") << line.raw;
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 0) << metrics();
#ifdef SOS_WITH_JEMALLOC
  EXPECT_TRUE(outputShows("SIP thread: a thread cache in front of its arenas (both relays on)"));
#endif
}

}  // namespace
}  // namespace sos::itest
