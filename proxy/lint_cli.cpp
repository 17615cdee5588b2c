// `sosproxy lint` (lint_cli.h): reads the files, store/lint.h judges them.

#include "proxy/lint_cli.h"

#include <iostream>

#include "base/text.h"
#include "proxy/cli_store.h"
#include "proxy/reload.h"
#include "store/lint.h"

namespace sos::proxy {

const char* const kLintUsage =
    R"(  sosproxy lint [--config] FILE      check FILE and its location seed for what is valid
                                     but wrong (overlapping subnets, BSSID ranges, missing
                                     floors, small ELIN pools, unprobed PSAP trunks, sites
                                     without responders or an ERC); one line per finding,
                                     FILE:LINE:COLUMN: warning: ...; fix: ...; exit 0 none,
                                     1 findings, 2 unreadable or invalid
)";

Result<std::vector<std::string>> lintLines(const config::Config& config) {
  std::string seedText;
  if (!config.store.seed.empty()) {
    auto text = readWholeFile(config.store.seed);
    if (!text.ok()) {
      return Error{"store.seed-unreadable",
                   config.store.seed + ": cannot read: " + text.error().message};
    }
    seedText = std::move(text).value();
  }
  auto findings = store::lintText(config, seedText, config.store.seed);
  if (!findings.ok()) return findings.error();
  std::vector<std::string> lines;
  for (const auto& f : findings.value()) lines.push_back(store::toString(f));
  return lines;
}

int runLintCommand(const std::vector<std::string>& args) {
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << "Usage:\n" << kLintUsage;
      return 0;
    }
    std::string value = a;
    if (a == "-c" || a == "--config") {
      if (i + 1 >= args.size()) return cliUsageError("lint", a + " needs a FILE");
      value = args[++i];
    } else if (!a.empty() && a.front() == '-') {
      return cliUsageError("lint", "unknown argument '" + a + "'");
    }
    if (!path.empty()) return cliUsageError("lint", "one configuration FILE only");
    path = value;
  }
  if (path.empty()) return cliUsageError("lint", "no configuration given (lint FILE)");
  // What check-config and a start read: a file they refuse is refused here the same way.
  auto loaded = loadRunnable(path, {});
  if (!loaded.ok()) {
    std::cerr << loaded.error().message << "\n";
    return 2;
  }
  auto lines = lintLines(*loaded.value().config);
  if (!lines.ok()) {
    std::cerr << lines.error().message << "\n";
    return 2;
  }
  for (const auto& line : lines.value()) std::cout << line << "\n";
  return lines.value().empty() ? 0 : 1;
}

}  // namespace sos::proxy
