// Building and sending one leg's messages from the other's (proxy/sip_relay.h).

#include "proxy/sip_relay.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "proxy/allocator.h"
#include "proxy/copy_skip.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

bool insert(msg_t* msg, void* header) {
  return header != nullptr && msg_header_insert(msg, reinterpret_cast<msg_pub_t*>(sip_object(msg)),
                                                static_cast<msg_header_t*>(header)) >= 0;
}

// "<sip:HOST:PORT>" -> HOST ("[::1]" for an IPv6 address).
std::string hostOf(const std::string& contact) {
  std::string host = contact;
  if (auto at = host.find("sip:"); at != std::string::npos) host = host.substr(at + 4);
  if (host.empty()) return host;
  if (host.front() == '[') return host.substr(0, host.find(']') + 1);
  if (auto end = host.rfind(':'); end != std::string::npos) host = host.substr(0, end);
  return host;
}

}  // namespace

const char* methodName(const sip_t* sip) {
  return sip && sip->sip_request ? sip->sip_request->rq_method_name : "?";
}

bool needsContact(sip_method_t m) {
  return m == sip_method_invite || m == sip_method_update || m == sip_method_subscribe ||
         m == sip_method_notify || m == sip_method_refer;
}

SipRelay::SipRelay(nta_agent_t* agent, Contacts contacts, B2buaCounters& counters,
                   nta_response_f* onResponse)
    : agent_(agent),
      contacts_(std::move(contacts)),
      host_(hostOf(contacts_.udp)),
      counters_(counters),
      onResponse_(onResponse) {}

nta_outgoing_t* SipRelay::send(Leg& to, TxnMagic* magic, sip_method_t method, const char* name,
                               msg_t* src, const url_string_t* requestUri,
                               const url_string_t* nextHop, unsigned long maxForwards,
                               const EmergencyInvite* rewrite, nta_response_f* callback) const {
  const allocator::Scope message(allocator::Lifetime::Transaction);
  msg_t* msg = nta_msg_create(agent_, 0);
  if (msg == nullptr) return nullptr;
  sip_t* sip = sip_object(msg);
  su_home_t* home = msg_home(msg);
  char mf[24];
  std::snprintf(mf, sizeof mf, "%lu", maxForwards);
  const unsigned skip = rewrite ? rewrite->skip : kCopyAll;
  size_t dropped = 0;
  bool ok =
      copyEndToEnd(msg, sip, src, skip, &dropped) && insert(msg, sip_max_forwards_make(home, mf));
  if (dropped) counters_.headersDropped.fetch_add(dropped, std::memory_order_relaxed);
  if (ok && rewrite && (skip & kSkipBody) && !rewrite->body.empty()) {
    ok = insert(msg, sip_content_type_make(home, rewrite->contentType.c_str())) &&
         insert(msg, sip_payload_create(home, rewrite->body.data(),
                                        static_cast<isize_t>(rewrite->body.size())));
  }
  if (ok && rewrite && !rewrite->elin.empty()) {
    const std::string pai = "<sip:" + rewrite->elin + "@" + host_ + ">";
    ok = msg_header_add_make(msg, reinterpret_cast<msg_pub_t*>(sip), sip_p_asserted_identity_class,
                             pai.c_str()) >= 0;
  }
  if (ok && rewrite && !rewrite->extraHeaders.empty())
    ok = sip_add_tl(msg, sip, SIPTAG_HEADER_STR(rewrite->extraHeaders.c_str()), TAG_END()) >= 0;
  if (ok && needsContact(method)) ok = insert(msg, sip_contact_make(home, to.contact.c_str()));
  if (ok) ok = nta_msg_request_complete(msg, to.leg, method, name, requestUri) >= 0;
  if (ok && rewrite && !rewrite->elin.empty() && sip->sip_from) {
    // ELIN mode: the PSAP sees the location's ELIN as the caller (its callback number).
    sip->sip_from->a_url->url_user = su_strdup(home, rewrite->elin.c_str());
    sip_fragment_clear(sip->sip_from->a_common);
  }
  nta_outgoing_t* orq = ok ? nta_outgoing_mcreate(agent_, callback ? callback : onResponse_, magic,
                                                  nextHop, msg, TAG_END())
                           : nullptr;
  if (orq == nullptr) msg_destroy(msg);
  return orq;
}

void SipRelay::relayResponse(Txn& txn, Leg& to, msg_t* src, int status, const char* phrase) const {
  const allocator::Scope message(allocator::Lifetime::Transaction);
  if (txn.irq == nullptr || nta_incoming_status(txn.irq) >= 200) return;  // already answered
  if (src == nullptr) {
    nta_incoming_treply(txn.irq, status, phrase, TAG_END());
    return;
  }
  msg_t* msg = nta_incoming_create_response(txn.irq, status, phrase);
  bool ok = msg != nullptr && copyEndToEnd(msg, sip_object(msg), src);
  // Our To-tag identifies the dialog on this leg (RFC 3261 12.1.1); nta leaves it out of a
  // response built from a message, so put it in.
  sip_t* out = msg ? sip_object(msg) : nullptr;
  const char* tag = nta_incoming_gettag(txn.irq);
  if (ok && out && out->sip_to && !out->sip_to->a_tag && tag) {
    sip_to_t* toHeader = sip_to_dup(msg_home(msg), out->sip_to);
    ok = toHeader && sip_to_tag(msg_home(msg), toHeader, tag) >= 0 && insert(msg, toHeader);
  }
  if (ok && status > 100 && status < 300 && needsContact(txn.method))
    ok = insert(msg, sip_contact_make(msg_home(msg), to.contact.c_str()));
  if (ok) {
    if (nta_incoming_mreply(txn.irq, msg) < 0) {
      spdlog::warn("call {}: could not relay {} to the {} leg", txn.call->log.callId, status,
                   to.side == Side::A ? "caller's" : "trunk's");
    }
    return;
  }
  if (msg) msg_destroy(msg);
  nta_incoming_treply(txn.irq, status, phrase, TAG_END());  // at least the status goes back
}

bool SipRelay::sendAck(nta_leg_t* leg, uint32_t cseq, const sip_t* ack) const {
  if (leg == nullptr) return false;
  msg_t* msg = nta_msg_create(agent_, 0);
  if (msg == nullptr) return false;
  su_home_t* home = msg_home(msg);
  bool ok = insert(msg, sip_cseq_create(home, cseq, SIP_METHOD_ACK));
  if (ok && ack && ack->sip_payload) {  // late offer: the SDP answer rides on the ACK
    if (ack->sip_content_type) ok = insert(msg, sip_content_type_dup(home, ack->sip_content_type));
    if (ok) ok = insert(msg, sip_payload_dup(home, ack->sip_payload));
  }
  if (ok) ok = nta_msg_request_complete(msg, leg, SIP_METHOD_ACK, nullptr) >= 0;
  // Stateless: a stateful ACK would sit in nta's trying queue, its message with it, for 64*T1.
  nta_outgoing_t* orq = ok ? nta_outgoing_mcreate(agent_, nullptr, nullptr, nullptr, msg,
                                                  NTATAG_STATELESS(1), TAG_END())
                           : nullptr;
  if (orq == nullptr) {
    msg_destroy(msg);
    return false;
  }
  nta_outgoing_destroy(orq);  // ACK has no transaction to wait for
  return true;
}

}  // namespace sos::proxy
