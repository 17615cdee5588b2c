#pragma once
// `sosproxy lint`: what a valid configuration and its location seed get wrong without being
// invalid. Each finding is a place in one of the two files, what is wrong there and what to do;
// the loaders (config::loadConfig, parseSeed) have already refused what cannot be run at all.
// Pure: no I/O, the caller reads the files. Runs on whichever thread asks.
//
// Findings, each check in file order:
//   - two subnets of different locations where one contains the other (IPv4 or IPv6);
//   - a wildcard BSSID ("00:11:22:33:44:5*") that covers another location's BSSID;
//   - a company location without FLR in a building whose other locations have several floors
//     (a building: the same civic address but for FLR, ROOM, UNIT and SEAT);
//   - a site whose company and site-default locations have fewer ELINs together than
//     sites[].expected_concurrent_emergency_calls (default 2): the extra callers' ELINs are
//     handed out again, and a PSAP's callback reaches only the last of them;
//   - a PSAP trunk (named by a site, civic rule, boundary or location route, or the ERC) that is
//     not probed with OPTIONS and does not say so (options_interval_s: 0);
//   - a site without responders (Kari's Law: somebody on site is told of every call);
//   - a site route that never reaches an ERC (emergency_routing.erc not set).

#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/yaml_place.h"
#include "store/seed.h"

namespace sos::store {

struct LintFinding {
  std::string file;  // the configuration's or the seed's path
  config::YamlPlace at;
  std::string what;  // what is wrong
  std::string fix;   // what to do about it
};

// "FILE:LINE:COLUMN: warning: WHAT; fix: FIX"
std::string toString(const LintFinding& f);

// Every finding of `config` and `seed` (read from `seedSource`), the configuration's first, each
// file's in line order.
std::vector<LintFinding> lint(const config::Config& config, const Seed& seed,
                              const std::string& seedSource);

// The same, the seed given as YAML text; an empty `seedSource` means no seed: the
// configuration's checks only (the ELINs, in the database alone, are not counted either).
// Errors: parseSeed's, code "store.seed-invalid".
Result<std::vector<LintFinding>> lintText(const config::Config& config, const std::string& seedText,
                                          const std::string& seedSource);

}  // namespace sos::store
