// Issue 22: two sosproxy nodes on one PostgreSQL database (a scratch server of
// scripts/pg-local.sh, started and stopped by each test). Node A is the fixture's sosproxy and
// seeds the database with the demo enterprise; node B has SIP and admin ports of its own and
// the same trunks, so the same SIPp PSAP answers either.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class TwoNodes : public B2buaTest {
 protected:
  TwoNodes() : pgDir_("sosproxy-pg") {}

  void SetUp() override {
    const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
    auto started = runCommand({script.string(), "start", pgDir_.path().string()}, dir_.path(),
                              milliseconds(60000));
    ASSERT_EQ(started.status, std::optional<int>(0)) << started.err;
    pgUrl_ = std::regex_replace(started.out, std::regex("\\s+$"), "");
    pgStarted_ = true;
    ports_.sets.push_back({"store.backend", "postgresql"});
    ports_.sets.push_back({"store.postgresql", pgUrl_});
    ports_.sets.push_back({"store.spool", (dir_.path() / "node-a.spool").string()});
    startProxy("udp", true);  // node A: seeds the database with the demo's locations
    if (HasFatalFailure()) return;

    portsB_ = ports_;
    for (auto& [key, value] : portsB_.sets)  // each node's own
      if (key == "store.spool") value = (dir_.path() / "node-b.spool").string();
    const DemoPorts fresh = pickDemoPorts();
    portsB_.proxy = fresh.proxy;
    portsB_.admin = fresh.admin;
    portsB_.deviceReports = 0;
    const fs::path dirB = dir_.path() / "node-b";
    fs::create_directories(dirB);
    routingLogB_ = dirB / "routing.log";
    configB_ = dirB / "sosproxy.yaml";
    writeFile(configB_, demoConfigYaml(portsB_, routingLogB_, dirB / "unused.db",
                                       fs::path(SOS_SOURCE_DIR) / "config" / "examples" /
                                           "demo-locations.yaml"));
    startNodeB();
  }

  void startNodeB() {
    nodeB_ = std::make_unique<Sosproxy>(sosproxyBinary(), configB_.parent_path());
    nodeB_->setLauncher(proxyLauncher_);
    ASSERT_TRUE(nodeB_->start(configB_)) << nodeB_->lastError() << "\n" << nodeB_->output();
  }

  // The location of the call record of `callId` in the database, as psql prints it (a line;
  // "" for none, with psql's error on a failure).
  std::string recordedLocation(const std::string& callId) {
    auto record = runCommand({"psql", pgUrl_, "-Atc",
                              "SELECT location FROM call_records WHERE call_id = '" + callId + "'"},
                             dir_.path());
    return record.out + record.err;
  }

  // Whether node B's output has `text` within `within`.
  bool nodeBSays(const std::string& text, milliseconds within = milliseconds(10000)) {
    return waitFor([&] { return nodeB_->output().find(text) != std::string::npos; }, within);
  }

  void pgLocal(const std::string& verb) {
    const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
    auto done = runCommand({script.string(), verb, pgDir_.path().string()}, dir_.path(),
                           milliseconds(60000));
    ASSERT_EQ(done.status, std::optional<int>(0)) << verb << ": " << done.err;
  }

  void TearDown() override {
    if (nodeB_ && nodeB_->process()) {
      const auto rc = nodeB_->process()->stop(milliseconds(20000));
      EXPECT_EQ(rc, std::optional<int>(0)) << "node B did not exit cleanly\n" << nodeB_->output();
    }
    B2buaTest::TearDown();
    if (pgStarted_) {
      const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
      runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
    }
  }

  // The route line of `callId` in the routing log at `log` (either node's), waited for up to
  // 10 s; empty (raw "") when none came.
  static RoutingLogLine routeLine(const fs::path& log, const std::string& callId) {
    RoutingLogLine found;
    waitFor(
        [&] {
          for (auto& line : readRoutingLog(log)) {
            if (line.get("event") == "route" && line.get("call_id") == callId) found = line;
          }
          return !found.raw.empty();
        },
        milliseconds(10000));
    return found;
  }

  long metricB(const std::string& name) {
    auto m = httpRequest("GET", portsB_.admin, "/metrics");
    EXPECT_EQ(m.status, 200) << m.body;
    return metricIn(m.body, name);
  }

  // A 911 from `caller` at `contactHost` through node B (or node A, `atNodeA`); il-psap-a
  // (`psapScenario`) answers. Returns that node's route line; the INVITE il-psap-a received
  // into `psapInvite`.
  RoutingLogLine call911(const std::string& caller, const std::string& contactHost,
                         const std::string& psapScenario, std::string* psapInvite,
                         bool atNodeA = false) {
    const std::string node = atNodeA ? "a" : "b";
    auto psap = startTrunk(psapScenario, ports_.psapA, "il-psap-a-" + caller + "-" + node);
    SippOptions o = call911Options(caller, contactHost, "caller-" + caller + "-at-" + node);
    if (!atNodeA) o.remote = "127.0.0.1:" + std::to_string(portsB_.proxy);
    Sipp uac(o, dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()}) << nodeB_->output();
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()}) << nodeB_->output();
    if (psapInvite) *psapInvite = findMessage(*psap, true, "INVITE ");
    const std::string callId = inviteCallId(uac, false);
    const fs::path log = atNodeA ? routingLogPath_ : routingLogB_;
    RoutingLogLine found = routeLine(log, callId);
    EXPECT_FALSE(found.raw.empty()) << "no route line at node " << node << " for " << callId << "\n"
                                    << readFile(log);
    return found;
  }

  TempDir pgDir_;
  std::string pgUrl_;
  bool pgStarted_ = false;
  DemoPorts portsB_;
  fs::path configB_;
  fs::path routingLogB_;
  std::unique_ptr<Sosproxy> nodeB_;
};

