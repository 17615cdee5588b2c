// The SIP edge under abuse (issue 14), against the real sosproxy: a malformed request whose Via
// names a host, with a DNS server that never answers, must not delay the next emergency call;
// strangers are refused without a transaction (or not at all) and their emergency calls still
// alert; the edge's own answers (OPTIONS, 405, 416, 501).

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <random>
#include <thread>

#include "b2bua_fixture.h"
#include "raw_sip.h"

#ifndef SOS_SOURCE_DIR
#error "SOS_SOURCE_DIR must be defined by the build"
#endif

namespace sos::itest {
namespace {

std::string torture(const std::string& name) {
  return readFile(std::filesystem::path(SOS_SOURCE_DIR) / "tests" / "data" / "sip-torture" / name);
}

// The 200 to an INVITE sent by `phone`, then ACK and BYE as the caller hangs up; true when the
// BYE got its 200.
bool answerAndHangUp(RawUdp& phone, uint16_t proxyPort, RawRequest invite, const std::string& ok) {
  std::string contact = rawHeader(ok, "Contact");
  contact = contact.substr(contact.find('<') + 1);
  contact = contact.substr(0, contact.find('>'));
  std::string to = rawHeader(ok, "To");
  const std::string tag = to.substr(to.find("tag=") + 4);
  RawRequest ack = invite;
  ack.method = "ACK";
  ack.toUri = invite.requestUri;
  ack.requestUri = contact;
  ack.toTag = tag.substr(0, tag.find_first_of(";> "));
  ack.branch = invite.branch + "-ack";
  ack.body.clear();
  RawRequest bye = ack;
  bye.method = "BYE";
  bye.cseq = invite.cseq + 1;
  bye.branch = invite.branch + "-bye";
  return phone.send(buildRequest(ack, phone.ip(), phone.port()), proxyPort) &&
         phone.send(buildRequest(bye, phone.ip(), phone.port()), proxyPort) &&
         phone.receiveStarting("SIP/2.0 200", milliseconds(10000)).has_value();
}

class SipEdge : public B2buaTest {
 protected:
  RawRequest emergencyInvite(const std::string& callId, const std::string& ip = "127.0.0.1") {
    RawRequest r;
    r.requestUri = "sip:911@127.0.0.1:" + std::to_string(ports_.proxy);
    r.callId = callId;
    r.branch = "z9hG4bK-" + callId;
    r.body = sdpOffer(ip);
    return r;
  }
};

// A DNS server that never answers: UDP port 53 of a loopback address, bound and never read
// from in a way that answers. The address is picked at random so that parallel tests differ.
std::unique_ptr<UdpBlackHole> silentDnsServer(std::string& address) {
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 50; ++i) {
    address = "127.53." + std::to_string(rng() % 250 + 1) + "." + std::to_string(rng() % 250 + 1);
    auto hole = std::make_unique<UdpBlackHole>(53, address);
    if (hole->ok()) return hole;
  }
  return nullptr;
}

// What it must show, 0: RFC 4475's badvers (SIP/7.0, its Via names c.example.com) makes nta
// answer 505 to the Via's host; with a resolver that never answers, Sofia's getaddrinfo held
// the SIP thread ten seconds. sosproxy runs in a mount namespace whose /etc/resolv.conf names
// the silent server, so its own lookups would go there.
TEST_F(SipEdge, MalformedRequestNamingAHostDoesNotDelayTheNextEmergencyCall) {
  std::string dnsAddress;
  auto dns = silentDnsServer(dnsAddress);
  ASSERT_TRUE(dns) << "no loopback address with UDP port 53 free";
  const auto resolvConf = dir_.path() / "resolv.conf";
  writeFile(resolvConf, "nameserver " + dnsAddress + "\noptions timeout:5 attempts:2\n");
  const std::vector<std::string> launcher = {
      "unshare", "--mount", "sh", "-c",
      "mount --bind '" + resolvConf.string() + "' /etc/resolv.conf && exec \"$0\" \"$@\""};

  // The set-up is real: a lookup made the same way asks the silent server and is still waiting
  // a second later.
  {
    std::vector<std::string> argv = launcher;
    argv.insert(argv.end(), {"getent", "hosts", "c.example.com"});
    Process lookup(argv, dir_.path() / "getent.stdout", dir_.path() / "getent.stderr");
    ASSERT_TRUE(lookup.started());
    EXPECT_FALSE(lookup.wait(milliseconds(1000)).has_value())
        << "the lookup finished: " << readFile(dir_.path() / "getent.stdout")
        << readFile(dir_.path() / "getent.stderr");
    EXPECT_GE(dns->received(), 1) << "the lookup never asked the silent DNS server";
    lookup.stop(milliseconds(2000));
  }

  proxyLauncher_ = launcher;
  startProxy("udp", /*withLocations=*/true);
  auto psap = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  const int queriesBefore = dns->received();

  RawUdp phone;  // 127.0.0.1: a trusted phone
  ASSERT_TRUE(phone.ok());
  ASSERT_TRUE(phone.send(torture("badvers.dat"), ports_.proxy));
  std::this_thread::sleep_for(milliseconds(50));  // the 911 comes 50 ms after it
  RawRequest invite = emergencyInvite("edge-silent-dns-911");
  const auto sent = Clock::now();
  ASSERT_TRUE(phone.send(buildRequest(invite, phone.ip(), phone.port()), ports_.proxy));
  const auto first = phone.receive(milliseconds(15000));
  const auto tookMs = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
  ASSERT_TRUE(first) << "no answer to the 911 within 15 s\n" << report({psap.get()});
  EXPECT_EQ(startLine(*first), "SIP/2.0 100 Trying");
  EXPECT_LT(tookMs, 100.0) << "the 911's first response came " << tookMs << " ms after it";

  // The call itself is unharmed: answered by the PSAP, then hung up.
  const auto ok = phone.receiveStarting("SIP/2.0 200", milliseconds(10000));
  ASSERT_TRUE(ok) << report({psap.get()});
  EXPECT_TRUE(answerAndHangUp(phone, ports_.proxy, invite, *ok)) << report({psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({psap.get()});

  // sosproxy asked the DNS server nothing, and said which name it did not look up.
  EXPECT_EQ(dns->received(), queriesBefore);
  EXPECT_GE(metric("sosproxy_dns_refused_total"), 1) << metrics();
  EXPECT_NE(proxy_->output().find("no DNS on the SIP thread: getaddrinfo of \"c.example.com\""),
            std::string::npos)
      << proxy_->output();
}

// A request from outside trusted_networks is refused with a 403 that leaves no transaction
// behind (nta used to keep each one 32 s), however often it comes. The transaction gauge is
// read by the edge once a second: two ordinary calls from a trusted phone (their INVITEs wait
// on a silent carrier) show in it, the strangers' requests sent between them do not.
TEST_F(SipEdge, UntrustedRequestsAreRefusedWithoutATransaction) {
  UdpBlackHole carrier(ports_.carrier);
  ASSERT_TRUE(carrier.ok());
  startProxy();
  RawUdp phone;
  auto ordinary = [&](const std::string& callId) {
    RawRequest r = emergencyInvite(callId);
    r.requestUri = "sip:5551234@127.0.0.1:" + std::to_string(ports_.proxy);
    EXPECT_TRUE(phone.send(buildRequest(r, phone.ip(), phone.port()), ports_.proxy));
    auto trying = phone.receive(milliseconds(5000));
    ASSERT_TRUE(trying);
    EXPECT_EQ(statusOf(*trying), 100);
  };
  ordinary("edge-trusted-1");
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_server_transactions") == 1; }, milliseconds(5000)))
      << metrics();

  RawUdp stranger("127.0.0.2");
  for (int i = 0; i < 3; ++i) {
    RawRequest r = emergencyInvite("edge-untrusted-" + std::to_string(i), "127.0.0.2");
    r.requestUri = "sip:5551234@127.0.0.1:" + std::to_string(ports_.proxy);
    ASSERT_TRUE(stranger.send(buildRequest(r, stranger.ip(), stranger.port()), ports_.proxy));
    auto answer = stranger.receive(milliseconds(5000));
    ASSERT_TRUE(answer) << "no answer to the stranger's INVITE " << i;
    EXPECT_EQ(startLine(*answer), "SIP/2.0 403 Forbidden");
    EXPECT_FALSE(rawHeader(*answer, "To").find("tag=") == std::string::npos) << *answer;
  }
  // A retransmission is answered again, statelessly.
  RawRequest again = emergencyInvite("edge-untrusted-0", "127.0.0.2");
  again.requestUri = "sip:5551234@127.0.0.1:" + std::to_string(ports_.proxy);
  ASSERT_TRUE(stranger.send(buildRequest(again, stranger.ip(), stranger.port()), ports_.proxy));
  auto answer = stranger.receive(milliseconds(5000));
  ASSERT_TRUE(answer);
  EXPECT_EQ(statusOf(*answer), 403);

  ordinary("edge-trusted-2");
  EXPECT_TRUE(
      waitFor([&] { return metric("sosproxy_server_transactions") == 2; }, milliseconds(5000)))
      << "the strangers' requests left transactions behind\n"
      << metrics();
  EXPECT_EQ(metric("sosproxy_edge_untrusted_refused_total"), 4) << metrics();
  for (const auto& line : readRoutingLog(routingLogPath_))
    if (line.get("call_id").rfind("edge-untrusted-", 0) == 0) {
      EXPECT_EQ(line.get("outcome"), "rejected") << line.raw;
    }
}

// Answers to strangers are rate-limited per source (edge.untrusted_replies_per_source, 5 a
// second by default): twenty OPTIONS at once get five 403s, the rest nothing.
TEST_F(SipEdge, AnswersToAStrangerAreRateLimited) {
  startProxy();
  std::vector<std::unique_ptr<RawUdp>> sockets;
  for (int i = 0; i < 20; ++i) {
    sockets.push_back(std::make_unique<RawUdp>("127.0.0.2"));
    RawRequest r;
    r.method = "OPTIONS";
    r.requestUri = "sip:127.0.0.1:" + std::to_string(ports_.proxy);
    r.callId = "edge-limit-" + std::to_string(i);
    r.branch = "z9hG4bK-limit-" + std::to_string(i);
    ASSERT_TRUE(
        sockets.back()->send(buildRequest(r, "127.0.0.2", sockets.back()->port()), ports_.proxy));
  }
  ASSERT_TRUE(waitFor(
      [&] {
        return metric("sosproxy_edge_untrusted_dropped_total") +
                   metric("sosproxy_edge_untrusted_refused_total") ==
               20;
      },
      milliseconds(5000)))
      << metrics();
  int answered = 0;
  for (auto& s : sockets)
    if (auto m = s->receive(milliseconds(200))) answered += statusOf(*m) == 403;
  // Five at once, and perhaps one more if a token came back while they were sent.
  EXPECT_GE(answered, 5);
  EXPECT_LE(answered, 6);
  EXPECT_EQ(metric("sosproxy_edge_untrusted_refused_total"), answered) << metrics();
}

// edge.untrusted: drop: a stranger's 911 gets no answer at all; it is still an ALARM, a routing-
// log line, and an alert to the site's responders (someone may need help at an unknown place),
// once for its retransmissions.
TEST_F(SipEdge, DroppedEmergencyCallFromAStrangerStillAlertsTheResponders) {
  ports_.responders = true;
  ports_.extraYaml = "edge:\n  untrusted: drop\n";
  WebhookReceiver webhook(dir_.path(), ports_.webhookSecret, ports_.webhook);
  ASSERT_TRUE(webhook.start()) << webhook.lastError();
  startProxy("udp", /*withLocations=*/true);

  RawUdp stranger("127.0.0.2");
  RawRequest invite = emergencyInvite("edge-stranger-911", "127.0.0.2");
  for (int i = 0; i < 2; ++i)  // the INVITE and a retransmission
    ASSERT_TRUE(stranger.send(buildRequest(invite, stranger.ip(), stranger.port()), ports_.proxy));
  EXPECT_FALSE(stranger.receive(milliseconds(1000))) << "a dropped request was answered";

  const auto line = waitForLogLine({{"event", "route"}, {"call_id", "edge-stranger-911"}});
  EXPECT_EQ(line.get("alarm"), "yes") << line.raw;
  EXPECT_EQ(line.get("outcome"), "rejected") << line.raw;
  EXPECT_NE(line.get("reason").find("dropped"), std::string::npos) << line.raw;
  EXPECT_NE(proxy_->output().find("ALARM: emergency call edge-stranger-911"), std::string::npos)
      << proxy_->output();

  ASSERT_TRUE(webhook.waitForLines(1, milliseconds(10000))) << webhook.report();
  const auto body = jsonField(webhook.lines().front(), "body");
  EXPECT_EQ(jsonField(body, "call_id"), "edge-stranger-911") << body;
  EXPECT_EQ(jsonField(body, "event"), "started") << body;
  EXPECT_NE(jsonField(body, "detail").find("REFUSED"), std::string::npos) << body;
  EXPECT_NE(jsonField(body, "detail").find("127.0.0.2"), std::string::npos) << body;
  EXPECT_EQ(jsonField(webhook.lines().front(), "signature_ok"), "true");
  EXPECT_EQ(metric("sosproxy_edge_untrusted_emergency_total"), 2) << metrics();
  EXPECT_EQ(metric("sosproxy_edge_untrusted_alerts_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_edge_untrusted_refused_total"), 0) << metrics();
  EXPECT_EQ(webhook.lines().size(), 1u) << webhook.report();
}

// OPTIONS, 405, 501 and 416 as RFC 3261 has them (11.2, 21.4.6, 21.5.2, 8.2.2.1), answered by the
// edge without a transaction; an emergency call is never refused for its scheme.
TEST_F(SipEdge, AnswersLikeARealElement) {
  startProxy();
  RawUdp phone;
  auto ask = [&](const std::string& method, const std::string& uri) {
    RawRequest r;
    r.method = method;
    r.requestUri = uri;
    r.callId = "edge-ask-" + method + "-" + std::to_string(uri.size());
    r.branch = "z9hG4bK-" + r.callId;
    EXPECT_TRUE(phone.send(buildRequest(r, phone.ip(), phone.port()), ports_.proxy));
    return phone.receive(milliseconds(5000)).value_or("");
  };
  const std::string us = "sip:127.0.0.1:" + std::to_string(ports_.proxy);
  const std::string options = ask("OPTIONS", us);
  EXPECT_EQ(startLine(options), "SIP/2.0 200 OK") << options;
  EXPECT_EQ(rawHeader(options, "Allow"), "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO")
      << options;
  EXPECT_EQ(rawHeader(options, "Accept"), "application/sdp, application/pidf+xml, multipart/mixed")
      << options;
  EXPECT_NE(options.find("\r\nSupported:"), std::string::npos) << options;

  const std::string reg = ask("REGISTER", us);
  EXPECT_EQ(startLine(reg), "SIP/2.0 405 Method Not Allowed") << reg;
  EXPECT_FALSE(rawHeader(reg, "Allow").empty()) << reg;
  const std::string unknown = ask("FROBNICATE", us);
  EXPECT_EQ(startLine(unknown), "SIP/2.0 501 Not Implemented") << unknown;
  EXPECT_FALSE(rawHeader(unknown, "Allow").empty()) << unknown;
  EXPECT_EQ(startLine(ask("OPTIONS", "nobodyknowsthisscheme:totallyopaquecontent")),
            "SIP/2.0 416 Unsupported URI Scheme");
  EXPECT_EQ(startLine(ask("INVITE", "http://example.com/call")),
            "SIP/2.0 416 Unsupported URI Scheme");
  EXPECT_EQ(metric("sosproxy_edge_unknown_scheme_total"), 2) << metrics();
  EXPECT_EQ(metric("sosproxy_edge_unknown_method_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_edge_method_not_allowed_total"), 1) << metrics();

  // A Via maddr is ignored: the answer still comes back to where the request came from.
  RawRequest viaMaddr;
  viaMaddr.method = "OPTIONS";
  viaMaddr.requestUri = us;
  viaMaddr.callId = "edge-maddr";
  viaMaddr.branch = "z9hG4bK-edge-maddr;maddr=somewhere.example.com";
  ASSERT_TRUE(phone.send(buildRequest(viaMaddr, phone.ip(), phone.port()), ports_.proxy));
  const auto maddrAnswer = phone.receive(milliseconds(5000));
  ASSERT_TRUE(maddrAnswer) << "the answer went to the maddr, or nowhere";
  EXPECT_EQ(statusOf(*maddrAnswer), 200);
  EXPECT_EQ(metric("sosproxy_edge_maddr_ignored_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_dns_refused_total"), 0) << metrics();

  // The descriptor limit was raised to the hard limit at start (sosproxy inherits the test's).
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(metric("sosproxy_descriptor_limit"), static_cast<long>(lim.rlim_max)) << metrics();
  }
}

// edge.max_server_transactions: beyond it an ordinary call gets 503 at once (no transaction),
// an emergency call is taken and answered all the same.
TEST_F(SipEdge, TransactionCapRefusesOrdinaryCallsNeverEmergencyCalls) {
  ports_.extraYaml = "edge:\n  max_server_transactions: 1\n";
  UdpBlackHole carrier(ports_.carrier);
  ASSERT_TRUE(carrier.ok());
  startProxy("udp", /*withLocations=*/true);
  auto psap = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  RawUdp phone;
  RawRequest first = emergencyInvite("edge-cap-1");
  first.requestUri = "sip:5551234@127.0.0.1:" + std::to_string(ports_.proxy);
  ASSERT_TRUE(phone.send(buildRequest(first, phone.ip(), phone.port()), ports_.proxy));
  ASSERT_TRUE(phone.receiveStarting("SIP/2.0 100", milliseconds(5000)));

  RawRequest second = first;
  second.callId = "edge-cap-2";
  second.branch = "z9hG4bK-edge-cap-2";
  ASSERT_TRUE(phone.send(buildRequest(second, phone.ip(), phone.port()), ports_.proxy));
  const auto refused = phone.receive(milliseconds(5000));
  ASSERT_TRUE(refused);
  EXPECT_EQ(startLine(*refused), "SIP/2.0 503 Service Unavailable");
  EXPECT_EQ(rawHeader(*refused, "Retry-After"), "5") << *refused;

  RawRequest call = emergencyInvite("edge-cap-911");
  ASSERT_TRUE(phone.send(buildRequest(call, phone.ip(), phone.port()), ports_.proxy));
  const auto ok = phone.receiveStarting("SIP/2.0 200", milliseconds(10000));
  ASSERT_TRUE(ok) << report({psap.get()});
  EXPECT_TRUE(answerAndHangUp(phone, ports_.proxy, call, *ok)) << report({psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({psap.get()});
  EXPECT_EQ(metric("sosproxy_edge_transaction_cap_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_edge_emergency_over_cap_total"), 1) << metrics();
}

// TCP: a stranger's request is answered 403 and its connection closed; a stranger's silent
// connection is closed within a couple of sweeps; a trusted phone's message left unfinished
// past edge.tcp_message_timeout_s closes its connection; a silent one goes after
// edge.tcp_idle_timeout_s.
TEST_F(SipEdge, TcpConnectionsOfStrangersAndIdleOnesAreClosed) {
  ports_.extraYaml = "edge:\n  tcp_idle_timeout_s: 1\n  tcp_message_timeout_s: 0.5\n";
  startProxy();

  RawTcp strangerCall(ports_.proxy, "127.0.0.2");
  ASSERT_TRUE(strangerCall.ok());
  RawRequest invite = emergencyInvite("edge-tcp-stranger", "127.0.0.2");
  invite.transport = "TCP";
  invite.requestUri = "sip:5551234@127.0.0.1:" + std::to_string(ports_.proxy);
  ASSERT_TRUE(strangerCall.send(buildRequest(invite, "127.0.0.2", 5060)));
  const std::string answer = strangerCall.receive(milliseconds(5000));
  EXPECT_EQ(startLine(answer), "SIP/2.0 403 Forbidden") << answer;
  EXPECT_TRUE(strangerCall.closedByPeer(milliseconds(3000)))
      << "the stranger's connection stayed open after its 403";

  RawTcp strangerSilent(ports_.proxy, "127.0.0.2");
  ASSERT_TRUE(strangerSilent.ok());
  EXPECT_TRUE(strangerSilent.closedByPeer(milliseconds(4000)))
      << "a stranger's silent connection stayed open";

  RawTcp unfinished(ports_.proxy);
  ASSERT_TRUE(unfinished.send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;"));
  EXPECT_TRUE(unfinished.closedByPeer(milliseconds(4000)))
      << "a message left unfinished kept its connection";

  RawTcp idle(ports_.proxy);
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE(idle.closedByPeer(milliseconds(4000))) << "an idle connection stayed open";
  EXPECT_GE(metric("sosproxy_edge_tcp_closed_untrusted_total"), 1) << metrics();
  // With none left open, the count says so (without asking the kernel: Sofia holds none).
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_tcp_connections") == 0; }, milliseconds(4000)))
      << metrics();
}

// Above edge.max_tcp_connections the busiest peer gives up connections (here all five come
// from one trusted address, with a cap of 3: two are closed, three stay and still work).
TEST_F(SipEdge, TcpConnectionsAboveTheCapAreClosed) {
  ports_.extraYaml = "edge:\n  max_tcp_connections: 3\n";
  startProxy();
  std::vector<std::unique_ptr<RawTcp>> many;
  for (int i = 0; i < 5; ++i) {
    many.push_back(std::make_unique<RawTcp>(ports_.proxy));
    ASSERT_TRUE(many.back()->ok());
  }
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_edge_tcp_closed_over_cap_total") == 2; },
                      milliseconds(4000)))
      << metrics();
  int closed = 0, answered = 0;
  for (size_t i = 0; i < many.size(); ++i) {
    if (many[i]->closedByPeer(milliseconds(200))) {
      ++closed;
      continue;
    }
    RawRequest r;
    r.method = "OPTIONS";
    r.transport = "TCP";
    r.requestUri = "sip:127.0.0.1:" + std::to_string(ports_.proxy);
    r.callId = "edge-cap-tcp-" + std::to_string(i);
    r.branch = "z9hG4bK-" + r.callId;
    ASSERT_TRUE(many[i]->send(buildRequest(r, "127.0.0.1", 5060)));
    answered += statusOf(many[i]->receive(milliseconds(3000))) == 200;
  }
  EXPECT_EQ(closed, 2);
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(metric("sosproxy_tcp_connections"), 3) << metrics();
}

}  // namespace
}  // namespace sos::itest
