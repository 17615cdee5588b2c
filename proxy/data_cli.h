#pragma once
// `sosproxy import` and `sosproxy export`: users, desk phones and company locations as CSV
// files (issue 16), in the database of the configuration's store.path (or store.postgresql). A
// running sosproxy on that database sees an import within a second (it watches the store's data
// version) and routes the next call by it; no restart, no reload.

#include <string>
#include <vector>

namespace sos::proxy {

// `args` are what follows "import" or "export". Returns the exit status: 0 done (a dry run
// included), 1 the store could not be opened or written, 2 a bad command line, configuration
// or file (nothing written), 3 a refusal of the file's content (nothing written).
int runImportCommand(const std::vector<std::string>& args);
int runExportCommand(const std::vector<std::string>& args);

extern const char* const kDataUsage;

}  // namespace sos::proxy
