// Scheduled test calls (issue 21): the top-level test_calls section, a site's own, and the check
// that every trunk a site tests has somewhere to send the test to. Part of the configuration
// parser (config_parser.h).

#include <charconv>

#include "base/text.h"
#include "config/config_parser.h"

namespace sos::config::detail {

// 0 (none) or whole seconds up to kMaxTestIntervalSeconds.
std::optional<int64_t> Parser::testInterval(const YamlValue& v) {
  auto s = text(v);
  if (!s) return std::nullopt;
  int64_t number = -1;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
  if (isDigits(*s) && ec == std::errc() && number <= kMaxTestIntervalSeconds) return number;
  report(v, inQuotes(*s) + expecting(false, "0 (none) or whole seconds from 1 to " +
                                                std::to_string(kMaxTestIntervalSeconds) +
                                                " (31 days), e.g. 86400"));
  return std::nullopt;
}

void Parser::readTestCalls(const YamlValue& v) {
  auto f = fields(v, {"interval_s"});
  if (!f) return;
  if (auto i = get(*f, v, "interval_s", true)) {
    config_.testCalls.intervalSeconds = testInterval(*i).value_or(0);
  }
}

SiteTestCalls Parser::siteTestCalls(const YamlValue& v, size_t site) {
  SiteTestCalls out;
  out.at = place(v);
  testCallsRead_[site].where = v;
  auto f = fields(v, {"interval_s", "trunks"});
  if (!f) return out;
  if (auto i = get(*f, v, "interval_s")) out.intervalSeconds = testInterval(*i);
  if (auto t = get(*f, v, "trunks")) {
    Seen seen;
    for (const auto& item : list(*t, false)) {
      std::string name = trunkReference(item);
      if (name.empty() || !unique(seen, name, item, "trunk")) continue;
      out.trunks.push_back(name);
      testCallsRead_[site].trunks.push_back(item);
    }
  }
  return out;
}

// Once every trunk and the ERC are known: a site that places test calls has a destination for
// each trunk it tests. A trunk without one would silently go untested, or get a real emergency
// INVITE as its test.
void Parser::checkTestCalls() {
  for (size_t i = 0; i < config_.sites.size() && i < testCallsRead_.size(); ++i) {
    const Site& site = config_.sites[i];
    const SiteTestCallsRead& read = testCallsRead_[i];
    const int64_t interval = site.testCalls && site.testCalls->intervalSeconds
                                 ? *site.testCalls->intervalSeconds
                                 : config_.testCalls.intervalSeconds;
    if (interval <= 0) continue;
    const bool listed = site.testCalls && !site.testCalls->trunks.empty();
    const std::vector<std::string> trunks = config_.testCallTrunks(site);
    for (size_t t = 0; t < trunks.size(); ++t) {
      const Trunk* trunk = config_.findTrunk(trunks[t]);
      if (trunk == nullptr || !trunk->testDestination.empty()) continue;  // unknown: reported
      const std::string fix = "give trunk " + inQuotes(trunk->name) +
                              " a test_destination (\"urn:service:test.sos\" or a test number "
                              "such as \"933\")";
      if (listed && t < read.trunks.size()) {
        report(read.trunks[t], "trunk " + inQuotes(trunk->name) +
                                   " has no test_destination to place a test call to; " + fix);
        continue;
      }
      const YamlValue& blame = read.where ? *read.where : read.site;
      report(blame, "site " + inQuotes(site.name) + " places test calls every " +
                        std::to_string(interval) +
                        " s to the trunks of its psap_route and the ERC, but trunk " +
                        inQuotes(trunk->name) + " has no test_destination; " + fix +
                        ", or list the trunks to test in test_calls.trunks");
    }
  }
}

}  // namespace sos::config::detail
