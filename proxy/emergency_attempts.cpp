// The attempts of an emergency call relayed with state (proxy/emergency_relay.h): each trunk of
// the route in turn, the INVITE's retransmissions and timeouts, the trunk's responses, and the
// hop-by-hop requests of an attempt (ACK of a failure, CANCEL, the hang-up of a late answer),
// all written as bytes.

#include <spdlog/spdlog.h>

#include <charconv>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/emergency_relay.h"
#include "proxy/sip_edge.h"
#include "proxy/stateless_relay.h"

namespace sos::proxy {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view phraseOf(const wire::Message& m) {
  const size_t eol = m.data.find("\r\n");
  const std::string_view line = m.data.substr(0, eol);
  return line.size() > 12 ? line.substr(12) : std::string_view();
}

std::string_view value(const wire::Message& m, wire::Kind kind) {
  const wire::Header* h = m.first(kind);
  return h ? h->value : std::string_view();
}

}  // namespace

std::string EmergencyRelay::newBranch() {
  // Unique to this run and not to be guessed from outside: a response counts only by it.
  uint64_t x = branchSeed_ + 0x9e3779b97f4a7c15ULL * ++nextBranch_;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  x ^= x >> 31U;
  char hex[17];
  for (int i = 15; i >= 0; --i, x >>= 4U) hex[i] = "0123456789abcdef"[x & 15U];
  hex[16] = '\0';
  return std::string("z9hG4bKse") + hex;
}

// ---- Attempts ----

bool EmergencyRelay::tryNext(Record& r, int failedStatus, const std::string& why) {
  Call& call = r.call;
  Call::Plan& p = *call.plan;
  B2buaCounters& counters = b2bua_.counters_;
  TrunkMonitor& trunks = *b2bua_.trunks_;
  Attempt* failed = r.current;
  if (failed) {
    counters.trunkAttempts.add(failed->trunk, failed->outcome);
    call.attempts += (call.attempts.empty() ? "" : " ") + failed->trunk + ":" +
                     std::to_string(failedStatus) + (why.empty() ? "" : "(" + why + ")");
  }
  bool anyUp = false;
  for (size_t i = p.next; i < p.route.size(); ++i) anyUp = anyUp || trunks.up(p.route[i]->name);
  std::string skipped;
  while (p.next < p.route.size()) {
    const config::Trunk& trunk = *p.route[p.next++];
    if (anyUp && !trunks.up(trunk.name)) {
      ++counters.trunkSkips;
      counters.trunkAttempts.add(trunk.name, "skipped");
      skipped += (skipped.empty() ? "" : ", ") + trunk.name;
      call.attempts += (call.attempts.empty() ? "" : " ") + trunk.name + ":skipped(down)";
      continue;
    }
    if (failed && !call.ringingSent && !r.finished) {
      answerCaller(r, 180, "Ringing");  // the caller hears ringing while the call moves on
      call.ringingSent = true;
    }
    if (!start(r, trunk)) {
      call.attempts += (call.attempts.empty() ? "" : " ") + trunk.name + ":not-sent";
      counters.trunkAttempts.add(trunk.name, "not-sent");
      continue;
    }
    if (failed) {
      counters.failoverReasons.add(failed->outcome);
      RoutingLogEntry e = call.log;
      e.event = "failover";
      e.outcome = "routed";
      e.status = failedStatus;
      e.attempts = call.attempts;
      e.addedMs = msSince(call.received);
      e.reason = failed->trunk + ": " + (why.empty() ? std::to_string(failedStatus) : why) +
                 "; trying " + trunk.name +
                 (skipped.empty() ? "" : " (skipped, down: " + skipped + ")");
      b2bua_.log_.write(e);
      spdlog::warn("call {}: {}", r.callId, e.reason);
      trunks.failedOver(failed->trunk, r.callId, e.reason);
      b2bua_.alert(call, notify::EventKind::FailedOver, e.reason);
    } else if (!skipped.empty()) {
      call.log.reason += " (skipped, down: " + skipped + ")";
    }
    return true;
  }
  r.current = nullptr;
  return false;
}

bool EmergencyRelay::start(Record& r, const config::Trunk& trunk) {
  Call& call = r.call;
  Call::Plan& p = *call.plan;
  auto owned = std::make_unique<Attempt>();
  Attempt& a = *owned;
  a.trunk = trunk.name;
  a.config = &trunk;
  a.host = trunk.host;
  a.port = trunk.port;
  a.branch = newBranch();
  a.requestUri =
      p.urn ? p.requestUser
            : "sip:" + p.requestUser + "@" + uriHost(trunk.host) + ":" + std::to_string(trunk.port);
  EmergencyInvite rewrite = b2bua_.invites_.forTrunk(call, trunk);
  (void)b2bua_.invites_.overTcp(call, trunk, rewrite);  // trimmed to fit one datagram if need be
  a.pidfAdded = rewrite.pidf == "added";
  sendInvite(r, a, rewrite);
  if (a.invite.empty()) return false;
  call.log.trunk = trunk.name;
  byBranch_[a.branch] = &r;
  r.current = &a;
  r.attempts.push_back(std::move(owned));
  return true;
}

