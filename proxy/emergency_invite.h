#pragma once
// What an emergency INVITE carries toward a PSAP trunk (issue 4), decided from the trunk's mode,
// the resolved location and what the device already sent. Pure: no Sofia, no I/O, no clock.
//
// - pidf / both: the PIDF-LO goes by value in a multipart/mixed body next to the SDP, referenced
//   by `Geolocation: <cid:...>;loc-src=HOST` (RFC 6442 section 3-4, RFC 8787) with
//   `Geolocation-Routing: yes` (never raised from a device's "no"). A usable location the device
//   sent is kept and not overridden; an unusable one stays in the body and its Geolocation value
//   after ours.
// - elin / both: the From user and P-Asserted-Identity become the location's ELIN.

#include <cstdint>
#include <string>

#include "config/config.h"
#include "routing/call_request.h"
#include "routing/location_resolver.h"

namespace sos::proxy {

struct EmergencyInvite {
  unsigned skip = 0;  // CopySkip flags (proxy/copy_skip.h): what is not copied from the caller
  std::string contentType;   // with kSkipBody: the new body's type
  std::string body;          // with kSkipBody
  std::string extraHeaders;  // CRLF-separated header lines to add ("Geolocation: ...")
  std::string elin;          // non-empty: From user and P-Asserted-Identity become this
  std::string pidf;          // "added", "device-kept", "device-by-reference", or "" (not sent)
};

struct EmergencyInputs {
  config::TrunkMode mode = config::TrunkMode::Plain;
  const model::Location* location = nullptr;  // from the resolver; null only without data
  const routing::CallRequest* request = nullptr;
  std::string elin;    // chosen by the ELIN allocator (elin / both modes); may be empty
  std::string host;    // our host name or address, for the Content-ID
  std::string locSrc;  // our host name, for loc-src (RFC 8787); `host` when empty
  std::string entity;  // PIDF presence entity, "pres:1001@host"
  std::string method;  // location method token for gp:method
  int64_t nowMs = 0;
  uint64_t seed = 0;  // makes the boundary and Content-ID unique per call
};

EmergencyInvite planEmergencyInvite(const EmergencyInputs& in);

}  // namespace sos::proxy
