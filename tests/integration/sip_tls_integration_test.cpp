// SIP over TLS (issue 20): a 911 that reaches sosproxy over TLS leaves toward its PSAP trunk over
// TLS with the PIDF-LO, and a PSAP whose certificate names another host is a failover reason
// like a dead one. Debian's SIPp is built without TLS, so each SIPp here speaks TCP through a
// socat that does the TLS: the caller's socat checks sosproxy's certificate against the test
// CA, and each PSAP's socat shows its own certificate, made for the test by openssl
// (harness.h, makeTestCertificates and signTestCertificate).

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

// socat between TCP and TLS, listening on 127.0.0.1:`port` until stopped (by PID, in the
// destructor). Ready once its port is bound.
class Socat {
 public:
  Socat(const std::filesystem::path& dir, const std::string& name, uint16_t port,
        std::vector<std::string> args) {
    std::vector<std::string> argv = {"socat", "-d"};
    argv.insert(argv.end(), args.begin(), args.end());
    process_.emplace(argv, dir / (name + ".stdout"), dir / (name + ".stderr"));
    ready_ = process_->started() &&
             waitFor([&] { return portBound(port, true, process_->pid()); }, milliseconds(10000));
  }
  bool ready() const { return ready_; }
  std::string report() const {
    return process_->commandLine() + "\n" + readFile(process_->stderrPath());
  }

 private:
  std::optional<Process> process_;
  bool ready_ = false;
};

class SipTls : public B2buaTest {
 protected:
  // The harness's test CA (makeTestCertificates), and certificates it signs for sosproxy and
  // each PSAP's name.
  void SetUp() override {
    ca_ = makeTestCertificates(dir_.path());
    ASSERT_TRUE(ca_.error.empty()) << ca_.error;
    for (const char* name : {"sosproxy.test", "psap-a.test", "psap-b.test", "wrong.test"}) {
      const std::string error = signTestCertificate(ca_, certs() / (std::string(name) + ".crt"),
                                                    certs() / (std::string(name) + ".key"), name,
                                                    std::string("DNS:") + name);
      ASSERT_TRUE(error.empty()) << error;
    }
    tlsPort_ = pickFreePort();
    // Under AddressSanitizer: Sofia's TLS transport leaves its OpenSSL objects to the process
    // end (sofia-tls.lsan says which); full stacks so that only those are passed over.
    const char* asan = std::getenv("ASAN_OPTIONS");
    proxyLauncher_ = {"env",
                      "ASAN_OPTIONS=" + (asan ? std::string(asan) + ":" : std::string()) +
                          "fast_unwind_on_malloc=0",
                      std::string("LSAN_OPTIONS=suppressions=") + SOS_SOURCE_DIR +
                          "/tests/integration/sofia-tls.lsan"};
  }

  std::filesystem::path certs() const { return dir_.path(); }
  std::string cert(const std::string& file) const { return (certs() / file).string(); }
  // socat's options for showing the certificate of `name`.
  std::string shows(const std::string& name) const {
    return ",cert=" + cert(name + ".crt") + ",key=" + cert(name + ".key");
  }

  // The demo with "tls" listened on, il-psap-a and il-psap-b on TLS with the names their
  // certificates must carry.
  void startTlsProxy(bool requireClientCertificates = false) {
    ports_.sets.push_back({"listen.transports", "[udp, tcp, tls]"});
    ports_.sets.push_back(
        {"listen.tls", "{port: " + std::to_string(tlsPort_) + ", cert_file: " +
                           cert("sosproxy.test.crt") + ", key_file: " + cert("sosproxy.test.key") +
                           ", ca_file: " + ca_.ca.string() + ", require_client_certificates: " +
                           (requireClientCertificates ? "true" : "false") + "}"});
    for (const char* trunk : {"il-psap-a", "il-psap-b"}) {
      ports_.sets.push_back({std::string("trunks[") + trunk + "].transport", "tls"});
      ports_.sets.push_back(
          {std::string("trunks[") + trunk + "].tls_name",
           std::string(trunk == std::string("il-psap-a") ? "psap-a" : "psap-b") + ".test"});
    }
    ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  }

