// The location-report API: validation, answers, and the store-down fallback.
#include "admin/location_api.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "admin/http_server.h"

namespace sos::admin {
namespace {

using nlohmann::json;

model::LocationData demoData() {
  model::LocationData d;
  model::Location lobby;
  lobby.key = "hq-lobby";
  lobby.name = "HQ Lobby";
  lobby.site = "HQ";
  lobby.kind = model::LocationKind::SiteDefault;
  lobby.civic.country = "US";
  lobby.civic.a1 = "IL";
  lobby.civic.a3 = "Springfield";
  lobby.civic.hno = "100";
  lobby.civic.rd = "Main";
  lobby.civic.sts = "St";
  lobby.civic.flr = "1";
  model::Location floor2 = lobby;
  floor2.key = "hq-floor-2";
  floor2.name = "HQ Floor 2";
  floor2.kind = model::LocationKind::Company;
  floor2.civic.flr = "2";
  d.locations = {lobby, floor2};
  d.subnets = {{"10.1.2.0/24", "hq-floor-2"}};
  model::UserRow u;
  u.extension = "1001";
  u.did = "+12175551001";
  u.site = "HQ";
  u.macs = {"00:04:f2:00:10:01"};
  model::UserRow london = u;
  london.extension = "2001";
  london.did = "+442075552001";
  london.site = "London";
  london.macs = {"00:04:f2:00:20:01"};
  d.users = {u, london};
  d.siteDefaults = {{"HQ", "hq-lobby"}};
  d.accountDefaultKey = "hq-lobby";
  return d;
}

struct Fixture : ::testing::Test {
  std::shared_ptr<const routing::LocationSnapshot> snap =
      routing::LocationSnapshot::build(demoData());
  std::vector<model::DeviceReport> saved, published;
  bool storeDown = false;
  bool seenBefore = false;

  LocationApi api{LocationApi::Deps{
      [this](model::DeviceReport& r) -> Result<store::Store::ReportOutcome> {
        if (storeDown) return Error{"store.io", "database is locked"};
        saved.push_back(r);
        return store::Store::ReportOutcome{!seenBefore};
      },
      [this] { return snap; }, [this](const model::DeviceReport& r) { published.push_back(r); },
      [] { return int64_t{1'700'000'000'000}; },
      [this](const model::DeviceReport& r, const model::UserRow& u, const std::string& peer) {
        moved.push_back(u.extension + " " + r.ip + " from " + peer);
      }}};
  std::vector<std::string> moved;  // desk phones told of a new network: "EXT IP from PEER"

  static Principal superAdmin() { return Principal{"ops", Role::SuperAdmin, {}, ""}; }

