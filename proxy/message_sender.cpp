// SIP MESSAGEs to responders (message_sender.h).

#include "proxy/message_sender.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace sos::proxy {

struct MessageSender::Outgoing : TxnMagic {
  MessageSender* owner = nullptr;
  nta_outgoing_t* orq = nullptr;
  su_timer_t* deadline = nullptr;
  notify::Done done;      // reset once called
  bool finished = false;  // the transaction has its final response: may be destroyed
  int timeoutMs = 0;
};

MessageSender::MessageSender(nta_agent_t* agent, su_root_t* root, std::string host,
                             std::function<void()> finished)
    : agent_(agent), root_(root), host_(std::move(host)), finished_(std::move(finished)) {}

MessageSender::~MessageSender() {
  for (auto& m : messages_) {
    if (m->deadline) su_timer_destroy(m->deadline);
    if (m->orq) nta_outgoing_destroy(m->orq);
    // Shutting down: whoever waits hears no more than that.
    if (m->done) m->done(Error{"shutdown", "sosproxy stopped before an answer"});
  }
}

void MessageSender::send(const notify::SipMessageRequest& request, notify::Done done) {
  auto m = std::make_unique<Outgoing>();
  m->owner = this;
  m->done = std::move(done);
  m->timeoutMs = static_cast<int>(request.timeout.count());
  msg_t* msg = nta_msg_create(agent_, 0);
  bool ok = msg != nullptr;
  if (ok) {
    su_home_t* home = msg_home(msg);
    const std::string from =
        "<sip:sosproxy@" + host_ + ">;tag=" + nta_agent_newtag(home, "%s", agent_);
    // The same on every attempt and from every node: a receiver drops a repeat by it.
    const std::string delivery =
        request.delivery.empty() ? ""
                                 : std::string(notify::kDeliveryHeader) + ": " + request.delivery;
    ok = sip_add_tl(msg, sip_object(msg),
                    SIPTAG_REQUEST(sip_request_create(
                        home, SIP_METHOD_MESSAGE, URL_STRING_MAKE(request.uri.c_str()), nullptr)),
                    SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(("<" + request.uri + ">").c_str()),
                    SIPTAG_CALL_ID(sip_call_id_create(home, nullptr)),
                    SIPTAG_CSEQ(sip_cseq_create(home, 1, SIP_METHOD_MESSAGE)),
                    SIPTAG_MAX_FORWARDS_STR("70"),
                    SIPTAG_HEADER_STR(delivery.empty() ? nullptr : delivery.c_str()),
                    SIPTAG_CONTENT_TYPE_STR("text/plain;charset=utf-8"),
                    SIPTAG_PAYLOAD_STR(request.body.c_str()), TAG_END()) >= 0 &&
         sip_object(msg)->sip_request != nullptr;
  }
  m->orq =
      ok ? nta_outgoing_mcreate(agent_, onResponse, m.get(), nullptr, msg, TAG_END()) : nullptr;
  if (m->orq == nullptr) {
    if (msg) msg_destroy(msg);
    m->done(Error{"sip.send", "MESSAGE to " + request.uri + " could not be sent"});
    return;
  }
  m->deadline = su_timer_create(su_root_task(root_), m->timeoutMs > 0 ? m->timeoutMs : 5000);
  if (m->deadline) su_timer_set(m->deadline, onDeadline, m.get());
  messages_.push_back(std::move(m));
}

int MessageSender::onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* m = static_cast<Outgoing*>(magic);
  try {
    const int status =
        sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200) return 0;
    m->finished = true;
    if (m->deadline) su_timer_reset(m->deadline);
    if (m->done) {
      auto done = std::move(m->done);
      m->done = nullptr;
      if (status < 300) {
        done(Result<void>{});
      } else {
        done(Error{"sip.status", std::to_string(status) + " " +
                                     (sip && sip->sip_status && sip->sip_status->st_phrase
                                          ? sip->sip_status->st_phrase
                                          : "")});
      }
    }
    if (m->owner->finished_) m->owner->finished_();
  } catch (...) {
    spdlog::error("SIP MESSAGE response: internal error");
  }
  return 0;
}

void MessageSender::onDeadline(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* m = static_cast<Outgoing*>(arg);
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

void MessageSender::reap() {
  for (auto it = messages_.begin(); it != messages_.end();) {
    Outgoing& m = **it;
    if (!m.finished) {
      ++it;
      continue;
    }
    if (m.deadline) su_timer_destroy(m.deadline);
    if (m.orq) nta_outgoing_destroy(m.orq);
    it = messages_.erase(it);
  }
}

}  // namespace sos::proxy
