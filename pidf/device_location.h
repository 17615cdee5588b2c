#pragma once
// Does the caller's INVITE carry a location a PSAP can use (RFC 6442 sections 3 and 4)? The
// answer decides what reaches the PSAP: a usable device location goes there byte for byte and is
// never overridden; an unusable one (not well-formed, empty, a position "0 0", a cid: that names
// no body part, a reference sosproxy does not fetch) stays in the body and sosproxy's own
// PIDF-LO is added beside it. Pure; callable from any thread.

#include <string>
#include <vector>

#include "pidf/geolocation.h"
#include "pidf/pidf.h"

namespace sos::pidf {

// One application/pidf+xml body part of the INVITE, at any depth of its multipart.
struct LocationPart {
  std::string contentId;  // without angle brackets, "" when the part has none
  std::string text;       // the document, its transfer encoding undone
};

enum class DeviceLocationState {
  None,      // no Geolocation header and no PIDF-LO part
  Usable,    // a location by value that names a place (DeviceLocation::usable)
  Unusable,  // something was sent, but nothing a PSAP could dispatch to
};

struct DeviceLocationCheck {
  DeviceLocationState state = DeviceLocationState::None;
  // Usable: what it says and where ("civic US, IL, Springfield, 100 Main St, FLR 2 in part
  // <loc1@phone.example>"); Unusable: every reason, "; "-separated.
  std::string summary;
  DeviceLocation location;  // the usable one (Usable only)
  std::string contentId;    // of the usable part
};

// The first usable location named by a cid: value of the Geolocation header, in header order.
// A PIDF-LO part that no value names is not conveyed to the PSAP (RFC 6442 section 3) and does
// not count, however good. Each document is parsed once.
DeviceLocationCheck checkDeviceLocation(const std::vector<GeolocationValue>& geolocation,
                                        const std::vector<LocationPart>& parts);

// "civic US, IL, Springfield, 100 Main St, FLR 2" or "point 41.88, -87.63 (radius 30 m)".
std::string describe(const DeviceLocation& location);

}  // namespace sos::pidf
