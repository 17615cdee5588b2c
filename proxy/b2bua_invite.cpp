// A new INVITE (docs/ARCHITECTURE.md, "The life of a call"): the planner decides
// (routing::CallPlanner), the B2BUA logs and counts what it says, applies the ordinary-call
// limits, opens the caller's dialog (leg A), shields the body and sends leg B to the first
// trunk of the plan. SIP thread only, like the rest of B2bua.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "proxy/allocator.h"
#include "proxy/b2bua.h"
#include "proxy/sdp_shield.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

Call* B2bua::createCall() {
  auto call = std::make_unique<Call>();
  call->id = nextId_++;
  call->owner = this;
  call->home = static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)));
  call->a = Leg{this, call.get(), Side::A, nullptr, {}};
  call->b = Leg{this, call.get(), Side::B, nullptr, {}};
  Call* raw = call.get();
  calls_.emplace(raw->id, std::move(call));
  ++counters_.active;
  return raw;
}

// A new INVITE: the planner decides (routing::CallPlanner), the B2BUA applies the ordinary-call
// limits, opens leg A, sends leg B to the first trunk of the plan and tells the responders.
int B2bua::newInvite(nta_incoming_t* irq, const sip_t* sip) {
  // What is built here stays with the call; the messages sent on the way (SipRelay, the 100 and
  // relayed responses) switch back to the transactions' arena themselves.
  const allocator::Scope keep(allocator::Lifetime::Call);
  const auto received = std::chrono::steady_clock::now();
  msg_t* msg = nta_incoming_getrequest(irq);
  ++counters_.calls;
  routing::CallPlan decided = planner().plan(toCallRequest(msg, sip), unixMsNow());
  count(decided.tally);
  RoutingLogEntry entry = logEntry(decided, msg);
  auto reject = [&](int status, std::string reason) {
    entry.outcome = "rejected";
    entry.status = status;
    entry.reason = std::move(reason);
    entry.addedMs = msSince(received);
    log_.write(entry);
    ++counters_.rejected;
    msg_destroy(msg);
    return status;
  };
  if (decided.kind == routing::CallKind::Reject) {
    logPlanNotes(decided.notes);
    return reject(decided.rejectStatus, decided.why.reason);
  }
  if (decided.kind == routing::CallKind::Ordinary) {
    if (const char* limited = admitOrdinary()) {
      // Over the ordinary-call limits or overloaded: refused at once, cheaply, so that the SIP
      // thread stays free for emergency calls (which never reach this line).
      ++counters_.ordinaryLimited;
      reject(503, limited);
      // nta keeps the 503 until its timers end: a transaction's memory, not a call's.
      const allocator::Scope message(allocator::Lifetime::Transaction);
      nta_incoming_treply(irq, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
      nta_incoming_destroy(irq);  // answered: nta keeps it only for its own timers
      return 0;
    }
  }
  logPlanNotes(decided.notes);
  if (decided.route.empty() || decided.route.front() == nullptr) {
    // The configuration check forbids this; still, an answer rather than silence.
    spdlog::error("call {}: no trunk to send it to", decided.req.callId);
    return reject(503, "no trunk configured for this call");
  }
  auto plan = std::make_unique<Call::Plan>(std::move(decided));
  if (plan->emergency()) {
    ++counters_.emergencyCalls;
    plan->snapshot = state_.locations();  // keeps `where` and `user` alive
  }
  shield(*plan, entry.source);
  Call* call = openCall(irq, sip, msg, std::move(plan), std::move(entry), received);
  if (call == nullptr) return 0;
  if (!attempts_->tryNext(*call, 0, "")) {
    // Not one trunk of the route would take the INVITE (nta refused every send).
    spdlog::error("call {}: could not send the INVITE to any trunk ({})", call->log.callId,
                  call->attempts);
    nta_incoming_treply(irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
    call->invite->finished = true;
    call->log.attempts = call->attempts;
    finishInvite(*call, "failed", 503, "could not send to any trunk");
    endCall(*call);
    return 0;
  }
  routed(*call);
  return 0;
}

// The INVITE has left: the routing log's line, the counts, and now, and not before, the
// responders may hear of it. With no responder configured anywhere there is nobody to tell,
// and nothing leaves the SIP thread.
void B2bua::routed(Call& call) {
  if (call.plan->emergency()) {
    const auto& where = call.plan->where;
    counters_.emergencyBySite.add(call.log.site,
                                  where ? std::string(routing::toString(where->signal)) : "none");
  }
  call.log.outcome = "routed";
  call.log.addedMs = msSince(call.received);
  counters_.added.observe(call.log.addedMs);
  log_.write(call.log);
  const bool callback = call.plan->kind == routing::CallKind::Callback;
  const auto& sites = call.router->config().sites;
  call.alerting = call.plan->emergency() || callback;
  call.toResponders = call.alerting && std::any_of(sites.begin(), sites.end(), [](const auto& s) {
                        return !s.responders.empty();
                      });
  alert(call, callback ? notify::EventKind::Callback : notify::EventKind::Started,
        callback ? call.log.reason : "");
}

// ---- Ordinary-call limits and overload (the rules are Admission's, proxy/admission.h) ----

const char* B2bua::admitOrdinary() {
  admission_.setLimits(router_->config().limits);
  return admission_.admit(std::chrono::steady_clock::now(), ordinaryActive_);
}

routing::CallPlanner B2bua::planner() const {
  return routing::CallPlanner(state_.inputs(*router_));
}

void B2bua::count(const routing::PlanTally& t) {
  auto add = [](std::atomic<uint64_t>& counter, bool happened) {
    if (happened) counter.fetch_add(1, std::memory_order_relaxed);
  };
  add(counters_.identityNotVouched, t.identityNotVouched);
  add(counters_.networkMarkNotVouched, t.networkMarkNotVouched);
  add(counters_.callbacksToCaller, t.callbackToCaller);
  add(counters_.callbacksToDesk, t.callbackToDesk);
  add(counters_.locationFallbacks, t.locationFallback);
  add(counters_.deviceLocationUnusable, t.deviceLocationUnusable);
  add(counters_.ercOnly, t.ercOnly);
  add(counters_.emergencyDegraded, t.degraded);
}

RoutingLogEntry B2bua::logEntry(const routing::CallPlan& p, msg_t* msg) {
  RoutingLogEntry e;
  unsigned port = 0;
  const std::string source = sourceAddress(msg, &port);
  e.event = "route";
  e.callId = p.req.callId;
  e.caller = p.caller;
  e.source = uriHost(source) + ":" + std::to_string(port) + "/" + p.req.transport;
  e.dialed = p.decision.match.dialed;
  e.emergency = p.decision.match.emergency;
  e.test = p.decision.match.test;
  e.alarm = p.decision.alarm;
  e.site = p.decision.site ? p.decision.site->name : "";
  e.reason = p.why.reason;
  e.location = p.why.location;
  e.locationBy = p.why.locationBy;
  e.locationAgeMs = p.why.locationAgeMs;
  e.locationConflict = p.why.locationConflict;
  e.route = p.why.route;
  if (p.why.locationFailed) e.pidf = "failed";
  if (p.kind == routing::CallKind::Callback) e.trunk = "callback";
  return e;
}

// The PSAP's shield (issue 14): a session description that leaves is well-formed. The call
// never waits on it: an SDP that cannot be made whole goes as a minimal offer, or none.
void B2bua::shield(Call::Plan& plan, const std::string& source) {
  routing::CallRequest& req = plan.req;
  ShieldedBody shielded = shieldBody(req.bodyContentType, req.body);
  if (!shielded.changed) return;
  plan.bodyShielded = true;
  ++counters_.sdpShielded;
  for (const auto& n : shielded.notes) spdlog::warn("call {} from {}: {}", req.callId, source, n);
  req.body = std::move(shielded.body);
  req.bodyContentType = std::move(shielded.contentType);
  req.sdp = std::move(shielded.sdp);
  if (req.sdp.empty()) req.sdpContentType.clear();
}

// Leg A, the caller's dialog, with our To-tag (RFC 3261 12.1.1), and 100 Trying at once. Null
// when the dialog could not be made (the caller has had its 500).
Call* B2bua::openCall(nta_incoming_t* irq, const sip_t* sip, msg_t* msg,
                      std::unique_ptr<Call::Plan> plan, RoutingLogEntry entry,
                      std::chrono::steady_clock::time_point received) {
  Call* call = createCall();
  call->received = received;
  call->router = router_;
  call->ordinary = plan->kind == routing::CallKind::Ordinary;
  if (call->ordinary) ++ordinaryActive_;
  call->a.contact = relay_.contactFor(plan->req.transport);
  call->a.leg = nta_leg_tcreate(agent_, onRequest, &call->a, SIPTAG_CALL_ID(sip->sip_call_id),
                                SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                                NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq), TAG_END());
  auto txn = std::make_unique<Txn>();
  txn->call = call;
  txn->from = Side::A;
  txn->irq = irq;
  txn->method = sip_method_invite;
  txn->initial = true;
  call->invite = txn.get();
  call->txns.push_back(std::move(txn));
  call->log = std::move(entry);
  if (call->a.leg == nullptr) {
    msg_destroy(msg);
    nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    call->invite->finished = true;
    finishInvite(*call, "failed", 500, "could not create the caller's dialog");
    endCall(*call);
    return nullptr;
  }
  nta_leg_tag(call->a.leg, nta_incoming_tag(irq, nullptr));
  nta_leg_server_route(call->a.leg, sip->sip_record_route, sip->sip_contact);
  nta_incoming_bind(irq, onAckOrCancel, call->invite);
  // In UA mode nta leaves 100 Trying to the application (RFC 3261 16.2: send it at once).
  {
    const allocator::Scope message(allocator::Lifetime::Transaction);
    nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
  }
  // Leg B is a new dialog toward the trunk (new Call-ID, new From-tag) per attempt; its From
  // and To are the caller's, without tags.
  plan->from =
      sip_from_create(call->home, reinterpret_cast<const url_string_t*>(sip->sip_from->a_url));
  plan->to = sip_to_create(call->home, reinterpret_cast<const url_string_t*>(sip->sip_to->a_url));
  if (plan->from && sip->sip_from->a_display)
    plan->from->a_display = su_strdup(call->home, sip->sip_from->a_display);
  if (plan->to && sip->sip_to->a_display)
    plan->to->a_display = su_strdup(call->home, sip->sip_to->a_display);
  plan->request = msg;  // our reference, released with the call
  call->plan = std::move(plan);
  return call;
}

}  // namespace sos::proxy
