// Encrypted end to end (issue 20), beyond SIP: the admin API over HTTPS with a token, plain
// HTTP beyond loopback refused at start-up, and a 911's alerts delivered by HTTPS webhook and by
// mail through a relay that requires STARTTLS and AUTH. Certificates are made by openssl for each
// test (makeTestCertificates): a test CA, a certificate it signed for localhost and 127.0.0.1,
// and one for another name.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

class Tls : public B2buaTest {
 protected:
  void SetUp() override {
    certs_ = makeTestCertificates(dir_.path());
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
  }

  // The admin server's HTTPS, with the certificate for localhost.
  void adminHttps() {
    ports_.sets.emplace_back("admin.tls", "{cert_file: " + quoted(certs_.cert) +
                                              ", key_file: " + quoted(certs_.key) + "}");
  }

  // By name: the client checks the certificate is for localhost.
  std::string adminUrl(const std::string& path) const {
    return "https://localhost:" + std::to_string(ports_.admin) + path;
  }

  HttpReply https(const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "", const std::string& until = "") {
    return httpsRequest(method, adminUrl(path), certs_.ca, dir_.path(), body,
                        {{"Authorization", "Bearer " + token}}, until);
  }

  TestCertificates certs_;
};

TEST_F(Tls, AdminApiOverHttpsWithToken) {
  adminHttps();
  ASSERT_NO_FATAL_FAILURE(startProxy());
  EXPECT_NE(proxy_->output().find("admin https://127.0.0.1:" + std::to_string(ports_.admin)),
            std::string::npos)
      << proxy_->output();

  const HttpReply ok = https("GET", "/api/v1/whoami", adminToken());
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("super-admin"), std::string::npos) << ok.body;
  const HttpReply wrong = https("GET", "/api/v1/whoami", "sos_not-a-token");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  const HttpReply none = https("GET", "/api/v1/tokens", "");
  EXPECT_EQ(none.status, 401) << none.body;

  // Nothing in clear on that port, and a client that trusts another CA gets no answer.
  EXPECT_EQ(httpRequest("GET", ports_.admin, "/healthz").status, 0);
  const HttpReply untrusted =
      httpsRequest("GET", adminUrl("/healthz"), certs_.wrongCert, dir_.path());
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_NE(untrusted.body.find("CERTIFICATE_VERIFY_FAILED"), std::string::npos) << untrusted.body;

  // The dashboard's sign-in: its cookie is Secure over HTTPS.
  const HttpReply session = httpsRequest("POST", adminUrl("/api/v1/session"), certs_.ca,
                                         dir_.path(), "{\"token\": \"" + adminToken() + "\"}");
  EXPECT_EQ(session.status, 201) << session.body;
  EXPECT_NE(session.headers.find("sos_session="), std::string::npos) << session.headers;
  EXPECT_NE(session.headers.find("; Secure"), std::string::npos) << session.headers;

  // The live calls' Server-Sent Events stream over TLS: its first event comes.
  const HttpReply events =
      https("GET", "/api/v1/events", adminToken(), "", "event: snapshot\ndata: {");
  EXPECT_EQ(events.status, 200) << events.body;
  EXPECT_NE(events.body.find("event: snapshot\ndata: {"), std::string::npos) << events.body;
  EXPECT_NE(events.headers.find("text/event-stream"), std::string::npos) << events.headers;
}

// A renewed certificate (here: one for another name) is read on SIGHUP, without a restart.
TEST_F(Tls, CertificateIsReadAgainOnSighup) {
  const auto cert = dir_.path() / "admin.pem";
  const auto key = dir_.path() / "admin.key";
  std::filesystem::copy_file(certs_.cert, cert);
  std::filesystem::copy_file(certs_.key, key);
  ports_.sets.emplace_back("admin.tls",
                           "{cert_file: " + quoted(cert) + ", key_file: " + quoted(key) + "}");
  ASSERT_NO_FATAL_FAILURE(startProxy());
  const HttpReply before = httpsRequest("GET", adminUrl("/healthz"), certs_.ca, dir_.path());
  EXPECT_EQ(before.status, 200) << before.body;

  std::filesystem::copy_file(certs_.wrongCert, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(certs_.wrongKey, key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGHUP));
  ASSERT_TRUE(outputShows("admin HTTPS: certificate and key read again")) << proxy_->output();
  const HttpReply after = httpsRequest("GET", adminUrl("/healthz"), certs_.ca, dir_.path());
  EXPECT_EQ(after.status, 0) << after.body;
  EXPECT_NE(after.body.find("Hostname mismatch"), std::string::npos) << after.body;
}

