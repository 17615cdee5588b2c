// edge.ordinary_relay: stateless, against the real sosproxy: an ordinary call crosses it as a
// stateless proxy's would (RFC 3261 16.11): what the carrier receives is what the phone sent
// but for sosproxy's Via, its Record-Route, Max-Forwards and what the phone could not vouch for;
// the answers, the ACK and the BYE find their way by Via and Route; a CANCEL and the ACK of a
// failure leave with their INVITE's branch; a response sosproxy did not cause is dropped; a
// request with sosproxy's Record-Route goes nowhere its source may not reach; an emergency call
// still takes the B2BUA with its PIDF-LO.

#include <gtest/gtest.h>

#include <strings.h>

#include <regex>
#include <thread>

#include "b2bua_fixture.h"
#include "raw_sip.h"

namespace sos::itest {
namespace {

class StatelessRelayTest : public B2buaTest {
 protected:
  void SetUp() override {
    ports_.sets.emplace_back("edge.ordinary_relay", "stateless");
    startProxy("udp", /*withLocations=*/true);
    ASSERT_TRUE(carrier_.ok());
    ASSERT_TRUE(phone_.ok());
  }
  std::string proxyPort() const { return std::to_string(ports_.proxy); }
  std::string ourRoute() const { return "<sip:127.0.0.1:" + proxyPort() + ";lr;sosrelay>"; }
  // sosproxy's Record-Route with a dialog token (16 hex digits), as the relay writes it.
  std::regex ourTokenRoute() const {
    return std::regex("<sip:127\\.0\\.0\\.1:" + proxyPort() + ";lr;sosrelay;tok=[0-9a-f]{16}>");
  }
  RawRequest ordinaryInvite(const std::string& callId) {
    RawRequest r;
    r.requestUri = "sip:5551234@127.0.0.1:" + proxyPort();
    r.callId = callId;
    r.branch = "z9hG4bK-" + callId;
    r.body = sdpOffer(phone_.ip());
    return r;
  }
  // The phone sends, the carrier receives (within 10 s).
  std::string phoneToCarrier(const RawRequest& r) {
    EXPECT_TRUE(phone_.send(buildRequest(r, phone_.ip(), phone_.port()), ports_.proxy));
    return carrier_.receiveStarting(r.method + " ", milliseconds(10000)).value_or("");
  }
  // The carrier answers, the phone receives the answer (within 10 s).
  std::string carrierToPhone(const std::string& response) {
    EXPECT_TRUE(carrier_.send(response, ports_.proxy));
    return phone_.receiveStarting(startLine(response).substr(0, 11), milliseconds(10000))
        .value_or("");
  }

