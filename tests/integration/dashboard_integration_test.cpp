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

  // Two users on networks no location has (1002 at HQ, 2001 in London), and two company
  // locations 1002 submitted for approval.
  void listActionsData() {
    ASSERT_NO_FATAL_FAILURE(reportDevices());
    const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
    auto seen = httpRequest("POST", ports_.admin, "/api/v1/location-reports",
                            R"({"extension":"1002","ip":"10.1.9.20"})",
                            {{"Authorization", "Bearer " + phone}});
    ASSERT_EQ(seen.status, 200) << seen.body;
    auto london =
        api("POST", "/api/v1/location-reports", R"({"extension":"2001","ip":"10.2.9.9"})");
    ASSERT_EQ(london.status, 200) << london.body;
    for (const char* name : {"HQ Annex", "Bob's Shed"}) {
      json body{{"choice", "submit-company"},
                {"name", name},
                {"country", "US"},
                {"A1", "IL"},
                {"A3", "Springfield"},
                {"HNO", "110"},
                {"RD", "Main"},
                {"STS", "St"},
                {"PC", "62701"}};
      body["subnets"] =
          json::array({std::string(name) == "HQ Annex" ? "10.1.8.0/24" : "10.1.6.0/24"});
      auto submitted = httpRequest("POST", ports_.admin, "/api/v1/me/prompt-answer", body.dump(),
                                   {{"Authorization", "Bearer " + phone}});
      ASSERT_EQ(submitted.status, 201) << submitted.body;
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

// `sosproxy token password NAME` with the password on standard input.
CommandRun setPassword(const std::filesystem::path& binary, const std::filesystem::path& config,
                       const std::filesystem::path& dir, const std::string& name,
                       const std::optional<std::string>& password) {
  std::vector<std::string> argv{binary.string(), "token", "password", "--config", config.string()};
  if (!password) argv.emplace_back("--clear");
  argv.push_back(name);
  return runCommand(argv, dir, milliseconds(20000), password ? *password + "\n" : "");
}

HttpReply passwordSignIn(uint16_t port, const std::string& user, const std::string& password) {
  return httpRequest("POST", port, "/api/v1/session",
                     json{{"username", user}, {"password", password}}.dump(),
                     {{"Content-Type", "application/json"}});
}

TEST_F(Dashboard, APasswordSetByTheCliSignsInScopedLikeItsToken) {
  const std::string london = makeToken("london-desk", {"--role", "site-admin", "--site", "London"});
  ASSERT_NO_FATAL_FAILURE(reportDevices());
  // Too short, none on standard input, or for a device's token: refused, nothing set.
  const auto shortOne =
      setPassword(sosproxyBinary(), configPath_, dir_.path(), "london-desk", std::string("short"));
  EXPECT_EQ(shortOne.status, std::optional<int>(2)) << shortOne.err;
  EXPECT_NE(shortOne.err.find("10 to 1024 characters"), std::string::npos) << shortOne.err;
  makeToken("phone", {"--role", "device", "--user", "1001"});
  const auto phone = setPassword(sosproxyBinary(), configPath_, dir_.path(), "phone",
                                 std::string("correct horse battery"));
  EXPECT_EQ(phone.status, std::optional<int>(2)) << phone.err;
  EXPECT_EQ(passwordSignIn(ports_.admin, "london-desk", "short").status, 401);

  const auto set = setPassword(sosproxyBinary(), configPath_, dir_.path(), "london-desk",
                               std::string("correct horse battery"));
  ASSERT_EQ(set.status, std::optional<int>(0)) << set.commandLine << "\n" << set.err;
  EXPECT_NE(set.err.find("dashboard password set"), std::string::npos) << set.err;
  EXPECT_EQ(set.out, "");  // nothing of the password is printed

  // A wrong password and an unknown user: the same 401, counted and logged.
  auto wrong = passwordSignIn(ports_.admin, "london-desk", "correct horse batterY");
  auto unknown = passwordSignIn(ports_.admin, "nobody", "correct horse battery");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(cookieOf(wrong.headers), "");
  EXPECT_EQ(metric("sosproxy_admin_sign_in_failures_total"), 3);
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("dashboard sign-in refused from 127.0.0.1: user \"nobody\"") !=
               std::string::npos;
      },
      milliseconds(5000)))
      << proxy_->output();

  // The right one: a session like the token's, London's only.
  auto signedIn = passwordSignIn(ports_.admin, "london-desk", "correct horse battery");
  ASSERT_EQ(signedIn.status, 201) << signedIn.body;
  const std::string cookie = cookieOf(signedIn.headers);
  ASSERT_FALSE(cookie.empty()) << signedIn.headers;
  EXPECT_NE(signedIn.headers.find("HttpOnly"), std::string::npos) << signedIn.headers;
  EXPECT_NE(signedIn.headers.find("SameSite=Strict"), std::string::npos) << signedIn.headers;
  EXPECT_EQ(json::parse(signedIn.body)["sites"], json::array({"London"}));
  auto tracking = httpRequest("GET", ports_.admin, kTracking, "", {{"Cookie", cookie}});
  ASSERT_EQ(tracking.status, 200) << tracking.body;
  // The token's own answer (but for the moment it was taken).
  json byCookie = json::parse(tracking.body);
  json byToken = json::parse(as(london, kTracking).body);
  for (json* j : {&byCookie, &byToken}) j->erase("at_ms");
  for (json* j : {&byCookie["now"]["users"], &byToken["now"]["users"], &byCookie["now"]["phones"],
                  &byToken["now"]["phones"]}) {
    for (auto& e : (*j)["entries"]) e.erase("age_ms");
  }
  EXPECT_EQ(byCookie, byToken);
  EXPECT_EQ(tracking.body.find("\"HQ\""), std::string::npos) << tracking.body;
  for (const char* hq : {"1001", "1002", "Alice", "Bob"}) {
    EXPECT_EQ(tracking.body.find(hq), std::string::npos) << hq << " in " << tracking.body;
  }
  EXPECT_EQ(httpRequest("GET", ports_.admin, std::string(kTracking) + "?site=HQ", "",
                        {{"Cookie", cookie}})
                .status,
            403);

  // Cleared: the password signs in no more.
  const auto cleared =
      setPassword(sosproxyBinary(), configPath_, dir_.path(), "london-desk", std::nullopt);
  ASSERT_EQ(cleared.status, std::optional<int>(0)) << cleared.err;
  EXPECT_EQ(passwordSignIn(ports_.admin, "london-desk", "correct horse battery").status, 401);
}

