#include "proxy/stateless_relay.h"

#include <openssl/params.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <cctype>
#include <charconv>
#include <random>
#include <vector>

#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

constexpr std::string_view kBranchPrefix = "z9hG4bKsl";
constexpr const char* kMarker = "sosrelay";  // the Record-Route's parameter that names the relay

// What a request without a branch is known by (RFC 2543 clients): its Call-ID and CSeq number.
std::string branchOf(const sip_via_t* via, const sip_t* sip) {
  if (via != nullptr && via->v_branch != nullptr) return via->v_branch;
  std::string id = sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
  if (sip->sip_cseq) id += " " + std::to_string(sip->sip_cseq->cs_seq);
  return id;
}

// The same for a message read as bytes.
std::string branchOf(const wire::Via& via, const wire::Message& m) {
  if (!via.branch.empty()) return std::string(via.branch);
  const wire::Header* id = m.first(wire::Kind::CallId);
  const wire::Header* cseq = m.first(wire::Kind::CSeq);
  return std::string(id ? id->value : "") + " " +
         std::string(wire::cseqNumber(cseq ? cseq->value : ""));
}

bool sameText(const char* a, const std::string& b) {
  return a != nullptr && strcasecmp(a, b.c_str()) == 0;
}

// Counts Max-Forwards down (RFC 3261 16.6 step 3); false when it is already 0.
bool countDown(msg_t* msg, sip_t* sip) {
  sip_max_forwards_t* mf = sip->sip_max_forwards;
  if (mf == nullptr) {
    // Inserted among the headers (a header added by tags would follow the body).
    auto* made = sip_max_forwards_make(msg_home(msg), "70");
    return made != nullptr &&
           sip_header_insert(msg, sip, reinterpret_cast<sip_header_t*>(made)) >= 0;
  }
  if (mf->mf_count == 0) return false;
  --mf->mf_count;
  sip_fragment_clear(mf->mf_common);
  return true;
}

void removeAll(msg_t* msg, sip_t* sip, const std::vector<sip_header_t*>& headers) {
  for (sip_header_t* h : headers) sip_header_remove(msg, sip, h);
}

std::string randomKey() {
  std::random_device rd;
  std::string key;
  for (int i = 0; i < 8; ++i) {
    const uint32_t word = rd();
    key.append(reinterpret_cast<const char*>(&word), sizeof word);
  }
  return key;
}

}  // namespace

