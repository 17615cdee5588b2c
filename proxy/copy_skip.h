#pragma once
// Flags for copyEndToEnd (proxy/sip_edge.h); apart so that code without Sofia can use them.

namespace sos::proxy {

// What an INVITE toward a trunk replaces instead of copying (issues 4 and 14).
enum CopySkip : unsigned {
  kCopyAll = 0,
  kSkipBody = 1u << 0,         // Content-Type and body: a new (multipart) body goes in
  kSkipIdentity = 1u << 1,     // P-Asserted-Identity: the ELIN stands in, or the source may
                               // not assert one (pbx_sources)
  kSkipGeolocation = 1u << 2,  // Geolocation and Geolocation-Routing: rewritten (RFC 6442)
  kSkipBodyHeaders = 1u << 3,  // Content-Disposition, -Encoding, -Language: they went into the
                               // part that wraps the caller's body
  kSkipAccessNetworkInfo = 1u << 4,  // P-Access-Network-Info: rewritten without a
                                     // network-provided mark the source may not make (issue 14)
  kSkipLongUnknown = 1u << 5,        // unknown headers over kLongHeader bytes: an INVITE trimmed to
                                     // fit one UDP datagram (issue 14)
};

inline constexpr unsigned kLongHeader = 1024;

}  // namespace sos::proxy
