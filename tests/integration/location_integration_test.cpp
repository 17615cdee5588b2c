// Where is the caller? Emergency calls on the demo enterprise, located from the network data in
// the INVITE and from the device's report to the location-report API (issue 3). Each test reads
// the routing log line sosproxy wrote for the call.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include <optional>
#include <regex>
#include <thread>

#include "b2bua_fixture.h"
#include "tests/store/test_database.h"

namespace sos::itest {
namespace {

class LocatedCall : public B2buaTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true)); }

  // Places an emergency call from `caller` with this network data, answered by a SIPp PSAP
  // running `psapScenario` on `psapPort`; returns sosproxy's route line. `psapInvite`, when
  // given, receives the INVITE the PSAP got.
  RoutingLogLine callEmergency(const std::string& caller, const std::string& contactHost,
                               const std::string& pani, const std::string& dialed = "911",
                               const std::string& psapScenario = "uas-psap-answer.xml",
                               uint16_t psapPort = 0, const std::string& trunk = "il-psap-a",
                               std::string* psapInvite = nullptr,
                               std::vector<std::string>* psapInvites = nullptr,
                               uint16_t contactPort = 5060) {
    auto psap = startTrunk(psapScenario, psapPort ? psapPort : ports_.psapA, trunk);
    SippOptions o;
    o.scenario = "uac-911-from-network-expect-200.xml";
    o.name = "caller-" + caller + "-" + std::to_string(++calls_);
    o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
    o.service = dialed;
    o.sets = {{"caller", caller},
              {"contact_host", contactHost},
              {"contact_port", std::to_string(contactPort)},
              {"pani", pani}};
    Sipp uac(o, dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
    if (psapInvite) *psapInvite = findMessage(*psap, true, "INVITE ");
    if (psapInvites)
      for (const auto& m : traceMessages(psap->messages(), true))
        if (m.rfind("INVITE ", 0) == 0) psapInvites->push_back(m);
    const std::string cid = inviteCallId(uac, false);
    auto line = waitForLogLine({{"event", "route"}, {"call_id", cid}});
    EXPECT_FALSE(line.raw.empty()) << "no route line for " << cid << "\n" << routingLogText();
    EXPECT_EQ(line.get("emergency"), "yes") << line.raw;
    EXPECT_EQ(line.get("trunk"), trunk) << line.raw;
    return line;
  }

  RoutingLogLine call911(const std::string& caller, const std::string& contactHost,
                         const std::string& pani) {
    return callEmergency(caller, contactHost, pani);
  }

  int calls_ = 0;
};

TEST_F(LocatedCall, ContactInFloor2SubnetResolvesToHqFloor2) {
  auto line = call911("1001", "10.1.2.45", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("subnet", 0), 0u) << line.raw;
  EXPECT_NE(line.get("location_by").find("10.1.2.45"), std::string::npos) << line.raw;
}

TEST_F(LocatedCall, Room301BssidInAccessNetworkInfoResolvesToRoom301) {
  auto line = call911("1002", "10.1.3.20", "IEEE-802.11; i-wlan-node-id=001122334455");
  EXPECT_EQ(line.get("location"), "HQ Room 301") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("bssid", 0), 0u) << line.raw;
}

// Issue 14, "what it must show" 3: a phone in trusted_networks but not in pbx_sources or
// network_sources asserts another user's identity and a network-provided BSSID (Room 301).
// Neither decides the location (its own unknown BSSID loses to nothing; its subnet places it on
// Floor 2), neither reaches the PSAP as sent, and both are counted.
TEST_F(LocatedCall, APhoneCannotVouchForIdentityOrNetwork) {
  auto psap = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  SippOptions o;
  o.scenario = "uac-911-phone-asserts-identity-expect-200.xml";
  o.name = "forging-phone";
  o.localIp = "127.0.0.3";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = "911";
  o.sets = {{"caller", "1001"},
            {"contact_host", "10.1.2.45"},
            {"pai", "<sip:1003@pbx.hq.example>"},
            {"pani", "IEEE-802.11; i-wlan-node-id=aabbccddeeff"},
            {"forged_pani", "IEEE-802.11; i-wlan-node-id=001122334455; network-provided"}};
  Sipp uac(o, dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  const std::string cid = inviteCallId(uac, false);
  auto line = waitForLogLine({{"event", "route"}, {"call_id", cid}});
  EXPECT_EQ(line.get("caller"), "1001") << line.raw;  // From, not the asserted 1003
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("subnet:", 0), 0u) << line.raw;
  const std::string invite = findMessage(*psap, true, "INVITE ");
  EXPECT_EQ(headerValue(invite, "P-Asserted-Identity"), "") << invite;
  EXPECT_EQ(invite.find("1003"), std::string::npos) << invite;
  EXPECT_EQ(invite.find("network-provided"), std::string::npos) << invite;
  EXPECT_NE(invite.find("P-Access-Network-Info: IEEE-802.11; i-wlan-node-id=aabbccddeeff, "
                        "IEEE-802.11; i-wlan-node-id=001122334455"),
            std::string::npos)
      << invite;
  EXPECT_EQ(metric("sosproxy_identity_not_vouched_total"), 1);
  EXPECT_EQ(metric("sosproxy_network_mark_not_vouched_total"), 1);
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find(
                   "P-Asserted-Identity ignored and removed (source not in "
                   "pbx_sources)") != std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();
}

