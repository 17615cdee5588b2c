// The configuration loader: the demo file loads as documented, and each kind of mistake is
// refused with a message that points at the exact file, line, column and key.

#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace sos::config {
namespace {

const std::string kSource = SOS_SOURCE_DIR;

// A small valid file; tests replace one numbered line to make it wrong in one place.
const std::vector<std::string> kValid = {
    "carrier_trunk: carrier",       // 1
    "trunks:",                      // 2
    "  - name: carrier",            // 3
    "    host: 192.0.2.1",          // 4
    "    port: 5080",               // 5
    "  - name: psap",               // 6
    "    host: 2001:db8::5",        // 7
    "    port: 5090",               // 8
    "    mode: pidf",               // 9
    "sites:",                       // 10
    "  - name: HQ",                 // 11
    "    country: US",              // 12
    "    dial_strings: [\"911\"]",  // 13
    "    psap_route: [psap]",       // 14
};

std::string text(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
}

// The valid file with line `number` (1-based) replaced.
std::string withLine(size_t number, const std::string& replacement) {
  auto lines = kValid;
  lines.at(number - 1) = replacement;
  return text(lines);
}

std::vector<std::string> problems(const Result<Config>& r) {
  std::vector<std::string> out;
  if (r.ok()) {
    return out;
  }
  std::istringstream in(r.error().message);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

// The file is refused with exactly one problem, whose message starts with `prefix`.
void expectOnlyProblem(const Result<Config>& r, const std::string& prefix) {
  ASSERT_FALSE(r.ok()) << "expected the configuration to be refused";
  EXPECT_EQ(r.error().code, "config.invalid");
  auto lines = problems(r);
  ASSERT_EQ(lines.size(), 1u) << r.error().message;
  EXPECT_EQ(lines[0].substr(0, prefix.size()), prefix) << lines[0];
}

TEST(ConfigTest, ValidBaseFileLoads) {
  auto r = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().sourcePath, "t.yaml");
  ASSERT_NE(r.value().findTrunk("psap"), nullptr);
  EXPECT_EQ(r.value().findTrunk("psap")->host, "2001:db8::5");
}

TEST(ConfigTest, DemoLoadsWithItsTrunksAndSites) {
  const std::string path = kSource + "/config/examples/demo.yaml";
  auto r = loadConfig(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.sourcePath, path);

  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 5060);
  EXPECT_EQ(c.listen.transports, (std::vector<Transport>{Transport::Udp, Transport::Tcp}));
  EXPECT_EQ(c.trustedNetworks, std::vector<std::string>{"127.0.0.0/8"});
  EXPECT_EQ(c.carrierTrunk, "carrier");

  // The trunks as the README describes them. Their ports are written once, in demo.yaml (the
  // scripts and tests derive theirs from it); the README's hand-placed calls rely on the
  // carrier at 5080 and il-psap-a at 5090, and every trunk has a port of its own.
  struct Expected {
    const char* name;
    TrunkMode mode;
  };
  const std::vector<Expected> trunks = {
      {"carrier", TrunkMode::Plain},  {"il-psap-a", TrunkMode::Pidf},
      {"il-psap-b", TrunkMode::Elin}, {"erc", TrunkMode::Both},
      {"uk-999", TrunkMode::Elin},    {"psap-test", TrunkMode::Both}};
  ASSERT_EQ(c.trunks.size(), trunks.size());
  std::set<uint16_t> ports{c.listen.port, c.admin.port};
  for (size_t i = 0; i < trunks.size(); ++i) {
    SCOPED_TRACE(trunks[i].name);
    EXPECT_EQ(c.trunks[i].name, trunks[i].name);
    EXPECT_EQ(c.trunks[i].host, "127.0.0.1");
    EXPECT_TRUE(ports.insert(c.trunks[i].port).second) << "port " << c.trunks[i].port << " twice";
    EXPECT_EQ(c.trunks[i].transport, Transport::Udp);
    EXPECT_EQ(c.trunks[i].mode, trunks[i].mode);
  }
  EXPECT_EQ(c.findTrunk("carrier")->port, 5080);
  EXPECT_EQ(c.findTrunk("il-psap-a")->port, 5090);

  ASSERT_EQ(c.sites.size(), 2u);
  const Site* hq = c.findSite("HQ");
  ASSERT_EQ(hq, &c.sites[0]);  // the first site is the default one
  EXPECT_EQ(hq->country, "US");
  EXPECT_EQ(hq->dialStrings, std::vector<std::string>{"911"});
  EXPECT_EQ(hq->outsideLinePrefix, "9");
  EXPECT_EQ(hq->testNumbers, std::vector<std::string>{"933"});
  EXPECT_EQ(hq->extensions, std::vector<std::string>{"1*"});
  EXPECT_EQ(hq->networks, std::vector<std::string>{"10.1.0.0/16"});
  EXPECT_EQ(hq->psapRoute, (std::vector<std::string>{"il-psap-a", "il-psap-b", "erc"}));

  const Site* london = c.findSite("London");
  ASSERT_NE(london, nullptr);
  EXPECT_EQ(london->country, "GB");
  EXPECT_EQ(london->dialStrings, (std::vector<std::string>{"999", "112"}));
  EXPECT_EQ(london->outsideLinePrefix, "");
  EXPECT_TRUE(london->testNumbers.empty());
  EXPECT_EQ(london->psapRoute, (std::vector<std::string>{"uk-999", "erc"}));

  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, LogFormat::Text);
  EXPECT_EQ(c.logging.routingLog, "-");
}

TEST(ConfigTest, AbsentOptionalSectionsTakeTheirDefaults) {
  auto r = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 5060);
  EXPECT_EQ(c.listen.transports, (std::vector<Transport>{Transport::Udp, Transport::Tcp}));
  EXPECT_TRUE(c.trustedNetworks.empty());  // nothing trusted: every call is refused
  EXPECT_EQ(c.trunks[0].transport, Transport::Udp);
  EXPECT_EQ(c.trunks[0].mode, TrunkMode::Plain);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, LogFormat::Text);
  EXPECT_EQ(c.logging.routingLog, "-");
}

TEST(ConfigTest, FindTrunkAndSiteReturnNullForUnknownNames) {
  auto r = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().findTrunk("nope"), nullptr);
  EXPECT_EQ(r.value().findSite("nope"), nullptr);
  EXPECT_EQ(toString(Transport::Tcp), "tcp");
  EXPECT_EQ(toString(TrunkMode::Both), "both");
}

TEST(ConfigTest, UnknownKeyIsRefusedWithASuggestion) {
  expectOnlyProblem(parseConfig(withLine(8, "    prot: 5090"), "t.yaml"),
                    "t.yaml:8:5: trunks[1].prot: unknown key; did you mean \"port\"?");
}

TEST(ConfigTest, UnknownKeyFarFromAnyKnownOneListsTheKnownKeys) {
  auto lines = kValid;
  lines.push_back("    colour: red");
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:15:5: sites[0].colour: unknown key; expected name, country,");
}

TEST(ConfigTest, DuplicateKeyIsRefused) {
  expectOnlyProblem(parseConfig(withLine(9, "    port: 5091"), "t.yaml"),
                    "t.yaml:9:5: trunks[1].port: duplicate key (first at line 8)");
}

TEST(ConfigTest, NonNumericPortIsRefused) {
  expectOnlyProblem(parseConfig(withLine(5, "    port: 50x0"), "t.yaml"),
                    "t.yaml:5:11: trunks[0].port: \"50x0\" is not a port number");
}

TEST(ConfigTest, PortOutOfRangeIsRefused) {
  expectOnlyProblem(parseConfig(withLine(8, "    port: 70000"), "t.yaml"),
                    "t.yaml:8:11: trunks[1].port: port 70000 is out of range");
  expectOnlyProblem(parseConfig(withLine(8, "    port: 0"), "t.yaml"),
                    "t.yaml:8:11: trunks[1].port: port 0 is out of range");
  expectOnlyProblem(parseConfig(withLine(8, "    port: -5"), "t.yaml"),
                    "t.yaml:8:11: trunks[1].port: port -5 is out of range");
}

TEST(ConfigTest, EmptyValueIsBlamedOnItsKey) {
  expectOnlyProblem(parseConfig(withLine(8, "    port:"), "t.yaml"),
                    "t.yaml:8:5: trunks[1].port: has no value");
}

TEST(ConfigTest, UnknownTrunkInPsapRouteIsRefused) {
  expectOnlyProblem(parseConfig(withLine(14, "    psap_route: [psap, psapp]"), "t.yaml"),
                    "t.yaml:14:24: sites[0].psap_route[1]: no trunk is named \"psapp\"; "
                    "did you mean \"psap\"?");
  auto r = parseConfig(withLine(14, "    psap_route: [psap, nowhere]"), "t.yaml");
  expectOnlyProblem(r, "t.yaml:14:24: sites[0].psap_route[1]: no trunk is named \"nowhere\"");
  EXPECT_EQ(problems(r)[0].find("did you mean"), std::string::npos);
}

TEST(ConfigTest, EmptyPsapRouteIsRefused) {
  expectOnlyProblem(parseConfig(withLine(14, "    psap_route: []"), "t.yaml"),
                    "t.yaml:14:17: sites[0].psap_route: must not be empty");
}

TEST(ConfigTest, UnknownCarrierTrunkIsRefused) {
  expectOnlyProblem(parseConfig(withLine(1, "carrier_trunk: carier"), "t.yaml"),
                    "t.yaml:1:16: carrier_trunk: no trunk is named \"carier\"; "
                    "did you mean \"carrier\"?");
}

TEST(ConfigTest, DuplicateTrunkNameIsRefused) {
  auto lines = kValid;
  lines[5] = "  - name: carrier";
  lines[13] = "    psap_route: [carrier]";
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:6:11: trunks[1].name: duplicate trunk name \"carrier\" "
                    "(also trunks[0], line 3)");
}

