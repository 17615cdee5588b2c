#pragma once
// Flags for copyEndToEnd (proxy/sip_edge.h); apart so that code without Sofia can use them.

namespace sos::proxy {

// What an emergency INVITE replaces instead of copying (issue 4).
enum CopySkip : unsigned {
  kCopyAll = 0,
  kSkipBody = 1u << 0,         // Content-Type and body: a new (multipart) body goes in
  kSkipIdentity = 1u << 1,     // P-Asserted-Identity: the ELIN stands in
  kSkipGeolocation = 1u << 2,  // Geolocation and Geolocation-Routing: rewritten (RFC 6442)
  kSkipBodyHeaders = 1u << 3,  // Content-Disposition, -Encoding, -Language: they went into the
                               // part that wraps the caller's body
  kSkipLongUnknown = 1u << 4,  // unknown headers over kLongHeader bytes: an INVITE trimmed to
                               // fit one UDP datagram (issue 14)
};

inline constexpr unsigned kLongHeader = 1024;

}  // namespace sos::proxy