// The same data from the PBX (127.0.0.1, in pbx_sources and network_sources) is believed: the
// asserted identity is the caller, and the network-provided BSSID beats the phone's own.
TEST_F(LocatedCall, ThePbxVouchesForIdentityAndNetwork) {
  auto psap = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  SippOptions o;
  o.scenario = "uac-911-phone-asserts-identity-expect-200.xml";
  o.name = "pbx";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = "911";
  o.sets = {{"caller", "1001"},
            {"contact_host", "10.1.2.45"},
            {"pai", "<sip:1002@pbx.hq.example>"},
            {"pani", "IEEE-802.11; i-wlan-node-id=aabbccddeeff"},
            {"forged_pani", "IEEE-802.11; i-wlan-node-id=001122334455; network-provided"}};
  Sipp uac(o, dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  auto line = waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(uac, false)}});
  EXPECT_EQ(line.get("caller"), "1002") << line.raw;
  EXPECT_EQ(line.get("location"), "HQ Room 301") << line.raw;
  EXPECT_EQ(metric("sosproxy_identity_not_vouched_total"), 0);
}

TEST_F(LocatedCall, HomeWorkerResolvesToHomeAfterAReportFromHomeIp) {
  auto res = api("POST", "/api/v1/location-reports", R"({"extension":"1003","ip":"203.0.113.7"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"status\":\"detectable\""), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("Carol's home"), std::string::npos) << res.body;
  // No network data in the INVITE: the phone's Contact is a loopback address nothing maps.
  auto line = call911("1003", "127.0.0.1", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "Carol's home") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal-network", 0), 0u) << line.raw;
  EXPECT_TRUE(line.has("location_age_s")) << line.raw;
}

// Issue 16: a spoofed report can misdirect a 911. The phone of 1002 (a device token for 1002)
// says 1001 is in Room 301: refused, and 1001's next 911 from an unknown network still goes
// out with the site default; the same report for 1002 itself moves 1002's.
TEST_F(LocatedCall, AReportForAnotherUserIsRefusedAndDoesNotMoveTheirNext911) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto report = [&](const std::string& extension) {
    return httpRequest("POST", ports_.admin, "/api/v1/location-reports",
                       R"({"extension":")" + extension + R"(","bssid":"00:11:22:33:44:55"})",
                       {{"Authorization", "Bearer " + phone}});
  };
  auto spoofed = report("1001");
  EXPECT_EQ(spoofed.status, 403) << spoofed.body;
  auto line = call911("1001", "192.0.2.10", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Lobby") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("site-default", 0), 0u) << line.raw;

  auto own = report("1002");
  EXPECT_EQ(own.status, 200) << own.body;
  auto moved = call911("1002", "192.0.2.10", "IEEE-802.3");
  EXPECT_EQ(moved.get("location"), "HQ Room 301") << moved.raw;
}