TEST_F(Dashboard, APasswordSignsInOnThePage) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(reportDevices());
  makeToken("london-desk", {"--role", "site-admin", "--site", "London"});
  const auto set = setPassword(sosproxyBinary(), configPath_, dir_.path(), "london-desk",
                               std::string("correct horse battery"));
  ASSERT_EQ(set.status, std::optional<int>(0)) << set.err;
  browse("dashboard_test.py", "password", "london-desk:correct horse battery");
}

// Issue 18: from the lists, re-trigger, attach a network, create a location with it, approve
// and reject (tests/browser/dashboard_test.py checks each in the API afterwards).
TEST_F(Dashboard, TheListsActionsChangeWhatTheApiSays) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(listActionsData());
  browse("dashboard_test.py", "actions", adminToken());
  // What the page did, as the API now says it.
  auto annex = api("GET", "/api/v1/locations/hq-annex");
  EXPECT_EQ(annex.status, 200) << annex.body;
  auto made = api("GET", "/api/v1/locations/london-annex");
  EXPECT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(api("GET", "/api/v1/location-requests?state=pending").body, "{\"requests\":[]}\n");
}

TEST_F(Dashboard, ALondonSiteAdminsActionsReachLondonOnly) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(listActionsData());
  const std::string london = makeToken("london-desk", {"--role", "site-admin", "--site", "London"});
  browse("dashboard_test.py", "actions-london", london);
  // HQ's requests are still waiting and HQ Floor 3 has no new network.
  auto pending = json::parse(api("GET", "/api/v1/location-requests?state=pending").body);
  EXPECT_EQ(pending["requests"].size(), 2u) << pending.dump();
  EXPECT_EQ(api("GET", "/api/v1/locations/hq-floor-3").body.find("10.1.7.0/24"), std::string::npos);
}

TEST_F(Dashboard, AResponderIsOfferedNoListActionAndTheApiRefusesThem) {
  SOS_NEED_BROWSER();
  ASSERT_NO_FATAL_FAILURE(listActionsData());
  const std::string desk = makeToken("hq-desk", {"--role", "responder", "--site", "HQ"});
  browse("dashboard_test.py", "responder", desk);
  auto pending = json::parse(api("GET", "/api/v1/location-requests?state=pending").body);
  EXPECT_EQ(pending["requests"].size(), 2u) << pending.dump();
  EXPECT_EQ(api("GET", "/api/v1/locations/hq-floor-3").body.find("10.1.7.0/24"), std::string::npos);
  EXPECT_EQ(api("GET", "/api/v1/audit").body.find("prompts.retrigger"), std::string::npos);
}

TEST_F(Dashboard, AWrongTokenIsRefusedOnThePage) {
  SOS_NEED_BROWSER();
  browse("dashboard_test.py", "refused", "sos_" + std::string(43, 'x'));
}

}  // namespace
}  // namespace sos::itest
