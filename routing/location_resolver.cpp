// resolve(): where is the caller? (issue 3; docs/ARCHITECTURE.md, "The life of a call", step 6).
// Every signal the call and the device's report offer is looked up, the matches are ranked by
// the configured precedence, and the first wins; the others are kept as the explanation. Runs
// on the SIP thread for every emergency call: no locks, no I/O, and no allocation beyond the
// explanation strings.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "routing/location_index.h"

namespace sos::routing {

using model::Cidr;
using model::DeviceReport;
using model::IpAddress;
using model::Location;
using model::LocationData;
using model::UserRow;

namespace {

using detail::kNone;

constexpr std::array<std::string_view, detail::kSignalCount> kSignalNames{
    "device-supplied",    "bssid",        "chassis-port",   "chassis", "subnet", "personal-network",
    "personal-confirmed", "site-default", "account-default"};

size_t index(Signal s) { return static_cast<size_t>(s); }

// Where a value came from, for the explanation and for its age.
enum class Source : uint8_t { None, Invite, Contact, Report };

// A signal that matched, with what is needed to explain it. The explanation string is built
// only for the candidates that are reported (the winner and the losers).
struct Found {
  Signal signal = Signal::AccountDefault;
  Source source = Source::None;
  int rank = 0;
  uint8_t seq = 0;  // ties within a signal: INVITE data before the report's
  const Location* location = nullptr;
  const detail::Place* place = nullptr;  // for the conflict rule
  int64_t ageMs = 0;
  uint64_t mac = 0;
  Cidr net{};  // Subnet: the network matched
  bool viaWildcard = false;
  bool byBssid = false;
  std::string_view text{}, text2{};
};

struct Context {
  const LocationData& data;
  const UserRow* user;
  std::string_view extension;
  std::string_view site;
  bool siteDefaultWanted;
  bool networkProvided;
  int64_t reportAgeMs;
  bool reportNetworkProvided;  // the report came from the network, not the phone
};

// "5 min", "25 h", "3 d": written in place, since report-based evidence is on the hot path.
void appendAge(std::string& out, int64_t ms) {
  const char* unit = " d";
  int64_t n = ms / 86'400'000;
  if (ms < 60'000) {
    unit = " s";
    n = ms / 1000;
  } else if (ms < 3'600'000) {
    unit = " min";
    n = ms / 60'000;
  } else if (ms < 48 * 3'600'000LL) {
    unit = " h";
    n = ms / 3'600'000;
  }
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
  out += unit;
}

std::string age(int64_t ms) {
  std::string out;
  appendAge(out, ms);
  return out;
}

std::string_view from(Source s) {
  switch (s) {
    case Source::Invite:
      return " from INVITE";
    case Source::Contact:
      return " from Contact";
    case Source::Report:
      return " from device report";
    case Source::None:
      break;
  }
  return "";
}

void appendMac(std::string& out, uint64_t mac) {
  char buf[17];
  model::formatMac(mac, buf);
  out.append(buf, sizeof buf);
}

std::string describe(const Found& f, const Context& c) {
  std::string out;
  out.reserve(96);
  switch (f.signal) {
    case Signal::Bssid:
      out += "bssid ";
      appendMac(out, f.mac);
      out += from(f.source);
      if (f.source == Source::Invite && c.networkProvided) out += " (network-provided)";
      if (f.viaWildcard) {
        out += " matching ";
        appendMac(out, f.mac);
        out.back() = '*';
      }
      break;
    case Signal::ChassisPort:
    case Signal::Chassis:
      out += "chassis ";
      out += f.text;
      if (f.signal == Signal::ChassisPort) {
        out += " port ";
        out += f.text2;
      }
      out += from(f.source);
      break;
    case Signal::Subnet:
      out += "ip ";
      out += f.text;
      out += from(f.source);
      out += " in subnet ";
      detail::appendCidr(out, f.net);
      break;
    case Signal::PersonalNetwork:
    case Signal::PersonalConfirmed:
      out += f.signal == Signal::PersonalNetwork ? "personal location '"
                                                 : "confirmed personal "
                                                   "location '";
      out += f.location->name;
      out += "' of ";
      out += c.extension;
      if (f.signal == Signal::PersonalNetwork) {
        if (f.byBssid) {
          out += " matches bssid ";
          appendMac(out, f.mac);
        } else {
          out += " matches ip ";
          out += f.text;
        }
        out += from(f.source);
        if (!f.location->confirmed) out += " (unconfirmed)";
      } else if (c.user != nullptr && !c.user->nomadic) {
        out += " (nomadic emergency service is off for this user)";
      }
      break;
    case Signal::SiteDefault:
      out += "default location of site ";
      out += c.site;
      break;
    case Signal::AccountDefault:
      out += "account default location";
      if (c.site.empty()) {
        out += " (caller's site unknown)";
      } else if (c.siteDefaultWanted) {
        out += " (site ";
        out += c.site;
        out += " has no default location)";
      }
      break;
    case Signal::DeviceSupplied:
      out += "location supplied by the device in the INVITE";
      break;
  }
  if (f.source == Source::Report) {
    out += c.reportNetworkProvided ? " (network-provided, reported " : " (reported ";
    appendAge(out, c.reportAgeMs);
    out += " ago)";
  }
  return out;
}

bool isNetworkSignal(Signal s) {
  return s == Signal::Bssid || s == Signal::ChassisPort || s == Signal::Chassis ||
         s == Signal::Subnet || s == Signal::PersonalNetwork;
}

// Do two matches point at different places, or at one place seen at two precisions? "HQ Floor
// 3" (FLR 3) and "HQ Room 301" (FLR 3, ROOM 301) are the same floor, one refining the other:
// no conflict. "HQ Floor 2" and "HQ Room 301" are different floors: a conflict, as is any pair
// on different sites, at different street addresses or in different buildings. A field counts
// only when both locations give it, because a location that leaves it out is the coarser
// description (a whole-building location does not contradict a room in it). The site and the
// fields (detail::kPlaceFields) are compared as ids interned at build time.
bool differentPlace(const detail::Place* a, const detail::Place* b) {
  if (a == b) return false;  // the same location
  if (a->site != b->site) return true;
  for (size_t f = 0; f < a->civic.size(); ++f) {
    if (a->civic[f] != 0 && b->civic[f] != 0 && a->civic[f] != b->civic[f]) return true;
  }
  return false;
}

// Untrusted text quoted in a note: bounded, so a hostile header cannot bloat the routing log.
std::string clip(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  out.append(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  return out + "'";
}

// A MAC from the call or the report, vetted: unparsable and placeholder values are noted and
// dropped (REFERENCE.md: placeholders are not evidence of anything).
std::optional<uint64_t> vetMac(std::string_view text, std::string_view where,
                               std::vector<std::string>& ignored) {
  if (text.empty()) return std::nullopt;
  auto m = model::parseMac(text);
  if (!m) {
    ignored.push_back("BSSID " + clip(text) + std::string(where) + " is not a MAC address");
    return std::nullopt;
  }
  if (model::isPlaceholderMac(m->value)) {
    std::string note = "placeholder BSSID ";
    note += m->value == 0 ? "000000000000" : "ffffffffffff";
    note += where;
    ignored.push_back(std::move(note));
    return std::nullopt;
  }
  return m->value;
}

std::optional<IpAddress> vetIp(std::string_view text, std::string_view what,
                               std::vector<std::string>& ignored) {
  if (text.empty()) return std::nullopt;
  auto ip = model::parseIpAddress(text);
  if (!ip) ignored.push_back(std::string(what) + " " + clip(text) + " is not an IP address");
  return ip;
}

// A personal location held for one emergency (issue 17) is used before its time is over and
// while the device's latest report is from its network (`reportedHere`); a kept one always.
bool holdUsable(const model::PersonalLocationRow& row, bool reportedHere, int64_t nowMs,
                std::vector<std::string>& ignored) {
  if (row.holdUntilMs == 0) return true;
  const bool expired = nowMs >= row.holdUntilMs;
  if (!expired && reportedHere) return true;
  ignored.push_back(
      "address '" + row.location.name + "' held for one emergency: " +
      (expired ? "its time is over" : "the device's latest report is from another network"));
  return false;
}

}  // namespace

std::string_view toString(Signal s) {
  size_t i = index(s);
  return i < kSignalNames.size() ? kSignalNames[i] : std::string_view("unknown");
}

std::optional<Signal> signalFromString(std::string_view s) {
  // Case and '_' for '-' are forgiven: "Chassis_Port" in a configuration means chassis-port.
  for (size_t i = 0; i < kSignalNames.size(); ++i) {
    std::string_view name = kSignalNames[i];
    if (name.size() != s.size()) continue;
    bool same = true;
    for (size_t k = 0; k < s.size() && same; ++k) {
      char c =
          s[k] == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(s[k])));
      same = c == name[k];
    }
    if (same) return static_cast<Signal>(i);
  }
  return std::nullopt;
}