// Must-show 1: a location created through node A's API is used by a 911 at node B. Node B hears
// of it by PostgreSQL's NOTIFY at node A's commit and rebuilds its snapshot; the time from node
// A's 201 to node B's rebuild is printed (the figure; the test waits for the rebuild, up to 10 s,
// rather than failing on a time; it is read every 20 ms).
TEST_F(TwoNodes, ALocationCreatedThroughNodeAsApiRoutesA911AtNodeB) {
  const std::string floor4 = kHqFloor4Location;
  const long heardBefore = metricB("sosproxy_store_changes_heard_total");
  auto made = api("POST", "/api/v1/locations", floor4);
  ASSERT_EQ(made.status, 201) << made.body;
  const auto created = std::chrono::steady_clock::now();
  const bool rebuilt = waitFor(
      [&] {
        return nodeB_->output().find("location data changed in the store") != std::string::npos;
      },
      milliseconds(10000));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - created);
  ASSERT_TRUE(rebuilt) << nodeB_->output();
  std::printf(
      "node B rebuilt its snapshot with node A's new location at most %lld ms after the 201 "
      "(read every 20 ms)\n",
      static_cast<long long>(took.count()) + 20);
  EXPECT_GT(metricB("sosproxy_store_changes_heard_total"), heardBefore);

  std::string invite;
  auto line = call911("1001", "10.1.4.20", "uas-psap-expect-pidf.xml", &invite);
  EXPECT_EQ(line.get("location"), "HQ Floor 4") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("subnet", 0), 0u) << line.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>4</([a-z]+:)?FLR>"))) << invite;
  EXPECT_NE(invite.find("application/pidf+xml"), std::string::npos) << invite;
}

// A device report received by node A moves the next 911 of that user at node B: node B reads
// it by the id node A's notification names and hands it to its SIP thread.
TEST_F(TwoNodes, ADeviceReportToNodeAMovesTheNext911AtNodeB) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  auto reported = httpRequest("POST", ports_.admin, "/api/v1/location-reports",
                              R"({"extension":"1002","bssid":"00:11:22:33:44:55"})",
                              {{"Authorization", "Bearer " + phone}});
  ASSERT_EQ(reported.status, 200) << reported.body;
  ASSERT_TRUE(waitFor([&] { return metricB("sosproxy_store_reports_heard_total") >= 1; },
                      milliseconds(10000)))
      << nodeB_->output();
  auto line = call911("1002", "192.0.2.10", "uas-psap-expect-pidf.xml", nullptr);
  EXPECT_EQ(line.get("location"), "HQ Room 301") << line.raw;
  EXPECT_EQ(line.get("location_by").rfind("bssid", 0), 0u) << line.raw;
}

// Must-show 4, the call path: with PostgreSQL stopped, both nodes route 911 calls on their last
// snapshot, with the caller's location and its PIDF-LO; each says on /readyz that its store takes
// no writes.
TEST_F(TwoNodes, WithPostgresqlStoppedBothNodesStillRouteEmergencyCallsWithTheirLocation) {
  const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
  auto stopped = runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(stopped.status, std::optional<int>(0)) << stopped.err;
  for (const bool atNodeA : {true, false}) {
    std::string invite;
    auto line = call911("1001", "10.1.2.45", "uas-psap-expect-pidf.xml", &invite, atNodeA);
    EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
    EXPECT_EQ(line.get("pidf"), "added") << line.raw;
    EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>2</([a-z]+:)?FLR>")))
        << invite;
    const auto ready = httpRequest("GET", atNodeA ? ports_.admin : portsB_.admin, "/readyz");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find("{\"check\":\"store\""), std::string::npos) << ready.body;
  }
}

