// `sosproxy lint`'s checks (store/lint.h), one table row per problem: a small configuration and
// seed with exactly that problem, the one finding expected and its line.

#include "store/lint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sos::store {
namespace {

// Lints clean: every PSAP trunk probed, the site has responders and an ERC, two ELINs.
const std::string kTrunks = R"(carrier_trunk: carrier
trunks:
  - {name: carrier, host: 127.0.0.1}
  - {name: psap, host: 127.0.0.1, options_interval_s: 30}
  - {name: erc, host: 127.0.0.1, options_interval_s: 30}
)";
const std::string kSite = R"(sites:
  - name: HQ
    country: US
    dial_strings: ["911"]
    psap_route: [psap]
    responders: [{email: "security@hq.example"}]
)";
const std::string kErc = "emergency_routing: {erc: erc}\n";

const std::string kSeedSites = R"(sites:
  - {name: HQ, country: US}
locations:
)";
const std::string kFloor1 = R"(  - key: f1
    name: Floor 1
    site: HQ
    civic: {country: US, A3: Springfield, HNO: "100", RD: Main, FLR: "1"}
    elins: ["+12175550101", "+12175550102"]
    subnets: [10.1.1.0/24, "2001:db8:1::/48"]
    bssids: ["00:11:22:33:44:55"]
)";
// Another floor of the same building, with nothing in common with f1.
const std::string kFloor2 = R"(  - key: f2
    name: Floor 2
    site: HQ
    civic: {country: US, A3: Springfield, HNO: "100", RD: Main, FLR: "2"}
)";

struct Row {
  const char* what;
  std::string config;
  std::string seed;
  const char* file;  // "t.yaml" or "seed.yaml"
  int line;
  const char* words;  // in the finding
};

std::vector<LintFinding> run(const std::string& configText, const std::string& seedText) {
  auto config = config::parseConfig(configText, "t.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  if (!config.ok()) return {};
  auto findings = lintText(config.value(), seedText, "seed.yaml");
  EXPECT_TRUE(findings.ok()) << findings.error().message;
  return findings.ok() ? findings.value() : std::vector<LintFinding>{};
}

TEST(Lint, CleanInputHasNoFindings) {
  for (const auto& f : run(kTrunks + kSite + kErc, kSeedSites + kFloor1 + kFloor2)) {
    ADD_FAILURE() << toString(f);
  }
}

TEST(Lint, WithoutASeedOnlyTheConfigurationIsChecked) {
  auto config = config::parseConfig(kTrunks + kSite + kErc, "t.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto findings = lintText(config.value(), "", "");
  ASSERT_TRUE(findings.ok());
  EXPECT_TRUE(findings.value().empty());
}

TEST(Lint, EachProblemIsOneFindingAtItsLine) {
  const std::string clean = kTrunks + kSite + kErc;
  const std::string seed = kSeedSites + kFloor1;
  const std::vector<Row> rows = {
      {"IPv4 subnet inside another location's", clean,
       seed + kFloor2 + "    subnets: [10.1.1.128/25]\n", "seed.yaml", 15,
       "subnet 10.1.1.128/25 of location f2 overlaps 10.1.1.0/24 of location f1 "
       "(locations[0].subnets[0], line 9)"},
      {"IPv4 subnet around another location's", clean,
       seed + kFloor2 + "    subnets: [10.0.0.0/8]\n", "seed.yaml", 15,
       "subnet 10.0.0.0/8 of location f2 overlaps 10.1.1.0/24 of location f1"},
      {"equal IPv4 subnet written otherwise", clean,
       seed + kFloor2 + "    subnets: [10.1.1.7/24]\n", "seed.yaml", 15,
       "subnet 10.1.1.7/24 of location f2 overlaps 10.1.1.0/24 of location f1"},
      {"IPv6 subnet inside another location's", clean,
       seed + kFloor2 + "    subnets: [\"2001:db8:1:2::/64\"]\n", "seed.yaml", 15,
       "subnet 2001:db8:1:2::/64 of location f2 overlaps 2001:db8:1::/48 of location f1"},
      {"wildcard BSSID over another location's", clean,
       seed + kFloor2 + "    bssids: [\"00:11:22:33:44:5*\"]\n", "seed.yaml", 15,
       "BSSID range 00:11:22:33:44:5* of location f2 covers 00:11:22:33:44:55 of location f1 "
       "(locations[0].bssids[0], line 10)"},
      {"company location without FLR in a building of floors", clean,
       seed + kFloor2 +
           "  - key: mail\n    name: Mailroom\n    site: HQ\n"
           "    civic: {country: US, A3: Springfield, HNO: \"100\", RD: Main, ROOM: \"M\"}\n",
       "seed.yaml", 15, "company location mail has no FLR in 100 Main, Springfield, US"},
      {"site with one ELIN for the default 2 calls", clean,
       kSeedSites + "  - {key: f1, name: F1, site: HQ, civic: {country: US}, elins: "
                    "[\"+12175550101\"]}\n",
       "seed.yaml", 2, "site HQ has 1 ELIN for 2 expected concurrent emergency calls"},
      {"site with 2 ELINs for 3 calls",
       kTrunks + kSite + "    expected_concurrent_emergency_calls: 3\n" + kErc, seed, "seed.yaml",
       2, "site HQ has 2 ELINs for 3 expected concurrent emergency calls"},
      {"PSAP trunk without OPTIONS probing",
       R"(carrier_trunk: carrier
trunks:
  - {name: carrier, host: 127.0.0.1}
  - {name: psap, host: 127.0.0.1}
  - {name: erc, host: 127.0.0.1, options_interval_s: 0}
)" + kSite +
           kErc,
       seed, "t.yaml", 4, "PSAP trunk psap (in site HQ's route) is not probed with OPTIONS"},
      {"site without responders", kTrunks + R"(sites:
  - name: HQ
    country: US
    dial_strings: ["911"]
    psap_route: [psap]
)" + kErc,
       seed, "t.yaml", 7, "site HQ has no responders"},
      {"no ERC", kTrunks + kSite, seed, "t.yaml", 10,
       "the route of site HQ (psap) never reaches an ERC"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    const auto findings = run(row.config, row.seed);
    ASSERT_EQ(findings.size(), 1u) << [&] {
      std::string all;
      for (const auto& f : findings) all += toString(f) + "\n";
      return all;
    }();
    const LintFinding& f = findings[0];
    EXPECT_EQ(f.file, row.file);
    EXPECT_EQ(f.at.line, row.line) << toString(f);
    EXPECT_NE(toString(f).find(row.words), std::string::npos) << toString(f);
    EXPECT_NE(toString(f).find("; fix: "), std::string::npos) << toString(f);
  }
}

TEST(Lint, AFindingReadsFileLineColumnWarningAndFix) {
  LintFinding f{"t.yaml", {4, 5, "trunks[1]"}, "what is wrong", "what to do"};
  EXPECT_EQ(toString(f), "t.yaml:4:5: warning: what is wrong; fix: what to do");
}

TEST(Lint, FindingsComeConfigurationFirstThenInLineOrder) {
  const auto findings =
      run(kTrunks + kSite, kSeedSites + kFloor1 + kFloor2 + "    subnets: [10.1.1.0/25]\n" +
                               "    bssids: [\"00:11:22:33:44:5*\"]\n");
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(findings[0].file, "t.yaml");
  EXPECT_EQ(findings[1].at.line, 15);
  EXPECT_EQ(findings[2].at.line, 16);
}

}  // namespace
}  // namespace sos::store
