#pragma once
// Internal to config/: the value checks and word tables of the configuration file. The parser
// (config_parser.h) applies them; toString() prints the same words the file uses.

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"

namespace sos::config::detail {

// Each returns what is wrong with a value (the text after the quoted value), or "".
std::string checkAddress(std::string_view s);     // a numeric IPv4 or IPv6 address
std::string checkDialString(std::string_view s);  // "911": digits, '*', '#'
std::string checkPrefix(std::string_view s);      // "9"
std::string checkTestNumber(std::string_view s);  // "933"
// A trunk's test_destination: "urn:service:test.sos" or "933".
std::string checkTestDestination(std::string_view s);
std::string checkExtension(std::string_view s);   // "1001" or a prefix pattern "1*"
std::string checkHost(std::string_view s);        // a trunk's host: numeric, never DNS
std::string checkHostName(std::string_view s);    // RFC 1123: "sosproxy.example.com"
std::string checkWebhookUrl(std::string_view s);  // "http://127.0.0.1:8089/alerts"
std::string checkEmail(std::string_view s);       // "security@hq.example"
std::string checkSipTarget(std::string_view s);   // "sip:security-desk@127.0.0.1:5094"
std::string checkPublicUrl(std::string_view s);   // "https://sos.example.com"
std::string checkMailHost(std::string_view s);    // "smtp.example.com" or "192.0.2.25"
// Is `s` a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)?
bool isLoopback(std::string_view s);

// The words the file uses for each enumeration; toString() prints the same ones.
template <class E, size_t N>
using Names = std::array<std::pair<std::string_view, E>, N>;

inline constexpr Names<Transport, 3> kTransports{
    {{"udp", Transport::Udp}, {"tcp", Transport::Tcp}, {"tls", Transport::Tls}}};
inline constexpr Names<TrunkMode, 4> kModes{{{"plain", TrunkMode::Plain},
                                             {"pidf", TrunkMode::Pidf},
                                             {"elin", TrunkMode::Elin},
                                             {"both", TrunkMode::Both}}};
inline constexpr Names<UntrustedPolicy, 2> kUntrustedPolicies{
    {{"reject", UntrustedPolicy::Reject}, {"drop", UntrustedPolicy::Drop}}};
inline constexpr Names<OrdinaryRelay, 2> kOrdinaryRelays{
    {{"b2bua", OrdinaryRelay::B2bua}, {"stateless", OrdinaryRelay::Stateless}}};
inline constexpr Names<EmergencyRelay, 2> kEmergencyRelays{
    {{"b2bua", EmergencyRelay::B2bua}, {"stateful", EmergencyRelay::Stateful}}};
inline constexpr Names<SmtpTls, 4> kSmtpTls{{{"off", SmtpTls::Off},
                                             {"optional", SmtpTls::Optional},
                                             {"required", SmtpTls::Required},
                                             {"implicit", SmtpTls::Implicit}}};
inline constexpr Names<StoreBackend, 2> kStoreBackends{
    {{"sqlite", StoreBackend::Sqlite}, {"postgresql", StoreBackend::Postgresql}}};
inline constexpr Names<LogFormat, 2> kFormats{
    {{"text", LogFormat::Text}, {"json", LogFormat::Json}}};
inline constexpr Names<std::string_view, 5> kLevels{{{"trace", "trace"},
                                                     {"debug", "debug"},
                                                     {"info", "info"},
                                                     {"warn", "warn"},
                                                     {"error", "error"}}};

// The location signals, in routing::toString(Signal)'s words (config does not link routing).
inline constexpr Names<std::string_view, 9> kSignals{{{"device-supplied", "device-supplied"},
                                                      {"bssid", "bssid"},
                                                      {"chassis-port", "chassis-port"},
                                                      {"chassis", "chassis"},
                                                      {"subnet", "subnet"},
                                                      {"personal-network", "personal-network"},
                                                      {"personal-confirmed", "personal-confirmed"},
                                                      {"site-default", "site-default"},
                                                      {"account-default", "account-default"}}};

// Who may be told of a desk phone on a new network (DeskPhoneMoved's fields).
inline constexpr Names<std::string_view, 3> kDeskPhoneTold{
    {{"user", "user"}, {"approvers", "approvers"}, {"phone", "phone"}}};

// Routing turns seconds into milliseconds; anything larger would overflow there.
inline constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;

// Failover timers of a PSAP trunk: five minutes is already far longer than anybody waits for a
// PSAP to answer. OPTIONS probes: a probe less than hourly would not notice an outage in time.
inline constexpr int64_t kMaxTimeoutMs = int64_t{300} * 1000;
inline constexpr int64_t kMaxProbeIntervalMs = int64_t{3600} * 1000;

// Limits on ordinary calls: far above what one proxy carries, and far from int overflow.
inline constexpr int kMaxCount = 1000000;
inline constexpr int kMaxTier = 9;  // escalation tiers a site can have
// Scheduled test calls (issue 21): at least monthly, or they prove little.
inline constexpr int64_t kMaxTestIntervalSeconds = int64_t{31} * 86400;

// The civic fields a routing rule may match on, in RFC 5139's spelling (the file may use any
// case: "a1" is A1).
inline constexpr std::array<std::pair<std::string_view, std::string CivicRule::*>, 5> kMatchFields{{
    {"country", &CivicRule::country},
    {"A1", &CivicRule::a1},
    {"A2", &CivicRule::a2},
    {"A3", &CivicRule::a3},
    {"PC", &CivicRule::pc},
}};

std::string upperCase(std::string_view s);

// Seconds as written in the file ("2", "0.5", "0.25") in whole milliseconds; nullopt unless it
// is plain decimal notation with at most three decimals (no sign, no exponent: "1e3" is more
// likely a slip than a duration).
std::optional<int64_t> millisecondsOf(std::string_view s);

template <class E, size_t N>
std::string_view nameOf(const Names<E, N>& names, E value) {
  auto it =
      std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.second == value; });
  return it == names.end() ? "?" : it->first;
}

}  // namespace sos::config::detail
