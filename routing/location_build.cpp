// LocationSnapshot::build: validates the rows and indexes them (issue 3). Bad rows are skipped
// with a warning each, never fatal: an emergency call must still find the rest of the data
// (docs/ARCHITECTURE.md, "The one rule above all others").

#include <algorithm>
#include <set>
#include <unordered_map>

#include "model/e164.h"
#include "routing/location_index.h"

namespace sos::routing {

using model::BssidRow;
using model::Cidr;
using model::Location;
using model::LocationData;
using model::LocationKind;
using model::PersonalLocationRow;
using model::SubnetRow;
using model::SwitchRow;
using model::UserRow;

namespace {

using detail::kNone;
using detail::LocationIndexes;

// A store with thousands of bad rows should not make a thousand-line log at every rebuild:
// the first ones are spelled out, the rest counted.
class Warnings {
 public:
  explicit Warnings(std::vector<std::string>& out) : out_(out) {}
  void add(std::string text) {
    if (out_.size() < kMax) {
      out_.push_back(std::move(text));
    } else {
      ++dropped_;
    }
  }
  void finish() {
    if (dropped_ > 0) out_.push_back(std::to_string(dropped_) + " more problems not listed");
  }

 private:
  static constexpr size_t kMax = 200;
  std::vector<std::string>& out_;
  size_t dropped_ = 0;
};

std::string inQuotes(std::string_view s) { return "'" + std::string(s) + "'"; }

class Builder {
 public:
  Builder(LocationData& d, LocationIndexes& ix, Warnings& warn) : d_(d), ix_(ix), warn_(warn) {}

  void ranks(ResolverSettings& settings) {
    // An order that names nothing usable (a typo in every name) would send every call to the
    // account default; the documented default order is the safer reading.
    if (settings.order.empty()) {
      warn_.add("location precedence is empty; using the default order");
      settings.order = ResolverSettings{}.order;
    }
    ix_.rank.fill(-1);
    for (size_t i = 0; i < settings.order.size(); ++i) {
      auto s = static_cast<size_t>(settings.order[i]);
      if (s < ix_.rank.size() && ix_.rank[s] < 0) ix_.rank[s] = static_cast<int>(i);
    }
    auto last = static_cast<size_t>(Signal::AccountDefault);
    if (ix_.rank[last] >= 0 && settings.order.back() != Signal::AccountDefault) {
      warn_.add("precedence lists account-default before other signals; it is always used last");
    }
    ix_.rank[last] = static_cast<int>(settings.order.size() + detail::kSignalCount);
  }

  void locations() {
    auto keyOf = [this](uint32_t v) { return std::string_view(d_.locations[v].key); };
    ix_.locationByKey.reserve(d_.locations.size() + 1, keyOf);
    for (uint32_t i = 0; i < d_.locations.size(); ++i) {
      const Location& l = d_.locations[i];
      if (l.key.empty()) {
        warn_.add("location " + inQuotes(l.name) + " has no key; skipped");
      } else if (ix_.locationByKey.insert(l.key, i, keyOf) != kNone) {
        warn_.add("location key " + inQuotes(l.key) + " appears twice; the first one is used");
      }
    }
    auto personalKey = [this](uint32_t v) { return std::string_view(d_.personal[v].location.key); };
    for (uint32_t i = 0; i < d_.personal.size(); ++i) {
      if (!d_.personal[i].location.key.empty()) {
        (void)ix_.personalByKey.insert(d_.personal[i].location.key, i, personalKey);
      }
    }
  }

  // The last resort must exist, or resolve() could come back empty: synthesize one when the
  // data names none or an unknown one. Done before anything takes a Location pointer, since
  // it may grow d_.locations.
  void accountDefault() {
    uint32_t i = location(d_.accountDefaultKey);
    if (i != kNone) {
      ix_.accountDefault = i;
      return;
    }
    warn_.add(d_.accountDefaultKey.empty()
                  ? std::string("no account default location; using 'unknown location'")
                  : "account default " + inQuotes(d_.accountDefaultKey) +
                        " is not a known location; using 'unknown location'");
    Location unknown;
    unknown.key = "unknown-location";
    while (location(unknown.key) != kNone) unknown.key += '-';
    unknown.name = "Unknown location";
    unknown.kind = LocationKind::AccountDefault;
    ix_.accountDefault = static_cast<uint32_t>(d_.locations.size());
    d_.locations.push_back(std::move(unknown));
    (void)ix_.locationByKey.insert(d_.locations.back().key, ix_.accountDefault, [this](uint32_t v) {
      return std::string_view(d_.locations[v].key);
    });
  }

