#include "model/location.h"

#include <initializer_list>

namespace sos::model {

namespace {

// Appends the non-empty parts joined by `sep`, with `sep` before the first when `out` already
// holds text.
void appendJoined(std::string& out, std::initializer_list<const std::string*> parts,
                  const char* sep) {
  for (const std::string* p : parts) {
    if (p->empty()) continue;
    if (!out.empty()) out += sep;
    out += *p;
  }
}

void appendLabelled(std::string& out, const char* label, const std::string& value) {
  if (value.empty()) return;
  if (!out.empty()) out += ", ";
  out += label;
  out += ' ';
  out += value;
}

}  // namespace

// Written the way a US/UK dispatcher reads an address: street line, then the parts that make it
// dispatchable (RAY BAUM'S Act: building, floor, unit, room), then town, region and postcode,
// country. The RFC 5139 labels are kept for the in-building parts so "FLR 2" cannot be misread
// as a house number.
std::string CivicAddress::oneLine() const {
  std::string out;
  appendJoined(out, {&nam}, ", ");

  // RFC 5139 section 3.1: HNO HNS, then PRM PRD RD STS POD POM make one street line
  // ("100 Old N Main St SW Extended").
  std::string street;
  appendJoined(street, {&hno, &hns, &prm, &prd, &rd, &sts, &pod, &pom}, " ");
  appendJoined(out, {&street, &rdsec, &rdbr, &rdsubbr}, ", ");
  if (!pobox.empty()) appendLabelled(out, "PO Box", pobox);

  appendLabelled(out, "BLD", bld);
  appendLabelled(out, "FLR", flr);
  appendLabelled(out, "UNIT", unit);
  appendLabelled(out, "ROOM", room);
  appendLabelled(out, "SEAT", seat);
  appendJoined(out, {&loc, &lmk}, ", ");

  // Town: A3 (city), else the postal community name, else A2 (county); A4 is a city division.
  const std::string& town = !a3.empty() ? a3 : (!pcn.empty() ? pcn : a2);
  appendJoined(out, {&a4, &town}, ", ");
  // "IL 62701" as one part; without a region the postcode follows the town ("London EC1A 1AA").
  std::string region;
  appendJoined(region, {&a1, &pc}, " ");
  if (a1.empty() && !pc.empty() && !town.empty()) {
    out += ' ';
    out += pc;
  } else {
    appendJoined(out, {&region}, ", ");
  }
  appendJoined(out, {&country}, ", ");
  return out;
}

}  // namespace sos::model
