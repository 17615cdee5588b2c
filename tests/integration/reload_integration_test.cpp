// Hot reload: SIGHUP and POST /api/v1/admin/reload read the configuration file again. A good
// file takes effect for the next call; a bad one is refused with its problems logged as
// FILE:LINE:COLUMN, and the running configuration keeps routing; a call in progress survives.
// Each test rewrites the file the running sosproxy was started with.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

constexpr const char* kOrdinaryDialed = "5551234";

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The 1-based line of `text` that holds `needle` (0 when none does).
int lineOf(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(countOf(text.substr(0, at), "\n"));
}

// "N trunks, M sites" of a configuration written by demoConfigYaml (block lists, "  - name:").
std::string trunksAndSites(const std::string& yaml) {
  std::istringstream in(yaml);
  std::string section;
  int trunks = 0, sites = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') section = line.substr(0, line.find(':'));
    if (line.rfind("  - name: ", 0) != 0) continue;
    trunks += section == "trunks";
    sites += section == "sites";
  }
  return std::to_string(trunks) + " trunks, " + std::to_string(sites) + " sites";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' is not in\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class Reload : public B2buaTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startProxy());
    // Made now, while the configuration file is the one the proxy started with.
    ASSERT_FALSE(adminToken().empty());
  }

  std::string operationalLog() const { return readFile(dir_.path() / "sosproxy.stderr"); }

  // The configuration file as the fixture writes it, with the current ports_.
  std::string configText() const { return demoConfigYaml(ports_, routingLogPath_, storePath()); }

  // Sends SIGHUP and waits for the outcome's log line (one more than before): "configuration
  // reloaded" or "configuration not reloaded".
  bool sighupAndWait(const std::string& outcome) {
    const size_t before = countOf(operationalLog(), outcome);
    if (::kill(proxy_->process()->pid(), SIGHUP) != 0) return false;
    return waitFor([&] { return countOf(operationalLog(), outcome) > before; },
                   milliseconds(20000));
  }

  // An ordinary call from a SIPp caller to a SIPp carrier trunk on `carrierPort`; both must end
  // with exit 0. Returns the INVITE the carrier received.
  std::string ordinaryCall(uint16_t carrierPort, const std::string& name) {
    auto carrier = startTrunk("uas-answer-expect-bye.xml", carrierPort, "carrier-" + name, "u1",
                              {{"expect_user", kOrdinaryDialed}});
    auto caller = startCaller("uac-call-caller-hangs-up.xml", "caller-" + name, kOrdinaryDialed);
    const int uacRc = caller->wait();
    const int uasRc = carrier->wait();
    EXPECT_EQ(uacRc, 0) << report({caller.get(), carrier.get()});
    EXPECT_EQ(uasRc, 0) << report({caller.get(), carrier.get()});
    return findMessage(*carrier, true, "INVITE ");
  }

  // A broken file is refused on SIGHUP: its problem is logged at `line` of the file, the
  // running configuration keeps routing ordinary calls to the carrier it had, and the failure
  // is counted.
  void expectRefusedOnSighup(const std::string& broken, int line, const std::string& what) {
    writeFile(configPath_, broken);
    ASSERT_TRUE(sighupAndWait("configuration not reloaded")) << report({});
    const std::string log = operationalLog();
    const std::string where = configPath_.string() + ":" + std::to_string(line) + ":";
    EXPECT_NE(log.find(where), std::string::npos) << "no problem reported at " << where << "\n"
                                                  << log;
    EXPECT_NE(log.find(what), std::string::npos) << log;
    EXPECT_NE(log.find("[error] configuration not reloaded from " + configPath_.string()),
              std::string::npos)
        << log;

    const std::string invite = ordinaryCall(ports_.carrier, "after-refused-reload");
    EXPECT_EQ(invite.rfind("INVITE sip:" + std::string(kOrdinaryDialed) +
                               "@127.0.0.1:" + std::to_string(ports_.carrier),
                           0),
              0u)
        << invite;
    EXPECT_EQ(metric("sosproxy_config_reload_failures_total"), 1) << metrics();
    EXPECT_EQ(metric("sosproxy_config_reloads_total"), 0) << metrics();
  }
};

