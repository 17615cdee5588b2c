// Scheduled test calls (proxy/test_caller.h).

#include "proxy/test_caller.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstdio>

#include "base/clock.h"
#include "proxy/copy_skip.h"
#include "proxy/emergency_invite.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

constexpr unsigned long kMaxForwards = 70;  // RFC 3261 8.1.1.6

// "[::1]" -> "::1": the SDP's addresses go without brackets (RFC 4566 section 5.7).
std::string bare(const std::string& host) {
  return host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
}

// An offer that asks for nothing: sosproxy sends and receives no media on a test call (port 9,
// the discard port, and a=inactive, RFC 4566 section 6), while the PSAP still sees a
// well-formed offer as in every real call.
std::string inactiveOffer(const std::string& host, uint64_t session) {
  const std::string address = bare(host);
  const std::string family = address.find(':') != std::string::npos ? "IP6" : "IP4";
  return "v=0\r\no=sosproxy " + std::to_string(session) + " 1 IN " + family + " " + address +
         "\r\ns=sosproxy test call\r\nc=IN " + family + " " + address +
         "\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n";
}

bool isUrn(const std::string& destination) {
  return destination.size() > 4 && strncasecmp(destination.c_str(), "urn:", 4) == 0;
}

std::string phraseOf(const sip_t* sip) {
  return sip && sip->sip_status && sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "";
}

}  // namespace

// One test call in flight (or done and waiting to be reaped).
struct TestCaller::Call : TxnMagic {
  TestCaller* owner = nullptr;
  std::shared_ptr<const config::Config> config;  // keeps `trunk` alive
  const config::Trunk* trunk = nullptr;
  store::TestCallResult result;
  Leg leg;  // leg.leg: the test call's dialog (ours), leg.contact: our Contact on it
  nta_outgoing_t* invite = nullptr;
  nta_outgoing_t* bye = nullptr;
  su_timer_t* timer = nullptr;  // response timeout, then ring timeout
  std::chrono::steady_clock::time_point sent;
  uint32_t cseq = 0;
  std::string caller, elin, pidf;
  bool ringing = false;
  bool final = false;     // the INVITE has its final response, or never left
  bool reported = false;  // the result has gone
  bool byeDone = true;    // no BYE of ours waits for its answer
  bool finished() const { return final && byeDone; }
};

TestCaller::TestCaller(nta_agent_t* agent, su_root_t* root, SipRelay::Contacts contacts,
                       B2buaCounters& counters, RoutingLog& log, Sources sources, Record record,
                       const std::vector<store::TestCallStatus>& history)
    : agent_(agent),
      root_(root),
      relay_(agent, std::move(contacts), counters, onResponse),
      counters_(counters),
      log_(log),
      sources_(std::move(sources)),
      record_(std::move(record)),
      schedule_(unixMsNow()) {
  for (const auto& h : history)
    if (h.lastTestAtMs > 0) schedule_.restore(h.site, h.trunk, h.lastTestAtMs);
  tick_ = su_timer_create(su_root_task(root_), kTickMs);
  if (tick_) su_timer_set_for_ever(tick_, onTick, this);
}

TestCaller::~TestCaller() {
  if (tick_) su_timer_destroy(tick_);
  for (auto& c : calls_) {
    if (c->timer) su_timer_destroy(c->timer);
    if (c->invite) nta_outgoing_destroy(c->invite);
    if (c->bye) nta_outgoing_destroy(c->bye);
    if (c->leg.leg) nta_leg_destroy(c->leg.leg);
  }
}

// ---- Sofia entry points: nothing may unwind through Sofia's C frames. ----

void TestCaller::onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  try {
    static_cast<TestCaller*>(arg)->tick();
  } catch (const std::exception& e) {
    spdlog::error("scheduled test calls: internal error: {}", e.what());
  } catch (...) {
    spdlog::error("scheduled test calls: internal error");
  }
}

void TestCaller::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* call = static_cast<Call*>(arg);
  try {
    call->owner->timeout(*call);
  } catch (...) {
    spdlog::error("test call to {}: internal error", call->result.trunk);
  }
}

int TestCaller::onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* call = static_cast<Call*>(magic);
  try {
    call->owner->response(*call, orq, sip);
  } catch (...) {
    spdlog::error("test call to {}: internal error", call->result.trunk);
  }
  return 0;
}

// Requests on a test call's dialog: the PSAP hanging up first is answered; nothing else is
// expected of a call that sosproxy ends itself at once.
int TestCaller::onLegRequest(Leg*, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) {
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_ack) {
    nta_incoming_destroy(irq);
    return 0;
  }
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_bye) return 200;
  return 481;
}

// ---- The schedule ----

void TestCaller::tick() {
  reap();
  auto config = sources_.config ? sources_.config() : nullptr;
  if (config && config != config_) {
    config_ = std::move(config);
    schedule_.configure(config_->testCallTargets());
  }
  if (schedule_.size() == 0) return;
  const bool busy = sources_.busy && sources_.busy();
  TestSchedule::Due due = schedule_.due(unixMsNow(), busy);
  if (due.postponed > 0) {
    counters_.testCallsPostponed.fetch_add(due.postponed, std::memory_order_relaxed);
    spdlog::info("{} scheduled test call(s) put off: ordinary calls are shed or sosproxy drains",
                 due.postponed);
  }
  for (const auto& target : due.place) place(target);
}

