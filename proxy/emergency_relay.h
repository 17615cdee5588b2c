#pragma once
// Emergency calls relayed as a transaction-stateful proxy (edge.emergency_relay: stateful; RFC
// 3261 16). An emergency INVITE over UDP whose every trunk takes UDP is planned as the B2BUA
// plans it (routing::CallPlanner: where the caller is, the route), answered 100 Trying at once,
// and sent to the first trunk of its route as the caller sent it but for what the attempt
// changes (proxy/attempt_invite.h: the PIDF-LO, the ELIN as the caller, the shielded body, what
// the source could not vouch for), sosproxy's Via and its Record-Route with a dialog token
// (proxy/stateless_relay.h) on top and the Request-URI the trunk's. The caller's Call-ID, tags
// and CSeq go end to end: no dialog of sosproxy's own.
//
// What nta's transactions did, done here on bytes (proxy/sip_wire.h), one record a call:
// - the caller's side: a retransmitted INVITE gets the last answer again, the ACK of a failure
//   is taken, a CANCEL is answered 200 and carried on to the trunk;
// - the trunk's side: the INVITE sent again every 500 ms, doubling up to 4 s, until the trunk
//   answers anything (RFC 3261 17.1.1.2); the trunk's failures ACKed (17.1.1.3);
// - the attempts (as TrunkAttempts): response_timeout_s for the first response, ring_timeout_s
//   once it rings; a timeout, 408, 5xx, 6xx or other refusal moves the call to the next trunk
//   (trunks the probes say are down skipped while one is up), the abandoned attempt cancelled
//   once it has a provisional response and hung up if it answers late; a 424 to sosproxy's
//   PIDF-LO is retried once on the same trunk with the ELIN only; the caller hears 180 from the
//   first failover on; when the last trunk fails the caller gets its failure, 408 for a
//   timeout.
// Responses and the dialog's requests are taken off the SIP port before Sofia reads them
// (proxy/relay_tap.h); a response counts only when its top Via's branch is one of a relayed
// call's attempts. The routing log, the call record, the counters, the responder and dashboard
// events are the B2BUA's own (its started, answered, failover and ended). A record is kept
// 32 s after the INVITE's final answer (for retransmissions), an answered call's until its BYE
// passes, at most kMaxHeldMs.
//
// SIP thread only.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/call.h"
#include "proxy/emergency_invite.h"
#include "proxy/relay_tap.h"
#include "proxy/sip_wire.h"
#include "proxy/sofia.h"

namespace sos::proxy {

class B2bua;
class StatelessRelay;

class EmergencyRelay {
 public:
  // `relay`: the stateless relay whose Record-Route, dialog tokens and response forwarding
  // these calls share; what is sent leaves from `tap`'s sockets.
  EmergencyRelay(su_root_t* root, B2bua& b2bua, StatelessRelay& relay, const RelayTap& tap);
  ~EmergencyRelay();
  EmergencyRelay(const EmergencyRelay&) = delete;
  EmergencyRelay& operator=(const EmergencyRelay&) = delete;

  // A new emergency INVITE the edge accepted, from `from`. True when relayed here (`msg` taken);
  // false when it is the B2BUA's (not an emergency call by the plan, a trunk of its route not
  // UDP, not sent over UDP, no branch).
  bool invite(msg_t* msg, sip_t* sip, const Peer& from);
  // An INVITE, CANCEL or ACK of a relayed INVITE's transaction (its top Via's branch): answered
  // or taken here. True when it was one (`msg` taken).
  bool request(msg_t* msg, sip_t* sip);
  // A response read as bytes: true when its top Via is a relayed call's attempt (handled).
  bool response(const wire::Message& m);
  // A request of a relayed dialog the stateless relay has passed on: a BYE ends the call.
  void dialogRequest(const wire::Message& m);
  // Calls held (set-up in progress, or answered and not yet ended).
  size_t held() const { return calls_.size(); }

  static constexpr int64_t kKeepAfterFinalMs = 32000;       // 64*T1
  static constexpr int64_t kMaxHeldMs = 4LL * 3600 * 1000;  // an answered call without a BYE
  static constexpr int kT1Ms = 500;
  static constexpr int kT2Ms = 4000;

