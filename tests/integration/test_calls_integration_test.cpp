// Scheduled test calls (issue 21, must-show 3): with a two-second schedule, HQ places a test call
// to each of its two PSAP trunks, both SIPp peers on loopback. il-psap-a (PIDF-LO) answers: its
// SIPp checks the Request-URI is the test service URN and the INVITE carries HQ's location as a
// PIDF-LO, and sosproxy hangs up at once. il-psap-b (ELIN) answers every test with 503: after its
// second failure in a row HQ's responders are alerted (webhook and e-mail), once. The results are
// in the compliance report (JSON and CSV, scoped by the token's sites), in /metrics and in the
// routing log.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

using nlohmann::json;

// HQ's default location (config/examples/demo-locations.yaml): the test calls carry it.
constexpr const char* kHqElin = "+12175550100";

class TestCalls : public B2buaTest {
 protected:
  TestCalls() {
    ports_.responders = true;
    ports_.sets = {{"trunks[il-psap-a].test_destination", "urn:service:test.sos"},
                   {"trunks[il-psap-b].test_destination", "\"933\""},
                   {"sites[HQ].test_calls", "{interval_s: 2, trunks: [il-psap-a, il-psap-b]}"}};
    webhook_ = std::make_unique<WebhookReceiver>(dir_.path(), ports_.webhookSecret, ports_.webhook);
    smtp_ = std::make_unique<SmtpReceiver>(dir_.path(), ports_.smtp);
  }

  // A PSAP trunk's SIPp taking every test call until the test stops it.
  std::unique_ptr<Sipp> psap(const std::string& scenario, uint16_t port, const std::string& name) {
    SippOptions o;
    o.scenario = scenario;
    o.name = name;
    o.port = port;
    o.calls = 1000;
    o.timeoutSeconds = 120;
    auto sipp = std::make_unique<Sipp>(o, dir_.path());
    EXPECT_TRUE(sipp->start()) << sipp->report();
    return sipp;
  }

  HttpReply as(const std::string& token, const std::string& path) {
    std::vector<HttpHeader> headers;
    if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
    return httpRequest("GET", ports_.admin, path, "", headers);
  }

  // The compliance report's row of HQ's `trunk` as a super-admin sees it (null when absent).
  json row(const std::string& trunk) {
    auto reply = api("GET", "/api/v1/compliance/test-calls");
    if (reply.status != 200) return json{{"status", reply.status}, {"body", reply.body}};
    const json report = json::parse(reply.body);
    for (const auto& r : report["test_calls"])
      if (r["site"] == "HQ" && r["trunk"] == trunk) return r;
    return nullptr;
  }

  std::vector<std::string> alerts(const std::string& trunk) {
    std::vector<std::string> out;
    for (const auto& l : webhook_->lines()) {
      const std::string body = jsonField(l, "body");
      if (jsonField(body, "event") == "test_call_failed" && jsonField(body, "psap_trunk") == trunk)
        out.push_back(body);
    }
    return out;
  }

  std::unique_ptr<WebhookReceiver> webhook_;
  std::unique_ptr<SmtpReceiver> smtp_;
};

