// The back-to-back user agent (proxy/b2bua.h): its start, Sofia's entry points, requests
// outside a dialog, sending and relaying between the legs, in-dialog requests and the end of a
// call. A new INVITE is b2bua_invite.cpp's; the attempts toward trunks are TrunkAttempts'
// (proxy/trunk_attempts.h), what their INVITEs carry AttemptInvite's, and how each message is
// built SipRelay's.

#include "proxy/b2bua.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstdio>

#include "base/clock.h"
#include "proxy/allocator.h"
#include "proxy/sdp_shield.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

constexpr unsigned long kDefaultMaxForwards = 70;  // RFC 3261 8.1.1.6
constexpr su_duration_t kReapIntervalMs = 10;
// 64*T1 with T1 = 500 ms (RFC 3261 17.1.1.1): how long a call's set-up transactions are kept.
constexpr auto kSettleAfter = std::chrono::milliseconds(64 * 500);

}  // namespace

B2bua::B2bua(nta_agent_t* agent, su_root_t* root, std::shared_ptr<const routing::Router> router,
             RoutingLog& log, Contacts contacts, B2buaCounters& counters)
    : agent_(agent),
      root_(root),
      router_(std::move(router)),
      log_(log),
      relay_(agent, std::move(contacts), counters, onResponse),
      counters_(counters),
      invites_(state_, counters, relay_.host()) {
  default_.owner = this;
  const std::string& hostName = router_->config().listen.hostName;
  invites_.setLocSrc(hostName.empty() ? relay_.host() : hostName);
  reaper_ = su_timer_create(su_root_task(root_), kReapIntervalMs);
  load_ = std::make_unique<LoadWatch>(
      agent_, root_, admission_, counters_, [this] { return router_->config().limits; },
      [this](std::chrono::steady_clock::time_point now) { settleCalls(now); });
  trunks_ = std::make_unique<TrunkMonitor>(agent_, root_, counters_, relay_.host());
  TrunkAttempts::Hooks hooks;
  hooks.response = [this](Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status) {
    inviteResponse(br, orq, sip, status);
  };
  hooks.exhausted = [this](Call& call, const std::string& why) { exhausted(call, why); };
  hooks.failedOver = [this](Call& call, const std::string& reason) {
    alert(call, notify::EventKind::FailedOver, reason);
  };
  hooks.scheduleReap = [this] { scheduleReap(); };
  attempts_ = std::make_unique<TrunkAttempts>(agent_, root_, onRequest, relay_, invites_, *trunks_,
                                              log_, counters_, std::move(hooks));
  messages_ =
      std::make_unique<MessageSender>(agent_, root_, relay_.host(), [this] { scheduleReap(); });
  trunks_->start(router_->sharedConfig());
}

B2bua::~B2bua() {
  trunks_.reset();
  for (auto& [id, call] : calls_) destroy(call.get());
  calls_.clear();
  attempts_.reset();
  messages_.reset();
  if (reaper_) su_timer_destroy(reaper_);
  load_.reset();
}

void B2bua::setRouter(std::shared_ptr<const routing::Router> router) {
  if (!router) return;
  router_ = std::move(router);
  const std::string& hostName = router_->config().listen.hostName;
  invites_.setLocSrc(hostName.empty() ? relay_.host() : hostName);
  trunks_->start(router_->sharedConfig());  // probed trunks, intervals, addresses may change
}

void B2bua::setLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot) {
  state_.setLocations(std::move(snapshot), router_->config().location.callbackWindowSeconds * 1000);
}

// ---- Sofia entry points: nothing may unwind through Sofia's C frames. ----

int B2bua::onRequest(Leg* leg, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  try {
    if (leg->call == nullptr) return leg->owner->newRequest(irq, sip);
    return leg->call->owner->inDialog(*leg, irq, sip);
  } catch (const std::exception& e) {
    spdlog::error("request {}: internal error: {}", methodName(sip), e.what());
  } catch (...) {
    spdlog::error("request {}: internal error", methodName(sip));
  }
  return 500;
}

