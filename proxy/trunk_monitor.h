#pragma once
// OPTIONS probing of trunks (issue 5; a class of its own since issue 15). A trunk with
// options_interval_s gets an OPTIONS at start, on each reload and once per interval; it is down
// when a probe is not answered within its response_timeout_s, is answered 503, or cannot be
// sent, and when an emergency INVITE to it gets no response or its transport fails (the B2BUA
// says so through setUp()). Any other answer brings it back up. Unprobed trunks are always up.
// What is known of each trunk besides (its last probe, when it changed, the last call that moved
// off it) is handed to the I/O thread by the heartbeat, for the dashboard (status()).
// Lives on the SIP thread; every method is called from there.

#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "proxy/health.h"
#include "proxy/sofia.h"

namespace sos::proxy {

struct B2buaCounters;

class TrunkMonitor {
 public:
  // `host` is our address for the probes' From; `counters` gets probe failures and the number
  // of trunks down.
  TrunkMonitor(nta_agent_t* agent, su_root_t* root, B2buaCounters& counters, std::string host);
  ~TrunkMonitor();
  TrunkMonitor(const TrunkMonitor&) = delete;
  TrunkMonitor& operator=(const TrunkMonitor&) = delete;

  // (Re)starts probing the trunks of `config` that ask for it; trunks no longer probed count as
  // up again. Keeps `config` alive.
  void start(std::shared_ptr<const config::Config> config);
  void stop();

  // A probed trunk goes up or down; an unprobed one has no state (it would never come back).
  void setUp(const std::string& trunk, bool up, const std::string& why);
  bool up(const std::string& trunk) const;
  // The probed trunks that are down now, by name (sorted), for /readyz.
  std::vector<std::string> down() const;
  // A call moved off `trunk` (TrunkAttempts' failover), `reason` saying why and where to.
  void failedOver(const std::string& trunk, const std::string& callId, const std::string& reason);
  // Every trunk of the configuration in force, when anything changed since `version` (which is
  // updated), else nullopt.
  std::optional<std::vector<TrunkStatus>> status(uint64_t& version) const;
  // Lets go of the probes that have their answer (from the B2BUA's reaper: never from inside a
  // probe's own callback).
  void reap();

 private:
  struct Health;
  struct Probe;
  struct Target;
  // What TrunkStatus says besides probed and up, for every trunk named so far.
  struct Facts {
    int64_t changedAtMs = 0;
    std::string why;
    int64_t lastProbeAtMs = 0;
    std::string lastProbe;
    int64_t lastFailoverAtMs = 0;
    std::string lastFailover;
    uint64_t failovers = 0;
  };
  void probed(const std::string& trunk, std::string outcome);
  static int onResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);
  static void onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  static void onDeadline(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void send(const std::string& trunk);

  nta_agent_t* agent_;
  su_root_t* root_;
  B2buaCounters& counters_;
  std::string host_;
  std::shared_ptr<const config::Config> config_;
  std::unordered_map<std::string, std::unique_ptr<Health>> health_;  // by trunk name
  std::list<std::unique_ptr<Probe>> probes_;
  std::vector<std::unique_ptr<Target>> targets_;  // the interval timers' arguments
  uint32_t cseq_ = 1;
  std::unordered_map<std::string, Facts> facts_;  // by trunk name
  uint64_t version_ = 1;                          // changes with facts_ or a trunk's state
};

}  // namespace sos::proxy
