// Emergency calls relayed as a transaction-stateful proxy (proxy/emergency_relay.h): the
// caller's side (the INVITE taken, its retransmissions, CANCEL and ACK, the answers) and the
// call's record. The attempts toward the trunks are in emergency_attempts.cpp.

#include "proxy/emergency_relay.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <random>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"
#include "proxy/stateless_relay.h"

namespace sos::proxy {

namespace {

// Every trunk of the route takes UDP, and none moves a large request to TCP.
bool udpRoute(const routing::CallPlan& p) {
  return !p.route.empty() && std::all_of(p.route.begin(), p.route.end(), [](const auto* t) {
    return t != nullptr && t->transport == config::Transport::Udp && !t->tcpFallback;
  });
}

}  // namespace

EmergencyRelay::EmergencyRelay(su_root_t* root, B2bua& b2bua, StatelessRelay& relay,
                               const RelayTap& tap)
    : root_(root), b2bua_(b2bua), relay_(relay), tap_(tap) {
  timer_ = su_timer_create(su_root_task(root_), 0);
  std::random_device rd;
  branchSeed_ = (uint64_t{rd()} << 32U) ^ rd();
}

EmergencyRelay::~EmergencyRelay() {
  if (timer_) su_timer_destroy(timer_);
  for (auto& [key, r] : calls_) {
    if (r->call.plan && r->call.plan->request) msg_destroy(r->call.plan->request);
  }
}

bool EmergencyRelay::invite(msg_t* msg, sip_t* sip, const Peer& from) {
  const sip_via_t* via = sip->sip_via;
  if (via == nullptr || via->v_branch == nullptr || via->v_protocol == nullptr ||
      strcasecmp(via->v_protocol, "SIP/2.0/UDP") != 0 || sip->sip_call_id == nullptr ||
      calls_.count(via->v_branch) != 0)
    return false;
  const auto received = Clock::now();
  routing::CallPlan decided = b2bua_.planner().plan(toCallRequest(msg, sip), unixMsNow());
  if (!decided.emergency() || !udpRoute(decided)) return false;
  // The INVITE as Sofia read it (the sender's Via with received and rport): the text every
  // attempt is made of.
  size_t len = 0;
  char* text = msg_serialize(msg, reinterpret_cast<msg_pub_t*>(sip)) < 0
                   ? nullptr
                   : msg_as_string(msg_home(msg), msg, reinterpret_cast<msg_pub_t*>(sip), 0, &len);
  wire::Message m;
  if (text == nullptr || !wire::parse(std::string_view(text, len), m, nullptr)) return false;

  auto owned = std::make_unique<Record>();
  Record& r = *owned;
  r.owner = this;
  r.key = via->v_branch;
  r.callId = sip->sip_call_id->i_id;
  r.request.assign(text, len);
  r.caller = from;
  B2buaCounters& counters = b2bua_.counters_;
  ++counters.calls;
  ++counters.emergencyCalls;
  ++counters.active;
  b2bua_.count(decided.tally);
  Call& call = r.call;
  call.received = received;
  call.router = b2bua_.router_;
  call.log = B2bua::logEntry(decided, msg);
  logPlanNotes(decided.notes);
  call.plan = std::make_unique<Call::Plan>(std::move(decided));
  call.plan->snapshot = b2bua_.state_.locations();
  call.plan->request = msg;  // ours until the INVITE's final answer
  b2bua_.shield(*call.plan, call.log.source);
  byCallId_[r.callId] = &r;
  calls_.emplace(r.key, std::move(owned));
  answerCaller(r, 100, "Trying");
  if (!tryNext(r, 0, "")) {
    spdlog::error("call {}: could not send the INVITE to any trunk ({})", r.callId, call.attempts);
    answerCaller(r, 503, "Service Unavailable");
    call.log.attempts = call.attempts;
    finish(r, "failed", 503, "could not send to any trunk");
    return true;
  }
  b2bua_.routed(call);
  arm(r);
  return true;
}

bool EmergencyRelay::request(msg_t* msg, sip_t* sip) {
  const sip_via_t* via = sip->sip_via;
  if (via == nullptr || via->v_branch == nullptr || calls_.empty()) return false;
  auto it = calls_.find(via->v_branch);
  if (it == calls_.end()) return false;
  Record& r = *it->second;
  // Only the caller's own socket speaks for its INVITE: a CANCEL with the branch from anywhere
  // else is not this call's (it goes on to the edge like any other request).
  unsigned port = 0;
  if (sourceAddress(msg, &port) != r.caller.ip || port != r.caller.port) return false;
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_invite) {
    // A retransmission: the last answer again (RFC 3261 17.2.1).
    if (!r.lastAnswer.empty()) tap_.send(r.lastAnswer, r.caller.ip, r.caller.port);
    msg_destroy(msg);
    return true;
  }
  if (method == sip_method_ack) {  // the ACK of a failure: hop by hop, it ends here
    msg_destroy(msg);
    return true;
  }
  if (method != sip_method_cancel) return false;
  nta_msg_treply(b2bua_.agent_, msg, SIP_200_OK, TAG_END());
  if (r.finished || r.cancelled) return true;
  r.cancelled = true;
  spdlog::info("call {}: the caller cancelled", r.callId);
  // A trunk that has said nothing cannot be cancelled yet (RFC 3261 9.1): its attempt is given
  // up (no more retransmissions) and cancelled when it speaks; the caller then gets its 487 now.
  for (auto& a : r.attempts) {
    if (a->final || a->cancelSent) continue;
    if (a->provisional) {
      cancel(*a);
    } else {
      a->abandoned = true;
    }
  }
  if (r.current == nullptr || !r.current->provisional) {
    answerCaller(r, 487, "Request Terminated");
    finish(r, "cancelled", 487, "cancelled by the caller");
  }
  arm(r);
  return true;
}