// Issue 16: a location created through the API routes the very next 911, without a restart,
// and once deleted the next call falls back to the site's default.
TEST_F(LocatedCall, ALocationCreatedThroughTheApiRoutesTheNextCallUntilDeleted) {
  const std::string floor4 = kHqFloor4Location;
  auto made = api("POST", "/api/v1/locations", floor4);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_NE(made.body.find("\"subnets\":[\"10.1.4.0/24\"]"), std::string::npos) << made.body;

  // il-psap-a (PIDF-LO) gets Floor 4's civic address by value.
  std::string invite;
  auto line = callEmergency("1001", "10.1.4.20", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                            "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "HQ Floor 4") << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>4</([a-z]+:)?FLR>"))) << invite;

  // il-psap-b (ELIN) gets Floor 4's ELIN as the caller, when il-psap-a refuses.
  {
    auto psapA = startTrunk("uas-psap-503-any-invite.xml", ports_.psapA, "il-psap-a-503");
    auto psapB = startTrunk("uas-psap-expect-elin.xml", ports_.psapB, "il-psap-b");
    SippOptions o;
    o.scenario = "uac-911-from-network-expect-200.xml";
    o.name = "caller-elin";
    o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
    o.service = "911";
    o.sets = {{"caller", "1001"},
              {"contact_host", "10.1.4.20"},
              {"contact_port", "5060"},
              {"pani", "IEEE-802.3"}};
    Sipp uac(o, dir_.path());
    ASSERT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psapA.get(), psapB.get()});
    EXPECT_EQ(psapB->wait(), 0) << report({&uac, psapB.get()});
    const std::string elinInvite = findMessage(*psapB, true, "INVITE ");
    EXPECT_TRUE(std::regex_search(elinInvite, std::regex("From:[^\r\n]*sip:\\+12175550104@")))
        << elinInvite;
  }
  // The PSAP's callback to that ELIN reaches 1001: the mapping is in force, at Floor 4.
  auto mappings = api("GET", "/api/v1/elin-mappings");
  ASSERT_EQ(mappings.status, 200) << mappings.body;
  EXPECT_TRUE(std::regex_search(mappings.body,
                                std::regex(R"("elin":"\+12175550104","expires_at_ms":[0-9]+,)"
                                           R"("extension":"1001","location":"HQ Floor 4")")))
      << mappings.body;
  auto trunks = api("GET", "/api/v1/trunks");
  ASSERT_EQ(trunks.status, 200) << trunks.body;
  EXPECT_NE(trunks.body.find("\"name\":\"il-psap-b\""), std::string::npos) << trunks.body;

  // A change names the version it was made from (ETag / If-Match): none is 428, an old one 412.
  std::smatch tag;
  ASSERT_TRUE(std::regex_search(made.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")))
      << made.headers;
  const std::string etag = tag[1];
  auto withVersion = [&](const std::string& method, const std::string& body,
                         const std::string& version) {
    std::vector<HttpHeader> h{{"Authorization", "Bearer " + adminToken()}};
    if (!version.empty()) h.push_back({"If-Match", version});
    return httpRequest(method, ports_.admin, "/api/v1/locations/hq-floor-4", body, h);
  };
  EXPECT_EQ(withVersion("DELETE", "", "").status, 428);
  // An unknown field is refused with its place, and nothing changes.
  auto bad = withVersion(
      "PUT", R"({"key": "hq-floor-4", "name": "HQ Floor 4", "site": "HQ", "elinss": []})", etag);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("elinss: unknown key"), std::string::npos) << bad.body;
  auto renamed = withVersion(
      "PUT", std::regex_replace(floor4, std::regex("HQ Floor 4"), "HQ Floor 4 East"), etag);
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(withVersion("DELETE", "", etag).status, 412);  // the version before the rename

  ASSERT_TRUE(std::regex_search(renamed.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")));
  auto gone = withVersion("DELETE", "", tag[1]);
  ASSERT_EQ(gone.status, 200) << gone.body;
  auto after = call911("1001", "10.1.4.20", "IEEE-802.3");
  EXPECT_EQ(after.get("location"), "HQ Lobby") << after.raw;
  EXPECT_EQ(after.get("location_by").rfind("site-default", 0), 0u) << after.raw;

  // Both changes are in the audit trail under the token's name.
  auto trail = api("GET", "/api/v1/audit");
  EXPECT_NE(trail.body.find("\"action\":\"location.create\""), std::string::npos) << trail.body;
  EXPECT_NE(trail.body.find("\"action\":\"location.delete\""), std::string::npos) << trail.body;
  EXPECT_NE(trail.body.find("\"actor\":\"test-admin\""), std::string::npos) << trail.body;
}

// Issue 16: a locations file imported by the CLI while sosproxy runs routes the next 911 (the
// proxy sees the store's new data version; no restart, no reload). A dry run prints the
// difference and writes nothing; one bad row writes nothing and names its line and column; an
// export imported back changes nothing.
TEST_F(LocatedCall, ALocationsFileImportedByTheCliRoutesTheNextCallWithoutARestart) {
  const auto file = dir_.path() / "floor4.csv";
  writeFile(file,
            "key,name,site,country,A1,A3,HNO,RD,STS,FLR,PC,elins,subnets\n"
            "hq-floor-4,HQ Floor 4,HQ,US,IL,Springfield,100,Main,St,4,62701,+12175550104,"
            "10.1.4.0/24\n");
  auto dry = sosproxyCommand({"import", "--dry-run", file.string()});
  ASSERT_EQ(dry.status, std::optional<int>(0)) << dry.commandLine << ": " << dry.err;
  EXPECT_NE(dry.out.find("locations: 1 added, 0 changed, 0 removed, 5 unchanged\n"
                         "+ hq-floor-4: name \"HQ Floor 4\", site \"HQ\", kind \"company\", "
                         "country \"US\", A1 \"IL\", A3 \"Springfield\""),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("dry run: nothing written"), std::string::npos) << dry.out;
  EXPECT_EQ(api("GET", "/api/v1/locations/hq-floor-4").status, 404);

  auto done = sosproxyCommand({"import", file.string()});
  ASSERT_EQ(done.status, std::optional<int>(0)) << done.commandLine << ": " << done.err;
  // The running proxy rebuilds its snapshot once it sees the change (it looks every second).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (api("GET", "/api/v1/locations/hq-floor-4").status != 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(api("GET", "/api/v1/locations/hq-floor-4").status, 200);
  std::string invite;
  auto line = callEmergency("1001", "10.1.4.20", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                            "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "HQ Floor 4") << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>4</([a-z]+:)?FLR>"))) << invite;

  const auto bad = dir_.path() / "bad.csv";
  writeFile(bad,
            "key,name,site,country,subnets\n"
            "hq-floor-5,HQ Floor 5,HQ,US,10.1.5.0/24\n"
            "hq-floor-6,HQ Floor 6,HQ,US,10.1.6.0/33\n");
  auto refused = sosproxyCommand({"import", bad.string()});
  EXPECT_EQ(refused.status, std::optional<int>(3)) << refused.err;
  EXPECT_NE(refused.err.find(bad.string() +
                             ":3:5: subnets: \"10.1.6.0/33\" is not a network in CIDR form"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("nothing written"), std::string::npos) << refused.err;

  const auto all = dir_.path() / "all.csv";
  auto exported = sosproxyCommand({"export", "locations", "--output", all.string()});
  ASSERT_EQ(exported.status, std::optional<int>(0)) << exported.err;
  auto again = sosproxyCommand({"import", "--mode", "replace", all.string()});
  ASSERT_EQ(again.status, std::optional<int>(0)) << again.err;
  EXPECT_NE(again.out.find("locations: 0 added, 0 changed, 0 removed, 6 unchanged\n"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(api("GET", "/api/v1/locations/hq-floor-5").status, 404);

  auto trail = api("GET", "/api/v1/audit");
  EXPECT_NE(trail.body.find(R"("action":"location.create")"), std::string::npos) << trail.body;
  EXPECT_NE(trail.body.find(R"("object":"location:hq-floor-4")"), std::string::npos) << trail.body;
  EXPECT_NE(trail.body.find(R"("actor":"cli:)"), std::string::npos) << trail.body;
}

// Issue 16: a personal location added over the API, with the network that says "I am home",
// locates the user's next 911 after a report from that network; a site's default changed over
// the API is what an unknown network falls back to from the next call on.
TEST_F(LocatedCall, APersonalLocationAndASiteDefaultSetOverTheApiRouteTheNextCall) {
  auto home = api("PUT", "/api/v1/personal-locations/bob-home",
                  R"({"extension": "1002", "name": "Bob's home", "confirmed": true,
                      "country": "US", "A1": "IL", "A3": "Springfield", "HNO": "12", "RD": "Elm",
                      "networks": ["198.51.100.7"]})");
  ASSERT_EQ(home.status, 201) << home.body;
  EXPECT_NE(home.body.find(R"("networks":["198.51.100.7"])"), std::string::npos) << home.body;
  auto report =
      api("POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.7"})");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_NE(report.body.find("Bob's home"), std::string::npos) << report.body;
  auto line = call911("1002", "127.0.0.1", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "Bob's home") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal-network", 0), 0u) << line.raw;

  auto hq = api("GET", "/api/v1/sites/HQ");
  ASSERT_EQ(hq.status, 200) << hq.body;
  EXPECT_NE(hq.body.find(R"("default_location":"hq-lobby")"), std::string::npos) << hq.body;
  std::smatch tag;
  ASSERT_TRUE(std::regex_search(hq.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")));
  auto moved =
      httpRequest("PUT", ports_.admin, "/api/v1/sites/HQ", R"({"default_location": "hq-floor-3"})",
                  {{"Authorization", "Bearer " + adminToken()}, {"If-Match", tag[1]}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  auto fallback = call911("1001", "192.0.2.10", "IEEE-802.3");
  EXPECT_EQ(fallback.get("location"), "HQ Floor 3") << fallback.raw;
  EXPECT_EQ(fallback.get("location_by").rfind("site-default", 0), 0u) << fallback.raw;
  // The latency histogram counted both calls (issue 21).
  EXPECT_EQ(metric("sosproxy_invite_added_seconds_count"), 2);
  EXPECT_NE(metrics().find("\nsosproxy_invite_added_seconds_bucket{le=\"+Inf\"} 2\n"),
            std::string::npos);
  // A site still in use is not deleted.
  auto london = api("GET", "/api/v1/sites/London");
  ASSERT_TRUE(std::regex_search(london.headers, tag, std::regex("ETag: (\"[0-9a-f]+\")")));
  auto kept = httpRequest("DELETE", ports_.admin, "/api/v1/sites/London", "",
                          {{"Authorization", "Bearer " + adminToken()}, {"If-Match", tag[1]}});
  EXPECT_EQ(kept.status, 400) << kept.body;
  EXPECT_NE(kept.body.find("still has 1 location and 1 user"), std::string::npos) << kept.body;
}

// Issue 16: what the network saw beats what the phone says. A WLAN controller (a
// network-reporter token) reports 1002's phone on Room 301's access point; the phone itself
// then claims Floor 2's subnet: 1002's 911 goes out from Room 301, and the routing log says the
// report was network-provided.
TEST_F(LocatedCall, ANetworkReportBeatsThePhonesOwnLaterReport) {
  const std::string wlan = makeToken("wlan-controller", {"--role", "network-reporter"});
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto post = [&](const std::string& token, const std::string& body) {
    return httpRequest("POST", ports_.admin, "/api/v1/location-reports", body,
                       {{"Authorization", "Bearer " + token}});
  };
  auto seen = post(wlan, R"({"extension":"1002","bssid":"00:11:22:33:44:55"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  auto claimed = post(phone, R"({"extension":"1002","ip":"10.1.2.77"})");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  auto line = call911("1002", "127.0.0.1", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Room 301") << line.raw;
  EXPECT_NE(line.get("location_by").find("from device report (network-provided"), std::string::npos)
      << line.raw;
}

// Issue 17: the user's loop. 1002's phone reports from a network sosproxy does not know; the
// answer is undetectable; the user saves "12 Oak Ave, Springfield IL" as the address of this
// network; the next 911 from 1002 there carries that address as a PIDF-LO and goes by the civic
// rule for Illinois to il-psap-a. An address in GB without an ELIN is refused with the reason,
// and another user's personal address is not the phone's to read.
TEST_F(LocatedCall, AUserSavesTheAddressOfAnUnknownNetworkAndTheNext911CarriesIt) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto as = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    return httpRequest(method, ports_.admin, path, body, {{"Authorization", "Bearer " + phone}});
  };
  auto report =
      as("POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.20"})");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_NE(report.body.find(R"("status":"undetectable")"), std::string::npos) << report.body;
  // The user's own view says the same, with the answers it takes.
  auto before = as("GET", "/api/v1/me");
  EXPECT_NE(before.body.find(
                R"("prompt":{"choices":["save-personal","this-emergency-only","submit-company"],)"
                R"("status":"undetectable")"),
            std::string::npos)
      << before.body;

  auto abroad =
      as("POST", "/api/v1/me/prompt-answer",
         R"({"choice": "save-personal", "name": "Flat", "country": "GB", "A3": "London"})");
  EXPECT_EQ(abroad.status, 400) << abroad.body;
  EXPECT_NE(abroad.body.find("elin: an address in GB needs an ELIN"), std::string::npos)
      << abroad.body;

  auto saved = as("POST", "/api/v1/me/prompt-answer",
                  R"({"choice": "save-personal", "name": "Home", "country": "US", "A1": "IL",
                      "A3": "Springfield", "HNO": "12", "RD": "Oak", "STS": "Ave",
                      "PC": "62704"})");
  ASSERT_EQ(saved.status, 201) << saved.body;
  EXPECT_NE(saved.body.find(R"("networks":["198.51.100.20"])"), std::string::npos) << saved.body;
  auto me = as("GET", "/api/v1/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.body.find(R"("address":"12 Oak Ave, Springfield, IL 62704, US")"), std::string::npos)
      << me.body;
  EXPECT_NE(me.body.find(R"("prompt":null)"), std::string::npos) << me.body;  // nothing to ask

  std::string invite;
  auto line = callEmergency("1002", "127.0.0.1", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                            "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "Home") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal", 0), 0u) << line.raw;
  EXPECT_NE(line.get("route").find("civic rule US/IL"), std::string::npos) << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?HNO>12</([a-z]+:)?HNO>"))) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?RD>Oak</([a-z]+:)?RD>"))) << invite;

  // Its own addresses only.
  auto mine = as("GET", "/api/v1/personal-locations");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_NE(mine.body.find(R"("name":"Home")"), std::string::npos) << mine.body;
  EXPECT_EQ(mine.body.find("1003-home"), std::string::npos) << mine.body;
  EXPECT_EQ(as("GET", "/api/v1/personal-locations/1003-home").status, 403);
  EXPECT_EQ(as("GET", "/api/v1/users").status, 403);
}