  // Interned site and civic values for the conflict rule. Views into d_ are safe: nothing
  // changes d_.locations or d_.personal after accountDefault().
  void places() {
    std::unordered_map<std::string_view, uint32_t> ids;
    auto id = [&ids](const std::string& s) {
      if (s.empty()) return uint32_t{0};
      return ids.emplace(s, static_cast<uint32_t>(ids.size() + 1)).first->second;
    };
    auto place = [&](const Location& l) {
      detail::Place p;
      p.site = id(l.site);
      for (size_t f = 0; f < detail::kPlaceFields.size(); ++f) {
        p.civic[f] = id(l.civic.*detail::kPlaceFields[f]);
      }
      return p;
    };
    ix_.locationPlace.reserve(d_.locations.size());
    for (const auto& l : d_.locations) ix_.locationPlace.push_back(place(l));
    ix_.personalPlace.reserve(d_.personal.size());
    for (const auto& p : d_.personal) ix_.personalPlace.push_back(place(p.location));
  }

  void siteDefaults() {
    auto keyOf = [this](uint32_t v) { return std::string_view(ix_.siteEntries[v].site); };
    auto add = [&](const std::string& site, uint32_t loc) {
      ix_.siteEntries.push_back({site, loc});
      auto at = static_cast<uint32_t>(ix_.siteEntries.size() - 1);
      if (ix_.siteDefault.insert(site, at, keyOf) == kNone) return true;
      ix_.siteEntries.pop_back();
      return false;
    };
    for (const auto& r : d_.siteDefaults) {
      uint32_t loc = location(r.locationKey);
      if (r.site.empty()) {
        warn_.add("site default " + inQuotes(r.locationKey) + " names no site; skipped");
      } else if (loc == kNone) {
        warn_.add("site " + inQuotes(r.site) + ": default location " + inQuotes(r.locationKey) +
                  " is not a known location; skipped");
      } else if (!add(r.site, loc)) {
        warn_.add("site " + inQuotes(r.site) + " has two default locations; the first one is used");
      }
    }
    // A location marked SiteDefault stands in for a missing row: the intent is plain.
    for (uint32_t i = 0; i < d_.locations.size(); ++i) {
      const Location& l = d_.locations[i];
      if (l.kind == LocationKind::SiteDefault && !l.site.empty()) (void)add(l.site, i);
    }
  }