 private:
  using Clock = std::chrono::steady_clock;
  struct Record;
  struct Attempt {
    std::string trunk;
    const config::Trunk* config = nullptr;  // valid while the record's router is
    std::string branch;                     // our Via's
    std::string requestUri;
    std::string invite;  // the bytes sent (again on Timer A)
    std::string host;
    uint16_t port = 0;
    Clock::time_point sent;
    Clock::time_point retransmitAt;
    Clock::time_point deadline;  // response_timeout_s, then ring_timeout_s
    int interval = kT1Ms;
    bool pidfAdded = false;
    bool provisional = false;  // any response came: no more retransmissions; a CANCEL may go
    bool ringing = false;
    bool final = false;
    bool abandoned = false;  // given up: a late answer is hung up
    bool cancelSent = false;
    std::string byeBranch;  // our BYE of a late answer
    const char* outcome = "refused";
  };
  struct Record {
    EmergencyRelay* owner = nullptr;
    std::string key;      // the caller's branch
    std::string callId;   // key of byCallId_
    std::string request;  // the caller's INVITE as sosproxy read it
    Peer caller;
    Call call;  // the plan, the routing-log entry, the attempts so far (no legs, no Sofia)
    std::vector<std::unique_ptr<Attempt>> attempts;
    Attempt* current = nullptr;
    std::string lastAnswer;  // the caller's last answer from here (100, 180 or a failure)
    bool cancelled = false;
    bool finished = false;  // the INVITE has its final answer
    bool answered = false;
    bool ended = false;
    Clock::time_point forgetAt = Clock::time_point::max();
    Clock::time_point trimAt = Clock::time_point::max();      // answered: the bytes go 64*T1 on
    std::multimap<Clock::time_point, Record*>::iterator due;  // its entry in due_
    bool armed = false;
  };

  // One Sofia timer for all records, set for the earliest of due_.
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void expire();
  void tick(Record& r);
  void arm(Record& r);  // r's next moment into due_
  void disarm(Record& r);
  void setTimer();
  bool tryNext(Record& r, int failedStatus, const std::string& why);
  bool start(Record& r, const config::Trunk& trunk);
  bool retryWithElinOnly(Record& r, Attempt& a);
  void sendInvite(Record& r, Attempt& a, const EmergencyInvite& rewrite);
  void inviteResponse(Record& r, Attempt& a, const wire::Message& m);
  void lateResponse(Record& r, Attempt& a, const wire::Message& m);
  void timeout(Record& r, Attempt& a);
  void abandon(Attempt& a);
  // Hop-by-hop requests of an attempt: the ACK of its failure, its CANCEL (RFC 3261 9.1,
  // 17.1.1.3), and the ACK and BYE of an answer nobody wants.
  void ackFailure(const Attempt& a, const wire::Message& response);
  void cancel(Attempt& a);
  void hangUp(Attempt& a, const wire::Message& answer);
  // One of those, without a body, from `invite`'s From and Call-ID, to the attempt's trunk.
  void sendBare(const Attempt& a, std::string_view method, std::string_view uri,
                std::string_view branch, const wire::Message& invite, std::string_view to,
                std::string_view cseq);
  // To the caller: an answer made here, or a trunk's response passed on (kept for
  // retransmissions when it is `keep`).
  void answerCaller(Record& r, int status, std::string_view phrase);
  void passOn(Record& r, const wire::Message& m, bool keep);
  void finish(Record& r, std::string outcome, int status, std::string reason);
  void end(Record& r, const std::string& how);
  void forget(Record& r);

  su_root_t* root_;
  B2bua& b2bua_;
  StatelessRelay& relay_;
  const RelayTap& tap_;
  std::unordered_map<std::string, std::unique_ptr<Record>> calls_;  // by the caller's branch
  std::unordered_map<std::string, Record*> byBranch_;               // by an attempt's branch
  std::unordered_map<std::string, Record*> byCallId_;
  // When each record has something to do next: one entry a record, moved as that changes.
  std::multimap<Clock::time_point, Record*> due_;
  su_timer_t* timer_ = nullptr;
  Clock::time_point timerAt_ = Clock::time_point::max();
  std::string newBranch();
  uint64_t branchSeed_ = 0;
  uint64_t nextBranch_ = 0;
  std::string out_;
};

}  // namespace sos::proxy
