#pragma once
// Internal to pidf/: the RFC 5139 civic address elements (the builder walks them to emit
// elements in schema order, the parser looks elements up by local name) and the namespaces.

#include <array>
#include <string>
#include <string_view>

#include "model/civic_fields.h"

namespace sos::pidf::detail {

// The element table is the model's (model/civic_fields.h).
using model::CivicField;
using model::kCivicFields;

// Namespaces (RFC 3863, 4479, 4119, 5139; OGC GML 3.1.1 and the PIDF-LO shape profile).
inline constexpr std::string_view kNsPidf = "urn:ietf:params:xml:ns:pidf";
inline constexpr std::string_view kNsDataModel = "urn:ietf:params:xml:ns:pidf:data-model";
inline constexpr std::string_view kNsGeopriv = "urn:ietf:params:xml:ns:pidf:geopriv10";
inline constexpr std::string_view kNsBasicPolicy =
    "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy";
inline constexpr std::string_view kNsCivicAddr = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";
// RFC 4119 section 2.2.1's original civic namespace, superseded by RFC 5139 but still sent.
inline constexpr std::string_view kNsCivicLoc = "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc";
inline constexpr std::string_view kNsGml = "http://www.opengis.net/gml";
// The GML 3.0 namespace of RFC 4119 section 2.3's example.
inline constexpr std::string_view kNsGml30 =
    "urn:opengis:specification:gml:schema-xsd:feature:v3.0";
inline constexpr std::string_view kNsGeoShape = "http://www.opengis.net/pidflo/1.0";

inline constexpr std::string_view kSrsWgs84_2d = "urn:ogc:def:crs:EPSG::4326";
inline constexpr std::string_view kUomMetre = "urn:ogc:def:uom:EPSG::9001";

}  // namespace sos::pidf::detail