  void subnets() {
    ix_.v4Under16.assign(65536, 0);
    ix_.v4.reserve(d_.subnets.size());
    std::set<uint8_t, std::greater<>> v6Lengths;
    for (uint32_t i = 0; i < d_.subnets.size(); ++i) {
      const SubnetRow& r = d_.subnets[i];
      std::string what = "subnet " + inQuotes(r.cidr);
      uint32_t loc = rowLocation(what, r.locationKey);
      if (loc == kNone) continue;
      auto cidr = model::parseCidr(r.cidr);
      if (!cidr) {
        warn_.add(cidr.error().message + "; subnet row skipped");
        continue;
      }
      const Cidr& c = cidr.value();
      uint32_t previous;
      if (c.network.v4) {
        const auto& b = c.network.bytes;
        uint32_t net =
            (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
        previous = ix_.v4.insert((uint64_t(c.prefixLength) << 32) | net, loc);
        if (previous == kNone && c.prefixLength >= 16) {
          ix_.v4Under16[net >> 16] |= 1u << (c.prefixLength - 16);
        } else if (previous == kNone) {
          ix_.v4Short |= 1u << c.prefixLength;
        }
      } else {
        detail::V6Key key;
        for (int k = 0; k < 8; ++k) key.hi = (key.hi << 8) | c.network.bytes[k];
        for (int k = 8; k < 16; ++k) key.lo = (key.lo << 8) | c.network.bytes[k];
        key.length = static_cast<uint32_t>(c.prefixLength);
        previous = ix_.v6.insert(key, loc);
        v6Lengths.insert(static_cast<uint8_t>(c.prefixLength));
      }
      if (previous != kNone) {
        warn_.add(what + " is mapped twice; the first row (" +
                  inQuotes(d_.locations[previous].key) + ") is used");
      }
    }
    ix_.v6Lengths.assign(v6Lengths.begin(), v6Lengths.end());
  }

  void bssids() {
    ix_.bssidExact.reserve(d_.bssids.size());
    for (uint32_t i = 0; i < d_.bssids.size(); ++i) {
      const BssidRow& r = d_.bssids[i];
      std::string what = "BSSID " + inQuotes(r.bssid);
      uint32_t loc = rowLocation(what, r.locationKey);
      if (loc == kNone) continue;
      auto mac = model::parseMac(r.bssid, true);
      if (!mac) {
        warn_.add(what + " is not a BSSID (12 hex digits, '*' allowed as the last); skipped");
        continue;
      }
      if (!mac->wildcard && model::isPlaceholderMac(mac->value)) {
        warn_.add(what + " is a placeholder, not an access point; skipped");
        continue;
      }
      auto& table = mac->wildcard ? ix_.bssidWildcard : ix_.bssidExact;
      if (uint32_t previous = table.insert(mac->value, loc); previous != kNone) {
        warn_.add(what + " is mapped twice; the first row (" +
                  inQuotes(d_.locations[previous].key) + ") is used");
      }
    }
  }

  void switches() {
    auto& entries = ix_.switchEntries;
    entries.reserve(d_.switches.size());
    auto keyOf = [&entries](uint32_t v) { return std::string_view(entries[v].key); };
    std::array<char, 520> buf;
    for (uint32_t i = 0; i < d_.switches.size(); ++i) {
      const SwitchRow& r = d_.switches[i];
      std::string what =
          "switch " + inQuotes(r.chassis) + (r.port.empty() ? "" : " port " + r.port);
      uint32_t loc = rowLocation(what, r.locationKey);
      if (loc == kNone) continue;
      bool withPort = r.port.find_first_not_of(" \t") != std::string::npos;
      std::string_view key;
      if (!detail::switchKey(r.chassis, r.port, withPort, buf, key)) {
        warn_.add(what + ": chassis ID missing, over 255 characters or holding NUL; skipped");
        continue;
      }
      entries.push_back({std::string(key), i, loc});
      auto at = static_cast<uint32_t>(entries.size() - 1);
      auto& table = withPort ? ix_.chassisPort : ix_.chassis;
      if (uint32_t previous = table.insert(entries.back().key, at, keyOf); previous != kNone) {
        entries.pop_back();
        warn_.add(what + " is mapped twice; the first row (" +
                  inQuotes(d_.switches[entries[previous].row].locationKey) + ") is used");
      }
    }
  }

  void users() {
    auto& users = d_.users;
    auto byExt = [&users](uint32_t v) { return std::string_view(users[v].extension); };
    auto byDid = [&users](uint32_t v) { return std::string_view(users[v].did); };
    ix_.userByExtension.reserve(users.size(), byExt);
    ix_.userByDid.reserve(users.size(), byDid);
    ix_.userByMac.reserve(users.size());
    std::set<std::string> sitesWithoutDefault;
    for (uint32_t i = 0; i < users.size(); ++i) {
      const UserRow& u = users[i];
      if (u.extension.empty() && u.did.empty()) {
        warn_.add("user " + inQuotes(u.name) + " has neither extension nor DID; skipped");
        continue;
      }
      if (!u.extension.empty() && ix_.userByExtension.insert(u.extension, i, byExt) != kNone) {
        warn_.add("extension " + inQuotes(u.extension) +
                  " belongs to two users; the first is used");
      }
      if (!u.did.empty() && ix_.userByDid.insert(u.did, i, byDid) != kNone) {
        warn_.add("DID " + inQuotes(u.did) + " belongs to two users; the first is used");
      }
      for (const auto& m : u.macs) {
        auto mac = model::parseMac(m);
        if (!mac) {
          warn_.add("user " + inQuotes(u.extension) + ": MAC " + inQuotes(m) + " is not a MAC");
        } else if (ix_.userByMac.insert(mac->value, i) != kNone) {
          warn_.add("MAC " + inQuotes(m) + " belongs to two users; the first is used");
        }
      }
      if (!u.site.empty() && sitesWithoutDefault.size() < 100 &&
          ix_.siteDefault.find(u.site, [this](uint32_t v) {
            return std::string_view(ix_.siteEntries[v].site);
          }) == kNone) {
        if (sitesWithoutDefault.insert(u.site).second) {
          warn_.add("site " + inQuotes(u.site) + " (user " + inQuotes(u.extension) +
                    ") has no default location; its callers fall back to the account default");
        }
      }
    }
  }

  void personal() {
    std::vector<uint32_t> rows;
    rows.reserve(d_.personal.size());
    for (uint32_t i = 0; i < d_.personal.size(); ++i) {
      if (d_.personal[i].extension.empty()) {
        warn_.add("personal location " + inQuotes(d_.personal[i].location.key) +
                  " belongs to no extension; skipped");
      } else {
        rows.push_back(i);
      }
    }
    // A user's holds for one emergency (issue 17) first: the address they gave for this
    // emergency beats one they keep for the same network.
    std::stable_sort(rows.begin(), rows.end(), [this](uint32_t a, uint32_t b) {
      const auto& pa = d_.personal[a];
      const auto& pb = d_.personal[b];
      if (pa.extension != pb.extension) return pa.extension < pb.extension;
      return (pa.holdUntilMs != 0) > (pb.holdUntilMs != 0);
    });
    auto& entries = ix_.personal;
    entries.reserve(rows.size());
    auto keyOf = [this](uint32_t v) {
      return std::string_view(d_.personal[ix_.personal[v].row].extension);
    };
    for (uint32_t row : rows) {
      const PersonalLocationRow& p = d_.personal[row];
      detail::PersonalEntry e;
      e.row = row;
      for (const auto& n : p.matchNetworks) {
        auto cidr = model::parseCidr(n);
        if (cidr) {
          e.networks.push_back(cidr.value());
        } else {
          warn_.add("personal location " + inQuotes(p.location.key) + ": " + cidr.error().message +
                    "; that network is not matched");
        }
      }
      for (const auto& b : p.matchBssids) {
        auto mac = model::parseMac(b, true);
        if (mac && !model::isPlaceholderMac(mac->value)) {
          e.bssids.push_back(*mac);
        } else {
          warn_.add("personal location " + inQuotes(p.location.key) + ": BSSID " + inQuotes(b) +
                    " is not usable; not matched");
        }
      }
      entries.push_back(std::move(e));
      (void)ix_.personalByExtension.insert(p.extension, static_cast<uint32_t>(entries.size() - 1),
                                           keyOf);
    }
  }

  // Every ELIN of every pool, so that a PSAP callback (or any INVITE to one of our numbers) is
  // recognised with one lookup instead of a scan of all locations.
  void elins() {
    auto& entries = ix_.elinEntries;
    auto keyOf = [&entries](uint32_t v) { return std::string_view(entries[v].number); };
    auto add = [&](const Location& l) {
      for (const auto& elin : l.elins) {
        std::string number = model::normalizeDialedNumber(elin);
        if (number.empty()) {
          warn_.add("location " + inQuotes(l.key) + ": ELIN " + inQuotes(elin) +
                    " is not a telephone number; not recognised on callbacks");
          continue;
        }
        entries.push_back({std::move(number), &l});
        auto at = static_cast<uint32_t>(entries.size() - 1);
        if (uint32_t previous = ix_.elinByNumber.insert(entries.back().number, at, keyOf);
            previous != kNone) {
          warn_.add("ELIN " + inQuotes(elin) + " is in the pools of " +
                    inQuotes(entries[previous].location->key) + " and " + inQuotes(l.key) +
                    "; callbacks count it as the first one's");
          entries.pop_back();
        }
      }
    };
    size_t total = 0;
    for (const auto& l : d_.locations) total += l.elins.size();
    for (const auto& p : d_.personal) total += p.location.elins.size();
    entries.reserve(total);
    ix_.elinByNumber.reserve(total, keyOf);
    for (const auto& l : d_.locations) add(l);
    for (const auto& p : d_.personal) add(p.location);
  }

  void reports() {
    auto& reports = d_.reports;
    auto keyOf = [&reports](uint32_t v) { return std::string_view(reports[v].extension); };
    for (uint32_t i = 0; i < reports.size(); ++i) {
      if (reports[i].extension.empty()) continue;
      uint32_t previous = ix_.reportByExtension.insert(reports[i].extension, i, keyOf);
      if (previous != kNone && &preferredReport(reports[previous], reports[i]) == &reports[i]) {
        (void)ix_.reportByExtension.replace(reports[i].extension, i, keyOf);
      }
    }
  }

 private:
  uint32_t location(std::string_view key) const {
    if (key.empty()) return kNone;
    return ix_.locationByKey.find(
        key, [this](uint32_t v) { return std::string_view(d_.locations[v].key); });
  }
  uint32_t rowLocation(const std::string& what, const std::string& key) {
    uint32_t loc = location(key);
    if (loc == kNone)
      warn_.add(what + " points at unknown location " + inQuotes(key) + "; skipped");
    return loc;
  }

  LocationData& d_;
  LocationIndexes& ix_;
  Warnings& warn_;
};

}  // namespace

std::shared_ptr<const LocationSnapshot> LocationSnapshot::build(LocationData data,
                                                                ResolverSettings settings) {
  std::shared_ptr<LocationSnapshot> snap(new LocationSnapshot());
  snap->data_ = std::move(data);
  snap->settings_ = std::move(settings);
  auto idx = std::make_shared<Indexes>();
  Warnings warn(snap->warnings_);
  Builder b(snap->data_, *idx, warn);
  b.ranks(snap->settings_);
  b.locations();
  b.accountDefault();  // last change to data_.locations: indices and pointers are stable after
  b.places();
  b.siteDefaults();
  b.subnets();
  b.bssids();
  b.switches();
  b.users();
  b.personal();
  b.elins();
  b.reports();
  warn.finish();
  snap->accountDefault_ = &snap->data_.locations[idx->accountDefault];
  snap->idx_ = std::move(idx);
  return snap;
}

}  // namespace sos::routing