void TestCaller::place(const config::TestCallTarget& target) {
  auto owned = std::make_unique<Call>();
  Call& call = *owned;
  calls_.push_back(std::move(owned));
  call.owner = this;
  call.config = config_;
  call.trunk = config_->findTrunk(target.trunk);
  call.result.site = target.site;
  call.result.trunk = target.trunk;
  call.result.destination = target.destination;
  call.result.startedAtMs = unixMsNow();
  // Where a real emergency call from the site would be at worst: its default location.
  auto snapshot = sources_.locations ? sources_.locations() : nullptr;
  const model::Location* where = nullptr;
  if (snapshot) where = snapshot->siteDefault(target.site);
  if (snapshot && where == nullptr) where = snapshot->accountDefault();
  if (where) call.result.location = where->name;
  bool sent = false;
  try {
    sent = call.trunk != nullptr && send(call, where);
  } catch (const std::exception& e) {  // the test fails, the schedule goes on
    spdlog::error("test call of site {} to trunk {}: internal error: {}", target.site, target.trunk,
                  e.what());
  }
  if (!sent) {
    call.final = true;
    report(call, "transport-error", 0, "the INVITE could not be sent");
  }
}

// The INVITE as a real emergency call from the site would leave toward this trunk: the
// location by value and/or its ELIN for the trunk's mode (planEmergencyInvite), beside an SDP
// offer; the Request-URI is the trunk's test destination.
bool TestCaller::send(Call& call, const model::Location* where) {
  const config::Trunk& trunk = *call.trunk;
  const std::string& host = relay_.host();
  const std::string& destination = call.result.destination;
  const std::string requestUri =
      isUrn(destination)
          ? destination
          : "sip:" + destination + "@" + uriHost(trunk.host) + ":" + std::to_string(trunk.port);
  const std::string elin = where && !where->elins.empty() ? where->elins.front() : "";
  call.caller = elin.empty() ? "sosproxy" : elin;
  const std::string from = "\"sosproxy test call\" <sip:" + call.caller + "@" + host + ">";
  call.leg.leg = nta_leg_tcreate(agent_, onLegRequest, nullptr, SIPTAG_FROM_STR(from.c_str()),
                                 SIPTAG_TO_STR(("<" + requestUri + ">").c_str()), TAG_END());
  if (call.leg.leg == nullptr) return false;
  nta_leg_tag(call.leg.leg, nullptr);
  call.leg.contact = relay_.contactFor(std::string(config::toString(trunk.transport)));

  const int64_t nowMs = unixMsNow();
  routing::CallRequest offer;
  offer.body = inactiveOffer(host, static_cast<uint64_t>(nowMs));
  offer.bodyContentType = "application/sdp";
  EmergencyInputs in;
  in.mode = trunk.mode;
  in.location = where;
  in.request = &offer;
  in.elin = elin;
  in.host = host;
  in.locSrc = config_->listen.hostName.empty() ? host : config_->listen.hostName;
  in.entity = "pres:" + call.caller + "@" + host;
  in.method = "Manual";
  in.nowMs = nowMs;
  in.seed = (static_cast<uint64_t>(nowMs) << 20) ^ ++seed_;
  EmergencyInvite invite = planEmergencyInvite(in);
  if (!(invite.skip & kSkipBody)) {  // no location by value: the offer alone
    invite.skip |= kSkipBody;
    invite.contentType = offer.bodyContentType;
    invite.body = offer.body;
  }
  invite.extraHeaders += std::string(invite.extraHeaders.empty() ? "" : "\r\n") +
                         "Subject: sosproxy scheduled test call";
  call.elin = invite.elin;
  call.pidf = invite.pidf;
  const std::string nextHop = nextHopFor(trunk);
  call.invite = relay_.send(call.leg, &call, sip_method_invite, "INVITE", nullptr,
                            URL_STRING_MAKE(requestUri.c_str()), URL_STRING_MAKE(nextHop.c_str()),
                            kMaxForwards, &invite, onResponse);
  if (call.invite == nullptr) return false;
  call.cseq = nta_outgoing_cseq(call.invite);
  call.sent = std::chrono::steady_clock::now();
  if (msg_t* sent = nta_outgoing_getrequest(call.invite)) {
    const sip_t* sip = sip_object(sent);
    if (sip && sip->sip_call_id && sip->sip_call_id->i_id)
      call.result.callId = sip->sip_call_id->i_id;
    msg_destroy(sent);
  }
  // The trunk's own failover timers: the test fails where a real emergency call would move on.
  call.timer = su_timer_create(su_root_task(root_), trunk.responseTimeoutMs);
  if (call.timer) su_timer_set(call.timer, onTimer, &call);
  return true;
}