// Issue 17, "use this address for this emergency only": 1002's phone reports from a network
// sosproxy does not know and the user gives an address for this emergency only. The next 911
// carries it (a confirmed personal location: the civic rule for Illinois routes it); once the
// phone reports from another network, the next 911 no longer does. Only the user's own device
// token may answer.
TEST_F(LocatedCall, AnAddressForThisEmergencyOnlyIsCarriedUntilTheDeviceReportsElsewhere) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto as = [&](const std::string& token, const std::string& method, const std::string& path,
                const std::string& body = "") {
    return httpRequest(method, ports_.admin, path, body, {{"Authorization", "Bearer " + token}});
  };
  auto report =
      as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"198.51.100.20"})");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_NE(report.body.find(R"("status":"undetectable")"), std::string::npos) << report.body;
  const std::string answer = R"({"choice": "this-emergency-only", "name": "Lakeside Inn",
                                 "country": "US", "A1": "IL", "A3": "Springfield", "HNO": "20",
                                 "RD": "Lake", "STS": "St", "PC": "62701"})";
  EXPECT_EQ(as(adminToken(), "POST", "/api/v1/me/prompt-answer", answer).status, 403);
  auto held = as(phone, "POST", "/api/v1/me/prompt-answer", answer);
  ASSERT_EQ(held.status, 201) << held.body;
  EXPECT_NE(held.body.find(R"("networks":["198.51.100.20"])"), std::string::npos) << held.body;
  EXPECT_NE(held.body.find(R"("held_until_ms":)"), std::string::npos) << held.body;

  std::string invite;
  auto line = callEmergency("1002", "127.0.0.1", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                            "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "Lakeside Inn") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("personal-network", 0), 0u) << line.raw;
  EXPECT_NE(line.get("route").find("civic rule US/IL"), std::string::npos) << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?HNO>20</([a-z]+:)?HNO>"))) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?RD>Lake</([a-z]+:)?RD>"))) << invite;

  // The phone is somewhere else now: the held address is not what the next 911 says.
  auto moved =
      as(phone, "POST", "/api/v1/location-reports", R"({"extension":"1002","ip":"192.0.2.10"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  invite.clear();
  line = callEmergency("1002", "127.0.0.1", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                       "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "HQ Lobby") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("site-default", 0), 0u) << line.raw;
  EXPECT_FALSE(std::regex_search(invite, std::regex("<([a-z]+:)?RD>Lake</([a-z]+:)?RD>")))
      << invite;
  EXPECT_EQ(invite.find("Lakeside Inn"), std::string::npos) << invite;
}

// Issue 17, the policy: nomadic emergency services off for HQ (`sites[HQ].nomadic: false`).
// Carol (1003, of HQ) has a confirmed home address for her home network. Her phone's report
// from there is answered without a prompt, saying why; she cannot add a personal address; and
// her 911 from home carries HQ's company location (HQ Lobby) to the PSAP, not her home, with
// the routing log's location_by saying why.
class NomadicOffAtHq : public LocatedCall {
 protected:
  void SetUp() override {
    ports_.sets = {{"sites[HQ].nomadic", "false"}};
    LocatedCall::SetUp();
  }
};

TEST_F(NomadicOffAtHq, A911FromAUserWithAPersonalAddressCarriesTheCompanyLocation) {
  const std::string phone = makeToken("phone-1003", {"--role", "device", "--user", "1003"});
  auto as = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    return httpRequest(method, ports_.admin, path, body, {{"Authorization", "Bearer " + phone}});
  };
  auto report =
      as("POST", "/api/v1/location-reports", R"({"extension":"1003","ip":"203.0.113.7"})");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_NE(report.body.find(R"("prompt":null)"), std::string::npos) << report.body;
  EXPECT_NE(report.body.find(R"("nomadic_services":false)"), std::string::npos) << report.body;
  EXPECT_NE(report.body.find("nomadic emergency services are off for site HQ"), std::string::npos)
      << report.body;
  auto me = as("GET", "/api/v1/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.body.find(R"("prompt":null)"), std::string::npos) << me.body;
  EXPECT_NE(me.body.find(R"("address":"100 Main St, FLR 1)"), std::string::npos) << me.body;

  const std::string address = R"("name": "Flat", "country": "US", "A1": "IL",
                                 "A3": "Springfield", "HNO": "12", "RD": "Oak", "STS": "Ave")";
  for (const char* choice : {"save-personal", "this-emergency-only"}) {
    auto refused = as("POST", "/api/v1/me/prompt-answer",
                      std::string(R"({"choice": ")") + choice + "\", " + address + "}");
    EXPECT_EQ(refused.status, 403) << choice << ": " << refused.body;
    EXPECT_NE(refused.body.find("nomadic emergency services are off for site HQ"),
              std::string::npos)
        << refused.body;
  }
  auto put = as("PUT", "/api/v1/personal-locations/1003-flat", "{" + address + "}");
  EXPECT_EQ(put.status, 403) << put.body;
  EXPECT_NE(put.body.find("personal addresses cannot be added"), std::string::npos) << put.body;

  std::string invite;
  auto line = callEmergency("1003", "127.0.0.1", "IEEE-802.3", "911", "uas-psap-expect-pidf.xml", 0,
                            "il-psap-a", &invite);
  EXPECT_EQ(line.get("location"), "HQ Lobby") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("site-default", 0), 0u) << line.raw;
  EXPECT_NE(line.get("location_by")
                .find("nomadic emergency services off for site HQ: personal addresses not used"),
            std::string::npos)
      << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?RD>Main</([a-z]+:)?RD>"))) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?HNO>100</([a-z]+:)?HNO>")))
      << invite;
  EXPECT_EQ(invite.find("Evergreen"), std::string::npos) << invite;
}