void EmergencyRelay::sendInvite(Record& r, Attempt& a, const EmergencyInvite& rewrite) {
  a.invite.clear();
  wire::Message m;
  if (!wire::parse(r.request, m, nullptr)) return;
  const std::string via = relay_.viaValue(a.branch);
  const wire::Header* contact = m.first(wire::Kind::Contact);
  wire::Uri phone;
  const std::string token =
      contact != nullptr && wire::parseUri(wire::splitFirst(contact->value).first, phone)
          ? relay_.dialogToken(StatelessRelay::Toward::Phone, r.callId, phone.host, phone.port)
          : "";
  const std::string recordRoute = relay_.recordRoute(token);
  const std::string maxForwards = std::to_string(r.call.plan->maxForwards);
  const std::string identity =
      rewrite.elin.empty() ? "" : "<sip:" + rewrite.elin + "@" + relay_.host() + ">";
  wire::RequestEdits e;
  e.via = via;
  e.recordRoute = recordRoute;
  e.maxForwards = maxForwards;
  wire::InviteEdits i;
  i.uri = a.requestUri;
  i.skip = rewrite.skip;
  i.contentType = rewrite.contentType;
  i.body = rewrite.body;
  i.extraHeaders = rewrite.extraHeaders;
  i.fromUser = rewrite.elin;
  i.identity = identity;
  wire::forwardInvite(m, e, i, a.invite);
  if (!tap_.send(a.invite, a.host, a.port)) {
    spdlog::error("call {}: could not send the INVITE to trunk {}", r.callId, a.trunk);
    a.invite.clear();
    return;
  }
  a.sent = Clock::now();
  a.interval = kT1Ms;
  a.retransmitAt = a.sent + std::chrono::milliseconds(kT1Ms);
  a.deadline = a.sent + std::chrono::milliseconds(a.config->responseTimeoutMs);
  a.provisional = a.ringing = a.final = false;
}

bool EmergencyRelay::retryWithElinOnly(Record& r, Attempt& a) {
  if (!a.pidfAdded) return false;
  std::optional<EmergencyInvite> retry = b2bua_.invites_.elinOnly(r.call);
  if (!retry) return false;
  // The same request again with the ELIN only: a new transaction (RFC 3261 8.1.3.5).
  byBranch_.erase(a.branch);
  a.branch = newBranch();
  sendInvite(r, a, *retry);
  if (a.invite.empty()) return false;
  byBranch_[a.branch] = &r;
  a.pidfAdded = false;
  Call& call = r.call;
  RoutingLogEntry e = call.log;
  e.event = "retry";
  e.outcome = "routed";
  e.status = 424;
  e.elin = retry->elin;
  e.pidf = "";
  e.addedMs = -1;
  e.reason = "424 Bad Location Information: same trunk again with ELIN only";
  ++b2bua_.counters_.locationRetries424;
  b2bua_.log_.write(e);
  call.log.elin = retry->elin;
  call.log.pidf = "";
  call.attempts += (call.attempts.empty() ? "" : " ") + a.trunk + ":424";
  spdlog::warn("call {}: trunk {} refused the location (424); retrying with ELIN {} only", r.callId,
               a.trunk, retry->elin);
  return true;
}

// ---- The trunk's responses ----

void EmergencyRelay::inviteResponse(Record& r, Attempt& a, const wire::Message& m) {
  Call& call = r.call;
  const int status = m.status;
  if (status < 200) {
    a.provisional = true;  // no more retransmissions; a CANCEL may go
    if (status > 100 && !a.ringing) {
      a.ringing = true;  // from now on the trunk has ring_timeout_s to answer
      a.deadline = Clock::now() + std::chrono::milliseconds(a.config->ringTimeoutMs);
    }
    if (status > 100) {
      passOn(r, m, false);
      call.ringingSent = true;
    }
    return;
  }
  a.final = true;
  if (status < 300) {
    call.attempts += (call.attempts.empty() ? "" : " ") + a.trunk + ":" + std::to_string(status);
    b2bua_.counters_.trunkAttempts.add(a.trunk, "answered");
    b2bua_.counters_.psapAnswer.observe(msSince(a.sent));
    passOn(r, m, false);
    finish(r, "answered", status, "");
    return;
  }
  ackFailure(a, m);
  if (status == 424 && retryWithElinOnly(r, a)) return;
  const std::string why(phraseOf(m));
  if (tryNext(r, status, why)) return;
  passOn(r, m, true);
  finish(r, "failed", status, why);
}

