// The SIP edge under abuse (issue 14), against the real sosproxy: a malformed request whose Via
// names a host, with a DNS server that never answers, must not delay the next emergency call;
// strangers are refused without a transaction (or not at all) and their emergency calls still
// alert; the edge's own answers (OPTIONS, 405, 416, 501).

#include <gtest/gtest.h>

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
bool answerAndHangUp(RawUdp& phone, uint16_t proxyPort, RawRequest invite,
                     std::string const& ok) {
  std::string contact = rawHeader(ok, "Contact");
  contact = contact.substr(contact.find('<') + 1);
  contact = contact.substr(0, contact.find('>'));
  std::string to = rawHeader(ok, "To");
  std::string const tag = to.substr(to.find("tag=") + 4);
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
  RawRequest emergencyInvite(std::string const& callId, std::string const& ip = "127.0.0.1") {
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
  auto const resolvConf = dir_.path() / "resolv.conf";
  writeFile(resolvConf, "nameserver " + dnsAddress + "\noptions timeout:5 attempts:2\n");
  std::vector<std::string> const launcher = {
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
  int const queriesBefore = dns->received();

  RawUdp phone;  // 127.0.0.1: a trusted phone
  ASSERT_TRUE(phone.ok());
  ASSERT_TRUE(phone.send(torture("badvers.dat"), ports_.proxy));
  std::this_thread::sleep_for(milliseconds(50));  // the 911 comes 50 ms after it
  RawRequest invite = emergencyInvite("edge-silent-dns-911");
  auto const sent = Clock::now();
  ASSERT_TRUE(phone.send(buildRequest(invite, phone.ip(), phone.port()), ports_.proxy));
  auto const first = phone.receive(milliseconds(15000));
  auto const tookMs = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
  ASSERT_TRUE(first) << "no answer to the 911 within 15 s\n" << report({psap.get()});
  EXPECT_EQ(startLine(*first), "SIP/2.0 100 Trying");
  EXPECT_LT(tookMs, 100.0) << "the 911's first response came " << tookMs << " ms after it";

  // The call itself is unharmed: answered by the PSAP, then hung up.
  auto const ok = phone.receiveStarting("SIP/2.0 200", milliseconds(10000));
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

}  // namespace
}  // namespace sos::itest