TEST_F(LocatedCall, UnknownNetworkFallsBackToHqLobby) {
  auto line = call911("1002", "192.0.2.10", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Lobby") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("site-default", 0), 0u) << line.raw;
}

TEST_F(LocatedCall, ReportApiRefusesBadJsonWithTheReason) {
  auto res = api("POST", "/api/v1/location-reports", "{\"extension\":");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("not valid JSON"), std::string::npos) << res.body;
}

// The database goes away under a running sosproxy: calls are located from the snapshot in
// memory as before.
TEST_F(LocatedCall, DeletedDatabaseChangesNothingForCalls) {
  SOS_SQLITE_ONLY(
      "a file deleted under sosproxy: PostgreSQL has no file (TwoNodes stops the "
      "server instead)");
  ASSERT_TRUE(std::filesystem::exists(storePath()));
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(storePath().string() + suffix);
  auto line = call911("1001", "10.1.2.45", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
}

// Another process holds an exclusive lock on the database: calls still resolve and route, and
// a device report still reaches the call path although it cannot be saved.
TEST_F(LocatedCall, LockedDatabaseChangesNothingForCalls) {
  SOS_SQLITE_ONLY("SQLite's exclusive file lock (TwoNodes stops the PostgreSQL server instead)");
  ASSERT_FALSE(adminToken().empty());  // written before the lock is taken
  std::unique_ptr<Process> locker;
  ASSERT_NO_FATAL_FAILURE(lockDatabase(locker));

  auto line = call911("1001", "10.1.2.45", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;

  auto res = api("POST", "/api/v1/location-reports",
                 R"({"extension":"1002","bssid":"00:11:22:33:44:55"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"saved\":false"), std::string::npos) << res.body;
  auto fromReport = call911("1002", "192.0.2.10", "IEEE-802.3");
  EXPECT_EQ(fromReport.get("location"), "HQ Room 301") << fromReport.raw;
  locker->stop();
}

// What the database could not take survives a crash: a device report and a 911's call record
// made while another process holds the database's lock are kept in the spool file beside it;
// sosproxy killed (kill -9), the lock released and sosproxy started again, both are written and
// the spool file goes.
TEST_F(LocatedCall, WritesTheLockedDatabaseDidNotTakeSurviveAKill9) {
  SOS_SQLITE_ONLY("SQLite's exclusive file lock (TwoNodes stops the PostgreSQL server instead)");
  ASSERT_FALSE(adminToken().empty());  // written before the lock is taken
  std::unique_ptr<Process> locker;
  ASSERT_NO_FATAL_FAILURE(lockDatabase(locker));

  auto res = api("POST", "/api/v1/location-reports",
                 R"({"extension":"1002","bssid":"00:11:22:33:44:55"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"saved\":false"), std::string::npos) << res.body;
  auto line = call911("1001", "10.1.2.45", "IEEE-802.3");
  EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_store_writes_waiting") == 2; }, milliseconds(30000)))
      << metrics();
  const std::filesystem::path spool = storePath().string() + ".spool";
  const std::string kept = readFile(spool);
  EXPECT_NE(kept.find("{\"report\":{\"bssid\":\"00:11:22:33:44:55\",\"chassis\":\"\","
                      "\"extension\":\"1002\""),
            std::string::npos)
      << kept;
  EXPECT_NE(kept.find("\"call_id\":\"" + line.get("call_id") + "\""), std::string::npos) << kept;

  ::kill(proxy_->process()->pid(), SIGKILL);
  proxy_->process()->wait(milliseconds(10000));
  locker->stop();
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  EXPECT_TRUE(
      outputShows("store: 1 device report(s), 1 call record(s) and 0 ELIN mapping set(s) "
                  "that a previous run could not write read from the spool file"))
      << proxy_->output();
  ASSERT_TRUE(waitFor([&] { return metric("sosproxy_store_writes_replayed_total") == 2; },
                      milliseconds(20000)))
      << metrics() << proxy_->output();
  EXPECT_EQ(
      storeRows("SELECT location FROM call_records WHERE call_id = '" + line.get("call_id") + "'"),
      std::vector<std::string>{"HQ Floor 2"});
  EXPECT_EQ(storeRows("SELECT bssid FROM device_reports WHERE extension = '1002'"),
            std::vector<std::string>{"00:11:22:33:44:55"});
  EXPECT_TRUE(waitFor([&] { return !std::filesystem::exists(spool); }, milliseconds(5000)));
}

