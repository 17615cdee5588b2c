// Reads a seed file (YAML location data) into rows and checks all of it before the store writes
// any: unknown keys, bad values, duplicates and references to sites or locations that do not
// exist are all reported at once, each at its file:line:column, as the configuration loader
// does.

#include "store/seed.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/text.h"
#include "model/e164.h"
#include "model/mac.h"
#include "store/checks.h"
#include "store/db.h"

namespace sos::store {
namespace {

using config::anyText;
using config::checkCountry;
using config::checkNetwork;
using config::childKey;
using config::expecting;
using config::inQuotes;
using config::joined;
using config::YamlFields;
using config::YamlPlace;
using config::YamlReader;
using config::YamlValue;

const std::vector<std::string_view> kKinds{"company", "site-default", "account-default"};

class Parser : private YamlReader {
 public:
  explicit Parser(const std::string& source) : YamlReader(source) {}

  Result<Seed> run(const std::string& text) {
    if (auto problems = read(text, "store.seed-invalid", "",
                             [this](const YamlValue& root) { readTop(root); })) {
      return *problems;
    }
    return std::move(seed_);
  }

 private:
  void readTop(const YamlValue& root) {
    auto f = fields(root, {"sites", "locations", "users", "site_defaults", "account_default"});
    if (!f) {
      return;
    }
    if (auto v = get(*f, root, "sites")) {
      for (const auto& item : list(*v)) {
        if (auto s = fields(item, {"name", "country"})) {
          SeedSite site{required(*s, item, "name"), required(*s, item, "country", checkCountry)};
          if (auto n = get(*s, item, "name"); n && !site.name.empty()) {
            unique(siteNames_, site.name, *n, "site");
          }
          seed_.sites.push_back({std::move(site), place(item)});
        }
      }
    }
    // Required: the store seeds while it has no locations, so a seed without any would be
    // read again at every start.
    if (auto v = get(*f, root, "locations", true)) {
      auto items = list(*v);
      if (items.empty() && v->node.IsSequence()) {
        report(*v, "must not be empty");
      }
      for (const auto& item : items) {
        readLocation(item);
      }
    }
    if (auto v = get(*f, root, "users")) {
      for (const auto& item : list(*v)) {
        readUser(item);
      }
    }
    if (auto v = get(*f, root, "site_defaults")) {
      readSiteDefaults(*v);
    }
    if (auto v = get(*f, root, "account_default")) {
      if (auto key = checked(*v)) {
        seed_.accountDefault.push_back({*key, place(*v)});
        locationReferences_.push_back({*key, *v});
      }
    }
    checkReferences();
  }

  // Fields shared by company and personal locations.
  void readPlace(const YamlFields& f, const YamlValue& item, model::Location& location) {
    if (auto k = get(f, item, "key", true)) {
      location.key = checked(*k, checkKey).value_or("");
      if (!location.key.empty()) {
        unique(locationKeys_, location.key, *k, "location key");
      }
    }
    location.name = required(f, item, "name");
    if (auto c = get(f, item, "civic", true)) {
      readCivic(*c, location.civic);
    }
    auto lat = get(f, item, "latitude");
    auto lon = get(f, item, "longitude");
    if (lat.has_value() != lon.has_value()) {
      const YamlValue& given = lat ? *lat : *lon;
      report(given, std::string("needs ") + (lat ? "longitude" : "latitude") + " as well");
    } else if (lat) {
      location.latitude = degrees(*lat, 90, "a latitude");
      location.longitude = degrees(*lon, 180, "a longitude");
    }
  }

  void readCivic(const YamlValue& v, model::CivicAddress& civic) {
    if (!v.node.IsMap()) {
      report(v, "expected a mapping of RFC 5139 elements, e.g. {country: US, A1: IL, RD: Main}");
      return;
    }
    std::vector<std::string_view> names;
    names.reserve(kCivicFields.size());
    for (const auto& field : kCivicFields) {
      names.push_back(field.name);
    }
    std::set<std::string> seen;
    for (const auto& entry : v.node) {
      std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
      auto field = std::find_if(kCivicFields.begin(), kCivicFields.end(),
                                [&](const CivicField& c) { return c.name == name; });
      std::string key = childKey(v.key, name);
      if (field == kCivicFields.end()) {
        std::string suggestion = didYouMean(name, names);
        report(entry.first.Mark(), key,
               "not an RFC 5139 element" +
                   (suggestion.empty() ? "; expected one of " + joined(names, ", ") : suggestion));
      } else if (!seen.insert(name).second) {
        report(entry.first.Mark(), key, "duplicate key");
      } else {
        YamlValue value{entry.second, key,
                        entry.second.IsNull() ? entry.first.Mark() : entry.second.Mark()};
        civic.*(field->member) =
            checked(value, name == "country" ? checkCountry : anyText).value_or("");
      }
    }
    if (seen.count("country") == 0) {
      report(v, "country is missing: a PSAP cannot place an address without it");
    }
  }

