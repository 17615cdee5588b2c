#include "proxy/reload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace sos::proxy {
namespace {

namespace fs = std::filesystem;

std::string configText(int carrierPort, int listenPort = 5060,
                       const std::string& carrier = "carrier") {
  return "listen:\n  address: 127.0.0.1\n  port: " + std::to_string(listenPort) +
         "\ntrusted_networks: [127.0.0.1/32]\n"
         "carrier_trunk: " +
         carrier +
         "\n"
         "trunks:\n"
         "  - {name: carrier, host: 127.0.0.1, port: " +
         std::to_string(carrierPort) +
         "}\n"
         "  - {name: psap, host: 127.0.0.1, port: 5090, mode: pidf}\n"
         "sites:\n"
         "  - name: HQ\n"
         "    country: US\n"
         "    dial_strings: [\"911\"]\n"
         "    psap_route: [psap]\n";
}

class ReloaderTest : public ::testing::Test {
 protected:
  ReloaderTest() : path_(fs::temp_directory_path() / ("reload-" + std::to_string(getpid()))) {}
  ~ReloaderTest() override { fs::remove(path_); }

  void write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  // A reloader running the file as written now.
  std::unique_ptr<ConfigReloader> start(ConfigOverrides overrides = {}) {
    auto loaded = loadRunnable(path_.string(), overrides);
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
    if (!loaded.ok()) return nullptr;
    return std::make_unique<ConfigReloader>(
        path_.string(), overrides, loaded.value().config,
        ConfigReloader::Apply{
            [this](std::shared_ptr<const routing::Router> r) { routers_.push_back(std::move(r)); },
            [this](std::shared_ptr<const config::Config> c) {
              locations_.push_back(std::move(c));
            }});
  }

  fs::path path_;
  std::vector<std::shared_ptr<const routing::Router>> routers_;
  std::vector<std::shared_ptr<const config::Config>> locations_;
};

TEST_F(ReloaderTest, GoodFileHandsOverRouterAndLocationSettings) {
  write(configText(5080));
  auto reloader = start();
  ASSERT_TRUE(reloader);
  write(configText(5081));
  auto r = reloader->reload();
  EXPECT_TRUE(r.reloaded);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.trunks, 2u);
  EXPECT_EQ(r.sites, 1u);
  ASSERT_EQ(routers_.size(), 1u);
  EXPECT_EQ(routers_[0]->config().findTrunk("carrier")->port, 5081);
  ASSERT_EQ(locations_.size(), 1u);
  EXPECT_EQ(locations_[0].get(), &routers_[0]->config());
  EXPECT_EQ(reloader->counters().reloads.load(), 1u);
  EXPECT_EQ(reloader->counters().failures.load(), 0u);
}

TEST_F(ReloaderTest, BadFileChangesNothingAndListsEveryProblem) {
  write(configText(5080));
  auto reloader = start();
  ASSERT_TRUE(reloader);
  auto running = reloader->running();
  write("listen:\n  port: 99999\n" +
        configText(5081, 5060, "nowhere").substr(configText(5081).find("trusted_networks")));
  auto r = reloader->reload();
  EXPECT_FALSE(r.reloaded);
  ASSERT_GE(r.errors.size(), 2u);
  for (const auto& e : r.errors) EXPECT_EQ(e.rfind(path_.string() + ":", 0), 0u) << e;
  EXPECT_TRUE(routers_.empty());
  EXPECT_TRUE(locations_.empty());
  EXPECT_EQ(reloader->running(), running);
  EXPECT_EQ(reloader->counters().failures.load(), 1u);
  EXPECT_EQ(reloader->counters().reloads.load(), 0u);
}

TEST_F(ReloaderTest, UnreadableFileIsRefused) {
  write(configText(5080));
  auto reloader = start();
  ASSERT_TRUE(reloader);
  fs::remove(path_);
  auto r = reloader->reload();
  EXPECT_FALSE(r.reloaded);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find(path_.string()), std::string::npos) << r.errors[0];
}

TEST_F(ReloaderTest, RestartOnlySettingsKeepTheirRunningValues) {
  write(configText(5080, 5060));
  auto reloader = start();
  ASSERT_TRUE(reloader);
  write(configText(5080, 5070));
  auto r = reloader->reload();
  ASSERT_TRUE(r.reloaded);
  EXPECT_EQ(r.restartNeeded, std::vector<std::string>{"listen.port"});
  EXPECT_EQ(reloader->running()->listen.port, 5060);
  EXPECT_EQ(routers_.back()->config().listen.port, 5060);
}

TEST_F(ReloaderTest, CommandLineOverridesApplyAgain) {
  write(configText(5080));
  ConfigOverrides o;
  o.routingLog = "/dev/null";
  o.logFormat = "json";
  auto reloader = start(o);
  ASSERT_TRUE(reloader);
  auto r = reloader->reload();
  ASSERT_TRUE(r.reloaded);
  EXPECT_TRUE(r.restartNeeded.empty());  // the overrides are not mistaken for file changes
  EXPECT_EQ(reloader->running()->logging.routingLog, "/dev/null");
  EXPECT_EQ(reloader->running()->logging.format, config::LogFormat::Json);
}

TEST(RestartOnly, NamesEachChangedSetting) {
  config::Config a, b;
  EXPECT_TRUE(restartOnlyChanges(a, b).empty());
  b.listen.address = "::1";
  b.listen.transports = {config::Transport::Udp};
  b.admin.port = 9;
  b.store.path = "/elsewhere.db";
  b.logging.routingLog = "routing.log";
  b.logging.format = config::LogFormat::Json;
  b.limits.udpInviteGate = false;
  b.logging.level = "debug";  // applied at once: not listed
  b.listen.hostName = "sos.example";
  b.listen.tls = config::SipTls{};
  b.listen.tls->certificate = "/etc/sosproxy/sip.crt";
  EXPECT_EQ(restartOnlyChanges(a, b),
            (std::vector<std::string>{"listen.address", "listen.transports", "listen.tls",
                                      "store.path", "admin.port", "limits.udp_invite_gate",
                                      "logging.format", "logging.routing_log"}));
  keepRestartOnly(a, b);
  EXPECT_TRUE(restartOnlyChanges(a, b).empty());
  EXPECT_EQ(b.logging.level, "debug");
  EXPECT_EQ(b.listen.hostName, "sos.example");
  // Another file name for the same certificate: a restart (SIGHUP reads the running names).
  a.listen.tls = config::SipTls{};
  b.listen.tls = a.listen.tls;
  b.listen.tls->key = "/etc/sosproxy/other.key";
  EXPECT_EQ(restartOnlyChanges(a, b), (std::vector<std::string>{"listen.tls"}));
}

TEST(ReloadJson, AnswerCarriesTheOutcome) {
  ReloadResult ok;
  ok.reloaded = true;
  ok.trunks = 5;
  ok.sites = 2;
  ok.restartNeeded = {"admin.port"};
  auto j = nlohmann::json::parse(toJson(ok));
  EXPECT_EQ(j["reloaded"], true);
  EXPECT_EQ(j["trunks"], 5);
  EXPECT_EQ(j["restart_needed"][0], "admin.port");

  ReloadResult bad;
  bad.errors = {"f.yaml:3:5: carrier_trunk: no trunk is named \"x\""};
  j = nlohmann::json::parse(toJson(bad));
  EXPECT_EQ(j["reloaded"], false);
  EXPECT_EQ(j["errors"][0], bad.errors[0]);
}

}  // namespace
}  // namespace sos::proxy
