#pragma once
// A call as the B2BUA keeps it: its two dialogs (legs), the transactions relayed between them,
// the attempts toward trunks (branches), its state and the plan it carries out. Plain data,
// owned and changed by the B2BUA on the SIP thread only.

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "proxy/call_state.h"
#include "proxy/routing_log.h"
#include "proxy/sofia.h"
#include "routing/call_planner.h"
#include "routing/location_resolver.h"
#include "routing/router.h"

namespace sos::proxy {

class B2bua;
class TrunkAttempts;
struct Call;

enum class Side { A, B };

// One dialog of a call, or (with call == nullptr) the agent's default leg.
struct Leg {
  B2bua* owner = nullptr;
  Call* call = nullptr;
  Side side = Side::A;
  nta_leg_t* leg = nullptr;
  std::string contact;  // our Contact toward this leg's peer
};

// A request relayed from one leg to the other: the server transaction it came in on and the
// client transaction it went out as.
struct Txn : TxnMagic {
  Call* call = nullptr;
  Side from = Side::A;  // the side that sent the request
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
  sip_method_t method = sip_method_unknown;
  bool initial = false;   // the INVITE that created the call
  bool finished = false;  // a final response has gone back on `irq`
  uint32_t outCseq = 0;   // CSeq of the relayed INVITE, for its ACK (RFC 3261 13.2.2.4)
};

// One attempt to reach a trunk with the caller's INVITE (issue 5). An emergency call moves to
// the next trunk of its route when this one refuses, times out or cannot be reached. A branch
// owns its dialog leg and INVITE transaction; the current one is the call's leg B. A branch
// still waiting for a final response when its call ends is kept (orphaned, call == nullptr)
// until that response arrives, so nta never sees a transaction destroyed under it.
struct Branch : TxnMagic {
  TrunkAttempts* owner = nullptr;
  Call* call = nullptr;
  std::string trunk;  // trunk name (the Trunk itself may go with a reloaded configuration)
  const config::Trunk* trunkConfig = nullptr;  // valid while `call` is set
  nta_leg_t* leg = nullptr;
  nta_outgoing_t* orq = nullptr;         // the INVITE in force
  std::vector<nta_outgoing_t*> oldOrqs;  // earlier INVITEs of this branch (424 retry)
  nta_outgoing_t* bye = nullptr;         // BYE of a late answer we do not want
  su_timer_t* timer = nullptr;           // response or ring timeout
  uint32_t cseq = 0;
  std::chrono::steady_clock::time_point sent;
  std::string requestUri, nextHop;
  bool pidfAdded = false;    // our PIDF-LO went in the body: a 424 may retry with ELIN only
  bool provisional = false;  // any 1xx came back (a CANCEL may be sent)
  bool ringing = false;      // a 1xx other than 100 came back: the ring timeout runs
  bool final = false;        // a final response came back (or the INVITE was never sent)
  bool abandoned = false;    // timed out: a later answer is hung up
  bool cancelSent = false;
  bool byeDone = false;
  // What became of this attempt, for sosproxy_trunk_attempts_total: "refused", "timeout",
  // "no-answer" or "unreachable" once it failed.
  const char* outcome = "refused";
  // Still in nta's hands: an INVITE without its final response, or our BYE unanswered.
  bool pending() const { return (!final && orq != nullptr) || (bye != nullptr && !byeDone); }
};

struct Call {
  uint64_t id = 0;
  B2bua* owner = nullptr;
  Leg a, b;  // b.leg is the current branch's leg (owned by the branch)
  CallState state = CallState::Proceeding;
  bool cancelled = false;    // A cancelled the INVITE
  bool ordinary = false;     // counted against the ordinary-call limits
  bool ringingSent = false;  // a 18x has gone to the caller
  Txn* invite = nullptr;     // the initial INVITE (server side), owned by txns
  std::list<std::unique_ptr<Txn>> txns;
  su_home_t* home = nullptr;
  std::chrono::steady_clock::time_point received;
  RoutingLogEntry log;  // the decision, completed with the outcome
  // The configuration the call started with stays alive until it ends, whatever reloads do.
  std::shared_ptr<const routing::Router> router;

  // What each attempt needs: the planner's decision (the request, where the caller is, the
  // route) and the caller's INVITE with leg B's From and To.
  struct Plan : routing::CallPlan {
    explicit Plan(routing::CallPlan decided) : routing::CallPlan(std::move(decided)) {}
    msg_t* request = nullptr;  // the caller's INVITE (a reference of our own)
    std::shared_ptr<const routing::LocationSnapshot> snapshot;  // keeps `where` and `user` alive
    bool bodyShielded = false;   // req.body is the caller's with its SDP made well-formed
    sip_from_t* from = nullptr;  // leg B's From and To (in the call's home), tags left out
    sip_to_t* to = nullptr;
    size_t next = 0;             // index in `route` of the next trunk to try
    bool elinRetryDone = false;  // the 424 retry is made once
  };
  std::unique_ptr<Plan> plan;
  std::vector<std::unique_ptr<Branch>> branches;
  Branch* current = nullptr;
  std::string attempts;       // "il-psap-a:408(no response in 2000 ms) il-psap-b:200"
  std::string outcome;        // of the INVITE, once known: "answered", "failed", "cancelled", ...
  bool alerting = false;      // an emergency call or a callback: its events are told
  bool toResponders = false;  // ... to the responders too (some site has them)
};

// Lets go of what a confirmed call needed to get set up (the caller's INVITE and our answer, our
// INVITE and the trunk's answer, the caller's request): once the call has been confirmed for
// 64*T1 no retransmission of either can come (RFC 3261 17.1.1.2, 17.2.1). A held call keeps its
// two dialogs.
void releaseSetup(Call& call);

}  // namespace sos::proxy