TEST_F(TestCalls, EachTrunkIsTestedItsResultReportedAndATrunkFailingTwiceAlerts) {
  ASSERT_TRUE(webhook_->start()) << webhook_->lastError();
  ASSERT_TRUE(smtp_->start()) << smtp_->lastError();
  auto a = psap("uas-psap-test-call-expect-pidf.xml", ports_.psapA, "il-psap-a");
  auto b = psap("uas-psap-test-call-503.xml", ports_.psapB, "il-psap-b");
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));

  // il-psap-a answered a test call, and il-psap-b has refused two in a row.
  ASSERT_TRUE(waitFor(
      [&] {
        json r = row("il-psap-a");
        return r.contains("last_success") && r["last_success"].is_object();
      },
      milliseconds(30000)))
      << row("il-psap-a").dump() << proxy_->output() << a->report();
  ASSERT_TRUE(waitFor(
      [&] {
        json r = row("il-psap-b");
        return r.contains("consecutive_failures") && r["consecutive_failures"].get<int>() >= 2;
      },
      milliseconds(30000)))
      << row("il-psap-b").dump() << proxy_->output() << b->report();

  // The alert: HQ's webhook and tier-1 e-mail hear that il-psap-b failed its test call twice.
  ASSERT_TRUE(waitFor([&] { return !alerts("il-psap-b").empty(); }, milliseconds(15000)))
      << webhook_->report() << proxy_->output();
  const std::string alert = alerts("il-psap-b").front();
  EXPECT_EQ(jsonField(alert, "site"), "HQ") << alert;
  EXPECT_EQ(jsonField(alert, "test"), "true") << alert;
  EXPECT_EQ(jsonField(alert, "dialed"), "933") << alert;
  EXPECT_NE(jsonField(alert, "detail").find("503"), std::string::npos) << alert;
  ASSERT_TRUE(waitFor(
      [&] {
        for (const auto& l : smtp_->lines()) {
          const std::string data = jsonField(l, "data");
          if (jsonField(l, "to").find("security@hq.example") != std::string::npos &&
              data.find("il-psap-b") != std::string::npos &&
              data.find("twice in a row") != std::string::npos)
            return true;
        }
        return false;
      },
      milliseconds(15000)))
      << smtp_->report() << proxy_->output();
  EXPECT_TRUE(alerts("il-psap-a").empty()) << webhook_->report();

  // Two more failures: still the one alert (it is sent at the second failure in a row only).
  ASSERT_TRUE(waitFor(
      [&] {
        json r = row("il-psap-b");
        return r.contains("consecutive_failures") && r["consecutive_failures"].get<int>() >= 4;
      },
      milliseconds(30000)))
      << row("il-psap-b").dump() << proxy_->output();
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM notification_jobs WHERE event = 'test_call_failed' "
                       "AND channel = 'webhook'"),
            1);

  // The compliance report: every site and trunk, last success, last failure and its reason.
  const json passing = row("il-psap-a");
  EXPECT_EQ(passing["state"], "passing") << passing.dump();
  EXPECT_EQ(passing["destination"], "urn:service:test.sos");
  EXPECT_EQ(passing["scheduled"], true);
  EXPECT_EQ(passing["interval_s"], 2);
  EXPECT_EQ(passing["last_success"]["destination"], "urn:service:test.sos");
  const json failing = row("il-psap-b");
  EXPECT_EQ(failing["state"], "failing") << failing.dump();
  EXPECT_TRUE(failing["last_success"].is_null()) << failing.dump();
  EXPECT_EQ(failing["last_failure"]["outcome"], "rejected") << failing.dump();
  EXPECT_EQ(failing["last_failure"]["status"], 503) << failing.dump();
  EXPECT_NE(failing["last_failure"]["reason"].get<std::string>().find("Service Unavailable"),
            std::string::npos)
      << failing.dump();
  auto all = json::parse(api("GET", "/api/v1/compliance/test-calls").body)["test_calls"];
  bool londonListed = false;
  for (const auto& r : all)
    if (r["site"] == "London") londonListed = londonListed || r["state"] == "not-scheduled";
  EXPECT_TRUE(londonListed) << all.dump();

  auto csv = api("GET", "/api/v1/compliance/test-calls?format=csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_NE(csv.headers.find("text/csv"), std::string::npos) << csv.headers;
  EXPECT_EQ(csv.body.rfind("site,trunk,destination,scheduled,interval_s,state,", 0), 0u)
      << csv.body;
  EXPECT_NE(csv.body.find("\r\nHQ,il-psap-b,933,yes,2,failing,"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",rejected,503,503 Service Unavailable,"), std::string::npos) << csv.body;

  // Role-scoped: London's site-admin sees London only and may not ask for HQ; no token or an
  // unknown one is 401, a device's token 403.
  const std::string london = makeToken("london-it", {"--role", "site-admin", "--site", "London"});
  auto londonReport = as(london, "/api/v1/compliance/test-calls");
  ASSERT_EQ(londonReport.status, 200) << londonReport.body;
  const json londonRows = json::parse(londonReport.body)["test_calls"];
  for (const auto& r : londonRows) EXPECT_EQ(r["site"], "London");
  EXPECT_EQ(as(london, "/api/v1/compliance/test-calls?site=HQ").status, 403);
  EXPECT_EQ(as("", "/api/v1/compliance/test-calls").status, 401);
  EXPECT_EQ(as("not-a-token", "/api/v1/compliance/test-calls").status, 401);
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  EXPECT_EQ(as(phone, "/api/v1/compliance/test-calls").status, 403);

  // Metrics and the routing log.
  const std::string m = metrics();
  EXPECT_NE(m.find("sosproxy_test_calls_total{trunk=\"il-psap-a\",outcome=\"answered\"} "),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("sosproxy_test_calls_total{trunk=\"il-psap-b\",outcome=\"rejected\"} "),
            std::string::npos)
      << m;
  const RoutingLogLine refused = waitForLogLine(
      {{"event", "test-call"}, {"trunk", "il-psap-b"}, {"outcome", "rejected"}, {"status", "503"}});
  EXPECT_FALSE(refused.raw.empty()) << routingLogText();
  EXPECT_EQ(refused.get("site"), "HQ") << refused.raw;

  // What the PSAPs received: the test destination as Request-URI, HQ's location (a PIDF-LO to
  // il-psap-a, the ELIN to il-psap-b), and sosproxy's BYE right after the answer.
  a->process()->stop();
  b->process()->stop();
  const std::string inviteA = findMessage(*a, true, "INVITE ");
  EXPECT_EQ(inviteA.rfind("INVITE urn:service:test.sos SIP/2.0", 0), 0u) << inviteA;
  for (const char* want : {"application/pidf+xml", "<ca:RD>Main</ca:RD>", "<ca:HNO>100</ca:HNO>",
                           "<ca:FLR>1</ca:FLR>", "Geolocation: <cid:"})
    EXPECT_NE(inviteA.find(want), std::string::npos) << want << " missing from\n" << inviteA;
  EXPECT_GE(countMessages(*a, true, "BYE "), 1) << a->report();
  EXPECT_EQ(a->logs().find("CHECK FAILED"), std::string::npos) << a->report();
  const std::string inviteB = findMessage(*b, true, "INVITE ");
  EXPECT_EQ(
      inviteB.rfind("INVITE sip:933@127.0.0.1:" + std::to_string(ports_.psapB) + " SIP/2.0", 0), 0u)
      << inviteB;
  EXPECT_NE(headerValue(inviteB, "P-Asserted-Identity").find(kHqElin), std::string::npos)
      << inviteB;
}