// Must-show 4, what is written meanwhile: a device report node A receives and the record of a
// 911 node A routes while PostgreSQL is stopped are kept, and written once it is back; node B
// then hears of the report and locates 1002's next 911 by it.
TEST_F(TwoNodes, AReportAndACallRecordMadeWhilePostgresqlIsDownAreWrittenWhenItReturns) {
  const std::string phone = makeToken("phone-1002", {"--role", "device", "--user", "1002"});
  // Once used, the token is known to node A without the database (a token never read is 503
  // while the database is away).
  auto used = httpRequest("GET", ports_.admin, "/api/v1/personal-locations", "",
                          {{"Authorization", "Bearer " + phone}});
  ASSERT_EQ(used.status, 200) << used.body;
  const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
  auto stopped = runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(stopped.status, std::optional<int>(0)) << stopped.err;

  auto reported = httpRequest("POST", ports_.admin, "/api/v1/location-reports",
                              R"({"extension":"1002","bssid":"00:11:22:33:44:55"})",
                              {{"Authorization", "Bearer " + phone}});
  ASSERT_EQ(reported.status, 200) << reported.body;
  EXPECT_NE(reported.body.find("\"saved\":false"), std::string::npos) << reported.body;
  auto during = call911("1001", "10.1.2.45", "uas-psap-expect-pidf.xml", nullptr, true);
  EXPECT_EQ(during.get("location"), "HQ Floor 2") << during.raw;
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_store_writes_waiting") == 2; }, milliseconds(10000)))
      << metrics();
  // The outage is an alarm: a gauge and an ALARM line saying what is kept.
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_store_up") == 0; }, milliseconds(10000)))
      << metrics();
  EXPECT_EQ(metric("sosproxy_store_outages_total"), 1);
  EXPECT_TRUE(waitFor(
      [&] {
        const std::string out = proxy_->output();
        const auto alarm = out.find("ALARM: store: ");
        return alarm != std::string::npos &&
               out.find("calls are routed on the location snapshot in force", alarm) !=
                   std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();

  auto restarted = runCommand({script.string(), "start", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(restarted.status, std::optional<int>(0)) << restarted.err;
  ASSERT_TRUE(waitFor([&] { return metric("sosproxy_store_writes_replayed_total") == 2; },
                      milliseconds(20000)))
      << metrics() << proxy_->output();
  EXPECT_EQ(metric("sosproxy_store_writes_waiting"), 0);
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_store_up") == 1; }, milliseconds(10000)))
      << metrics();
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("store: the database takes writes again after") !=
               std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();
  EXPECT_EQ(recordedLocation(during.get("call_id")), "HQ Floor 2\n");
  ASSERT_TRUE(waitFor([&] { return metricB("sosproxy_store_reports_heard_total") >= 1; },
                      milliseconds(20000)))
      << nodeB_->output();
  auto line = call911("1002", "192.0.2.10", "uas-psap-expect-pidf.xml", nullptr);
  EXPECT_EQ(line.get("location"), "HQ Room 301") << line.raw;
}

// A node stopped while PostgreSQL is down tries what it kept once more and, the database still
// away, says where it keeps it: here the record of the 911 it routed meanwhile, in its spool
// file. Started again once the database is back, it writes the record.
TEST_F(TwoNodes, ANodeStoppedWhilePostgresqlIsDownWritesWhatItKeptAfterItsNextStart) {
  pgLocal("stop");
  const RoutingLogLine during =
      call911("1001", "10.1.2.45", "uas-psap-expect-pidf.xml", nullptr, true);
  EXPECT_EQ(during.get("location"), "HQ Floor 2") << during.raw;
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_store_writes_waiting") == 1; }, milliseconds(10000)))
      << metrics();
  ASSERT_EQ(proxy_->process()->stop(milliseconds(20000)), std::optional<int>(0))
      << proxy_->output();
  const fs::path spool = dir_.path() / "node-a.spool";
  EXPECT_NE(proxy_->output().find("store: stopping with 0 device report(s), 1 call record(s) and 0 "
                                  "ELIN mapping set(s) the database did not take: kept in the "
                                  "spool file " +
                                  spool.string() + ", written after the next start"),
            std::string::npos)
      << proxy_->output();
  EXPECT_NE(readFile(spool).find("\"call_id\":\"" + during.get("call_id") + "\""),
            std::string::npos);

  pgLocal("start");
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  ASSERT_TRUE(waitFor([&] { return metric("sosproxy_store_writes_replayed_total") == 1; },
                      milliseconds(20000)))
      << metrics() << proxy_->output();
  EXPECT_EQ(recordedLocation(during.get("call_id")), "HQ Floor 2\n");
  EXPECT_FALSE(fs::exists(spool));
}

// A node that starts while PostgreSQL is down routes 911 calls on the seed's data (here the
// site default: the seed has no subnet for 10.1.4.20) and says so on /readyz; once the server
// answers, the node connects, the database's data replaces the seed's (node A's hq-floor-4
// locates the next 911 and goes to the PSAP in its PIDF-LO), and the record of the call made
// meanwhile is written.
TEST_F(TwoNodes, ANodeStartedWhilePostgresqlIsDownUsesTheDatabaseOnceItAnswers) {
  const std::string floor4 = kHqFloor4Location;
  auto made = api("POST", "/api/v1/locations", floor4);
  ASSERT_EQ(made.status, 201) << made.body;
  ASSERT_EQ(nodeB_->process()->stop(milliseconds(20000)), std::optional<int>(0))
      << nodeB_->output();
  pgLocal("stop");
  startNodeB();
  if (HasFatalFailure()) return;
  EXPECT_TRUE(
      nodeBSays("calls are routed on the seed data until the database answers (tried each second)"))
      << nodeB_->output();
  const auto notReady = httpRequest("GET", portsB_.admin, "/readyz");
  EXPECT_EQ(notReady.status, 503) << notReady.body;
  EXPECT_NE(notReady.body.find("not reached since the start, calls routed on the seed data"),
            std::string::npos)
      << notReady.body;

  std::string lobbyInvite;
  const RoutingLogLine meanwhile =
      call911("1001", "10.1.4.20", "uas-psap-expect-pidf.xml", &lobbyInvite);
  EXPECT_EQ(meanwhile.get("location"), "HQ Lobby") << meanwhile.raw;
  EXPECT_EQ(meanwhile.get("location_by").rfind("site-default", 0), 0u) << meanwhile.raw;
  // The PSAP got the seed's lobby (floor 1) in the PIDF-LO.
  EXPECT_TRUE(std::regex_search(lobbyInvite, std::regex("<([a-z]+:)?FLR>1</([a-z]+:)?FLR>")))
      << lobbyInvite;
  ASSERT_TRUE(
      waitFor([&] { return metricB("sosproxy_store_writes_waiting") == 1; }, milliseconds(10000)))
      << nodeB_->output();
  EXPECT_EQ(metricB("sosproxy_store_fallbacks_total"), 1);

  pgLocal("start");
  ASSERT_TRUE(nodeBSays("reached: its data replaces the seed's", milliseconds(20000)))
      << nodeB_->output();
  EXPECT_TRUE(waitFor([&] { return httpRequest("GET", portsB_.admin, "/readyz").status == 200; },
                      milliseconds(10000)))
      << nodeB_->output();
  std::string invite;
  const RoutingLogLine after = call911("1001", "10.1.4.20", "uas-psap-expect-pidf.xml", &invite);
  EXPECT_EQ(after.get("location"), "HQ Floor 4") << after.raw;
  EXPECT_EQ(after.get("location_by").rfind("subnet", 0), 0u) << after.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>4</([a-z]+:)?FLR>"))) << invite;
  EXPECT_TRUE(waitFor([&] { return metricB("sosproxy_store_writes_replayed_total") == 1; },
                      milliseconds(10000)))
      << nodeB_->output();
  EXPECT_EQ(recordedLocation(meanwhile.get("call_id")), "HQ Lobby\n");
}

// Must-show 3: kill -9 of node A right after a 911 whose alerts are still pending (no receiver is
// up yet, so node A's attempts fail). Once node A's claim has run out (notifications.lease_s: 2),
// node B takes over the call's pending jobs and its escalation. With the receivers up, each job
// is delivered once, by node B: each receiver counts what it got by delivery id (the webhook's
// and the SIP MESSAGE's X-Sosproxy-Delivery header, the e-mail's Message-ID). Nobody
// acknowledges, so node B alerts tier 2 (facilities@hq.example) at the escalation time.
// Two processes given one store.node_name (a configuration copied without changing it): each
// finds the other speaking for its name in the table of nodes, logs an ALARM and counts it,
// and still routes 911 calls with their location.
class TwoNodesOneName : public TwoNodes {
 protected:
  void SetUp() override {
    ports_.sets.push_back({"store.node_name", "copied-node"});
    TwoNodes::SetUp();
  }
};

TEST_F(TwoNodesOneName, EachNodeRaisesAnAlarmAndStillRoutesEmergencyCalls) {
  const std::string alarm = "ALARM: store.node_name copied-node is used by another process too (";
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find(alarm) != std::string::npos &&
               nodeB_->output().find(alarm) != std::string::npos;
      },
      milliseconds(15000)))
      << "node A:\n"
      << proxy_->output() << "\nnode B:\n"
      << nodeB_->output();
  EXPECT_GE(metric("sosproxy_store_node_name_clashes_total"), 1);
  EXPECT_GE(metricB("sosproxy_store_node_name_clashes_total"), 1);
  // Node A's alarm names node B's process (its pid), and the other way round.
  const std::string pidA = std::to_string(proxy_->process()->pid());
  const std::string pidB = std::to_string(nodeB_->process()->pid());
  EXPECT_NE(proxy_->output().find(" pid " + pidB + " "), std::string::npos) << proxy_->output();
  EXPECT_NE(nodeB_->output().find(" pid " + pidA + " "), std::string::npos) << nodeB_->output();

  std::string invite;
  const RoutingLogLine routed = call911("1001", "10.1.2.45", "uas-psap-expect-pidf.xml", &invite);
  EXPECT_EQ(routed.get("location"), "HQ Floor 2") << routed.raw;
  EXPECT_EQ(routed.get("pidf"), "added") << routed.raw;
  EXPECT_TRUE(std::regex_search(invite, std::regex("<([a-z]+:)?FLR>2</([a-z]+:)?FLR>"))) << invite;
}

// A node restarted under its own name within the heartbeat's window finds its previous
// process's last word in the table of nodes: older than its own start, that is no clash.
TEST_F(TwoNodes, ANodeRestartedAtOnceUnderItsNameRaisesNoAlarm) {
  const std::string share = "ELIN pools: node ";
  ASSERT_TRUE(waitFor([&] { return nodeB_->output().find(share) != std::string::npos; },
                      milliseconds(10000)))
      << nodeB_->output();
  ASSERT_EQ(nodeB_->process()->stop(milliseconds(20000)), std::optional<int>(0));
  ASSERT_TRUE(nodeB_->start(dir_.path() / "node-b" / "sosproxy.yaml"))
      << nodeB_->lastError() << "\n"
      << nodeB_->output();
  // The restarted process's first heartbeat logs its share; the check is made on that one.
  ASSERT_TRUE(waitFor([&] { return nodeB_->output().find(share) != std::string::npos; },
                      milliseconds(10000)))
      << nodeB_->output();
  EXPECT_EQ(nodeB_->output().find("ALARM: store.node_name"), std::string::npos) << nodeB_->output();
  EXPECT_EQ(metricB("sosproxy_store_node_name_clashes_total"), 0);
  // The heartbeat measured the server's clock: on this one host, within a second of this one's.
  const std::string m = httpRequest("GET", portsB_.admin, "/metrics").body;
  std::smatch offset;
  ASSERT_TRUE(
      std::regex_search(m, offset, std::regex("\nsosproxy_store_clock_offset_ms (-?[0-9]+)\n")))
      << m;
  EXPECT_LT(std::abs(std::stol(offset[1])), 1000) << offset[0];
  EXPECT_EQ(nodeB_->output().find("clock: this host's clock is"), std::string::npos)
      << nodeB_->output();
}

class TwoNodesAlerts : public TwoNodes {
 protected:
  void SetUp() override {
    ports_.responders = true;
    ports_.escalateAfter = "8";
    ports_.sets.push_back({"notifications.lease_s", "2"});
    webhook_ = std::make_unique<WebhookReceiver>(dir_.path(), ports_.webhookSecret, ports_.webhook);
    smtp_ = std::make_unique<SmtpReceiver>(dir_.path(), ports_.smtp);
    TwoNodes::SetUp();
  }

  // One value of psql's unaligned output (the first column of the first row).
  std::string sql(const std::string& query) {
    auto r = runCommand({"psql", pgUrl_, "-Atc", query}, dir_.path());
    EXPECT_EQ(r.status, std::optional<int>(0)) << query << "\n" << r.err;
    return std::regex_replace(r.out, std::regex("\\s+$"), "");
  }
  long count(const std::string& query) { return std::atol(sql(query).c_str()); }

  // How many times each delivery id reached its receiver.
  std::map<std::string, int> received() {
    std::map<std::string, int> ids;
    for (const auto& l : webhook_->lines()) ++ids[jsonField(l, "delivery")];
    static const std::regex messageId("Message-ID: <([0-9a-f]+)@sosproxy>", std::regex::icase);
    for (const auto& l : smtp_->lines()) {
      std::smatch m;
      const std::string data = jsonField(l, "data");
      if (std::regex_search(data, m, messageId)) ++ids[m[1]];
    }
    for (const auto& m : traceMessages(desk_->messages(), true)) {
      if (m.rfind("MESSAGE ", 0) == 0) ++ids[headerValue(m, "X-Sosproxy-Delivery")];
    }
    return ids;
  }

  // Jobs and escalations node B's log says it took over, summed over its lines.
  std::pair<long, long> tookOverInLog() {
    static const std::regex line("took over ([0-9]+) pending job\\(s\\) and ([0-9]+) escalation");
    const std::string out = nodeB_->output();
    std::pair<long, long> sum{0, 0};
    for (std::sregex_iterator m(out.begin(), out.end(), line), end; m != end; ++m) {
      sum.first += std::atol((*m)[1].str().c_str());
      sum.second += std::atol((*m)[2].str().c_str());
    }
    return sum;
  }

  std::unique_ptr<WebhookReceiver> webhook_;
  std::unique_ptr<SmtpReceiver> smtp_;
  std::unique_ptr<Sipp> desk_;
};

TEST_F(TwoNodesAlerts, AfterAKill9OfNodeANodeBDeliversEachPendingAlertOnceAndEscalates) {
  const RoutingLogLine routed = call911("1001", "10.1.2.45", "uas-psap-answer.xml", nullptr, true);
  const std::string cid = routed.get("call_id");
  ASSERT_FALSE(cid.empty()) << routed.raw;
  const std::string ofCall = " FROM notification_jobs WHERE call_id = '" + cid + "'";
  // The call's three events (started, answered, ended), each to HQ's three tier-1 responders,
  // in the outbox, claimed by node A, and tried by it at least once.
  ASSERT_TRUE(
      waitFor([&] { return count("SELECT count(*)" + ofCall + " AND state = 'pending'") == 9; },
              milliseconds(15000)))
      << sql("SELECT event, channel, state" + ofCall) << proxy_->output();
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_alert_retries_total") >= 3; }, milliseconds(15000)))
      << metrics();
  const std::string nodeA = sql("SELECT DISTINCT claimed_by" + ofCall);
  EXPECT_TRUE(std::regex_match(nodeA, std::regex(".+:" + std::to_string(ports_.proxy)))) << nodeA;
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGKILL));
  ASSERT_EQ(proxy_->process()->wait(milliseconds(10000)), 128 + SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  proxy_.reset();
  const long pendingAtKill = count("SELECT count(*)" + ofCall + " AND state = 'pending'");
  EXPECT_EQ(pendingAtKill, 9);

  ASSERT_TRUE(webhook_->start()) << webhook_->lastError();
  ASSERT_TRUE(smtp_->start()) << smtp_->lastError();
  desk_ = startSecurityDesk();

  ASSERT_TRUE(waitFor([&] { return metricB("sosproxy_alert_jobs_taken_over_total") == 9; },
                      milliseconds(20000)))
      << nodeB_->output();
  const auto tookOver =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed);
  std::printf(
      "node B took node A's 9 pending alerts over at most %lld ms after the kill -9 "
      "(lease 2 s; read every 20 ms)\n",
      static_cast<long long>(tookOver.count()) + 20);
  EXPECT_EQ(metricB("sosproxy_alert_escalations_taken_over_total"), 1);
  // Node A's claims on the call's rows need not run out at once (a retry claims its job anew),
  // so node B may take them over in more than one pass: its log lines add up to the metrics.
  EXPECT_TRUE(
      waitFor([&] { return tookOverInLog() == std::make_pair(9L, 1L); }, milliseconds(5000)))
      << nodeB_->output();

  // Tier 2, by node B, after escalate_after_s without an acknowledgement.
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*)" + ofCall + " AND tier = 2") == 1; },
                      milliseconds(30000)))
      << nodeB_->output();
  ASSERT_TRUE(
      waitFor([&] { return count("SELECT count(*)" + ofCall + " AND state = 'pending'") == 0; },
              milliseconds(30000)))
      << sql("SELECT event, channel, state, claimed_by, last_error" + ofCall) << nodeB_->output();
  const std::string nodeB = sql("SELECT DISTINCT claimed_by" + ofCall);
  EXPECT_TRUE(std::regex_match(nodeB, std::regex(".+:" + std::to_string(portsB_.proxy)))) << nodeB;
  EXPECT_NE(nodeB_->output().find("call " + cid + ": not acknowledged"), std::string::npos)
      << nodeB_->output();

  // Every job of the call reached its receiver exactly once.
  auto ids = runCommand({"psql", pgUrl_, "-Atc", "SELECT delivery_id" + ofCall + " ORDER BY id"},
                        dir_.path());
  std::istringstream jobs(ids.out);
  std::map<std::string, int> got;
  ASSERT_TRUE(waitFor(
      [&] {
        got = received();
        return got.size() >= 10;
      },
      milliseconds(10000)))
      << webhook_->report() << smtp_->report() << desk_->report();
  int n = 0;
  for (std::string id; std::getline(jobs, id); ++n) {
    EXPECT_EQ(got[id], 1) << "delivery " << id;
  }
  EXPECT_EQ(n, 10);
  EXPECT_EQ(got.size(), 10u);
}