TEST(ConfigTest, DuplicateSiteNameIsRefused) {
  auto lines = kValid;
  lines.insert(lines.end(), {"  - name: HQ", "    country: US", "    dial_strings: [\"911\"]",
                             "    psap_route: [psap]"});
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:15:11: sites[1].name: duplicate site name \"HQ\"");
}

TEST(ConfigTest, BadCidrIsRefused) {
  auto lines = kValid;
  lines.insert(lines.begin(), {"trusted_networks:", "  - 10.0.0.0/8", "  - 10.0.0.0/33",
                               "  - 2001:db8::/129", "  - 10.1.0/16", "  - 2001:db8::1"});
  auto r = parseConfig(text(lines), "t.yaml");
  auto found = problems(r);
  ASSERT_EQ(found.size(), 3u) << (r.ok() ? "" : r.error().message);
  EXPECT_EQ(found[0].rfind("t.yaml:3:5: trusted_networks[1]: \"10.0.0.0/33\" is not a network", 0),
            0u)
      << found[0];
  EXPECT_NE(found[0].find("prefix length 33 is over 32"), std::string::npos);
  EXPECT_EQ(found[1].rfind("t.yaml:4:5: trusted_networks[2]: ", 0), 0u) << found[1];
  EXPECT_NE(found[1].find("prefix length 129 is over 128"), std::string::npos);
  EXPECT_EQ(found[2].rfind("t.yaml:5:5: trusted_networks[3]: \"10.1.0/16\" is not a network", 0),
            0u)
      << found[2];

  auto site = kValid;
  site.push_back("    networks: [10.44.0.0/16, bogus]");
  expectOnlyProblem(parseConfig(text(site), "t.yaml"),
                    "t.yaml:15:30: sites[0].networks[1]: \"bogus\" is not a network");
}

TEST(ConfigTest, HostnameInsteadOfAddressIsRefused) {
  expectOnlyProblem(parseConfig(withLine(4, "    host: sip.carrier.example"), "t.yaml"),
                    "t.yaml:4:11: trunks[0].host: \"sip.carrier.example\" is not valid; "
                    "expected a numeric IPv4 or IPv6 address");
}

TEST(ConfigTest, BadTransportAndModeAreRefused) {
  expectOnlyProblem(parseConfig(withLine(9, "    transport: sctp"), "t.yaml"),
                    "t.yaml:9:16: trunks[1].transport: \"sctp\" is not one of udp, tcp, tls");
  expectOnlyProblem(parseConfig(withLine(9, "    mode: pidff"), "t.yaml"),
                    "t.yaml:9:11: trunks[1].mode: \"pidff\" is not one of plain, pidf, elin, both; "
                    "did you mean \"pidf\"?");
}

TEST(ConfigTest, ListenTransportsMustBeANonEmptySetOfUdpTcpAndTls) {
  auto lines = kValid;
  lines.insert(lines.end(), {"listen:", "  transports: []"});
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:16:15: listen.transports: must not be empty");
  lines.back() = "  transports: [udp, ssl, udp]";
  auto r = parseConfig(text(lines), "t.yaml");
  auto found = problems(r);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], "t.yaml:16:21: listen.transports[1]: \"ssl\" is not one of udp, tcp, tls");
  EXPECT_EQ(found[1], "t.yaml:16:26: listen.transports[2]: \"udp\" is listed twice");
}

TEST(ConfigTest, SiteFieldsAreChecked) {
  auto lines = kValid;
  lines[11] = "    country: usa";
  lines[12] = "    dial_strings: [\"911\", \"9-1-1\"]";
  lines.insert(lines.end(), {"    outside_line_prefix: \"9a\"", "    test_numbers: [\"933\", x]",
                             "    extensions: [\"1*\", \"1*2\", \"*\"]"});
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  std::vector<std::string> prefixes = {
      "t.yaml:12:14: sites[0].country: \"usa\" is not valid",
      "t.yaml:13:27: sites[0].dial_strings[1]: \"9-1-1\" is not valid",
      "t.yaml:15:26: sites[0].outside_line_prefix: \"9a\" is not valid",
      "t.yaml:16:27: sites[0].test_numbers[1]: \"x\" is not valid",
      "t.yaml:17:24: sites[0].extensions[1]: \"1*2\" is not valid",
      "t.yaml:17:31: sites[0].extensions[2]: \"*\" is not valid",
  };
  ASSERT_EQ(found.size(), prefixes.size());
  for (size_t i = 0; i < prefixes.size(); ++i) {
    EXPECT_EQ(found[i].rfind(prefixes[i], 0), 0u) << found[i];
  }
}

TEST(ConfigTest, DialStringsMayHoldStarAndHash) {
  auto r = parseConfig(withLine(13, "    dial_strings: [\"911\", \"*911#\"]"), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().sites[0].dialStrings, (std::vector<std::string>{"911", "*911#"}));
}

TEST(ConfigTest, LoggingValuesAreChecked) {
  auto lines = kValid;
  lines.insert(lines.end(), {"logging:", "  level: wran", "  format: xml", "  routing_log: \"\""});
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0],
            "t.yaml:16:10: logging.level: \"wran\" is not one of trace, debug, info, "
            "warn, error; did you mean \"warn\"?");
  EXPECT_EQ(found[1].rfind("t.yaml:17:11: logging.format: \"xml\" is not one of text, json", 0),
            0u);
  EXPECT_EQ(found[2].rfind("t.yaml:18:16: logging.routing_log: \"\" is not valid", 0), 0u);
}

TEST(ConfigTest, YamlSyntaxErrorGivesItsPosition) {
  expectOnlyProblem(parseConfig(withLine(13, "    dial_strings: [\"911\""), "t.yaml"),
                    "t.yaml:14:5: syntax error: ");
}

TEST(ConfigTest, MissingSitesIsBlamedOnTheTopLevelMapping) {
  auto lines = kValid;
  lines.resize(9);
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:1:1: sites: required key is missing");
}

TEST(ConfigTest, MissingKeyIsBlamedOnItsParentMapping) {
  auto lines = kValid;
  lines.erase(lines.begin() + 6);  // host of the second trunk
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:6:5: trunks[1].host: required key is missing");
}

TEST(ConfigTest, EmptyFileIsRefused) {
  expectOnlyProblem(parseConfig("# nothing here\n", "t.yaml"), "t.yaml:1:1: (top level): ");
}

TEST(ConfigTest, SeveralErrorsAreReportedTogetherInFileOrder) {
  const std::string path = kSource + "/tests/config/data/several_errors.yaml";
  auto r = loadConfig(path);
  auto found = problems(r);
  std::vector<std::string> prefixes = {
      path + ":3:9: listen.port: port 0 is out of range",
      path + ":7:11: trunks[0].host: \"carrier.example.net\" is not valid",
      path + ":8:16: trunks[0].transport: \"sctp\" is not one of udp, tcp",
      path + ":11:14: sites[0].country: \"us\" is not valid",
      path + ":13:18: sites[0].psap_route[0]: no trunk is named \"psap\"",
  };
  ASSERT_EQ(found.size(), prefixes.size()) << (r.ok() ? "" : r.error().message);
  EXPECT_EQ(r.error().code, "config.invalid");
  for (size_t i = 0; i < prefixes.size(); ++i) {
    EXPECT_EQ(found[i].rfind(prefixes[i], 0), 0u) << found[i];
  }
}

TEST(ConfigTest, DemoNamesItsStoreLocationOrderAndAdminPort) {
  auto r = loadConfig(kSource + "/config/examples/demo.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  // Relative to config/examples/, whatever the working directory is.
  EXPECT_EQ(c.store.path, kSource + "/var/demo.db");
  EXPECT_EQ(c.store.seed, kSource + "/config/examples/demo-locations.yaml");
  EXPECT_EQ(c.location.precedence,
            (std::vector<std::string>{"device-supplied", "bssid", "chassis-port", "chassis",
                                      "subnet", "personal-network", "personal-confirmed",
                                      "site-default", "account-default"}));
  EXPECT_EQ(c.location.staleAfterSeconds, 86400);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.admin.port, 8080);
  EXPECT_TRUE(c.admin.enabled);
}

TEST(ConfigTest, AbsentStoreLocationAndAdminTakeTheirDefaults) {
  auto r = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.store.path, "");  // no database: in memory only
  EXPECT_EQ(c.store.seed, "");
  EXPECT_EQ(c.location.precedence.size(), 9u);
  EXPECT_EQ(c.location.precedence.front(), "device-supplied");
  EXPECT_EQ(c.location.precedence.back(), "account-default");
  EXPECT_EQ(c.location.staleAfterSeconds, 86400);
  EXPECT_EQ(c.admin.address, "127.0.0.1");
  EXPECT_EQ(c.admin.port, 8080);
  EXPECT_TRUE(c.admin.enabled);
}