// A trunk that takes the INVITE and says nothing fails its test as a real call would fail over:
// after its response_timeout_s (here 0.5 s), a timeout. A trunk with nothing on its port is a
// transport error (the ICMP port unreachable), not a status it sent.
TEST_F(TestCalls, ASilentTrunkTimesOutAndAnAbsentOneIsATransportError) {
  ports_.responders = false;
  ports_.responseTimeout = "0.5";
  UdpBlackHole silent(ports_.psapA);
  ASSERT_TRUE(silent.ok());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  auto failed = [&](const std::string& trunk) {
    json r = row(trunk);
    return r.contains("last_failure") && r["last_failure"].is_object();
  };
  ASSERT_TRUE(
      waitFor([&] { return failed("il-psap-a") && failed("il-psap-b"); }, milliseconds(20000)))
      << row("il-psap-a").dump() << row("il-psap-b").dump() << proxy_->output();
  const json timedOut = row("il-psap-a")["last_failure"];
  EXPECT_EQ(timedOut["outcome"], "timeout") << timedOut.dump();
  EXPECT_EQ(timedOut["reason"], "no response within 500 ms") << timedOut.dump();
  EXPECT_TRUE(timedOut["status"].is_null()) << timedOut.dump();
  EXPECT_EQ(silent.firstLine(), "INVITE urn:service:test.sos SIP/2.0");
  const json unreachable = row("il-psap-b")["last_failure"];
  EXPECT_EQ(unreachable["outcome"], "transport-error") << unreachable.dump();
  EXPECT_TRUE(unreachable["status"].is_null()) << unreachable.dump();
  const std::string m = metrics();
  EXPECT_NE(m.find("sosproxy_test_calls_total{trunk=\"il-psap-a\",outcome=\"timeout\"} "),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("sosproxy_test_calls_total{trunk=\"il-psap-b\",outcome=\"transport-error\"} "),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace sos::itest
