#pragma once
// What the commands that work on the store from the command line share (`sosproxy token`,
// `import`, `export`): the store of a configuration file, who ran the command, and when.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "store/store.h"

namespace sos::proxy {

// The store of the configuration's store.path (or store.postgresql), its seed loaded when it has no
// locations yet (as a start would). On failure prints "sosproxy COMMAND: why" and sets
// `exitStatus`: 2 for a bad configuration or no store.path, 1 when the database cannot be opened or
// seeded.
std::unique_ptr<store::Store> openConfiguredStore(const std::string& configPath,
                                                  const std::string& command, int& exitStatus);

// "cli:USER", the audit trail's actor for a command run by USER.
std::string cliActor();
int64_t cliNowMs();

// "sosproxy COMMAND: message" and the usage hint on standard error; returns 2.
int cliUsageError(const std::string& command, const std::string& message);

}  // namespace sos::proxy
