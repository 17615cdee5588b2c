#pragma once
// The routing log: one line per call decision and one per outcome, for operators to
// `tail -f` and `grep`. Text is key=value pairs (values with spaces are double-quoted);
// JSON is one object per line. Queued from the SIP thread; the log's own thread writes and
// flushes what is queued every RoutingLog::kFlushEvery.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/line_writer.h"

namespace sos::proxy {

struct RoutingLogEntry {
  // "route" (decision taken, INVITE sent on), "failover" (the INVITE moved to the next trunk;
  // added_ms is then the time from the caller's INVITE to this one), "retry" (424: same trunk,
  // ELIN only) or "final" (outcome known)
  std::string event;
  std::string callId;  // Call-ID of the caller's leg
  std::string caller;  // From/PAI user, e.g. "1001"
  std::string dialed;  // as received, e.g. "9911" or "urn:service:sos.fire"
  bool emergency = false;
  bool test = false;
  bool alarm = false;  // emergency call from an untrusted source
  std::string site;
  std::string source;      // packet source "127.0.0.1:5071/udp"
  std::string location;    // resolved location name (emergency calls), e.g. "HQ Floor 2"
  std::string locationBy;  // the signal and its evidence: "subnet 10.1.2.0/24 (Contact 10.1.2.45)"
  double locationAgeMs = -1;      // age of the data the location came from
  bool locationConflict = false;  // another signal pointed elsewhere
  std::string elin;               // ELIN sent as the caller (elin / both trunks)
  std::string pidf;               // PIDF-LO: "added", "device-kept", "device-by-reference", or ""
  std::string trunk;              // chosen trunk name, empty when rejected
  // Emergency calls: why this PSAP route ("civic rule US/IL", "ERC: location unknown") and its
  // trunks ("il-psap-a il-psap-b erc"); on failover and final lines, each attempt so far with
  // its result ("il-psap-a:408(no response in 2000 ms) il-psap-b:200").
  std::string route;
  std::string attempts;
  std::string outcome;     // route: "routed" | "rejected"; final: "answered" | "failed" |
                           // "cancelled" | "timeout"
  int status = 0;          // SIP status of the outcome (final) or of the rejection
  double addedMs = -1;     // time sosproxy added: INVITE in -> INVITE out (route events)
  double durationMs = -1;  // INVITE in -> final response (final events)
  std::string reason;      // why, in a few words
};

// Each line carries its own timestamp ("ts", ISO 8601 UTC with milliseconds). The one-argument
// forms stamp the current time; the others take it, so tests can pin it.
std::string formatText(const RoutingLogEntry& e);
std::string formatJson(const RoutingLogEntry& e);
std::string formatText(const RoutingLogEntry& e, std::chrono::system_clock::time_point ts);
std::string formatJson(const RoutingLogEntry& e, std::chrono::system_clock::time_point ts);

class RoutingLog {
 public:
  // How long a line may wait in memory before the writer thread writes it: `tail -f` sees a
  // call within this, and the SIP thread never has to wake the writer.
  static constexpr std::chrono::milliseconds kFlushEvery{20};
  static constexpr size_t kQueueLines = 65536;

  // `path` "-" writes to standard output. Creates parent directories. Throws on an unwritable
  // path (start-up only). `queueLines` and `flushEvery` are for tests.
  RoutingLog(const std::string& path, config::LogFormat format, size_t queueLines = kQueueLines,
             std::chrono::milliseconds flushEvery = kFlushEvery);
  ~RoutingLog() = default;  // writes what is still queued
  RoutingLog(const RoutingLog&) = delete;
  RoutingLog& operator=(const RoutingLog&) = delete;
  // Queues the line (never blocks on the disk: when the writer falls behind by `queueLines`
  // lines, the oldest queued lines go).
  void write(const RoutingLogEntry& e);
  uint64_t dropped() const { return writer_->dropped(); }  // that way, or refused by the disk
  // SIGHUP (issue 21): the log's thread opens the file by its path again, so that after
  // logrotate's `mv routing.log routing.log.1` new lines go to a new routing.log. Returns at
  // once: neither the caller nor the SIP thread waits for the disk. A file that cannot be
  // opened keeps the old one in use, with a warning, counted in reopenFailures(). No-op for
  // standard output.
  void reopen();
  uint64_t reopenFailures() const { return reopenFailures_.load(std::memory_order_relaxed); }

 private:
  std::string path_;
  std::atomic<uint64_t> reopenFailures_{0};
  config::LogFormat format_;
  std::unique_ptr<LineWriter> writer_;
};

}  // namespace sos::proxy
