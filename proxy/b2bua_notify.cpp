// The B2BUA's side of responder alerts (issue 6): emergency-call events handed to the notifier,
// and SIP MESSAGEs sent for it. SIP thread only, like the rest of B2bua. Nothing here waits:
// events go to the I/O thread through the sink, MESSAGE answers come back through nta.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

void B2bua::alert(Call& call, notify::EventKind kind, std::string detail) {
  if (!eventSink_ || !call.alerting) return;
  notify::CallEvent e;
  e.kind = kind;
  e.callId = call.log.callId;
  e.atMs = unixMsNow();
  e.test = call.log.test;
  e.site = call.log.site;
  e.dialed = call.log.dialed;
  e.callerExtension = call.log.caller;
  e.location = call.log.location;
  e.locationBy = call.log.locationBy;
  e.trunk = call.log.trunk;
  e.detail = std::move(detail);
  e.callbackNumber = call.log.elin;
  if (call.plan && call.plan->where) {
    const routing::Resolution& where = *call.plan->where;
    if (where.location) e.address = where.location->civic.oneLine();
    if (where.user) {
      e.callerName = where.user->name;
      e.callerExtension = where.user->extension;
      // Without an ELIN the PSAP calls the caller's own number back.
      if (e.callbackNumber.empty()) e.callbackNumber = where.user->did;
    }
  }
  try {
    eventSink_(std::move(e));
  } catch (const std::exception& ex) {
    // An alert that cannot be queued must not cost the call; the notifier counts its own losses.
    spdlog::error("call {}: responder alert not queued: {}", call.log.callId, ex.what());
  }
}

bool B2bua::alertUntrusted(const routing::CallRequest& req, const routing::RouteDecision& decision,
                           const std::string& source, bool answered) {
  if (!eventSink_) return false;
  const auto& sites = router_->config().sites;
  if (std::none_of(sites.begin(), sites.end(),
                   [](const config::Site& s) { return !s.responders.empty(); }))
    return false;
  // A "started" alert like any emergency call's (so it escalates until acknowledged), saying
  // plainly that the call was refused and reached no PSAP.
  notify::CallEvent e;
  e.kind = notify::EventKind::Started;
  e.callId = req.callId;
  e.atMs = unixMsNow();
  e.test = decision.match.test;
  e.site = decision.site ? decision.site->name : "";
  e.dialed = decision.match.dialed;
  e.callerExtension = !req.paiUser.empty() ? req.paiUser : req.fromUser;
  e.callerName = req.fromDisplay;
  e.location = "unknown: untrusted source " + source;
  e.locationBy = "none (the call came from outside trusted_networks)";
  e.detail = "REFUSED at the edge: emergency call from untrusted source " + source +
             (answered ? ", answered 403" : ", not answered (dropped)") +
             "; it reached no PSAP. Someone may need help at an unknown place.";
  try {
    eventSink_(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("call {}: responder alert not queued: {}", req.callId, ex.what());
    return false;
  }
  return true;
}

// ---- SIP MESSAGE ----

void B2bua::sendMessage(notify::SipMessageRequest request, notify::Done done) {
  auto m = std::make_unique<OutgoingMessage>();
  m->owner = this;
  m->done = std::move(done);
  m->timeoutMs = static_cast<int>(request.timeout.count());
  msg_t* msg = nta_msg_create(agent_, 0);
  bool ok = msg != nullptr;
  if (ok) {
    su_home_t* home = msg_home(msg);
    std::string const from =
        "<sip:sosproxy@" + host_ + ">;tag=" + nta_agent_newtag(home, "%s", agent_);
    ok = sip_add_tl(msg, sip_object(msg),
                    SIPTAG_REQUEST(sip_request_create(
                        home, SIP_METHOD_MESSAGE, URL_STRING_MAKE(request.uri.c_str()), nullptr)),
                    SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(("<" + request.uri + ">").c_str()),
                    SIPTAG_CALL_ID(sip_call_id_create(home, nullptr)),
                    SIPTAG_CSEQ(sip_cseq_create(home, 1, SIP_METHOD_MESSAGE)),
                    SIPTAG_MAX_FORWARDS_STR("70"),
                    SIPTAG_CONTENT_TYPE_STR("text/plain;charset=utf-8"),
                    SIPTAG_PAYLOAD_STR(request.body.c_str()), TAG_END()) >= 0 &&
         sip_object(msg)->sip_request != nullptr;
  }
  // The request URI is numeric (the configuration refuses names): nta sends straight to it.
  m->orq = ok ? nta_outgoing_mcreate(agent_, onMessageResponse, m.get(), nullptr, msg, TAG_END())
              : nullptr;
  if (m->orq == nullptr) {
    if (msg) msg_destroy(msg);
    m->done(Error{"sip.send", "MESSAGE to " + request.uri + " could not be sent"});
    return;
  }
  m->deadline = su_timer_create(su_root_task(root_), m->timeoutMs > 0 ? m->timeoutMs : 5000);
  if (m->deadline) su_timer_set(m->deadline, onMessageDeadline, m.get());
  messages_.push_back(std::move(m));
}

int B2bua::onMessageResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* m = static_cast<OutgoingMessage*>(magic);
  try {
    const int status =
        sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200) return 0;
    m->finished = true;
    if (m->deadline) su_timer_reset(m->deadline);
    if (m->done) {
      auto done = std::move(m->done);
      m->done = nullptr;
      if (status < 300)
        done(Result<void>{});
      else
        done(Error{"sip.status", std::to_string(status) + " " +
                                     (sip && sip->sip_status && sip->sip_status->st_phrase
                                          ? sip->sip_status->st_phrase
                                          : "")});
    }
    m->owner->scheduleReap();
  } catch (...) {
    spdlog::error("SIP MESSAGE response: internal error");
  }
  return 0;
}

void B2bua::onMessageDeadline(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* m = static_cast<OutgoingMessage*>(arg);
  try {
    if (!m->done) return;
    auto done = std::move(m->done);
    m->done = nullptr;
    // The transaction stays with nta until its own timeout; only the report is early.
    done(Error{"timeout", "no answer within " + std::to_string(m->timeoutMs) + " ms"});
  } catch (...) {
    spdlog::error("SIP MESSAGE deadline: internal error");
  }
}

void B2bua::reapMessages() {
  for (auto it = messages_.begin(); it != messages_.end();) {
    OutgoingMessage& m = **it;
    if (!m.finished) {
      ++it;
      continue;
    }
    if (m.deadline) su_timer_destroy(m.deadline);
    if (m.orq) nta_outgoing_destroy(m.orq);
    it = messages_.erase(it);
  }
}

void B2bua::destroyMessages() {
  for (auto& m : messages_) {
    if (m->deadline) su_timer_destroy(m->deadline);
    if (m->orq) nta_outgoing_destroy(m->orq);
    // Shutting down: whoever waits hears no more than that.
    if (m->done) m->done(Error{"shutdown", "sosproxy stopped before an answer"});
  }
  messages_.clear();
}

}  // namespace sos::proxy
