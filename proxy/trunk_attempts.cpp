// The attempts of a call toward its trunks (proxy/trunk_attempts.h).
//
// An emergency call is sent to the trunks of its route one after the other. Each attempt (a
// Branch) has its own timer: `response_timeout_s` until the trunk says anything at all, then
// `ring_timeout_s` until it answers. A timeout, 408, 5xx, 6xx or any other refusal, or a
// transport failure (nta reports 503 when a TCP connection is refused) moves the call to the
// next trunk; the abandoned branch is cancelled once it has a provisional response (RFC 3261
// 9.1), and an answer that still comes from it is ACKed and hung up. The caller hears 180
// Ringing from the first failover on, never a failure while a trunk remains. A 100 Trying does
// not stop the response timer (a PSAP's SBC may say 100 and then nothing); the last trunk has
// the same timers, and when they run out the caller gets 408 (issue 14: no call waits forever).

#include "proxy/trunk_attempts.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "base/clock.h"
#include "proxy/allocator.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

Branch* asBranch(TxnMagic* magic) { return static_cast<Branch*>(magic); }

}  // namespace

TrunkAttempts::TrunkAttempts(nta_agent_t* agent, su_root_t* root, nta_request_f* onLegRequest,
                             const SipRelay& relay, AttemptInvite& invites, TrunkMonitor& trunks,
                             RoutingLog& log, B2buaCounters& counters, Hooks hooks)
    : agent_(agent),
      root_(root),
      onLegRequest_(onLegRequest),
      relay_(relay),
      invites_(invites),
      trunks_(trunks),
      log_(log),
      counters_(counters),
      hooks_(std::move(hooks)) {}

TrunkAttempts::~TrunkAttempts() {
  for (auto& br : orphans_) destroy(*br);
}

// ---- Sofia entry points ----

int TrunkAttempts::onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  Branch* br = asBranch(magic);
  try {
    br->owner->response(*br, orq, sip);
  } catch (const std::exception& e) {
    spdlog::error("trunk {} response: internal error: {}", br->trunk, e.what());
  } catch (...) {
    spdlog::error("trunk {} response: internal error", br->trunk);
  }
  return 0;
}

// Requests on the dialog of a branch we gave up (or of an ended call): nothing to relay them to.
int TrunkAttempts::onStrayLegRequest(Leg*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_ack) {
    nta_incoming_destroy(irq);
    return 0;
  }
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_bye) return 200;
  return 481;
}

void TrunkAttempts::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  Branch* br = static_cast<Branch*>(arg);
  try {
    br->owner->timeout(*br);
  } catch (const std::exception& e) {
    spdlog::error("trunk {} timer: internal error: {}", br->trunk, e.what());
  } catch (...) {
    spdlog::error("trunk {} timer: internal error", br->trunk);
  }
}

// ---- Attempts ----

bool TrunkAttempts::tryNext(Call& call, int failedStatus, const std::string& why) {
  if (!call.plan) return false;
  Call::Plan& p = *call.plan;
  Branch* failed = call.current;
  if (failed) {
    counters_.trunkAttempts.add(failed->trunk, failed->outcome);
    call.attempts += (call.attempts.empty() ? "" : " ") + failed->trunk + ":" +
                     std::to_string(failedStatus) + (why.empty() ? "" : "(" + why + ")");
  }
  // Trunks whose probe says they are down are skipped, unless every trunk left is down: then
  // they are all tried anyway, in order (a probe can be wrong; no attempt is worse).
  bool anyUp = false;
  for (size_t i = p.next; i < p.route.size(); ++i) anyUp = anyUp || trunks_.up(p.route[i]->name);
  std::string skipped;
  while (p.next < p.route.size()) {
    const config::Trunk& trunk = *p.route[p.next++];
    if (anyUp && !trunks_.up(trunk.name)) {
      ++counters_.trunkSkips;
      counters_.trunkAttempts.add(trunk.name, "skipped");
      skipped += (skipped.empty() ? "" : ", ") + trunk.name;
      call.attempts += (call.attempts.empty() ? "" : " ") + trunk.name + ":skipped(down)";
      continue;
    }
    if (failed && !call.ringingSent && !call.invite->finished) {
      // The caller hears ringing while the call moves on, never a failure.
      nta_incoming_treply(call.invite->irq, SIP_180_RINGING,
                          SIPTAG_CONTACT_STR(call.a.contact.c_str()), TAG_END());
      call.ringingSent = true;
    }
    if (!start(call, trunk)) {
      spdlog::error("call {}: could not send the INVITE to trunk {}", call.log.callId, trunk.name);
      call.attempts += (call.attempts.empty() ? "" : " ") + trunk.name + ":not-sent";
      counters_.trunkAttempts.add(trunk.name, "not-sent");
      continue;
    }
    if (failed) {
      logFailover(call, *failed, failedStatus, why, trunk.name, skipped);
    } else if (!skipped.empty()) {
      call.log.reason += " (skipped, down: " + skipped + ")";
    }
    return true;
  }
  call.current = nullptr;
  return false;
}

