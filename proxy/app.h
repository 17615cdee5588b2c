#pragma once
// The sosproxy command line: `sosproxy --config FILE`, `sosproxy check-config FILE`.
// Runs on the main thread, which waits for signals while the SIP thread works.

namespace sos::proxy {

// Returns the process exit status: 0 ok, 1 runtime failure (e.g. port in use),
// 2 bad command line or configuration.
int runApp(int argc, char** argv);

}  // namespace sos::proxy
