#pragma once
// What an emergency INVITE carries toward a PSAP trunk (issue 4), decided from the trunk's mode,
// the resolved location and what the device already sent. Pure: no Sofia, no I/O, no clock.
//
// - pidf / both: a usable location the device sent (pidf/device_location.h) goes to the PSAP
//   as it came, byte for byte, and is not overridden (RFC 6442 section 3, RFC 8787 section 3).
//   Otherwise our PIDF-LO goes by value in a multipart/mixed body (RFC 6442 section 3),
//   referenced by `Geolocation: <cid:...>;loc-src=HOST` (RFC 8787) with `Geolocation-Routing:
//   yes` (never raised from a device's "no"); whatever the caller's body held stays in it, every
//   byte: our part is added to its multipart/mixed, or the body is wrapped as the first part of
//   a new one. The device's Geolocation values follow ours.
// - elin / both: the From user and P-Asserted-Identity become the location's ELIN.

#include <cstdint>
#include <string>

#include "config/config.h"
#include "pidf/device_location.h"
#include "routing/call_request.h"
#include "routing/location_resolver.h"

namespace sos::proxy {

struct EmergencyInvite {
  unsigned skip = 0;  // CopySkip flags (proxy/copy_skip.h): what is not copied from the caller
  std::string contentType;   // with kSkipBody: the new body's type
  std::string body;          // with kSkipBody
  std::string extraHeaders;  // CRLF-separated header lines to add ("Geolocation: ...")
  std::string elin;          // non-empty: From user and P-Asserted-Identity become this
  // "added", "added-beside-device" (the device's own was unusable and stays), "device-kept",
  // or "" (no location sent by us: not a PIDF-LO trunk)
  std::string pidf;
};

struct EmergencyInputs {
  config::TrunkMode mode = config::TrunkMode::Plain;
  const model::Location* location = nullptr;  // from the resolver; null only without data
  const routing::CallRequest* request = nullptr;
  const pidf::DeviceLocationCheck* device = nullptr;  // what the caller sent; null: nothing
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
