#pragma once
// Internal to config/: the parser behind loadConfig/parseConfig. It reads the file with the
// shared YamlReader, checks every value as it goes (config_checks.h) and every trunk name once
// all trunks are read, and hands back the Config or every problem found. Its reading is split
// by section: config_parser.cpp (top level, listen, trunks, sites, notifications, logging,
// store, location, admin, limits, edge), emergency_routing_parser.cpp, test_calls_parser.cpp,
// sip_tls_parser.cpp (SIP over TLS) and tls_parser.cpp (the admin server's HTTPS, the mail relay's
// TLS and AUTH).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_checks.h"
#include "config/yaml_reader.h"

namespace sos::config::detail {

class Parser : private YamlReader {
 public:
  explicit Parser(std::string source) : YamlReader(std::move(source)) {}

  Result<Config> run(const std::string& text);

 private:
  // A trunk name used somewhere else (carrier_trunk, psap_route), checked once all trunks are
  // read, so a route may name a trunk defined further down.
  struct TrunkReference {
    std::string name;
    YamlValue where;
  };

  std::string nonEmpty(const YamlValue& v) { return checked(v).value_or(""); }
  std::optional<uint16_t> port(const YamlValue& v);
  std::optional<int64_t> seconds(const YamlValue& v);  // a whole number from 1 to kMaxSeconds
  std::optional<int> timeoutMs(const YamlValue& v);    // a PSAP trunk's failover timer
  std::optional<int> probeIntervalMs(const YamlValue& v);
  std::optional<int> idleTimeoutMs(const YamlValue& v);  // an idle TCP connection's lifetime
  std::optional<int> count(const YamlValue& v);          // a whole number from 0 to kMaxCount
  std::string trunkReference(const YamlValue& v);
  std::vector<std::string> route(const YamlValue& v);  // trunk names, in order
  std::string besideSource(const std::string& path) const;
  // Trunks are referred to by name and sites appear in the routing log by name: one each.
  std::string uniqueName(const YamlValue& name, const YamlValue& item, Seen& seen,
                         std::string_view kind);

  // One of a fixed set of words, with a suggestion for a near miss.
  template <class E, size_t N>
  std::optional<E> choice(const YamlValue& v, const Names<E, N>& names) {
    auto s = text(v);
    if (!s) return std::nullopt;
    std::vector<std::string_view> words;
    for (const auto& [word, value] : names) {
      if (word == *s) return value;
      words.push_back(word);
    }
    report(v, inQuotes(*s) + " is not one of " + joined(words, ", ") + didYouMean(*s, words));
    return std::nullopt;
  }

  void readTop(const YamlValue& root);
  void readListen(const YamlValue& v);
  void readTrunks(const YamlValue& v);
  void readSites(const YamlValue& v);
  std::vector<Responder> responders(const YamlValue& v);
  DeskPhoneMoved deskPhoneMoved(const YamlValue& v);
  void readNotifications(const YamlValue& v);
  void readLogging(const YamlValue& v);
  void readStore(const YamlValue& v);
  void readLocation(const YamlValue& v);
  void readAdmin(const YamlValue& v);
  void readLimits(const YamlValue& v);
  void readEdge(const YamlValue& v);
  void checkReferences();

  // sip_tls_parser.cpp (issue 20)
  void readSipTls(const YamlValue& v);
  void checkSipTls();
  // tls_parser.cpp (issue 20)
  void readAdminTls(const YamlValue& v);
  std::string readableFile(const YamlFields& f, const YamlValue& parent, std::string_view name);
  void checkPlainHttp(const std::optional<YamlValue>& address, std::string_view listener);
  void readSmtp(const YamlValue& smtp);
  void readSmtpAuth(const YamlFields& sf, const YamlValue& smtp);

  // test_calls_parser.cpp (issue 21)
  void readTestCalls(const YamlValue& v);
  SiteTestCalls siteTestCalls(const YamlValue& v, size_t site);
  std::optional<int64_t> testInterval(const YamlValue& v);
  void checkTestCalls();

  // emergency_routing_parser.cpp
  void readEmergencyRouting(const YamlValue& v);
  void readCivicRule(const YamlValue& item, std::vector<YamlValue>& matches);
  void readMatch(const YamlValue& v, CivicRule& rule);
  void readBoundary(const YamlValue& item, Seen& seen);
  std::vector<std::pair<double, double>> polygon(const YamlValue& v);

  Config config_;
  std::vector<TrunkReference> references_;
  // Each site's item, its test_calls and their trunk list's items, checked once the trunks and
  // the ERC are known (checkTestCalls).
  struct SiteTestCallsRead {
    YamlValue site;
    std::optional<YamlValue> where;
    std::vector<YamlValue> trunks;
  };
  std::vector<SiteTestCallsRead> testCallsRead_;
  // Where TLS was asked for, checked against listen.tls once everything is read (checkSipTls).
  std::optional<YamlValue> tlsAt_, tlsPortAt_;  // listen.tls and its port
  std::optional<YamlValue> tlsListedAt_;        // "tls" among listen.transports
  std::vector<YamlValue> tlsTrunksAt_;          // each TLS trunk's transport
};

}  // namespace sos::config::detail
