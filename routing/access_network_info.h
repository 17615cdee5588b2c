#pragma once
// P-Access-Network-Info (RFC 7315 section 5.4, 3GPP TS 24.229): the access network a phone
// says it is on. For Wi-Fi, "IEEE-802.11; i-wlan-node-id=34a84edc9615" carries the BSSID;
// ";network-provided" marks a value the network inserted (more trustworthy than the phone's).
// Untrusted input: parsed leniently, never asserted on. Pure.

#include <string>
#include <string_view>
#include <vector>

namespace sos::routing {

struct AccessNetworkInfo {
  std::string accessType;  // "IEEE-802.11", "IEEE-802.3", "3GPP-E-UTRAN-FDD", ... as written
  std::string wlanNodeId;  // i-wlan-node-id value, unquoted (not yet normalized)
  bool networkProvided = false;
};

// Parses one header value or several joined by commas (quoted strings may contain commas).
// Malformed parts are skipped; at most 16 entries and 4 KiB of input are considered.
std::vector<AccessNetworkInfo> parseAccessNetworkInfo(std::string_view value);

// The value with every `network-provided` parameter taken out (any case, outside quoted
// strings), the rest as written: what is relayed for a source that may not vouch for the
// network (issue 14, network_sources). Empty entries that are left are dropped.
std::string withoutNetworkProvided(std::string_view value);

}  // namespace sos::routing
