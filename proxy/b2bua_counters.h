#pragma once
// What the B2BUA counts, for /metrics.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/counters.h"
#include "proxy/edge_policy.h"
#include "proxy/invite_gate.h"

namespace sos::proxy {

// Counted on the SIP thread, read by the admin API's /metrics (relaxed atomics: figures, not
// synchronisation). Owned by the Server so they outlive any one B2bua.
struct B2buaCounters {
  // The time sosproxy adds to a call's set-up: its INVITE in -> the first INVITE toward a trunk
  // out, per routed call (issue 21).
  Histogram added{{0.25, 0.5, 1, 2, 5, 10, 25, 100, 500, 2500}};
  // How long a PSAP takes to answer: our INVITE to it out -> its 2xx in, per answered emergency
  // call (issue 21).
  Histogram psapAnswer{{500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000}};
  // Each attempt toward a trunk by outcome: answered, refused, timeout, no-answer, unreachable,
  // skipped (its probe said down), not-sent.
  LabelledCounts trunkAttempts;
  // Emergency calls moved to their next trunk, by what the one before did (timeout, refused,
  // no-answer, unreachable, not-sent).
  LabelledCounts failoverReasons;
  // Emergency calls routed, by the caller's site and how the location was found (the signal:
  // subnet, bssid, site-default, ...; "none" when locating failed).
  LabelledCounts emergencyBySite;
  // Scheduled test calls (issue 21) by trunk and outcome: answered, rejected, timeout,
  // transport-error.
  LabelledCounts testCalls;
  std::atomic<uint64_t> testCallsPostponed{0};  // due while ordinary calls were shed or draining
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> emergencyCalls{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> cancelled{0};
  std::atomic<int64_t> active{0};
  std::atomic<uint64_t> locationFallbacks{0};   // emergency calls placed at a site/account default
  std::atomic<uint64_t> elinReusedLive{0};      // an ELIN handed out while another caller held it
  std::atomic<uint64_t> elinFallbacks{0};       // no ELIN of the location: site default or DID
  std::atomic<uint64_t> locationRetries424{0};  // 424 to our PIDF-LO: retried with ELIN only
  std::atomic<uint64_t> callbacksToCaller{0};
  std::atomic<uint64_t> callbacksToDesk{0};
  std::atomic<uint64_t> emergencyDegraded{0};       // location or PIDF-LO failed: routed without
  std::atomic<uint64_t> deviceLocationUnusable{0};  // the caller sent a location that says nothing
  std::atomic<uint64_t> identityNotVouched{0};      // P-Asserted-Identity from outside pbx_sources
  std::atomic<uint64_t> sdpShielded{0};             // calls whose SDP was cleaned or replaced
  std::atomic<uint64_t> headersDropped{0};          // malformed or unknown headers not relayed
  std::atomic<uint64_t> networkMarkNotVouched{0};   // network-provided from outside network_sources
  std::atomic<uint64_t> trunkSkips{0};              // a trunk skipped because its probe said down
  std::atomic<uint64_t> probeFailures{0};           // OPTIONS probes unanswered or refused
  std::atomic<int64_t> trunksDown{0};               // probed trunks down right now
  std::atomic<uint64_t> ordinaryLimited{0};         // ordinary calls refused by the limits (503)
  std::atomic<uint64_t> ercOnly{0};    // emergency calls sent to the ERC: location unknown
  std::atomic<uint64_t> overloads{0};  // times ordinary-call shedding began
  std::atomic<uint64_t> settled{0};    // held calls that let go of their set-up transactions
  EdgeCounters edge;                   // what the SIP edge refused, dropped and closed (issue 14)
  InviteGateCounters gate;             // INVITEs held back while the UDP queue is long (issue 19)
};

}  // namespace sos::proxy