int B2bua::onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* txn = static_cast<Txn*>(magic);
  try {
    txn->call->owner->response(*txn, orq, sip);
  } catch (const std::exception& e) {
    spdlog::error("response handling: internal error: {}", e.what());
  } catch (...) {
    spdlog::error("response handling: internal error");
  }
  return 0;
}

int B2bua::onAckOrCancel(TxnMagic* magic, nta_incoming_t*, const sip_t* sip) {
  auto* txn = static_cast<Txn*>(magic);
  try {
    txn->call->owner->ackOrCancel(*txn, sip);
  } catch (const std::exception& e) {
    spdlog::error("ACK/CANCEL handling: internal error: {}", e.what());
  } catch (...) {
    spdlog::error("ACK/CANCEL handling: internal error");
  }
  return 0;
}

// ---- Requests outside any dialog ----

int B2bua::newRequest(nta_incoming_t* irq, const sip_t* sip) {
  if (!sip->sip_request || !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq)
    return 400;
  switch (sip->sip_request->rq_method) {
    case sip_method_invite:
      // An INVITE with a To-tag belongs to a dialog we do not know (RFC 3261 12.2.2).
      if (sip->sip_to->a_tag) return 481;
      return newInvite(irq, sip);
    case sip_method_options:
      return 200;  // keep-alive probes from PBXs and trunks
    case sip_method_ack:
      nta_incoming_destroy(irq);  // an ACK for a transaction that is gone: nothing to answer
      return 0;
    case sip_method_bye:
    case sip_method_cancel:
    case sip_method_update:
    case sip_method_info:
    case sip_method_prack:
      return 481;
    default:
      return 405;
  }
}

void B2bua::sendAck(Call& call, Leg& to, uint32_t cseq, const sip_t* ack) {
  if (to.leg != nullptr && !relay_.sendAck(to.leg, cseq, ack))
    spdlog::warn("call {}: could not send ACK", call.log.callId);
}

void B2bua::sendBye(Call& call, Leg& to) {
  auto txn = std::make_unique<Txn>();
  txn->call = &call;
  txn->from = to.side == Side::A ? Side::B : Side::A;
  txn->method = sip_method_bye;
  txn->orq =
      relay_.send(to, txn.get(), SIP_METHOD_BYE, nullptr, nullptr, nullptr, kDefaultMaxForwards);
  call.state = transition(call.state, CallEvent::Bye);
  if (txn->orq == nullptr) {
    endCall(call);
    return;
  }
  call.txns.push_back(std::move(txn));
}

// ---- Responses from the other leg ----

void B2bua::response(Txn& txn, nta_outgoing_t* orq, const sip_t* sip) {
  Call& call = *txn.call;
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (txn.irq == nullptr) {  // a request of our own (BYE to end a leg)
    if (status >= 200 && txn.method == sip_method_bye) endCall(call);
    return;
  }
  Leg& back = txn.from == Side::A ? call.a : call.b;
  if (status < 200) {
    if (status > 100 && txn.method == sip_method_invite) {
      msg_t* src = nta_outgoing_getresponse(orq);
      relay_.relayResponse(txn, back, src, status, sip ? sip->sip_status->st_phrase : nullptr);
      if (src) msg_destroy(src);
    }
    return;
  }
  // A 2xx to a target-refresh request may move the far end (RFC 3261 12.2.1.2).
  Leg& far = other(call, txn.from);
  if (status < 300 && sip && sip->sip_contact && needsContact(txn.method) && far.leg)
    nta_leg_client_reroute(far.leg, nullptr, sip->sip_contact, 0);
  msg_t* src = sip ? nta_outgoing_getresponse(orq) : nullptr;
  relay_.relayResponse(txn, back, src, status, sip ? sip->sip_status->st_phrase : nullptr);
  if (src) msg_destroy(src);
  txn.finished = true;
  // RFC 3261 15.1.2: whatever the answer to a BYE, the session is over.
  if (txn.method == sip_method_bye) endCall(call);
}

