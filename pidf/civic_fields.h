#pragma once
// The RFC 5139 civic address elements, in the order of the schema's xs:sequence (section 4),
// paired with the model::CivicAddress member that holds each. Internal to pidf/: the builder
// walks it to emit elements in schema order, the parser to look elements up by local name.

#include <array>
#include <string>
#include <string_view>

#include "model/location.h"

namespace sos::pidf::detail {

struct CivicField {
  std::string_view element;                  // local name in the civicAddr namespace
  std::string model::CivicAddress::*member;  // where the value lives
};

using CA = model::CivicAddress;

inline constexpr std::array<CivicField, 31> kCivicFields{{
    {"country", &CA::country}, {"A1", &CA::a1},       {"A2", &CA::a2},
    {"A3", &CA::a3},           {"A4", &CA::a4},       {"A5", &CA::a5},
    {"A6", &CA::a6},           {"PRM", &CA::prm},     {"PRD", &CA::prd},
    {"RD", &CA::rd},           {"STS", &CA::sts},     {"POD", &CA::pod},
    {"POM", &CA::pom},         {"RDSEC", &CA::rdsec}, {"RDBR", &CA::rdbr},
    {"RDSUBBR", &CA::rdsubbr}, {"HNO", &CA::hno},     {"HNS", &CA::hns},
    {"LMK", &CA::lmk},         {"LOC", &CA::loc},     {"FLR", &CA::flr},
    {"NAM", &CA::nam},         {"PC", &CA::pc},       {"BLD", &CA::bld},
    {"UNIT", &CA::unit},       {"ROOM", &CA::room},   {"SEAT", &CA::seat},
    {"PLC", &CA::plc},         {"PCN", &CA::pcn},     {"POBOX", &CA::pobox},
    {"ADDCODE", &CA::addcode},
}};

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