  // A PSAP trunk: a SIPp UAS over TCP behind a socat that shows `certificate` over TLS on the
  // trunk's port, and wants a client certificate from the test CA (sosproxy's: mutual TLS).
  std::unique_ptr<Sipp> startTlsPsap(const std::string& scenario, uint16_t port,
                                     const std::string& name, const std::string& certificate,
                                     std::unique_ptr<Socat>& tunnel) {
    const uint16_t inner = pickFreePort();
    auto sipp = startTrunk(scenario, inner, name, "t1");
    tunnel = std::make_unique<Socat>(
        dir_.path(), name + "-tls", port,
        std::vector<std::string>{"OPENSSL-LISTEN:" + std::to_string(port) +
                                     ",bind=127.0.0.1,reuseaddr,fork" + shows(certificate) +
                                     ",cafile=" + ca_.ca.string() + ",verify=1",
                                 "TCP:127.0.0.1:" + std::to_string(inner)});
    EXPECT_TRUE(tunnel->ready()) << tunnel->report();
    return sipp;
  }

  // A 911 from 1001 on HQ Floor 2 over TLS: SIPp over TCP to a socat that connects to
  // sosproxy's TLS port, trusting only the test CA and expecting the name sosproxy.test.
  std::unique_ptr<Sipp> callOverTls(const std::string& clientCertificate = "",
                                    int timeoutSeconds = 30) {
    const uint16_t entry = pickFreePort();
    callerTunnel_ = std::make_unique<Socat>(
        dir_.path(), "caller-tls", entry,
        std::vector<std::string>{
            "TCP-LISTEN:" + std::to_string(entry) + ",bind=127.0.0.1,reuseaddr,fork",
            "OPENSSL:127.0.0.1:" + std::to_string(tlsPort_) + ",cafile=" + ca_.ca.string() +
                ",commonname=sosproxy.test,verify=1" +
                (clientCertificate.empty() ? std::string() : shows(clientCertificate))});
    EXPECT_TRUE(callerTunnel_->ready()) << callerTunnel_->report();
    // nta checks that a Via names the transport the request came over: the scenario with TLS
    // in its Via and Contact, as a TLS phone sends them.
    std::string scenario =
        readFile(std::filesystem::path(SIPP_SCENARIOS_DIR) / "uac-911-from-network-expect-200.xml");
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"SIP/2.0/[transport]", "SIP/2.0/TLS"},
          {"transport=[transport]", "transport=tls"}}) {
      for (size_t at = scenario.find(from); at != std::string::npos; at = scenario.find(from, at))
        scenario.replace(at, from.size(), to);
    }
    writeFile(dir_.path() / "uac-911-over-tls.xml", scenario);
    SippOptions o;
    o.scenario = (dir_.path() / "uac-911-over-tls.xml").string();
    o.name = "caller";
    o.remote = "127.0.0.1:" + std::to_string(entry);
    o.transport = "t1";
    o.service = "911";
    o.timeoutSeconds = timeoutSeconds;
    o.sets = {{"caller", "1001"},
              {"contact_host", "10.1.2.45"},
              {"contact_port", "5060"},
              {"pani", "IEEE-802.3"}};
    auto uac = std::make_unique<Sipp>(o, dir_.path());
    EXPECT_TRUE(uac->start());
    return uac;
  }

  // What openssl s_client printed of its handshake with sosproxy's TLS port, verifying the
  // name sosproxy.test against the test CA ("subject=..." names the certificate shown,
  // "Verify return code: 0 (ok)" the verification).
  std::string handshake(const std::string& name) {
    Process client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tlsPort_),
                    "-CAfile", ca_.ca.string(), "-verify_hostname", "sosproxy.test"},
                   dir_.path() / (name + ".stdout"), dir_.path() / (name + ".stderr"));
    EXPECT_TRUE(client.wait(milliseconds(15000)).has_value()) << client.commandLine();
    return readFile(client.stdoutPath());
  }
  static std::string subjectLine(const std::string& text) {
    const size_t at = text.find("\nsubject=");
    return at == std::string::npos ? "" : text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  }
  // Waits for `text` in sosproxy's operational log.
  bool logged(const std::string& text) {
    return waitFor(
        [&] { return readFile(proxy_->process()->stderrPath()).find(text) != std::string::npos; },
        milliseconds(10000));
  }

  TestCertificates ca_;
  uint16_t tlsPort_ = 0;
  std::unique_ptr<Socat> callerTunnel_;
};

