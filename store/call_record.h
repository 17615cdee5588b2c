#pragma once
// One call's record: what the routing log's final line says about a call whose INVITE had its
// outcome, kept in the store for audits and the admin API. A plain value: store/ knows nothing
// of the proxy that fills it in.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sos::store {

struct CallRecord {
  int64_t id = 0;           // given by the store when the record is saved
  std::string callId;       // Call-ID of the caller's leg
  int64_t startedAtMs = 0;  // Unix time in ms: the caller's INVITE arrived
  int64_t endedAtMs = 0;    // Unix time in ms: the INVITE had its outcome
  std::string caller;       // e.g. "1001"
  std::string dialed;       // as received, e.g. "9911" or "urn:service:sos.fire"
  bool emergency = false;
  bool test = false;
  std::string site;
  std::string location;    // resolved location name (emergency calls), e.g. "HQ Floor 2"
  std::string locationBy;  // the signal and its evidence
  std::string elin;        // ELIN sent as the caller
  std::string pidf;        // "added", "device-kept", "device-by-reference" or ""
  std::string trunk;       // the trunk that had the last word
  std::string route;       // why this PSAP route, and its trunks
  std::string attempts;    // each trunk tried with its result: "il-psap-a:503 il-psap-b:200"
  std::string outcome;     // "answered" | "failed" | "cancelled" | "timeout"
  int status = 0;          // SIP status of the outcome
  double durationMs = 0;   // INVITE in -> final response
  std::string reason;
};

// Which call records to read (the admin API's filters); every field left at its default
// filters nothing.
struct CallQuery {
  int64_t sinceMs = 0;             // started at or after (Unix ms)
  int64_t untilMs = 0;             // started before; 0: no end
  std::vector<std::string> sites;  // empty: every site
  std::optional<bool> emergency;
  std::string outcome;  // "answered", "failed", ...
  std::string callId;
  size_t limit = 100;
  int64_t beforeId = 0;  // paging: records older than this one (newest first)
};

}  // namespace sos::store
