#pragma once
// Variants of a configuration file: the file with some values changed, as YAML text. The demo
// enterprise (config/examples/demo.yaml) exists once; the load and flood scripts, the bench
// scripts and the integration tests derive what they need from it (free ports, a work
// directory, no responders) with `sosproxy print-config FILE --set PATH=VALUE ...` or, in C++,
// editConfig(). Pure: text in, text out; no I/O.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sos::config {

// One change: the value at `path` replaced by `value`.
//
// `path` is a dotted key as the configuration's own messages write it. A key names a mapping's
// entry, created when missing ("location.callback_window_s"); `[N]` picks a list's item by
// position, `[NAME]` the item whose `name` is NAME ("trunks[il-psap-a].port",
// "sites[HQ].responders[0].webhook") and `[*]` every item ("trunks[*].transport"). An empty
// path stands for the whole file: `value` is then a mapping whose top-level sections replace
// the file's (or are added).
//
// `value` is YAML, so "5070", "[udp]", "{seed: demo-locations.yaml}" and "[]" all mean what
// they say in the file; "" (empty) is a null, and '""' an empty string.
struct ConfigChange {
  std::string path;
  std::string value;
};

// "PATH=VALUE" (the first '=' splits) into a change; an error without '='.
Result<ConfigChange> parseConfigChange(std::string_view assignment);

// `yamlText` (the configuration read from `sourcePath`) with `changes` applied in order, as
// YAML text. Relative store paths (store.path, store.seed) are made absolute from
// `sourcePath`'s directory, so the result means the same wherever it is written. Comments are
// not kept; the result begins with one saying where it came from. Errors, code "config.edit":
// the file is not YAML, a path leads nowhere ("trunks[nope]: no item is named nope"), or a value
// is not YAML. Whether the result is a valid configuration is parseConfig's question.
Result<std::string> editConfig(const std::string& yamlText, const std::string& sourcePath,
                               const std::vector<ConfigChange>& changes);

}  // namespace sos::config