void B2bua::inviteResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status) {
  Call& call = *br.call;
  Txn& txn = *call.invite;
  const char* phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : nullptr;
  if (status < 200) {
    if (status == 100 || call.cancelled || txn.finished) return;  // our own 100 went already
    msg_t* src = nta_outgoing_getresponse(orq);
    relay_.relayResponse(txn, call.a, src, status, phrase);
    if (src) msg_destroy(src);
    call.ringingSent = true;
    return;
  }
  if (status < 300) {
    if (call.state != CallState::Proceeding) return;         // a retransmitted or forked 2xx
    const allocator::Scope keep(allocator::Lifetime::Call);  // the dialog's tag and route set
    txn.outCseq = br.cseq;
    if (sip && sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(br.leg, sip->sip_to->a_tag);
    if (sip) nta_leg_client_reroute(br.leg, sip->sip_record_route, sip->sip_contact, 1);
    call.attempts += (call.attempts.empty() ? "" : " ") + br.trunk + ":" + std::to_string(status);
    call.log.attempts = call.attempts;
    counters_.trunkAttempts.add(br.trunk, "answered");
    if (call.plan && call.plan->emergency()) counters_.psapAnswer.observe(msSince(br.sent));
    if (call.cancelled || txn.finished) {
      // The caller gave up while the trunk answered: confirm the trunk's dialog, then end it.
      sendAck(call, call.b, br.cseq, nullptr);
      sendBye(call, call.b);
      return;
    }
    msg_t* src = nta_outgoing_getresponse(orq);
    relay_.relayResponse(txn, call.a, src, status, phrase);
    if (src) msg_destroy(src);
    txn.finished = true;
    call.state = transition(call.state, CallEvent::AnswerRelayed);
    finishInvite(call, "answered", status, "");
    return;
  }
  // A final failure: nta has already ACKed the trunk (RFC 3261 17.1.1.3).
  if (status == 424 && !call.cancelled && !txn.finished && attempts_->retryWithElinOnly(call, br))
    return;
  const bool byNta = madeByNta(sip);
  const bool noAnswer = byNta && status == 408;
  // nta's own 408 or 503: no response at all, or the transport failed (a connection refused or
  // closed, a TLS certificate that failed the checks).
  const bool unreachable = byNta && status == 503;
  const std::string why = noAnswer      ? "no response"
                          : unreachable ? "unreachable: connection failed or closed"
                                        : (phrase ? phrase : "");
  br.outcome = noAnswer ? "timeout" : (unreachable ? "unreachable" : "refused");
  if (!call.cancelled && !txn.finished) {
    // An emergency call moves on to the next trunk of its route (issue 5); an ordinary call has
    // only the one.
    if (attempts_->tryNext(call, status, why)) return;
    msg_t* src = sip ? nta_outgoing_getresponse(orq) : nullptr;
    relay_.relayResponse(txn, call.a, src, status, phrase);
    if (src) msg_destroy(src);
    txn.finished = true;
    call.log.attempts = call.attempts;
    finishInvite(call, noAnswer ? "timeout" : "failed", status,
                 noAnswer ? "no response from trunk" : why);
  }
  endCall(call);
}

// ---- ACK and CANCEL from the side that sent an INVITE ----

void B2bua::ackOrCancel(Txn& txn, const sip_t* sip) {
  Call& call = *txn.call;
  if (sip == nullptr || sip->sip_request == nullptr) {
    // Timer H: our 2xx was never ACKed (RFC 3261 13.3.1.4). Close the other leg too.
    if (txn.initial && call.state == CallState::Answered) {
      spdlog::warn("call {}: caller never ACKed the answer; hanging up the trunk leg",
                   call.log.callId);
      sendAck(call, call.b, txn.outCseq, nullptr);
      sendBye(call, call.b);
    }
    return;
  }
  if (sip->sip_request->rq_method == sip_method_cancel) {
    if (txn.finished) return;  // too late: the final response has gone
    txn.finished = true;
    if (txn.initial) {
      call.cancelled = true;
      finishInvite(call, "cancelled", 487, "caller cancelled");
    }
    // nta answers the CANCEL with 200 and the INVITE with 487 (NTATAG_CANCEL_487); the CANCEL
    // toward the trunk waits, inside nta, for the trunk's first provisional (RFC 3261 9.1).
    if (txn.initial) {
      attempts_->cancel(call);
    } else if (txn.orq) {
      nta_outgoing_tcancel(txn.orq, nullptr, nullptr, TAG_END());
    }
    return;
  }
  if (sip->sip_request->rq_method == sip_method_ack) {
    // Only the ACK of a 2xx goes on (RFC 3261 13.2.2.4); that of a failure ends with its txn.
    if (txn.irq != nullptr && nta_incoming_status(txn.irq) >= 300) return;
    Leg& to = other(call, txn.from);
    sendAck(call, to, txn.outCseq, sip);
    if (txn.initial && call.state == CallState::Answered) {
      call.state = transition(call.state, CallEvent::CallerAcked);
      settling_.emplace_back(std::chrono::steady_clock::now() + kSettleAfter, call.id);
    }
  }
}

void B2bua::settleCalls(std::chrono::steady_clock::time_point now) {
  while (!settling_.empty() && settling_.front().first <= now) {
    const auto it = calls_.find(settling_.front().second);
    settling_.pop_front();
    if (it == calls_.end() || it->second->state != CallState::Confirmed) continue;
    releaseSetup(*it->second);
    counters_.settled.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---- Requests inside a dialog ----

int B2bua::inDialog(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  Call& call = *leg.call;
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_ack && call.state != CallState::Ended) {
    nta_incoming_destroy(irq);  // a stray ACK: its INVITE transaction is gone
    return 0;
  }
  bool reinviteOpen = false;
  for (const auto& t : call.txns)
    reinviteOpen = reinviteOpen || (!t->initial && t->method == sip_method_invite && !t->finished);
  const InDialogMethod kind = method == sip_method_bye      ? InDialogMethod::Bye
                              : method == sip_method_invite ? InDialogMethod::Invite
                                                            : InDialogMethod::Other;
  switch (proxy::inDialog(call.state, kind, leg.side == Side::A, reinviteOpen)) {
    case InDialogAction::NoDialog:
      return 481;
    case InDialogAction::Glare:
      return 491;
    case InDialogAction::AlreadyEnding:
      return 200;  // both sides hung up at once
    case InDialogAction::CancelInvite:
      if (Txn& invite = *call.invite; !invite.finished) {
        nta_incoming_treply(invite.irq, SIP_487_REQUEST_CANCELLED, TAG_END());
        invite.finished = true;
        call.cancelled = true;
        finishInvite(call, "cancelled", 487, "caller hung up before the answer");
        attempts_->cancel(call);
      }
      return 200;
    case InDialogAction::Relay:
      break;
  }
  if (kind == InDialogMethod::Bye) call.state = transition(call.state, CallEvent::Bye);
  return relayInDialog(call, leg, other(call, leg.side), irq, sip);
}

int B2bua::relayInDialog(Call& call, Leg& from, Leg& to, nta_incoming_t* irq, const sip_t* sip) {
  const unsigned long maxForwards =
      sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : kDefaultMaxForwards;
  if (maxForwards == 0) return 483;
  if (to.leg == nullptr) return 481;
  auto txn = std::make_unique<Txn>();
  txn->call = &call;
  txn->from = from.side;
  txn->irq = irq;
  txn->method = sip->sip_request->rq_method;
  msg_t* src = nta_incoming_getrequest(irq);
  // The shield holds for a session description sent in a dialog too (re-INVITE, UPDATE, ...)
  // toward the trunk.
  EmergencyInvite rewrite;
  if (to.side == Side::B && sip->sip_payload && sip->sip_content_type &&
      sip->sip_content_type->c_type) {
    ShieldedBody shielded =
        shieldBody(sip->sip_content_type->c_type,
                   std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len));
    if (shielded.changed) {
      ++counters_.sdpShielded;
      for (const auto& n : shielded.notes)
        spdlog::warn("call {}: {} {}", call.log.callId, methodName(sip), n);
      rewrite.skip = kSkipBody | kSkipBodyHeaders;
      rewrite.contentType = std::move(shielded.contentType);
      rewrite.body = std::move(shielded.body);
    }
  }
  txn->orq = relay_.send(to, txn.get(), txn->method, sip->sip_request->rq_method_name, src, nullptr,
                         nullptr, maxForwards - 1, rewrite.skip ? &rewrite : nullptr);
  if (src) msg_destroy(src);
  if (txn->orq == nullptr) {
    spdlog::warn("call {}: could not relay {}", call.log.callId, methodName(sip));
    if (txn->method == sip_method_bye) {
      endCall(call);
      return 200;
    }
    return 500;
  }
  txn->outCseq = nta_outgoing_cseq(txn->orq);
  if (txn->method == sip_method_invite) nta_incoming_bind(irq, onAckOrCancel, txn.get());
  call.txns.push_back(std::move(txn));
  return 0;
}

// ---- Call ends ----

void B2bua::finishInvite(Call& call, std::string outcome, int status, std::string reason) {
  RoutingLogEntry e = call.log;
  e.event = "final";
  e.outcome = std::move(outcome);
  e.status = status;
  e.reason = std::move(reason);
  e.addedMs = -1;
  e.durationMs = msSince(call.received);
  log_.write(e);
  if (recordSink_) recordSink_(e);
  call.outcome = e.outcome;
  if (e.outcome == "answered") alert(call, notify::EventKind::Answered);
  if (e.outcome == "answered") {
    ++counters_.answered;
  } else if (e.outcome == "cancelled") {
    ++counters_.cancelled;
  } else {
    ++counters_.failed;
  }
}

void B2bua::exhausted(Call& call, const std::string& why) {
  // The last trunk of the route timed out too: the caller gets a final answer, never silence.
  spdlog::error("call {}: every trunk of the emergency route failed ({}); answering 408",
                call.log.callId, call.attempts);
  nta_incoming_treply(call.invite->irq, SIP_408_REQUEST_TIMEOUT, TAG_END());
  call.invite->finished = true;
  call.log.attempts = call.attempts;
  finishInvite(call, "timeout", 408, why);
  endCall(call);
}

void B2bua::endCall(Call& call) {
  if (call.state == CallState::Ended) return;
  call.state = transition(call.state, CallEvent::Over);
  alert(call, notify::EventKind::Ended, call.outcome.empty() ? "ended" : call.outcome);
  ended_.push_back(&call);
  --counters_.active;
  // Destroying Sofia objects from inside their own callbacks is unsafe: reap a moment later.
  scheduleReap();
}

void B2bua::scheduleReap() {
  // Calls, branches and probes are destroyed on the next reap, never inside the callback of
  // their own transaction.
  if (!reapArmed_) reapArmed_ = su_timer_set(reaper_, reap, this) == 0;
}

void B2bua::reap(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* self = static_cast<B2bua*>(arg);
  self->reapArmed_ = false;
  try {
    std::list<Call*> ended;
    ended.swap(self->ended_);
    for (Call* call : ended) {
      const uint64_t id = call->id;
      self->destroy(call);
      self->calls_.erase(id);
    }
    self->attempts_->reap();
    self->trunks_->reap();
    self->messages_->reap();
  } catch (...) {
    spdlog::error("reaping ended calls: internal error");
  }
}

void B2bua::destroy(Call* call) {
  for (auto& t : call->txns) {
    // An unanswered server transaction gets a 500 from nta when destroyed.
    if (t->irq) nta_incoming_destroy(t->irq);
    if (t->orq) nta_outgoing_destroy(t->orq);
    t->irq = nullptr;
    t->orq = nullptr;
  }
  attempts_->release(*call);  // owns leg B's legs
  if (call->plan && call->plan->request) msg_destroy(call->plan->request);
  call->plan.reset();
  if (call->ordinary) --ordinaryActive_;
  call->ordinary = false;
  if (call->a.leg) nta_leg_destroy(call->a.leg);
  call->a.leg = call->b.leg = nullptr;
  if (call->home) su_home_unref(call->home);
  call->home = nullptr;
}

}  // namespace sos::proxy
