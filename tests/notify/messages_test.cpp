// What an alert says (notify/messages.h): the webhook JSON, the mail subject and the plain text
// a guard reads, for each kind of event and for an escalation.

#include "notify/messages.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sample_event.h"

namespace sos::notify {
namespace {

using test::started;

TEST(NotifyTexts, EventKindsHaveTheirWireNames) {
  EXPECT_EQ(toString(EventKind::Started), "started");
  EXPECT_EQ(toString(EventKind::Answered), "answered");
  EXPECT_EQ(toString(EventKind::Ended), "ended");
  EXPECT_EQ(toString(EventKind::FailedOver), "failed_over");
  EXPECT_EQ(toString(EventKind::Callback), "callback");
  EXPECT_EQ(toString(EventKind::TestCallFailed), "test_call_failed");
}

// Issue 21: a trunk failing its scheduled test calls is no call of anybody's: the texts say which
// trunk failed, for which site, how, and what to do, flagged as a test.
TEST(NotifyTexts, ATrunkFailingItsTestCallsSaysWhichTrunkAndWhy) {
  CallEvent e;
  e.kind = EventKind::TestCallFailed;
  e.callId = "tc-1@127.0.0.1";
  e.atMs = 1'700'000'000'123;
  e.test = true;
  e.site = "HQ";
  e.dialed = "933";
  e.location = "HQ Lobby";
  e.trunk = "il-psap-b";
  e.detail = "rejected: 503 Service Unavailable";
  auto j = nlohmann::json::parse(webhookJson(e, 1, "d-20"));
  EXPECT_EQ(j["event"], "test_call_failed");
  EXPECT_EQ(j["test"], true);
  EXPECT_EQ(j["psap_trunk"], "il-psap-b");
  EXPECT_EQ(j["site"], "HQ");
  EXPECT_EQ(j["detail"], "rejected: 503 Service Unavailable");
  EXPECT_EQ(mailSubject(e),
            "[TEST] PSAP trunk il-psap-b failed its scheduled test call twice in a row (site HQ)");
  const std::string text = plainText(e);
  EXPECT_EQ(text.substr(0, text.find('\n', text.find('\n') + 1)),
            "TEST CALL - not a real emergency.\nPSAP TRUNK FAILING: trunk il-psap-b failed the "
            "scheduled test call of site HQ twice in a row.");
  for (const char* want : {"Last failure: rejected: 503 Service Unavailable",
                           "Test destination: 933", "Location sent: HQ Lobby", "Site: HQ",
                           "Time: 2023-11-14 22:13:20 UTC", "Call-ID: tc-1@127.0.0.1"})
    EXPECT_NE(text.find(want), std::string::npos) << want << " missing from\n" << text;
  EXPECT_EQ(text.find("Caller:"), std::string::npos) << text;
  EXPECT_EQ(eventFromJson(eventToJson(e), e.callId).kind, EventKind::TestCallFailed);
}

TEST(NotifyTexts, TheWebhookJsonCarriesEveryDetailOfTheCall) {
  auto j = nlohmann::json::parse(webhookJson(started(), 1, "d-17"));
  const nlohmann::json expected = {
      {"event", "started"},
      {"call_id", "1-4242@127.0.0.1"},
      {"test", false},
      {"time", "2023-11-14T22:13:20.123Z"},
      {"site", "HQ"},
      {"dialed", "911"},
      {"caller", {{"extension", "1001"}, {"name", "Alice Smith"}}},
      {"callback_number", "+12175550102"},
      {"location",
       {{"name", "HQ Floor 2"},
        {"address", "100 Main St, FLR 2, ROOM 210, Springfield, IL 62701, US"},
        {"found_by", "subnet 10.1.2.0/24 (Contact 10.1.2.45)"}}},
      {"psap_trunk", "il-psap-a"},
      {"detail", ""},
      {"tier", 1},
      {"delivery_id", "d-17"}};
  EXPECT_EQ(j, expected);

  CallEvent failedOver = started();
  failedOver.kind = EventKind::FailedOver;
  failedOver.test = true;
  failedOver.detail = "il-psap-a: 503";
  j = nlohmann::json::parse(webhookJson(failedOver, 1, "d-18"));
  EXPECT_EQ(j["event"], "failed_over");
  EXPECT_EQ(j["test"], true);
  EXPECT_EQ(j["detail"], "il-psap-a: 503");
  // A higher tier hears of the call only because nobody acknowledged it.
  j = nlohmann::json::parse(webhookJson(started(), 2, "d-19"));
  EXPECT_EQ(j["event"], "escalation");
  EXPECT_EQ(j["tier"], 2);
}

TEST(NotifyTexts, InvalidUtf8FromThePhoneIsReplacedNotThrown) {
  CallEvent e = started();
  e.callerName = "Al\xff\xfe";
  std::string text;
  ASSERT_NO_THROW(text = webhookJson(e, 1, "d-1"));
  EXPECT_EQ(nlohmann::json::parse(text)["caller"]["name"], "Al\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(NotifyTexts, TheMailSubjectSaysWhatHappenedOnOneLine) {
  CallEvent e = started();
  EXPECT_EQ(mailSubject(e), "Emergency call 911 from 1001 (HQ Floor 2)");
  e.test = true;
  e.dialed = "933";
  EXPECT_EQ(mailSubject(e), "[TEST] Emergency call 933 from 1001 (HQ Floor 2)");
  e = started();
  e.kind = EventKind::Answered;
  EXPECT_EQ(mailSubject(e), "Emergency call 911 from 1001 (HQ Floor 2): answered by the PSAP");
  e.kind = EventKind::Ended;
  e.detail = "answered";
  EXPECT_EQ(mailSubject(e), "Emergency call 911 from 1001 (HQ Floor 2): ended (answered)");
  e.kind = EventKind::FailedOver;
  e.trunk = "il-psap-b";
  EXPECT_EQ(mailSubject(e),
            "Emergency call 911 from 1001 (HQ Floor 2): moved to PSAP trunk "
            "il-psap-b");
  EXPECT_EQ(mailSubject(started(), 2),
            "NOT ACKNOWLEDGED: emergency call 911 from 1001 (HQ Floor 2) (tier 2)");
  // A line end in what the caller sent cannot start a header of its own.
  e = started();
  e.location = "HQ\r\nBcc: someone@example.com";
  EXPECT_EQ(mailSubject(e).find_first_of("\r\n"), std::string::npos);
}

TEST(NotifyTexts, ThePlainTextTellsAGuardWhoWhereAndHowToCallBack) {
  const std::string text = plainText(started());
  // Kari's Law: that a 911 call was made, the callback number, the location.
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "EMERGENCY CALL: Alice Smith (extension 1001) dialed 911.");
  for (const char* line :
       {"Caller: Alice Smith, extension 1001\n", "Callback number: +12175550102\n",
        "Location: HQ Floor 2\n",
        "Address: 100 Main St, FLR 2, ROOM 210, Springfield, IL 62701, US\n",
        "Found by: subnet 10.1.2.0/24 (Contact 10.1.2.45)\n", "PSAP trunk: il-psap-a\n",
        "Time: 2023-11-14 22:13:20 UTC\n", "Call-ID: 1-4242@127.0.0.1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " in:\n" << text;
  }
  EXPECT_EQ(text.find("TEST"), std::string::npos);

  CallEvent test = started();
  test.test = true;
  EXPECT_EQ(plainText(test).rfind("TEST CALL", 0), 0u) << plainText(test);

  CallEvent unknown;
  unknown.callId = "c-1";
  unknown.dialed = "911";
  const std::string sparse = plainText(unknown);
  EXPECT_NE(sparse.find("Callback number: unknown\n"), std::string::npos) << sparse;
  EXPECT_NE(sparse.find("Address: unknown\n"), std::string::npos) << sparse;

  const std::string escalation = plainText(started(), 2);
  EXPECT_EQ(escalation.rfind("ESCALATION (tier 2): nobody has acknowledged", 0), 0u) << escalation;
  EXPECT_NE(escalation.find("Callback number: +12175550102\n"), std::string::npos);
}

// ---- The outbox ----

}  // namespace
}  // namespace sos::notify
