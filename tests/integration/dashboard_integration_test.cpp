// Issue 18: the dashboard's sign-in over real HTTP and its location tracking in a real browser.
// sosproxy runs on the demo enterprise; three devices report (Alice's softphone and desk phone
// from HQ's subnets, Carol from her home's network); the figures the API answers are the demo's
// as the README defines them, and the page (tests/browser/dashboard_test.py in headless
// Chromium) shows the API's figure for each of the five metrics, to a super-admin for every
// site and for HQ, and London's only, with no HQ user, to a London site-admin.
// The sign-in test needs no browser (browser_fixture.h says what the others do without one).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "browser_fixture.h"

namespace sos::itest {
namespace {

using nlohmann::json;

constexpr const char* kTracking = "/api/v1/dashboard/location-tracking";

class Dashboard : public BrowserTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true)); }

  void reportDevices() {
    for (const char* body : {R"({"extension":"1001","ip":"10.1.2.45"})",
                             R"({"mac":"00:04:f2:00:10:01","ip":"10.1.3.20"})",
                             R"({"extension":"1003","ip":"203.0.113.7"})"}) {
      auto r = api("POST", "/api/v1/location-reports", body);
      ASSERT_EQ(r.status, 200) << body << ": " << r.body;
    }
  }

  HttpReply as(const std::string& token, const std::string& path) {
    return httpRequest("GET", ports_.admin, path, "", {{"Authorization", "Bearer " + token}});
  }
};

// The cookie of a Set-Cookie header: "sos_session=ID".
std::string cookieOf(const std::string& headers) {
  std::smatch m;
  if (!std::regex_search(
          headers, m,
          std::regex("Set-Cookie: (sos_session=[^;\r\n]*)([^\r\n]*)", std::regex::icase))) {
    return "";
  }
  return m[1];
}

TEST_F(Dashboard, SignInGivesACookieThatReadsButChangesNothingWithoutItsCsrfToken) {
  // A wrong or absent token: no session.
  for (const std::string body : {R"({"token":"sos_wrong"})", R"({})"}) {
    auto refused = httpRequest("POST", ports_.admin, "/api/v1/session", body,
                               {{"Content-Type", "application/json"}});
    EXPECT_TRUE(refused.status == 401 || refused.status == 400) << body << ": " << refused.body;
    EXPECT_EQ(cookieOf(refused.headers), "") << refused.headers;
  }
  auto signedIn =
      httpRequest("POST", ports_.admin, "/api/v1/session", json{{"token", adminToken()}}.dump(),
                  {{"Content-Type", "application/json"}});
  ASSERT_EQ(signedIn.status, 201) << signedIn.body;
  const std::string cookie = cookieOf(signedIn.headers);
  ASSERT_FALSE(cookie.empty()) << signedIn.headers;
  EXPECT_NE(signedIn.headers.find("HttpOnly"), std::string::npos) << signedIn.headers;
  EXPECT_NE(signedIn.headers.find("SameSite=Strict"), std::string::npos) << signedIn.headers;
  const std::string csrf = json::parse(signedIn.body)["csrf"];

  auto read = httpRequest("GET", ports_.admin, kTracking, "", {{"Cookie", cookie}});
  EXPECT_EQ(read.status, 200) << read.body;
  auto forged = httpRequest("GET", ports_.admin, kTracking, "",
                            {{"Cookie", "sos_session=sos_" + std::string(43, 'A')}});
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_EQ(httpRequest("GET", ports_.admin, kTracking).status, 401);

  // A state change with the cookie alone (what a cross-site form could make a browser send):
  // refused, and the token it would have made does not exist.
  const std::string make = R"({"name":"made-by-cookie","role":"super-admin"})";
  auto noCsrf = httpRequest("POST", ports_.admin, "/api/v1/tokens", make,
                            {{"Cookie", cookie}, {"Content-Type", "application/json"}});
  EXPECT_EQ(noCsrf.status, 403) << noCsrf.body;
  auto wrongCsrf = httpRequest(
      "POST", ports_.admin, "/api/v1/tokens", make,
      {{"Cookie", cookie}, {"Content-Type", "application/json"}, {"X-CSRF-Token", csrf + "x"}});
  EXPECT_EQ(wrongCsrf.status, 403) << wrongCsrf.body;
  EXPECT_EQ(api("GET", "/api/v1/tokens").body.find("made-by-cookie"), std::string::npos);
  EXPECT_EQ(metric("sosproxy_admin_csrf_refused_total"), 2);
  auto withCsrf = httpRequest(
      "POST", ports_.admin, "/api/v1/tokens", make,
      {{"Cookie", cookie}, {"Content-Type", "application/json"}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(withCsrf.status, 201) << withCsrf.body;

  // Signing out ends the session on the server.
  auto out = httpRequest("DELETE", ports_.admin, "/api/v1/session", "",
                         {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(httpRequest("GET", ports_.admin, kTracking, "", {{"Cookie", cookie}}).status, 401);
}

TEST_F(Dashboard, TheDemosFiguresAreTheApisAndThePageShowsThem) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(reportDevices());
  auto answer = api("GET", kTracking);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json t = json::parse(answer.body);
  // The demo enterprise (config/examples/demo-locations.yaml) and the three reports.
  EXPECT_EQ(t["nomadic"]["count"], 1);  // Bob
  EXPECT_EQ(t["nomadic"]["of"], 4);
  EXPECT_EQ(t["sharing"]["count"], 1);
  EXPECT_EQ(t["emergency_address"]["personal"], 2);     // Carol's and David's confirmed homes
  EXPECT_EQ(t["personal_locations"]["detectable"], 1);  // Carol's has a network
  EXPECT_EQ(t["now"]["users"]["counts"], (json{{"company", 1}, {"personal", 1}, {"unknown", 2}}));
  EXPECT_EQ(t["now"]["phones"]["counts"], (json{{"company", 1}, {"personal", 0}, {"unknown", 0}}));
  browse("dashboard_test.py", "figures", adminToken());
}

TEST_F(Dashboard, ALondonSiteAdminSeesNoHqUser) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(reportDevices());
  const std::string london = makeToken("london-desk", {"--role", "site-admin", "--site", "London"});
  auto answer = as(london, kTracking);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body.find("\"HQ\""), std::string::npos) << answer.body;
  EXPECT_EQ(as(london, std::string(kTracking) + "?site=HQ").status, 403);
  browse("dashboard_test.py", "site-admin", london);
}

TEST_F(Dashboard, AWrongTokenIsRefusedOnThePage) {
  SOS_NEED_BROWSER();
  browse("dashboard_test.py", "refused", "sos_" + std::string(43, 'x'));
}

}  // namespace
}  // namespace sos::itest