void EmergencyRelay::lateResponse(Record& r, Attempt& a, const wire::Message& m) {
  const int status = m.status;
  if (status < 200) {
    a.provisional = true;
    // A provisional at last: the attempt given up, or the call cancelled, can be cancelled now.
    if ((a.abandoned || r.cancelled) && !a.cancelSent && !a.final) cancel(a);
    return;
  }
  if (status >= 300) {
    a.final = true;
    ackFailure(a, m);
    // The caller cancelled while this attempt rang: the trunk's 487 ends the INVITE.
    if (r.cancelled && &a == r.current && !r.finished) {
      passOn(r, m, true);
      finish(r, "cancelled", status, "cancelled by the caller");
    }
    return;
  }
  if (&a == r.current && r.answered) {
    passOn(r, m, false);  // the answer again: the caller's ACK has not reached the trunk yet
    return;
  }
  if (&a == r.current && !r.finished) {
    // The trunk answered as the caller's CANCEL went: the answer goes to the caller, whose UA
    // ends the call (RFC 3261 9.1, 15), as a proxy passes on a 2xx after a CANCEL.
    a.final = true;
    r.call.attempts +=
        (r.call.attempts.empty() ? "" : " ") + a.trunk + ":" + std::to_string(m.status);
    passOn(r, m, false);
    finish(r, "answered", m.status, "answered as the caller cancelled");
    return;
  }
  // An answer nobody wants any more (an attempt given up, a call cancelled or answered
  // elsewhere): confirmed and hung up.
  if (!a.final) {
    a.final = true;
    spdlog::warn("trunk {} answered an INVITE that was given up; hanging it up", a.trunk);
    hangUp(a, m);
    if (!a.byeBranch.empty()) byBranch_[a.byeBranch] = &r;
  }
}

// ---- Timers ----

void EmergencyRelay::timeout(Record& r, Attempt& a) {
  const std::string why =
      a.ringing ? "no answer after " + std::to_string(a.config->ringTimeoutMs) + " ms of ringing"
                : (a.provisional ? "100 Trying, then nothing for " : "no response within ") +
                      std::to_string(a.config->responseTimeoutMs) + " ms";
  if (!a.ringing) b2bua_.trunks_->setUp(a.trunk, false, "no response to an INVITE");
  a.outcome = a.ringing ? "no-answer" : "timeout";
  abandon(a);
  if (r.cancelled || r.finished) {
    if (!r.finished) {  // cancelled and the trunk never said a word
      answerCaller(r, 487, "Request Terminated");
      finish(r, "cancelled", 487, "cancelled by the caller");
    }
    return;
  }
  if (tryNext(r, 408, why)) return;
  spdlog::error("call {}: every trunk of the emergency route failed ({}); answering 408", r.callId,
                r.call.attempts);
  answerCaller(r, 408, "Request Timeout");
  finish(r, "timeout", 408, why);
}

void EmergencyRelay::abandon(Attempt& a) {
  a.abandoned = true;
  // Without a provisional there is nothing to CANCEL yet (RFC 3261 9.1): lateResponse()
  // cancels when one arrives.
  if (a.provisional && !a.cancelSent) cancel(a);
}

void EmergencyRelay::tick(Record& r) {
  const auto now = Clock::now();
  if (now >= r.forgetAt) {
    forget(r);
    return;
  }
  if (now >= r.trimAt) {
    // Answered for 64*T1: no retransmission of its set-up can come any more (RFC 3261
    // 17.1.1.2, 17.2.1); a held call keeps its plan and routing-log entry, not its bytes.
    r.trimAt = Clock::time_point::max();
    std::string().swap(r.request);
    std::string().swap(r.lastAnswer);
    for (auto& a : r.attempts) std::string().swap(a->invite);
  }
  Attempt* a = r.current;
  if (a != nullptr && !a->final && !a->abandoned) {
    if (now >= a->deadline) {
      timeout(r, *a);
    } else if (!a->provisional && now >= a->retransmitAt) {
      tap_.send(a->invite, a->host, a->port);  // Timer A (RFC 3261 17.1.1.2)
      a->interval = std::min(a->interval * 2, kT2Ms);
      a->retransmitAt = now + std::chrono::milliseconds(a->interval);
    }
  }
  arm(r);
}

