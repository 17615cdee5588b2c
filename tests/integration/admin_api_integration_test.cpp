// No one gets in where they don't belong (issue 16), against the real binary: tokens made and
// revoked by `sosproxy token` while it runs; no token is 401 on every /api/v1 route; a token
// outside its role or sites is 403 and changes nothing (a refused location report is not
// written and does not move the user's next 911); a text/plain body is 415; a foreign Host is
// 421; what a token did is in the audit trail under its name.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "b2bua_fixture.h"
#include "raw_sip.h"

namespace sos::itest {
namespace {

using nlohmann::json;

class AdminApi : public B2buaTest {
 protected:
  void SetUp() override {
    // Responders on (no receiver runs: their alerts stay pending), so a 911 has an alert whose
    // site decides who may acknowledge it.
    ports_.responders = true;
    ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  }

  HttpReply as(const std::string& token, const std::string& method, const std::string& path,
               const std::string& body = "", std::vector<HttpHeader> headers = {}) {
    if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
    return httpRequest(method, ports_.admin, path, body, headers);
  }

  // A 911 from 1001 on HQ Floor 2 (10.1.2.45), answered by il-psap-a; returns its Call-ID as
  // sosproxy's alert knows it (the caller's).
  std::string call911(const std::string& contactHost = "10.1.2.45") {
    auto psap = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a");
    SippOptions o;
    o.scenario = "uac-911-from-network-expect-200.xml";
    o.name = "caller-" + contactHost;
    o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
    o.service = "911";
    o.sets = {{"caller", "1001"},
              {"contact_host", contactHost},
              {"contact_port", "5060"},
              {"pani", "IEEE-802.3"}};
    Sipp uac(o, dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
    return inviteCallId(uac, false);
  }
};

TEST_F(AdminApi, NoTokenIs401OnEveryApiRoute) {
  const std::vector<std::pair<std::string, std::string>> routes{
      {"GET", "/api/v1/whoami"},
      {"POST", "/api/v1/location-reports"},
      {"POST", "/api/v1/admin/reload"},
      {"POST", "/api/v1/calls/x/acknowledge"},
      {"GET", "/api/v1/tokens"},
      {"POST", "/api/v1/tokens"},
      {"DELETE", "/api/v1/tokens/a"},
      {"GET", "/api/v1/audit"},
      {"GET", "/api/v1/locations"},
      {"POST", "/api/v1/locations"},
      {"PUT", "/api/v1/locations/hq-lobby"},
      {"DELETE", "/api/v1/locations/hq-lobby"},
      {"GET", "/api/v1/openapi.json"},
      {"GET", "/api/v1/trunks"},
      {"GET", "/api/v1/elin-mappings"},
      {"GET", "/api/v1/calls"},
      {"GET", "/api/v1/users"},
      {"PUT", "/api/v1/users/1001"},
      {"DELETE", "/api/v1/devices/00:04:f2:00:10:01"},
      {"POST", "/api/v1/import/users"},
      {"GET", "/api/v1/personal-locations/1003-home"},
      {"GET", "/api/v1/me"},
      {"POST", "/api/v1/me/prompt-answer"},
      {"GET", "/api/v1/location-requests"},
      {"POST", "/api/v1/prompts/retrigger"},
      {"POST", "/api/v1/location-requests/1/approve"},
      {"PUT", "/api/v1/sites/Paris"},
      {"GET", "/api/v1/export/locations"}};
  for (const auto& [method, path] : routes) {
    for (const std::string token : {"", "sos_not-a-token"}) {
      auto r = as(token, method, path, method == "POST" || method == "PUT" ? "{}" : "");
      EXPECT_EQ(r.status, 401) << method << " " << path << " token '" << token << "': " << r.body;
      EXPECT_NE(r.headers.find("WWW-Authenticate: Bearer"), std::string::npos) << r.headers;
    }
  }
  // Probes and (by default) metrics stay open.
  EXPECT_EQ(as("", "GET", "/healthz").status, 200);
  EXPECT_EQ(as("", "GET", "/metrics").status, 200);
  EXPECT_EQ(metric("sosproxy_admin_unauthenticated_total"), static_cast<long>(routes.size() * 2));
}

TEST_F(AdminApi, ADeviceTokenOf1002CannotReportFor1001) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  const auto before = storeCount("SELECT COUNT(*) FROM device_reports");
  ASSERT_GE(before, 0);
  auto refused =
      as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1001","ip":"10.2.1.20"})");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"], "this token reports for extension 1002 only");
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM device_reports"), before);
  // Its own report is taken.
  auto own = as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1002"})");
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM device_reports"), before + 1);
  EXPECT_EQ(metric("sosproxy_admin_forbidden_total"), 1);
  // The refusal is logged with the token's name (the log is written by a thread of its own).
  EXPECT_TRUE(outputShows("location report refused for token \"phone-1002\"", milliseconds(5000)))
      << proxy_->output();
}

