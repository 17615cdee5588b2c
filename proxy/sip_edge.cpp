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

bool skippedToo(msg_header_t const* h, unsigned skip) {
  if ((skip & kSkipIdentity) && h->sh_class == sip_p_asserted_identity_class) return true;
  if ((skip & kSkipGeolocation) && h->sh_class == sip_unknown_class) {
    char const* name = reinterpret_cast<sip_unknown_t const*>(h)->un_name;
    return name &&
           (strcasecmp(name, "Geolocation") == 0 || strcasecmp(name, "Geolocation-Routing") == 0);
  }
  return false;
}

}  // namespace

bool copyEndToEnd(msg_t* dst, sip_t* dstSip, msg_t* src, unsigned skip) {
  if (src == nullptr) return true;
  su_home_t* home = msg_home(dst);
  sip_t const* srcSip = sip_object(src);
  for (msg_header_t* h = *msg_chain_head(src); h != nullptr; h = h->sh_succ) {
    if (skipped(h) || skippedToo(h, skip)) continue;
    // Unknown headers (Geolocation, P-Access-Network-Info, ...) travel as they came.
    msg_header_t* copy = msg_header_dup_one(home, h);
    if (copy == nullptr || msg_header_insert(dst, reinterpret_cast<msg_pub_t*>(dstSip), copy) < 0)
      return false;
  }
  if (srcSip && srcSip->sip_payload && !(skip & kSkipBody)) {
    auto* ct =
        srcSip->sip_content_type ? sip_content_type_dup(home, srcSip->sip_content_type) : nullptr;
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

namespace {

bool typeIs(msg_content_type_t const* ct, char const* type) {
  return ct && ct->c_type && strcasecmp(ct->c_type, type) == 0;
}

std::string unbracket(char const* id) {
  std::string s = str(id);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return s;
}

// Splits the body into SDP and PIDF-LO parts. Sofia parses the multipart; a multipart type
// without a body crashes Debian's Sofia (msg_multipart_parse with no payload), hence the check.
void splitBody(sip_t const* sip, routing::CallRequest& r) {
  sip_payload_t const* pl = sip->sip_payload;
  msg_content_type_t const* ct = sip->sip_content_type;
  if (pl == nullptr || pl->pl_len == 0 || ct == nullptr || ct->c_type == nullptr) return;
  if (typeIs(ct, "application/sdp")) {
    r.sdpContentType = ct->c_type;
    r.sdp.assign(pl->pl_data, pl->pl_len);
    return;
  }
  if (typeIs(ct, "application/pidf+xml")) {
    r.pidfParts.push_back({"", std::string(pl->pl_data, pl->pl_len)});
    return;
  }
  if (strncasecmp(ct->c_type, "multipart/", 10) != 0) return;
  su_home_t home[1] = {SU_HOME_INIT(home)};
  for (msg_multipart_t* part = msg_multipart_parse(home, ct, const_cast<sip_payload_t*>(pl));
       part != nullptr; part = part->mp_next) {
    if (part->mp_payload == nullptr) continue;
    std::string text(part->mp_payload->pl_data, part->mp_payload->pl_len);
    if (typeIs(part->mp_content_type, "application/sdp") && r.sdp.empty()) {
      r.sdpContentType = part->mp_content_type->c_type;
      r.sdp = std::move(text);
    } else if (typeIs(part->mp_content_type, "application/pidf+xml")) {
      r.pidfParts.push_back(
          {part->mp_content_id ? unbracket(part->mp_content_id->g_string) : "", std::move(text)});
    }
  }
  su_home_deinit(home);
}

}  // namespace

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
  if (sip->sip_contact) {
    r.contactHost = str(sip->sip_contact->m_url->url_host);
    r.contactUri = urlToString(sip->sip_contact->m_url);
  }
  r.psapCallback = sip->sip_priority && sip->sip_priority->g_string &&
                   strcasecmp(sip->sip_priority->g_string, "psap-callback") == 0;
  splitBody(sip, r);
  r.hasPidfBody = !r.pidfParts.empty();
  r.sourceAddress = sourceAddress(msg);
  r.transport = sourceTransport(msg);
  for (sip_unknown_t const* u = sip->sip_unknown; u; u = u->un_next) {
    if (!u->un_name || !u->un_value) continue;
    if (strcasecmp(u->un_name, "P-Access-Network-Info") == 0) {
      if (!r.pAccessNetworkInfo.empty()) r.pAccessNetworkInfo += ", ";
      r.pAccessNetworkInfo += u->un_value;
    } else if (strcasecmp(u->un_name, "Geolocation") == 0) {
      r.geolocation.emplace_back(u->un_value);
    } else if (strcasecmp(u->un_name, "Geolocation-Routing") == 0) {
      r.geolocationRouting = u->un_value;
    }
  }
  return r;
}

std::string uriHost(std::string const& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

std::string nextHopFor(config::Trunk const& t) {
  return "sip:" + uriHost(t.host) + ":" + std::to_string(t.port) +
         ";transport=" + std::string(config::toString(t.transport));
}

}  // namespace sos::proxy
