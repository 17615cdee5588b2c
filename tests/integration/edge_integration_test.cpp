// What sosproxy answers by itself: untrusted sources, loops (Max-Forwards), OPTIONS pings, and
// the check-config command.

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "b2bua_fixture.h"

#ifndef SOS_SOURCE_DIR
#error "SOS_SOURCE_DIR must be defined by the build"
#endif

namespace sos::itest {
namespace {

class EdgeTest : public B2buaTest {
 protected:
  // A call from 127.0.0.2, outside trusted_networks (127.0.0.1/32 in the test configuration):
  // the caller must get 403, the trunk nothing, and the routing log must say so.
  RoutingLogLine expectRefusedFromUntrusted(const std::string& dialed, const std::string& uas,
                                            uint16_t trunkPort, const std::string& trunkName) {
    startProxy();
    auto trunk = startTrunk(uas, trunkPort, trunkName, "u1", {}, 120);
    auto caller = startCaller("uac-call-expect-403.xml", "caller", dialed, "u1", "127.0.0.2");
    EXPECT_EQ(caller->wait(), 0) << report({caller.get()});
    const std::string cid = inviteCallId(*caller, false);
    const auto line = waitForLogLine({{"event", "route"}, {"call_id", cid}});
    EXPECT_FALSE(line.raw.empty()) << "no route line for " << cid << "\n" << routingLogText();
    EXPECT_EQ(line.get("outcome"), "rejected") << line.raw;
    EXPECT_EQ(line.get("status"), "403") << line.raw;
    EXPECT_EQ(line.get("source").rfind("127.0.0.2:", 0), 0u) << line.raw;
    trunk->process()->stop();
    EXPECT_EQ(countMessages(*trunk, true, "INVITE "), 0)
        << "an untrusted call reached " << trunkName << "\n"
        << report({trunk.get()});
    return line;
  }
};

TEST_F(EdgeTest, OrdinaryCallFromUntrustedSourceGets403) {
  auto line =
      expectRefusedFromUntrusted("5551234", "uas-answer-expect-bye.xml", ports_.carrier, "carrier");
  EXPECT_EQ(line.get("emergency"), "no") << line.raw;
  EXPECT_FALSE(line.has("alarm")) << line.raw;
}

// sosproxy is never an open relay, not even for 911; but an emergency call refused that way is
// an alarm an operator must see (routing log and error log).
TEST_F(EdgeTest, EmergencyCallFromUntrustedSourceGets403AndAnAlarm) {
  auto line = expectRefusedFromUntrusted("911", "uas-psap-answer.xml", ports_.psapA, "il-psap-a");
  EXPECT_EQ(line.get("emergency"), "yes") << line.raw;
  EXPECT_EQ(line.get("alarm"), "yes") << line.raw;
  EXPECT_TRUE(waitFor([&] { return proxy_->output().find("ALARM") != std::string::npos; },
                      milliseconds(5000)))
      << proxy_->output();
}

TEST_F(EdgeTest, InviteWithMaxForwardsZeroGets483) {
  startProxy();
  auto carrier = startTrunk("uas-answer-expect-bye.xml", ports_.carrier, "carrier", "u1", {}, 120);
  auto caller = startCaller("uac-invite-mf0-expect-483.xml", "caller", "5551234");
  EXPECT_EQ(caller->wait(), 0) << report({caller.get()});
  EXPECT_EQ(countMessages(*caller, true, "SIP/2.0 483"), 1) << report({caller.get()});
  carrier->process()->stop();
  EXPECT_EQ(countMessages(*carrier, true, "INVITE "), 0)
      << "a Max-Forwards 0 INVITE went on to the carrier\n"
      << report({carrier.get()});
}

TEST_F(EdgeTest, OptionsToProxyGets200) {
  startProxy();
  auto caller = startCaller("uac-options-expect-200.xml", "monitor", "");
  EXPECT_EQ(caller->wait(), 0) << report({caller.get()});
  EXPECT_EQ(countMessages(*caller, true, "SIP/2.0 200"), 1) << report({caller.get()});
}

TEST_F(EdgeTest, OptionsToProxyGets200OverTcp) {
  startProxy();
  auto caller = startCaller("uac-options-expect-200.xml", "monitor", "", "t1");
  EXPECT_EQ(caller->wait(), 0) << report({caller.get()});
}

struct CheckConfigRun {
  int rc = -1;
  std::string out;
  std::string err;
};

CheckConfigRun checkConfig(const std::filesystem::path& dir, const std::filesystem::path& file) {
  Process p({sosproxyBinary(), "check-config", file.string()}, dir / "check.stdout",
            dir / "check.stderr");
  CheckConfigRun r;
  r.rc = p.wait(milliseconds(20000)).value_or(-1);
  r.out = readFile(dir / "check.stdout");
  r.err = readFile(dir / "check.stderr");
  return r;
}

TEST(CheckConfig, DemoConfigIsValid) {
  TempDir dir("sosproxy-check");
  const std::filesystem::path demo =
      std::filesystem::path(SOS_SOURCE_DIR) / "config" / "examples" / "demo.yaml";
  const auto r = checkConfig(dir.path(), demo);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("demo.yaml: OK"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;  // the demo has a last resort
}

// Issue 14: a site whose emergency route can run out of trunks is pointed out (valid, exit 0).
TEST(CheckConfig, ASiteWithoutALastResortIsWarnedAbout) {
  TempDir dir("sosproxy-check");
  DemoPorts ports = pickDemoPorts();
  const auto file = dir.path() / "no-last-resort.yaml";
  std::string yaml = demoConfigYaml(ports, dir.path() / "routing.log");
  const std::string line = "  last_resort: carrier\n";
  if (auto at = yaml.find(line); at != std::string::npos) yaml.erase(at, line.size());
  writeFile(file, yaml);
  const auto r = checkConfig(dir.path(), file);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(": warning: site HQ has no last resort"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": warning: site London has no last resort"), std::string::npos) << r.out;
}

// Issue 16: the location seed a start would read is checked too, with its own file:line:column.
TEST(CheckConfig, ABadLocationSeedIsReportedAtItsPlace) {
  TempDir dir("sosproxy-check");
  const std::filesystem::path source =
      std::filesystem::path(SOS_SOURCE_DIR) / "config" / "examples" / "demo-locations.yaml";
  std::string seed = readFile(source);
  const std::string from = "    site: London\n";
  const auto at = seed.find(from);
  ASSERT_NE(at, std::string::npos);
  seed.replace(at, from.size(), "    site: Lodnon\n");
  const int line = 1 + static_cast<int>(std::count(seed.begin(), seed.begin() + at, '\n'));
  const auto seedFile = dir.path() / "locations.yaml";
  writeFile(seedFile, seed);
  DemoPorts ports = pickDemoPorts();
  const auto config = dir.path() / "sosproxy.yaml";
  writeFile(config,
            demoConfigYaml(ports, dir.path() / "routing.log", dir.path() / "s.db", seedFile));

  const auto r = checkConfig(dir.path(), config);
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(seedFile.string() + ":" + std::to_string(line) +
                       ":11: locations[4].site: no site is named \"Lodnon\" under sites; did you "
                       "mean \"London\"?"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "s.db")) << "check-config wrote a database";

