#pragma once
// The attempts of a call toward its trunks (issue 5): one Branch per trunk tried, each with its
// dialog, INVITE transaction and timers; the move to the next trunk of the route when one
// refuses, times out or cannot be reached; the CANCEL and BYE of attempts given up; and the
// branches still in nta's hands when their call has ended. What a response means for the call
// (relay it to the caller, answer, end) is the B2BUA's, through the hooks. SIP thread only.

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "proxy/attempt_invite.h"
#include "proxy/b2bua_counters.h"
#include "proxy/call.h"
#include "proxy/routing_log.h"
#include "proxy/sip_relay.h"
#include "proxy/sofia.h"
#include "proxy/trunk_monitor.h"

namespace sos::proxy {

class TrunkAttempts {
 public:
  struct Hooks {
    // A response to the INVITE of the call's current attempt (provisional, answer, failure).
    std::function<void(Branch&, nta_outgoing_t*, const sip_t*, int status)> response;
    // The last trunk of the route timed out: the caller must get its final answer.
    std::function<void(Call&, const std::string& why)> exhausted;
    // The call moved on to another trunk, `reason` saying why (the responders hear of it).
    std::function<void(Call&, const std::string& reason)> failedOver;
    // A branch can be destroyed: on the next reap, never inside its own callback.
    std::function<void()> scheduleReap;
  };

  // `onLegRequest`: the B2BUA's entry point for requests on an attempt's dialog.
  TrunkAttempts(nta_agent_t* agent, su_root_t* root, nta_request_f* onLegRequest,
                const SipRelay& relay, AttemptInvite& invites, TrunkMonitor& trunks,
                RoutingLog& log, B2buaCounters& counters, Hooks hooks);
  ~TrunkAttempts();
  TrunkAttempts(const TrunkAttempts&) = delete;
  TrunkAttempts& operator=(const TrunkAttempts&) = delete;

  // Sends the INVITE to the next trunk of the plan that can be tried (skipping trunks that are
  // down unless all are). False when none is left. `why` says why the previous one failed.
  bool tryNext(Call& call, int failedStatus, const std::string& why);
  // 424 to our PIDF-LO: sends the INVITE again on the same trunk with ELIN only. False when
  // there is nothing to retry (the call then moves to its next trunk).
  bool retryWithElinOnly(Call& call, Branch& br);
  // The caller cancelled: every attempt still unanswered is cancelled.
  void cancel(Call& call);
  // The call is being destroyed: its branches go, or wait as orphans for nta to finish.
  void release(Call& call);
  // Destroys the orphans nta is done with.
  void reap();

 private:
  static int onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip);
  static int onStrayLegRequest(Leg*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip);
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  bool start(Call& call, const config::Trunk& trunk);
  void response(Branch& br, nta_outgoing_t* orq, const sip_t* sip);
  void lateResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status);
  void timeout(Branch& br);
  void abandon(Branch& br);
  void logFailover(Call& call, const Branch& failed, int failedStatus, const std::string& why,
                   const std::string& next, const std::string& skipped);
  static void destroy(Branch& br);

  nta_agent_t* agent_;
  su_root_t* root_;
  nta_request_f* onLegRequest_;
  const SipRelay& relay_;
  AttemptInvite& invites_;
  TrunkMonitor& trunks_;
  RoutingLog& log_;
  B2buaCounters& counters_;
  Hooks hooks_;
  std::list<std::unique_ptr<Branch>> orphans_;  // branches whose call has ended
};

}  // namespace sos::proxy
