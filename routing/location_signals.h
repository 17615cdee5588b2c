#pragma once
// Internal to routing/: the matches of one resolve(). location_signals.cpp collects them, one
// function per signal; location_resolver.cpp vets the evidence they look up, ranks the matches
// and explains them. Nothing outside routing/ includes this header.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/network.h"
#include "routing/location_index.h"

namespace sos::routing::detail {

// Where a value came from, for the explanation and for its age.
enum class Source : uint8_t { None, Invite, Contact, Report };

// A signal that matched, with what is needed to explain it. The explanation string is built
// only for the candidates that are reported (the winner and the losers).
struct Found {
  Signal signal = Signal::AccountDefault;
  Source source = Source::None;
  int rank = 0;
  uint8_t seq = 0;  // ties within a signal: INVITE data before the report's
  const model::Location* location = nullptr;
  const Place* place = nullptr;  // for the conflict rule
  int64_t ageMs = 0;
  uint64_t mac = 0;
  model::Cidr net{};  // Subnet: the network matched
  bool viaWildcard = false;
  bool byBssid = false;
  std::string_view text{}, text2{};
};

// What a call offers to locate it by, once resolve() has decided which data may be used: the
// device report (null when there is none or it may not be used) and the BSSIDs and addresses
// that parsed and are not placeholders.
struct Evidence {
  const model::UserRow* user = nullptr;  // the caller, when known
  std::string_view extension{};          // the user's extension, else the call's
  const model::DeviceReport* report = nullptr;
  int64_t reportAgeMs = 0;
  std::optional<uint64_t> inviteMac{}, reportMac{};
  std::optional<model::IpAddress> contactIp{}, reportIp{};
  // The report's own network, kept when reportMac/reportIp drop what the INVITE also gives: a
  // hold for one emergency (issue 17) needs the device's latest report from its network.
  std::optional<uint64_t> reportedMac{};
  std::optional<model::IpAddress> reportedIp{};
  int64_t nowMs = 0;
};

// The matches of one call, in the order they were found.
struct Matches {
  const std::array<int, kSignalCount>& rank;  // LocationIndexes::rank
  int64_t reportAgeMs = 0;
  std::array<Found, 12> found{};
  size_t count = 0;
  // The site whose default location was looked up (the user's, else the call's), which the
  // explanation of the defaults names.
  std::string_view site{};
  // Nomadic emergency services are off for the caller's site and the caller has personal
  // addresses, which were therefore not looked at (issue 17).
  bool personalSkipped = false;
  std::string_view policySite{};  // the site whose policy that is

  bool enabled(Signal s) const { return rank[static_cast<size_t>(s)] >= 0; }
  void add(Found f) {
    f.rank = rank[static_cast<size_t>(f.signal)];
    f.seq = static_cast<uint8_t>(count);
    if (f.source == Source::Report) f.ageMs = reportAgeMs;
    found[count++] = f;
  }
};

// Every signal `call` matches, in the order of the Signal enum, into `out`. The account default
// matches every call, so `out` is never left empty.
// `ignored` gets what was passed over and why (a hold whose time is over, ...).
void collectMatches(const LocationSnapshot& snapshot, const LocationIndexes& ix,
                    const CallNetworkData& call, const Evidence& evidence, Matches& out,
                    std::vector<std::string>& ignored);

}  // namespace sos::routing::detail