RelayMac::RelayMac(std::string_view key) {
  unsigned char k[16] = {};
  for (size_t i = 0; i < key.size(); ++i) k[i % 16] ^= static_cast<unsigned char>(key[i]);
  mac_ = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  ctx_ = mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr;
  size_t size = 8;
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t("size", &size),
                               OSSL_PARAM_construct_end()};
  if (ctx_ != nullptr && EVP_MAC_init(ctx_, k, sizeof k, params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (ctx_ == nullptr) {
    spdlog::error(
        "relay: OpenSSL gave no SipHash: no response and no dialog request is taken as the "
        "relay's");
  }
}

RelayMac::~RelayMac() {
  EVP_MAC_CTX_free(ctx_);
  EVP_MAC_free(mac_);
}

std::string RelayMac::hex16(std::string_view text) const {
  unsigned char out[8];
  size_t length = 0;
  // Initialised again with the key given at first.
  if (ctx_ == nullptr || EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1 ||
      EVP_MAC_final(ctx_, out, &length, sizeof out) != 1 || length != 8)
    return {};  // no branch or token of this relay's is ever empty: matches nothing
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (size_t i = 0; i < 8; ++i) {
    hex[2 * i] = kHex[out[i] >> 4U];
    hex[2 * i + 1] = kHex[out[i] & 15U];
  }
  return hex;
}

std::string relayBranch(const RelayMac& mac, std::string_view incoming) {
  std::string text = "branch\n";
  text.append(incoming);
  return std::string(kBranchPrefix) + mac.hex16(text);
}

bool isRelayBranch(const RelayMac& mac, std::string_view branch, std::string_view incoming) {
  return branch.size() == kBranchPrefix.size() + 16 && branch.starts_with(kBranchPrefix) &&
         strncasecmp(branch.data(), relayBranch(mac, incoming).c_str(), branch.size()) == 0;
}

StatelessRelay::StatelessRelay(nta_agent_t* agent, std::string host, std::string port,
                               const RelayTap& tap, Counts counts)
    : agent_(agent),
      host_(std::move(host)),
      port_(std::move(port)),
      tap_(tap),
      counts_(counts),
      mac_(randomKey()) {}

std::string StatelessRelay::recordRoute(std::string_view token) const {
  std::string rr = "<sip:" + uriHost(host_) + ":" + port_ + ";lr;" + kMarker;
  if (!token.empty()) rr.append(";tok=").append(token);
  return rr + ">";
}

std::string StatelessRelay::dialogToken(Toward toward, std::string_view callId,
                                        std::string_view host, std::string_view port) const {
  std::string text = toward == Toward::Phone ? "to-phone\n" : "to-carrier\n";
  text.append(callId);
  text.push_back('\n');
  for (char c : bareHost(host)) text.push_back(static_cast<char>(tolower(c)));
  text.push_back(':');
  text.append(port.empty() ? std::string_view("5060") : port);
  return mac_.hex16(text);
}

bool StatelessRelay::tokenAllows(const wire::Message& m, Toward toward, std::string_view host,
                                 std::string_view port) const {
  const wire::Header* route = m.first(wire::Kind::Route);
  const wire::Header* callId = m.first(wire::Kind::CallId);
  wire::Uri u;
  if (route == nullptr || callId == nullptr ||
      !wire::parseUri(wire::splitFirst(route->value).first, u))
    return false;
  const std::string_view token = u.param("tok");
  return token.size() == 16 && token == dialogToken(toward, callId->value, host, port);
}

std::string StatelessRelay::answerersRecordRoute(const wire::Message& m) const {
  const wire::Header* cseq = m.first(wire::Kind::CSeq);
  const wire::Header* contact = m.first(wire::Kind::Contact);
  const wire::Header* rr = m.first(wire::Kind::RecordRoute);
  const wire::Header* callId = m.first(wire::Kind::CallId);
  if (m.status <= 100 || m.status >= 300 || cseq == nullptr || contact == nullptr ||
      rr == nullptr || callId == nullptr || wire::cseqMethod(cseq->value) != "INVITE")
    return {};
  wire::Uri ours;
  wire::Uri answerer;
  if (!wire::parseUri(wire::splitFirst(rr->value).first, ours) || !ours.hasParam(kMarker) ||
      bareHost(ours.host) != bareHost(host_) || ours.port != port_ ||
      !wire::parseUri(wire::splitFirst(contact->value).first, answerer))
    return {};
  return recordRoute(dialogToken(Toward::Carrier, callId->value, answerer.host, answerer.port));
}

std::string StatelessRelay::viaValue(std::string_view branch) const {
  std::string v = "SIP/2.0/UDP " + uriHost(host_) + ":" + port_ + ";branch=";
  v.append(branch);
  return v;
}

int StatelessRelay::forwardInitial(msg_t* msg, sip_t* sip, const std::string& host, uint16_t port,
                                   const Unvouched& drop) {
  // A Route naming sosproxy (a phone's outbound proxy setting) has done its work.
  if (sip->sip_route && sameText(sip->sip_route->r_url->url_host, host_))
    sip_header_remove(msg, sip, reinterpret_cast<sip_header_t*>(sip->sip_route));
  std::vector<sip_header_t*> gone;
  if (drop.identity) {
    for (auto* h = sip_p_asserted_identity(sip); h != nullptr; h = h->paid_next)
      gone.push_back(reinterpret_cast<sip_header_t*>(h));
  }
  if (drop.networkMark) {
    // The first P-Access-Network-Info takes the values without the mark, in its place; the
    // others go.
    bool first = true;
    for (sip_unknown_t* u = sip->sip_unknown; u != nullptr; u = u->un_next) {
      if (u->un_name == nullptr || strcasecmp(u->un_name, "P-Access-Network-Info") != 0) continue;
      if (first && !drop.accessNetworkInfo.empty()) {
        u->un_value = su_strdup(msg_home(msg), drop.accessNetworkInfo.c_str());
        sip_fragment_clear(u->un_common);
      } else {
        gone.push_back(reinterpret_cast<sip_header_t*>(u));
      }
      first = false;
    }
  }
  removeAll(msg, sip, gone);
  const bool invite = sip->sip_request->rq_method == sip_method_invite;
  const std::string branch = relayBranch(mac_, branchOf(sip->sip_via, sip));
  if (!countDown(msg, sip)) {
    if (sip->sip_request->rq_method == sip_method_ack) {
      msg_destroy(msg);
    } else {
      nta_msg_treply(agent_, msg, SIP_483_TOO_MANY_HOPS, TAG_END());
    }
    return 483;
  }
  // The message as Sofia writes it (the sender's Via with nta's received and rport), then
  // sosproxy's Via and Record-Route on top.
  size_t len = 0;
  char* text = sip_complete_message(msg) < 0 ? nullptr
               : msg_serialize(msg, reinterpret_cast<msg_pub_t*>(sip)) < 0
                   ? nullptr
                   : msg_as_string(msg_home(msg), msg, reinterpret_cast<msg_pub_t*>(sip), 0, &len);
  wire::Message m;
  const char* why = nullptr;
  if (text == nullptr || !wire::parse(std::string_view(text, len), m, &why)) {
    spdlog::warn("relay: {} {} could not be written ({})", sip->sip_request->rq_method_name,
                 sip->sip_call_id ? sip->sip_call_id->i_id : "?", why ? why : "out of memory");
    msg_destroy(msg);
    return 0;
  }
  const std::string via = viaValue(branch);
  wire::RequestEdits edits;
  edits.via = via;
  std::string recordRouteValue;
  if (invite) {
    // The caller's Contact: where the answerer's requests of the dialog will go.
    const url_t* contact = sip->sip_contact ? sip->sip_contact->m_url : nullptr;
    recordRouteValue = recordRoute(
        contact != nullptr && contact->url_host != nullptr && sip->sip_call_id != nullptr
            ? dialogToken(Toward::Phone, sip->sip_call_id->i_id, contact->url_host,
                          contact->url_port ? contact->url_port : "")
            : "");
    edits.recordRoute = recordRouteValue;
  }
  wire::forwardRequest(m, edits, out_);
  counts_.initial.fetch_add(1, std::memory_order_relaxed);
  if (!tap_.send(out_, host, port))
    spdlog::debug("relay: {} could not be sent on", sip->sip_request->rq_method_name);
  msg_destroy(msg);
  return 0;
}

bool StatelessRelay::routedHere(const wire::Message& m) const {
  const wire::Header* route = m.first(wire::Kind::Route);
  wire::Uri u;
  return route != nullptr && wire::parseUri(wire::splitFirst(route->value).first, u) &&
         u.hasParam(kMarker) && bareHost(u.host) == bareHost(host_) &&
         (u.port.empty() ? port_ == "5060" : u.port == port_);
}

bool StatelessRelay::nextHop(const wire::Message& m, std::string_view& host,
                             std::string_view& port) {
  // The Route after ours: the rest of its header line, or the next Route line.
  std::string_view next;
  if (const wire::Header* ours = m.first(wire::Kind::Route)) {
    next = wire::splitFirst(wire::splitFirst(ours->value).rest).first;
    for (size_t i = static_cast<size_t>(ours - m.headers.data()) + 1; i < m.count && next.empty();
         ++i) {
      if (m.headers[i].kind == wire::Kind::Route) next = wire::splitFirst(m.headers[i].value).first;
    }
  }
  wire::Uri u;
  if (!next.empty() && wire::parseUri(next, u) && u.hasParam("lr")) {
    host = u.host;
    port = u.port;
    return true;
  }
  if (!wire::parseUri(m.uri, u)) return false;
  host = u.host;
  port = u.port;
  return true;
}

StatelessRelay::SenderVia StatelessRelay::senderVia(const wire::Message& m, const Peer& from) {
  SenderVia s;
  const wire::Header* top = m.first(wire::Kind::Via);
  wire::Via via;
  if (top == nullptr || !wire::parseVia(wire::splitFirst(top->value).first, via)) return s;
  if (via.received.empty() && bareHost(via.host) != from.ip) s.suffix = ";received=" + from.ip;
  if (via.rport && via.rportValue.empty()) s.rport = std::to_string(from.port);
  return s;
}

int StatelessRelay::forwardInDialog(const wire::Message& m, const Peer& from, std::string_view host,
                                    uint16_t port) {
  // Max-Forwards counted down (RFC 3261 16.6 step 3); at 0, 483.
  std::string maxForwards = "70";
  if (const wire::Header* mf = m.first(wire::Kind::MaxForwards)) {
    unsigned long n = 0;
    const auto [end, ec] =
        std::from_chars(mf->value.data(), mf->value.data() + mf->value.size(), n);
    if (ec != std::errc() || n == 0) {
      if (m.method != "ACK") answer(m, from, 483, "Too Many Hops");
      return 483;
    }
    maxForwards = std::to_string(n - 1);
  }
  const wire::Header* top = m.first(wire::Kind::Via);
  wire::Via via;
  if (top != nullptr) (void)wire::parseVia(wire::splitFirst(top->value).first, via);
  const std::string ourVia = viaValue(relayBranch(mac_, branchOf(via, m)));
  const SenderVia sender = senderVia(m, from);
  wire::RequestEdits edits;
  edits.via = ourVia;
  edits.topViaSuffix = sender.suffix;
  edits.rportValue = sender.rport;
  edits.popRoute = true;
  edits.maxForwards = maxForwards;
  wire::forwardRequest(m, edits, out_);
  counts_.inDialog.fetch_add(1, std::memory_order_relaxed);
  if (!tap_.send(out_, host, port)) spdlog::debug("relay: {} could not be sent on", m.method);
  return 0;
}

std::string_view StatelessRelay::secondVia(const wire::Message& m) {
  const wire::Header* first = m.first(wire::Kind::Via);
  if (first == nullptr) return {};
  std::string_view next = wire::splitFirst(wire::splitFirst(first->value).rest).first;
  for (size_t i = static_cast<size_t>(first - m.headers.data()) + 1; i < m.count && next.empty();
       ++i) {
    if (m.headers[i].kind == wire::Kind::Via) next = wire::splitFirst(m.headers[i].value).first;
  }
  return next;
}

bool StatelessRelay::sentByUs(const wire::Message& m) const {
  const wire::Header* first = m.first(wire::Kind::Via);
  wire::Via ours;
  if (first == nullptr || !wire::parseVia(wire::splitFirst(first->value).first, ours) ||
      ours.branch.substr(0, kBranchPrefix.size()) != kBranchPrefix ||
      bareHost(ours.host) != bareHost(host_) || (ours.port.empty() ? "5060" : ours.port) != port_)
    return false;
  wire::Via below;
  if (!wire::parseVia(secondVia(m), below)) return false;
  return isRelayBranch(mac_, ours.branch, branchOf(below, m));
}

void StatelessRelay::forwardResponse(const wire::Message& m) {
  wire::Via below;
  // RFC 3261 18.2.2 and RFC 3581: to the received address and the rport when the Via has them.
  if (!wire::parseVia(secondVia(m), below) ||
      strcasecmp(std::string(below.transport).c_str(), "UDP") != 0) {
    spdlog::debug("relay: a {} response's next Via is no UDP one", m.status);
    return;
  }
  const std::string_view host = below.received.empty() ? below.host : below.received;
  const std::string_view portText =
      !below.rportValue.empty() ? below.rportValue : (below.port.empty() ? "5060" : below.port);
  unsigned port = 0;
  std::from_chars(portText.data(), portText.data() + portText.size(), port);
  wire::forwardResponse(m, out_, answerersRecordRoute(m));
  counts_.responses.fetch_add(1, std::memory_order_relaxed);
  if (port == 0 || port > 65535 || !tap_.send(out_, host, static_cast<uint16_t>(port)))
    spdlog::debug("relay: a {} response could not be sent on", m.status);
}

void StatelessRelay::answer(const wire::Message& m, const Peer& from, int status,
                            std::string_view phrase) {
  const SenderVia sender = senderVia(m, from);
  wire::answer(m, status, phrase, sender.suffix, sender.rport, out_);
  // To the source and its port: where a phone behind NAT, and any UDP sender, hears it.
  tap_.send(out_, from.ip, from.port);
}

}  // namespace sos::proxy