TEST(ConfigTest, StorePathsAreResolvedAgainstTheConfigDirectory) {
  auto lines = kValid;
  lines.insert(lines.end(), {"store:", "  path: var/sos.db", "  seed: ../seed/locations.yaml"});
  auto r = parseConfig(text(lines), "/etc/sosproxy/main.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().store.path, "/etc/sosproxy/var/sos.db");
  EXPECT_EQ(r.value().store.seed, "/etc/seed/locations.yaml");

  lines[15] = "  path: /srv/sos.db";
  r = parseConfig(text(lines), "/etc/sosproxy/main.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().store.path, "/srv/sos.db");

  // A configuration named relative to the working directory keeps its paths relative too.
  lines[15] = "  path: var/sos.db";
  r = parseConfig(text(lines), "conf/main.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().store.path, "conf/var/sos.db");
}

TEST(ConfigTest, StoreKeysAreChecked) {
  auto lines = kValid;
  lines.insert(lines.end(), {"store:", "  path: \"\"", "  seeds: x.yaml"});
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].rfind("t.yaml:16:9: store.path: \"\" is not valid", 0), 0u) << found[0];
  EXPECT_EQ(found[1], "t.yaml:17:3: store.seeds: unknown key; did you mean \"seed\"?");
}

// Issue 22: the PostgreSQL backend takes a connection URI instead of a file (a store.path left
// in the file is not used), and it cannot go without one.
TEST(ConfigTest, APostgresqlStoreNeedsItsUriAndNotAFile) {
  auto lines = kValid;
  lines.insert(lines.end(), {"store:", "  path: var/sos.db", "  backend: postgresql",
                             "  postgresql: postgresql://sosproxy@db.example.com:5432/sos",
                             "  seed: seed.yaml"});
  auto r = parseConfig(text(lines), "/etc/sosproxy/main.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().store.backend, StoreBackend::Postgresql);
  EXPECT_EQ(r.value().store.database(), "postgresql://sosproxy@db.example.com:5432/sos");
  EXPECT_EQ(r.value().store.seed, "/etc/sosproxy/seed.yaml");

  auto bad = kValid;
  bad.insert(bad.end(), {"store:", "  backend: postgres", "  postgresql: db.example.com"});
  auto found = problems(parseConfig(text(bad), "t.yaml"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].rfind("t.yaml:16:12: store.backend: \"postgres\" is not one of sqlite, "
                           "postgresql",
                           0),
            0u)
      << found[0];
  EXPECT_EQ(found[1],
            "t.yaml:17:15: store.postgresql: expected a connection URI, "
            "postgresql://USER@HOST:PORT/DATABASE");

  bad[15] = "  backend: postgresql";
  bad[16] = "  path: sos.db";
  found = problems(parseConfig(text(bad), "t.yaml"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0],
            "t.yaml:16:12: store.backend: postgresql needs store.postgresql, its "
            "connection URI");

  bad[15] = "  backend: sqlite";
  bad[16] = "  postgresql: postgresql://localhost/sos";
  found = problems(parseConfig(text(bad), "t.yaml"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0],
            "t.yaml:17:15: store.postgresql: is the postgresql backend's; set "
            "store.backend: postgresql to use it");
}

// Issue 22: a node's name in the outbox's claims, and how long a claim lasts unrenewed.
TEST(ConfigTest, ANodeNameAndTheLeaseOfItsAlertClaims) {
  auto defaults = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults.value().store.nodeName, "");  // HOSTNAME:SIP-PORT, chosen at start
  EXPECT_EQ(defaults.value().notifications.leaseMs, 15000);

  auto lines = kValid;
  lines.insert(lines.end(),
               {"store:", "  node_name: sos-east-1", "notifications:", "  lease_s: 2.5"});
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().store.nodeName, "sos-east-1");
  EXPECT_EQ(r.value().notifications.leaseMs, 2500);

  lines[17] = "  lease_s: 0.5";
  EXPECT_EQ(problems(parseConfig(text(lines), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:18:12: notifications.lease_s: is too short; expected at least 1 second"}));
}

TEST(ConfigTest, PrecedenceNamesAreCheckedAndUnique) {
  auto lines = kValid;
  lines.insert(lines.end(), {"location:", "  precedence: [bssid, subnet, subnett, bssid, gps]"});
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].rfind("t.yaml:16:31: location.precedence[2]: \"subnett\" is not one of "
                           "device-supplied, bssid, ",
                           0),
            0u)
      << found[0];
  EXPECT_NE(found[0].find("did you mean \"subnet\"?"), std::string::npos) << found[0];
  EXPECT_EQ(found[1], "t.yaml:16:40: location.precedence[3]: \"bssid\" is listed twice");
  EXPECT_EQ(found[2].rfind("t.yaml:16:47: location.precedence[4]: \"gps\" is not one of", 0), 0u)
      << found[2];

  lines.back() = "  precedence: []";
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:16:15: location.precedence: must not be empty");

  lines.back() = "  precedence: [subnet, site-default]";
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().location.precedence, (std::vector<std::string>{"subnet", "site-default"}));
}

TEST(ConfigTest, StaleAfterMustBeAPositiveWholeNumberOfSeconds) {
  auto lines = kValid;
  lines.insert(lines.end(), {"location:", "  stale_after_s: 3600"});
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().location.staleAfterSeconds, 3600);

  for (const std::string bad : {"0", "-5", "1.5", "a day", "1e3"}) {
    SCOPED_TRACE(bad);
    lines.back() = "  stale_after_s: " + bad;
    expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                      "t.yaml:16:18: location.stale_after_s: \"" + bad +
                          "\" is not valid; expected a whole number of seconds, at least 1");
  }
  lines.back() = "  stale_after_s: 99999999999999999999";
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:16:18: location.stale_after_s: \"99999999999999999999\" is too large");
  lines.back() = "  stale_after_s: 9223372036854776";  // seconds that overflow as milliseconds
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:16:18: location.stale_after_s: \"9223372036854776\" is too large");
}

TEST(ConfigTest, AdminAllowedHostsAndMetricsPublicAreRead) {
  auto lines = kValid;
  lines.insert(lines.end(), {"admin:", "  allowed_hosts: [sosproxy.hq.example, admin.hq.example]",
                             "  metrics_public: false"});
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().admin.allowedHosts,
            (std::vector<std::string>{"sosproxy.hq.example", "admin.hq.example"}));
  EXPECT_FALSE(r.value().admin.metricsPublic);
  EXPECT_TRUE(parseConfig(text(kValid), "t.yaml").value().admin.metricsPublic);
  lines[15] = "  allowed_hosts: sosproxy.hq.example";
  lines[16] = "  metrics_public: sometimes";
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].rfind("t.yaml:16:18: admin.allowed_hosts: ", 0), 0u) << found[0];
  EXPECT_EQ(found[1].rfind("t.yaml:17:19: admin.metrics_public: \"sometimes\" is not valid", 0), 0u)
      << found[1];
}

TEST(ConfigTest, AdminValuesAreChecked) {
  auto lines = kValid;
  lines.insert(lines.end(), {"admin:", "  address: localhost", "  port: 80800", "  enabled: yes"});
  auto found = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].rfind("t.yaml:16:12: admin.address: \"localhost\" is not valid; expected a "
                           "numeric IPv4 or IPv6 address",
                           0),
            0u)
      << found[0];
  EXPECT_EQ(found[1].rfind("t.yaml:17:9: admin.port: port 80800 is out of range", 0), 0u);
  EXPECT_EQ(found[2], "t.yaml:18:12: admin.enabled: \"yes\" is not valid; expected true or false");

  lines[15] = "  address: \"::1\"";
  lines[16] = "  port: 9090";
  lines[17] = "  enabled: false";
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().admin.address, "::1");
  EXPECT_EQ(r.value().admin.port, 9090);
  EXPECT_FALSE(r.value().admin.enabled);
}

TEST(ConfigTest, UnreadableFileIsRefusedWithTheReason) {
  const std::string missing = kSource + "/tests/config/data/no-such-file.yaml";
  auto r = loadConfig(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "config.unreadable");
  EXPECT_EQ(r.error().message, missing + ": cannot read: No such file or directory");

  const std::string directory = kSource + "/tests/config/data";
  auto d = loadConfig(directory);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "config.unreadable");
  EXPECT_EQ(d.error().message, directory + ": cannot read: Is a directory");
}

// Issue 4 additions: our host name for loc-src, the security desk, the callback window.
TEST(ConfigTest, HostNameSecurityDeskAndCallbackWindow) {
  auto lines = kValid;
  lines.push_back("    security_desk: \"sip:desk@192.0.2.9:5094\"");
  lines.push_back("listen:");
  lines.push_back("  host_name: sosproxy.hq.example");
  lines.push_back("location:");
  lines.push_back("  callback_window_s: 600");
  lines.push_back("  temporary_hold_s: 3600");
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().listen.hostName, "sosproxy.hq.example");
  EXPECT_EQ(r.value().sites[0].securityDesk, "sip:desk@192.0.2.9:5094");
  EXPECT_EQ(r.value().location.callbackWindowSeconds, 600);
  EXPECT_EQ(r.value().location.temporaryHoldSeconds, 3600);
  EXPECT_EQ(parseConfig(text(kValid), "t.yaml").value().location.temporaryHoldSeconds, 28800);

  auto badHost = kValid;
  badHost.push_back("listen:");
  badHost.push_back("  host_name: -bad-.example");
  expectOnlyProblem(parseConfig(text(badHost), "t.yaml"), "t.yaml:16:14: listen.host_name:");

  auto badDesk = kValid;
  badDesk.push_back("    security_desk: \"sip:desk@desk.example:5094\"");
  expectOnlyProblem(parseConfig(text(badDesk), "t.yaml"), "t.yaml:15:20: sites[0].security_desk:");
}

// Issue 5: failover timers and OPTIONS probing per trunk, route selection by location, limits
// on ordinary calls.

TEST(ConfigTest, DemoHasTimersEmergencyRoutingAndLimits) {
  auto r = loadConfig(kSource + "/config/examples/demo.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  const Trunk* a = c.findTrunk("il-psap-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->responseTimeoutMs, 2000);
  EXPECT_EQ(a->ringTimeoutMs, 8000);
  EXPECT_EQ(a->optionsIntervalMs, 0);
  const Trunk* erc = c.findTrunk("erc");
  ASSERT_NE(erc, nullptr);
  EXPECT_EQ(erc->ringTimeoutMs, 30000);  // the default

  const EmergencyRouting& er = c.emergencyRouting;
  EXPECT_EQ(er.erc, "erc");
  EXPECT_EQ(er.testDestination, "psap-test");
  ASSERT_EQ(er.civicRules.size(), 2u);
  EXPECT_EQ(er.civicRules[0].country, "US");
  EXPECT_EQ(er.civicRules[0].a1, "IL");
  EXPECT_EQ(er.civicRules[0].route, (std::vector<std::string>{"il-psap-a", "il-psap-b"}));
  EXPECT_EQ(er.civicRules[1].country, "GB");
  EXPECT_EQ(er.civicRules[1].a1, "");
  EXPECT_EQ(er.civicRules[1].route, std::vector<std::string>{"uk-999"});
  ASSERT_EQ(er.boundaries.size(), 1u);
  EXPECT_EQ(er.boundaries[0].name, "Springfield, IL");
  ASSERT_EQ(er.boundaries[0].polygon.size(), 4u);
  EXPECT_EQ(er.boundaries[0].polygon[0], (std::pair<double, double>{39.70, -89.75}));
  EXPECT_EQ(er.boundaries[0].polygon[2], (std::pair<double, double>{39.90, -89.55}));
  EXPECT_EQ(er.boundaries[0].route, (std::vector<std::string>{"il-psap-a", "il-psap-b"}));

  EXPECT_EQ(c.limits.ordinaryCallsPerSecond, 0);
  EXPECT_EQ(c.limits.ordinaryBurst, 0);
  EXPECT_EQ(c.limits.maxOrdinaryCalls, 0);
  EXPECT_TRUE(c.limits.udpInviteGate);
}