  writeFile(seedFile, readFile(source));
  const auto ok = checkConfig(dir.path(), config);
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("; location seed " + seedFile.string() + " OK)"), std::string::npos)
      << ok.out;
}

TEST(CheckConfig, BadPortIsReportedWithFileLineColumn) {
  TempDir dir("sosproxy-check");
  DemoPorts ports = pickDemoPorts();
  std::string yaml = demoConfigYaml(ports, dir.path() / "routing.log");
  // Break the listen port and remember on which line it is.
  const std::string portLine = "  port: " + std::to_string(ports.proxy) + "\n";
  const auto at = yaml.find(portLine);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, portLine.size(), "  port: not-a-port\n");
  const int line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + at, '\n'));
  const auto bad = dir.path() / "bad.yaml";
  writeFile(bad, yaml);

  const auto r = checkConfig(dir.path(), bad);
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  const std::regex want(".*bad\\.yaml:" + std::to_string(line) + ":[0-9]+: [^:]*port[^:]*: .+");
  bool found = false;
  std::istringstream lines(r.err);
  for (std::string l; std::getline(lines, l);) found = found || std::regex_match(l, want);
  EXPECT_TRUE(found) << "expected FILE:" << line << ":COL: ...port...: message on stderr, got:\n"
                     << r.err;
}

TEST(CheckConfig, StartWithBadConfigExits2) {
  TempDir dir("sosproxy-check");
  const auto bad = dir.path() / "bad.yaml";
  writeFile(bad, "listen:\n  port: [not, a, port]\n");
  Process p({sosproxyBinary(), "--config", bad.string()}, dir.path() / "out", dir.path() / "err");
  EXPECT_EQ(p.wait(milliseconds(20000)).value_or(-1), 2) << readFile(dir.path() / "err");
}

}  // namespace
}  // namespace sos::itest