TEST_F(SipTls, A911OverTlsReachesPsapAOverTlsWithThePidfLo) {
  ASSERT_NO_FATAL_FAILURE(startTlsProxy());
  std::unique_ptr<Socat> tunnel;
  auto psapA =
      startTlsPsap("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a", "psap-a.test", tunnel);
  auto uac = callOverTls();
  EXPECT_EQ(uac->wait(), 0) << report({uac.get(), psapA.get()}) << callerTunnel_->report();
  EXPECT_EQ(psapA->wait(), 0) << report({uac.get(), psapA.get()}) << tunnel->report();

  // What il-psap-a received came over TLS (its socat speaks nothing else), and sosproxy's Via
  // says so; the PIDF-LO names HQ Floor 2 (the scenario checked the body's structure).
  const std::string invite = findMessage(*psapA, true, "INVITE ");
  EXPECT_NE(headerValue(invite, "Via").find("SIP/2.0/TLS"), std::string::npos) << invite;
  EXPECT_NE(invite.find("<ca:FLR>2</ca:FLR>"), std::string::npos) << invite;
  EXPECT_NE(invite.find("Content-Type: application/pidf+xml"), std::string::npos) << invite;
  const std::string cid = inviteCallId(*uac, false);
  const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
  EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
  const std::string source = route.get("source");  // "127.0.0.1:PORT/tls"
  EXPECT_EQ(source.substr(source.size() - 4), "/tls") << route.raw;
  const auto final = waitForLogLine({{"event", "final"}, {"call_id", cid}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  std::printf("[ measured ] answered by %s over TLS\n", route.get("trunk").c_str());
}

TEST_F(SipTls, APsapCertificateForAnotherNameFailsOverWithinTheResponseTimeout) {
  ASSERT_NO_FATAL_FAILURE(startTlsProxy());
  // il-psap-a shows a certificate the test CA signed, but for wrong.test: never trusted as
  // psap-a.test. Its SIPp must see nothing.
  std::unique_ptr<Socat> tunnelA, tunnelB;
  auto psapA =
      startTlsPsap("uas-psap-answer.xml", ports_.psapA, "il-psap-a", "wrong.test", tunnelA);
  auto psapB =
      startTlsPsap("uas-psap-expect-elin.xml", ports_.psapB, "il-psap-b", "psap-b.test", tunnelB);
  auto uac = callOverTls();
  EXPECT_EQ(uac->wait(), 0) << report({uac.get(), psapB.get()}) << callerTunnel_->report();
  EXPECT_EQ(psapB->wait(), 0) << report({uac.get(), psapB.get()}) << tunnelB->report();
  EXPECT_EQ(countMessages(*psapA, true, "INVITE "), 0) << report({psapA.get()});

  const std::string cid = inviteCallId(*uac, false);
  const auto line =
      waitForLogLine({{"event", "failover"}, {"call_id", cid}, {"trunk", "il-psap-b"}});
  ASSERT_FALSE(line.raw.empty()) << routingLogText();
  std::printf(
      "[ measured ] il-psap-a's certificate refused: failover to il-psap-b after %s ms (%s)\n",
      line.get("added_ms").c_str(), line.get("reason").c_str());
  EXPECT_LT(std::atof(line.get("added_ms").c_str()), 2000) << line.raw;  // response_timeout_s 2
  const auto final = waitForLogLine({{"event", "final"}, {"call_id", cid}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
  EXPECT_EQ(final.get("attempts"),
            "il-psap-a:503(unreachable: connection failed or closed) il-psap-b:200")
      << final.raw;
  const std::string text = metrics();
  EXPECT_NE(
      text.find("\nsosproxy_trunk_attempts_total{trunk=\"il-psap-a\",outcome=\"unreachable\"} 1\n"),
      std::string::npos)
      << text;
}

// require_client_certificates: a caller's TLS connection without a certificate from the CA is
// closed before any SIP; with one, the call goes through.
TEST_F(SipTls, RequiredClientCertificatesKeepOutACallerWithoutOne) {
  ASSERT_NO_FATAL_FAILURE(startTlsProxy(/*requireClientCertificates=*/true));
  std::unique_ptr<Socat> tunnel;
  auto psapA =
      startTlsPsap("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a", "psap-a.test", tunnel);
  auto refused = callOverTls("", /*timeoutSeconds=*/4);
  EXPECT_NE(refused->wait(), 0) << "a caller without a certificate was answered\n"
                                << report({refused.get()});
  EXPECT_EQ(countMessages(*refused, true, "SIP/2.0 "), 0) << report({refused.get()});
  EXPECT_EQ(countMessages(*psapA, true, "INVITE "), 0) << report({psapA.get()});

  auto uac = callOverTls("psap-b.test");  // any certificate the test CA signed
  EXPECT_EQ(uac->wait(), 0) << report({uac.get(), psapA.get()}) << callerTunnel_->report();
  EXPECT_EQ(psapA->wait(), 0) << report({uac.get(), psapA.get()});
}

// A renewed certificate and key, written over the files listen.tls names, are shown from the next
// handshake on after SIGHUP, with no restart; a key that is not the certificate's is refused on
// SIGHUP with the reason, and the certificate in use stays.
TEST_F(SipTls, RenewedCertificateFilesAreShownAfterSighupAndABrokenPairIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startTlsProxy());
  const std::string before = handshake("before");
  EXPECT_NE(before.find("Verify return code: 0 (ok)"), std::string::npos) << before;
  EXPECT_NE(subjectLine(before).find("sosproxy.test"), std::string::npos) << before;
  EXPECT_EQ(subjectLine(before).find("renewed"), std::string::npos) << before;

  // The renewal: the same name, a new key, another subject, over the same files.
  const std::string error =
      signTestCertificate(ca_, certs() / "renewed.crt", certs() / "renewed.key",
                          "renewed.sosproxy.test", "DNS:sosproxy.test");
  ASSERT_TRUE(error.empty()) << error;
  writeFile(certs() / "sosproxy.test.crt", readFile(certs() / "renewed.crt"));
  writeFile(certs() / "sosproxy.test.key", readFile(certs() / "renewed.key"));
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGHUP));
  ASSERT_TRUE(
      logged("SIP over TLS: certificate " + cert("sosproxy.test.crt") + ", key and CAs read again"))
      << proxy_->output();
  const std::string renewed = handshake("renewed");
  EXPECT_NE(renewed.find("Verify return code: 0 (ok)"), std::string::npos) << renewed;
  EXPECT_NE(subjectLine(renewed).find("renewed.sosproxy.test"), std::string::npos) << renewed;

  // A key of another certificate: refused, the renewed pair stays in use.
  writeFile(certs() / "sosproxy.test.key", readFile(certs() / "psap-a.test.key"));
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGHUP));
  ASSERT_TRUE(logged("SIP over TLS: keeping the certificate in use: key " +
                     cert("sosproxy.test.key") + " is not the key of certificate " +
                     cert("sosproxy.test.crt")))
      << proxy_->output();
  const std::string kept = handshake("kept");
  EXPECT_NE(kept.find("Verify return code: 0 (ok)"), std::string::npos) << kept;
  EXPECT_NE(subjectLine(kept).find("renewed.sosproxy.test"), std::string::npos) << kept;
}

