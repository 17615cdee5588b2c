#pragma once
// Is this call an emergency call? Recognizes a site's dial strings (with or without the
// outside-line prefix), test numbers, and urn:service:sos with its sub-services
// (RFC 5031: case-insensitive), urn:service:test.sos as a test call. Pure.

#include <string>
#include <string_view>

#include "config/config.h"

namespace sos::routing {

struct DialedNumber {
  std::string scheme;  // "sip", "sips", "tel", "urn", or "" for a bare number
  std::string user;    // the user part / tel number / urn, without parameters
};

// Splits a Request-URI into scheme and the dialed user part ("sip:9911;phone-context=x@h" ->
// {"sip", "9911"}; "tel:+1-217-555" -> {"tel", "+1217555"} (visual separators removed);
// "urn:service:SOS.fire" -> {"urn", "urn:service:sos.fire"} (lower-cased)).
DialedNumber parseDialed(std::string_view requestUri);

struct EmergencyMatch {
  bool emergency = false;
  bool test = false;        // a test call (933, urn:service:test.sos)
  std::string dialed;       // the dialed string as received (user part or urn)
  std::string normalized;   // what was matched: "911" (prefix removed), "urn:service:sos.fire"
  std::string matchedSite;  // the site whose dial string matched; empty for urn
};

// `callerSite` is tried first; other sites' dial strings count too (a visitor dialing the
// number of home is still calling for help), reported through matchedSite.
EmergencyMatch classify(std::string_view requestUri, const config::Site& callerSite,
                        const config::Config& config);

}  // namespace sos::routing