  void readLocation(const YamlValue& item) {
    auto f = fields(item, {"key", "name", "kind", "site", "civic", "latitude", "longitude", "elins",
                           "subnets", "bssids", "switches", "psap_route"});
    if (!f) {
      return;
    }
    model::Location location;
    readPlace(*f, item, location);
    companyKeys_.insert(location.key);
    if (auto k = get(*f, item, "kind")) {
      auto kind = checked(*k);
      auto it = kind ? std::find(kKinds.begin(), kKinds.end(), *kind) : kKinds.end();
      if (kind && it == kKinds.end()) {
        report(*k, inQuotes(*kind) + " is not one of " + joined(kKinds, ", ") +
                       didYouMean(*kind, kKinds));
      } else if (kind) {
        location.kind = *kind == "site-default"      ? model::LocationKind::SiteDefault
                        : *kind == "account-default" ? model::LocationKind::AccountDefault
                                                     : model::LocationKind::Company;
      }
    }
    // The account's last resort serves every site; anything else belongs to one.
    bool needsSite = location.kind != model::LocationKind::AccountDefault;
    if (auto s = get(*f, item, "site", needsSite)) {
      location.site = checked(*s).value_or("");
      siteReferences_.push_back({location.site, *s});
    }
    if (auto r = get(*f, item, "psap_route")) {
      readPsapRoute(*r, location);
    }
    if (auto e = get(*f, item, "elins")) {
      for (const auto& v : list(*e)) {
        if (auto elin = checked(v, checkE164); elin && unique(elins_, *elin, v, "ELIN")) {
          location.elins.push_back(*elin);
        }
      }
    }
    if (auto n = get(*f, item, "subnets")) {
      for (const auto& v : list(*n)) {
        if (auto cidr = checked(v, checkNetwork); cidr && unique(subnets_, *cidr, v, "subnet")) {
          seed_.subnets.push_back({{*cidr, location.key}, place(v)});
        }
      }
    }
    if (auto b = get(*f, item, "bssids")) {
      for (const auto& v : list(*b)) {
        if (auto bssid = checked(v, checkBssid)) {
          std::string normal = *storedMac(*bssid, true);
          if (unique(bssids_, normal, v, "BSSID")) {
            seed_.bssids.push_back({{normal, location.key}, place(v)});
          }
        }
      }
    }
    if (auto s = get(*f, item, "switches")) {
      for (const auto& v : list(*s)) {
        if (auto sw = fields(v, {"chassis", "port"})) {
          model::SwitchRow row{model::normalizeChassis(required(*sw, v, "chassis")), "",
                               location.key};
          if (auto p = get(*sw, v, "port")) {
            row.port = checked(*p).value_or("");
          }
          if (!row.chassis.empty() &&
              unique(switches_, row.chassis + " port " + row.port, v, "switch")) {
            seed_.switches.push_back({std::move(row), place(v)});
          }
        }
      }
    }
    seed_.locations.push_back({std::move(location), place(item)});
  }

  // The location's own PSAP route: trunk names of the configuration, which the store does not
  // see; a name that is no trunk is skipped with a warning when a call is routed.
  void readPsapRoute(const YamlValue& v, model::Location& location) {
    if (location.kind == model::LocationKind::AccountDefault) {
      report(v,
             "an account-default location stands for an unknown location, which is routed to the "
             "ERC; give the override to a company or site-default location");
      return;
    }
    auto items = list(v);
    if (items.empty() && v.node.IsSequence()) {
      report(v, "must not be empty; leave psap_route out for no override");
    }
    for (const auto& item : items) {
      if (auto name = checked(item, checkTrunkName)) {
        location.psapRoute.push_back(*name);
      }
    }
  }

  void readUser(const YamlValue& item) {
    auto f = fields(item, {"extension", "did", "name", "site", "macs", "nomadic",
                           "location_permission", "personal_locations"});
    if (!f) {
      return;
    }
    model::UserRow user;
    if (auto e = get(*f, item, "extension", true)) {
      user.extension = checked(*e, checkExtension).value_or("");
      if (!user.extension.empty()) {
        unique(extensions_, user.extension, *e, "extension");
      }
    }
    if (auto d = get(*f, item, "did")) {
      user.did = checked(*d, checkE164).value_or("");
      if (!user.did.empty()) {
        unique(dids_, user.did, *d, "DID");
      }
    }
    if (auto n = get(*f, item, "name")) {
      user.name = checked(*n).value_or("");
    }
    if (auto s = get(*f, item, "site", true)) {
      user.site = checked(*s).value_or("");
      siteReferences_.push_back({user.site, *s});
    }
    if (auto m = get(*f, item, "macs")) {
      for (const auto& v : list(*m)) {
        if (auto mac = checked(v, checkMac)) {
          std::string normal = *storedMac(*mac, false);
          if (unique(macs_, normal, v, "MAC")) {
            seed_.devices.push_back({{normal, user.extension}, place(v)});
          }
        }
      }
    }
    if (auto n = get(*f, item, "nomadic")) {
      user.nomadic = boolean(*n).value_or(user.nomadic);
    }
    if (auto p = get(*f, item, "location_permission")) {
      user.locationPermission = boolean(*p).value_or(user.locationPermission);
    }
    if (auto p = get(*f, item, "personal_locations")) {
      for (const auto& v : list(*p)) {
        readPersonal(v, user.extension);
      }
    }
    seed_.users.push_back({std::move(user), place(item)});
  }

