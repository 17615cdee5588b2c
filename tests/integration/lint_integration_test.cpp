// `sosproxy lint` and check-config's warnings, run on the real binary: the deliberately bad
// example (config/examples/lint-bad.yaml and its seed) gives one line per problem at its place,
// and the demo lints clean.

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace sos::itest {
namespace {

namespace fs = std::filesystem;

const fs::path kExamples = fs::path(SOS_SOURCE_DIR) / "config" / "examples";

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Expected {
  std::string place;  // FILE:LINE:COLUMN
  std::string words;
};

std::vector<Expected> lintBadFindings() {
  const std::string config = (kExamples / "lint-bad.yaml").string();
  const std::string seed = (kExamples / "lint-bad-locations.yaml").string();
  return {
      {config + ":57:5",
       "warning: PSAP trunk il-psap-b (in site HQ's route) is not probed with OPTIONS"},
      {config + ":94:17",
       "warning: the route of site HQ (il-psap-a, il-psap-b, erc) never "
       "reaches an ERC: emergency_routing.erc is not set"},
      {config + ":104:5", "warning: site London has no responders"},
      {config + ":109:17", "warning: the route of site London (uk-999, erc) never reaches an ERC"},
      {seed + ":7:5", "warning: site London has 1 ELIN for 2 expected concurrent emergency calls"},
      {seed + ":26:14",
       "warning: BSSID range 00:11:22:33:44:5* of location hq-floor-2 covers 00:11:22:33:44:55 "
       "of location hq-room-301 (locations[3].bssids[0], line 44)"},
      {seed + ":36:28",
       "warning: subnet 10.1.2.128/25 of location hq-floor-3 overlaps 10.1.2.0/24 of location "
       "hq-floor-2 (locations[1].subnets[0], line 25)"},
      {seed + ":47:5",
       "warning: company location hq-mailroom has no FLR in 100 Main St, Springfield, IL 62701, "
       "US, a building with floors 1, 2, 3"},
  };
}

void expectFindings(const std::vector<std::string>& lines) {
  const auto expected = lintBadFindings();
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    EXPECT_EQ(lines[i].rfind(expected[i].place + ": ", 0), 0u);
    EXPECT_NE(lines[i].find(expected[i].words), std::string::npos);
    EXPECT_NE(lines[i].find("; fix: "), std::string::npos);
  }
}

TEST(Lint, TheBadExampleHasOneFindingPerProblem) {
  TempDir dir("sosproxy-lint");
  const auto r =
      runCommand({sosproxyBinary(), "lint", (kExamples / "lint-bad.yaml").string()}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 1) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  expectFindings(linesOf(r.out));
}

TEST(Lint, TheDemoLintsClean) {
  TempDir dir("sosproxy-lint");
  const auto r = runCommand(
      {sosproxyBinary(), "lint", "--config", (kExamples / "demo.yaml").string()}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Lint, CheckConfigPrintsTheFindingsAsWarningsAndStaysValid) {
  TempDir dir("sosproxy-lint");
  const auto r = runCommand(
      {sosproxyBinary(), "check-config", (kExamples / "lint-bad.yaml").string()}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 0) << r.out << r.err;
  auto lines = linesOf(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("lint-bad.yaml: OK"), std::string::npos) << r.out;
  lines.erase(lines.begin());
  expectFindings(lines);
}

TEST(Lint, AnInvalidOrMissingFileIsExitStatus2) {
  TempDir dir("sosproxy-lint");
  const fs::path bad = dir.path() / "bad.yaml";
  writeFile(bad, "carrier_trunk: carrier\ntrunks: []\n");
  auto r = runCommand({sosproxyBinary(), "lint", bad.string()}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.yaml:2:"), std::string::npos) << r.err;

  r = runCommand({sosproxyBinary(), "lint", (dir.path() / "none.yaml").string()}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
}

TEST(Lint, HelpMentionsLint) {
  TempDir dir("sosproxy-lint");
  const auto r = runCommand({sosproxyBinary(), "--help"}, dir.path());
  ASSERT_TRUE(r.status.has_value()) << r.commandLine;
  EXPECT_EQ(*r.status, 0);
  EXPECT_NE(r.out.find("sosproxy lint [--config] FILE"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sos::itest