  RawUdp carrier_{"127.0.0.1", ports_.carrier};
  RawUdp phone_{"127.0.0.3"};  // trusted, neither in pbx_sources nor in network_sources
};

// A whole call: INVITE, 180, 200, ACK, BYE and its 200, each checked where it arrives.
TEST_F(StatelessRelayTest, AnOrdinaryCallArrivesAsSentButForWhatAProxyChanges) {
  RawRequest invite = ordinaryInvite("relay-call");
  invite.extra =
      "P-Asserted-Identity: <sip:1003@pbx.hq.example>\r\n"
      "P-Access-Network-Info: IEEE-802.11; i-wlan-node-id=001122334455; network-provided\r\n"
      "X-Trace: kept as sent\r\n";
  const std::string sent = buildRequest(invite, phone_.ip(), phone_.port());
  const std::string got = phoneToCarrier(invite);
  ASSERT_FALSE(got.empty()) << routingLogText();

  EXPECT_EQ(startLine(got), "INVITE " + invite.requestUri + " SIP/2.0");
  const auto vias = headerValues(got, "Via");
  ASSERT_EQ(vias.size(), 2u) << got;
  EXPECT_EQ(vias[0].rfind("SIP/2.0/UDP 127.0.0.1:" + proxyPort() + ";", 0), 0u) << got;
  EXPECT_EQ(viaBranch(vias[0]).rfind("z9hG4bKsl", 0), 0u) << got;
  // nta notes the port the phone sent from (rport, RFC 3581), nothing else changes.
  EXPECT_EQ(vias[1], rawHeader(sent, "Via") + ";rport=" + std::to_string(phone_.port())) << got;
  const auto inviteRoutes = headerValues(got, "Record-Route");
  ASSERT_EQ(inviteRoutes.size(), 1u) << got;
  EXPECT_TRUE(std::regex_match(inviteRoutes[0], ourTokenRoute())) << got;
  EXPECT_EQ(rawHeader(got, "Max-Forwards"), "69") << got;
  for (const char* same : {"From", "To", "Call-ID", "CSeq", "Contact", "X-Trace", "Content-Type"})
    EXPECT_EQ(rawHeader(got, same), rawHeader(sent, same)) << same << "\n" << got;
  EXPECT_EQ(bodyOf(got), invite.body) << got;
  // 127.0.0.3 may vouch for neither the caller's identity nor the network.
  EXPECT_EQ(rawHeader(got, "P-Asserted-Identity"), "") << got;
  EXPECT_EQ(rawHeader(got, "P-Access-Network-Info"), "IEEE-802.11; i-wlan-node-id=001122334455")
      << got;

  const std::string ringing =
      carrierToPhone(answerFrom(got, "180 Ringing", "carrier-1", ports_.carrier));
  ASSERT_FALSE(ringing.empty());
  EXPECT_EQ(headerValues(ringing, "Via"), std::vector<std::string>{vias[1]}) << ringing;
  const std::string ok = carrierToPhone(answerFrom(got, "200 OK", "carrier-1", ports_.carrier));
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(headerValues(ok, "Via"), std::vector<std::string>{vias[1]}) << ok;
  // sosproxy's Record-Route, its token now over the carrier's Contact (RFC 3261 16.7 step 4).
  const auto okRoutes = headerValues(ok, "Record-Route");
  ASSERT_EQ(okRoutes.size(), 1u) << ok;
  EXPECT_TRUE(std::regex_match(okRoutes[0], ourTokenRoute())) << ok;
  EXPECT_NE(okRoutes[0], inviteRoutes[0]) << ok;

  // The dialog's requests follow the Record-Route: sosproxy pops its Route and sends them on.
  RawRequest ack = invite;
  ack.method = "ACK";
  ack.requestUri = "sip:carrier@127.0.0.1:" + std::to_string(ports_.carrier);
  ack.toUri = invite.requestUri;
  ack.toTag = "carrier-1";
  ack.branch = "z9hG4bK-relay-call-ack";
  ack.body.clear();
  ack.extra = "Route: " + ourRoute() + "\r\n";
  const std::string gotAck = phoneToCarrier(ack);
  ASSERT_FALSE(gotAck.empty());
  EXPECT_EQ(startLine(gotAck), "ACK " + ack.requestUri + " SIP/2.0");
  EXPECT_EQ(rawHeader(gotAck, "Route"), "") << gotAck;
  EXPECT_EQ(headerValues(gotAck, "Via").size(), 2u) << gotAck;

  RawRequest bye = ack;
  bye.method = "BYE";
  bye.cseq = 2;
  bye.branch = "z9hG4bK-relay-call-bye";
  const std::string gotBye = phoneToCarrier(bye);
  ASSERT_FALSE(gotBye.empty());
  EXPECT_EQ(rawHeader(gotBye, "Route"), "") << gotBye;
  EXPECT_EQ(rawHeader(gotBye, "Max-Forwards"), "69") << gotBye;
  const std::string byeOk =
      carrierToPhone(answerFrom(gotBye, "200 OK", "carrier-1", ports_.carrier));
  EXPECT_EQ(rawHeader(byeOk, "CSeq"), "2 BYE") << byeOk;

  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_in_dialog_total"), 2) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_responses_total"), 3) << metrics();
  // The 180, the 200, the ACK, the BYE and its 200 never met Sofia: taken off the SIP port.
  EXPECT_EQ(metric("sosproxy_relay_taken_total"), 5) << metrics();
  // No call was held: nothing for the B2BUA's counts.
  EXPECT_EQ(metric("sosproxy_calls_total"), 0) << metrics();
}