TEST(ConfigTest, AbsentTimersRoutingAndLimitsTakeTheirDefaults) {
  auto r = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.trunks[1].responseTimeoutMs, 2000);
  EXPECT_EQ(c.trunks[1].ringTimeoutMs, 30000);
  EXPECT_EQ(c.trunks[1].optionsIntervalMs, 0);
  EXPECT_EQ(c.emergencyRouting.erc, "");
  EXPECT_EQ(c.emergencyRouting.testDestination, "");
  EXPECT_TRUE(c.emergencyRouting.civicRules.empty());
  EXPECT_TRUE(c.emergencyRouting.boundaries.empty());
  EXPECT_EQ(c.limits.ordinaryCallsPerSecond, 0);
  EXPECT_EQ(c.limits.ordinaryBurst, 0);
  EXPECT_EQ(c.limits.maxOrdinaryCalls, 0);
}

TEST(ConfigTest, TrunkTimersAreSecondsKeptAsMilliseconds) {
  struct Case {
    const char* line;  // replaces line 9 (the second trunk's mode)
    int responseMs, ringMs, optionsMs;
  };
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {"    response_timeout_s: 0.5", 500, 30000, 0},
      {"    response_timeout_s: 2", 2000, 30000, 0},
      {"    response_timeout_s: 0.001", 1, 30000, 0},
      {"    response_timeout_s: 300", 300000, 30000, 0},
      {"    response_timeout_s: 1.25", 1250, 30000, 0},
      {"    ring_timeout_s: 8", 2000, 8000, 0},
      {"    ring_timeout_s: 300.000", 2000, 300000, 0},
      {"    options_interval_s: 0", 2000, 30000, 0},
      {"    options_interval_s: 1", 2000, 30000, 1000},
      {"    options_interval_s: 30.5", 2000, 30000, 30500},
      {"    options_interval_s: 3600", 2000, 30000, 3600000},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parseConfig(withLine(9, c.line), "t.yaml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().trunks[1].responseTimeoutMs, c.responseMs);
    EXPECT_EQ(r.value().trunks[1].ringTimeoutMs, c.ringMs);
    EXPECT_EQ(r.value().trunks[1].optionsIntervalMs, c.optionsMs);
  }
}

TEST(ConfigTest, TrunkTimersOutOfRangeAreRefused) {
  const std::string timeout = "\" is not valid; expected seconds from 0.001 to 300, e.g. 2 or 0.5";
  const std::string probe =
      "\" is not valid; expected 0 (not probed) or seconds from 1 to 3600, e.g. 30";
  struct Case {
    const char* line;  // replaces line 9
    std::string problem;
  };
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {"    response_timeout_s: 0", "t.yaml:9:25: trunks[1].response_timeout_s: \"0" + timeout},
      {"    response_timeout_s: 0.0", "t.yaml:9:25: trunks[1].response_timeout_s: \"0.0" + timeout},
      {"    response_timeout_s: 300.001",
       "t.yaml:9:25: trunks[1].response_timeout_s: \"300.001" + timeout},
      {"    response_timeout_s: -1", "t.yaml:9:25: trunks[1].response_timeout_s: \"-1" + timeout},
      {"    response_timeout_s: 0.0005",
       "t.yaml:9:25: trunks[1].response_timeout_s: \"0.0005" + timeout},
      {"    response_timeout_s: 1e3", "t.yaml:9:25: trunks[1].response_timeout_s: \"1e3" + timeout},
      {"    response_timeout_s: 2s", "t.yaml:9:25: trunks[1].response_timeout_s: \"2s" + timeout},
      {"    response_timeout_s: .5", "t.yaml:9:25: trunks[1].response_timeout_s: \".5" + timeout},
      {"    response_timeout_s:", "t.yaml:9:5: trunks[1].response_timeout_s: has no value"},
      {"    ring_timeout_s: 301", "t.yaml:9:21: trunks[1].ring_timeout_s: \"301" + timeout},
      {"    ring_timeout_s: 99999999999",
       "t.yaml:9:21: trunks[1].ring_timeout_s: \"99999999999" + timeout},
      {"    options_interval_s: 0.5", "t.yaml:9:25: trunks[1].options_interval_s: \"0.5" + probe},
      {"    options_interval_s: 3601", "t.yaml:9:25: trunks[1].options_interval_s: \"3601" + probe},
      {"    options_interval_s: -30", "t.yaml:9:25: trunks[1].options_interval_s: \"-30" + probe},
      {"    options_interval_s: [30]",
       "t.yaml:9:25: trunks[1].options_interval_s: expected a single value"},
      {"    ring_timeout: 8",
       "t.yaml:9:5: trunks[1].ring_timeout: unknown key; did you mean \"ring_timeout_s\"?"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parseConfig(withLine(9, c.line), "t.yaml");
    auto found = problems(r);
    ASSERT_EQ(found.size(), 1u) << (r.ok() ? "accepted" : r.error().message);
    EXPECT_EQ(found[0], c.problem);
  }
}

// The valid file with an emergency_routing section (from line 15 on).
std::string withRouting(const std::vector<std::string>& section) {
  auto lines = kValid;
  lines.emplace_back("emergency_routing:");
  lines.insert(lines.end(), section.begin(), section.end());
  return text(lines);
}

TEST(ConfigTest, EmergencyRoutingIsRead) {
  auto r = parseConfig(withRouting({
                           "  erc: psap",                                          // 16
                           "  test_destination: carrier",                          // 17
                           "  civic_rules:",                                       // 18
                           "    - match: {Country: us, a1: il, A3: Springfield}",  // 19
                           "      route: [psap, carrier]",                         // 20
                           "    - match: {COUNTRY: GB, pc: \"EC1A 1AA\"}",         // 21
                           "      route: [carrier]",                               // 22
                           "  boundaries:",                                        // 23
                           "    - name: Springfield, IL",                          // 24
                           "      polygon: [[39.7, -89.75], [39.9, -89.75], [39.9, -89.55]]",
                           "      route: [psap]",                              // 26
                           "    - name: poles",                                // 27
                           "      polygon: [[90, -180], [-90, 180], [0, 0]]",  // 28
                           "      route: [carrier, psap]",                     // 29
                       }),
                       "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const EmergencyRouting& er = r.value().emergencyRouting;
  EXPECT_EQ(er.erc, "psap");
  EXPECT_EQ(er.testDestination, "carrier");  // any trunk may be named, as in psap_route
  ASSERT_EQ(er.civicRules.size(), 2u);
  // Keys in any case; the country upper-cased, the other values kept as written.
  EXPECT_EQ(er.civicRules[0].country, "US");
  EXPECT_EQ(er.civicRules[0].a1, "il");
  EXPECT_EQ(er.civicRules[0].a2, "");
  EXPECT_EQ(er.civicRules[0].a3, "Springfield");
  EXPECT_EQ(er.civicRules[0].route, (std::vector<std::string>{"psap", "carrier"}));
  EXPECT_EQ(er.civicRules[1].country, "GB");
  EXPECT_EQ(er.civicRules[1].pc, "EC1A 1AA");
  ASSERT_EQ(er.boundaries.size(), 2u);
  EXPECT_EQ(er.boundaries[0].name, "Springfield, IL");
  EXPECT_EQ(er.boundaries[0].polygon, (std::vector<std::pair<double, double>>{
                                          {39.7, -89.75}, {39.9, -89.75}, {39.9, -89.55}}));
  EXPECT_EQ(er.boundaries[1].polygon,
            (std::vector<std::pair<double, double>>{{90, -180}, {-90, 180}, {0, 0}}));
  EXPECT_EQ(er.boundaries[1].route, (std::vector<std::string>{"carrier", "psap"}));

  // Empty lists are allowed: no rules, no boundaries.
  auto empty = parseConfig(withRouting({"  civic_rules: []", "  boundaries: []"}), "t.yaml");
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty.value().emergencyRouting.civicRules.empty());
}

TEST(ConfigTest, EmergencyRoutingTrunkNamesAreChecked) {
  auto r = parseConfig(withRouting({
                           "  erc: ercc",                              // 16
                           "  test_destination: psapp",                // 17
                           "  civic_rules:",                           // 18
                           "    - match: {country: US}",               // 19
                           "      route: [psap, pasp]",                // 20
                           "  boundaries:",                            // 21
                           "    - name: b",                            // 22
                           "      polygon: [[0, 0], [0, 1], [1, 1]]",  // 23
                           "      route: [\"\", carier]",              // 24
                       }),
                       "t.yaml");
  EXPECT_EQ(problems(r),
            (std::vector<std::string>{
                "t.yaml:16:8: emergency_routing.erc: no trunk is named \"ercc\"",
                "t.yaml:17:21: emergency_routing.test_destination: no trunk is named "
                "\"psapp\"; did you mean \"psap\"?",
                "t.yaml:20:21: emergency_routing.civic_rules[0].route[1]: no trunk is named "
                "\"pasp\"; did you mean \"psap\"?",
                "t.yaml:24:15: emergency_routing.boundaries[0].route[0]: \"\" is not valid; "
                "expected a non-empty string",
                "t.yaml:24:19: emergency_routing.boundaries[0].route[1]: no trunk is named "
                "\"carier\"; did you mean \"carrier\"?",
            }));
}