// Each TLS connection Sofia closes has its OpenSSL state freed (Debian's Sofia-SIP keeps it
// otherwise, some 65 KB a connection): counted in /metrics. Freed at the next close, so of
// five connections at least four are counted.
TEST_F(SipTls, ClosedConnectionsAreReleased) {
  ASSERT_NO_FATAL_FAILURE(startTlsProxy());
  EXPECT_EQ(metric("sosproxy_sip_tls_connections_released_total"), 0);
  for (int i = 0; i < 5; ++i) {
    const std::string shown = handshake("connection-" + std::to_string(i));
    ASSERT_NE(shown.find("Verify return code: 0 (ok)"), std::string::npos) << shown;
  }
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_sip_tls_connections_released_total") >= 4; },
                      milliseconds(10000)))
      << metrics();
  EXPECT_LE(metric("sosproxy_sip_tls_connections_released_total"), 5);
}

TEST_F(SipTls, AKeyThatIsNotTheCertificatesStopsTheStartWithTheReason) {
  ports_.sets.push_back({"listen.transports", "[udp, tls]"});
  ports_.sets.push_back({"listen.tls", "{port: " + std::to_string(tlsPort_) +
                                           ", cert_file: " + cert("sosproxy.test.crt") +
                                           ", key_file: " + cert("psap-a.test.key") +
                                           ", ca_file: " + ca_.ca.string() + "}"});
  ports_.trunkTransport = "udp";
  writeFile(configPath_, demoConfigYaml(ports_, routingLogPath_, storePath()));
  Sosproxy proxy(sosproxyBinary(), dir_.path());
  EXPECT_FALSE(proxy.start(configPath_));
  EXPECT_NE(proxy.output().find("SIP over TLS"), std::string::npos) << proxy.output();
  EXPECT_FALSE(portBound(tlsPort_, true)) << "something listens on the TLS port";
}

}  // namespace
}  // namespace sos::itest