void EmergencyRelay::arm(Record& r) {
  Clock::time_point next = std::min(r.forgetAt, r.trimAt);
  if (const Attempt* a = r.current; a != nullptr && !a->final && !a->abandoned) {
    next = std::min(next, a->deadline);
    if (!a->provisional) next = std::min(next, a->retransmitAt);
  }
  if (r.armed && r.due->first == next) return;
  disarm(r);
  r.due = due_.emplace(next, &r);
  r.armed = true;
  if (next < timerAt_) setTimer();
}

void EmergencyRelay::disarm(Record& r) {
  if (!r.armed) return;
  due_.erase(r.due);
  r.armed = false;
}

void EmergencyRelay::setTimer() {
  if (timer_ == nullptr) return;
  if (due_.empty()) {
    su_timer_reset(timer_);
    timerAt_ = Clock::time_point::max();
    return;
  }
  timerAt_ = due_.begin()->first;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(timerAt_ - Clock::now()).count();
  su_timer_set_interval(timer_, onTimer, reinterpret_cast<su_timer_arg_t*>(this),
                        static_cast<su_duration_t>(std::max<int64_t>(wait, 1)));
}

void EmergencyRelay::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* self = reinterpret_cast<EmergencyRelay*>(arg);
  try {
    self->expire();
  } catch (const std::exception& e) {
    spdlog::error("emergency relay timer: internal error: {}", e.what());
  } catch (...) {
    spdlog::error("emergency relay timer: internal error");
  }
}

void EmergencyRelay::expire() {
  timerAt_ = Clock::time_point::max();
  const auto now = Clock::now();
  while (!due_.empty() && due_.begin()->first <= now) {
    Record& r = *due_.begin()->second;
    disarm(r);
    tick(r);  // arms r again, or forgets it
  }
  setTimer();
}

// ---- Requests of an attempt, hop by hop ----

void EmergencyRelay::sendBare(const Attempt& a, std::string_view method, std::string_view uri,
                              std::string_view branch, const wire::Message& invite,
                              std::string_view to, std::string_view cseq) {
  out_.clear();
  out_.append(method).append(" ").append(uri).append(" SIP/2.0\r\n");
  out_.append("Via: ").append(relay_.viaValue(branch)).append("\r\n");
  out_.append("Max-Forwards: 70\r\n");
  out_.append("From: ").append(value(invite, wire::Kind::From)).append("\r\n");
  out_.append("To: ").append(to).append("\r\n");
  out_.append("Call-ID: ").append(value(invite, wire::Kind::CallId)).append("\r\n");
  out_.append("CSeq: ").append(cseq).append(" ").append(method).append("\r\n");
  out_.append("Content-Length: 0\r\n\r\n");
  tap_.send(out_, a.host, a.port);
}

void EmergencyRelay::ackFailure(const Attempt& a, const wire::Message& response) {
  wire::Message inv;
  if (!wire::parse(a.invite, inv, nullptr)) return;
  sendBare(a, "ACK", a.requestUri, a.branch, inv, value(response, wire::Kind::To),
           wire::cseqNumber(value(inv, wire::Kind::CSeq)));
}

void EmergencyRelay::cancel(Attempt& a) {
  wire::Message inv;
  if (!wire::parse(a.invite, inv, nullptr)) return;
  a.cancelSent = true;
  sendBare(a, "CANCEL", a.requestUri, a.branch, inv, value(inv, wire::Kind::To),
           wire::cseqNumber(value(inv, wire::Kind::CSeq)));
}

void EmergencyRelay::hangUp(Attempt& a, const wire::Message& answer) {
  wire::Message inv;
  wire::Uri contact;
  if (!wire::parse(a.invite, inv, nullptr) ||
      !wire::parseUri(wire::splitFirst(value(answer, wire::Kind::Contact)).first, contact))
    return;
  std::string_view target = wire::splitFirst(value(answer, wire::Kind::Contact)).first;
  if (const size_t lt = target.find('<'); lt != std::string_view::npos)
    target = target.substr(lt + 1, target.find('>', lt) - lt - 1);
  unsigned cseq = 0;
  const std::string_view n = wire::cseqNumber(value(inv, wire::Kind::CSeq));
  std::from_chars(n.data(), n.data() + n.size(), cseq);
  a.byeBranch = newBranch();
  const std::string_view to = value(answer, wire::Kind::To);
  sendBare(a, "ACK", target, newBranch(), inv, to, std::to_string(cseq));
  sendBare(a, "BYE", target, a.byeBranch, inv, to, std::to_string(cseq + 1));
}

}  // namespace sos::proxy