TEST(ConfigTest, CivicRuleMistakesAreRefused) {
  struct Case {
    std::vector<std::string> section;  // from line 16 on
    std::string problem;
  };
  const std::string rules = "  civic_rules:";  // line 16; the first rule starts on line 17
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {{rules, "    - match: {}", "      route: [psap]"},
       "t.yaml:17:14: emergency_routing.civic_rules[0].match: must name at least one of country, "
       "A1, A2, A3 or PC"},
      {{rules, "    - match: US", "      route: [psap]"},
       "t.yaml:17:14: emergency_routing.civic_rules[0].match: expected a mapping of country, A1, "
       "A2, A3, PC (RFC 5139), e.g. {country: US, A1: IL}"},
      {{rules, "    - match: {country: US}", "      route: []"},
       "t.yaml:18:14: emergency_routing.civic_rules[0].route: must not be empty"},
      {{rules, "    - route: [psap]"},
       "t.yaml:17:7: emergency_routing.civic_rules[0].match: required key is missing"},
      {{rules, "    - match: {country: US}"},
       "t.yaml:17:7: emergency_routing.civic_rules[0].route: required key is missing"},
      {{rules, "    - match: {contry: US}", "      route: [psap]"},
       "t.yaml:17:15: emergency_routing.civic_rules[0].match.contry: unknown key; did you mean "
       "\"country\"?"},
      {{rules, "    - match: {country: US, A4: x}", "      route: [psap]"},
       "t.yaml:17:28: emergency_routing.civic_rules[0].match.A4: unknown key; a rule matches on "
       "country, A1, A2, A3 and PC"},
      {{rules, "    - match: {country: US, A1: IL, a1: IN}", "      route: [psap]"},
       "t.yaml:17:36: emergency_routing.civic_rules[0].match.a1: duplicate key (first at line 17)"},
      {{rules, "    - match: {country: USA}", "      route: [psap]"},
       "t.yaml:17:24: emergency_routing.civic_rules[0].match.country: \"USA\" is not valid; "
       "expected two letters (ISO 3166), e.g. \"US\""},
      {{rules, "    - match: {country: US, A1:}", "      route: [psap]"},
       "t.yaml:17:28: emergency_routing.civic_rules[0].match.A1: has no value"},
      {{rules, "    - match: {country: US, a1: IL}", "      route: [psap]",
        "    - match: {A1: il, Country: us}", "      route: [carrier]"},
       "t.yaml:19:14: emergency_routing.civic_rules[1].match: the same match as "
       "emergency_routing.civic_rules[0].match (line 17), which always wins; this rule would "
       "never be used"},
      {{rules, "    - {match: {country: US}, route: [psap], via: x}"},
       "t.yaml:17:45: emergency_routing.civic_rules[0].via: unknown key; expected match or route"},
      {{"  civic_rule: []"},
       "t.yaml:16:3: emergency_routing.civic_rule: unknown key; did you mean \"civic_rules\"?"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.section[1 < c.section.size() ? 1 : 0]);
    auto r = parseConfig(withRouting(c.section), "t.yaml");
    auto found = problems(r);
    ASSERT_EQ(found.size(), 1u) << (r.ok() ? "accepted" : r.error().message);
    EXPECT_EQ(found[0], c.problem);
  }
}

TEST(ConfigTest, BoundaryMistakesAreRefused) {
  struct Case {
    std::vector<std::string> boundary;  // from line 17 on
    std::string problem;
  };
  const std::string latitude = " is not valid; expected a latitude in degrees from -90 to 90";
  const std::string longitude = " is not valid; expected a longitude in degrees from -180 to 180";
  const std::string route = "      route: [psap]";
  // clang-format off: one row per case reads as a table
  const Case cases[] = {
      {{"    - name: b", "      polygon: [[0, 0], [0, 1]]", route},
       "t.yaml:18:16: emergency_routing.boundaries[0].polygon: has 2 points; a polygon needs at "
       "least 3"},
      {{"    - name: b", "      polygon: []", route},
       "t.yaml:18:16: emergency_routing.boundaries[0].polygon: must not be empty"},
      {{"    - name: b", "      polygon: [[0, 0], [0, 1, 2], [1, 1]]", route},
       "t.yaml:18:25: emergency_routing.boundaries[0].polygon[1]: expected a point [latitude, "
       "longitude], e.g. [39.78, -89.65]"},
      {{"    - name: b", "      polygon: [[0, 0], 5, [1, 1]]", route},
       "t.yaml:18:25: emergency_routing.boundaries[0].polygon[1]: expected a point [latitude, "
       "longitude], e.g. [39.78, -89.65]"},
      {{"    - name: b", "      polygon: [[0, 0], [90.5, 1], [1, 1]]", route},
       "t.yaml:18:26: emergency_routing.boundaries[0].polygon[1][0]: \"90.5\"" + latitude},
      {{"    - name: b", "      polygon: [[0, 0], [0, -180.01], [1, 1]]", route},
       "t.yaml:18:29: emergency_routing.boundaries[0].polygon[1][1]: \"-180.01\"" + longitude},
      {{"    - name: b", "      polygon: [[0, 0], [north, 1], [1, 1]]", route},
       "t.yaml:18:26: emergency_routing.boundaries[0].polygon[1][0]: \"north\"" + latitude},
      {{"    - name: b", "      polygon: [[0, 0], [nan, 1], [1, 1]]", route},
       "t.yaml:18:26: emergency_routing.boundaries[0].polygon[1][0]: \"nan\"" + latitude},
      {{"    - polygon: [[0, 0], [0, 1], [1, 1]]", route},
       "t.yaml:17:7: emergency_routing.boundaries[0].name: required key is missing"},
      {{"    - name: b", route},
       "t.yaml:17:7: emergency_routing.boundaries[0].polygon: required key is missing"},
      {{"    - name: b", "      polygon: [[0, 0], [0, 1], [1, 1]]", "      route: []"},
       "t.yaml:19:14: emergency_routing.boundaries[0].route: must not be empty"},
      {{"    - name: b", "      polygon: [[0, 0], [0, 1], [1, 1]]", route, "    - name: b",
        "      polygon: [[0, 0], [0, 1], [1, 1]]", route},
       "t.yaml:20:13: emergency_routing.boundaries[1].name: duplicate boundary name \"b\" (also "
       "emergency_routing.boundaries[0], line 17)"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.boundary[c.boundary.size() > 1 ? 1 : 0]);
    std::vector<std::string> section{"  boundaries:"};
    section.insert(section.end(), c.boundary.begin(), c.boundary.end());
    auto r = parseConfig(withRouting(section), "t.yaml");
    auto found = problems(r);
    ASSERT_EQ(found.size(), 1u) << (r.ok() ? "accepted" : r.error().message);
    EXPECT_EQ(found[0], c.problem);
  }
}

TEST(ConfigTest, UdpInviteGateIsAYesOrNo) {
  auto lines = kValid;
  lines.insert(lines.end(), {"limits:", "  udp_invite_gate: false"});
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r.value().limits.udpInviteGate);
  lines.back() = "  udp_invite_gate: sometimes";
  const auto p = problems(parseConfig(text(lines), "t.yaml"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("t.yaml:16:20: limits.udp_invite_gate: ", 0), 0u) << p[0];
}