  HttpResponse post(std::string body, std::string peer = "10.1.2.45",
                    const Principal& who = superAdmin()) {
    HttpRequest r;
    r.method = "POST";
    r.target = LocationApi::kPath;
    r.body = std::move(body);
    r.peerAddress = std::move(peer);
    return api.handle(r, who);
  }
};

// Who may report for whom: a spoofed report moves a user's next 911, so every refusal writes
// nothing and reaches nothing.
struct Scope {
  const char* name;
  Principal who;
  const char* body;
  int status;
};

class Scopes : public Fixture, public ::testing::WithParamInterface<Scope> {};

TEST_P(Scopes, DecideWhoMayReportForWhom) {
  const auto& p = GetParam();
  auto res = post(p.body, "10.1.2.45", p.who);
  EXPECT_EQ(res.status, p.status) << res.body;
  EXPECT_EQ(saved.size(), p.status == 200 ? 1u : 0u);
  EXPECT_EQ(published.size(), p.status == 200 ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(
    LocationApi, Scopes,
    ::testing::Values(
        Scope{"device_own_extension",
              {"d", Role::Device, {}, "1001"},
              R"({"extension":"1001"})",
              200},
        Scope{"device_other_extension",
              {"d", Role::Device, {}, "1002"},
              R"({"extension":"1001"})",
              403},
        Scope{"device_other_by_mac",
              {"d", Role::Device, {}, "1002"},
              R"({"mac":"00:04:f2:00:10:01"})",
              403},
        Scope{"device_own_mac",
              {"d", Role::Device, {}, "0004f2001001"},
              R"({"mac":"00-04-F2-00-10-01"})",
              200},
        Scope{"device_mac_token_names_the_extension_only",
              {"d", Role::Device, {}, "0004f2001001"},
              R"({"extension":"1001"})",
              403},
        Scope{"device_mac_token_other_mac",
              {"d", Role::Device, {}, "0004f2001001"},
              R"({"mac":"00:04:f2:00:20:01"})",
              403},
        Scope{"site_admin_own_site",
              {"a", Role::SiteAdmin, {"HQ"}, ""},
              R"({"extension":"1001"})",
              200},
        Scope{"site_admin_other_site",
              {"a", Role::SiteAdmin, {"HQ"}, ""},
              R"({"extension":"2001"})",
              403},
        Scope{"network_reporter_any",
              {"n", Role::NetworkReporter, {}, ""},
              R"({"mac":"00:04:f2:00:20:01","bssid":"00:11:22:33:44:55"})",
              200},
        Scope{"responder", {"r", Role::Responder, {"HQ"}, ""}, R"({"extension":"1001"})", 403}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Fixture, ANetworkReportersReportIsMarkedNetworkProvidedAPhonesIsNot) {
  ASSERT_EQ(
      post(R"({"extension":"1001"})", "10.1.2.45", Principal{"wlc", Role::NetworkReporter, {}, ""})
          .status,
      200);
  ASSERT_EQ(
      post(R"({"extension":"1001"})", "10.1.2.45", Principal{"d", Role::Device, {}, "1001"}).status,
      200);
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_TRUE(saved[0].networkProvided);
  EXPECT_FALSE(saved[1].networkProvided);
}

TEST_F(Fixture, SubnetReportIsDetectableAndNewNetwork) {
  auto res = post(R"({"extension":"1001","ip":"10.1.2.45"})");
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = json::parse(res.body);
  EXPECT_EQ(j["status"], "detectable");
  EXPECT_EQ(j["matched"], "subnet");
  EXPECT_EQ(j["location"]["key"], "hq-floor-2");
  EXPECT_EQ(j["new_network"], true);
  EXPECT_EQ(j["saved"], true);
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].ip, "10.1.2.45");
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].extension, "1001");
}

TEST_F(Fixture, UnknownNetworkIsUndetectable) {
  seenBefore = true;
  auto j = json::parse(post(R"({"extension":"1001","ip":"192.0.2.1"})").body);
  EXPECT_EQ(j["status"], "undetectable");
  EXPECT_EQ(j["new_network"], false);
}

TEST_F(Fixture, PeerAddressStandsInForMissingIp) {
  auto j = json::parse(post(R"({"mac":"00-04-F2-00-10-01"})", "10.1.2.9").body);
  EXPECT_EQ(j["status"], "detectable");
  EXPECT_EQ(j["extension"], "1001");
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].ip, "10.1.2.9");
}

TEST_F(Fixture, StoreDownStillReachesTheCallPath) {
  storeDown = true;
  auto res = post(R"({"extension":"1001","ip":"10.1.2.45"})");
  ASSERT_EQ(res.status, 200);
  auto j = json::parse(res.body);
  EXPECT_EQ(j["saved"], false);
  EXPECT_TRUE(j["new_network"].is_null());
  EXPECT_EQ(published.size(), 1u);
}

struct BadBody {
  const char* name;
  const char* body;
  int status;
  const char* reason;
};

class BadBodies : public Fixture, public ::testing::WithParamInterface<BadBody> {};

TEST_P(BadBodies, AreRefusedWithTheReasonAndNothingWritten) {
  const auto& p = GetParam();
  auto res = post(p.body);
  EXPECT_EQ(res.status, p.status) << res.body;
  EXPECT_NE(res.body.find(p.reason), std::string::npos) << res.body;
  EXPECT_TRUE(saved.empty());
  EXPECT_TRUE(published.empty());
}