// The line of `text` (1-based) holding `needle`, 0 when none does.
int lineOf(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST_F(Tls, PlainHttpBeyondLoopbackIsRefusedAtStartUp) {
  ports_.sets.emplace_back("admin.address", "0.0.0.0");
  writeFile(configPath_, demoConfigYaml(ports_, routingLogPath_, storePath()));
  const std::string config = readFile(configPath_);
  const int line = lineOf(config, "address: 0.0.0.0");
  ASSERT_GT(line, 0) << config;

  const CommandRun run =
      runCommand({sosproxyBinary(), "--config", configPath_.string()}, dir_.path());
  EXPECT_EQ(run.status, std::optional<int>(2)) << run.out << run.err;
  const std::string where = configPath_.string() + ":" + std::to_string(line) + ":";
  EXPECT_NE(run.err.find(where), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("admin.address: plain HTTP for the admin API on \"0.0.0.0\", which is "
                         "not a loopback address: set admin.tls (cert_file, key_file) for HTTPS, "
                         "or admin.allow_plain_http: true"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(portBound(ports_.admin, true)) << "nothing may listen";

  // Said on purpose, it is accepted (checked without listening).
  ports_.sets.emplace_back("admin.allow_plain_http", "true");
  writeFile(configPath_, demoConfigYaml(ports_, routingLogPath_, storePath()));
  const CommandRun allowed =
      runCommand({sosproxyBinary(), "check-config", configPath_.string()}, dir_.path());
  EXPECT_EQ(allowed.status, std::optional<int>(0)) << allowed.out << allowed.err;
}

class TlsAlerts : public Tls {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Tls::SetUp());
    ports_.responders = true;
    writeFile(dir_.path() / "smtp-password", "s3cret pass\n");
  }

  // HQ's webhook responder at https://localhost:PORT (a name: looked up, and the certificate
  // checked for it), the test CA trusted; the relay requires STARTTLS and AUTH.
  void configure(uint16_t webhookPort) {
    ports_.sets.emplace_back("sites[HQ].responders[0].webhook",
                             "\"https://localhost:" + std::to_string(webhookPort) + "/alerts\"");
    ports_.sets.emplace_back("notifications.webhook_ca_file", quoted(certs_.ca));
    ports_.sets.emplace_back(
        "notifications.smtp",
        "{host: localhost, port: " + std::to_string(ports_.smtp) +
            ", from: \"sosproxy@hq.example\", tls: required, ca_file: " + quoted(certs_.ca) +
            ", username: alerts, password_file: " + quoted(dir_.path() / "smtp-password") + "}");
  }

  std::vector<std::string> tlsArgs(bool wrongName = false) const {
    return {"--tls-cert", (wrongName ? certs_.wrongCert : certs_.cert).string(), "--tls-key",
            (wrongName ? certs_.wrongKey : certs_.key).string()};
  }

  std::unique_ptr<Sipp> call911() {
    auto psap = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a");
    Sipp uac(call911Options("1001", "10.1.2.45", "caller"), dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
    return psap;
  }
};

TEST_F(TlsAlerts, WebhookOverHttpsAndMailThroughStartTlsAndAuth) {
  WebhookReceiver hook(dir_.path(), ports_.webhookSecret, ports_.webhook, 200, false, "webhook",
                       tlsArgs());
  SmtpReceiver relay(dir_.path(), ports_.smtp, false, "smtp",
                     {"--tls-cert", certs_.cert.string(), "--tls-key", certs_.key.string(),
                      "--require-tls", "--auth", "alerts:s3cret pass"});
  ASSERT_TRUE(hook.start()) << hook.lastError();
  ASSERT_TRUE(relay.start()) << relay.lastError();
  configure(hook.port());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  call911();

  ASSERT_TRUE(hook.waitForLines(1, milliseconds(15000))) << hook.report() << proxy_->output();
  const std::string line = hook.lines().front();
  EXPECT_EQ(jsonField(line, "tls"), "true") << line;
  EXPECT_EQ(jsonField(line, "signature_ok"), "true") << line;
  EXPECT_EQ(jsonField(jsonField(line, "body"), "psap_trunk"), "il-psap-a") << line;

  ASSERT_TRUE(relay.waitForLines(1, milliseconds(15000))) << relay.report() << proxy_->output();
  const std::string mail = relay.lines().front();
  EXPECT_EQ(jsonField(mail, "tls"), "true") << mail;
  EXPECT_EQ(jsonField(mail, "auth"), "alerts") << mail;
  EXPECT_EQ(jsonField(mail, "auth_mechanism"), "PLAIN") << mail;
  EXPECT_EQ(jsonArrayItems(jsonField(mail, "to")).front(), "security@hq.example") << mail;
  EXPECT_NE(jsonField(mail, "data").find("1001"), std::string::npos) << mail;
  // The password is in no log line.
  EXPECT_EQ(proxy_->output().find("s3cret"), std::string::npos);
  // The call's alerts that did not overlap went over one connection (kept open by the receiver).
  std::set<std::string> connections;
  for (const auto& l : hook.lines()) connections.insert(jsonField(l, "client_port"));
  std::printf("[ measured ] %zu webhook deliveries over %zu HTTPS connections\n",
              hook.lines().size(), connections.size());
}

TEST_F(TlsAlerts, WebhookWithCertificateForAnotherNameIsRefusedAndCounted) {
  WebhookReceiver hook(dir_.path(), ports_.webhookSecret, ports_.webhook, 200, false, "webhook",
                       tlsArgs(/*wrongName=*/true));
  // The relay offers only LOGIN: that mechanism is used.
  SmtpReceiver relay(dir_.path(), ports_.smtp, false, "smtp",
                     {"--tls-cert", certs_.cert.string(), "--tls-key", certs_.key.string(),
                      "--require-tls", "--auth", "alerts:s3cret pass", "--mechanisms", "LOGIN"});
  ASSERT_TRUE(hook.start()) << hook.lastError();
  ASSERT_TRUE(relay.start()) << relay.lastError();
  configure(hook.port());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  call911();

  const std::string failure = "webhook.tls: TLS with localhost:" + std::to_string(hook.port()) +
                              " failed: certificate not accepted: hostname mismatch";
  ASSERT_TRUE(outputShows(failure, milliseconds(15000))) << proxy_->output();
  EXPECT_TRUE(hook.lines().empty()) << hook.report();
  const std::string counted =
      "sosproxy_alert_errors_total{channel=\"webhook\",error=\"webhook.tls\"} ";
  EXPECT_NE(metrics().find(counted), std::string::npos) << metrics();

  ASSERT_TRUE(relay.waitForLines(1, milliseconds(15000))) << relay.report() << proxy_->output();
  EXPECT_EQ(jsonField(relay.lines().front(), "auth_mechanism"), "LOGIN") << relay.lines().front();
  EXPECT_EQ(proxy_->output().find("s3cret"), std::string::npos);
}

// TLS from the first byte (tls: implicit, RFC 8314) with AUTH; a wrong password is refused by
// the relay, recorded as smtp.auth and counted, and nothing is delivered.
TEST_F(TlsAlerts, MailOverImplicitTlsAndAWrongPasswordIsRefused) {
  SmtpReceiver relay(dir_.path(), ports_.smtp, false, "smtp",
                     {"--tls-cert", certs_.cert.string(), "--tls-key", certs_.key.string(),
                      "--implicit-tls", "--auth", "alerts:s3cret pass"});
  ASSERT_TRUE(relay.start()) << relay.lastError();
  ports_.sets.emplace_back("sites[HQ].responders", "[{email: \"security@hq.example\"}]");
  ports_.sets.emplace_back(
      "notifications.smtp",
      "{host: 127.0.0.1, port: " + std::to_string(ports_.smtp) +
          ", from: \"sosproxy@hq.example\", tls: implicit, ca_file: " + quoted(certs_.ca) +
          ", username: alerts, password_env: SOS_TEST_SMTP_PASSWORD}");
  ::setenv("SOS_TEST_SMTP_PASSWORD", "s3cret pass", 1);
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  call911();
  ASSERT_TRUE(relay.waitForLines(1, milliseconds(15000))) << relay.report() << proxy_->output();
  EXPECT_EQ(jsonField(relay.lines().front(), "tls"), "true") << relay.lines().front();
  EXPECT_EQ(jsonField(relay.lines().front(), "auth"), "alerts") << relay.lines().front();
  // The first call's Call-ID, as its mails give it.
  const std::string data = jsonField(relay.lines().front(), "data");
  const size_t at = data.find("Call-ID: ");
  ASSERT_NE(at, std::string::npos) << data;
  const std::string firstCall = data.substr(at, data.find_first_of("\r\\", at) - at);
  TearDown();
  proxy_.reset();
  // Alerts of that call not yet delivered stay in the outbox for the next run. What this run
  // delivered is what its outbox says: the receiver may write the line of a mail sent just
  // before the stop a moment later.
  const std::string deliveredMails =
      "SELECT COUNT(*) FROM notification_jobs WHERE channel = 'email' AND state = 'delivered'";
  const long long delivered = storeCount(deliveredMails);
  EXPECT_GE(delivered, 1);

  ::setenv("SOS_TEST_SMTP_PASSWORD", "not the password", 1);
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  call911();
  ASSERT_TRUE(
      outputShows("smtp.auth: 535 5.7.8 Authentication credentials invalid (answer to "
                  "AUTH PLAIN)",
                  milliseconds(15000)))
      << proxy_->output();
  EXPECT_NE(metrics().find("sosproxy_alert_errors_total{channel=\"email\",error=\"smtp.auth\"} "),
            std::string::npos);
  // Nothing delivered by this run: no more mails delivered in the outbox, and every mail the
  // receiver has is the first call's.
  EXPECT_EQ(storeCount(deliveredMails), delivered);
  for (const auto& line : relay.lines())
    EXPECT_NE(jsonField(line, "data").find(firstCall), std::string::npos) << relay.report();
  EXPECT_EQ(proxy_->output().find("not the password"), std::string::npos);
  ::unsetenv("SOS_TEST_SMTP_PASSWORD");
}

}  // namespace
}  // namespace sos::itest
