// Issue 18: the dashboard's sign-in over real HTTP and its location tracking in a real browser.
// sosproxy runs on the demo enterprise; three devices report (Alice's softphone and desk phone
// from HQ's subnets, Carol from her home's network); the figures the API answers are the demo's
// as the README defines them, and the page (tests/browser/dashboard_test.py in headless
// Chromium) shows the API's figure for each of the five metrics, to a super-admin for every
// site and for HQ, and London's only, with no HQ user, to a London site-admin.
//
// Chromium and chromedriver are test packages (scripts/setup.sh). Without them the browser
// tests fail when CI=true and are skipped elsewhere, saying why; the sign-in test needs no
// browser.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "b2bua_fixture.h"

#ifndef SOS_BROWSER_TESTS_DIR
#error "SOS_BROWSER_TESTS_DIR must be defined by the build"
#endif

namespace sos::itest {
namespace {

using nlohmann::json;

constexpr const char* kTracking = "/api/v1/dashboard/location-tracking";

class Dashboard : public B2buaTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true)); }

  // Skips (or, with CI=true, fails) the test when the browser is not installed.
  void needBrowser() {
    std::string missing;
    for (const char* program : {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
      if (::access(program, X_OK) != 0)
        missing += std::string(missing.empty() ? "" : ", ") + program;
    }
    if (missing.empty()) return;
    const char* ci = std::getenv("CI");
    const std::string why = "the browser tests need " + missing +
                            " (scripts/setup.sh installs them: apt-get install chromium "
                            "chromium-driver)";
    if (ci != nullptr && std::string(ci) == "true") FAIL() << why;
    GTEST_SKIP() << why;
  }

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

  // Runs one scenario of tests/browser/dashboard_test.py against this sosproxy.
  void browse(const std::string& scenario, const std::string& token) {
    const auto out = dir_.path() / ("browser-" + scenario);
    std::filesystem::create_directories(out);
    CommandRun run =
        runCommand({"python3", std::string(SOS_BROWSER_TESTS_DIR) + "/dashboard_test.py", "--url",
                    "http://127.0.0.1:" + std::to_string(ports_.admin), "--token", token, "--out",
                    out.string(), scenario},
                   dir_.path(), milliseconds(120000));
    std::cout << run.out;
    EXPECT_EQ(run.status, std::optional<int>(0))
        << run.commandLine << "\n"
        << run.out << run.err << "\n--- chromedriver:\n"
        << readFile(out / "chromedriver.log").substr(0, 4000) << "\n--- sosproxy:\n"
        << proxy_->output();
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
  ASSERT_NO_FATAL_FAILURE(needBrowser());
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
  browse("figures", adminToken());
}

TEST_F(Dashboard, ALondonSiteAdminSeesNoHqUser) {
  ASSERT_NO_FATAL_FAILURE(needBrowser());
  ASSERT_NO_FATAL_FAILURE(reportDevices());
  const std::string london = makeToken("london-desk", {"--role", "site-admin", "--site", "London"});
  auto answer = as(london, kTracking);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body.find("\"HQ\""), std::string::npos) << answer.body;
  EXPECT_EQ(as(london, std::string(kTracking) + "?site=HQ").status, 403);
  browse("site-admin", london);
}

TEST_F(Dashboard, AWrongTokenIsRefusedOnThePage) {
  ASSERT_NO_FATAL_FAILURE(needBrowser());
  browse("refused", "sos_" + std::string(43, 'x'));
}

}  // namespace
}  // namespace sos::itest