INSTANTIATE_TEST_SUITE_P(
    LocationApi, BadBodies,
    ::testing::Values(
        BadBody{"not_json", "{nope", 400, "not valid JSON"},
        BadBody{"array", "[1,2]", 400, "JSON object"},
        BadBody{"unknown_field", R"({"extension":"1001","floor":2})", 400, "unknown field 'floor'"},
        BadBody{"no_owner", R"({"ip":"10.1.2.3"})", 400, "'extension' or 'mac'"},
        BadBody{"extension_not_digits", R"({"extension":"10a1"})", 400, "must be digits"},
        BadBody{"extension_number", R"({"extension":1001})", 400, "must be a string"},
        BadBody{"bad_ip", R"({"extension":"1001","ip":"10.1.2"})", 400, "not an IP address"},
        BadBody{"bad_bssid", R"({"extension":"1001","bssid":"zz:11"})", 400, "'bssid'"},
        BadBody{"bad_mac", R"({"mac":"00:11"})", 400, "'mac'"},
        BadBody{"port_without_chassis", R"({"extension":"1001","port":"7"})", 400,
                "needs 'chassis'"},
        BadBody{"unknown_user", R"({"extension":"9999"})", 404, "no user with extension 9999"},
        BadBody{"unknown_mac", R"({"mac":"02:00:00:00:00:01"})", 404, "no user has a device"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Fixture, GetIsNotAllowed) {
  HttpRequest r;
  r.method = "GET";
  EXPECT_EQ(api.handle(r, superAdmin()).status, 405);
}

// The server itself, over a real socket on loopback.
TEST(HttpServer, ServesAPostOverLoopback) {
  boost::asio::io_context io;
  std::string seenPeer;
  HttpServer server(io, "127.0.0.1", 0, [&](const HttpRequest& r) {
    seenPeer = r.peerAddress;
    HttpResponse out;
    out.body = "{\"echo\":\"" + r.method + " " + r.target + " " + r.body + "\"}";
    return out;
  });
  server.start();
  std::thread t([&] { io.run(); });

  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  std::string req =
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
  boost::asio::write(s, boost::asio::buffer(req));
  std::string reply;
  boost::system::error_code ec;
  char buf[1024];
  for (;;) {
    size_t n = s.read_some(boost::asio::buffer(buf), ec);
    reply.append(buf, n);
    if (ec) break;
  }
  server.stop();
  io.stop();
  t.join();
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find("POST /x hi"), std::string::npos) << reply;
  EXPECT_EQ(seenPeer, "127.0.0.1");
}

// Issue 17: a desk phone (a MAC of the user's) on a network new for its user tells the user;
// a known network, or a report without the phone's MAC (a softphone), does not.
TEST_F(Fixture, ADeskPhoneOnANewNetworkTellsItsUser) {
  EXPECT_EQ(post(R"({"mac":"00-04-F2-00-10-01","ip":"10.1.3.7"})").status, 200);
  // With the address the report came from, which a MESSAGE to the phone may go to.
  EXPECT_EQ(moved, std::vector<std::string>{"1001 10.1.3.7 from 10.1.2.45"});
  EXPECT_EQ(post(R"({"extension":"1001","ip":"10.1.3.8"})").status, 200);
  seenBefore = true;
  EXPECT_EQ(post(R"({"mac":"00:04:f2:00:10:01","ip":"10.1.3.7"})").status, 200);
  EXPECT_EQ(moved.size(), 1u);
}

// Issue 17: a SIP MESSAGE to a desk phone goes only to the address its report came from, and
// only when the report names that same address; the body alone is the token holder's to write.
TEST(DeskPhoneMessage, GoesOnlyToTheAddressTheReportCameFrom) {
  EXPECT_EQ(deskPhoneMessageRefusal("10.1.3.7", "10.1.3.7"), "");
  EXPECT_EQ(deskPhoneMessageRefusal("10.1.3.7", "::ffff:10.1.3.7"), "");  // a dual-stack socket
  EXPECT_EQ(deskPhoneMessageRefusal("2001:db8::7", "2001:DB8:0::7"), "");
  EXPECT_EQ(deskPhoneMessageRefusal("192.0.2.99", "10.1.3.7"),
            "the report names IP 192.0.2.99 but came from 10.1.3.7: a MESSAGE goes only to the "
            "address a report came from");
  EXPECT_NE(deskPhoneMessageRefusal("10.1.3.7", ""), "");
  EXPECT_NE(deskPhoneMessageRefusal("", "10.1.3.7"), "");
  EXPECT_NE(deskPhoneMessageRefusal("not-an-ip", "not-an-ip"), "");
}

// Nomadic emergency services off for a site (issue 17): its users are not prompted, and the
// answer says why; another site's users still are.
TEST_F(Fixture, NoPromptWhereNomadicServicesAreOff) {
  routing::ResolverSettings settings;
  settings.nomadicBySite = {{"HQ", false}};
  snap = routing::LocationSnapshot::build(demoData(), settings);
  auto j = json::parse(post(R"({"extension":"1001","ip":"192.0.2.1"})").body);
  EXPECT_EQ(j["status"], "undetectable");
  EXPECT_EQ(j["nomadic_services"], false);
  EXPECT_TRUE(j["prompt"].is_null()) << j.dump();
  EXPECT_EQ(j["note"],
            "nomadic emergency services are off for site HQ: a 911 gives the company's location, "
            "not a personal address, and personal addresses cannot be added; ask the site's "
            "admins");
  EXPECT_EQ(saved.size(), 1u);  // the report itself is kept: company networks still place them
  j = json::parse(post(R"({"extension":"2001","ip":"192.0.2.1"})").body);
  EXPECT_EQ(j["nomadic_services"], true);
  EXPECT_TRUE(j["prompt"].is_string()) << j.dump();
  EXPECT_FALSE(j.contains("note"));
}

}  // namespace
}  // namespace sos::admin
