// Issue 17, item 5: the self-service page "My emergency location" in a real browser. sosproxy
// runs on the demo enterprise; 1002's phone reports from a network sosproxy does not know
// (198.51.100.20); the user opens /me in headless Chromium (tests/browser/me_page_test.py),
// signs in with the phone's token, sees the undetectable prompt and saves "12 Oak Ave,
// Springfield IL" as the address of this network; the page shows it as the location of the next
// 911, and the next 911 from 1002 there reaches il-psap-a (the civic rule for Illinois) with that
// address in its PIDF-LO. The page asks at first use whether sosproxy may use the device's
// network and has a control to change the answer; it gives an address "for this emergency only";
// it says when nomadic emergency services are off for the user's site. A wrong token gets the
// refusal and no data.
// Without a browser: browser_fixture.h.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "base/clock.h"
#include "browser_fixture.h"

namespace sos::itest {
namespace {

using nlohmann::json;

class MePage : public BrowserTest {
 protected:
  void SetUp() override {
    SOS_NEED_BROWSER();
    ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
    phone_ = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  }

  HttpReply asPhone(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    return httpRequest(method, ports_.admin, path, body, {{"Authorization", "Bearer " + phone_}});
  }

  // 1002's next 911 from 127.0.0.1 as the PSAP il-psap-a receives it; the routing log's line.
  RoutingLogLine call911(std::string* invite) {
    auto psap = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
    Sipp uac(call911Options("1002", "127.0.0.1", "caller-1002-" + std::to_string(++calls_)),
             dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
    *invite = findMessage(*psap, true, "INVITE ");
    return waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(uac, false)}});
  }

  json me() {
    auto got = asPhone("GET", "/api/v1/me");
    EXPECT_EQ(got.status, 200) << got.body;
    return json::parse(got.body, nullptr, false);
  }

  std::string phone_;
  int calls_ = 0;
};

