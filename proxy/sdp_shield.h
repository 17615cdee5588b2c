#pragma once
// The PSAP's shield for session descriptions (issue 14): what leaves toward a PSAP or the carrier
// is well-formed by construction. The caller's SDP (RFC 4566) is read line by line; every line
// that is well-formed for its type is written again as it was, every other one is left out, and
// the description is ended with CRLFs. One that cannot be made whole (no v=0, no o=, no media
// line) is replaced by a minimal offer built from what could be read (its connection address
// and audio port), or by none. Pure: no Sofia, no I/O; callable from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sos::proxy {

inline constexpr size_t kMaxSdpBytes = size_t{16} * 1024;  // longer: the rest is left out
inline constexpr size_t kMaxSdpLine = 1024;                // a longer line is left out
inline constexpr size_t kMaxSdpLines = 256;

struct ShieldedSdp {
  enum class Kind {
    Unchanged,  // every line well-formed: `sdp` is the input (line ends made CRLF)
    Cleaned,    // some lines left out: `dropped` says which
    Minimal,    // the input could not be made whole; `sdp` is a minimal audio offer
    None,       // nothing usable: send no offer
  };
  Kind kind = Kind::Unchanged;
  std::string sdp;
  std::vector<std::string> dropped;  // "line 7: a=rtpmap:x (rtpmap not <pt> <name>/<rate>)"
};

ShieldedSdp shieldSdp(std::string_view sdp);

// A request's body with its session description shielded: the body itself when it is SDP, or
// each top-level application/sdp part of a multipart/mixed (every other byte of the body kept).
// A part that cannot be made whole is left out. `changed` false: send the body as it came.
struct ShieldedBody {
  bool changed = false;
  std::string contentType;  // of the new body ("" when no body is left)
  std::string body;
  std::string sdp;                 // the session description the body now carries, "" for none
  std::vector<std::string> notes;  // what was left out or replaced, for the operational log
};
ShieldedBody shieldBody(std::string_view contentType, std::string_view body);

}  // namespace sos::proxy
