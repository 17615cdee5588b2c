#pragma once
// Scheduled test calls (issue 21) as plain values: one result per test call placed, and what the
// compliance report and the schedule read per site and trunk. store/ only keeps them; the proxy
// places the calls and decides what a result means.

#include <cstdint>
#include <string>

namespace sos::store {

// One test call to one trunk, for one site.
struct TestCallResult {
  int64_t id = 0;           // given by the store when the result is saved
  std::string site;         // whose location the test carried
  std::string trunk;        // the PSAP trunk tested
  std::string destination;  // the trunk's test destination: "urn:service:test.sos", "933"
  std::string callId;       // Call-ID of the test call's INVITE
  std::string location;     // the location sent (its name), "" when there was none
  int64_t startedAtMs = 0;  // Unix ms: the INVITE left
  // "answered" (a 2xx: the test passed), "rejected" (a final status of 300 or more),
  // "timeout" (no answer in time) or "transport-error" (it could not be sent or delivered)
  std::string outcome;
  int status = 0;         // SIP status of a final response; 0 when none came
  std::string reason;     // "503 Service Unavailable", "no response within 2000 ms", ...
  double durationMs = 0;  // INVITE out -> its outcome
  bool passed() const { return outcome == "answered"; }
};

// Where a site's trunk stands (one row per site and trunk, updated with every result): what a
// compliance report lists and what a restarted schedule goes on from.
struct TestCallStatus {
  std::string site;
  std::string trunk;
  int64_t lastTestAtMs = 0;     // 0: never tested
  int64_t lastSuccessAtMs = 0;  // 0: never passed
  std::string lastSuccessDestination;
  int64_t lastFailureAtMs = 0;     // 0: never failed
  std::string lastFailureOutcome;  // "rejected", "timeout", "transport-error"
  int lastFailureStatus = 0;
  std::string lastFailureReason;
  int consecutiveFailures = 0;  // since the last test that passed
  int64_t tests = 0;            // results recorded
  int64_t failures = 0;
};

}  // namespace sos::store