TEST_F(MePage, AUserSavesTheAddressOfAnUnknownNetworkOnThePageAndTheNext911CarriesIt) {
  auto seen =
      asPhone("POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.20"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  ASSERT_EQ(json::parse(seen.body)["status"], "undetectable") << seen.body;

  ASSERT_NO_FATAL_FAILURE(browse("me_page_test.py", "save-address", phone_));
  if (HasFailure()) return;

  // What the page saved, as the API has it: 1002's, confirmed, for the network of the report.
  auto mine = asPhone("GET", "/api/v1/personal-locations");
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json saved = json::parse(mine.body)["personal-locations"];
  ASSERT_EQ(saved.size(), 1u) << mine.body;
  EXPECT_EQ(saved[0]["name"], "Home");
  EXPECT_EQ(saved[0]["confirmed"], true);
  EXPECT_EQ(saved[0]["networks"], json::array({"198.51.100.20"}));

  // The next 911 from 1002 on that network (the INVITE's Contact says nothing of it: the
  // phone's report does).
  std::string invite;
  auto line = call911(&invite);
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
  EXPECT_EQ(line.get("location"), "Home") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal", 0), 0u) << line.raw;
  EXPECT_NE(line.get("route").find("civic rule US/IL"), std::string::npos) << line.raw;
  EXPECT_NE(invite.find("application/pidf+xml"), std::string::npos) << invite;
  for (const auto& [element, value] :
       std::vector<std::pair<std::string, std::string>>{{"country", "US"},
                                                        {"A1", "IL"},
                                                        {"A3", "Springfield"},
                                                        {"HNO", "12"},
                                                        {"RD", "Oak Ave"},
                                                        {"PC", "62704"}}) {
    EXPECT_TRUE(std::regex_search(
        invite, std::regex("<([a-z]+:)?" + element + ">" + value + "</([a-z]+:)?" + element + ">")))
        << element << " " << value << "\n"
        << invite;
  }

  // The user deletes it on the page: the next 911 is the site's default location again.
  ASSERT_NO_FATAL_FAILURE(browse("me_page_test.py", "delete-address", phone_));
  auto none = asPhone("GET", "/api/v1/personal-locations");
  EXPECT_TRUE(json::parse(none.body)["personal-locations"].empty()) << none.body;
}

// The location sharing question and "this emergency only" on the page. 1002 reports from a
// network sosproxy does not know; on the page the question shows at first use and 1002 does not
// allow it: the API keeps the answer with its time, and the next 911 ignores the report (the
// site's default). Then 1002 turns sharing on with the page's control and, from the undetectable
// prompt, gives Lakeside Inn for this emergency only: it is held for location.temporary_hold_s
// (8 hours in the demo) and the next 911 carries it to il-psap-a.
TEST_F(MePage, AUserAnswersTheSharingQuestionAndGivesAnAddressForThisEmergencyOnly) {
  auto seen =
      asPhone("POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.20"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  json before = me();
  EXPECT_EQ(before["location_permission"], true) << before;  // the demo's setting
  EXPECT_EQ(before["location_permission_asked"], false) << before;

  ASSERT_NO_FATAL_FAILURE(browse("me_page_test.py", "sharing-off", phone_));
  if (HasFailure()) return;
  json off = me();
  EXPECT_EQ(off["location_permission"], false) << off;
  EXPECT_EQ(off["location_permission_asked"], true) << off;
  EXPECT_TRUE(off["location_permission_answered_at_ms"].is_number_integer()) << off;
  EXPECT_EQ(off["location"]["found_by"], "site-default") << off;
  auto trail = api("GET", "/api/v1/audit");
  EXPECT_NE(trail.body.find(R"("action":"user.location-permission")"), std::string::npos)
      << trail.body;
  std::string invite;
  auto line = call911(&invite);
  EXPECT_EQ(line.get("location"), "HQ Lobby") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("site-default", 0), 0u) << line.raw;

  const int64_t heldFrom = unixMsNow();
  ASSERT_NO_FATAL_FAILURE(browse("me_page_test.py", "emergency-only", phone_));
  if (HasFailure()) return;
  const int64_t heldTo = unixMsNow();
  json on = me();
  EXPECT_EQ(on["location_permission"], true) << on;
  EXPECT_EQ(on["location"]["name"], "Lakeside Inn") << on;
  auto mine = asPhone("GET", "/api/v1/personal-locations");
  const json held = json::parse(mine.body)["personal-locations"];
  ASSERT_EQ(held.size(), 1u) << mine.body;
  EXPECT_EQ(held[0]["key"].get<std::string>().rfind("1002-hold-", 0), 0u) << mine.body;
  EXPECT_EQ(held[0]["networks"], json::array({"198.51.100.20"})) << mine.body;
  const int64_t until = std::stoll(held[0]["hold_until_ms"].get<std::string>());
  const int64_t eightHours = int64_t{8} * 3600 * 1000;
  EXPECT_GE(until, heldFrom + eightHours) << mine.body;
  EXPECT_LE(until, heldTo + eightHours) << mine.body;

  invite.clear();
  line = call911(&invite);
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
  EXPECT_EQ(line.get("location"), "Lakeside Inn") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal-network", 0), 0u) << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?RD>Lake St</([a-z]+:)?RD>")))
      << invite;
}

// Nomadic emergency services off for HQ (`sites[HQ].nomadic: false`): GET /api/v1/me says so
// with the reason, and the page shows that note and offers only a company location's submission.
class MePageNomadicOff : public MePage {
 protected:
  void SetUp() override {
    ports_.sets = {{"sites[HQ].nomadic", "false"}};
    MePage::SetUp();
  }
};

TEST_F(MePageNomadicOff, ThePageSaysNomadicServicesAreOffForTheSite) {
  auto seen =
      asPhone("POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.20"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  json mine = me();
  EXPECT_EQ(mine["nomadic_services"], false) << mine;
  EXPECT_NE(mine["note"].get<std::string>().find("nomadic emergency services are off for site HQ"),
            std::string::npos)
      << mine;
  EXPECT_TRUE(mine["prompt"].is_null()) << mine;
  browse("me_page_test.py", "nomadic-off", phone_);
}

TEST_F(MePage, AWrongTokenIsRefusedAndShowsNoData) {
  browse("me_page_test.py", "refused", "sos_" + std::string(43, 'x'));
  // The page asked the API once (GET /api/v1/me) and was refused; nothing else was asked.
  EXPECT_EQ(metric("sosproxy_admin_unauthenticated_total"), 1);
}

}  // namespace
}  // namespace sos::itest