TEST_F(AdminApi, ASiteAdminOfHqCannotReportForLondonOrAcknowledgeForIt) {
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  const std::string london = makeToken("london-it", {"--role", "site-admin", "--site", "London"});
  auto foreign = as(hq, "POST", "/api/v1/location-reports", R"({"extension":"2001"})");
  EXPECT_EQ(foreign.status, 403) << foreign.body;
  // London's locations: not listed, not read, not deleted.
  auto listed = as(hq, "GET", "/api/v1/locations");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json hqLocations = json::parse(listed.body)["locations"];
  EXPECT_FALSE(hqLocations.empty());
  for (const auto& l : hqLocations) EXPECT_EQ(l["site"], "HQ") << l;
  const std::string londonKey = "london-office";
  EXPECT_EQ(as(london, "GET", "/api/v1/locations/" + londonKey).status, 200);
  EXPECT_EQ(as(hq, "GET", "/api/v1/locations/" + londonKey).status, 403);
  EXPECT_EQ(as(hq, "DELETE", "/api/v1/locations/" + londonKey).status, 403);
  EXPECT_EQ(as(hq, "POST", "/api/v1/location-reports", R"({"extension":"1001"})").status, 200);

  const std::string cid = call911();
  ASSERT_TRUE(
      waitFor([&] { return storeCount("SELECT COUNT(*) FROM call_alerts WHERE site = 'HQ'") == 1; },
              milliseconds(15000)))
      << proxy_->output();
  const std::string ack = "/api/v1/calls/" + cid + "/acknowledge";
  auto notYours = as(london, "POST", ack, R"({"by":"london guard"})");
  EXPECT_EQ(notYours.status, 403) << notYours.body;
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM call_alerts WHERE acknowledged_by IS NULL"), 1);
  auto yours = as(hq, "POST", ack, R"({"by":"hq guard"})");
  EXPECT_EQ(yours.status, 200) << yours.body;
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM call_alerts WHERE acknowledged_by = 'hq guard'"), 1);

  // The call's record: HQ's admin reads it (JSON and CSV), London's admin may not.
  ASSERT_TRUE(waitFor(
      [&] {
        return storeCount("SELECT COUNT(*) FROM call_records WHERE call_id = '" + cid + "'") == 1;
      },
      milliseconds(15000)));
  auto record = as(hq, "GET", "/api/v1/calls/" + cid);
  ASSERT_EQ(record.status, 200) << record.body;
  const json call = json::parse(record.body);
  EXPECT_EQ(call["records"][0]["location"], "HQ Floor 2") << record.body;
  EXPECT_EQ(call["records"][0]["trunk"], "il-psap-a");
  EXPECT_EQ(call["alert"]["acknowledged_by"], "hq guard");
  // "started" went to each of HQ's three responder channels (webhook, e-mail, SIP MESSAGE).
  std::set<std::string> startedChannels;
  for (const auto& d : call["deliveries"]) {
    if (d["event"] == "started") startedChannels.insert(d["channel"].get<std::string>());
  }
  EXPECT_EQ(startedChannels, (std::set<std::string>{"email", "sip", "webhook"})) << record.body;
  EXPECT_EQ(as(london, "GET", "/api/v1/calls/" + cid).status, 403);
  auto csv = as(hq, "GET", "/api/v1/calls?emergency=yes&format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.body.find("," + cid + ","), std::string::npos) << csv.body;
  EXPECT_EQ(csv.body.find("London"), std::string::npos) << csv.body;

  // The audit trail names the token; HQ's admin sees HQ's entries, London's none of them.
  auto trail = as(hq, "GET", "/api/v1/audit");
  ASSERT_EQ(trail.status, 200) << trail.body;
  const json entries = json::parse(trail.body)["entries"];
  ASSERT_EQ(entries.size(), 1u) << trail.body;
  EXPECT_EQ(entries[0]["actor"], "hq-it");
  EXPECT_EQ(entries[0]["action"], "call.acknowledge");
  EXPECT_EQ(entries[0]["object"], "call:" + cid);
  EXPECT_EQ(entries[0]["site"], "HQ");
  EXPECT_EQ(json::parse(as(london, "GET", "/api/v1/audit").body)["entries"].size(), 0u);
}

TEST_F(AdminApi, ATextBodyIs415AndAForeignHostIs421) {
  auto text = as(adminToken(), "POST", "/api/v1/location-reports", "extension=1001",
                 {{"Content-Type", "text/plain"}});
  EXPECT_EQ(text.status, 415) << text.body;
  auto rebinding = as(adminToken(), "GET", "/api/v1/whoami", "",
                      {{"Host", "attacker.example:" + std::to_string(ports_.admin)}});
  EXPECT_EQ(rebinding.status, 421) << rebinding.body;
  auto byAddress = as(adminToken(), "GET", "/api/v1/whoami", "",
                      {{"Host", "127.0.0.1:" + std::to_string(ports_.admin)}});
  EXPECT_EQ(byAddress.status, 200) << byAddress.body;
  EXPECT_EQ(json::parse(byAddress.body)["role"], "super-admin");
}

TEST_F(AdminApi, AnyTokenReadsTheOpenApiDocument) {
  const std::string phone = makeToken("phone-1003", {"--role", "device", "--user", "1003"});
  auto doc = as(phone, "GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status, 200) << doc.body;
  const json parsed = json::parse(doc.body);
  EXPECT_EQ(parsed["openapi"], "3.0.3");
  EXPECT_TRUE(parsed["paths"].contains("/api/v1/locations/{key}"));
}

// admin.device_listen: phones reach the location-report API on a listener of its own, which
// serves nothing else; the same tokens and checks apply there.
class DeviceListener : public AdminApi {
 protected:
  void SetUp() override {
    ports_.deviceReports = pickFreePort();
    AdminApi::SetUp();
  }
};

TEST_F(DeviceListener, ServesLocationReportsAndNothingElse) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto report = [&](const std::string& token, const std::string& extension) {
    return httpRequest("POST", ports_.deviceReports, "/api/v1/location-reports",
                       R"({"extension":")" + extension + "\"}",
                       {{"Authorization", "Bearer " + token}});
  };
  EXPECT_EQ(report(phone, "1002").status, 200);
  EXPECT_EQ(report(phone, "1001").status, 403);
  EXPECT_EQ(report("", "1002").status, 401);
  // Refusals on the phones' listener are counted with the admin API's.
  EXPECT_EQ(metric("sosproxy_admin_forbidden_total"), 1);
  EXPECT_EQ(metric("sosproxy_admin_unauthenticated_total"), 1);
  EXPECT_EQ(httpRequest("GET", ports_.deviceReports, "/healthz").status, 200);
  for (const auto& path : {"/api/v1/tokens", "/api/v1/locations", "/metrics", "/api/v1/whoami"}) {
    EXPECT_EQ(httpRequest("GET", ports_.deviceReports, path, "",
                          {{"Authorization", "Bearer " + adminToken()}})
                  .status,
              404)
        << path;
  }
  EXPECT_NE(proxy_->output().find("; device reports http://127.0.0.1:" +
                                  std::to_string(ports_.deviceReports)),
            std::string::npos)
      << proxy_->output();
}

