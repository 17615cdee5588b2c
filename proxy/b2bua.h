#pragma once
// The back-to-back user agent: every call is two dialogs (legs) with their own Call-ID, tags
// and CSeq. Leg A faces the caller (PBX or phone), leg B the trunk routing chose.
// Lives on the SIP thread; every method is called from there (Sofia callbacks included).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "notify/channels.h"
#include "notify/event.h"
#include "proxy/admission.h"
#include "proxy/b2bua_counters.h"
#include "proxy/call.h"
#include "proxy/edge_policy.h"
#include "proxy/emergency_invite.h"
#include "proxy/load_watch.h"
#include "proxy/message_sender.h"
#include "proxy/routing_log.h"
#include "proxy/sofia.h"
#include "proxy/trunk_monitor.h"
#include "routing/call_planner.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"
#include "routing/planner_state.h"
#include "routing/router.h"

namespace sos::proxy {

class B2bua {
 public:
  struct Contacts {
    std::string udp;  // "<sip:127.0.0.1:5060>"
    std::string tcp;  // "<sip:127.0.0.1:5060;transport=tcp>"
  };

  B2bua(nta_agent_t* agent, su_root_t* root, std::shared_ptr<const routing::Router> router,
        RoutingLog& log, Contacts contacts, B2buaCounters& counters);
  ~B2bua();
  B2bua(const B2bua&) = delete;
  B2bua& operator=(const B2bua&) = delete;

  // The agent's default leg: requests outside any dialog.
  Leg* defaultLeg() { return &default_; }

  const B2buaCounters& counters() const { return counters_; }

  // A reloaded configuration's router (SIGHUP, admin reload). New calls use it; calls in
  // progress finish with the router they started with (each Call holds its own reference).
  void setRouter(std::shared_ptr<const routing::Router> router);

  // A new location snapshot (built on the I/O thread). Reports it carries that are newer than
  // the ones already held are taken over.
  void setLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot);
  // Where ELIN -> caller mappings go after each assignment (the store, via the I/O thread), and
  // the ones saved before a restart.
  using ElinSink = std::function<void(std::vector<model::CallbackTarget>)>;
  void setElinPersistence(ElinSink sink, std::vector<model::CallbackTarget> initial) {
    elinSink_ = std::move(sink);
    state_.restoreCallbacks(std::move(initial));
  }
  // The routing in force for new calls (the SIP edge decides trust and limits with it).
  const std::shared_ptr<const routing::Router>& router() const { return router_; }
  // An emergency call the edge refused because its source is untrusted (issue 14): the
  // responders are alerted all the same. False when there is nobody to alert.
  bool alertUntrusted(const routing::CallRequest& req, const routing::RouteDecision& decision,
                      const std::string& source, bool answered);
  // Where a call's record goes once its INVITE has an outcome (answered, failed, cancelled):
  // the routing log's final entry, attempts included. Must not block.
  using RecordSink = std::function<void(RoutingLogEntry)>;
  void setCallRecordSink(RecordSink sink) { recordSink_ = std::move(sink); }
  // Where emergency-call events go (responder alerts, issue 6): called on the SIP thread after
  // the INVITE toward the PSAP has left; must not block (the sink posts to the I/O thread).
  using EventSink = std::function<void(notify::CallEvent)>;
  void setEventSink(EventSink sink) { eventSink_ = std::move(sink); }
  // Sends a SIP MESSAGE (RFC 3428) with a text/plain body; `done` gets Ok once a 2xx came back,
  // else an Error ("sip.status": "480 ...", "timeout"). Called exactly once, on the SIP thread.
  void sendMessage(notify::SipMessageRequest request, notify::Done done) {
    messages_->send(std::move(request), std::move(done));
  }
  // A device's network report, as the location-report API accepted it: held when it is the one
  // its user's calls should be located by (routing::preferredReport).
  void addReport(const model::DeviceReport& report) { state_.addReport(report); }
  // The process is stopping (issue 14): from now on new ordinary calls get 503, emergency calls
  // and PSAP callbacks are still routed, calls in progress go on.
  void startDraining() { admission_.startDraining(); }
  // The probed trunks that are down now, by name (sorted), for /readyz.
  std::vector<std::string> downTrunks() const { return trunks_->down(); }

  // Sofia callbacks (C linkage-compatible static functions).
  static int onRequest(Leg* leg, nta_leg_t* nleg, nta_incoming_t* irq, const sip_t* sip);
  static int onResponse(TxnMagic* txn, nta_outgoing_t* orq, const sip_t* sip);
  static int onAckOrCancel(TxnMagic* txn, nta_incoming_t* irq, const sip_t* sip);

 private:
  int newRequest(nta_incoming_t* irq, const sip_t* sip);
  int newInvite(nta_incoming_t* irq, const sip_t* sip);
  int inDialog(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  void response(Txn& txn, nta_outgoing_t* orq, const sip_t* sip);
  void inviteResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status);
  void ackOrCancel(Txn& txn, const sip_t* sip);

  // Sends `method` on `to`, carrying the end-to-end headers and body of `src`.
  // With `rewrite`, what it names replaces what the caller sent (emergency INVITE, issue 4).
  nta_outgoing_t* send(Leg& to, TxnMagic* magic, sip_method_t method, const char* methodName,
                       msg_t* src, const url_string_t* requestUri, const url_string_t* nextHop,
                       unsigned long maxForwards, const EmergencyInvite* rewrite = nullptr,
                       nta_response_f* callback = nullptr);
  // Relays the response `src` (from the other leg) on `irq`; a fabricated status when null.
  void relayResponse(Txn& txn, Leg& to, msg_t* src, int status, const char* phrase);
  void sendAck(Call& call, Leg& to, uint32_t cseq, const sip_t* ack);
  void sendBye(Call& call, Leg& to);
  int relayInDialog(Call& call, Leg& from, Leg& to, nta_incoming_t* irq, const sip_t* sip);

