// Configuration variants (config_edit.h): the demo file with a few values changed, as the load
// scripts, the bench and the integration tests derive theirs, reads as that file with exactly
// those changes.

#include "config/config_edit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/text.h"
#include "config/config.h"

namespace sos::config {
namespace {

const std::string kDemo = std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml";

std::string demoText() {
  auto text = readWholeFile(kDemo);
  EXPECT_TRUE(text.ok()) << text.error().message;
  return text.ok() ? text.value() : "";
}

// The demo with `changes`, loaded as sosproxy would load it.
Config edited(const std::vector<ConfigChange>& changes) {
  auto text = editConfig(demoText(), kDemo, changes);
  EXPECT_TRUE(text.ok()) << text.error().message;
  if (!text.ok()) return {};
  auto config = parseConfig(text.value(), "edited.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message << "\n" << text.value();
  return config.ok() ? config.value() : Config{};
}

std::string editError(const std::string& yaml, const std::vector<ConfigChange>& changes) {
  auto r = editConfig(yaml, "t.yaml", changes);
  EXPECT_FALSE(r.ok()) << r.value();
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, "config.edit");
  return r.error().message;
}

TEST(ConfigEdit, NoChangesReadsAsTheFileItself) {
  auto original = loadConfig(kDemo);
  ASSERT_TRUE(original.ok()) << original.error().message;
  Config c = edited({});
  const Config& o = original.value();
  ASSERT_EQ(c.trunks.size(), o.trunks.size());
  for (size_t i = 0; i < c.trunks.size(); ++i) {
    EXPECT_EQ(c.trunks[i].name, o.trunks[i].name);
    EXPECT_EQ(c.trunks[i].port, o.trunks[i].port);
    EXPECT_EQ(c.trunks[i].mode, o.trunks[i].mode);
    EXPECT_EQ(c.trunks[i].ringTimeoutMs, o.trunks[i].ringTimeoutMs);
  }
  ASSERT_EQ(c.sites.size(), o.sites.size());
  EXPECT_EQ(c.sites[0].dialStrings, o.sites[0].dialStrings);
  EXPECT_EQ(c.sites[0].outsideLinePrefix, o.sites[0].outsideLinePrefix);
  EXPECT_EQ(c.sites[0].responders.size(), o.sites[0].responders.size());
  EXPECT_EQ(c.emergencyRouting.boundaries.size(), o.emergencyRouting.boundaries.size());
  EXPECT_EQ(c.location.precedence, o.location.precedence);
  // Relative store paths are anchored to the demo's directory, as loadConfig anchors them.
  EXPECT_EQ(c.store.path, o.store.path);
  EXPECT_EQ(c.store.seed, o.store.seed);
  EXPECT_TRUE(std::filesystem::path(c.store.seed).is_absolute()) << c.store.seed;
}

TEST(ConfigEdit, ChangesKeysListItemsByNameAndByPosition) {
  Config c = edited({{"listen.port", "7070"},
                     {"trunks[il-psap-a].port", "17090"},
                     {"trunks[il-psap-a].mode", "elin"},
                     {"trunks[0].transport", "tcp"},
                     {"trusted_networks", "[127.0.0.1/32]"},
                     {"sites[HQ].security_desk", "\"sip:desk@127.0.0.1:17094\""},
                     {"sites[London].responders", "[]"},
                     {"emergency_routing.boundaries", "[]"}});
  EXPECT_EQ(c.listen.port, 7070);
  ASSERT_NE(c.findTrunk("il-psap-a"), nullptr);
  EXPECT_EQ(c.findTrunk("il-psap-a")->port, 17090);
  EXPECT_EQ(c.findTrunk("il-psap-a")->mode, TrunkMode::Elin);
  auto original = loadConfig(kDemo);
  ASSERT_TRUE(original.ok()) << original.error().message;
  EXPECT_EQ(c.findTrunk("il-psap-b")->port, original.value().findTrunk("il-psap-b")->port);
  EXPECT_EQ(c.trunks[0].name, "carrier");
  EXPECT_EQ(c.trunks[0].transport, Transport::Tcp);
  EXPECT_EQ(c.trustedNetworks, std::vector<std::string>{"127.0.0.1/32"});
  EXPECT_EQ(c.findSite("HQ")->securityDesk, "sip:desk@127.0.0.1:17094");
  EXPECT_TRUE(c.findSite("London")->responders.empty());
  EXPECT_EQ(c.findSite("HQ")->responders.size(), 4u);
  EXPECT_TRUE(c.emergencyRouting.boundaries.empty());
  EXPECT_EQ(c.emergencyRouting.civicRules.size(), 2u);
}

TEST(ConfigEdit, StarChangesEveryItem) {
  Config c = edited({{"trunks[*].transport", "tcp"}, {"sites[*].responders", "[]"}});
  ASSERT_EQ(c.trunks.size(), 6u);
  for (const Trunk& t : c.trunks) EXPECT_EQ(t.transport, Transport::Tcp) << t.name;
  for (const Site& site : c.sites) EXPECT_TRUE(site.responders.empty()) << site.name;
}

TEST(ConfigEdit, MissingKeysAreCreated) {
  auto text = editConfig("carrier_trunk: carrier\n", "t.yaml",
                         {{"location.callback_window_s", "60"}, {"admin.port", "18080"}});
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_NE(text.value().find("location:\n  callback_window_s: 60\n"), std::string::npos)
      << text.value();
  EXPECT_NE(text.value().find("admin:\n  port: 18080\n"), std::string::npos) << text.value();
}

// An empty path stands for the file: whole sections are replaced or added.
TEST(ConfigEdit, EmptyPathReplacesWholeSections) {
  Config c = edited(
      {{"", "limits:\n  ordinary_calls_per_second: 1\n  ordinary_burst: 1\n"}, {"", "store: {}"}});
  EXPECT_EQ(c.limits.ordinaryCallsPerSecond, 1);
  EXPECT_EQ(c.limits.ordinaryBurst, 1);
  EXPECT_EQ(c.limits.overloadLagMs, Limits{}.overloadLagMs);  // the demo's limits are gone
  EXPECT_EQ(c.store.path, "");
  EXPECT_EQ(c.store.seed, "");
}

// What is not changed keeps its layout: block lists stay block lists, flow lists flow lists.
TEST(ConfigEdit, LayoutOfTheRestIsKept) {
  auto text = editConfig(demoText(), kDemo, {{"listen.port", "7070"}});
  ASSERT_TRUE(text.ok()) << text.error().message;
  const std::string& t = text.value();
  EXPECT_EQ(t.rfind("# ", 0), 0u) << t;  // says where it came from
  EXPECT_NE(t.find("\nlisten:\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\n  port: 7070\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\ntrunks:\n  - name: carrier\n"), std::string::npos) << t;
  EXPECT_NE(t.find("psap_route: [uk-999, erc]"), std::string::npos) << t;
}

TEST(ConfigEdit, ChangeFromTheCommandLine) {
  auto c = parseConfigChange("trunks[erc].port=15092");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value().path, "trunks[erc].port");
  EXPECT_EQ(c.value().value, "15092");
  auto url = parseConfigChange("sites[HQ].responders[0].webhook=http://127.0.0.1:1/a?b=c");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url.value().value, "http://127.0.0.1:1/a?b=c");  // the first '=' splits
  EXPECT_FALSE(parseConfigChange("listen.port").ok());
}