// RFC 3261 16.11: the CANCEL and the ACK of the 487 reach the carrier with the INVITE's branch,
// so that the carrier matches them to it; the 487 and the CANCEL's 200 reach the phone.
TEST_F(StatelessRelayTest, ACancelAndTheAckOfTheFailureFollowTheInvitesBranch) {
  RawRequest invite = ordinaryInvite("relay-cancel");
  // Sent without Max-Forwards: the relay adds one (RFC 3261 16.6 step 3), among the headers.
  std::string withoutMf = buildRequest(invite, phone_.ip(), phone_.port());
  withoutMf.erase(withoutMf.find("Max-Forwards: 70\r\n"), 18);
  ASSERT_TRUE(phone_.send(withoutMf, ports_.proxy));
  const std::string got = carrier_.receiveStarting("INVITE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(rawHeader(got, "Max-Forwards"), "70") << got;
  EXPECT_EQ(bodyOf(got), invite.body) << got;
  const std::string branch = viaBranch(headerValues(got, "Via")[0]);

  RawRequest cancel = invite;
  cancel.method = "CANCEL";
  cancel.body.clear();
  const std::string gotCancel = phoneToCarrier(cancel);
  ASSERT_FALSE(gotCancel.empty());
  EXPECT_EQ(viaBranch(headerValues(gotCancel, "Via")[0]), branch) << gotCancel;
  EXPECT_EQ(rawHeader(gotCancel, "CSeq"), "1 CANCEL") << gotCancel;
  EXPECT_EQ(rawHeader(gotCancel, "Record-Route"), "") << gotCancel;

  const std::string cancelOk =
      carrierToPhone(answerFrom(gotCancel, "200 OK", "c2", ports_.carrier));
  EXPECT_EQ(rawHeader(cancelOk, "CSeq"), "1 CANCEL") << cancelOk;
  const std::string terminated =
      carrierToPhone(answerFrom(got, "487 Request Terminated", "c2", ports_.carrier));
  EXPECT_EQ(statusOf(terminated), 487) << terminated;

  RawRequest ack = invite;
  ack.method = "ACK";
  ack.toTag = "c2";
  ack.body.clear();
  const std::string gotAck = phoneToCarrier(ack);
  ASSERT_FALSE(gotAck.empty());
  EXPECT_EQ(viaBranch(headerValues(gotAck, "Via")[0]), branch) << gotAck;
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 3) << metrics();
}