TEST(ConfigTest, LimitsAreNonNegativeWholeNumbers) {
  auto lines = kValid;
  lines.insert(lines.end(), {"limits:", "  ordinary_calls_per_second: 50", "  ordinary_burst: 100",
                             "  max_ordinary_calls: 0"});
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().limits.ordinaryCallsPerSecond, 50);
  EXPECT_EQ(r.value().limits.ordinaryBurst, 100);
  EXPECT_EQ(r.value().limits.maxOrdinaryCalls, 0);

  lines[15] = "  ordinary_calls_per_second: -1";
  lines[16] = "  ordinary_burst: 1.5";
  lines[17] = "  max_ordinary_calls: 99999999999";
  lines.push_back("  max_ordinary_call: 5");
  EXPECT_EQ(problems(parseConfig(text(lines), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:16:30: limits.ordinary_calls_per_second: \"-1\" is not valid; expected a "
                "whole number, 0 or more",
                "t.yaml:17:19: limits.ordinary_burst: \"1.5\" is not valid; expected a whole "
                "number, 0 or more",
                "t.yaml:18:23: limits.max_ordinary_calls: \"99999999999\" is too large; expected "
                "at most 1000000",
                "t.yaml:19:3: limits.max_ordinary_call: unknown key; did you mean "
                "\"max_ordinary_calls\"?",
            }));

  lines.resize(16);
  lines[15] = "  ordinary_calls_per_second: 1000001";
  expectOnlyProblem(parseConfig(text(lines), "t.yaml"),
                    "t.yaml:16:30: limits.ordinary_calls_per_second: \"1000001\" is too large");
}

}  // namespace
TEST(ConfigTest, RespondersAndNotifications) {
  auto lines = kValid;
  lines.insert(lines.end(),
               {"    responders:",                                                     // 15
                "      - {webhook: \"http://127.0.0.1:8089/alerts\", secret: \"k\"}",  // 16
                "      - {email: \"security@hq.example\"}",                            // 17
                "      - {sip: \"sip:desk@127.0.0.1:5094\", tier: 2}",                 // 18
                "notifications:",                                                      // 19
                "  smtp: {host: 127.0.0.1, port: 2525, from: \"sos@hq.example\"}",     // 20
                "  escalate_after_s: 30",                                              // 21
                "  timeout_s: 0.5",                                                    // 22
                "  max_attempts: 3"});                                                 // 23
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& resp = r.value().sites[0].responders;
  ASSERT_EQ(resp.size(), 3u);
  EXPECT_EQ(resp[0].channel, Responder::Channel::Webhook);
  EXPECT_EQ(resp[0].target, "http://127.0.0.1:8089/alerts");
  EXPECT_EQ(resp[0].secret, "k");
  EXPECT_EQ(resp[0].tier, 1);
  EXPECT_EQ(resp[1].channel, Responder::Channel::Email);
  EXPECT_EQ(resp[2].channel, Responder::Channel::Sip);
  EXPECT_EQ(resp[2].tier, 2);
  const Notifications& n = r.value().notifications;
  EXPECT_EQ(n.smtpHost, "127.0.0.1");
  EXPECT_EQ(n.smtpPort, 2525);
  EXPECT_EQ(n.mailFrom, "sos@hq.example");
  EXPECT_EQ(n.escalateAfterSeconds, 30);
  EXPECT_EQ(n.timeoutMs, 500);
  EXPECT_EQ(n.maxAttempts, 3);

  auto bad = lines;
  bad[15] = "      - {webhook: \"ftp://alerts.example/x\", email: \"a@b\"}";
  bad[16] = "      - {email: \"not an address\", secret: \"k\"}";
  bad[17] = "      - {sip: \"sip:desk@127.0.0.1\", tier: 0}";
  bad[19] = "  smtp: {host: mail_example, port: 2525, from: \"sos@hq.example\"}";
  EXPECT_EQ(problems(parseConfig(text(bad), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:16:9: sites[0].responders[0]: a responder has one channel: webhook, "
                "email or sip, not several",
                "t.yaml:16:19: sites[0].responders[0].webhook: \"ftp://alerts.example/x\" is "
                "not valid; expected an http:// or https:// URL, e.g. "
                "\"https://alerts.example.com/hook\" or \"http://127.0.0.1:8089/alerts\"",
                "t.yaml:17:17: sites[0].responders[1].email: \"not an address\" is not valid; "
                "expected an e-mail address, e.g. \"security@hq.example\"",
                "t.yaml:17:43: sites[0].responders[1].secret: only a webhook responder has a "
                "secret",
                "t.yaml:18:43: sites[0].responders[2].tier: \"0\" is not valid; expected a tier "
                "from 1 to 9",
                "t.yaml:20:16: notifications.smtp.host: \"mail_example\" is not valid; expected "
                "a host name or a numeric address, e.g. \"smtp.example.com\"",
            }));
}

// Issue 14: the SIP edge's settings, and a UDP trunk's TCP fallback for oversized requests.
TEST(ConfigTest, EdgeSettingsHaveSafeDefaultsAndAreChecked) {
  auto c = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().edge.untrusted, UntrustedPolicy::Reject);
  EXPECT_EQ(c.value().edge.untrustedRepliesPerSource, 5);
  EXPECT_EQ(c.value().edge.untrustedRepliesPerSecond, 200);
  EXPECT_EQ(c.value().edge.maxServerTransactions, 100000);
  EXPECT_EQ(c.value().edge.maxTcpConnections, 4096);
  EXPECT_EQ(c.value().edge.tcpIdleTimeoutMs, 600000);
  EXPECT_EQ(c.value().edge.tcpMessageTimeoutMs, 10000);
  EXPECT_EQ(c.value().edge.ordinaryRelay, OrdinaryRelay::B2bua);
  EXPECT_EQ(c.value().edge.emergencyRelay, EmergencyRelay::B2bua);
  EXPECT_FALSE(c.value().trunks[0].tcpFallback);

  auto lines = kValid;
  lines.insert(lines.begin() + 5, "    tcp_fallback: true");        // line 6, the carrier
  lines.insert(lines.end(), {"edge:",                               // 16
                             "  untrusted: drop",                   // 17
                             "  untrusted_replies_per_source: 2",   // 18
                             "  untrusted_replies_per_second: 50",  // 19
                             "  max_server_transactions: 0",        // 20
                             "  max_tcp_connections: 100",          // 21
                             "  tcp_idle_timeout_s: 30",            // 22
                             "  tcp_message_timeout_s: 0.5",        // 23
                             "  ordinary_relay: stateless",         // 24
                             "  emergency_relay: stateful"});       // 25
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Edge& e = r.value().edge;
  EXPECT_EQ(e.untrusted, UntrustedPolicy::Drop);
  EXPECT_EQ(e.untrustedRepliesPerSource, 2);
  EXPECT_EQ(e.untrustedRepliesPerSecond, 50);
  EXPECT_EQ(e.maxServerTransactions, 0);
  EXPECT_EQ(e.maxTcpConnections, 100);
  EXPECT_EQ(e.tcpIdleTimeoutMs, 30000);
  EXPECT_EQ(e.tcpMessageTimeoutMs, 500);
  EXPECT_TRUE(r.value().trunks[0].tcpFallback);
  EXPECT_EQ(toString(e.untrusted), "drop");
  EXPECT_EQ(e.ordinaryRelay, OrdinaryRelay::Stateless);
  EXPECT_EQ(toString(e.ordinaryRelay), "stateless");
  EXPECT_EQ(e.emergencyRelay, EmergencyRelay::Stateful);
  EXPECT_EQ(toString(e.emergencyRelay), "stateful");

  auto bad = lines;
  bad[5] = "    tcp_fallback: yes";
  bad[16] = "  untrusted: refuse";
  bad[21] = "  tcp_idle_timeout_s: 0";
  bad[22] = "  tcp_message_timeout_s: 0.05";
  bad[23] = "  ordinary_relay: proxy";
  bad[24] = "  emergency_relay: stateless";
  EXPECT_EQ(problems(parseConfig(text(bad), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:6:19: trunks[0].tcp_fallback: \"yes\" is not valid; expected true or "
                "false",
                "t.yaml:17:14: edge.untrusted: \"refuse\" is not one of reject, drop",
                "t.yaml:22:23: edge.tcp_idle_timeout_s: \"0\" is not valid; expected seconds "
                "from 0.1 to 86400, e.g. 600",
                "t.yaml:23:26: edge.tcp_message_timeout_s: \"0.05\" is not valid; expected at "
                "least 0.1",
                "t.yaml:24:19: edge.ordinary_relay: \"proxy\" is not one of b2bua, stateless",
                "t.yaml:25:20: edge.emergency_relay: \"stateless\" is not one of b2bua, stateful",
            }));

  auto tcpTrunk = lines;
  tcpTrunk.insert(tcpTrunk.begin() + 5, "    transport: tcp");
  expectOnlyProblem(parseConfig(text(tcpTrunk), "t.yaml"),
                    "t.yaml:7:19: trunks[0].tcp_fallback: applies to a UDP trunk only");
}

// SIP over TLS (issue 20): listen.tls with its files (read at load, beside the file when
// relative), "tls" among the transports, TLS trunks with the name their certificate carries.
TEST(ConfigTest, SipOverTlsNeedsListenTlsAndItsFiles) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sos-config-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"sip.crt", "sip.key", "ca.pem"}) std::ofstream(dir / f) << "PEM\n";
  const std::string source = (dir / "t.yaml").string();

  auto lines = kValid;
  lines.insert(lines.begin() + 8, "    transport: tls");                   // 9, the psap
  lines.insert(lines.begin() + 9, "    tls_name: psap.example.net");       // 10
  lines.insert(lines.end(), {"listen:",                                    // 17
                             "  transports: [udp, tcp, tls]",              // 18
                             "  tls:",                                     // 19
                             "    cert_file: sip.crt",                     // 20
                             "    key_file: sip.key",                      // 21
                             "    ca_file: " + (dir / "ca.pem").string(),  // 22
                             "    require_client_certificates: true"});
  auto c = parseConfig(text(lines), source);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c.value().listen.tls.has_value());
  const config::SipTls& tls = *c.value().listen.tls;
  EXPECT_EQ(tls.port, 5061);
  EXPECT_EQ(tls.certificate, (dir / "sip.crt").string());  // beside the file
  EXPECT_EQ(tls.ca, (dir / "ca.pem").string());
  EXPECT_TRUE(tls.verifyServerNames);
  EXPECT_TRUE(tls.requireClientCertificates);
  EXPECT_EQ(c.value().trunks[1].transport, Transport::Tls);
  EXPECT_EQ(c.value().trunks[1].tlsName, "psap.example.net");
  EXPECT_EQ(toString(Transport::Tls), "tls");

  auto bad = lines;
  bad[9] = "    tls_name: not a name";
  bad[20] = "    key_file: missing.key";
  bad.push_back("  port: 5061");  // listen.port, the TLS port's default
  EXPECT_EQ(problems(parseConfig(text(bad), source)),
            (std::vector<std::string>{
                source + ":10:15: trunks[1].tls_name: \"not a name\" is not valid; expected a "
                         "host name, e.g. \"sosproxy.example.com\"",
                source + ":20:5: listen.tls: would listen on 5061 (its default), the port of UDP "
                         "and TCP too: give listen.tls a port of its own",
                source + ":21:15: listen.tls.key_file: \"" + (dir / "missing.key").string() +
                    "\" cannot be read",
            }));

  auto noTls = kValid;
  noTls.insert(noTls.begin() + 8, "    transport: tls");
  noTls.insert(noTls.begin() + 5, "    tls_name: carrier.example.net");
  noTls.insert(noTls.end(), {"listen:", "  transports: [udp, tls]"});
  EXPECT_EQ(problems(parseConfig(text(noTls), source)),
            (std::vector<std::string>{
                source + ":6:15: trunks[0].tls_name: applies to a TLS trunk only (transport: tls)",
                source + ":10:16: trunks[1].transport: a TLS trunk needs \"tls\" among "
                         "listen.transports and listen.tls (whose ca_file its certificate "
                         "must chain to)",
                source + ":18:21: listen.transports[1]: \"tls\" needs listen.tls (its cert_file, "
                         "key_file and ca_file)",
            }));
  std::filesystem::remove_all(dir);
}