// Must-show 4, alerts: a 911 through node A while PostgreSQL is stopped. Its alerts cannot be
// written to the outbox; node A delivers them from memory at once, and once the database is
// back writes them (delivered) and the call's alert (claimed by node A) to the outbox, so
// nothing of the call is missing there. Nobody acknowledges: node A alerts tier 2 from the
// written alert. Each receiver gets each delivery id once.
TEST_F(TwoNodesAlerts, AlertsOfACallWhilePostgresqlIsDownAreDeliveredThenWrittenToTheOutbox) {
  ASSERT_TRUE(webhook_->start()) << webhook_->lastError();
  ASSERT_TRUE(smtp_->start()) << smtp_->lastError();
  desk_ = startSecurityDesk();
  const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
  auto stopped = runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(stopped.status, std::optional<int>(0)) << stopped.err;

  const RoutingLogLine routed = call911("1001", "10.1.2.45", "uas-psap-answer.xml", nullptr, true);
  const std::string cid = routed.get("call_id");
  ASSERT_FALSE(cid.empty()) << routed.raw;
  // Started, answered, ended: three alerts on each of HQ's three tier-1 channels, from memory.
  ASSERT_TRUE(waitFor([&] { return received().size() == 9; }, milliseconds(15000)))
      << webhook_->report() << smtp_->report() << desk_->report() << proxy_->output();
  EXPECT_GE(metric("sosproxy_alerts_not_queued_total"), 3);

  auto restarted = runCommand({script.string(), "start", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(restarted.status, std::optional<int>(0)) << restarted.err;
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_alerts_replayed_total") == 9; }, milliseconds(20000)))
      << metrics() << proxy_->output();
  const std::string ofCall = " FROM notification_jobs WHERE call_id = '" + cid + "'";
  EXPECT_EQ(sql("SELECT count(*), min(state), max(state)" + ofCall + " AND tier = 1"),
            "9|delivered|delivered");
  const std::string alertRow = sql(
      "SELECT claimed_by, acknowledged_at IS NULL FROM call_alerts WHERE call_id = '" + cid + "'");
  EXPECT_TRUE(std::regex_match(alertRow, std::regex(".+:" + std::to_string(ports_.proxy) + "\\|t")))
      << alertRow;

  // Tier 2 at the escalation time, written to the outbox and delivered once.
  ASSERT_TRUE(waitFor([&] { return sql("SELECT state" + ofCall + " AND tier = 2") == "delivered"; },
                      milliseconds(30000)))
      << proxy_->output();
  auto ids = runCommand({"psql", pgUrl_, "-Atc", "SELECT delivery_id" + ofCall + " ORDER BY id"},
                        dir_.path());
  std::map<std::string, int> got;
  ASSERT_TRUE(waitFor(
      [&] {
        got = received();
        return got.size() >= 10;
      },
      milliseconds(10000)));
  std::istringstream jobs(ids.out);
  int n = 0;
  for (std::string id; std::getline(jobs, id); ++n) EXPECT_EQ(got[id], 1) << "delivery " << id;
  EXPECT_EQ(n, 10);
  EXPECT_EQ(got.size(), 10u);
}

// Must-show 2: the PSAP calls back the ELIN node A showed for 1001's 911, through node B, and
// 1001's phone rings. Node A writes the mapping (a batch, 20 ms after the call) with a NOTIFY;
// node B reads the mappings and merges them into its SIP thread's callback map. How long after
// the 911's answer node B had it is printed (read every 20 ms).
class TwoNodesElinTrunk : public TwoNodes {
 protected:
  void SetUp() override {
    ports_.psapAMode = "elin";  // il-psap-a shows the caller's ELIN (both nodes' configurations)
    TwoNodes::SetUp();
  }

  // A 911 from 1001 in Room 301 through node A, its phone listening on `phonePort`; returns the
  // ELIN il-psap-a was shown.
  std::string emergencyFrom1001AtNodeA(uint16_t phonePort) {
    std::string emergencyCallId;
    {
      auto psap = startTrunk("uas-psap-expect-elin.xml", ports_.psapA, "il-psap-a");
      SippOptions o = call911Options("1001", "127.0.0.1", "caller-1001-at-a");
      o.sets = {{"caller", "1001"},
                {"contact_host", "127.0.0.1"},
                {"contact_port", std::to_string(phonePort)},
                {"pani", "IEEE-802.11; i-wlan-node-id=001122334455"}};
      Sipp uac(o, dir_.path());
      EXPECT_TRUE(uac.start());
      EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
      EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
      emergencyCallId = inviteCallId(uac, false);
    }
    return waitForLogLine({{"event", "route"}, {"call_id", emergencyCallId}}).get("elin");
  }

  // The PSAP calls `elin` back through node B: 1001's phone (on `phonePort`) must ring, and node
  // B's route line say so.
  void callBackThroughNodeB(const std::string& elin, uint16_t phonePort) {
    auto phone = startTrunk("uas-answer-expect-bye.xml", phonePort, "phone-1001");
    SippOptions back;
    back.scenario = "uac-call-caller-hangs-up.xml";
    back.name = "psap-callback-via-b";
    back.remote = "127.0.0.1:" + std::to_string(portsB_.proxy);
    back.service = elin;
    Sipp psap(back, dir_.path());
    ASSERT_TRUE(psap.start());
    EXPECT_EQ(psap.wait(), 0) << report({&psap, phone.get()}) << nodeB_->output();
    EXPECT_EQ(phone->wait(), 0) << report({&psap, phone.get()});
    EXPECT_EQ(countMessages(*phone, true, "INVITE "), 1) << report({phone.get()});
    RoutingLogLine atB = routeLine(routingLogB_, inviteCallId(psap, false));
    EXPECT_EQ(atB.get("trunk"), "callback") << atB.raw << "\n" << readFile(routingLogB_);
    EXPECT_NE(atB.get("reason").find("to 1001"), std::string::npos) << atB.raw;
  }
};

// Two callers at HQ Floor 2 (a pool of two ELINs), one through each node, while PostgreSQL is
// stopped: neither node hears of the other's mapping, yet the PSAP is shown two different ELINs,
// so each call can be called back. Each node hands out its own share of the pool first, agreed
// on while the database was up (the nodes alive, in the database's order of names).
TEST_F(TwoNodesElinTrunk, TwoCallersAtOnePlaceThroughTwoNodesAreShownDifferentElins) {
  const std::string shared = "of 2 nodes alive";
  ASSERT_TRUE(outputShows(shared)) << proxy_->output();
  ASSERT_TRUE(waitFor([&] { return nodeB_->output().find(shared) != std::string::npos; },
                      milliseconds(10000)))
      << nodeB_->output();
  // The second of the two nodes has no ELIN of its own in the demo's pools of one, and says so.
  const std::string noneOwn = "node 2 of 2 has no ELIN of its own at 3 location(s)";
  ASSERT_TRUE(waitFor(
      [&] {
        return (proxy_->output().find(noneOwn) != std::string::npos) !=
               (nodeB_->output().find(noneOwn) != std::string::npos);
      },
      milliseconds(10000)))
      << proxy_->output() << nodeB_->output();
  const std::string warned =
      proxy_->output().find(noneOwn) != std::string::npos ? proxy_->output() : nodeB_->output();
  for (const char* pool : {"hq-lobby (1)", "hq-floor-3 (1)", "hq-room-301 (1)"}) {
    EXPECT_NE(warned.find(pool), std::string::npos) << pool << "\n" << warned;
  }
  EXPECT_EQ(warned.find("hq-floor-2 ("), std::string::npos) << warned;
  const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
  auto stopped = runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(stopped.status, std::optional<int>(0)) << stopped.err;
  std::set<std::string> shown;
  for (const auto& [caller, host, atNodeA] :
       {std::tuple{"1001", "10.1.2.45", true}, std::tuple{"1002", "10.1.2.46", false}}) {
    std::string invite;
    auto line = call911(caller, host, "uas-psap-expect-elin.xml", &invite, atNodeA);
    EXPECT_EQ(line.get("location"), "HQ Floor 2") << line.raw;
    const std::string pai = headerValue(invite, "P-Asserted-Identity");
    EXPECT_NE(pai.find(line.get("elin")), std::string::npos) << pai << "\n" << line.raw;
    shown.insert(line.get("elin"));
  }
  EXPECT_EQ(shown, (std::set<std::string>{"+12175550102", "+12175550112"}))
      << proxy_->output() << nodeB_->output();
}

TEST_F(TwoNodesElinTrunk, APsapCallingTheElinBackThroughNodeBReachesTheCaller) {
  const uint16_t phonePort = pickFreePort();
  const std::string elin = emergencyFrom1001AtNodeA(phonePort);
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_EQ(elin, "+12175550131");
  ASSERT_TRUE(waitFor([&] { return metricB("sosproxy_store_elin_mapping_reads_total") >= 1; },
                      milliseconds(10000)))
      << nodeB_->output();
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - answered);
  std::printf(
      "node B read node A's ELIN mapping at most %lld ms after the 911 ended (read every "
      "20 ms)\n",
      static_cast<long long>(took.count()) + 20);
  callBackThroughNodeB(elin, phonePort);
}

// Must-show 2 and 4 together: the 911 through node A happens while PostgreSQL is stopped, so its
// ELIN mapping cannot be written; node A keeps it and writes it when the database is back, and
// the PSAP's callback through node B reaches 1001.
TEST_F(TwoNodesElinTrunk, AMappingMadeWhilePostgresqlIsDownReachesNodeBWhenItReturns) {
  const fs::path script = fs::path(SOS_SOURCE_DIR) / "scripts" / "pg-local.sh";
  auto stopped = runCommand({script.string(), "stop", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(stopped.status, std::optional<int>(0)) << stopped.err;
  const uint16_t phonePort = pickFreePort();
  ASSERT_EQ(emergencyFrom1001AtNodeA(phonePort), "+12175550131");
  // The call record and the mapping set.
  ASSERT_TRUE(
      waitFor([&] { return metric("sosproxy_store_writes_waiting") == 2; }, milliseconds(10000)))
      << metrics();
  auto restarted = runCommand({script.string(), "start", pgDir_.path().string()}, dir_.path());
  ASSERT_EQ(restarted.status, std::optional<int>(0)) << restarted.err;
  ASSERT_TRUE(waitFor([&] { return metric("sosproxy_store_writes_replayed_total") == 2; },
                      milliseconds(20000)))
      << metrics() << proxy_->output();
  ASSERT_TRUE(waitFor([&] { return metricB("sosproxy_store_elin_mapping_reads_total") >= 1; },
                      milliseconds(20000)))
      << nodeB_->output();
  callBackThroughNodeB("+12175550131", phonePort);
}

}  // namespace
}  // namespace sos::itest