// ---- What the trunk does with it ----

void TestCaller::response(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
  if (orq == call.bye) {
    if (status >= 200) call.byeDone = true;
    return;
  }
  if (orq != call.invite) return;
  if (status < 200) {
    // Alerting: from now on the trunk has its ring timeout to answer, as a real call would.
    if (status > 100 && !call.ringing && !call.reported && call.timer) {
      call.ringing = true;
      su_timer_set_interval(call.timer, onTimer, &call, call.trunk->ringTimeoutMs);
    }
    return;
  }
  call.final = true;
  if (call.timer) su_timer_reset(call.timer);
  if (status < 300) {
    answered(call, sip, status);
    return;
  }
  if (call.reported) return;  // the 487 to our CANCEL, or a refusal after the timeout
  if (madeByNta(sip) && status == 408) {
    report(call, "timeout", 0, "no response (SIP transaction timeout)");
  } else if (madeByNta(sip)) {
    report(call, "transport-error", 0,
           "the trunk could not be reached (" + std::to_string(status) + " " + phraseOf(sip) +
               " from sosproxy's SIP stack)");
  } else {
    report(call, "rejected", status, std::to_string(status) + " " + phraseOf(sip));
  }
}

// An answer is confirmed and hung up at once: the test has what it came for.
void TestCaller::answered(Call& call, const sip_t* sip, int status) {
  if (call.bye != nullptr || call.leg.leg == nullptr) return;  // a forked or repeated 2xx
  if (sip && sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(call.leg.leg, sip->sip_to->a_tag);
  if (sip) nta_leg_client_reroute(call.leg.leg, sip->sip_record_route, sip->sip_contact, 1);
  if (!relay_.sendAck(call.leg.leg, call.cseq, nullptr))
    spdlog::warn("test call to trunk {}: could not send the ACK", call.result.trunk);
  call.bye = nta_outgoing_tcreate(call.leg.leg, onResponse, &call, nullptr, SIP_METHOD_BYE, nullptr,
                                  TAG_END());
  call.byeDone = call.bye == nullptr;
  if (call.bye == nullptr)
    spdlog::warn("test call to trunk {}: could not send the BYE", call.result.trunk);
  if (!call.reported) {
    report(call, "answered", status, std::to_string(status) + " " + phraseOf(sip));
  } else {
    spdlog::warn("test call to trunk {} answered after it was given up; hung up",
                 call.result.trunk);
  }
}

void TestCaller::timeout(Call& call) {
  if (call.final || call.reported) return;
  const bool provisional = call.invite && nta_outgoing_status(call.invite) >= 100;
  const std::string why =
      call.ringing
          ? "no answer after " + std::to_string(call.trunk->ringTimeoutMs) + " ms of ringing"
          : (provisional ? "100 Trying, then nothing for " : "no response within ") +
                std::to_string(call.trunk->responseTimeoutMs) + " ms";
  report(call, "timeout", 0, why);
  // nta holds the CANCEL until a provisional response came (RFC 3261 9.1); an answer that
  // still comes is hung up (answered()).
  if (call.invite) nta_outgoing_tcancel(call.invite, nullptr, nullptr, TAG_END());
}

void TestCaller::report(Call& call, const std::string& outcome, int status,
                        const std::string& reason) {
  call.reported = true;
  store::TestCallResult& r = call.result;
  r.outcome = outcome;
  r.status = status;
  r.reason = reason;
  r.durationMs = call.invite ? msSince(call.sent) : 0;
  counters_.testCalls.add(r.trunk, outcome);
  RoutingLogEntry e;
  e.event = "test-call";
  e.callId = r.callId;
  e.caller = call.caller;
  e.dialed = r.destination;
  e.test = true;
  e.site = r.site;
  e.location = r.location;
  e.locationBy = r.location.empty() ? "" : "site default";
  e.elin = call.elin;
  e.pidf = call.pidf;
  e.trunk = r.trunk;
  e.outcome = outcome;
  e.status = status;
  e.durationMs = r.durationMs;
  e.reason = reason;
  log_.write(e);
  if (r.passed()) {
    spdlog::info("test call of site {} to trunk {} ({}): answered", r.site, r.trunk, r.destination);
  } else {
    spdlog::warn("test call of site {} to trunk {} ({}) failed: {} ({})", r.site, r.trunk,
                 r.destination, outcome, reason);
  }
  schedule_.finished(r.site, r.trunk, r.startedAtMs);
  if (record_) record_(r);
}

// Test calls whose transactions nta is done with (never from inside their own callbacks).
void TestCaller::reap() {
  for (auto it = calls_.begin(); it != calls_.end();) {
    Call& c = **it;
    if (!c.finished()) {
      ++it;
      continue;
    }
    if (c.timer) su_timer_destroy(c.timer);
    if (c.invite) nta_outgoing_destroy(c.invite);
    if (c.bye) nta_outgoing_destroy(c.bye);
    if (c.leg.leg) nta_leg_destroy(c.leg.leg);
    it = calls_.erase(it);
  }
}

}  // namespace sos::proxy
