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
#include "proxy/attempt_invite.h"
#include "proxy/b2bua_counters.h"
#include "proxy/call.h"
#include "proxy/call_events.h"
#include "proxy/edge_policy.h"
#include "proxy/emergency_invite.h"
#include "proxy/load_watch.h"
#include "proxy/message_sender.h"
#include "proxy/routing_log.h"
#include "proxy/sip_relay.h"
#include "proxy/sofia.h"
#include "proxy/trunk_attempts.h"
#include "proxy/trunk_monitor.h"
#include "routing/call_planner.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"
#include "routing/planner_state.h"
#include "routing/router.h"

namespace sos::proxy {

class B2bua {
 public:
  using Contacts = SipRelay::Contacts;

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
  using ElinSink = AttemptInvite::ElinSink;
  void setElinPersistence(ElinSink sink, std::vector<model::CallbackTarget> initial) {
    invites_.setElinSink(std::move(sink));
    state_.restoreCallbacks(std::move(initial));
  }
  // The routing in force for new calls (the SIP edge decides trust and limits with it).
  const std::shared_ptr<const routing::Router>& router() const { return router_; }
  // An emergency call the edge refused because its source is untrusted (issue 14): the
  // responders are alerted all the same. False when there is nobody to alert.
  bool alertUntrusted(const routing::CallRequest& req, const routing::RouteDecision& decision,
                      const std::string& source, bool answered) {
    return alerts_.refused(req, decision, source, answered, router_->config().sites);
  }
  // Where a call's record goes once its INVITE has an outcome (answered, failed, cancelled):
  // the routing log's final entry, attempts included. Must not block.
  using RecordSink = std::function<void(RoutingLogEntry)>;
  void setCallRecordSink(RecordSink sink) { recordSink_ = std::move(sink); }
  // Where emergency-call events go (responder alerts, issue 6): called on the SIP thread after
  // the INVITE toward the PSAP has left; must not block (the sink posts to the I/O thread).
  using EventSink = Alerts::Sink;
  void setEventSink(EventSink sink) { alerts_.setSink(std::move(sink)); }
  // Where every emergency call's events go for the dashboard (Alerts::LiveSink); same rules.
  void setLiveSink(Alerts::LiveSink sink) { alerts_.setLiveSink(std::move(sink)); }
  // The parts that work from other threads reaches through the SIP thread: SIP MESSAGEs
  // (alerts, desk phones), the planner's state (device reports the API accepted, the location
  // snapshot scheduled test calls read), the limits (shedding, draining) and the probed trunks.
  MessageSender& messages() { return *messages_; }
  routing::PlannerState& plannerState() { return state_; }
  Admission& admission() { return admission_; }
  const TrunkMonitor& trunks() const { return *trunks_; }
  // Ordinary-call limits (config limits:): null when this ordinary call may go on, else why not.
  // Calls relayed without state (edge.ordinary_relay: stateless) are not counted as in progress.
  const char* admitOrdinary();

  // Sofia callbacks (C linkage-compatible static functions).
  static int onRequest(Leg* leg, nta_leg_t* nleg, nta_incoming_t* irq, const sip_t* sip);
  static int onResponse(TxnMagic* txn, nta_outgoing_t* orq, const sip_t* sip);
  static int onAckOrCancel(TxnMagic* txn, nta_incoming_t* irq, const sip_t* sip);

 private:
  friend class EmergencyRelay;  // its calls are planned, logged and told as the B2BUA's
  int newRequest(nta_incoming_t* irq, const sip_t* sip);
  int newInvite(nta_incoming_t* irq, const sip_t* sip);
  int inDialog(Leg& leg, nta_incoming_t* irq, const sip_t* sip);
  void response(Txn& txn, nta_outgoing_t* orq, const sip_t* sip);
  void inviteResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status);
  void ackOrCancel(Txn& txn, const sip_t* sip);

  // ACK toward `to` with the INVITE's CSeq (SipRelay::sendAck), a warning when it cannot go.
  void sendAck(Call& call, Leg& to, uint32_t cseq, const sip_t* ack);
  void sendBye(Call& call, Leg& to);
  int relayInDialog(Call& call, Leg& from, Leg& to, nta_incoming_t* irq, const sip_t* sip);

  // The last trunk of the route timed out: 408 to the caller (TrunkAttempts' hook).
  void exhausted(Call& call, const std::string& why);
  void scheduleReap();

  // ---- A new INVITE (b2bua_invite.cpp) ----
  // The planner over what this B2BUA holds now: routing, locations, reports, callbacks.
  routing::CallPlanner planner() const;
  void count(const routing::PlanTally& tally);
  static RoutingLogEntry logEntry(const routing::CallPlan& plan, msg_t* msg);
  void shield(Call::Plan& plan, const std::string& source);
  void routed(Call& call);
  Call* openCall(nta_incoming_t* irq, const sip_t* sip, msg_t* msg,
                 std::unique_ptr<Call::Plan> plan, RoutingLogEntry entry,
                 std::chrono::steady_clock::time_point received);
  Call* createCall();
  void finishInvite(Call& call, std::string outcome, int status, std::string reason);
  void endCall(Call& call);
  static void reap(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void destroy(Call* call);

  Leg& other(Call& call, Side side) { return side == Side::A ? call.b : call.a; }

  nta_agent_t* agent_;
  su_root_t* root_;
  std::shared_ptr<const routing::Router> router_;
  RoutingLog& log_;
  SipRelay relay_;  // builds and sends each leg's messages
  Leg default_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::list<Call*> ended_;
  su_timer_t* reaper_ = nullptr;
  bool reapArmed_ = false;
  B2buaCounters& counters_;
  // What the planner reads: the location snapshot, device reports, ELIN pools and callbacks.
  routing::PlannerState state_;
  AttemptInvite invites_;  // what each attempt's INVITE carries (PIDF-LO, ELIN, trimmed)
  RecordSink recordSink_;
  Alerts alerts_;  // emergency-call events for the responders
  void alert(Call& call, notify::EventKind kind, std::string detail = "") {
    call.log.attempts = call.attempts;  // so far
    if (call.alerting)
      alerts_.call(call.log, call.plan.get(), kind, std::move(detail), call.toResponders);
  }
  std::unique_ptr<MessageSender> messages_;
  std::unique_ptr<TrunkMonitor> trunks_;     // OPTIONS probing: which trunks are up
  std::unique_ptr<TrunkAttempts> attempts_;  // each call's attempts toward its trunks
  // Ordinary-call limits: a token bucket of new calls per second, and calls in progress.
  Admission admission_;  // the ordinary-call limits, overload shedding and the drain
  int64_t ordinaryActive_ = 0;
  std::unique_ptr<LoadWatch> load_;  // how far behind the SIP thread is: overload shedding
  // Confirmed calls, each with the time its set-up may be let go (releaseSetup, proxy/call.h).
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> settling_;
  void settleCalls(std::chrono::steady_clock::time_point now);
};

}  // namespace sos::proxy