// What the PSAP receives (issue 4): the Room 301 call reaches il-psap-a (PIDF-LO mode) with a
// multipart body whose PIDF-LO says FLR 3, ROOM 301, and a Geolocation header pointing at it.
TEST_F(LocatedCall, Room301CallCarriesPidfLoWithFloorAndRoom) {
  std::string invite;
  auto line = callEmergency("1001", "10.1.3.20", "IEEE-802.11; i-wlan-node-id=001122334455", "911",
                            "uas-psap-expect-pidf.xml", 0, "il-psap-a", &invite);
  EXPECT_EQ(line.get("pidf"), "added") << line.raw;
  EXPECT_NE(invite.find("multipart/mixed"), std::string::npos) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>3</([a-z]+:)?FLR>"))) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?ROOM>301</([a-z]+:)?ROOM>")))
      << invite;
  std::smatch cid;
  ASSERT_TRUE(std::regex_search(invite, cid, std::regex("Geolocation: *<cid:([^>]+)>"))) << invite;
  EXPECT_NE(invite.find(";loc-src=sosproxy.test"), std::string::npos) << invite;
  EXPECT_NE(invite.find("Content-ID: <" + cid[1].str() + ">"), std::string::npos) << invite;
  EXPECT_TRUE(std::regex_search(invite, std::regex("m=audio"))) << invite;
}

