#pragma once
// Sofia-SIP's own diagnostics (nta, tport: "Connection reset by peer", "Via check: invalid
// transport", ...) go to the operational log instead of straight to standard error, at most
// kLinesPerSecond lines a second; the rest are counted (issue 14). Sofia printed each of them
// with a blocking write from the SIP thread, one per bad datagram or reset connection: under a
// flood, thousands a second. With SOFIA_DEBUG, NTA_DEBUG or TPORT_DEBUG set (someone is
// debugging) every line goes through.

#include <cstdint>

namespace sos::proxy::sofia_log {

inline constexpr int kLinesPerSecond = 10;

// Redirects Sofia's default log (call once, before the agent is created).
void redirect();

// Says how many lines were left out, once their second is over (the edge calls it every
// second, so that the count comes even when Sofia logs nothing more).
void flush();

// Lines of Sofia's log not written because of the rate (for /metrics).
uint64_t suppressed();

}  // namespace sos::proxy::sofia_log
