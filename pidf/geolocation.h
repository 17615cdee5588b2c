#pragma once
// The Geolocation and Geolocation-Routing header fields (RFC 6442 sections 4.1 and 4.2; the
// loc-src parameter of RFC 8787). Untrusted input: parsed leniently, bounded, never asserted on.
// Pure; callable from any thread.

#include <string>
#include <string_view>
#include <vector>

namespace sos::pidf {

struct GeolocationValue {
  std::string uri;     // as written between < and >, e.g. "cid:loc1@phone.example"
  bool isCid = false;  // a cid: URL (RFC 2392): the location is a body part of this request
  std::string cid;     // the Content-ID it names, without "cid:" and percent-decoded
  std::string locSrc;  // RFC 8787 loc-src parameter: who inserted the value, "" if absent
};

// One header value, or several joined by commas. Values that do not parse are skipped; at most
// 16 values and 4 KiB of input are considered.
std::vector<GeolocationValue> parseGeolocation(std::string_view value);

// RFC 6442 section 4.2: only "yes" (any case) allows routing on the location; an absent header,
// "no" and any other value forbid it.
bool geolocationRoutingAllowed(std::string_view headerValue);

}  // namespace sos::pidf