TEST(ConfigEdit, PathsThatLeadNowhereAreErrors) {
  const std::string yaml = "trunks:\n  - {name: a, port: 1}\nlisten: {port: 5060}\n";
  EXPECT_EQ(editError(yaml, {{"trunks[b].port", "2"}}), "trunks[b]: no item is named b");
  EXPECT_EQ(editError(yaml, {{"trunks[3].port", "2"}}), "trunks[3]: the list has 1 items");
  EXPECT_EQ(editError(yaml, {{"listen[0]", "2"}}), "listen[0]: the value above is no list");
  EXPECT_EQ(editError(yaml, {{"listen.port.x", "2"}}),
            "listen.port.x: the value above is no mapping");
  EXPECT_EQ(editError(yaml, {{"sites[HQ].name", "x"}}), "sites: no such list");
  EXPECT_EQ(editError(yaml, {{"listen..port", "2"}}), "listen..port: an empty key");
  EXPECT_EQ(editError(yaml, {{"trunks[]", "2"}}),
            "trunks[]: '[' needs an index or a name, then ']'");
  EXPECT_NE(editError(yaml, {{"listen.port", "[unclosed"}}).find("the value is not YAML"),
            std::string::npos);
  EXPECT_NE(editError("a: [unclosed\n", {}).find("t.yaml: not YAML"), std::string::npos);
}

}  // namespace
}  // namespace sos::config