// The carrier trunk moves to another port: after SIGHUP the next ordinary call reaches it there.
TEST_F(Reload, ValidChangeBySighupTakesEffect) {
  const uint16_t before = ports_.carrier;
  ports_.carrier = pickFreePort();
  ASSERT_NE(before, ports_.carrier);
  writeFile(configPath_, configText());
  ASSERT_TRUE(sighupAndWait("configuration reloaded")) << report({});
  EXPECT_NE(operationalLog().find("configuration reloaded from " + configPath_.string() + ": " +
                                  trunksAndSites(configText())),
            std::string::npos)
      << operationalLog();

  const std::string invite = ordinaryCall(ports_.carrier, "after-reload");
  EXPECT_EQ(invite.rfind("INVITE sip:" + std::string(kOrdinaryDialed) +
                             "@127.0.0.1:" + std::to_string(ports_.carrier),
                         0),
            0u)
      << invite;
  const auto route = waitForLogLine({{"event", "route"}, {"trunk", "carrier"}});
  EXPECT_FALSE(route.raw.empty()) << routingLogText();
  EXPECT_EQ(metric("sosproxy_config_reloads_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_config_reload_failures_total"), 0) << metrics();
}

// A YAML syntax error (an unclosed flow sequence) in a file that also moves the carrier: nothing
// of it is applied.
TEST_F(Reload, YamlErrorIsRefusedAndTheRunningConfigurationKeepsRouting) {
  DemoPorts moved = ports_;
  moved.carrier = pickFreePort();
  const std::string good = demoConfigYaml(moved, routingLogPath_, storePath());
  const std::string broken =
      replaced(good, "carrier_trunk: carrier\n", "carrier_trunk: [carrier\n");
  // yaml-cpp reports where it gave up on the sequence, which is after the line with the '['.
  const int from = lineOf(broken, "carrier_trunk: [carrier");
  ASSERT_GT(from, 0);
  writeFile(configPath_, broken);
  ASSERT_TRUE(sighupAndWait("configuration not reloaded")) << report({});
  const std::string log = operationalLog();
  EXPECT_NE(log.find("[error] configuration not reloaded from " + configPath_.string()),
            std::string::npos)
      << log;
  // FILE:LINE:COLUMN: ... syntax error, at or after the line with the '['.
  std::smatch m;
  const std::string text = log;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(":([0-9]+):([0-9]+): [^\n]*syntax error")))
      << log;
  EXPECT_GE(std::stoi(m[1].str()), from) << log;
  EXPECT_NE(log.find(configPath_.string() + ":" + m[1].str() + ":" + m[2].str() + ": "),
            std::string::npos)
      << log;

  const std::string invite = ordinaryCall(ports_.carrier, "after-yaml-error");
  EXPECT_EQ(invite.rfind("INVITE sip:" + std::string(kOrdinaryDialed) +
                             "@127.0.0.1:" + std::to_string(ports_.carrier),
                         0),
            0u)
      << invite;
  EXPECT_EQ(metric("sosproxy_config_reload_failures_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_config_reloads_total"), 0) << metrics();
}

// A route naming a trunk that does not exist, in a file that also moves the carrier.
TEST_F(Reload, UnknownTrunkNameIsRefusedAndTheRunningConfigurationKeepsRouting) {
  DemoPorts moved = ports_;
  moved.carrier = pickFreePort();
  const std::string broken = replaced(demoConfigYaml(moved, routingLogPath_, storePath()),
                                      "psap_route: [uk-999, erc]", "psap_route: [uk-999, erx]");
  const int line = lineOf(broken, "psap_route: [uk-999, erx]");
  ASSERT_GT(line, 0);
  expectRefusedOnSighup(broken, line, "erx");
}

