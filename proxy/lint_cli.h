#pragma once
// `sosproxy lint`: what the configuration and its location seed get wrong without being invalid
// (store/lint.h), one line per finding. check-config prints the same lines as its warnings.

#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace sos::proxy {

// `args` are what follows "lint". Returns the exit status: 0 no findings, 1 findings, 2 a bad
// command line, or a file that cannot be read or is invalid (check-config's errors).
int runLintCommand(const std::vector<std::string>& args);

// The findings of a loaded configuration and the seed it names (read here), one
// "FILE:LINE:COLUMN: warning: ...; fix: ..." line each. Errors: the seed cannot be read or is
// invalid.
Result<std::vector<std::string>> lintLines(const config::Config& config);

extern const char* const kLintUsage;

}  // namespace sos::proxy
