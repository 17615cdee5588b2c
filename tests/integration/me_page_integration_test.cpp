// Issue 17, item 5: the self-service page "My emergency location" in a real browser. sosproxy
// runs on the demo enterprise; 1002's phone reports from a network sosproxy does not know
// (198.51.100.20); the user opens /me in headless Chromium (tests/browser/me_page_test.py),
// signs in with the phone's token, sees the undetectable prompt and saves "12 Oak Ave,
// Springfield IL" as the address of this network; the page shows it as the location of the next
// 911, and the next 911 from 1002 there reaches il-psap-a (the civic rule for Illinois) with that
// address in its PIDF-LO. A wrong token gets the refusal and no data.
// Without a browser: browser_fixture.h.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

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

  std::string phone_;
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
  auto psap = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  SippOptions o;
  o.scenario = "uac-911-from-network-expect-200.xml";
  o.name = "caller-1002";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = "911";
  o.sets = {{"caller", "1002"},
            {"contact_host", "127.0.0.1"},
            {"contact_port", "5060"},
            {"pani", "IEEE-802.3"}};
  Sipp uac(o, dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  auto line = waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(uac, false)}});
  EXPECT_EQ(line.get("trunk"), "il-psap-a") << line.raw;
  EXPECT_EQ(line.get("location"), "Home") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal", 0), 0u) << line.raw;
  EXPECT_NE(line.get("route").find("civic rule US/IL"), std::string::npos) << line.raw;
  const std::string invite = findMessage(*psap, true, "INVITE ");
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

TEST_F(MePage, AWrongTokenIsRefusedAndShowsNoData) {
  browse("me_page_test.py", "refused", "sos_" + std::string(43, 'x'));
  // The page asked the API once (GET /api/v1/me) and was refused; nothing else was asked.
  EXPECT_EQ(metric("sosproxy_admin_unauthenticated_total"), 1);
}

}  // namespace
}  // namespace sos::itest