Resolution LocationSnapshot::resolve(const CallNetworkData& call, int64_t nowMs) const {
  const detail::LocationIndexes& ix = *idx_;
  Resolution res;
  const UserRow* user = findUser(call.extension);
  res.user = user;
  std::string_view ext = call.extension;
  if (user != nullptr && !user->extension.empty()) ext = user->extension;

  // ---- Which data may be used ----
  // Without location permission the device's network data (its reports, its address) is not
  // looked at. What the INVITE itself declares (P-Access-Network-Info, a PIDF-LO) is the
  // caller's own statement for this emergency call and stays usable.
  const DeviceReport* report = call.report;
  bool useContact = true;
  if (user != nullptr && !user->locationPermission &&
      (report != nullptr || !call.contactHost.empty())) {
    res.ignored.push_back("location permission is off for " + std::string(ext) +
                          ": device report and Contact address not used");
    report = nullptr;
    useContact = false;
  }
  if (report != nullptr && user != nullptr && !report->extension.empty() &&
      report->extension != user->extension && report->extension != user->did) {
    res.ignored.push_back("device report belongs to " + report->extension + ", not the caller");
    report = nullptr;
  }
  int64_t reportAge = 0;
  if (report != nullptr) {
    reportAge = std::max<int64_t>(0, nowMs - report->reportedAtMs);  // a clock ahead is "now"
    if (settings_.staleAfterMs > 0 && reportAge > settings_.staleAfterMs) {
      res.ignored.push_back("device report " + age(reportAge) + " old (limit " +
                            age(settings_.staleAfterMs) + ")");
      report = nullptr;
    }
  }

  std::optional<uint64_t> inviteMac = vetMac(call.bssid, " from INVITE", res.ignored);
  // reported*: the report's own network, kept when a candidate drops what the INVITE also gives.
  std::optional<uint64_t> reportMac, reportedMac;
  std::optional<IpAddress> contactIp, reportIp, reportedIp;
  if (useContact) contactIp = vetIp(call.contactHost, "Contact host", res.ignored);
  if (report != nullptr) {
    reportMac = vetMac(report->bssid, " from device report", res.ignored);
    reportedMac = reportMac;
    if (reportMac && reportMac == inviteMac) reportMac.reset();  // one value, one candidate
    reportIp = vetIp(report->ip, "device report ip", res.ignored);
    reportedIp = reportIp;
    if (reportIp && contactIp && *reportIp == *contactIp) reportIp.reset();
  }

  // ---- Every signal that matches ----
  std::array<Found, 12> found;
  size_t n = 0;
  auto enabled = [&](Signal s) { return ix.rank[index(s)] >= 0; };
  auto add = [&](Found f) {
    f.rank = ix.rank[index(f.signal)];
    f.seq = static_cast<uint8_t>(n);
    if (f.source == Source::Report) f.ageMs = reportAge;
    found[n++] = f;
  };
  const auto& locations = data_.locations;

  if (call.deviceSuppliedLocation) {
    if (enabled(Signal::DeviceSupplied)) {
      add(Found{.signal = Signal::DeviceSupplied, .source = Source::Invite});
    } else {
      res.ignored.push_back("device-supplied location: not in the precedence order");
    }
  }
  if (enabled(Signal::Bssid)) {
    for (auto [mac, source] :
         {std::pair{inviteMac, Source::Invite}, std::pair{reportMac, Source::Report}}) {
      if (!mac) continue;
      bool wildcard = false;
      uint32_t loc = ix.findBssid(*mac, wildcard);
      if (loc == kNone) continue;
      add(Found{.signal = Signal::Bssid,
                .source = source,
                .location = &locations[loc],
                .place = &ix.locationPlace[loc],
                .mac = *mac,
                .viaWildcard = wildcard});
    }
  }
  std::array<char, 520> buf;
  std::string_view key;
  bool hasPort = report != nullptr && report->port.find_first_not_of(" \t") != std::string::npos;
  if (report != nullptr && !report->chassis.empty() &&
      (enabled(Signal::ChassisPort) || enabled(Signal::Chassis)) &&
      detail::switchKey(report->chassis, report->port, hasPort, buf, key)) {
    auto keyOf = [&](uint32_t v) { return std::string_view(ix.switchEntries[v].key); };
    auto addSwitch = [&](Signal signal, uint32_t e) {
      uint32_t loc = ix.switchEntries[e].location;
      add(Found{.signal = signal,
                .source = Source::Report,
                .location = &locations[loc],
                .place = &ix.locationPlace[loc],
                .text = report->chassis,
                .text2 = report->port});
    };
    if (enabled(Signal::ChassisPort) && hasPort) {
      if (uint32_t e = ix.chassisPort.find(key, keyOf); e != kNone)
        addSwitch(Signal::ChassisPort, e);
    }
    // The chassis key is the chassis+port key up to its separator.
    std::string_view chassisKey = key.substr(0, key.find('\0'));
    if (enabled(Signal::Chassis)) {
      if (uint32_t e = ix.chassis.find(chassisKey, keyOf); e != kNone)
        addSwitch(Signal::Chassis, e);
    }
  }
  if (enabled(Signal::Subnet)) {
    // The Contact host is the phone as of this call; the report may be hours old.
    auto subnet = [&](const std::optional<IpAddress>& ip, Source source, std::string_view text) {
      if (!ip) return;
      Found f{.signal = Signal::Subnet, .source = source, .text = text};
      if (uint32_t loc = ix.findSubnet(*ip, f.net); loc != kNone) {
        f.location = &locations[loc];
        f.place = &ix.locationPlace[loc];
        add(f);
      }
    };
    subnet(contactIp, Source::Contact, call.contactHost);
    if (report != nullptr) subnet(reportIp, Source::Report, report->ip);
  }

  // The caller's personal locations: a group of entries sharing the extension.
  auto personalKey = [&](uint32_t v) {
    return std::string_view(data_.personal[ix.personal[v].row].extension);
  };
  uint32_t group = ext.empty() ? kNone : ix.personalByExtension.find(ext, personalKey);
  if (group != kNone && enabled(Signal::PersonalNetwork) &&
      (contactIp || reportIp || inviteMac || reportMac)) {
    for (uint32_t e = group; e < ix.personal.size() && personalKey(e) == ext; ++e) {
      const detail::PersonalEntry& p = ix.personal[e];
      auto netHit = [&](const std::optional<IpAddress>& ip) {
        return ip && std::any_of(p.networks.begin(), p.networks.end(),
                                 [&](const Cidr& c) { return c.contains(*ip); });
      };
      auto macHit = [&](const std::optional<uint64_t>& mac) {
        return mac && std::any_of(p.bssids.begin(), p.bssids.end(),
                                  [&](const model::Mac& b) { return model::macMatches(b, *mac); });
      };
      if (!holdUsable(data_.personal[p.row], netHit(reportedIp) || macHit(reportedMac), nowMs,
                      res.ignored)) {
        continue;
      }
      Found f{.signal = Signal::PersonalNetwork,
              .location = &data_.personal[p.row].location,
              .place = &ix.personalPlace[p.row]};
      if (macHit(inviteMac)) {
        f.source = Source::Invite;
        f.mac = *inviteMac;
        f.byBssid = true;
      } else if (netHit(contactIp)) {
        f.source = Source::Contact;
        f.text = call.contactHost;
      } else if (macHit(reportMac)) {
        f.source = Source::Report;
        f.mac = *reportMac;
        f.byBssid = true;
      } else if (netHit(reportIp)) {
        f.source = Source::Report;
        f.text = report->ip;
      } else {
        continue;
      }
      add(f);
      break;
    }
  }
  if (group != kNone && enabled(Signal::PersonalConfirmed)) {
    for (uint32_t e = group; e < ix.personal.size() && personalKey(e) == ext; ++e) {
      const Location& l = data_.personal[ix.personal[e].row].location;
      // A temporary hold is an address for one network, never "wherever the user is".
      if (!l.confirmed || data_.personal[ix.personal[e].row].holdUntilMs != 0) continue;
      add(Found{.signal = Signal::PersonalConfirmed,
                .location = &l,
                .place = &ix.personalPlace[ix.personal[e].row]});
      break;
    }
  }
  std::string_view site = call.site;
  if (user != nullptr && !user->site.empty()) site = user->site;
  if (enabled(Signal::SiteDefault)) {
    const Location* l = siteDefault(site);
    if (l == nullptr && site != call.site && !call.site.empty()) {
      l = siteDefault(call.site);
      if (l != nullptr) site = call.site;
    }
    if (l != nullptr) {
      add(Found{.signal = Signal::SiteDefault,
                .location = l,
                .place = &ix.locationPlace[static_cast<size_t>(l - locations.data())]});
    }
  }
  add(Found{.signal = Signal::AccountDefault,
            .location = accountDefault_,
            .place = &ix.locationPlace[ix.accountDefault]});

  // ---- Rank them: precedence first, then INVITE before report ----
  std::sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n),
            [](const Found& a, const Found& b) {
              return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
            });
  Context ctx{data_,
              user,
              ext,
              site,
              enabled(Signal::SiteDefault),
              call.bssidNetworkProvided,
              reportAge,
              report != nullptr && report->networkProvided};
  size_t w = 0;
  if (found[0].signal == Signal::DeviceSupplied) {
    // The device's own PIDF-LO goes to the PSAP untouched (RFC 6442: an intermediary should not
    // add location to a request that already carries one); routing still needs a place, which
    // the next match gives.
    w = 1;
    res.deviceSupplied = true;
    res.signal = Signal::DeviceSupplied;
    res.evidence = "location supplied by the device in the INVITE";
    if (!call.deviceLocation.empty()) res.evidence += ": " + call.deviceLocation;
    res.evidence += " (kept); routed by ";
    res.evidence += describe(found[w], ctx);
  } else {
    res.signal = found[0].signal;
    res.evidence = describe(found[0], ctx);
  }
  res.location = found[w].location;
  const detail::Place* place = found[w].place;
  res.ageMs = found[w].ageMs;

  for (size_t i = w + 1; i < n; ++i) {
    const Found& f = found[i];
    if (f.signal == Signal::DeviceSupplied) {
      res.ignored.push_back("device-supplied location ranked below " +
                            std::string(toString(res.signal)));
      continue;
    }
    if (f.signal == Signal::SiteDefault || f.signal == Signal::AccountDefault) continue;
    if (isNetworkSignal(f.signal) && differentPlace(place, f.place)) {
      res.conflict = true;
    }
    res.losers.push_back(Candidate{f.signal, f.location, describe(f, ctx), f.ageMs});
  }
  return res;
}

Resolution LocationSnapshot::resolveReport(const DeviceReport& report, int64_t nowMs) const {
  CallNetworkData call;
  call.extension = report.extension;
  call.report = &report;
  return resolve(call, nowMs);
}

const model::DeviceReport& preferredReport(const model::DeviceReport& a,
                                           const model::DeviceReport& b, int64_t networkHoldMs) {
  const model::DeviceReport& later = a.reportedAtMs > b.reportedAtMs ? a : b;
  if (a.networkProvided == b.networkProvided) return later;
  const model::DeviceReport& network = a.networkProvided ? a : b;
  const model::DeviceReport& phone = a.networkProvided ? b : a;
  return phone.reportedAtMs - network.reportedAtMs > networkHoldMs ? phone : network;
}

}  // namespace sos::routing
