// Writes a parsed seed: one prepared statement per table, every value bound. Problems the
// parser could not foresee (a constraint, a full disk) come back at the row's place in the file.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/db.h"
#include "store/seed.h"

namespace sos::store {
namespace {

constexpr std::string_view kindName(model::LocationKind kind) {
  switch (kind) {
    case model::LocationKind::SiteDefault:
      return "site-default";
    case model::LocationKind::AccountDefault:
      return "account-default";
    default:
      return "company";
  }
}

// The psap_route column: trunk names separated by single spaces (migration 3).
std::string joinRoute(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : " ") + name;
  }
  return out;
}

// Binds the civic columns from parameter `first` on, in kCivicFields order.
void bindCivic(Statement& s, int first, const model::CivicAddress& civic) {
  for (const auto& field : kCivicFields) {
    s.textOrNull(first++, civic.*(field.member));
  }
}

// Writes every seed row; on the first refusal returns the problem at that row's place.
class SeedWriter {
 public:
  SeedWriter(Db* db, std::string source) : db_(db), source_(std::move(source)) {}

  std::optional<Error> write(const Seed& seed) {
    std::string civic = civicColumns();
    size_t civicCount = kCivicFields.size();
    Statement site(db_, "INSERT INTO sites (name, country) VALUES (?, ?)");
    Statement location(db_,
                       "INSERT INTO locations (key, name, site, kind, latitude, longitude, "
                       "psap_route, " +
                           civic + ") VALUES (" + placeholders(7 + civicCount) + ")");
    Statement elin(db_,
                   "INSERT INTO location_elins (location_key, elin, position) VALUES (?, ?, ?)");
    Statement subnet(db_, "INSERT INTO subnets (cidr, location_key) VALUES (?, ?)");
    Statement bssid(db_, "INSERT INTO bssids (bssid, location_key) VALUES (?, ?)");
    Statement sw(db_, "INSERT INTO switches (chassis, port, location_key) VALUES (?, ?, ?)");
    Statement user(db_,
                   "INSERT INTO users (extension, did, name, site, nomadic, location_permission) "
                   "VALUES (?, ?, ?, ?, ?, ?)");
    Statement device(db_, "INSERT INTO devices (mac, extension) VALUES (?, ?)");
    Statement personal(db_,
                       "INSERT INTO personal_locations (key, extension, name, confirmed, "
                       "latitude, longitude, elin, " +
                           civic + ") VALUES (" + placeholders(7 + civicCount) + ")");
    Statement network(db_,
                      "INSERT INTO personal_location_networks (personal_key, network, kind) "
                      "VALUES (?, ?, ?)");
    Statement siteDefault(db_, "INSERT INTO site_defaults (site, location_key) VALUES (?, ?)");
    Statement account(db_, "INSERT INTO account (id, default_location_key) VALUES (1, ?)");

    for (const auto& [row, at] : seed.sites) {
      site.text(1, row.name).text(2, row.country);
      if (!done(site, at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.locations) {
      location.text(1, row.key)
          .text(2, row.name)
          .textOrNull(3, row.site)
          .text(4, kindName(row.kind));
      location.real(5, row.latitude).real(6, row.longitude).text(7, joinRoute(row.psapRoute));
      bindCivic(location, 8, row.civic);
      if (!done(location, at)) {
        return error_;
      }
      for (size_t i = 0; i < row.elins.size(); ++i) {
        elin.text(1, row.key).text(2, row.elins[i]).integer(3, static_cast<int64_t>(i));
        if (!done(elin, at)) {
          return error_;
        }
      }
    }
    for (const auto& [row, at] : seed.subnets) {
      if (!done(subnet.text(1, row.cidr).text(2, row.locationKey), at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.bssids) {
      if (!done(bssid.text(1, row.bssid).text(2, row.locationKey), at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.switches) {
      sw.text(1, row.chassis).text(2, row.port).text(3, row.locationKey);
      if (!done(sw, at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.users) {
      user.text(1, row.extension).textOrNull(2, row.did).text(3, row.name).textOrNull(4, row.site);
      user.integer(5, row.nomadic ? 1 : 0).integer(6, row.locationPermission ? 1 : 0);
      if (!done(user, at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.devices) {
      if (!done(device.text(1, row.mac).text(2, row.extension), at)) {
        return error_;
      }
    }
    for (const auto& [row, at] : seed.personal) {
      const model::Location& l = row.location;
      personal.text(1, l.key).text(2, row.extension).text(3, l.name).integer(4, l.confirmed);
      personal.real(5, l.latitude).real(6, l.longitude);
      personal.textOrNull(7, l.elins.empty() ? "" : l.elins.front());
      bindCivic(personal, 8, l.civic);
      if (!done(personal, at)) {
        return error_;
      }
      for (const auto& [list, kind] :
           {std::pair{&row.matchNetworks, "ip"}, std::pair{&row.matchBssids, "bssid"}}) {
        for (const auto& n : *list) {
          if (!done(network.text(1, l.key).text(2, n).text(3, kind), at)) {
            return error_;
          }
        }
      }
    }
    for (const auto& [row, at] : seed.siteDefaults) {
      if (!done(siteDefault.text(1, row.site).text(2, row.locationKey), at)) {
        return error_;
      }
    }
    for (const auto& [key, at] : seed.accountDefault) {
      if (!done(account.text(1, key), at)) {
        return error_;
      }
    }
    return std::nullopt;
  }

 private:
  // Runs one insert; a refusal (a constraint the parser did not foresee, a full disk) is
  // reported at the row it came from.
  bool done(Statement& s, const config::YamlPlace& at) {
    bool ok = s.run();
    s.reset();
    if (!ok) {
      error_ = Error{"store.seed-failed",
                     config::yamlProblem(source_, at, "cannot store: " + s.error())};
    }
    return ok;
  }

  Db* db_;
  std::string source_;
  std::optional<Error> error_;
};

}  // namespace

std::optional<Error> writeSeed(Db* db, const Seed& seed, const std::string& sourceName) {
  return SeedWriter(db, sourceName).write(seed);
}

}  // namespace sos::store
