#pragma once
// Where is the caller right now? An immutable index over LocationData (LocationSnapshot) and a
// pure resolve() that walks the signals in precedence order and never comes back empty
// (docs/ARCHITECTURE.md, "The life of a call", step 6). Built off the SIP thread; read by it.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/location.h"

namespace sos::routing {

enum class Signal {
  DeviceSupplied,     // a PIDF-LO the device put in the INVITE: kept, never overridden
  Bssid,              // Wi-Fi access point (P-Access-Network-Info or the device's report)
  ChassisPort,        // switch chassis + port (LLDP, from the device's report)
  Chassis,            // switch chassis alone
  Subnet,             // the device's IP address (Contact host or report) in a mapped subnet
  PersonalNetwork,    // a personal location whose network (home public IP, BSSID) matches
  PersonalConfirmed,  // the user's confirmed personal location, whatever the network
  SiteDefault,        // the caller's site's default location
  AccountDefault,     // the account's last-resort location
};
std::string_view toString(Signal s);
// Parses the names toString gives ("bssid", "chassis-port", ...). Nullopt if unknown.
std::optional<Signal> signalFromString(std::string_view s);

struct ResolverSettings {
  // Default precedence (RFC-agnostic; one product's documented order, REFERENCE.md).
  std::vector<Signal> order{Signal::DeviceSupplied,    Signal::Bssid,       Signal::ChassisPort,
                            Signal::Chassis,           Signal::Subnet,      Signal::PersonalNetwork,
                            Signal::PersonalConfirmed, Signal::SiteDefault, Signal::AccountDefault};
  int64_t staleAfterMs = 24LL * 3600 * 1000;  // device reports older than this are ignored
                                              // (0 or less: reports never go stale)
  // Nomadic emergency services (issue 17): the account's setting, and the sites that set their
  // own. Off for the caller's site: the caller's personal addresses are not looked at.
  bool nomadic = true;
  std::vector<std::pair<std::string, bool>> nomadicBySite;
};

// Which of two reports of one user's device a call should be located by (issue 16). A report the
// network sent (a WLAN controller, an LLDP collector: the API's network-reporter role) beats one
// the phone sent itself, unless the phone's came more than `networkHoldMs` later: a phone cannot
// talk its way out of where the network has just seen it, and a network report that has not
// been repeated since the phone moved (a laptop taken home) does not hold the user in the
// office for ever. Between two of the same kind, the later wins (ties: `b`). Order-independent:
// folding a user's reports in any order gives the same one.
inline constexpr int64_t kNetworkReportHoldMs = int64_t{10} * 60 * 1000;
const model::DeviceReport& preferredReport(const model::DeviceReport& a,
                                           const model::DeviceReport& b,
                                           int64_t networkHoldMs = kNetworkReportHoldMs);

// What the call itself says, plus the device's latest report.
struct CallNetworkData {
  std::string extension;    // caller (PAI or From user)
  std::string site;         // the caller's site as routing determined it (used when the
                            // caller is not a known user, or the user's site has no default)
  std::string contactHost;  // Contact host of the INVITE ("10.1.2.45")
  std::string bssid;        // from P-Access-Network-Info, any separator form
  bool bssidNetworkProvided = false;            // the network, not the phone, wrote it (more trust)
  bool deviceSuppliedLocation = false;          // the INVITE carries its own usable PIDF-LO
  std::string deviceLocation;                   // what it says ("civic US, IL, ... in part <id>")
  const model::DeviceReport* report = nullptr;  // latest report of the caller's device, if any
};

struct Candidate {
  Signal signal;
  const model::Location* location;
  std::string evidence;  // "bssid 00:11:22:33:44:55 from INVITE (network-provided)"
  int64_t ageMs = 0;     // how old the data behind it is (0 for data in the INVITE)
};

struct Resolution {
  const model::Location* location = nullptr;  // never null once resolved (account default at worst)
  Signal signal = Signal::AccountDefault;
  std::string evidence;
  int64_t ageMs = 0;
  // Other signals that also matched, in precedence order. The site and account defaults, which
  // match every call, are listed only when they win.
  std::vector<Candidate> losers;
  bool conflict = false;                 // a loser points at a different place than the winner
  std::vector<std::string> ignored;      // "placeholder BSSID ffffffffffff", "report 3 d old"
  bool deviceSupplied = false;           // the winner is the device's own PIDF-LO
  const model::UserRow* user = nullptr;  // the caller, when known
};

class LocationSnapshot {
 public:
  // Indexes `data`. Rows that do not parse or point at unknown locations are skipped and
  // reported in warnings() (bad data never stops the rest from being used).
  static std::shared_ptr<const LocationSnapshot> build(model::LocationData data,
                                                       ResolverSettings settings = {});

  Resolution resolve(const CallNetworkData& call, int64_t nowMs) const;

  const model::UserRow* findUser(std::string_view extensionOrDid) const;
  const model::UserRow* findUserByMac(std::string_view mac) const;  // any separator form
  // The newest of data().reports for a user (by extension), or null.
  const model::DeviceReport* latestReport(std::string_view extension) const;
  const model::Location* findLocation(std::string_view key) const;
  const model::Location* siteDefault(std::string_view site) const;
  // The location whose ELIN pool holds `normalized` (a number in model::normalizeDialedNumber's
  // form: "+12175550102"): a company, site-default or personal location; null when none of
  // our ELINs is that number. Indexed when the snapshot is built, so no call scans the pools.
  const model::Location* findElin(std::string_view normalized) const;
  const model::Location* accountDefault() const { return accountDefault_; }
  // Whether nomadic emergency services are on for the users of `site` (ResolverSettings).
  bool nomadicAllowed(std::string_view site) const;
  // Match network data alone (the location-report API's "detectable?" question).
  Resolution resolveReport(const model::DeviceReport& report, int64_t nowMs) const;

  const std::vector<std::string>& warnings() const { return warnings_; }
  const model::LocationData& data() const { return data_; }
  size_t memoryBytes() const;  // approximate heap use of the indexes and data

 private:
  LocationSnapshot() = default;
  // Implementation-defined indexes (see location_index.h; built by location_build.cpp).
  struct Indexes;
  std::shared_ptr<const Indexes> idx_;
  model::LocationData data_;
  ResolverSettings settings_;
  const model::Location* accountDefault_ = nullptr;
  std::vector<std::string> warnings_;
};

}  // namespace sos::routing