  void readPersonal(const YamlValue& item, const std::string& extension) {
    auto f = fields(item, {"key", "name", "confirmed", "civic", "latitude", "longitude", "elin",
                           "networks", "bssids"});
    if (!f) {
      return;
    }
    model::PersonalLocationRow row;
    row.extension = extension;
    row.location.kind = model::LocationKind::Personal;
    // Unconfirmed unless the file says so: an address the user never confirmed must not be
    // sent to a PSAP as if it were certain.
    row.location.confirmed = false;
    readPlace(*f, item, row.location);
    personalKeys_.insert(row.location.key);
    if (auto c = get(*f, item, "confirmed")) {
      row.location.confirmed = boolean(*c).value_or(false);
    }
    if (auto e = get(*f, item, "elin")) {
      if (auto elin = checked(*e, checkE164); elin && unique(elins_, *elin, *e, "ELIN")) {
        row.location.elins.push_back(*elin);
      }
    }
    Seen networks;  // unique within this location only
    if (auto n = get(*f, item, "networks")) {
      for (const auto& v : list(*n)) {
        if (auto net = checked(v, checkNetwork); net && unique(networks, *net, v, "network")) {
          row.matchNetworks.push_back(*net);
        }
      }
    }
    if (auto b = get(*f, item, "bssids")) {
      for (const auto& v : list(*b)) {
        if (auto bssid = checked(v, checkBssid)) {
          std::string normal = *storedMac(*bssid, true);
          if (unique(networks, normal, v, "BSSID")) {
            row.matchBssids.push_back(normal);
          }
        }
      }
    }
    seed_.personal.push_back({std::move(row), place(item)});
  }

  // "site_defaults: {HQ: hq-lobby}": the keys are site names, so not checked by fields().
  void readSiteDefaults(const YamlValue& v) {
    if (!v.node.IsMap()) {
      report(v, "expected a mapping of site name to location key, e.g. {HQ: hq-lobby}");
      return;
    }
    Seen seen;
    for (const auto& entry : v.node) {
      std::string site = entry.first.IsScalar() ? entry.first.Scalar() : "";
      YamlValue siteValue{entry.first, childKey(v.key, site), entry.first.Mark()};
      YamlValue target{entry.second, siteValue.key,
                       entry.second.IsNull() ? entry.first.Mark() : entry.second.Mark()};
      auto key = checked(target);
      if (!checked(siteValue) || !key || !unique(seen, site, siteValue, "site")) {
        continue;
      }
      siteReferences_.push_back({site, siteValue});
      locationReferences_.push_back({*key, target});
      seed_.siteDefaults.push_back({{site, *key}, place(target)});
    }
  }

  // After everything is read, so a reference may point further down the file.
  void checkReferences() {
    std::vector<std::string_view> sites, locations;
    for (const auto& [name, at] : siteNames_) {
      sites.push_back(name);
    }
    for (const auto& key : companyKeys_) {
      locations.push_back(key);
    }
    for (const auto& [name, where] : siteReferences_) {
      if (!name.empty() && siteNames_.count(name) == 0) {
        report(where,
               "no site is named " + inQuotes(name) + " under sites" + didYouMean(name, sites));
      }
    }
    for (const auto& [key, where] : locationReferences_) {
      if (personalKeys_.count(key) != 0) {
        report(where, inQuotes(key) + " is a personal location; a default must be a company one");
      } else if (companyKeys_.count(key) == 0) {
        report(where, "no location is keyed " + inQuotes(key) + didYouMean(key, locations));
      }
    }
  }

  Seed seed_;
  Seen siteNames_, locationKeys_, elins_, subnets_, bssids_, switches_, extensions_, dids_, macs_;
  std::set<std::string> companyKeys_, personalKeys_;
  std::vector<std::pair<std::string, YamlValue>> siteReferences_, locationReferences_;
};

}  // namespace

Result<Seed> parseSeed(const std::string& yamlText, const std::string& sourceName) {
  return Parser(sourceName).run(yamlText);
}

}  // namespace sos::store