// The routing log's failover line: which trunk failed, why, and which one is tried now.
void TrunkAttempts::logFailover(Call& call, const Branch& failed, int failedStatus,
                                const std::string& why, const std::string& next,
                                const std::string& skipped) {
  counters_.failoverReasons.add(failed.outcome);
  RoutingLogEntry e = call.log;
  e.event = "failover";
  e.outcome = "routed";
  e.status = failedStatus;
  e.attempts = call.attempts;
  e.addedMs = msSince(call.received);  // caller's INVITE in -> this INVITE out
  e.reason = failed.trunk + ": " + (why.empty() ? std::to_string(failedStatus) : why) +
             "; trying " + next + (skipped.empty() ? "" : " (skipped, down: " + skipped + ")");
  log_.write(e);
  spdlog::warn("call {}: {}", call.log.callId, e.reason);
  trunks_.failedOver(failed.trunk, call.log.callId, e.reason);
  if (hooks_.failedOver) hooks_.failedOver(call, e.reason);
}

bool TrunkAttempts::start(Call& call, const config::Trunk& trunk) {
  // The branch and its dialog live as long as the call; its INVITE is a transaction (send()).
  const allocator::Scope keep(allocator::Lifetime::Call);
  Call::Plan& p = *call.plan;
  auto br = std::make_unique<Branch>();
  br->owner = this;
  br->call = &call;
  br->trunk = trunk.name;
  br->trunkConfig = &trunk;
  br->leg = nta_leg_tcreate(agent_, onLegRequest_, &call.b, SIPTAG_FROM(p.from), SIPTAG_TO(p.to),
                            TAG_END());
  if (br->leg == nullptr) return false;
  nta_leg_tag(br->leg, nullptr);

  EmergencyInvite rewrite = invites_.forTrunk(call, trunk);
  // Too large for one UDP datagram: over TCP when the trunk takes it, else trimmed (issue 14).
  config::Trunk hop = trunk;
  if (invites_.overTcp(call, trunk, rewrite)) hop.transport = config::Transport::Tcp;
  br->requestUri =
      p.urn ? p.requestUser
            : "sip:" + p.requestUser + "@" + uriHost(trunk.host) + ":" + std::to_string(trunk.port);
  br->nextHop = nextHopFor(hop);
  br->pidfAdded = rewrite.pidf == "added";

  nta_leg_t* const previousLeg = call.b.leg;
  const std::string previousContact = call.b.contact;
  call.b.leg = br->leg;
  call.b.contact = relay_.contactFor(std::string(config::toString(hop.transport)));
  br->orq = relay_.send(call.b, br.get(), sip_method_invite, "INVITE", p.request,
                        URL_STRING_MAKE(br->requestUri.c_str()),
                        URL_STRING_MAKE(br->nextHop.c_str()), p.maxForwards, &rewrite, onResponse);
  if (br->orq == nullptr) {
    nta_leg_destroy(br->leg);
    call.b.leg = previousLeg;
    call.b.contact = previousContact;
    return false;
  }
  br->cseq = nta_outgoing_cseq(br->orq);
  br->sent = std::chrono::steady_clock::now();
  call.invite->outCseq = br->cseq;
  call.log.trunk = trunk.name;
  // Every attempt of an emergency call is bounded, the last one's too (issue 14: a PSAP behind
  // an SBC may answer 100 and then nothing, and nta keeps an INVITE open without Timer C). An
  // ordinary call keeps SIP's own timers: a carrier may take its time to reach the callee.
  if (p.emergency()) {
    br->timer = su_timer_create(su_root_task(root_), trunk.responseTimeoutMs);
    if (br->timer) su_timer_set(br->timer, onTimer, br.get());
  }
  call.current = br.get();
  call.branches.push_back(std::move(br));
  return true;
}

