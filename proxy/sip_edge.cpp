#include "proxy/sip_edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <array>
#include <cctype>
#include <cstring>
#include <string_view>

namespace sos::proxy {

std::string urlToString(url_t const* url) {
  if (url == nullptr) return {};
  std::array<char, 1024> buf{};
  // url_e returns the length it needs; a longer URL is rare enough to allocate for.
  isize_t n = url_e(buf.data(), buf.size(), url);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  url_e(big.data(), big.size(), url);
  big.resize(static_cast<size_t>(n));
  return big;
}

std::string sourceAddress(msg_t* msg, unsigned* port) {
  su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  if (ai == nullptr || ai->ai_addr == nullptr) return {};
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (ai->ai_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text.data(), text.size());
    if (port) *port = ntohs(sin6->sin6_port);
  } else if (ai->ai_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
    inet_ntop(AF_INET, &sin->sin_addr, text.data(), text.size());
    if (port) *port = ntohs(sin->sin_port);
  }
  return text.data();
}

std::string sourceTransport(msg_t* msg) {
  su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  if (ai != nullptr && ai->ai_protocol == IPPROTO_TCP) return "tcp";
  return "udp";
}

namespace {

std::string str(char const* s) { return s ? std::string(s) : std::string(); }

bool skipped(msg_header_t const* h) {
  msg_hclass_t const* c = h->sh_class;
  // Not headers, or rebuilt for each message: start line, body, its length and type (the body
  // and its type are copied separately), and headers that failed to parse.
  if (c == sip_request_class || c == sip_status_class || c == sip_separator_class ||
      c == sip_payload_class || c == sip_content_length_class || c == sip_content_type_class ||
      c == sip_error_class)
    return true;
  // Hop-by-hop and dialog state: each leg has its own.
  if (c == sip_via_class || c == sip_route_class || c == sip_record_route_class ||
      c == sip_contact_class || c == sip_call_id_class || c == sip_cseq_class ||
      c == sip_from_class || c == sip_to_class || c == sip_max_forwards_class ||
      c == sip_rseq_class || c == sip_rack_class)
    return true;
  // Extensions each leg negotiates for itself (100rel, session timers).
  if (c == sip_supported_class || c == sip_require_class || c == sip_proxy_require_class ||
      c == sip_unsupported_class || c == sip_session_expires_class || c == sip_min_se_class)
    return true;
  // Credentials belong to the hop they were made for.
  return c == sip_authorization_class || c == sip_proxy_authorization_class;
}

}  // namespace

bool copyEndToEnd(msg_t* dst, sip_t* dstSip, msg_t* src) {
  if (src == nullptr) return true;
  su_home_t* home = msg_home(dst);
  sip_t const* srcSip = sip_object(src);
  for (msg_header_t* h = *msg_chain_head(src); h != nullptr; h = h->sh_succ) {
    if (skipped(h)) continue;
    // Unknown headers (Geolocation, P-Access-Network-Info, ...) travel as they came.
    msg_header_t* copy = msg_header_dup_one(home, h);
    if (copy == nullptr || msg_header_insert(dst, reinterpret_cast<msg_pub_t*>(dstSip), copy) < 0)
      return false;
  }
  if (srcSip && srcSip->sip_payload) {
    auto* ct = srcSip->sip_content_type
                   ? sip_content_type_dup(home, srcSip->sip_content_type)
                   : nullptr;
    auto* pl = sip_payload_dup(home, srcSip->sip_payload);
    if (pl == nullptr) return false;
    if (ct && msg_header_insert(dst, reinterpret_cast<msg_pub_t*>(dstSip),
                                reinterpret_cast<msg_header_t*>(ct)) < 0)
      return false;
    if (msg_header_insert(dst, reinterpret_cast<msg_pub_t*>(dstSip),
                          reinterpret_cast<msg_header_t*>(pl)) < 0)
      return false;
  }
  return true;
}

routing::CallRequest toCallRequest(msg_t* msg, sip_t const* sip) {
  routing::CallRequest r;
  if (sip->sip_call_id) r.callId = str(sip->sip_call_id->i_id);
  if (sip->sip_request) r.requestUri = urlToString(sip->sip_request->rq_url);
  if (sip->sip_from) {
    r.fromUri = urlToString(sip->sip_from->a_url);
    r.fromUser = str(sip->sip_from->a_url->url_user);
    r.fromDisplay = str(sip->sip_from->a_display);
  }
  if (auto* pai = sip_p_asserted_identity(sip)) {
    r.paiUri = urlToString(pai->paid_url);
    r.paiUser = str(pai->paid_url->url_user);
  }
  if (sip->sip_contact) r.contactHost = str(sip->sip_contact->m_url->url_host);
  // A location the device put in the request itself (RFC 6442): kept as the caller's own.
  if (sip->sip_content_type && sip->sip_content_type->c_type && sip->sip_payload) {
    std::string_view type(sip->sip_content_type->c_type);
    std::string_view body(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
    auto lower = [](std::string_view v) {
      std::string out(v);
      for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return out;
    };
    std::string const t = lower(type);
    r.hasPidfBody = t == "application/pidf+xml" ||
                    (t.rfind("multipart/", 0) == 0 &&
                     lower(body.substr(0, 64 * 1024)).find("application/pidf+xml") !=
                         std::string::npos);
  }
  r.sourceAddress = sourceAddress(msg);
  r.transport = sourceTransport(msg);
  for (sip_unknown_t const* u = sip->sip_unknown; u; u = u->un_next) {
    if (!u->un_name || !u->un_value) continue;
    if (strcasecmp(u->un_name, "P-Access-Network-Info") == 0) {
      if (!r.pAccessNetworkInfo.empty()) r.pAccessNetworkInfo += ", ";
      r.pAccessNetworkInfo += u->un_value;
    } else if (strcasecmp(u->un_name, "Geolocation") == 0) {
      r.geolocation.emplace_back(u->un_value);
    }
  }
  return r;
}

}  // namespace sos::proxy
