// --version and sosproxy_build_info (issue 21): the CMake project version and the commit, read
// when CMake configured the build; the same two in /metrics.

#include "proxy/version.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "proxy/metrics.h"

namespace sos::proxy {
namespace {

TEST(Version, IsTheProjectVersionAndACommit) {
  EXPECT_EQ(std::string(buildVersion()), SOS_PROJECT_VERSION);
  // A short hash (with +dirty when the tree had changes), "unknown" without git, or what the
  // packager passed as SOS_GIT_COMMIT.
  EXPECT_TRUE(std::regex_match(buildCommit(), std::regex("[A-Za-z0-9._+-]+"))) << buildCommit();
  if (std::string(SOS_GIT_COMMIT_GIVEN).empty() && std::string(buildCommit()) != "unknown") {
    EXPECT_TRUE(std::regex_match(buildCommit(), std::regex("[0-9a-f]{12}(\\+dirty)?")))
        << buildCommit();
  }
}

TEST(Version, MetricsCarryTheBuildInfo) {
  B2buaCounters calls;
  LocationCounters locations;
  ReloadCounters reloads;
  const std::string text = prometheusText(calls, locations, reloads, LogLoss{});
  const std::string sample = std::string("\nsosproxy_build_info{version=\"") + buildVersion() +
                             "\",commit=\"" + buildCommit() + "\"} 1\n";
  EXPECT_NE(text.find(sample), std::string::npos) << text;
  EXPECT_EQ(text.rfind("# HELP sosproxy_build_info ", 0), 0u) << text;
  EXPECT_NE(text.find("# TYPE sosproxy_build_info gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace sos::proxy