bool TrunkAttempts::retryWithElinOnly(Call& call, Branch& br) {
  if (!br.pidfAdded) return false;
  std::optional<EmergencyInvite> retry = invites_.elinOnly(call);
  if (!retry) return false;
  EmergencyInvite& plan = *retry;
  Call::Plan& p = *call.plan;
  // Same dialog identifiers (Call-ID, From-tag), next CSeq: a retry of the same request
  // (RFC 3261 8.1.3.5); send() puts the ELIN in the From user part.
  nta_outgoing_t* orq = relay_.send(
      call.b, &br, sip_method_invite, "INVITE", p.request, URL_STRING_MAKE(br.requestUri.c_str()),
      URL_STRING_MAKE(br.nextHop.c_str()), p.maxForwards, &plan, onResponse);
  if (orq == nullptr) return false;
  br.oldOrqs.push_back(br.orq);
  br.orq = orq;
  br.cseq = nta_outgoing_cseq(orq);
  br.pidfAdded = false;
  br.final = false;
  call.invite->outCseq = br.cseq;
  RoutingLogEntry e = call.log;
  e.event = "retry";
  e.outcome = "routed";
  e.status = 424;
  e.elin = plan.elin;
  e.pidf = "";
  e.addedMs = -1;
  e.reason = "424 Bad Location Information: same trunk again with ELIN only";
  ++counters_.locationRetries424;
  log_.write(e);
  call.log.elin = plan.elin;
  call.log.pidf = "";
  call.attempts += (call.attempts.empty() ? "" : " ") + br.trunk + ":424";
  spdlog::warn("call {}: trunk {} refused the location (424); retrying with ELIN {} only",
               call.log.callId, br.trunk, plan.elin);
  return true;
}

void TrunkAttempts::response(Branch& br, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (orq == br.bye) {  // our BYE of an answer that came too late
    if (status >= 200) {
      br.byeDone = true;
      if (br.call == nullptr) hooks_.scheduleReap();
    }
    return;
  }
  if (br.call == nullptr || br.abandoned || orq != br.orq) {
    if (orq == br.orq || br.call == nullptr) lateResponse(br, orq, sip, status);
    return;  // else: an earlier INVITE of this branch (before a 424 retry), already handled
  }
  if (status < 200) {
    br.provisional = true;  // a CANCEL may now be sent (RFC 3261 9.1)
    if (status > 100 && !br.ringing) {
      br.ringing = true;
      // The far end is alerting: from now on it has ring_timeout_s to answer (Timer C, RFC 3261
      // 16.8, shortened). A 100 Trying alone proves only that the next hop got the INVITE.
      if (br.timer && br.trunkConfig)
        su_timer_set_interval(br.timer, onTimer, &br, br.trunkConfig->ringTimeoutMs);
    }
    hooks_.response(br, orq, sip, status);
    return;
  }
  br.final = true;
  if (br.timer) su_timer_reset(br.timer);
  if (status >= 300 && br.trunkConfig && (status == 408 || status == 503) && madeByNta(sip)) {
    // nta's own 408/503: no response at all, or the transport failed (connection refused).
    trunks_.setUp(br.trunk, false,
                  status == 503 ? "transport failure" : "no response to an INVITE");
  }
  hooks_.response(br, orq, sip, status);
}

