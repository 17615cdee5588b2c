#pragma once
// Scheduled test calls (issue 21): each site's PSAP trunks get a test call to their test
// destination ("urn:service:test.sos", or a test number such as 933) every interval, carrying
// the site's location as a real emergency call would (PIDF-LO and/or ELIN for the trunk's mode).
// An answer is ACKed and hung up at once with BYE; a call that gets no answer within the
// trunk's own response and ring timeouts is cancelled. Each result (answered, rejected with its
// status, timeout, transport error, and how long it took) goes to `record` (the store, through
// the I/O thread), to the routing log (event=test-call) and to sosproxy_test_calls_total.
//
// A test call never takes capacity from an emergency call: while the B2BUA sheds ordinary calls
// or drains, due tests wait (TestSchedule), and a trunk has one test call at a time. A trunk
// that carries a real emergency call is tested all the same: a test is one more dialog, which a
// trunk that cannot take it fails, and that is what the test is for.
//
// Lives on the SIP thread; every method is called from there. It reads the configuration and
// location snapshot in force through `Sources` at each tick (every kTickMs), so a reload or a
// new snapshot needs nothing of its own.

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/b2bua_counters.h"
#include "proxy/routing_log.h"
#include "proxy/sip_relay.h"
#include "proxy/sofia.h"
#include "proxy/test_schedule.h"
#include "routing/location_resolver.h"
#include "store/test_call.h"

namespace sos::proxy {

class TestCaller {
 public:
  static constexpr int kTickMs = 250;

  struct Sources {
    std::function<std::shared_ptr<const config::Config>()> config;  // in force now
    std::function<std::shared_ptr<const routing::LocationSnapshot>()> locations;
    std::function<bool()> busy;  // ordinary calls are shed, or sosproxy drains
  };
  using Record = std::function<void(store::TestCallResult)>;  // must not block

  // `history`: each site's and trunk's last test (the store's), so that a restart does not test
  // again before the interval is over.
  TestCaller(nta_agent_t* agent, su_root_t* root, SipRelay::Contacts contacts,
             B2buaCounters& counters, RoutingLog& log, Sources sources, Record record,
             const std::vector<store::TestCallStatus>& history);
  ~TestCaller();
  TestCaller(const TestCaller&) = delete;
  TestCaller& operator=(const TestCaller&) = delete;

 private:
  struct Call;
  static void onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  static int onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip);
  static int onLegRequest(Leg*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip);
  void tick();
  void place(const config::TestCallTarget& target);
  bool send(Call& call, const model::Location* where);
  void response(Call& call, nta_outgoing_t* orq, const sip_t* sip);
  void answered(Call& call, const sip_t* sip, int status);
  void timeout(Call& call);
  void report(Call& call, const std::string& outcome, int status, const std::string& reason);
  void reap();

  nta_agent_t* agent_;
  su_root_t* root_;
  SipRelay relay_;
  B2buaCounters& counters_;
  RoutingLog& log_;
  Sources sources_;
  Record record_;
  TestSchedule schedule_;
  std::shared_ptr<const config::Config> config_;  // the one the schedule was made from
  su_timer_t* tick_ = nullptr;
  std::list<std::unique_ptr<Call>> calls_;
  uint64_t seed_ = 0;
};

}  // namespace sos::proxy
