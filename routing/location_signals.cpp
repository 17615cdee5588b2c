// The matches of resolve() (location_resolver.cpp), one function per signal: each looks up what
// the call offers for its signal in the snapshot's indexes and adds what matched. Runs on the
// SIP thread for every emergency call, like resolve(): no locks, no I/O, no allocation.

#include "routing/location_signals.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace sos::routing::detail {

namespace {

using model::Cidr;
using model::IpAddress;
using model::Location;

// What every collector reads.
struct Inputs {
  const LocationSnapshot& snapshot;
  const LocationIndexes& ix;
  const CallNetworkData& call;
  const Evidence& ev;
  std::vector<std::string>& ignored;
};

void addDeviceSupplied(const Inputs& in, Matches& out) {
  if (in.call.deviceSuppliedLocation && out.enabled(Signal::DeviceSupplied)) {
    out.add(Found{.signal = Signal::DeviceSupplied, .source = Source::Invite});
  }
}

void addBssid(const Inputs& in, Matches& out) {
  if (!out.enabled(Signal::Bssid)) return;
  const auto& locations = in.snapshot.data().locations;
  for (auto [mac, source] :
       {std::pair{in.ev.inviteMac, Source::Invite}, std::pair{in.ev.reportMac, Source::Report}}) {
    if (!mac) continue;
    bool wildcard = false;
    uint32_t loc = in.ix.findBssid(*mac, wildcard);
    if (loc == kNone) continue;
    out.add(Found{.signal = Signal::Bssid,
                  .source = source,
                  .location = &locations[loc],
                  .place = &in.ix.locationPlace[loc],
                  .mac = *mac,
                  .viaWildcard = wildcard});
  }
}

// A switch row (chassis+port or chassis alone) the device report's chassis and port matched.
void addSwitch(const Inputs& in, Signal signal, uint32_t entry, Matches& out) {
  uint32_t loc = in.ix.switchEntries[entry].location;
  out.add(Found{.signal = signal,
                .source = Source::Report,
                .location = &in.snapshot.data().locations[loc],
                .place = &in.ix.locationPlace[loc],
                .text = in.ev.report->chassis,
                .text2 = in.ev.report->port});
}

// The device report's switch chassis and port (LLDP): the chassis+port row, then the chassis
// row.
void addChassisPortAndChassis(const Inputs& in, Matches& out) {
  const model::DeviceReport* report = in.ev.report;
  std::array<char, 520> buf;
  std::string_view key;
  bool hasPort = report != nullptr && report->port.find_first_not_of(" \t") != std::string::npos;
  if (report == nullptr || report->chassis.empty() ||
      !(out.enabled(Signal::ChassisPort) || out.enabled(Signal::Chassis)) ||
      !switchKey(report->chassis, report->port, hasPort, buf, key)) {
    return;
  }
  auto keyOf = [&](uint32_t v) { return std::string_view(in.ix.switchEntries[v].key); };
  if (out.enabled(Signal::ChassisPort) && hasPort) {
    if (uint32_t e = in.ix.chassisPort.find(key, keyOf); e != kNone) {
      addSwitch(in, Signal::ChassisPort, e, out);
    }
  }
  // The chassis key is the chassis+port key up to its separator.
  std::string_view chassisKey = key.substr(0, key.find('\0'));
  if (out.enabled(Signal::Chassis)) {
    if (uint32_t e = in.ix.chassis.find(chassisKey, keyOf); e != kNone) {
      addSwitch(in, Signal::Chassis, e, out);
    }
  }
}

void addSubnetOf(const Inputs& in, const std::optional<IpAddress>& ip, Source source,
                 std::string_view text, Matches& out) {
  if (!ip) return;
  Found f{.signal = Signal::Subnet, .source = source, .text = text};
  if (uint32_t loc = in.ix.findSubnet(*ip, f.net); loc != kNone) {
    f.location = &in.snapshot.data().locations[loc];
    f.place = &in.ix.locationPlace[loc];
    out.add(f);
  }
}

void addSubnet(const Inputs& in, Matches& out) {
  if (!out.enabled(Signal::Subnet)) return;
  // The Contact host is the phone as of this call; the report may be hours old.
  addSubnetOf(in, in.ev.contactIp, Source::Contact, in.call.contactHost, out);
  if (in.ev.report != nullptr)
    addSubnetOf(in, in.ev.reportIp, Source::Report, in.ev.report->ip, out);
}

// The caller's personal locations: a group of entries sharing the extension.
std::string_view personalExtension(const Inputs& in, uint32_t entry) {
  return in.snapshot.data().personal[in.ix.personal[entry].row].extension;
}

bool inPersonalGroup(const Inputs& in, uint32_t entry) {
  return entry < in.ix.personal.size() && personalExtension(in, entry) == in.ev.extension;
}

// The first entry of the caller's group, or kNone.
uint32_t personalGroup(const Inputs& in) {
  if (in.ev.extension.empty()) return kNone;
  return in.ix.personalByExtension.find(in.ev.extension,
                                        [&](uint32_t v) { return personalExtension(in, v); });
}

bool inNetworks(const PersonalEntry& p, const std::optional<IpAddress>& ip) {
  return ip && std::any_of(p.networks.begin(), p.networks.end(),
                           [&](const Cidr& c) { return c.contains(*ip); });
}

bool inBssids(const PersonalEntry& p, const std::optional<uint64_t>& mac) {
  return mac && std::any_of(p.bssids.begin(), p.bssids.end(),
                            [&](const model::Mac& b) { return model::macMatches(b, *mac); });
}

// A personal location held for one emergency (issue 17) is used before its time is over and
// while the device's latest report is from its network; a kept one always.
bool holdUsable(const Inputs& in, const PersonalEntry& p) {
  const model::PersonalLocationRow& row = in.snapshot.data().personal[p.row];
  if (row.holdUntilMs == 0) return true;
  const bool expired = in.ev.nowMs >= row.holdUntilMs;
  const bool reportedHere = inNetworks(p, in.ev.reportedIp) || inBssids(p, in.ev.reportedMac);
  if (!expired && reportedHere) return true;
  in.ignored.push_back(
      "address '" + row.location.name + "' held for one emergency: " +
      (expired ? "its time is over" : "the device's latest report is from another network"));
  return false;
}

// Does a personal location's network or BSSID hold what the call offers? The INVITE's BSSID
// first, then the Contact address, the report's BSSID, the report's address. Fills in `f` how.
bool personalNetworkHit(const Inputs& in, const PersonalEntry& p, Found& f) {
  const Evidence& ev = in.ev;
  auto netHit = [&](const std::optional<IpAddress>& ip) { return inNetworks(p, ip); };
  auto macHit = [&](const std::optional<uint64_t>& mac) { return inBssids(p, mac); };
  if (macHit(ev.inviteMac)) {
    f.source = Source::Invite;
    f.mac = *ev.inviteMac;
    f.byBssid = true;
  } else if (netHit(ev.contactIp)) {
    f.source = Source::Contact;
    f.text = in.call.contactHost;
  } else if (macHit(ev.reportMac)) {
    f.source = Source::Report;
    f.mac = *ev.reportMac;
    f.byBssid = true;
  } else if (netHit(ev.reportIp)) {
    f.source = Source::Report;
    f.text = ev.report->ip;
  } else {
    return false;
  }
  return true;
}

// The first of the caller's personal locations whose network matches.
void addPersonalNetwork(const Inputs& in, uint32_t group, Matches& out) {
  const Evidence& ev = in.ev;
  if (group == kNone || !out.enabled(Signal::PersonalNetwork) ||
      !(ev.contactIp || ev.reportIp || ev.inviteMac || ev.reportMac)) {
    return;
  }
  for (uint32_t e = group; inPersonalGroup(in, e); ++e) {
    const PersonalEntry& p = in.ix.personal[e];
    if (!holdUsable(in, p)) continue;
    Found f{.signal = Signal::PersonalNetwork,
            .location = &in.snapshot.data().personal[p.row].location,
            .place = &in.ix.personalPlace[p.row]};
    if (personalNetworkHit(in, p, f)) {
      out.add(f);
      return;
    }
  }
}

// The first of the caller's personal locations the user confirmed, whatever the network.
void addPersonalConfirmed(const Inputs& in, uint32_t group, Matches& out) {
  if (group == kNone || !out.enabled(Signal::PersonalConfirmed)) return;
  for (uint32_t e = group; inPersonalGroup(in, e); ++e) {
    uint32_t row = in.ix.personal[e].row;
    const Location& l = in.snapshot.data().personal[row].location;
    // A hold for one emergency is an address for one network, never "wherever the user is".
    if (!l.confirmed || in.snapshot.data().personal[row].holdUntilMs != 0) continue;
    out.add(Found{
        .signal = Signal::PersonalConfirmed, .location = &l, .place = &in.ix.personalPlace[row]});
    return;
  }
}

// The default location of the user's site, else of the call's site when only that one has one.
void addSiteDefault(const Inputs& in, Matches& out) {
  std::string_view callSite = in.call.site;
  out.site = callSite;
  if (in.ev.user != nullptr && !in.ev.user->site.empty()) out.site = in.ev.user->site;
  if (!out.enabled(Signal::SiteDefault)) return;
  const Location* l = in.snapshot.siteDefault(out.site);
  if (l == nullptr && out.site != callSite && !callSite.empty()) {
    l = in.snapshot.siteDefault(callSite);
    if (l != nullptr) out.site = callSite;
  }
  if (l != nullptr) {
    const auto& locations = in.snapshot.data().locations;
    out.add(Found{.signal = Signal::SiteDefault,
                  .location = l,
                  .place = &in.ix.locationPlace[static_cast<size_t>(l - locations.data())]});
  }
}

void addAccountDefault(const Inputs& in, Matches& out) {
  out.add(Found{.signal = Signal::AccountDefault,
                .location = in.snapshot.accountDefault(),
                .place = &in.ix.locationPlace[in.ix.accountDefault]});
}

}  // namespace

void collectMatches(const LocationSnapshot& snapshot, const LocationIndexes& ix,
                    const CallNetworkData& call, const Evidence& evidence, Matches& out,
                    std::vector<std::string>& ignored) {
  const Inputs in{snapshot, ix, call, evidence, ignored};
  addDeviceSupplied(in, out);
  addBssid(in, out);
  addChassisPortAndChassis(in, out);
  addSubnet(in, out);
  uint32_t group = personalGroup(in);
  // The policy of the user's site (the call's for a caller the store does not know; issue 17):
  // off, the company's location is used, never the user's own address.
  std::string_view site =
      in.ev.user != nullptr && !in.ev.user->site.empty() ? in.ev.user->site : call.site;
  if (group != kNone && !snapshot.nomadicAllowed(site)) {
    out.personalSkipped = true;
    out.policySite = site;
    ignored.push_back("personal addresses of " + std::string(in.ev.extension) +
                      ": nomadic emergency services are off for site " + std::string(site));
    group = kNone;
  }
  addPersonalNetwork(in, group, out);
  addPersonalConfirmed(in, group, out);
  addSiteDefault(in, out);
  addAccountDefault(in, out);
}

}  // namespace sos::routing::detail