// Nomadic emergency services (issue 17): the account's setting (location.nomadic, on unless
// said), which a site may override (sites[].nomadic); a site that does not say takes the
// account's. A value that is no boolean is refused at its line.
TEST(ConfigTest, NomadicServicesPerAccountAndPerSite) {
  auto c = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c.value().location.nomadic);
  EXPECT_FALSE(c.value().sites[0].nomadic.has_value());
  EXPECT_TRUE(c.value().nomadicServices("HQ"));

  auto lines = kValid;
  lines.insert(lines.end(), {"    nomadic: false",           // 15
                             "  - name: London",             // 16
                             "    country: GB",              // 17
                             "    dial_strings: [\"999\"]",  // 18
                             "    psap_route: [psap]",       // 19
                             "location:",                    // 20
                             "  nomadic: false"});           // 21
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r.value().location.nomadic);
  EXPECT_EQ(r.value().sites[0].nomadic, std::optional<bool>(false));
  EXPECT_FALSE(r.value().nomadicServices("HQ"));
  EXPECT_FALSE(r.value().nomadicServices("London"));  // the account's
  lines[14] = "    nomadic: true";
  lines[20] = "  nomadic: false";
  r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().nomadicServices("HQ"));  // the site's own beats the account's
  EXPECT_FALSE(r.value().nomadicServices("London"));
  EXPECT_FALSE(r.value().nomadicServices("Paris"));  // no such site: the account's

  auto bad = lines;
  bad[14] = "    nomadic: off-site";
  bad[20] = "  nomadic: 0";
  EXPECT_EQ(problems(parseConfig(text(bad), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:15:14: sites[0].nomadic: \"off-site\" is not valid; expected true or "
                "false",
                "t.yaml:21:12: location.nomadic: \"0\" is not valid; expected true or false",
            }));
}

// Who is told of a desk phone on a new network (issue 17): the account's list
// (location.desk_phone_moved, the user alone unless said), a site's own list beside it, and the
// port a phone's SIP MESSAGE goes to. An unknown word is refused at its line.
TEST(ConfigTest, DeskPhoneMovedTellsPerAccountAndPerSite) {
  auto c = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const DeskPhoneMoved& d = c.value().deskPhoneMovedTells("HQ");
  EXPECT_TRUE(d.user);
  EXPECT_FALSE(d.approvers);
  EXPECT_FALSE(d.phone);
  EXPECT_EQ(c.value().location.phoneSipPort, 5060);

  auto lines = kValid;
  lines.insert(lines.end(), {"    desk_phone_moved: [approvers, phone]",  // 15
                             "  - name: London",                          // 16
                             "    country: GB",                           // 17
                             "    dial_strings: [\"999\"]",               // 18
                             "    psap_route: [psap]",                    // 19
                             "location:",                                 // 20
                             "  desk_phone_moved: []",                    // 21
                             "  phone_sip_port: 5062"});                  // 22
  auto r = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const DeskPhoneMoved& hq = r.value().deskPhoneMovedTells("HQ");
  EXPECT_FALSE(hq.user);
  EXPECT_TRUE(hq.approvers);
  EXPECT_TRUE(hq.phone);
  const DeskPhoneMoved& london = r.value().deskPhoneMovedTells("London");  // the account's: []
  EXPECT_FALSE(london.user || london.approvers || london.phone);
  EXPECT_EQ(r.value().location.phoneSipPort, 5062);

  auto bad = lines;
  bad[14] = "    desk_phone_moved: [user, admins]";
  bad[21] = "  phone_sip_port: 70000";
  auto problems_ = problems(parseConfig(text(bad), "t.yaml"));
  ASSERT_EQ(problems_.size(), 2u) << ::testing::PrintToString(problems_);
  EXPECT_EQ(problems_[0].rfind("t.yaml:15:30: sites[0].desk_phone_moved[1]: \"admins\" is not one "
                               "of user, approvers, phone",
                               0),
            0u)
      << problems_[0];
  EXPECT_EQ(problems_[1].rfind("t.yaml:22:19: location.phone_sip_port: ", 0), 0u) << problems_[1];
}

// ---- Scheduled test calls (issue 21): the account's interval, a site's own schedule and
// trunks, each trunk's test destination; every mistake refused with its file:line:column, and a
// trunk a site would test without a destination refused too.

namespace {

const std::vector<std::string> kTestCallsBase = {
    "carrier_trunk: carrier",                      // 1
    "trunks:",                                     // 2
    "  - name: carrier",                           // 3
    "    host: 192.0.2.1",                         // 4
    "  - name: psap-a",                            // 5
    "    host: 192.0.2.5",                         // 6
    "    mode: pidf",                              // 7
    "    test_destination: urn:service:test.sos",  // 8
    "  - name: psap-b",                            // 9
    "    host: 192.0.2.6",                         // 10
    "    mode: elin",                              // 11
    "    test_destination: \"933\"",               // 12
    "  - name: erc",                               // 13
    "    host: 192.0.2.7",                         // 14
    "    mode: both",                              // 15
    "sites:",                                      // 16
    "  - name: HQ",                                // 17
    "    country: US",                             // 18
    "    dial_strings: [\"911\"]",                 // 19
    "    psap_route: [psap-a, psap-b]",            // 20
    "  - name: London",                            // 21
    "    country: GB",                             // 22
    "    dial_strings: [\"999\"]",                 // 23
    "    psap_route: [psap-a]",                    // 24
};

// The base file with `extra` lines inserted after line `after` (1-based; 0: at the start).
std::string withTestCalls(size_t after, const std::vector<std::string>& extra,
                          const std::vector<std::string>& tail = {}) {
  auto lines = kTestCallsBase;
  lines.insert(lines.begin() + static_cast<long>(after), extra.begin(), extra.end());
  lines.insert(lines.end(), tail.begin(), tail.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(TestCallsConfig, NoneWithoutAnInterval) {
  auto r = parseConfig(withTestCalls(0, {}), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().trunks[1].testDestination, "urn:service:test.sos");
  EXPECT_EQ(r.value().trunks[2].testDestination, "933");
  EXPECT_EQ(r.value().testCalls.intervalSeconds, 0);
  EXPECT_TRUE(r.value().testCallTargets().empty());
}

TEST(TestCallsConfig, TheAccountIntervalTestsEverySitesRouteAndASiteMayChangeIt) {
  auto r = parseConfig(withTestCalls(24, {"    test_calls: {interval_s: 0}"},
                                     {"test_calls:", "  interval_s: 86400"}),
                       "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto targets = r.value().testCallTargets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].site, "HQ");
  EXPECT_EQ(targets[0].trunk, "psap-a");
  EXPECT_EQ(targets[0].destination, "urn:service:test.sos");
  EXPECT_EQ(targets[0].intervalMs, 86400000);
  EXPECT_EQ(targets[1].trunk, "psap-b");
  EXPECT_EQ(targets[1].destination, "933");

  auto own = parseConfig(
      withTestCalls(20, {"    test_calls:", "      interval_s: 3600", "      trunks: [psap-b]"}),
      "t.yaml");
  ASSERT_TRUE(own.ok()) << own.error().message;
  const auto hq = own.value().testCallTargets();
  ASSERT_EQ(hq.size(), 1u);
  EXPECT_EQ(hq[0].site, "HQ");
  EXPECT_EQ(hq[0].trunk, "psap-b");
  EXPECT_EQ(hq[0].intervalMs, 3600000);
  EXPECT_EQ(own.value().sites[0].testCalls->at.line, 22);  // where its mapping starts
}

TEST(TestCallsConfig, DefaultTrunksAreTheRouteThenTheErcOnce) {
  auto r = parseConfig(withTestCalls(24, {}, {"emergency_routing: {erc: erc}"}), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.testCallTrunks(c.sites[0]), (std::vector<std::string>{"psap-a", "psap-b", "erc"}));
  EXPECT_EQ(c.testCallTrunks(c.sites[1]), (std::vector<std::string>{"psap-a", "erc"}));
}

TEST(TestCallsConfig, ATrunkTestedWithoutADestinationIsRefusedAtItsPlace) {
  // Listed: blamed on the list item.
  auto listed = problems(
      parseConfig(withTestCalls(20, {"    test_calls: {interval_s: 60, trunks: [psap-a, erc]}"},
                                {"emergency_routing: {erc: erc}"}),
                  "t.yaml"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].rfind("t.yaml:21:51: sites[0].test_calls.trunks[1]: trunk \"erc\" has no "
                            "test_destination to place a test call to; give trunk \"erc\" a "
                            "test_destination",
                            0),
            0u)
      << listed[0];
  // By default (the route and the ERC): blamed on the site's test_calls, else the site.
  auto byDefault = problems(parseConfig(
      withTestCalls(24, {}, {"emergency_routing: {erc: erc}", "test_calls: {interval_s: 60}"}),
      "t.yaml"));
  ASSERT_EQ(byDefault.size(), 2u) << byDefault[0];
  EXPECT_EQ(byDefault[0].rfind("t.yaml:17:5: sites[0]: site \"HQ\" places test calls every 60 s "
                               "to the trunks of its psap_route and the ERC, but trunk \"erc\" "
                               "has no test_destination",
                               0),
            0u)
      << byDefault[0];
  EXPECT_NE(byDefault[0].find("or list the trunks to test in test_calls.trunks"),
            std::string::npos);
  EXPECT_EQ(byDefault[1].rfind("t.yaml:21:5: sites[1]: site \"London\"", 0), 0u) << byDefault[1];
}

TEST(TestCallsConfig, ValuesAreChecked) {
  const std::string interval =
      "\" is not valid; expected 0 (none) or whole seconds from 1 to 2678400 (31 days), e.g. "
      "86400";
  const std::string destination =
      "\" is not valid; expected a test service URN (RFC 5031), e.g. \"urn:service:test.sos\", "
      "or a test number, e.g. \"933\"";
  auto found = problems(parseConfig(
      withTestCalls(24,
                    {"    test_calls: {interval_s: 1.5, trunks: [psap-a, psap-a, nope], every: 2}"},
                    {"test_calls: {interval_s: 2678401}"}),
      "t.yaml"));
  auto destinations = problems(parseConfig(
      withTestCalls(
          12,
          {"  - name: x", "    host: 192.0.2.9", "    test_destination: urn:service:sos",
           "  - name: y", "    host: 192.0.2.9", "    test_destination: \"9 33\"", "  - name: z",
           "    host: 192.0.2.9", "    test_destination: URN:Service:Test.sos.police"}),
      "t.yaml"));
  ASSERT_EQ(destinations.size(), 2u) << (destinations.empty() ? "" : destinations[0]);
  EXPECT_EQ(destinations[0],
            "t.yaml:15:23: trunks[3].test_destination: \"urn:service:sos" + destination);
  EXPECT_EQ(destinations[1], "t.yaml:18:23: trunks[4].test_destination: \"9 33" + destination);
  std::vector<std::string> want = {
      "t.yaml:25:30: sites[1].test_calls.interval_s: \"1.5" + interval,
      "t.yaml:25:52: sites[1].test_calls.trunks[1]: duplicate trunk \"psap-a\"",
      "t.yaml:25:60: sites[1].test_calls.trunks[2]: no trunk is named \"nope\"",
      "t.yaml:25:67: sites[1].test_calls.every: unknown key; expected interval_s or trunks",
      "t.yaml:26:26: test_calls.interval_s: \"2678401" + interval,
  };
  ASSERT_EQ(found.size(), want.size()) << (found.empty() ? "" : found[0]);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(found[i].rfind(want[i], 0), 0u) << found[i] << "\n  wanted " << want[i];
}

TEST(TestCallsConfig, TheDemoGivesItsPsapTrunksTestDestinations) {
  auto r = loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* name : {"il-psap-a", "il-psap-b", "erc", "uk-999"}) {
    const Trunk* t = r.value().findTrunk(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_FALSE(t->testDestination.empty()) << name;
  }
}

}  // namespace

}  // namespace sos::config

namespace sos::config {

// admin.public_url (issue 17): where users reach the self-service page, for the messages that
// send them there. Without it the admin server's own address stands in (bracketed when IPv6).
// Anything but an http(s) URL of a host, with an optional port and path, is refused at its line.
TEST(ConfigTest, PublicUrlNamesTheSelfServicePage) {
  auto c = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().admin.publicUrl, "");
  EXPECT_EQ(c.value().selfServiceUrl(), "http://127.0.0.1:8080/me");

  for (const auto& [given, url, host] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"https://sos.example.com", "https://sos.example.com/me", "sos.example.com"},
           {"https://sos.example.com/", "https://sos.example.com/me", "sos.example.com"},
           {"http://10.1.0.5:8080", "http://10.1.0.5:8080/me", "10.1.0.5"},
           {"https://intranet.example.com:8443/e911/", "https://intranet.example.com:8443/e911/me",
            "intranet.example.com"},
           {"http://[2001:db8::5]:8080", "http://[2001:db8::5]:8080/me", "2001:db8::5"}}) {
    auto lines = kValid;
    lines.insert(lines.end(), {"admin:", "  public_url: \"" + given + "\""});
    auto r = parseConfig(text(lines), "t.yaml");
    ASSERT_TRUE(r.ok()) << given << ": " << r.error().message;
    EXPECT_EQ(r.value().selfServiceUrl(), url) << given;
    EXPECT_EQ(publicUrlHost(r.value().admin.publicUrl), host) << given;
  }

