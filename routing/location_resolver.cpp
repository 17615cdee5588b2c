// resolve(): where is the caller? (issue 3; docs/ARCHITECTURE.md, "The life of a call", step 6).
// Every signal the call and the device's report offer is looked up (location_signals.cpp), the
// matches are ranked by the configured precedence, and the first wins; the others are kept as
// the explanation. Runs on the SIP thread for every emergency call: no locks, no I/O, and no
// allocation beyond the explanation strings.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "routing/location_index.h"
#include "routing/location_signals.h"

namespace sos::routing {

using model::DeviceReport;
using model::IpAddress;
using model::LocationData;
using model::UserRow;

namespace {

using detail::Found;
using detail::Source;

constexpr std::array<std::string_view, detail::kSignalCount> kSignalNames{
    "device-supplied",    "bssid",        "chassis-port",   "chassis", "subnet", "personal-network",
    "personal-confirmed", "site-default", "account-default"};

size_t index(Signal s) { return static_cast<size_t>(s); }

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

// Which of the device's data may be used: the report must be the caller's and recent, and
// without location permission neither the report nor the Contact address is looked at. What the
// INVITE itself declares (P-Access-Network-Info, a PIDF-LO) is the caller's own statement for
// this emergency call and stays usable. Sets ev.report; returns whether the Contact address may
// be used.
bool admitDeviceData(const CallNetworkData& call, int64_t nowMs, int64_t staleAfterMs,
                     detail::Evidence& ev, std::vector<std::string>& ignored) {
  const UserRow* user = ev.user;
  const DeviceReport* report = call.report;
  bool useContact = true;
  if (user != nullptr && !user->locationPermission &&
      (report != nullptr || !call.contactHost.empty())) {
    ignored.push_back("location permission is off for " + std::string(ev.extension) +
                      ": device report and Contact address not used");
    report = nullptr;
    useContact = false;
  }
  if (report != nullptr && user != nullptr && !report->extension.empty() &&
      report->extension != user->extension && report->extension != user->did) {
    ignored.push_back("device report belongs to " + report->extension + ", not the caller");
    report = nullptr;
  }
  if (report != nullptr) {
    ev.reportAgeMs = std::max<int64_t>(0, nowMs - report->reportedAtMs);  // a clock ahead is "now"
    if (staleAfterMs > 0 && ev.reportAgeMs > staleAfterMs) {
      ignored.push_back("device report " + age(ev.reportAgeMs) + " old (limit " +
                        age(staleAfterMs) + ")");
      report = nullptr;
    }
  }
  ev.report = report;
  return useContact;
}

// The BSSIDs and addresses the call and the admitted report offer, vetted (vetMac, vetIp).
void vetNetworkData(const CallNetworkData& call, bool useContact, detail::Evidence& ev,
                    std::vector<std::string>& ignored) {
  ev.inviteMac = vetMac(call.bssid, " from INVITE", ignored);
  if (useContact) ev.contactIp = vetIp(call.contactHost, "Contact host", ignored);
  if (ev.report != nullptr) {
    ev.reportMac = vetMac(ev.report->bssid, " from device report", ignored);
    ev.reportedMac = ev.reportMac;
    // One value, one candidate.
    if (ev.reportMac && ev.reportMac == ev.inviteMac) ev.reportMac.reset();
    ev.reportIp = vetIp(ev.report->ip, "device report ip", ignored);
    ev.reportedIp = ev.reportIp;
    if (ev.reportIp && ev.contactIp && *ev.reportIp == *ev.contactIp) ev.reportIp.reset();
  }
}

// Precedence first, then the order found (INVITE data before the report's).
void rankMatches(detail::Matches& m) {
  std::sort(m.found.begin(), m.found.begin() + static_cast<std::ptrdiff_t>(m.count),
            [](const Found& a, const Found& b) {
              return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
            });
}

// The first match wins. Returns the position of the match the call is routed by.
size_t chooseWinner(const detail::Matches& m, const CallNetworkData& call, const Context& ctx,
                    Resolution& res) {
  size_t w = 0;
  if (m.found[0].signal == Signal::DeviceSupplied) {
    // The device's own PIDF-LO goes to the PSAP untouched (RFC 6442: an intermediary should not
    // add location to a request that already carries one); routing still needs a place, which
    // the next match gives.
    w = 1;
    res.deviceSupplied = true;
    res.signal = Signal::DeviceSupplied;
    res.evidence = "location supplied by the device in the INVITE";
    if (!call.deviceLocation.empty()) res.evidence += ": " + call.deviceLocation;
    res.evidence += " (kept); routed by ";
    res.evidence += describe(m.found[w], ctx);
  } else {
    res.signal = m.found[0].signal;
    res.evidence = describe(m.found[0], ctx);
  }
  res.location = m.found[w].location;
  res.ageMs = m.found[w].ageMs;
  return w;
}

// The matches below the winner, for the explanation. The defaults match every call and are not
// listed; a network signal pointing at a different place than the winner is a conflict.
void listLosers(const detail::Matches& m, size_t winner, const Context& ctx, Resolution& res) {
  const detail::Place* place = m.found[winner].place;
  for (size_t i = winner + 1; i < m.count; ++i) {
    const Found& f = m.found[i];
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
  res.user = findUser(call.extension);

  // ---- Which data may be used ----
  detail::Evidence ev{.user = res.user, .extension = call.extension, .nowMs = nowMs};
  if (res.user != nullptr && !res.user->extension.empty()) ev.extension = res.user->extension;
  bool useContact = admitDeviceData(call, nowMs, settings_.staleAfterMs, ev, res.ignored);
  vetNetworkData(call, useContact, ev, res.ignored);

  // ---- Every signal that matches ----
  detail::Matches matches{.rank = ix.rank, .reportAgeMs = ev.reportAgeMs};
  if (call.deviceSuppliedLocation && !matches.enabled(Signal::DeviceSupplied)) {
    res.ignored.push_back("device-supplied location: not in the precedence order");
  }
  detail::collectMatches(*this, ix, call, ev, matches, res.ignored);

  // ---- Rank them: precedence first, then INVITE before report ----
  rankMatches(matches);
  const Context ctx{data_,
                    ev.user,
                    ev.extension,
                    matches.site,
                    matches.enabled(Signal::SiteDefault),
                    call.bssidNetworkProvided,
                    ev.reportAgeMs,
                    ev.report != nullptr && ev.report->networkProvided};
  size_t winner = chooseWinner(matches, call, ctx, res);
  listLosers(matches, winner, ctx, res);
  if (matches.personalSkipped) {
    res.evidence += " (nomadic emergency services off for site ";
    res.evidence += matches.policySite;
    res.evidence += ": personal addresses not used)";
  }
  return res;
}

bool LocationSnapshot::nomadicAllowed(std::string_view site) const {
  for (const auto& [name, on] : settings_.nomadicBySite)
    if (name == site) return on;
  return settings_.nomadic;
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
