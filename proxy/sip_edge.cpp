#include "proxy/sip_edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string_view>

#include "pidf/multipart.h"

namespace sos::proxy {

std::string urlToString(const url_t* url) {
  if (url == nullptr) return {};
  std::array<char, 1024> buf{};
  // url_e returns the length it needs; a longer URL is rare enough to allocate for.
  isize_t n = url_e(buf.data(), buf.size(), url);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  url_e(big.data(), static_cast<isize_t>(big.size()), url);
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
  if (ai == nullptr || ai->ai_protocol != IPPROTO_TCP) return "udp";
  // TLS runs over TCP: the connection's sender names it in its Via (SIP/2.0/TLS). It chooses
  // only our Contact toward it and the log's word, never trust.
  const sip_t* sip = sip_object(msg);
  const sip_via_t* via = sip ? sip->sip_via : nullptr;
  if (via && via->v_protocol && strcasecmp(via->v_protocol, "SIP/2.0/TLS") == 0) return "tls";
  return "tcp";
}

namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

bool skipped(const msg_header_t* h) {
  const msg_hclass_t* c = h->sh_class;
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

bool skippedToo(const msg_header_t* h, unsigned skip) {
  if ((skip & kSkipLongUnknown) && h->sh_class == sip_unknown_class) {
    const auto* u = reinterpret_cast<const sip_unknown_t*>(h);
    if (u->un_value && std::strlen(u->un_value) > kLongHeader) return true;
  }
  if ((skip & kSkipIdentity) && h->sh_class == sip_p_asserted_identity_class) return true;
  if ((skip & kSkipBodyHeaders) &&
      (h->sh_class == sip_content_disposition_class || h->sh_class == sip_content_encoding_class ||
       h->sh_class == sip_content_language_class))
    return true;
  if (h->sh_class == sip_unknown_class && (skip & (kSkipGeolocation | kSkipAccessNetworkInfo))) {
    const char* name = reinterpret_cast<const sip_unknown_t*>(h)->un_name;
    if (name == nullptr) return false;
    if ((skip & kSkipGeolocation) &&
        (strcasecmp(name, "Geolocation") == 0 || strcasecmp(name, "Geolocation-Routing") == 0))
      return true;
    return (skip & kSkipAccessNetworkInfo) && strcasecmp(name, "P-Access-Network-Info") == 0;
  }
  return false;
}

}  // namespace

namespace {

// Headers Sofia does not parse itself that are relayed (issue 14: what leaves toward a PSAP or
// the carrier comes from an explicit list). Headers Sofia parses are relayed when they parsed
// (a header that did not is of sip_error_class and never copied), written anew by Sofia.
constexpr std::array<std::string_view, 24> kRelayedUnknown{"Geolocation",
                                                           "Geolocation-Routing",
                                                           "Geolocation-Error",
                                                           "P-Access-Network-Info",
                                                           "P-Preferred-Identity",
                                                           "P-Charging-Vector",
                                                           "P-Called-Party-ID",
                                                           "P-Early-Media",
                                                           "P-Emergency-Info",
                                                           "History-Info",
                                                           "Diversion",
                                                           "Resource-Priority",
                                                           "Accept-Resource-Priority",
                                                           "Session-ID",
                                                           "User-to-User",
                                                           "Identity",
                                                           "Identity-Info",
                                                           "Feature-Caps",
                                                           "Recv-Info",
                                                           "Info-Package",
                                                           "Privacy",
                                                           "Reason",
                                                           "Call-Info",
                                                           "Alert-Info"};

constexpr size_t kMaxHeaderBytes = 2048;  // a longer header is not relayed

bool tokenName(const char* name) {
  if (name == nullptr || *name == '\0') return false;
  for (const char* c = name; *c; ++c) {
    const unsigned char u = static_cast<unsigned char>(*c);
    if (!std::isalnum(u) && std::string_view("-.!%*_+`'~").find(*c) == std::string_view::npos)
      return false;
  }
  return true;
}

// An unknown header goes on when its name is on the list or starts with "X-", the name is a
// token, and the value is printable text of a sane length (RFC 3261 25.1: no control characters
// but tab).
bool relayedUnknown(const sip_unknown_t* u) {
  if (!tokenName(u->un_name) || u->un_value == nullptr) return false;
  const std::string_view name(u->un_name);
  const bool listed =
      (name.size() > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-') ||
      std::any_of(kRelayedUnknown.begin(), kRelayedUnknown.end(),
                  [&](std::string_view n) { return strcasecmp(n.data(), u->un_name) == 0; });
  if (!listed) return false;
  size_t length = 0;
  for (const char* c = u->un_value; *c; ++c, ++length) {
    const unsigned char ch = static_cast<unsigned char>(*c);
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f || length > kMaxHeaderBytes) return false;
  }
  return name.size() + length <= kMaxHeaderBytes;
}

}  // namespace

bool copyEndToEnd(msg_t* dst, sip_t* dstSip, msg_t* src, unsigned skip, size_t* dropped) {
  if (src == nullptr) return true;
  su_home_t* home = msg_home(dst);
  const sip_t* srcSip = sip_object(src);
  for (msg_header_t* h = *msg_chain_head(src); h != nullptr; h = h->sh_succ) {
    if (skipped(h) || skippedToo(h, skip)) continue;
    // The PSAP's shield: unknown headers from the list only, nothing oversized.
    const bool unknown = h->sh_class == sip_unknown_class;
    if ((unknown && !relayedUnknown(reinterpret_cast<const sip_unknown_t*>(h))) ||
        (!unknown && h->sh_len > kMaxHeaderBytes)) {
      if (dropped) ++*dropped;
      continue;
    }
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

// One header as it would be written, without its name and line end ("multipart/mixed;
// boundary=b1"), or the whole line with `withName` ("Content-Disposition: session\r\n").
std::string encoded(const msg_header_t* h, bool withName) {
  if (h == nullptr) return {};
  std::array<char, 512> buf{};
  isize_t n = msg_header_e(buf.data(), buf.size(), h, 0);
  std::string line;
  if (n > 0 && static_cast<size_t>(n) < buf.size()) {
    line.assign(buf.data(), static_cast<size_t>(n));
  } else if (n > 0) {
    line.resize(static_cast<size_t>(n) + 1);
    msg_header_e(line.data(), static_cast<isize_t>(line.size()), h, 0);
    line.resize(static_cast<size_t>(n));
  }
  if (withName) return line;
  size_t colon = line.find(':');
  std::string_view v = colon == std::string::npos ? std::string_view(line)
                                                  : std::string_view(line).substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
  return std::string(v);
}

// Keeps the body as it came and finds in it the SDP and any PIDF-LO parts, nested multiparts
// included (pidf/multipart.h; Sofia's own multipart parser empties the message's payload).
void splitBody(const sip_t* sip, routing::CallRequest& r) {
  const sip_payload_t* pl = sip->sip_payload;
  if (pl == nullptr || pl->pl_data == nullptr || pl->pl_len == 0) return;
  r.body.assign(pl->pl_data, pl->pl_len);
  for (const auto* h : {reinterpret_cast<const msg_header_t*>(sip->sip_content_disposition),
                        reinterpret_cast<const msg_header_t*>(sip->sip_content_encoding),
                        reinterpret_cast<const msg_header_t*>(sip->sip_content_language)})
    r.bodyHeaders += encoded(h, true);
  const msg_content_type_t* ct = sip->sip_content_type;
  if (ct == nullptr || ct->c_type == nullptr) return;
  r.bodyContentType = encoded(reinterpret_cast<const msg_header_t*>(ct), false);
  if (strcasecmp(ct->c_type, "application/sdp") == 0) {  // the common case, without a copy more
    r.sdpContentType = "application/sdp";
    r.sdp = r.body;
    return;
  }
  const pidf::MimeEntity root = pidf::parseBody(r.bodyContentType, r.body);
  for (const pidf::MimeEntity* e : pidf::flatten(root)) {
    if (e->multipart) {
      if (!e->wellFormed && r.bodyProblem.empty()) r.bodyProblem = e->problem;
      continue;
    }
    if (e->contentType == "application/sdp" && r.sdp.empty()) {
      r.sdpContentType = e->contentType;
      r.sdp = pidf::decodedContent(*e);
    } else if (e->contentType == "application/pidf+xml") {
      r.pidfParts.push_back({e->contentId, pidf::decodedContent(*e)});
    }
  }
}

}  // namespace

routing::CallRequest toCallRequest(msg_t* msg, const sip_t* sip) {
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
  if (sip->sip_max_forwards) r.maxForwards = sip->sip_max_forwards->mf_count;
  r.psapCallback = sip->sip_priority && sip->sip_priority->g_string &&
                   strcasecmp(sip->sip_priority->g_string, "psap-callback") == 0;
  splitBody(sip, r);
  r.sourceAddress = sourceAddress(msg);
  r.transport = sourceTransport(msg);
  for (const sip_unknown_t* u = sip->sip_unknown; u; u = u->un_next) {
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

// RFC 3261 18.2.2 sends responses to a Via's maddr; RFC 3581 to where the request came from.
bool dropMaddr(sip_t* sip) {
  if (sip->sip_via == nullptr || sip->sip_via->v_maddr == nullptr) return false;
  msg_header_remove_param(sip->sip_via->v_common, "maddr");
  return true;
}

std::string uriHost(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

std::string nextHopFor(const config::Trunk& t) {
  if (t.transport == config::Transport::Tls && !t.tlsName.empty()) {
    // The certificate is checked against the URI's host, the connection goes to maddr.
    return "sip:" + t.tlsName + ":" + std::to_string(t.port) +
           ";transport=tls;maddr=" + uriHost(t.host);
  }
  return "sip:" + uriHost(t.host) + ":" + std::to_string(t.port) +
         ";transport=" + std::string(config::toString(t.transport));
}

EdgeMethod edgeMethod(sip_method_t method) {
  switch (method) {
    case sip_method_invite:
      return EdgeMethod::Invite;
    case sip_method_ack:
      return EdgeMethod::Ack;
    case sip_method_options:
      return EdgeMethod::Options;
    case sip_method_bye:
    case sip_method_cancel:
    case sip_method_update:
    case sip_method_info:
    case sip_method_prack:
      return EdgeMethod::NoDialog;
    case sip_method_register:
    case sip_method_message:
    case sip_method_subscribe:
    case sip_method_notify:
    case sip_method_publish:
    case sip_method_refer:
      return EdgeMethod::NotAllowed;
    default:
      return EdgeMethod::Unknown;
  }
}

}  // namespace sos::proxy
