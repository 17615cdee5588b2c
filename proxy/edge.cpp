#include "proxy/edge.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstdio>

#include "proxy/allocator.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"
#include "proxy/sofia_log.h"

namespace sos::proxy {

namespace {

constexpr auto kCauseLogEvery = std::chrono::seconds(10);

// The plain values the edge decides on: who sent it, to what. No body: trust is decided
// before anything of it is read (issue 14).
routing::CallRequest headersOnly(msg_t* msg, const sip_t* sip) {
  routing::CallRequest r;
  if (sip->sip_call_id && sip->sip_call_id->i_id) r.callId = sip->sip_call_id->i_id;
  r.requestUri = urlToString(sip->sip_request->rq_url);
  if (sip->sip_from) {
    r.fromUri = urlToString(sip->sip_from->a_url);
    if (sip->sip_from->a_url->url_user) r.fromUser = sip->sip_from->a_url->url_user;
    if (sip->sip_from->a_display) r.fromDisplay = sip->sip_from->a_display;
  }
  if (auto* pai = sip_p_asserted_identity(sip); pai && pai->paid_url->url_user)
    r.paiUser = pai->paid_url->url_user;
  if (sip->sip_contact && sip->sip_contact->m_url->url_host)
    r.contactHost = sip->sip_contact->m_url->url_host;
  r.psapCallback = sip->sip_priority && sip->sip_priority->g_string &&
                   strcasecmp(sip->sip_priority->g_string, "psap-callback") == 0;
  r.sourceAddress = sourceAddress(msg);
  r.transport = sourceTransport(msg);
  return r;
}

}  // namespace

std::string suppressedNote(uint64_t n) {
  return n == 0 ? "" : " (" + std::to_string(n) + " more since the last such line)";
}

Edge::Edge(su_root_t* root, RoutingLog& log, EdgeCounters& counters)
    : root_(root),
      log_(log),
      counters_(counters),
      replies_(5, 5, 200),
      refusalLines_(0.1, 1, 10),   // a routing-log line per source per 10 s, 10 a second in all
      alarms_(0.1, 1, 10),         // an ALARM line per source per 10 s
      alerts_(1.0 / 60, 1, 0.2) {  // an alert per source per minute, 12 a minute in all
  for (EdgeCause c :
       {EdgeCause::Untrusted, EdgeCause::StrayAck, EdgeCause::UnknownMethod, EdgeCause::NotAllowed,
        EdgeCause::UnknownScheme, EdgeCause::NoDialog, EdgeCause::TransactionCap})
    causeLogs_.emplace_back(c, LogLimiter(kCauseLogEvery));
}

Edge::~Edge() {
  if (sweepTimer_) su_timer_destroy(sweepTimer_);
  if (closeTimer_) su_timer_destroy(closeTimer_);
}

int Edge::onMessage(Edge* edge, nta_agent_t*, msg_t* msg, sip_t* sip) {
  try {
    edge->message(msg, sip);
  } catch (const std::exception& e) {
    // message() hands `msg` on only as its last step, after everything that could throw.
    spdlog::error("edge: internal error: {}", e.what());
    msg_destroy(msg);
  } catch (...) {
    spdlog::error("edge: internal error");
    msg_destroy(msg);
  }
  return 0;
}

void Edge::applySettings() {
  const auto& router = b2bua_->router();
  if (router.get() == appliedFor_) return;
  appliedFor_ = router.get();
  const config::Config& cfg = router->config();
  settings_ = cfg.edge;
  replies_.setRates(settings_.untrustedRepliesPerSource, settings_.untrustedRepliesPerSource,
                    settings_.untrustedRepliesPerSecond);
  trunkAddresses_.clear();
  carrierHost_.clear();
  carrierAddress_.reset();
  for (const auto& t : cfg.trunks) {
    if (auto a = model::parseIpAddress(t.host)) trunkAddresses_.push_back(*a);
    if (t.name != cfg.carrierTrunk) continue;
    carrierAddress_ = model::parseIpAddress(t.host);
    if (t.transport == config::Transport::Udp && carrierAddress_) {
      carrierHost_ = t.host;
      carrierPort_ = t.port;
    }
  }
  // Calls the emergency relay holds keep the tap on after a reload turned it off: their
  // responses are read there.
  if (tap_) {
    tap_->setOn(settings_.ordinaryRelay == config::OrdinaryRelay::Stateless ||
                settings_.emergencyRelay == config::EmergencyRelay::Stateful ||
                (emergency_ && emergency_->held() > 0));
  }
  // With both relays on the B2BUA carries only what they do not take, and the SIP thread's
  // messages are cheaper with a thread cache (proxy/allocator.h).
  const bool cache = settings_.ordinaryRelay == config::OrdinaryRelay::Stateless &&
                     settings_.emergencyRelay == config::EmergencyRelay::Stateful;
  if (cache != allocator::threadCache()) {
    allocator::setThreadCache(cache);
    if (allocator::threadCache() == cache) {
      spdlog::info("SIP thread: {}", cache
                                         ? "a thread cache in front of its arenas (both relays on)"
                                         : "no thread cache (a relay is off)");
    }
  }
  // Connection timers: the primaries' parameters are their connections' too (tport.c).
  for (tport_t* tp = tport_primaries(nta_agent_tports(agent_)); tp; tp = tport_next(tp)) {
    if (tport_is_tcp(tp)) {
      tport_set_params(tp, TPTAG_IDLE(static_cast<unsigned>(settings_.tcpIdleTimeoutMs)),
                       TPTAG_TIMEOUT(static_cast<unsigned>(settings_.tcpMessageTimeoutMs)),
                       TAG_END());
    }
  }
}

bool Edge::fromTrunk(const std::string& source) const {
  auto a = model::parseIpAddress(source);
  return a &&
         std::find(trunkAddresses_.begin(), trunkAddresses_.end(), *a) != trunkAddresses_.end();
}

void Edge::logCause(EdgeCause cause, const std::string& detail) {
  for (auto& [c, limiter] : causeLogs_) {
    if (c != cause) continue;
    uint64_t suppressed = 0;
    if (limiter.shouldLog(EdgeClock::now(), suppressed))
      spdlog::warn("edge: {}: {}{}", toString(cause), detail, suppressedNote(suppressed));
    return;
  }
}

void Edge::message(msg_t* msg, sip_t* sip) {
  if (sip == nullptr || sip->sip_request == nullptr) {
    if (sip != nullptr && relayFromSofia(msg)) return;
    // A response that matched no client transaction (nta found none): nothing to relay it to.
    counters_.strayResponses.fetch_add(1, std::memory_order_relaxed);
    msg_destroy(msg);
    return;
  }
  applySettings();
  // A retransmission, CANCEL or ACK of an emergency INVITE relayed with state.
  if (emergency_ && emergency_->held() > 0 && emergency_->request(msg, sip)) return;
  // Only a request of a dialog (a To-tag) follows the relay's Record-Route: a new call that
  // names it in a Route still meets the edge and the B2BUA (an emergency call its location).
  if (sip->sip_to && sip->sip_to->a_tag && sip->sip_route && relayFromSofia(msg)) return;
  const std::shared_ptr<const routing::Router> router = b2bua_->router();
  const routing::CallRequest req = headersOnly(msg, sip);
  const routing::RouteDecision d = router->decide(req);

  EdgeFacts f;
  f.method = edgeMethod(sip->sip_request->rq_method);
  f.toTag = sip->sip_to && sip->sip_to->a_tag;
  f.trusted = d.trusted;
  f.fromTrunk = !d.trusted && fromTrunk(req.sourceAddress);
  f.emergency = f.method == EdgeMethod::Invite && d.match.emergency;
  f.knownScheme = knownUriScheme(req.requestUri);
  if (f.method == EdgeMethod::Invite && (f.trusted || f.fromTrunk)) {
    usize_t irqs = 0;
    nta_agent_get_stats(agent_, NTATAG_S_IRQ_HASH_USED_REF(irqs), TAG_END());
    f.serverTransactions = irqs;
  }
  // The CANCEL or ACK of a failed INVITE relayed without state follows it (no transaction
  // holds it; the ACK carries the answer's To-tag).
  if ((f.method == EdgeMethod::Ack ||
       (!f.toTag && sip->sip_request->rq_method == sip_method_cancel)) &&
      f.knownScheme && relays(d, req, false))
    return relayInitial(msg, sip, d, req, *router);
  const EdgeVerdict v = screen(f, settings_);

  if (v.cause == EdgeCause::Untrusted) return refuseUntrusted(msg, sip, v, d, req);
  if (v.action == EdgeVerdict::Action::Accept) {
    if (f.emergency && !f.toTag && relayEmergency(msg, sip, req)) return;
    if (f.method == EdgeMethod::Invite && !f.toTag && relays(d, req, true))
      return relayInitial(msg, sip, d, req, *router);
    return accept(msg, sip, v, req);
  }
  const char* method = sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : "?";
  logCause(v.cause, std::string(method) + " " + req.requestUri + " from " + req.sourceAddress +
                        (v.status ? " answered " + std::to_string(v.status) : " dropped"));
  switch (v.cause) {
    case EdgeCause::StrayAck:
      counters_.strayAcks.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::UnknownMethod:
      counters_.unknownMethod.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::NotAllowed:
      counters_.notAllowed.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::UnknownScheme:
      counters_.unknownScheme.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::Options:
      counters_.options.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::NoDialog:
      counters_.noDialog.fetch_add(1, std::memory_order_relaxed);
      break;
    case EdgeCause::TransactionCap:
      counters_.transactionCap.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
  if (v.action == EdgeVerdict::Action::Drop) {
    msg_destroy(msg);
    return;
  }
  reply(msg, sip, v.status);
}

void Edge::refuseUntrusted(msg_t* msg, sip_t* sip, const EdgeVerdict& v,
                           const routing::RouteDecision& d, const routing::CallRequest& req) {
  const auto now = EdgeClock::now();
  unsigned port = 0;
  (void)sourceAddress(msg, &port);
  const std::string source =
      uriHost(req.sourceAddress) + ":" + std::to_string(port) + "/" + req.transport;
  const bool answer =
      v.action == EdgeVerdict::Action::Reply && replies_.allow(req.sourceAddress, now);
  const char* const how = answer ? "refused with 403"
                                 : (v.action == EdgeVerdict::Action::Reply
                                        ? "dropped (answers to this source are rate-limited)"
                                        : "dropped (edge.untrusted: drop)");
  bool routingLine = false;
  if (v.alarm) {
    counters_.untrustedEmergency.fetch_add(1, std::memory_order_relaxed);
    if (alarms_.allow(req.sourceAddress, now)) {
      routingLine = true;
      spdlog::error("ALARM: emergency call {} (dialed {}) from untrusted source {} {}: {}{}",
                    req.callId, d.match.dialed, source, how, d.reason,
                    suppressedNote(alarmsSuppressed_));
      alarmsSuppressed_ = 0;
    } else {
      ++alarmsSuppressed_;
    }
    // Somebody is calling for help from a place sosproxy does not know: the responders hear
    // of it whatever the SIP answer was.
    if (alerts_.allow(req.sourceAddress, now) && b2bua_->alertUntrusted(req, d, source, answer))
      counters_.untrustedAlerts.fetch_add(1, std::memory_order_relaxed);
  } else if (sip->sip_request->rq_method == sip_method_invite) {
    routingLine = refusalLines_.allow(req.sourceAddress, now);
  }
  if (routingLine) {
    RoutingLogEntry e;
    e.event = "route";
    e.callId = req.callId;
    e.caller = !req.paiUser.empty() ? req.paiUser : req.fromUser;
    e.dialed = d.match.dialed;
    e.emergency = d.match.emergency;
    e.test = d.match.test;
    e.alarm = v.alarm;
    e.site = d.site ? d.site->name : "";
    e.source = source;
    e.outcome = "rejected";
    e.status = answer ? 403 : 0;
    e.reason = d.reason + (answer ? "" : std::string("; ") + how);
    e.addedMs = 0;
    log_.write(e);
  }
  const char* method = sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : "?";
  logCause(EdgeCause::Untrusted, std::string(method) + " from " + source + " " + how);
  if (answer) {
    counters_.untrustedRefused.fetch_add(1, std::memory_order_relaxed);
    reply(msg, sip, 403, true);
    return;
  }
  counters_.untrustedDropped.fetch_add(1, std::memory_order_relaxed);
  tport_t* tp = tport_delivered_by(nta_agent_tports(agent_), msg);
  if (tp && tport_is_secondary(tp)) tport_shutdown(tp, 2);  // a stranger's connection: closed
  msg_destroy(msg);
}

void Edge::reply(msg_t* msg, sip_t* sip, int status, bool closeAfter) {
  if (dropMaddr(sip)) counters_.maddrIgnored.fetch_add(1, std::memory_order_relaxed);
  const char* phrase = sip_status_phrase(status);
  const bool stream =
      closeAfter && tport_is_stream(tport_delivered_by(nta_agent_tports(agent_), msg));
  // nta_msg_treply answers without a transaction and takes `msg` whatever happens.
  switch (status) {
    case 200:  // OPTIONS (RFC 3261 11.2)
      nta_msg_treply(agent_, msg, status, phrase, SIPTAG_ALLOW_STR(kAllow),
                     SIPTAG_ACCEPT_STR(kAccept), SIPTAG_ACCEPT_ENCODING_STR("identity"),
                     SIPTAG_HEADER_STR("Supported: "), TAG_END());
      break;
    case 405:
    case 501:
      nta_msg_treply(agent_, msg, status, phrase, SIPTAG_ALLOW_STR(kAllow), TAG_END());
      break;
    case 503:
      nta_msg_treply(agent_, msg, status, phrase, SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
      break;
    default:
      nta_msg_treply(agent_, msg, status, phrase, TAG_IF(stream, TPTAG_SDWN_AFTER(1)), TAG_END());
      break;
  }
}

void Edge::accept(msg_t* msg, sip_t* sip, const EdgeVerdict& v, const routing::CallRequest& req) {
  if (dropMaddr(sip)) counters_.maddrIgnored.fetch_add(1, std::memory_order_relaxed);
  if (v.overCap) {
    counters_.emergencyOverCap.fetch_add(1, std::memory_order_relaxed);
    uint64_t suppressed = 0;
    if (capLog_.shouldLog(EdgeClock::now(), suppressed)) {
      spdlog::warn(
          "edge: emergency call {} taken although {} server transactions are open "
          "(edge.max_server_transactions {}): emergency calls are never refused{}",
          req.callId, counters_.serverTransactions.load(), settings_.maxServerTransactions,
          suppressedNote(suppressed));
    }
  }
  const sip_method_t method = sip->sip_request->rq_method;
  // From here nta owns `msg`, also when it cannot make the transaction.
  nta_incoming_t* irq = nta_incoming_create(agent_, nullptr, msg, sip, TAG_END());
  if (irq == nullptr) {
    spdlog::error("edge: no server transaction could be made for {} {} (out of memory?)",
                  req.callId, req.requestUri);
    return;
  }
  // What nta does with a request its default leg takes (nta.c, leg_recv): the callback's
  // status is the answer, 0 leaves the transaction to the B2BUA.
  int status = B2bua::onRequest(b2bua_->defaultLeg(), nullptr, irq, sip);
  if (status == 0) return;
  if (status < 100 || status > 699 ||
      (method == sip_method_invite && status >= 200 && status < 300))
    status = 500;
  if (nta_incoming_status(irq) < 200) nta_incoming_treply(irq, status, nullptr, TAG_END());
  if (status >= 200) nta_incoming_destroy(irq);
}

}  // namespace sos::proxy