  // ---- Branches and failover (b2bua_failover.cpp) ----
  static int onBranchResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip);
  static int onStrayLegRequest(Leg*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip);
  static void onBranchTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void branchResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip);
  void lateResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status);
  void branchTimeout(Branch& br);
  // Sends the INVITE to the next trunk of the plan that can be tried (skipping trunks that
  // are down unless all are). False when none is left. `why` says why the previous one failed.
  bool tryNextTrunk(Call& call, int failedStatus, const std::string& why);
  bool startBranch(Call& call, const config::Trunk& trunk);
  EmergencyInvite rewriteFor(Call& call, const config::Trunk& trunk);
  static void withoutUnvouched(const Call::Plan& plan, EmergencyInvite& rewrite);
  void abandon(Branch& br);
  void cancelBranches(Call& call);
  void releaseBranches(Call& call);
  void destroyBranch(Branch& br);
  void scheduleReap();
  void reapBranches();
  // Ordinary-call limits (config limits:): empty when this ordinary call may go on, else why not.
  const char* admitOrdinary();

  // ---- A new INVITE (b2bua.cpp) ----
  // The planner over what this B2BUA holds now: routing, locations, reports, callbacks.
  routing::CallPlanner planner() const;
  void count(const routing::PlanTally& tally);
  static void writeNotes(const std::vector<routing::PlanNote>& notes);
  static RoutingLogEntry logEntry(const routing::CallPlan& plan, msg_t* msg);
  void shield(Call::Plan& plan, const std::string& source);
  void routed(Call& call);
  Call* openCall(nta_incoming_t* irq, const sip_t* sip, msg_t* msg,
                 std::unique_ptr<Call::Plan> plan, RoutingLogEntry entry,
                 std::chrono::steady_clock::time_point received);
  // PIDF-LO and/or ELIN for the trunk's mode, for `req` (the plan's, or a trimmed one); fills
  // the log entry's elin/pidf fields.
  EmergencyInvite planInvite(const config::Trunk& trunk, const Call::Plan& plan,
                             const routing::CallRequest& req,
                             const pidf::DeviceLocationCheck& device, RoutingLogEntry& entry,
                             const std::string* elin = nullptr);
  // The ELIN for an attempt of `plan` (routing::CallPlanner::elinFor), counted, logged and its
  // mapping handed to the store.
  std::string assignElin(const Call::Plan& plan);
  // A request too large for one UDP datagram toward a UDP trunk (issue 14, b2bua_oversize.cpp):
  // true when it goes over TCP (the trunk's tcp_fallback); otherwise an emergency INVITE's
  // `rewrite` is trimmed to what the PSAP needs so that it fits.
  bool sendOverTcp(Call& call, const config::Trunk& trunk, EmergencyInvite& rewrite);
  // 424 to our PIDF-LO: sends the INVITE again on the same trunk with ELIN only. False when
  // there is nothing to retry (the call then moves to its next trunk).
  bool retryWithElinOnly(Call& call, Branch& br);
  Call* createCall();
  void finishInvite(Call& call, std::string outcome, int status, std::string reason);
  void endCall(Call& call);
  static void reap(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void destroy(Call* call);

  Leg& other(Call& call, Side side) { return side == Side::A ? call.b : call.a; }
  const std::string& contactFor(const std::string& transport) const;

  nta_agent_t* agent_;
  su_root_t* root_;
  std::shared_ptr<const routing::Router> router_;
  RoutingLog& log_;
  Contacts contacts_;
  Leg default_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::list<Call*> ended_;
  su_timer_t* reaper_ = nullptr;
  bool reapArmed_ = false;
  B2buaCounters& counters_;
  // What the planner reads: the location snapshot, device reports, ELIN pools and callbacks.
  routing::PlannerState state_;
  std::string host_;    // our address, for Content-IDs and P-Asserted-Identity
  std::string locSrc_;  // our host name for loc-src (RFC 8787)
  ElinSink elinSink_;
  RecordSink recordSink_;
  EventSink eventSink_;
  // Emergency-call events for the responders (b2bua_notify.cpp).
  void alert(Call& call, notify::EventKind kind, std::string detail = "");
  std::unique_ptr<MessageSender> messages_;
  std::list<std::unique_ptr<Branch>> orphans_;  // branches whose call has ended
  std::unique_ptr<TrunkMonitor> trunks_;        // OPTIONS probing: which trunks are up
  // Ordinary-call limits: a token bucket of new calls per second, and calls in progress.
  Admission admission_;  // the ordinary-call limits, overload shedding and the drain
  int64_t ordinaryActive_ = 0;
  std::unique_ptr<LoadWatch> load_;  // how far behind the SIP thread is: overload shedding
  void persistElins(int64_t nowMs);
  // What a call needed to get set up (the caller's INVITE and our answer, our INVITE and the
  // trunk's answer) is let go once the call has been confirmed for 64*T1: no retransmission of
  // either can come after that (RFC 3261 17.1.1.2, 17.2.1). A held call keeps its two dialogs.
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> settling_;
  void settleCalls(std::chrono::steady_clock::time_point now);
};

}  // namespace sos::proxy
