#pragma once
// Internal to store/: the seed file (YAML location data, format documented in
// config/examples/demo-locations.yaml) read and fully validated into rows, before any of them
// is written. Each row remembers where it came from, so that a row the database still refuses
// is reported at its place in the file like any other problem.

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/yaml_reader.h"
#include "model/location.h"

namespace sos::store {

class Db;

template <class Row>
struct Placed {
  Row row;
  config::YamlPlace at;
};

struct SeedSite {
  std::string name;
  std::string country;
};

struct SeedDevice {
  std::string mac;  // normalized
  std::string extension;
};

struct Seed {
  std::vector<Placed<SeedSite>> sites;
  std::vector<Placed<model::Location>> locations;  // elins in pool order
  std::vector<Placed<model::SubnetRow>> subnets;
  std::vector<Placed<model::BssidRow>> bssids;  // normalized
  std::vector<Placed<model::SwitchRow>> switches;
  std::vector<Placed<model::UserRow>> users;  // macs are written from `devices`
  std::vector<Placed<SeedDevice>> devices;
  std::vector<Placed<model::PersonalLocationRow>> personal;
  std::vector<Placed<model::SiteDefaultRow>> siteDefaults;
  std::vector<Placed<std::string>> accountDefault;  // none or one location key
};

// Parses and validates `yamlText`. Errors: code "store.seed-invalid", one line per problem in
// file order, each "SOURCE:LINE:COLUMN: KEY: what is wrong".
Result<Seed> parseSeed(const std::string& yamlText, const std::string& sourceName);

// Inserts every row of `seed`, in the caller's transaction. On the first row the database
// refuses (a constraint the parser did not foresee, a full disk) returns that problem, code
// "store.seed-failed", at the row's place in the file; the caller then rolls back.
std::optional<Error> writeSeed(Db* db, const Seed& seed, const std::string& sourceName);

}  // namespace sos::store