// A PIDF-LO trunk that answers 424 to the location we inserted gets the call once more, same
// trunk, with the ELIN only (RFC 6442 section 4.3).
TEST_F(LocatedCall, Bad424LocationIsRetriedWithElinOnly) {
  std::string firstInvite;
  std::vector<std::string> invites;
  auto line =
      callEmergency("1001", "10.1.3.20", "IEEE-802.11; i-wlan-node-id=001122334455", "911",
                    "uas-psap-424-then-expect-elin.xml", 0, "il-psap-a", &firstInvite, &invites);
  EXPECT_NE(firstInvite.find("multipart/mixed"), std::string::npos) << firstInvite;
  ASSERT_EQ(invites.size(), 2u);
  EXPECT_EQ(invites[1].find("Geolocation"), std::string::npos) << invites[1];
  EXPECT_TRUE(std::regex_search(invites[1], std::regex("From:[^\r\n]*sip:\\+12175550131@")))
      << invites[1];
  EXPECT_EQ(headerValue(invites[0], "Call-ID"), headerValue(invites[1], "Call-ID"));
  const auto retry = waitForLogLine({{"event", "retry"}, {"call_id", line.get("call_id")}});
  ASSERT_FALSE(retry.raw.empty()) << routingLogText();
  EXPECT_EQ(retry.get("elin"), "+12175550131") << retry.raw;
  EXPECT_EQ(retry.get("status"), "424") << retry.raw;
  const auto final = waitForLogLine({{"event", "final"}, {"call_id", line.get("call_id")}});
  EXPECT_EQ(final.get("outcome"), "answered") << final.raw;
}

class ElinTrunk : public LocatedCall {
 protected:
  void SetUp() override {
    ports_.psapAMode = "elin";  // il-psap-a as an ELIN-only trunk for this test
    ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  }
};

// To an ELIN-mode trunk the Room 301 call shows the room's ELIN as the caller.
TEST_F(ElinTrunk, Room301CallShowsTheRoomsElin) {
  std::string invite;
  auto line = callEmergency("1001", "10.1.3.20", "IEEE-802.11; i-wlan-node-id=001122334455", "911",
                            "uas-psap-expect-elin.xml", 0, "il-psap-a", &invite);
  EXPECT_EQ(line.get("elin"), "+12175550131") << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("From:[^\r\n]*sip:\\+12175550131@"))) << invite;
  EXPECT_TRUE(
      std::regex_search(invite, std::regex("P-Asserted-Identity:[^\r\n]*sip:\\+12175550131@")))
      << invite;
  EXPECT_EQ(invite.find("multipart/mixed"), std::string::npos) << "ELIN only\n" << invite;
}

// PSAP callbacks (issue 4): the PSAP dials the ELIN it was shown. Within the callback window
// the caller's phone rings; after it, the site's security desk.
class Callback : public ElinTrunk {
 protected:
  // 911 from 1001 in Room 301 whose phone listens on `phonePort`; returns the ELIN shown.
  std::string emergencyFrom1001(uint16_t phonePort) {
    auto line =
        callEmergency("1001", "127.0.0.1", "IEEE-802.11; i-wlan-node-id=001122334455", "911",
                      "uas-psap-expect-elin.xml", 0, "il-psap-a", nullptr, nullptr, phonePort);
    return line.get("elin");
  }

  // The PSAP calls `elin` back; `answerer` (listening on `port`) must get the INVITE.
  RoutingLogLine callBack(const std::string& elin, uint16_t port, const std::string& answerer) {
    auto phone = startTrunk("uas-answer-expect-bye.xml", port, answerer);
    auto psap = startCaller("uac-call-caller-hangs-up.xml", "psap-callback", elin);
    EXPECT_EQ(psap->wait(), 0) << report({psap.get(), phone.get()});
    EXPECT_EQ(phone->wait(), 0) << report({psap.get(), phone.get()});
    EXPECT_EQ(countMessages(*phone, true, "INVITE "), 1) << report({phone.get()});
    const std::string cid = inviteCallId(*psap, false);
    auto line = waitForLogLine({{"event", "route"}, {"call_id", cid}});
    EXPECT_EQ(line.get("trunk"), "callback") << line.raw << "\n" << routingLogText();
    return line;
  }
};

