#pragma once
// The RFC 5139 civic address elements, in the order of the schema's xs:sequence (section 4),
// each with the model::CivicAddress member that holds it. The names are the RFC's own spelling,
// which the seed file, the API's JSON and the PIDF-LO all use.

#include <array>
#include <string>
#include <string_view>

#include "model/location.h"

namespace sos::model {

struct CivicField {
  std::string_view element;           // local name in the civicAddr namespace
  std::string CivicAddress::*member;  // where the value lives
};

inline constexpr std::array<CivicField, 31> kCivicFields{{
    {"country", &CivicAddress::country}, {"A1", &CivicAddress::a1},
    {"A2", &CivicAddress::a2},           {"A3", &CivicAddress::a3},
    {"A4", &CivicAddress::a4},           {"A5", &CivicAddress::a5},
    {"A6", &CivicAddress::a6},           {"PRM", &CivicAddress::prm},
    {"PRD", &CivicAddress::prd},         {"RD", &CivicAddress::rd},
    {"STS", &CivicAddress::sts},         {"POD", &CivicAddress::pod},
    {"POM", &CivicAddress::pom},         {"RDSEC", &CivicAddress::rdsec},
    {"RDBR", &CivicAddress::rdbr},       {"RDSUBBR", &CivicAddress::rdsubbr},
    {"HNO", &CivicAddress::hno},         {"HNS", &CivicAddress::hns},
    {"LMK", &CivicAddress::lmk},         {"LOC", &CivicAddress::loc},
    {"FLR", &CivicAddress::flr},         {"NAM", &CivicAddress::nam},
    {"PC", &CivicAddress::pc},           {"BLD", &CivicAddress::bld},
    {"UNIT", &CivicAddress::unit},       {"ROOM", &CivicAddress::room},
    {"SEAT", &CivicAddress::seat},       {"PLC", &CivicAddress::plc},
    {"PCN", &CivicAddress::pcn},         {"POBOX", &CivicAddress::pobox},
    {"ADDCODE", &CivicAddress::addcode},
}};

}  // namespace sos::model
