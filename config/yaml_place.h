#pragma once
// Where a value was read in a YAML file, kept with the values that problems found after reading
// are blamed on (a duplicate, a row the database refuses, a lint finding). Plain data, no YAML:
// the configuration model holds it too.

#include <string>

namespace sos::config {

// 1-based; line 0: not read from a file (a value built in code).
struct YamlPlace {
  int line = 0;
  int column = 0;
  std::string key;  // "locations[1].subnets[0]"
};

}  // namespace sos::config