  auto v6 = kValid;
  v6.insert(v6.end(), {"admin:", "  address: \"::1\"", "  port: 8081"});
  auto r = parseConfig(text(v6), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().selfServiceUrl(), "http://[::1]:8081/me");

  for (const std::string bad :
       {"sos.example.com", "ftp://sos.example.com", "https://", "https://sos.example.com?x=1",
        "https://sos.example.com/#me", "https://user@sos.example.com",
        "https://sos.example.com:", "https://sos.example.com:99999", "https://-sos.example.com",
        "https://sos example.com", "http://[2001:db8::5"}) {
    auto lines = kValid;
    lines.insert(lines.end(), {"admin:", "  public_url: \"" + bad + "\""});
    EXPECT_EQ(problems(parseConfig(text(lines), "t.yaml")),
              (std::vector<std::string>{
                  "t.yaml:16:15: admin.public_url: \"" + bad +
                  "\" is not valid; expected an http:// or https:// URL of the admin server as "
                  "users reach it, without query or fragment, e.g. \"https://sos.example.com\" or "
                  "\"http://10.1.0.5:8080\""}))
        << bad;
  }
}

// Issue 20: the admin server's HTTPS, and plain HTTP beyond loopback refused at its line unless
// admin.allow_plain_http says it is meant.
TEST(ConfigTest, AdminPlainHttpBeyondLoopbackNeedsTlsOrConsent) {
  auto c = parseConfig(text(kValid), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c.value().admin.https());
  EXPECT_FALSE(c.value().admin.allowPlainHttp);

  for (const std::string loopback : {"127.0.0.1", "127.3.0.1", "\"::1\""}) {
    auto lines = kValid;
    lines.insert(lines.end(), {"admin:", "  address: " + loopback});
    EXPECT_TRUE(parseConfig(text(lines), "t.yaml").ok()) << loopback;
  }
  auto lines = kValid;
  lines.insert(lines.end(), {"admin:",                                              // 15
                             "  address: 0.0.0.0",                                  // 16
                             "  device_listen: {address: 10.0.0.5, port: 8081}"});  // 17
  EXPECT_EQ(problems(parseConfig(text(lines), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:16:12: admin.address: plain HTTP for the admin API on \"0.0.0.0\", which "
                "is not a loopback address: set admin.tls (cert_file, key_file) for HTTPS, or "
                "admin.allow_plain_http: true if plain HTTP there is meant",
                "t.yaml:17:28: admin.device_listen.address: plain HTTP for the device reports on "
                "\"10.0.0.5\", which is not a loopback address: set admin.tls (cert_file, "
                "key_file) for HTTPS, or admin.allow_plain_http: true if plain HTTP there is "
                "meant"}));

  lines.push_back("  allow_plain_http: true");
  auto allowed = parseConfig(text(lines), "t.yaml");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_TRUE(allowed.value().admin.allowPlainHttp);

  // Both files, readable, relative to the file's directory; a missing one is refused.
  auto https = kValid;
  const std::string dir = kSource + "/tests/config/data";
  https.insert(https.end(), {"admin:", "  address: 0.0.0.0",
                             "  tls: {cert_file: " + dir +
                                 "/tls-placeholder.txt, key_file: "
                                 "tls-placeholder.txt}"});
  auto withTls = parseConfig(text(https), dir + "/t.yaml");
  ASSERT_TRUE(withTls.ok()) << withTls.error().message;
  EXPECT_TRUE(withTls.value().admin.https());
  EXPECT_EQ(withTls.value().admin.tls.keyFile, dir + "/tls-placeholder.txt");
  https.back() = "  tls: {cert_file: no-such.pem}";
  EXPECT_EQ(
      problems(parseConfig(text(https), dir + "/t.yaml")),
      (std::vector<std::string>{
          dir + "/t.yaml:17:8: admin.tls.key_file: required key is missing",
          dir + "/t.yaml:17:20: admin.tls.cert_file: \"" + dir + "/no-such.pem\" cannot be read"}));
}

// Issue 20: the mail relay's TLS and credentials; the password from the file, an environment
// variable or a file, exactly one of them.
TEST(ConfigTest, SmtpTlsAndAuthentication) {
  auto base = kValid;
  base.insert(base.end(), {"notifications:",
                           "  smtp: {host: smtp.example.com, tls: implicit, "
                           "username: alerts, password: \"pw\"}"});
  auto r = parseConfig(text(base), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Notifications& n = r.value().notifications;
  EXPECT_EQ(n.smtpHost, "smtp.example.com");
  EXPECT_EQ(n.smtpTls, SmtpTls::Implicit);
  EXPECT_EQ(n.smtpPort, 465);
  EXPECT_EQ(n.smtpAuth.username, "alerts");
  EXPECT_EQ(n.smtpAuth.password, "pw");

  ::setenv("SOS_TEST_SMTP_PASSWORD", "from the environment", 1);
  base.back() =
      "  smtp: {host: 192.0.2.25, port: 587, tls: required, username: a, password_env: "
      "SOS_TEST_SMTP_PASSWORD}";
  r = parseConfig(text(base), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().notifications.smtpPort, 587);
  EXPECT_EQ(r.value().notifications.smtpTls, SmtpTls::Required);
  EXPECT_EQ(r.value().notifications.smtpAuth.password, "from the environment");

  base.back() =
      "  smtp: {tls: sometimes, username: a, password: x, password_env: SOS_TEST_NOT_SET_AT_ALL}";
  EXPECT_EQ(problems(parseConfig(text(base), "t.yaml")),
            (std::vector<std::string>{
                "t.yaml:16:9: notifications.smtp: give the password once: password, "
                "password_env or password_file",
                "t.yaml:16:15: notifications.smtp.tls: \"sometimes\" is not one of off, optional, "
                "required, implicit",
                "t.yaml:16:66: notifications.smtp.password_env: the environment variable "
                "\"SOS_TEST_NOT_SET_AT_ALL\" is not set or empty"}));
  base.back() = "  smtp: {username: a}";
  EXPECT_EQ(problems(parseConfig(text(base), "t.yaml")),
            (std::vector<std::string>{"t.yaml:16:20: notifications.smtp.username: a username "
                                      "needs a password, password_env or password_file"}));
}

}  // namespace sos::config
