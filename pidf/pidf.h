#pragma once
// PIDF-LO: building the location object sosproxy sends with an emergency call, and reading the
// one a phone sent (RFC 4119, RFC 5491, RFC 5139; multipart bodies per RFC 6442 section 3).
//
// Emit strictly, parse leniently: what buildPidfLo() writes validates against the official
// schemas (pidf/schemas/pidf-lo-all.xsd); parsePidfLo() accepts the schema-invalid bodies real
// phones send and turns a hostile or broken one into "no usable device location", never into an
// error that could refuse the call (docs/ARCHITECTURE.md, "The one rule above all others").
// Pure functions, no I/O, no shared state: callable from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/location.h"
#include "pidf/multipart.h"

namespace sos::pidf {

// ---- Building ----

struct PidfOptions {
  std::string entity;     // presence entity, "pres:1001@sosproxy" (RFC 3863 section 4.1.1)
  std::string deviceId;   // dm:device/@id, an XML ID (NCName); sanitized if it is not one
  std::string deviceUri;  // dm:deviceID, e.g. "mac:0004f2001001" (RFC 4479 section 3.2);
                          // empty: the location is given for a dm:person instead, because the
                          // data-model schema makes dm:deviceID mandatory inside dm:device
  std::string method;     // IANA location-method token (RFC 4119 section 6.1); an unregistered
                          // token is left out (gp:method is optional) rather than sent
  bool retransmissionAllowed = false;  // RFC 4119 section 2.2.2
  int64_t timestampMs = 0;             // Unix time of the location, milliseconds
  std::optional<int64_t> retentionExpiryMs;
  std::optional<double> radiusMeters;  // uncertainty: a gs:Circle instead of a gml:Point
};

// The method tokens of the IANA "Method Tokens" registry created by RFC 4119 section 6.1 (the
// seven it pre-registers). RFC 5491's examples use "Wiremap", which was never registered.
bool isRegisteredMethod(std::string_view token);

// A whole PIDF-LO document (RFC 5491 section 3: dm:device > gp:geopriv > location-info,
// usage-rules, method; then dm:deviceID and dm:timestamp). The civic address carries only its
// non-empty fields, in schema order; coordinates, when the location has both, become a
// gml:Point or (with radiusMeters) a gs:Circle in WGS 84, latitude first (RFC 5491 section 5.2).
std::string buildPidfLo(const model::Location& location, const PidfOptions& options);

// RFC 3339 UTC timestamp ("2024-05-01T12:00:00.123Z") for xs:dateTime fields.
std::string formatTimestamp(int64_t unixMs);

// ---- Parsing ----

struct DeviceLocation {
  bool usable = false;  // a civic address with country and one more field, or a valid lat/lon
  std::optional<model::CivicAddress> civic;
  std::optional<double> latitude, longitude, radiusMeters;
  std::string method;
  std::optional<bool> retransmissionAllowed;
  std::vector<std::string> problems;  // why it is not usable, and what was tolerated
};

inline constexpr size_t kMaxPidfBytes = size_t{64} * 1024;
inline constexpr int kMaxPidfDepth = 32;

// Never throws. No DTD, no entities, no network; bodies over kMaxPidfBytes or nested deeper
// than kMaxPidfDepth are refused as unusable. Elements are matched by namespace URI, in any
// order, in RFC 4119 (tuple/status) and RFC 5491 (device/person) layouts, with GML 3.0 forms.
DeviceLocation parsePidfLo(std::string_view xml);

}  // namespace sos::pidf
