#pragma once
// sosproxy's command line: the options of a run (and of check-config and print-config), --help
// and --version, and the subcommands that are programs of their own (lint, token, import,
// export).

#include <optional>
#include <string>
#include <vector>

#include "config/config_edit.h"
#include "proxy/reload.h"

namespace sos::proxy {

struct Options {
  std::string command = "run";
  std::string configPath;
  ConfigOverrides overrides;
  std::vector<config::ConfigChange> changes;  // print-config --set
};

// Reads the command line into `o`. An exit status when it is done with (--help, --version, an
// error: the message on standard error and 2).
std::optional<int> parseOptions(int argc, char** argv, Options& o);
// `sosproxy print-config FILE --set ...`.
int printConfig(const Options& opts);
// The subcommands that are programs of their own; empty when argv names none.
std::optional<int> runSubcommand(int argc, char** argv);

}  // namespace sos::proxy