// The admin endpoint: 200 with the figures for a good file (a restart-only change named), 422
// with every problem for a bad one, 405 for anything but POST.
TEST_F(Reload, AdminEndpointAnswers200ForAGoodFileAnd422ForABadOne) {
  DemoPorts changed = ports_;
  changed.carrier = pickFreePort();
  changed.admin = pickFreePort();  // needs a restart: the server stays where it is
  writeFile(configPath_, demoConfigYaml(changed, routingLogPath_, storePath()));
  auto ok = api("POST", "/api/v1/admin/reload");
  EXPECT_EQ(ok.status, 200) << ok.body << "\n" << operationalLog();
  EXPECT_NE(ok.body.find("\"reloaded\":true"), std::string::npos) << ok.body;
  const std::string figures = trunksAndSites(demoConfigYaml(changed, routingLogPath_, storePath()));
  EXPECT_NE(ok.body.find("\"trunks\":" + figures.substr(0, figures.find(' '))), std::string::npos)
      << ok.body << "\n(" << figures << ")";
  EXPECT_NE(ok.body.find("\"restart_needed\":[\"admin.port\"]"), std::string::npos) << ok.body;
  // The operational log is written by its own thread: wait for the line, do not race it.
  EXPECT_TRUE(waitFor(
      [&] {
        return operationalLog().find("admin.port changed: takes effect after a restart") !=
               std::string::npos;
      },
      milliseconds(10000)))
      << operationalLog();

  const std::string broken =
      replaced(replaced(demoConfigYaml(changed, routingLogPath_, storePath()),
                        "psap_route: [uk-999, erc]", "psap_route: [uk-999, erx]"),
               "carrier_trunk: carrier", "carrier_trunk: carier");
  writeFile(configPath_, broken);
  auto refused = api("POST", "/api/v1/admin/reload");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("\"reloaded\":false"), std::string::npos) << refused.body;
  for (const char* bad : {"carrier_trunk: carier", "psap_route: [uk-999, erx]"}) {
    const std::string where =
        configPath_.string() + ":" + std::to_string(lineOf(broken, bad)) + ":";
    EXPECT_NE(refused.body.find(where), std::string::npos) << "no error at " << where << "\n"
                                                           << refused.body;
  }

  EXPECT_EQ(api("GET", "/api/v1/admin/reload").status, 405);
  EXPECT_EQ(metric("sosproxy_config_reloads_total"), 1) << metrics();
  EXPECT_EQ(metric("sosproxy_config_reload_failures_total"), 1) << metrics();

  // The good file's carrier is the one in force.
  ordinaryCall(changed.carrier, "after-endpoint-reload");
}

// A call answered before the reload and hung up after it: the BYE goes through both legs, to the
// trunk the call started on, although the reloaded file moved the carrier elsewhere.
TEST_F(Reload, CallInProgressSurvivesAReload) {
  auto carrier = startTrunk("uas-answer-expect-bye.xml", ports_.carrier, "carrier-held", "u1",
                            {{"expect_user", kOrdinaryDialed}});
  SippOptions o;
  o.scenario = "uac-call-hold-caller-hangs-up.xml";
  o.name = "caller-held";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = kOrdinaryDialed;
  // Held 5 s: far longer than a reload takes; checked below rather than assumed.
  o.extraArgs = {"-d", "5000"};
  Sipp caller(o, dir_.path());
  ASSERT_TRUE(caller.start());

  const auto answered = waitForLogLine({{"event", "final"}, {"outcome", "answered"}});
  ASSERT_FALSE(answered.raw.empty()) << report({&caller, carrier.get()});

  ports_.carrier = pickFreePort();
  writeFile(configPath_, configText());
  ASSERT_TRUE(sighupAndWait("configuration reloaded")) << report({&caller, carrier.get()});
  // The reload is done and the call is still up (not a call that had already ended).
  EXPECT_EQ(metric("sosproxy_active_calls"), 1) << "the call ended before the reload finished\n"
                                                << report({&caller, carrier.get()});

  const int uacRc = caller.wait();
  const int uasRc = carrier->wait();
  EXPECT_EQ(uacRc, 0) << report({&caller, carrier.get()});
  EXPECT_EQ(uasRc, 0) << report({&caller, carrier.get()});
  EXPECT_GE(countMessages(*carrier, true, "BYE "), 1) << report({carrier.get()});
  bool byeAnswered = false;
  for (const auto& m : traceMessages(caller.messages(), true))
    byeAnswered =
        byeAnswered || (m.rfind("SIP/2.0 200", 0) == 0 && headerValue(m, "CSeq") == "2 BYE");
  EXPECT_TRUE(byeAnswered) << report({&caller});
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_active_calls") == 0; }, milliseconds(10000)))
      << metrics();
}

}  // namespace
}  // namespace sos::itest