// A response sosproxy did not cause (a branch it did not make, or from an untrusted source) is
// dropped, not reflected at the address its Via names; a request carrying sosproxy's
// Record-Route goes only from a phone to a trunk or from a trunk to a phone.
TEST_F(StatelessRelayTest, ForgedResponsesAndRoutesGoNowhere) {
  const std::string got = phoneToCarrier(ordinaryInvite("relay-forged"));
  ASSERT_FALSE(got.empty());
  const auto vias = headerValues(got, "Via");
  std::string forged = answerFrom(got, "200 OK", "f1", ports_.carrier);
  const std::string realBranch = viaBranch(vias[0]);
  forged.replace(forged.find(realBranch), realBranch.size(), "z9hG4bKsl0123456789abcdef");
  ASSERT_TRUE(carrier_.send(forged, ports_.proxy));
  RawUdp stranger("127.0.0.2");
  ASSERT_TRUE(stranger.send(answerFrom(got, "200 OK", "f2", ports_.carrier), ports_.proxy));
  for (int i = 0; i < 100 && metric("sosproxy_edge_stray_responses_total") < 2; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(metric("sosproxy_edge_stray_responses_total"), 2) << metrics();
  EXPECT_FALSE(phone_.receive(milliseconds(300))) << "a forged response was relayed";
  EXPECT_EQ(metric("sosproxy_relay_responses_total"), 0) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_taken_total"), 0) << metrics();  // Sofia's, as strays

  // From a phone to another phone's address (127.0.0.3 is no trunk): refused.
  RawRequest bye;
  bye.method = "BYE";
  bye.requestUri = "sip:1002@127.0.0.3:5062";
  bye.callId = "relay-forged-bye";
  bye.branch = "z9hG4bK-relay-forged-bye";
  bye.toTag = "t1";
  bye.extra = "Route: " + ourRoute() + "\r\n";
  ASSERT_TRUE(phone_.send(buildRequest(bye, phone_.ip(), phone_.port()), ports_.proxy));
  const auto refused = phone_.receive(milliseconds(5000));
  ASSERT_TRUE(refused);
  EXPECT_EQ(statusOf(*refused), 403) << *refused;
  // From a stranger to the carrier: refused as well.
  bye.requestUri = "sip:carrier@127.0.0.1:" + std::to_string(ports_.carrier);
  bye.branch += "-2";
  ASSERT_TRUE(stranger.send(buildRequest(bye, stranger.ip(), stranger.port()), ports_.proxy));
  const auto refused2 = stranger.receive(milliseconds(5000));
  ASSERT_TRUE(refused2);
  EXPECT_EQ(statusOf(*refused2), 403) << *refused2;
  EXPECT_EQ(metric("sosproxy_relay_refused_total"), 2) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_taken_total"), 2) << metrics();
  EXPECT_FALSE(carrier_.receive(milliseconds(300))) << "a refused request reached the carrier";
}

// A carrier whose Contact is not its trunk's address (its answers come from the trunk, its
// dialog's requests go to and come from 127.0.0.2): the dialog token in sosproxy's Record-Route
// lets the phone's BYE reach that address and the carrier's BYE from there reach the phone; a
// Route whose token names another address is refused, as is one without a token.
TEST_F(StatelessRelayTest, ACarrierAnsweringFromAnotherAddressGetsAndSendsTheDialogsRequests) {
  RawUdp elsewhere("127.0.0.2");  // the carrier's other address: neither a trunk nor trusted
  ASSERT_TRUE(elsewhere.ok());
  RawRequest invite = ordinaryInvite("relay-elsewhere");
  // The phone's Contact: its own address, where the carrier's requests are to reach it.
  const std::string phoneContact = "sip:1001@" + phone_.ip() + ":" + std::to_string(phone_.port());
  std::string sent = buildRequest(invite, phone_.ip(), phone_.port());
  sent.replace(sent.find("sip:1001@10.1.2.45:5060"), 23, phoneContact);
  ASSERT_TRUE(phone_.send(sent, ports_.proxy));
  const std::string got = carrier_.receiveStarting("INVITE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(got.empty()) << routingLogText();
  const std::string inviteRoute = headerValues(got, "Record-Route").at(0);
  const std::string ok =
      carrierToPhone(answerFrom(got, "200 OK", "else-1", elsewhere.port(), elsewhere.ip()));
  ASSERT_FALSE(ok.empty());
  const std::string okRoute = headerValues(ok, "Record-Route").at(0);
  ASSERT_TRUE(std::regex_match(okRoute, ourTokenRoute())) << ok;

  // The phone's BYE to the carrier's Contact, through the route the 200 gave it.
  RawRequest bye = invite;
  bye.method = "BYE";
  bye.requestUri = "sip:carrier@127.0.0.2:" + std::to_string(elsewhere.port());
  bye.toUri = invite.requestUri;
  bye.toTag = "else-1";
  bye.cseq = 2;
  bye.branch = "z9hG4bK-relay-elsewhere-bye";
  bye.body.clear();
  bye.extra = "Route: " + okRoute + "\r\n";
  ASSERT_TRUE(phone_.send(buildRequest(bye, phone_.ip(), phone_.port()), ports_.proxy));
  const std::string gotBye = elsewhere.receiveStarting("BYE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(gotBye.empty()) << metrics();
  EXPECT_EQ(startLine(gotBye), "BYE " + bye.requestUri + " SIP/2.0");
  EXPECT_EQ(rawHeader(gotBye, "Route"), "") << gotBye;

  // The same with the INVITE's token (over the phone's Contact), or with none: refused.
  for (const std::string& route : {inviteRoute, ourRoute()}) {
    bye.branch += "-x";
    bye.extra = "Route: " + route + "\r\n";
    ASSERT_TRUE(phone_.send(buildRequest(bye, phone_.ip(), phone_.port()), ports_.proxy));
    const auto refused = phone_.receive(milliseconds(5000));
    ASSERT_TRUE(refused) << route;
    EXPECT_EQ(statusOf(*refused), 403) << *refused;
  }

  // The carrier's BYE from its other address to the phone, through the INVITE's route.
  RawRequest back;
  back.method = "BYE";
  back.requestUri = phoneContact;
  back.callId = invite.callId;
  back.branch = "z9hG4bK-relay-elsewhere-back";
  back.toTag = "else-1";
  back.extra = "Route: " + inviteRoute + "\r\n";
  ASSERT_TRUE(elsewhere.send(buildRequest(back, elsewhere.ip(), elsewhere.port()), ports_.proxy));
  const std::string gotBack = phone_.receiveStarting("BYE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(gotBack.empty()) << metrics();
  EXPECT_EQ(startLine(gotBack), "BYE " + phoneContact + " SIP/2.0");
  // Without the token, 127.0.0.2 is a stranger: refused.
  back.branch += "-x";
  back.extra = "Route: " + ourRoute() + "\r\n";
  ASSERT_TRUE(elsewhere.send(buildRequest(back, elsewhere.ip(), elsewhere.port()), ports_.proxy));
  const auto refused = elsewhere.receive(milliseconds(5000));
  ASSERT_TRUE(refused);
  EXPECT_EQ(statusOf(*refused), 403) << *refused;
  EXPECT_EQ(metric("sosproxy_relay_in_dialog_total"), 2) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_refused_total"), 3) << metrics();
}

// A request of a relayed dialog that Sofia reads (over TCP here, where nothing is taken off the
// SIP port before it) is relayed all the same: written out, read as bytes, sent on over UDP.
TEST_F(StatelessRelayTest, ADialogsRequestSofiaReadsIsRelayedToo) {
  RawRequest bye;
  bye.method = "BYE";
  bye.requestUri = "sip:carrier@127.0.0.1:" + std::to_string(ports_.carrier);
  bye.callId = "relay-tcp-bye";
  bye.branch = "z9hG4bK-relay-tcp-bye";
  bye.toTag = "t1";
  bye.extra = "Route: " + ourRoute() + "\r\nX-Trace: kept\r\n";
  RawTcp tcp(ports_.proxy, "127.0.0.3");
  ASSERT_TRUE(tcp.ok());
  std::string sent = buildRequest(bye, "127.0.0.3", 5099);
  sent.replace(sent.find("SIP/2.0/UDP"), 11, "SIP/2.0/TCP");
  ASSERT_TRUE(tcp.send(sent));
  const std::string got = carrier_.receiveStarting("BYE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(got.empty()) << metrics();
  EXPECT_EQ(startLine(got), "BYE " + bye.requestUri + " SIP/2.0");
  EXPECT_EQ(rawHeader(got, "Route"), "") << got;
  EXPECT_EQ(rawHeader(got, "X-Trace"), "kept") << got;
  EXPECT_EQ(rawHeader(got, "Max-Forwards"), "69") << got;
  const auto vias = headerValues(got, "Via");
  ASSERT_EQ(vias.size(), 2u) << got;
  EXPECT_EQ(viaBranch(vias[0]).rfind("z9hG4bKsl", 0), 0u) << got;
  EXPECT_EQ(vias[1].rfind("SIP/2.0/TCP 127.0.0.3:5099;branch=z9hG4bK-relay-tcp-bye", 0), 0u) << got;
  EXPECT_EQ(metric("sosproxy_relay_in_dialog_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_taken_total"), 0) << metrics();
}

// The ordinary-call limits still hold for calls relayed without state: with one call a second
// (a bucket of one), of two INVITEs sent back to back the first reaches the carrier and the
// second is answered 503 with Retry-After, with its routing-log line.
class StatelessRelayLimited : public StatelessRelayTest {
 protected:
  void SetUp() override {
    ports_.extraYaml =
        "limits:\n  ordinary_calls_per_second: 1\n  ordinary_burst: 1\n  overload_lag_ms: 0\n"
        "  drain_s: 2\n";
    StatelessRelayTest::SetUp();
  }
};

TEST_F(StatelessRelayLimited, AnOrdinaryCallOverTheLimitGets503) {
  const RawRequest first = ordinaryInvite("relay-limit-1");
  const RawRequest second = ordinaryInvite("relay-limit-2");
  ASSERT_TRUE(phone_.send(buildRequest(first, phone_.ip(), phone_.port()), ports_.proxy));
  ASSERT_TRUE(phone_.send(buildRequest(second, phone_.ip(), phone_.port()), ports_.proxy));
  const std::string got = carrier_.receiveStarting("INVITE ", milliseconds(10000)).value_or("");
  EXPECT_EQ(rawHeader(got, "Call-ID"), first.callId) << got;
  const std::string refused =
      phone_.receiveStarting("SIP/2.0 503", milliseconds(10000)).value_or("");
  EXPECT_EQ(rawHeader(refused, "Call-ID"), second.callId) << refused;
  EXPECT_EQ(rawHeader(refused, "Retry-After"), "5") << refused;
  auto line = waitForLogLine({{"event", "route"}, {"call_id", second.callId}});
  EXPECT_EQ(line.get("outcome"), "rejected") << line.raw;
  EXPECT_EQ(line.get("status"), "503") << line.raw;
  EXPECT_EQ(line.get("reason"), "ordinary-call limit reached") << line.raw;
  EXPECT_EQ(line.get("source"), "127.0.0.3:" + std::to_string(phone_.port()) + "/udp") << line.raw;
  EXPECT_EQ(metric("sosproxy_relay_limited_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 1) << metrics();
  EXPECT_FALSE(carrier_.receive(milliseconds(300))) << "the refused INVITE reached the carrier";
}

// A new call (no To-tag) that names the relay's Record-Route, and after it a PSAP trunk, in its
// Route set does not take the relay past the edge: the 911 is the B2BUA's, located, and the
// PSAP's stand-in receives the B2BUA's own INVITE with a PIDF-LO.
TEST_F(StatelessRelayTest, ANewCallNamingTheRelaysRouteStillMeetsTheB2bua) {
  RawUdp psap("127.0.0.1", ports_.psapA);
  ASSERT_TRUE(psap.ok());
  RawRequest call = ordinaryInvite("relay-route-911");
  call.requestUri = "sip:911@127.0.0.1:" + proxyPort();
  call.extra =
      "Route: " + ourRoute() + ", <sip:127.0.0.1:" + std::to_string(ports_.psapA) + ";lr>\r\n";
  ASSERT_TRUE(phone_.send(buildRequest(call, phone_.ip(), phone_.port()), ports_.proxy));
  const std::string got = psap.receiveStarting("INVITE ", milliseconds(10000)).value_or("");
  ASSERT_FALSE(got.empty()) << routingLogText();
  EXPECT_NE(rawHeader(got, "Call-ID"), call.callId) << got;
  EXPECT_NE(got.find("application/pidf+xml"), std::string::npos) << got;
  EXPECT_EQ(headerValues(got, "Via").size(), 1u) << got;
  auto line = waitForLogLine({{"event", "route"}, {"call_id", call.callId}});
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
  EXPECT_EQ(metric("sosproxy_relay_in_dialog_total"), 0) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 0) << metrics();
}

// The stateless relay is for ordinary calls only: a 911 still crosses the B2BUA, and the PSAP's
// stand-in checks its PIDF-LO (HQ Floor 2 for 1001's phone at 10.1.2.45).
TEST_F(StatelessRelayTest, AnEmergencyCallStillTakesTheB2buaWithItsLocation) {
  auto psap = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  Sipp uac(call911Options("1001", "10.1.2.45", "relay-911"), dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  const std::string invite = findMessage(*psap, true, "INVITE ");
  EXPECT_NE(invite.find("application/pidf+xml"), std::string::npos) << invite;
  EXPECT_NE(inviteCallId(*psap, true), inviteCallId(uac, false)) << "not a B2BUA's second leg";
  auto line = waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(uac, false)}});
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 0) << metrics();
}

}  // namespace
}  // namespace sos::itest
