// Requests too large for one UDP datagram toward a UDP trunk (issue 14). sosproxy sets nta's
// UDP MTU to 65535 so that nta never moves a request to TCP on its own (a trunk that does not
// take TCP would cost the call 5 s: SOFIA-NOTES 4.2); an INVITE over about 64 KB (a big PIDF-LO,
// a long header) then could not be sent at all, and every UDP trunk answered it with a local
// 503. Now:
// - a trunk with tcp_fallback takes every request over 1300 bytes over TCP, as RFC 3261 18.1.1
//   wants when the path MTU is unknown;
// - otherwise an emergency INVITE that cannot fit is trimmed to what the PSAP needs: the SDP,
//   sosproxy's PIDF-LO by value (pidf and both trunks) and the ELIN (elin and both trunks);
//   the caller's other body parts, their Geolocation values and unknown headers over 1 KB stay
//   behind. The call goes on; the routing log and a warning say so.
// An ordinary call is not trimmed: its body is the caller's business.
// SIP thread only, like the rest of B2bua.

#include <spdlog/spdlog.h>

#include <cstring>

#include "proxy/b2bua.h"
#include "proxy/copy_skip.h"

namespace sos::proxy {

namespace {

// RFC 3261 18.1.1: with the path MTU unknown, a request over 1300 bytes goes over a congestion
// controlled transport.
constexpr size_t kTcpAbove = 1300;
// What one UDP datagram can carry (65535 less the IPv4 and UDP headers), less room for what
// sosproxy writes itself (Via, Contact, Max-Forwards, identity).
constexpr size_t kUdpLimit = 65507 - 1024;

bool longUnknown(const msg_header_t* h) {
  if (h->sh_class != sip_unknown_class) return false;
  const auto* u = reinterpret_cast<const sip_unknown_t*>(h);
  return u->un_value && std::strlen(u->un_value) > kLongHeader;
}

// The size of the INVITE send() would build from the caller's `request` and `rewrite`, within
// a few hundred bytes: the caller's header lines as received, its body unless replaced, and
// what the rewrite adds.
size_t estimatedSize(msg_t* request, const EmergencyInvite& rewrite) {
  size_t n = 0;
  if (request) {
    for (const msg_header_t* h = *msg_chain_head(request); h; h = h->sh_succ) {
      if (h->sh_class == sip_payload_class) {
        if (!(rewrite.skip & kSkipBody)) n += reinterpret_cast<const sip_payload_t*>(h)->pl_len;
        continue;
      }
      if ((rewrite.skip & kSkipLongUnknown) && longUnknown(h)) continue;
      n += h->sh_len ? h->sh_len : 128;
    }
  }
  return n + rewrite.contentType.size() + rewrite.body.size() + rewrite.extraHeaders.size();
}

}  // namespace

bool B2bua::sendOverTcp(Call& call, const config::Trunk& trunk, EmergencyInvite& rewrite) {
  if (trunk.transport != config::Transport::Udp || !call.plan) return false;
  Call::Plan& p = *call.plan;
  const size_t size = estimatedSize(p.request, rewrite);
  if (trunk.tcpFallback && size > kTcpAbove) {
    counters_.edge.oversizeOverTcp.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("call {}: INVITE of about {} bytes to {} goes over TCP (tcp_fallback)",
                  call.log.callId, size, trunk.name);
    return true;
  }
  if (size <= kUdpLimit) return false;
  if (!p.emergency()) {
    spdlog::warn(
        "call {}: INVITE of about {} bytes cannot go to UDP trunk {} in one datagram "
        "and the trunk has no tcp_fallback",
        call.log.callId, size, trunk.name);
    return false;
  }
  // The caller's body goes, ours stays: the request as if the caller had sent the SDP alone.
  routing::CallRequest slim = p.req;
  slim.body = p.req.sdp;
  slim.bodyContentType = p.req.sdpContentType;
  slim.bodyHeaders.clear();
  slim.pidfParts.clear();
  slim.geolocation.clear();
  std::string const elin = rewrite.elin;  // already given to this attempt
  EmergencyInvite trimmed;
  if (trunk.mode != config::TrunkMode::Plain)
    trimmed = planInvite(trunk, p, slim, pidf::DeviceLocationCheck{}, call.log,
                         elin.empty() ? nullptr : &elin);
  trimmed.skip |= kSkipBody | kSkipBodyHeaders | kSkipGeolocation | kSkipLongUnknown;
  if (trimmed.body.empty()) {  // no location by value on this trunk: the SDP alone
    trimmed.contentType = p.req.sdpContentType;
    trimmed.body = p.req.sdp;
  }
  const size_t after = estimatedSize(p.request, trimmed);
  rewrite = std::move(trimmed);
  counters_.edge.oversizeTrimmed.fetch_add(1, std::memory_order_relaxed);
  std::string const note =
      "INVITE of about " + std::to_string(size / 1024) + " KB too large for UDP trunk " +
      trunk.name + " (no tcp_fallback): trimmed to about " + std::to_string(after / 1024) +
      " KB (SDP" + (rewrite.pidf.empty() ? std::string() : ", sosproxy's PIDF-LO") +
      (rewrite.elin.empty() ? std::string() : ", ELIN") + ")";
  spdlog::warn("call {}: {}", call.log.callId, note);
  call.log.reason += (call.log.reason.empty() ? "" : "; ") + note;
  return false;
}

}  // namespace sos::proxy