TEST_F(AdminApi, ATokenRevokedByTheCliStopsAtItsNextRequest) {
  const std::string desk = makeToken("desk", {"--role", "responder", "--site", "HQ"});
  EXPECT_EQ(as(desk, "GET", "/api/v1/whoami").status, 200);
  Process revoke({sosproxyBinary(), "token", "revoke", "--config", configPath_.string(), "desk"},
                 dir_.path() / "revoke.stdout", dir_.path() / "revoke.stderr");
  ASSERT_EQ(revoke.wait(milliseconds(20000)), std::optional<int>(0))
      << readFile(dir_.path() / "revoke.stderr");
  EXPECT_EQ(as(desk, "GET", "/api/v1/whoami").status, 401);
  // Listed still, with when it was revoked; the secret appears nowhere.
  auto list = api("GET", "/api/v1/tokens");
  ASSERT_EQ(list.status, 200);
  bool found = false;
  const json listed = json::parse(list.body);
  for (const auto& t : listed["tokens"]) {
    if (t["name"] == "desk") {
      found = true;
      EXPECT_TRUE(t["revoked_at_ms"].is_number()) << t;
    }
  }
  EXPECT_TRUE(found) << list.body;
  EXPECT_EQ(list.body.find(desk), std::string::npos);
}

// Users and desk phones over the API, and a CSV import: a site-admin of HQ reads and writes HQ's
// only (a London row refuses the whole file), a bad row is answered with its line and column
// and writes nothing, lost updates are refused, and every change is audited under the token.
TEST_F(AdminApi, UsersDeskPhonesAndImportsStayInsideASiteAdminsSites) {
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  const std::vector<HttpHeader> csv{{"Content-Type", "text/csv"}};
  auto users = as(hq, "GET", "/api/v1/users");
  ASSERT_EQ(users.status, 200) << users.body;
  EXPECT_NE(users.body.find(R"("extension":"1001")"), std::string::npos) << users.body;
  EXPECT_EQ(users.body.find(R"("extension":"2001")"), std::string::npos) << users.body;
  EXPECT_EQ(as(hq, "GET", "/api/v1/users/2001").status, 403);
  EXPECT_EQ(as(hq, "GET", "/api/v1/sites/London").status, 403);
  EXPECT_EQ(as(hq, "PUT", "/api/v1/sites/Paris", R"({"country": "FR"})").status, 403);
  auto sites = as(hq, "GET", "/api/v1/sites");
  EXPECT_EQ(json::parse(sites.body)["sites"].size(), 1u) << sites.body;  // HQ only
  auto page = as(hq, "GET", "/api/v1/users?limit=2");
  EXPECT_NE(page.body.find(R"("next":"1002")"), std::string::npos) << page.body;

  auto london = as(hq, "POST", "/api/v1/import/users",
                   "extension,name,site\n1005,Dana Ames,HQ\n2005,Ed,London\n", csv);
  EXPECT_EQ(london.status, 403) << london.body;
  EXPECT_NE(london.body.find("request:3:3: site: \\\"London\\\" is not one of the sites"),
            std::string::npos)
      << london.body;
  EXPECT_EQ(as(hq, "POST", "/api/v1/import/users", "extension,name,site\n1005,Dana,HQ\n").status,
            415);  // sent as JSON
  auto bad = as(hq, "POST", "/api/v1/import/users",
                "extension,name,site,did\n1005,Dana Ames,HQ,555\n1006,Eve,HQ,\n", csv);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find(R"(request:2:4: did: \"555\" is not valid; expected an E.164 number)"),
            std::string::npos)
      << bad.body;
  auto dry = as(hq, "POST", "/api/v1/import/users?dry_run=true",
                "extension,name,site\n1005,Dana Ames,HQ\n", csv);
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_NE(dry.body.find(R"("added":1)"), std::string::npos) << dry.body;
  EXPECT_NE(dry.body.find(R"("written":false)"), std::string::npos) << dry.body;
  EXPECT_EQ(as(hq, "GET", "/api/v1/users/1005").status, 404);  // nothing written so far
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM users WHERE extension IN ('1005', '1006')"), 0);

  auto imported =
      as(hq, "POST", "/api/v1/import/users", "extension,name,site\n1005,Dana Ames,HQ\n", csv);
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_NE(imported.body.find(R"("written":true)"), std::string::npos) << imported.body;
  auto dana = as(hq, "GET", "/api/v1/users/1005");
  ASSERT_EQ(dana.status, 200) << dana.body;
  EXPECT_EQ(json::parse(dana.body),
            json::parse(R"({"extension":"1005","did":"","name":"Dana Ames","site":"HQ",
                            "nomadic":false,"location_permission":true,"email":""})"));

  // An update names the version it was made from.
  std::smatch tag;
  ASSERT_TRUE(std::regex_search(dana.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")));
  const std::string etag = tag[1];
  EXPECT_EQ(as(hq, "PUT", "/api/v1/users/1005", R"({"nomadic": true})").status, 428);
  auto nomadic = as(hq, "PUT", "/api/v1/users/1005", R"({"nomadic": true})", {{"If-Match", etag}});
  ASSERT_EQ(nomadic.status, 200) << nomadic.body;
  EXPECT_NE(nomadic.body.find(R"("nomadic":true)"), std::string::npos) << nomadic.body;
  EXPECT_EQ(as(hq, "PUT", "/api/v1/users/1005", R"({"name": "D"})", {{"If-Match", etag}}).status,
            412);
  EXPECT_EQ(
      as(hq, "PUT", "/api/v1/users/1005", R"({"site": "London"})", {{"If-Match", "*"}}).status,
      403);

  // Her desk phone, by any spelling of its MAC.
  auto phone = as(hq, "PUT", "/api/v1/devices/00-04-F2-00-10-05",
                  R"({"extension": "1005", "brand": "Poly", "model": "VVX 450"})");
  ASSERT_EQ(phone.status, 201) << phone.body;
  EXPECT_EQ(json::parse(phone.body),
            json::parse(R"({"mac":"00:04:f2:00:10:05","extension":"1005","brand":"Poly",
                            "model":"VVX 450","common_area":false})"));
  auto exported = as(hq, "GET", "/api/v1/export/devices");
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.body,
            "mac,extension,brand,model,common_area\r\n"
            "00:04:f2:00:10:01,1001,,,no\r\n"
            "00:04:f2:00:10:05,1005,Poly,VVX 450,no\r\n");

  // Deleting the user takes her phone along.
  auto now = as(hq, "GET", "/api/v1/users/1005");
  ASSERT_TRUE(std::regex_search(now.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")));
  EXPECT_EQ(as(hq, "DELETE", "/api/v1/users/1005", "", {{"If-Match", tag[1]}}).status, 200);
  EXPECT_EQ(as(hq, "GET", "/api/v1/devices/00:04:f2:00:10:05").status, 404);

  auto trail = as(hq, "GET", "/api/v1/audit");
  for (const std::string action : {"user.create", "user.update", "device.create", "user.delete"}) {
    EXPECT_NE(trail.body.find("\"action\":\"" + action + "\""), std::string::npos)
        << action << ": " << trail.body;
  }
  EXPECT_NE(trail.body.find(R"("actor":"hq-it")"), std::string::npos) << trail.body;
  EXPECT_EQ(trail.body.find("London"), std::string::npos) << trail.body;
}

// A body is at most 64 KiB, except an import's file (16 MiB): 3,000 users in one request.
TEST_F(AdminApi, ABodyOver64KiBIs413ExceptAnImportsFile) {
  auto big =
      api("POST", "/api/v1/locations", "{\"name\": \"" + std::string(70 * 1024, 'x') + "\"}");
  EXPECT_EQ(big.status, 413) << big.body;
  std::string csv = "extension,name,site\n";
  for (int i = 0; i < 3000; ++i) {
    csv += std::to_string(400000 + i) + ",Someone with a rather long name number " +
           std::to_string(i) + ",HQ\n";
  }
  ASSERT_GT(csv.size(), 64u * 1024);
  auto imported =
      httpRequest("POST", ports_.admin, "/api/v1/import/users?dry_run=true", csv,
                  {{"Authorization", "Bearer " + adminToken()}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(imported.status, 200) << imported.body.substr(0, 300);
  EXPECT_NE(imported.body.find(R"("added":3000)"), std::string::npos)
      << imported.body.substr(0, 300);
}

// Issue 17: the approval queue. 1001 submits "HQ Annex" for subnet 10.1.9.0/24; HQ's
// approvers get the e-mail at the test's SMTP server; a London admin neither sees nor approves
// it; an HQ site-admin approves, 1001 is e-mailed that it was, and the next 911 from 10.1.9.20
// resolves to HQ Annex; 1001 sees the request approved.
TEST_F(AdminApi, ASubmittedCompanyLocationIsMailedApprovedAndRoutesTheNextCall) {
  SmtpReceiver smtp(dir_.path(), ports_.smtp);
  ASSERT_TRUE(smtp.start()) << smtp.lastError();
  const std::string phone = makeToken("phone-1001", {"--role", "device", "--user", "1001"});
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  const std::string london = makeToken("london-it", {"--role", "site-admin", "--site", "London"});
  // The demo's users have no e-mail address; 1001 is given one to be told the decision.
  auto email =
      as(hq, "PUT", "/api/v1/users/1001", R"({"email": "alice@hq.example"})", {{"If-Match", "*"}});
  ASSERT_EQ(email.status, 200) << email.body;
  auto seen =
      as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1001","ip":"10.1.9.20"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_NE(seen.body.find(R"("status":"undetectable")"), std::string::npos) << seen.body;
  auto submitted = as(phone, "POST", "/api/v1/me/prompt-answer",
                      R"({"choice": "submit-company", "name": "HQ Annex", "country": "US",
                          "A1": "IL", "A3": "Springfield", "HNO": "110", "RD": "Main",
                          "STS": "St", "PC": "62701", "subnets": ["10.1.9.0/24"]})");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const auto id = json::parse(submitted.body)["id"].get<int64_t>();
  EXPECT_EQ(json::parse(submitted.body)["state"], "pending");

  // The approvers' mail (sites[HQ].approvers of the demo).
  ASSERT_TRUE(smtp.waitForLines(1)) << proxy_->output();
  const std::string mail = smtp.lines().front();
  EXPECT_EQ(jsonArrayItems(jsonField(mail, "to")), std::vector<std::string>{"it@hq.example"});
  const std::string text = jsonField(mail, "data");
  EXPECT_NE(text.find("Subject: sosproxy: \"HQ Annex\" submitted by 1001 for approval (site HQ)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("subnets: 10.1.9.0/24"), std::string::npos) << text;
  EXPECT_NE(text.find("/api/v1/location-requests/" + std::to_string(id) + "/approve"),
            std::string::npos)
      << text;

  auto theirs = as(london, "GET", "/api/v1/location-requests");
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_TRUE(json::parse(theirs.body)["requests"].empty()) << theirs.body;
  const std::string approve = "/api/v1/location-requests/" + std::to_string(id) + "/approve";
  EXPECT_EQ(as(london, "POST", approve, "{}").status, 403);
  auto pending = as(hq, "GET", "/api/v1/location-requests?state=pending");
  ASSERT_EQ(json::parse(pending.body)["requests"].size(), 1u) << pending.body;

  auto approved = as(hq, "POST", approve, "{}");
  ASSERT_EQ(approved.status, 201) << approved.body;
  EXPECT_EQ(json::parse(approved.body)["location"], "hq-annex");
  EXPECT_EQ(as(hq, "POST", approve, "{}").status, 409);  // decided already
  // 1001 is told: the approvers' mail first, then the user's.
  ASSERT_TRUE(smtp.waitForLines(2)) << proxy_->output();
  const std::string told = smtp.lines().back();
  EXPECT_EQ(jsonArrayItems(jsonField(told, "to")), std::vector<std::string>{"alice@hq.example"});
  const std::string toldText = jsonField(told, "data");
  EXPECT_NE(toldText.find("Subject: sosproxy: your company location \"HQ Annex\" was approved"),
            std::string::npos)
      << toldText;
  EXPECT_NE(toldText.find("approved by hq-it as location hq-annex"), std::string::npos) << toldText;
  EXPECT_NE(toldText.find("next emergency call from that network gives this location"),
            std::string::npos)
      << toldText;
  const std::string callId = call911("10.1.9.20");
  auto line = waitForLogLine({{"event", "route"}, {"call_id", callId}});
  EXPECT_EQ(line.get("location"), "HQ Annex") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("subnet", 0), 0u) << line.raw;

  auto me = as(phone, "GET", "/api/v1/me");
  auto mine = json::parse(me.body)["submitted"];
  ASSERT_EQ(mine.size(), 1u) << me.body;
  EXPECT_EQ(mine[0]["state"], "approved");
  EXPECT_EQ(mine[0]["location"], "hq-annex");
  EXPECT_EQ(mine[0]["decided_by"], "hq-it");
}

// Issue 17: a rejected submission. A responder token and a London site-admin may not reject;
// HQ's site-admin rejects without a reason (400) and then with one; 1002 is e-mailed which
// location and why, and sees the reason at /api/v1/me; nothing routes to it.
TEST_F(AdminApi, ARejectedCompanyLocationMailsItsUserTheReason) {
  SmtpReceiver smtp(dir_.path(), ports_.smtp);
  ASSERT_TRUE(smtp.start()) << smtp.lastError();
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  const std::string london = makeToken("london-it", {"--role", "site-admin", "--site", "London"});
  const std::string desk = makeToken("hq-desk", {"--role", "responder", "--site", "HQ"});
  auto email =
      as(hq, "PUT", "/api/v1/users/1002", R"({"email": "bob@hq.example"})", {{"If-Match", "*"}});
  ASSERT_EQ(email.status, 200) << email.body;
  auto seen =
      as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"10.1.9.30"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  auto submitted = as(phone, "POST", "/api/v1/me/prompt-answer",
                      R"({"choice": "submit-company", "name": "Bob's Shed", "country": "US",
                          "A1": "IL", "A3": "Springfield", "HNO": "9", "RD": "Elm",
                          "STS": "St", "PC": "62701"})");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const auto id = json::parse(submitted.body)["id"].get<int64_t>();
  ASSERT_TRUE(smtp.waitForLines(1)) << proxy_->output();  // the approvers'

  const std::string reject = "/api/v1/location-requests/" + std::to_string(id) + "/reject";
  const std::string why = R"({"reason": "not a company site"})";
  EXPECT_EQ(as(desk, "POST", reject, why).status, 403);
  EXPECT_EQ(as(london, "POST", reject, why).status, 403);
  EXPECT_EQ(as(phone, "POST", reject, why).status, 403);
  EXPECT_EQ(as(hq, "POST", reject, "{}").status, 400);
  auto rejected = as(hq, "POST", reject, why);
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(as(hq, "POST", reject, why).status, 409);

  ASSERT_TRUE(smtp.waitForLines(2)) << proxy_->output();
  const std::string told = smtp.lines().back();
  EXPECT_EQ(jsonArrayItems(jsonField(told, "to")), std::vector<std::string>{"bob@hq.example"});
  const std::string text = jsonField(told, "data");
  EXPECT_NE(text.find("Subject: sosproxy: your company location \"Bob's Shed\" was rejected"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Reason: not a company site"), std::string::npos) << text;
  EXPECT_NE(text.find("rejected by hq-it"), std::string::npos) << text;
  EXPECT_EQ(smtp.lines().size(), 2u);

  auto me = as(phone, "GET", "/api/v1/me");
  auto mine = json::parse(me.body)["submitted"];
  ASSERT_EQ(mine.size(), 1u) << me.body;
  EXPECT_EQ(mine[0]["state"], "rejected");
  EXPECT_EQ(mine[0]["reason"], "not a company site");
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM locations WHERE name = 'Bob''s Shed'"), 0);
}

// Issue 17: re-triggering two selected HQ users sends exactly two e-mails and resets exactly
// their prompt state (their next report from a known network is new again, the third user's is
// not); a desk phone (1001's MAC) reporting from 10.1.3.7 e-mails 1001.
TEST_F(AdminApi, ARetriggerMailsAndResetsExactlyTheUsersChosenAndADeskPhoneMoveMailsItsUser) {
  SmtpReceiver smtp(dir_.path(), ports_.smtp);
  ASSERT_TRUE(smtp.start()) << smtp.lastError();
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  for (const auto& [ext, mail] :
       std::vector<std::pair<std::string, std::string>>{{"1001", "alice@hq.example"},
                                                        {"1002", "bob@hq.example"},
                                                        {"1003", "carol@hq.example"}}) {
    auto put =
        as(hq, "PUT", "/api/v1/users/" + ext, R"({"email": ")" + mail + "\"}", {{"If-Match", "*"}});
    ASSERT_EQ(put.status, 200) << put.body;
  }
  // Each has reported from a network before: not new any more.
  for (const std::string ext : {"1002", "1003"}) {
    auto first = as(hq, "POST", "/api/v1/location-reports",
                    R"({"extension":")" + ext + R"(","ip":"10.1.2.50"})");
    ASSERT_EQ(first.status, 200) << first.body;
    auto again = as(hq, "POST", "/api/v1/location-reports",
                    R"({"extension":")" + ext + R"(","ip":"10.1.2.50"})");
    EXPECT_NE(again.body.find(R"("new_network":false)"), std::string::npos) << again.body;
  }
  EXPECT_EQ(as(hq, "POST", "/api/v1/prompts/retrigger", R"({"users": ["2001"]})").status, 403);
  // Only admins re-trigger; /api/v1/me is a device token's only.
  const std::string desk = makeToken("hq-desk", {"--role", "responder", "--site", "HQ"});
  EXPECT_EQ(as(desk, "POST", "/api/v1/prompts/retrigger", R"({"users": ["1001"]})").status, 403);
  EXPECT_EQ(as(hq, "GET", "/api/v1/me").status, 403);
  EXPECT_EQ(as(desk, "GET", "/api/v1/location-requests").status, 403);
  auto done = as(hq, "POST", "/api/v1/prompts/retrigger", R"({"users": ["1001", "1002"]})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(json::parse(done.body)["emailed"], json::parse(R"(["1001", "1002"])")) << done.body;
  ASSERT_TRUE(smtp.waitForLines(2)) << proxy_->output();
  std::set<std::string> to;
  for (const auto& line : smtp.lines()) {
    for (const auto& r : jsonArrayItems(jsonField(line, "to"))) to.insert(r);
    EXPECT_NE(jsonField(line, "data").find("Subject: sosproxy: please confirm where you are"),
              std::string::npos)
        << line;
  }
  EXPECT_EQ(to, (std::set<std::string>{"alice@hq.example", "bob@hq.example"}));
  auto bob = as(hq, "POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"10.1.2.50"})");
  EXPECT_NE(bob.body.find(R"("new_network":true)"), std::string::npos) << bob.body;
  auto carol =
      as(hq, "POST", "/api/v1/location-reports", R"({"extension":"1003","ip":"10.1.2.50"})");
  EXPECT_NE(carol.body.find(R"("new_network":false)"), std::string::npos) << carol.body;

  // 1001's desk phone moves to 10.1.3.7.
  auto moved =
      as(hq, "POST", "/api/v1/location-reports", R"({"mac":"00:04:f2:00:10:01","ip":"10.1.3.7"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  ASSERT_TRUE(smtp.waitForLines(3)) << proxy_->output();
  const std::string mail = smtp.lines().back();
  EXPECT_EQ(jsonArrayItems(jsonField(mail, "to")), std::vector<std::string>{"alice@hq.example"});
  const std::string text = jsonField(mail, "data");
  EXPECT_NE(text.find("Subject: sosproxy: your desk phone is on a new network"), std::string::npos)
      << text;
  EXPECT_NE(text.find("IP 10.1.3.7"), std::string::npos) << text;
  EXPECT_EQ(smtp.lines().size(), 3u);
}

// Issue 17: HQ tells its approvers and the phone itself of a desk phone on a new network
// (`sites[HQ].desk_phone_moved: [user, approvers, phone]`). 1001's desk phone reports from
// 127.0.0.1: 1001 and HQ's approver (it@hq.example) are e-mailed, and the phone (the test's
// UDP socket at location.phone_sip_port) gets a SIP MESSAGE saying what was seen and how to
// confirm. London keeps the account's setting: only the user is told.
class DeskPhoneTells : public AdminApi {
 protected:
  void SetUp() override {
    ASSERT_TRUE(phone_.ok());
    ports_.sets.insert(ports_.sets.end(),
                       {{"sites[HQ].desk_phone_moved", "[user, approvers, phone]"},
                        {"location.phone_sip_port", std::to_string(phone_.port())}});
    AdminApi::SetUp();
  }

  // HQ's site-admin (token `hq`) gives 1001 an e-mail address, then reports 1001's desk phone
  // from 127.0.0.1, a network new for it; the report's answer.
  HttpReply moveDeskPhone(const std::string& hq) {
    auto put = as(hq, "PUT", "/api/v1/users/1001", R"({"email": "alice@hq.example"})",
                  {{"If-Match", "*"}});
    EXPECT_EQ(put.status, 200) << put.body;
    return as(hq, "POST", "/api/v1/location-reports",
              R"({"mac":"00:04:f2:00:10:01","ip":"127.0.0.1"})");
  }

  // The phone's answer to a MESSAGE, as a phone would give it.
  void answer(const std::string& message) {
    const std::string ok =
        "SIP/2.0 200 OK\r\nVia: " + rawHeader(message, "Via") +
        "\r\nFrom: " + rawHeader(message, "From") + "\r\nTo: " + rawHeader(message, "To") +
        ";tag=phone\r\nCall-ID: " + rawHeader(message, "Call-ID") +
        "\r\nCSeq: " + rawHeader(message, "CSeq") + "\r\nContent-Length: 0\r\n\r\n";
    EXPECT_TRUE(phone_.send(ok, ports_.proxy));
  }

  RawUdp phone_{"127.0.0.1"};
};

TEST_F(DeskPhoneTells, TheSiteApproversByEmailAndThePhoneByASipMessage) {
  SmtpReceiver smtp(dir_.path(), ports_.smtp);
  ASSERT_TRUE(smtp.start()) << smtp.lastError();
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  auto moved = moveDeskPhone(hq);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_NE(moved.body.find(R"("new_network":true)"), std::string::npos) << moved.body;

  auto message = phone_.receiveStarting("MESSAGE ", milliseconds(10000));
  ASSERT_TRUE(message) << proxy_->output();
  EXPECT_EQ(startLine(*message),
            "MESSAGE sip:1001@127.0.0.1:" + std::to_string(phone_.port()) + " SIP/2.0");
  EXPECT_EQ(rawHeader(*message, "Content-Type").rfind("text/plain", 0), 0u) << *message;
  const std::string body = message->substr(message->find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("extension 1001, MAC 00:04:f2:00:10:01"), std::string::npos) << body;
  EXPECT_NE(body.find("is on a network it has not been seen on: IP 127.0.0.1"), std::string::npos)
      << body;
  EXPECT_NE(body.find("confirm where it is now at http://127.0.0.1:" +
                      std::to_string(ports_.admin) + "/me"),
            std::string::npos)
      << body;
  answer(*message);  // as a phone would

  ASSERT_TRUE(smtp.waitForLines(2)) << proxy_->output();
  std::map<std::string, std::string> mails;  // recipient -> message
  for (const auto& line : smtp.lines()) {
    for (const auto& r : jsonArrayItems(jsonField(line, "to"))) mails[r] = jsonField(line, "data");
  }
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_NE(
      mails["alice@hq.example"].find("Subject: sosproxy: your desk phone is on a new network"),
      std::string::npos)
      << mails["alice@hq.example"];
  const std::string& admins = mails["it@hq.example"];
  EXPECT_NE(admins.find("Subject: sosproxy: desk phone of 1001 is on a new network"),
            std::string::npos)
      << admins;
  EXPECT_NE(admins.find("MAC 00:04:f2:00:10:01, site HQ"), std::string::npos) << admins;
  EXPECT_NE(admins.find("IP 127.0.0.1"), std::string::npos) << admins;

  // The same network again is not new: nobody is told twice.
  auto again =
      as(hq, "POST", "/api/v1/location-reports", R"({"mac":"00:04:f2:00:10:01","ip":"127.0.0.1"})");
  EXPECT_NE(again.body.find(R"("new_network":false)"), std::string::npos) << again.body;
  // (A retransmission of the first MESSAGE would carry its Call-ID; a new one would not.)
  const std::string firstCallId = rawHeader(*message, "Call-ID");
  while (auto more = phone_.receiveStarting("MESSAGE ", milliseconds(1500))) {
    EXPECT_EQ(rawHeader(*more, "Call-ID"), firstCallId) << *more;
  }
  EXPECT_EQ(smtp.lines().size(), 2u);
}

// Issue 17, where the MESSAGE goes: a report's body is its token holder's to write, the address
// the report came from is not. 1001's own desk-phone token reports a new network naming
// 127.0.0.2, from 127.0.0.1: no MESSAGE goes to 127.0.0.2 (a receiver listens there at the
// phone's SIP port), the log and sosproxy_desk_phone_messages_withheld_total say why. The same
// phone's next report, from a network new too and naming no address (the one it comes from
// stands in), gets its MESSAGE at 127.0.0.1: the positive control (the SIP thread sends in
// order, so a MESSAGE to 127.0.0.2 would have gone out first).
TEST_F(DeskPhoneTells, NoMessageGoesToAnAddressTheReportOnlyNames) {
  RawUdp elsewhere("127.0.0.2", phone_.port());
  ASSERT_TRUE(elsewhere.ok()) << "cannot bind 127.0.0.2:" << phone_.port();
  const std::string token =
      makeToken("phone-1001", {"--role", "device", "--mac", "00:04:f2:00:10:01"});
  auto spoofed = as(token, "POST", "/api/v1/location-reports",
                    R"({"mac":"00:04:f2:00:10:01","ip":"127.0.0.2"})");
  ASSERT_EQ(spoofed.status, 200) << spoofed.body;
  EXPECT_NE(spoofed.body.find(R"("new_network":true)"), std::string::npos) << spoofed.body;
  auto genuine = as(token, "POST", "/api/v1/location-reports", R"({"mac":"00:04:f2:00:10:01"})");
  ASSERT_EQ(genuine.status, 200) << genuine.body;
  EXPECT_NE(genuine.body.find(R"("new_network":true)"), std::string::npos) << genuine.body;

  auto message = phone_.receiveStarting("MESSAGE ", milliseconds(10000));
  ASSERT_TRUE(message) << proxy_->output();
  EXPECT_EQ(startLine(*message),
            "MESSAGE sip:1001@127.0.0.1:" + std::to_string(phone_.port()) + " SIP/2.0");
  answer(*message);
  EXPECT_EQ(elsewhere.receive(milliseconds(1500)), std::nullopt);
  EXPECT_EQ(metric("sosproxy_desk_phone_messages_total"), 1);
  const std::string text = metrics();
  EXPECT_NE(
      text.find("sosproxy_desk_phone_messages_withheld_total{reason=\"reported-ip-not-sender\"} 1"),
      std::string::npos)
      << text;
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find(
                   "desk phone 00:04:f2:00:10:01 of 1001 on a new network: no SIP MESSAGE sent: "
                   "the report names IP 127.0.0.2 but came from 127.0.0.1") != std::string::npos;
      },
      milliseconds(5000)))
      << proxy_->output();
}

// admin.public_url: where users reach the self-service page, named by the messages that send
// them there (the desk phone's MESSAGE, its user's e-mail, a re-trigger's e-mail) instead of the
// admin server's own address; its host is one a request's Host may give.
class DeskPhoneTellsPublicUrl : public DeskPhoneTells {
 protected:
  void SetUp() override {
    ports_.sets = {{"admin.public_url", "https://sos.example.com/"}};
    DeskPhoneTells::SetUp();
  }
};

TEST_F(DeskPhoneTellsPublicUrl, MessagesNameThePublicUrlOfTheSelfServicePage) {
  SmtpReceiver smtp(dir_.path(), ports_.smtp);
  ASSERT_TRUE(smtp.start()) << smtp.lastError();
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  auto moved = moveDeskPhone(hq);
  ASSERT_EQ(moved.status, 200) << moved.body;
  auto message = phone_.receiveStarting("MESSAGE ", milliseconds(10000));
  ASSERT_TRUE(message) << proxy_->output();
  answer(*message);
  const std::string body = message->substr(message->find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("confirm where it is now at https://sos.example.com/me (My emergency "
                      "location)"),
            std::string::npos)
      << body;
  EXPECT_EQ(body.find("http://127.0.0.1"), std::string::npos) << body;

  auto retrigger = as(hq, "POST", "/api/v1/prompts/retrigger", R"({"users": ["1001"]})");
  ASSERT_EQ(retrigger.status, 200) << retrigger.body;
  ASSERT_TRUE(smtp.waitForLines(3)) << proxy_->output();  // 1001, HQ's approver, the re-trigger
  int named = 0;
  for (const auto& line : smtp.lines()) {
    const std::string data = jsonField(line, "data");
    if (jsonArrayItems(jsonField(line, "to")) != std::vector<std::string>{"alice@hq.example"}) {
      continue;
    }
    EXPECT_NE(data.find("https://sos.example.com/me"), std::string::npos) << data;
    ++named;
  }
  EXPECT_EQ(named, 2);  // the desk phone's move and the re-trigger

  // The page through the public name, as a TLS proxy in front would pass it on.
  EXPECT_EQ(httpRequest("GET", ports_.admin, "/me", "", {{"Host", "sos.example.com"}}).status, 200);
  EXPECT_EQ(httpRequest("GET", ports_.admin, "/me", "", {{"Host", "other.example.com"}}).status,
            421);
}

// Issue 17: an admin attaches the network a user reported from to an existing company
// location. London's admin and a responder of HQ are refused and nothing changes; HQ's admin
// attaches 10.1.9.0/24 to HQ Floor 2, the audit trail names the token, and the next 911 from
// 10.1.9.20 resolves to HQ Floor 2.
TEST_F(AdminApi, AnAdminOfTheSiteAttachesANetworkToALocationAndTheNext911UsesIt) {
  const std::string hq = makeToken("hq-it", {"--role", "site-admin", "--site", "HQ"});
  const std::string london = makeToken("london-it", {"--role", "site-admin", "--site", "London"});
  const std::string desk = makeToken("hq-desk", {"--role", "responder", "--site", "HQ"});
  const std::string path = "/api/v1/locations/hq-floor-2/networks";
  const std::string subnet = R"({"subnet": "10.1.9.0/24"})";
  EXPECT_EQ(as("", "POST", path, subnet).status, 401);
  EXPECT_EQ(as(london, "POST", path, subnet).status, 403);
  EXPECT_EQ(as(desk, "POST", path, subnet).status, 403);
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM subnets WHERE cidr = '10.1.9.0/24'"), 0);
  auto added = as(hq, "POST", path, subnet);
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_NE(added.body.find(R"("10.1.9.0/24")"), std::string::npos) << added.body;
  EXPECT_EQ(as(hq, "POST", path, subnet).status, 409);
  EXPECT_EQ(storeCount("SELECT COUNT(*) FROM subnets WHERE cidr = '10.1.9.0/24' "
                       "AND location_key = 'hq-floor-2'"),
            1);
  auto trail = as(hq, "GET", "/api/v1/audit");
  EXPECT_NE(trail.body.find(R"("action":"location.network-add")"), std::string::npos) << trail.body;
  const std::string callId = call911("10.1.9.20");
  auto line = waitForLogLine({{"event", "route"}, {"call_id", callId}});
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("subnet", 0), 0u) << line.raw;
}

}  // namespace
}  // namespace sos::itest