TEST_F(Callback, WithinTheWindowTheCallersPhoneRings) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  ASSERT_EQ(elin, "+12175550131");
  auto line = callBack(elin, phonePort, "phone-1001");
  EXPECT_NE(line.get("reason").find("to 1001"), std::string::npos) << line.raw;
}

// The ELIN -> caller mapping is on disk moments after the emergency call: a crash (kill -9)
// and a restart later, the PSAP's callback still reaches the caller.
TEST_F(Callback, MappingSurvivesACrashAndRestart) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  ASSERT_EQ(elin, "+12175550131");
  const std::string query = "SELECT extension FROM elin_mappings WHERE elin = '" + elin + "'";
  const bool saved = waitFor([&] { return storeRows(query) == std::vector<std::string>{"1001"}; },
                             milliseconds(10000));
  ASSERT_TRUE(saved) << testing::PrintToString(storeRows(query));

  ::kill(proxy_->process()->pid(), SIGKILL);
  proxy_->process()->wait(milliseconds(10000));
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();

  auto line = callBack(elin, phonePort, "phone-1001-after-restart");
  EXPECT_NE(line.get("reason").find("to 1001"), std::string::npos) << line.raw;
}

// With ordinary calls relayed without state (edge.ordinary_relay: stateless), a PSAP's call to an
// ELIN still takes the B2BUA to the caller's phone: the PSAP's trunk (127.0.0.1) is inside
// trusted_networks here too, so only the callback check keeps it from the carrier.
class CallbackWithStatelessRelay : public Callback {
 protected:
  void SetUp() override {
    ports_.sets.emplace_back("edge.ordinary_relay", "stateless");
    Callback::SetUp();
  }
};

TEST_F(CallbackWithStatelessRelay, TheCallersPhoneStillRings) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  ASSERT_EQ(elin, "+12175550131");
  auto line = callBack(elin, phonePort, "phone-1001");
  EXPECT_NE(line.get("reason").find("to 1001"), std::string::npos) << line.raw;
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 0) << metrics();
}

// The PSAP gives up on its callback while the caller's phone rings: its CANCEL meets the
// B2BUA's transaction in nta (the stateless relay takes none of the callback's messages), and the
// phone gets the B2BUA's CANCEL.
TEST_F(CallbackWithStatelessRelay, ThePsapsCancelStopsTheCallersPhone) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  ASSERT_EQ(elin, "+12175550131");
  auto phone = startTrunk("uas-ring-expect-cancel.xml", phonePort, "phone-1001");
  auto psap = startCaller("uac-cancel-while-ringing.xml", "psap-callback", elin);
  EXPECT_EQ(psap->wait(), 0) << report({psap.get(), phone.get()});
  EXPECT_EQ(phone->wait(), 0) << report({psap.get(), phone.get()});
  EXPECT_EQ(countMessages(*phone, true, "CANCEL "), 1) << report({phone.get()});
  EXPECT_NE(inviteCallId(*phone, true), inviteCallId(*psap, false)) << "not the B2BUA's leg";
  EXPECT_EQ(metric("sosproxy_relay_initial_total"), 0) << metrics();
  EXPECT_EQ(metric("sosproxy_relay_taken_total"), 0) << metrics();
}

class CallbackShortWindow : public Callback {
 protected:
  void SetUp() override {
    ports_.callbackWindowSeconds = 1;
    Callback::SetUp();
  }
};

TEST_F(CallbackShortWindow, AfterTheWindowTheSecurityDeskRings) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  ASSERT_EQ(elin, "+12175550131");
  // The window is one second: wait until it has certainly passed (a minimum, not a race).
  const auto passed = Clock::now() + milliseconds(1500);
  waitFor([&] { return Clock::now() >= passed; }, milliseconds(5000));
  auto line = callBack(elin, ports_.securityDesk, "security-desk");
  EXPECT_NE(line.get("reason").find("security desk"), std::string::npos) << line.raw;
}

// The counters an operator scrapes: the emergency call, the ELIN handed out, the callback.
TEST_F(Callback, MetricsCountEmergencyCallsAndCallbacks) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001(phonePort);
  callBack(elin, phonePort, "phone-1001");
  auto metrics = httpRequest("GET", ports_.admin, "/metrics", "");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_NE(metrics.body.find("\nsosproxy_emergency_calls_total 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nsosproxy_psap_callbacks_to_caller_total 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("# TYPE sosproxy_active_calls gauge"), std::string::npos);
}

// A 999 from 2001 at home (Manchester) reaches uk-999 with the home's own ELIN.
TEST_F(LocatedCall, LondonUserAtHomeReachesUk999WithHomeElin) {
  std::string invite;
  auto line = callEmergency("2001", "192.0.2.77", "IEEE-802.3", "999", "uas-psap-expect-elin.xml",
                            ports_.uk999, "uk-999", &invite);
  EXPECT_EQ(line.get("site"), "London") << line.raw;
  EXPECT_EQ(line.get("elin"), "+441619460001") << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("From:[^\r\n]*sip:\\+441619460001@"))) << invite;
}

}  // namespace
}  // namespace sos::itest
