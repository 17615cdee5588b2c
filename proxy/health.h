#pragma once
// What GET /healthz and GET /readyz answer (issue 21).
//
// Live (/healthz): the SIP thread turned its event loop within kLiveWithin. Its heartbeat
// (proxy/sip_heartbeat.h), a Sofia timer on that loop, stamps SipHealth; a SIP thread that is
// wedged stops stamping, whatever the other threads do.
// Ready (/readyz): SIP sockets bound, a location snapshot loaded with locations in it, the store
// writable, the responder alerts' outbox opened where the configuration puts it (issue 14), and
// for every site at least one trunk of its emergency route (its psap_route and the ERC) not found
// down by its OPTIONS probe; and not stopping.
//
// SipHealth is written by the SIP thread and the main thread and read by the admin server on the
// I/O thread. liveness() and readiness() are pure decisions over what was read.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace sos::proxy {

using SteadyTime = std::chrono::steady_clock::time_point;

// The heartbeat comes every kHeartbeatEvery (or more often, for a short systemd watchdog); a SIP
// thread silent for kLiveWithin is not live.
inline constexpr std::chrono::milliseconds kHeartbeatEvery{500};
inline constexpr std::chrono::milliseconds kLiveWithin{5000};

// What the SIP thread knows of one trunk beyond up or down (the dashboard's trunks panel,
// issue 18): when it last went up or down and why, its last OPTIONS probe, and the last time a
// call moved off it.
struct TrunkStatus {
  std::string name;
  bool probed = false;
  bool up = true;
  int64_t changedAtMs = 0;  // Unix ms; 0: not since start
  std::string why;
  int64_t lastProbeAtMs = 0;  // when the last probe had its outcome
  std::string lastProbe;      // "200 OK", "503 Service Unavailable", "no answer", "not sent"
  int64_t lastFailoverAtMs = 0;
  std::string lastFailover;  // "call ID: 503; trying il-psap-b"
  uint64_t failovers = 0;
  bool operator==(const TrunkStatus&) const = default;
};

class SipHealth {
 public:
  // SIP thread: the loop turned at `now`.
  void beat(SteadyTime now);
  // SIP thread: the probed trunks that are down now (called when the set changes).
  void setDownTrunks(std::vector<std::string> trunks);
  // SIP thread: what it knows of each trunk (called when that changed).
  void setTrunks(std::vector<TrunkStatus> trunks);
  // Any thread: as last handed over, and a number that changes each time.
  std::vector<TrunkStatus> trunks() const;
  uint64_t trunksVersion() const { return trunksVersion_.load(std::memory_order_acquire); }
  // SIP thread: its sockets listen (true) or are being closed (false).
  void setListening(bool listening);
  // Main thread: a stop has begun (drain).
  void setStopping();

  struct View {
    bool listening = false;
    bool stopping = false;
    std::optional<SteadyTime> lastBeat;  // none before the first beat
    std::vector<std::string> downTrunks;
  };
  View view() const;

 private:
  std::atomic<int64_t> lastBeatNs_{0};  // steady_clock since its epoch; 0: never
  std::atomic<bool> listening_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> downTrunks_;  // guarded by mutex_
  std::vector<TrunkStatus> trunks_;      // guarded by mutex_
  std::atomic<uint64_t> trunksVersion_{0};
};

struct Liveness {
  bool live = false;
  std::string detail;  // "SIP thread turned 0.2 s ago", or why not live
};
Liveness liveness(const SipHealth::View& sip, SteadyTime now,
                  std::chrono::milliseconds within = kLiveWithin);

// What readiness is decided on, gathered by the admin handler.
struct ReadinessFacts {
  SipHealth::View sip;
  Liveness live;  // a SIP thread that is not live is not ready either
  bool snapshotLoaded = false;
  size_t locations = 0;                     // in the snapshot in force
  std::optional<std::string> storeProblem;  // why the store cannot be written; none: it can
  // Why responder alerts are kept in memory only (their outbox could not be opened); none: they
  // are written to the database before they are tried.
  std::optional<std::string> alertsProblem;
};

struct Readiness {
  struct Problem {
    std::string check;   // "sip", "stopping", "locations", "store", "alerts", "routes"
    std::string reason;  // "site HQ: every trunk of its route is down: il-psap-a, il-psap-b, erc"
  };
  std::vector<Problem> notReady;  // empty: ready
  bool ready() const { return notReady.empty(); }
};
Readiness readiness(const ReadinessFacts& facts, const config::Config& config);

// The HTTP answers: 200 or 503, and the body. /healthz: "ok" or "not live: ..." (text);
// /readyz: {"ready":true,"not_ready":[]} or {"ready":false,"not_ready":[{"check","reason"}...]}.
struct HealthAnswer {
  int status = 200;
  std::string contentType;
  std::string body;
};
HealthAnswer healthzAnswer(const Liveness& live);
HealthAnswer readyzAnswer(const Readiness& ready);

}  // namespace sos::proxy