bool EmergencyRelay::response(const wire::Message& m) {
  const wire::Header* top = m.first(wire::Kind::Via);
  wire::Via via;
  if (top == nullptr || byBranch_.empty() ||
      !wire::parseVia(wire::splitFirst(top->value).first, via))
    return false;
  auto it = byBranch_.find(std::string(via.branch));
  if (it == byBranch_.end()) return false;
  Record& r = *it->second;
  Attempt* attempt = nullptr;
  for (auto& a : r.attempts) {
    if (a->branch == via.branch) attempt = a.get();
  }
  const wire::Header* cseq = m.first(wire::Kind::CSeq);
  if (attempt == nullptr || cseq == nullptr) return true;
  if (wire::cseqMethod(cseq->value) != "INVITE") return true;  // our CANCEL's answer
  if (attempt->abandoned || attempt != r.current || r.cancelled || r.finished) {
    lateResponse(r, *attempt, m);
  } else {
    inviteResponse(r, *attempt, m);
  }
  arm(r);
  return true;
}

void EmergencyRelay::dialogRequest(const wire::Message& m) {
  if (m.method != "BYE" || byCallId_.empty()) return;
  const wire::Header* id = m.first(wire::Kind::CallId);
  if (id == nullptr) return;
  auto it = byCallId_.find(std::string(id->value));
  if (it == byCallId_.end() || !it->second->answered) return;
  Record& r = *it->second;
  end(r, "ended");
  forget(r);
}

void EmergencyRelay::answerCaller(Record& r, int status, std::string_view phrase) {
  wire::Message m;
  if (!wire::parse(r.request, m, nullptr)) return;
  wire::answer(m, status, phrase, {}, {}, r.lastAnswer);
  if (status > 100 && status < 200) {
    // Our 180 while the call moves on: a To-tag of ours, so the caller keeps it apart from the
    // trunk's dialog.
    const size_t to = r.lastAnswer.find("\r\nTo:");
    const size_t eol = to == std::string::npos ? to : r.lastAnswer.find("\r\n", to + 2);
    if (eol != std::string::npos) r.lastAnswer.insert(eol, ";tag=sosrelay");
  }
  tap_.send(r.lastAnswer, r.caller.ip, r.caller.port);
}

void EmergencyRelay::passOn(Record& r, const wire::Message& m, bool keep) {
  relay_.forwardResponse(m);
  if (keep) wire::forwardResponse(m, r.lastAnswer);
}

void EmergencyRelay::finish(Record& r, std::string outcome, int status, std::string reason) {
  r.finished = true;
  r.forgetAt = Clock::now() + std::chrono::milliseconds(kKeepAfterFinalMs);
  r.call.log.attempts = r.call.attempts;
  const bool answered = outcome == "answered";
  b2bua_.finishInvite(r.call, std::move(outcome), status, std::move(reason));
  if (r.call.plan && r.call.plan->request) {
    msg_destroy(r.call.plan->request);
    r.call.plan->request = nullptr;
  }
  if (answered) {
    r.answered = true;
    r.forgetAt = Clock::now() + std::chrono::milliseconds(kMaxHeldMs);
    r.trimAt = Clock::now() + std::chrono::milliseconds(kKeepAfterFinalMs);
  } else {
    end(r, r.call.outcome);
  }
  arm(r);
}

void EmergencyRelay::end(Record& r, const std::string& how) {
  if (r.ended) return;
  r.ended = true;
  --b2bua_.counters_.active;
  b2bua_.alert(r.call, notify::EventKind::Ended, how);
}

void EmergencyRelay::forget(Record& r) {
  end(r, r.call.outcome.empty() ? "ended" : r.call.outcome);
  disarm(r);
  for (auto& a : r.attempts) {
    byBranch_.erase(a->branch);
    if (!a->byeBranch.empty()) byBranch_.erase(a->byeBranch);
  }
  if (r.call.plan && r.call.plan->request) msg_destroy(r.call.plan->request);
  if (r.call.plan) r.call.plan->request = nullptr;
  auto id = byCallId_.find(r.callId);
  if (id != byCallId_.end() && id->second == &r) byCallId_.erase(id);
  calls_.erase(std::string(r.key));  // r is gone from here on
}

}  // namespace sos::proxy