void TrunkAttempts::lateResponse(Branch& br, nta_outgoing_t* orq, const sip_t* sip, int status) {
  if (status < 200) {
    // A provisional at last: now the abandoned INVITE can be cancelled (RFC 3261 9.1).
    if (!br.cancelSent && orq == br.orq) {
      br.cancelSent = true;
      nta_outgoing_tcancel(orq, nullptr, nullptr, TAG_END());
    }
    return;
  }
  if (orq == br.orq) br.final = true;
  if (status < 300 && br.leg && br.bye == nullptr) {
    // The trunk answered after the call moved on (or ended): confirm and hang up its dialog.
    spdlog::warn("trunk {} answered an INVITE that was given up; hanging it up", br.trunk);
    if (sip && sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(br.leg, sip->sip_to->a_tag);
    if (sip) nta_leg_client_reroute(br.leg, sip->sip_record_route, sip->sip_contact, 1);
    if (!relay_.sendAck(br.leg, br.cseq, nullptr))
      spdlog::warn("trunk {}: could not ACK the late answer", br.trunk);
    br.bye =
        nta_outgoing_tcreate(br.leg, onResponse, &br, nullptr, SIP_METHOD_BYE, nullptr, TAG_END());
    return;
  }
  if (br.call == nullptr) hooks_.scheduleReap();
}

void TrunkAttempts::timeout(Branch& br) {
  if (br.call == nullptr || br.final || br.abandoned) return;
  Call& call = *br.call;
  if (call.current != &br) return;
  // nta keeps a 100 Trying to itself; its status says whether one came.
  if (br.orq && nta_outgoing_status(br.orq) >= 100) br.provisional = true;
  const std::string why =
      br.ringing
          ? "no answer after " + std::to_string(br.trunkConfig->ringTimeoutMs) + " ms of ringing"
          : (br.provisional ? "100 Trying, then nothing for " : "no response within ") +
                std::to_string(br.trunkConfig->responseTimeoutMs) + " ms";
  if (!br.ringing) trunks_.setUp(br.trunk, false, "no response to an INVITE");
  br.outcome = br.ringing ? "no-answer" : "timeout";
  abandon(br);
  if (call.cancelled || call.invite->finished) return;
  if (tryNext(call, 408, why)) return;
  hooks_.exhausted(call, why);
}

void TrunkAttempts::abandon(Branch& br) {
  br.abandoned = true;
  if (br.timer) su_timer_reset(br.timer);
  // Requests on its dialog no longer concern the call.
  if (br.leg) nta_leg_bind(br.leg, onStrayLegRequest, nullptr);
  if (br.provisional && !br.cancelSent && br.orq) {
    br.cancelSent = true;
    nta_outgoing_tcancel(br.orq, nullptr, nullptr, TAG_END());
  }
  // Without a provisional there is nothing to CANCEL yet (RFC 3261 9.1): lateResponse()
  // cancels when one arrives, and hangs up an answer.
}

void TrunkAttempts::cancel(Call& call) {
  for (auto& br : call.branches) {
    if (br->final || br->cancelSent || br->orq == nullptr) continue;
    if (br->timer) su_timer_reset(br->timer);
    br->cancelSent = true;
    // nta holds the CANCEL until the branch's first provisional (RFC 3261 9.1).
    nta_outgoing_tcancel(br->orq, nullptr, nullptr, TAG_END());
  }
}

void TrunkAttempts::release(Call& call) {
  for (auto& br : call.branches) {
    if (br->timer) {
      su_timer_destroy(br->timer);
      br->timer = nullptr;
    }
    br->trunkConfig = nullptr;
    const bool pending = br->pending();
    if (pending && br->bye == nullptr && !br->cancelSent && br->provisional) {
      br->cancelSent = true;
      nta_outgoing_tcancel(br->orq, nullptr, nullptr, TAG_END());
    }
    if (pending) {
      // Its INVITE (or BYE) is still in nta's hands: keep it until the final response.
      br->call = nullptr;
      if (br->leg) nta_leg_bind(br->leg, onStrayLegRequest, nullptr);
      orphans_.push_back(std::move(br));
    } else {
      destroy(*br);
    }
  }
  call.branches.clear();
  call.current = nullptr;
}

void TrunkAttempts::destroy(Branch& br) {
  if (br.timer) su_timer_destroy(br.timer);
  br.timer = nullptr;
  for (auto* orq : br.oldOrqs)
    if (orq) nta_outgoing_destroy(orq);
  br.oldOrqs.clear();
  if (br.orq) nta_outgoing_destroy(br.orq);
  if (br.bye) nta_outgoing_destroy(br.bye);
  br.orq = br.bye = nullptr;
  if (br.leg) nta_leg_destroy(br.leg);
  br.leg = nullptr;
}

void TrunkAttempts::reap() {
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    if ((*it)->pending()) {
      ++it;
      continue;
    }
    destroy(**it);
    it = orphans_.erase(it);
  }
}

}  // namespace sos::proxy
