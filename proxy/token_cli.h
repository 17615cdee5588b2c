#pragma once
// `sosproxy token create|list|revoke|password`: API tokens (admin/auth.h) and their dashboard
// passwords (admin/password.h) managed from the command line, in the database of the
// configuration's store.path. The running proxy sees a new or revoked
// token at its next request (it looks tokens up in the database), so no restart is needed.

#include <string>
#include <vector>

namespace sos::proxy {

// `args` are what follows "token" on the command line. Returns the exit status: 0 done, 1 the
// store could not be opened or written, 2 a bad command line or configuration.
int runTokenCommand(const std::vector<std::string>& args);

extern const char* const kTokenUsage;

}  // namespace sos::proxy
