// Parsing PIDF-LO from phones: the RFC examples (data/, see data/README.md) and broken bodies
// (data/broken/, each named for what is wrong with it). A broken body is never an error: it is
// "no usable device location" with a reason, and the call goes on.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "pidf/pidf.h"

namespace sos::pidf {
namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(SOS_PIDF_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool mentions(const DeviceLocation& l, const std::string& words) {
  return std::any_of(l.problems.begin(), l.problems.end(),
                     [&](const std::string& p) { return p.find(words) != std::string::npos; });
}

std::string problems(const DeviceLocation& l) {
  std::string out;
  for (const auto& p : l.problems) out += "[" + p + "] ";
  return out;
}

// ---- RFC examples ----

TEST(PidfParseRfc, Rfc4119GeodeticExampleInGml30WithDegreesMinutesSeconds) {
  DeviceLocation l = parsePidfLo(data("rfc4119-2.3-geodetic-gml30.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  // 37:46:30N 122:25:10W, San Francisco.
  EXPECT_NEAR(*l.latitude, 37.775, 1e-6);
  EXPECT_NEAR(*l.longitude, -(122 + 25.0 / 60 + 10.0 / 3600), 1e-6);
  EXPECT_EQ(l.retransmissionAllowed, false);  // "no", RFC 4119's pre-schema spelling
  EXPECT_TRUE(mentions(l, "GML 3.0"));
}

TEST(PidfParseRfc, Rfc4119CivicExampleInTheCivicLocNamespace) {
  DeviceLocation l = parsePidfLo(data("rfc4119-2.3-civic-civicloc.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  ASSERT_TRUE(l.civic);
  EXPECT_EQ(l.civic->country, "US");
  EXPECT_EQ(l.civic->a1, "New York");
  EXPECT_EQ(l.civic->a6, "Broadway");
  EXPECT_EQ(l.civic->hno, "123");
  EXPECT_EQ(l.civic->loc, "Suite 75");
  EXPECT_EQ(l.civic->pc, "10027-0401");
  EXPECT_EQ(l.retransmissionAllowed, true);
  EXPECT_TRUE(mentions(l, "civicLoc"));
}

TEST(PidfParseRfc, Rfc5491CompoundPointAndFloor) {
  DeviceLocation l = parsePidfLo(data("rfc5491-3.2-fig2-compound.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_DOUBLE_EQ(*l.latitude, -43.5723);
  EXPECT_DOUBLE_EQ(*l.longitude, 153.2176);
  ASSERT_TRUE(l.civic);
  EXPECT_EQ(l.civic->flr, "2");
  EXPECT_EQ(l.method, "Wiremap");
  EXPECT_FALSE(l.retransmissionAllowed);  // <gp:usage-rules/>: nothing said
}

TEST(PidfParseRfc, Rfc5491DeviceWinsOverPerson) {
  DeviceLocation l = parsePidfLo(data("rfc5491-3.4-fig3-device-and-person.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  ASSERT_TRUE(l.civic);
  EXPECT_EQ(l.civic->country, "AU");
  EXPECT_EQ(l.civic->a3, "Wollongong");  // white space collapsed (xs:token)
  EXPECT_EQ(l.civic->a4, "North Wollongong");
  EXPECT_EQ(l.civic->lmk, "Gilligan's Island");
  EXPECT_EQ(l.civic->nam, "Video Rental Store");
  EXPECT_EQ(l.civic->plc, "store");
  EXPECT_EQ(l.method, "GPS");
  EXPECT_FALSE(l.latitude) << "the person's circle is a last resort (RFC 5491 rule #8)";
}

TEST(PidfParseRfc, Rfc5491PersonCircleWhenItIsTheOnlyLocation) {
  std::string doc = data("rfc5491-3.4-fig3-device-and-person.xml");
  size_t from = doc.find("<dm:device");
  size_t to = doc.find("</dm:device>") + std::string("</dm:device>").size();
  doc.erase(from, to - from);
  DeviceLocation l = parsePidfLo(doc);
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_DOUBLE_EQ(*l.latitude, -34.410649);
  EXPECT_DOUBLE_EQ(*l.longitude, 150.87651);
  EXPECT_EQ(l.radiusMeters, 30);
  EXPECT_EQ(l.method, "Manual");
}

TEST(PidfParseRfc, Rfc5491Points2dAnd3d) {
  DeviceLocation p2 = parsePidfLo(data("rfc5491-5.2.1-fig4-point-2d.xml"));
  ASSERT_TRUE(p2.usable) << problems(p2);
  EXPECT_DOUBLE_EQ(*p2.latitude, -34.407);
  EXPECT_DOUBLE_EQ(*p2.longitude, 150.883);
  EXPECT_TRUE(p2.problems.empty()) << problems(p2);
  DeviceLocation p3 = parsePidfLo(data("rfc5491-5.2.1-fig5-point-3d.xml"));
  ASSERT_TRUE(p3.usable) << problems(p3);
  EXPECT_DOUBLE_EQ(*p3.latitude, -34.407);
  EXPECT_DOUBLE_EQ(*p3.longitude, 150.883);
}

TEST(PidfParseRfc, Rfc5491PolygonInATupleGivesItsCentre) {
  DeviceLocation l = parsePidfLo(data("rfc5491-5.2.2-fig7-polygon.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_NEAR(*l.latitude, 259.666 / 6, 1e-9);  // mean of the six distinct vertices
  EXPECT_NEAR(*l.longitude, -73.272, 1e-9);
  EXPECT_TRUE(mentions(l, "Polygon"));
}

// ---- broken bodies ----

TEST(PidfParseBroken, not_well_formed) {
  DeviceLocation l = parsePidfLo(data("broken/not_well_formed.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "not well-formed")) << problems(l);
}

TEST(PidfParseBroken, doctype_entity_expansion) {
  DeviceLocation l = parsePidfLo(data("broken/doctype_entity_expansion.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "DTD not allowed")) << problems(l);
}

TEST(PidfParseBroken, external_entity) {
  DeviceLocation l = parsePidfLo(data("broken/external_entity.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_FALSE(l.civic) << "nothing of the document is used";
  EXPECT_TRUE(mentions(l, "DTD not allowed")) << problems(l);
}

TEST(PidfParseBroken, doctype_without_internal_subset) {
  std::string doc = data("rfc5491-5.2.1-fig4-point-2d.xml");
  doc.insert(0, "<!DOCTYPE presence SYSTEM \"file:///etc/passwd\">\n");
  DeviceLocation l = parsePidfLo(doc);
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "DTD not allowed")) << problems(l);
}

TEST(PidfParseBroken, too_deep) {
  DeviceLocation l = parsePidfLo(data("broken/too_deep.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "too deep")) << problems(l);
}

TEST(PidfParseBroken, too_large) {
  std::string doc = data("rfc5491-5.2.1-fig4-point-2d.xml");
  doc.insert(doc.find("<dm:device"), "<!--" + std::string(kMaxPidfBytes, 'x') + "-->");
  DeviceLocation l = parsePidfLo(doc);
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "body too large")) << problems(l);
}

TEST(PidfParseBroken, no_location_info) {
  DeviceLocation l = parsePidfLo(data("broken/no_location_info.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "no location-info")) << problems(l);
}

TEST(PidfParseBroken, wrong_element_order) {
  DeviceLocation l = parsePidfLo(data("broken/wrong_element_order.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_EQ(l.civic->country, "US");
  EXPECT_EQ(l.civic->hno, "100");
  EXPECT_EQ(l.civic->flr, "2");
  EXPECT_EQ(l.retransmissionAllowed, true);
  EXPECT_EQ(l.method, "Manual");
  EXPECT_TRUE(mentions(l, "geopriv elements out of order")) << problems(l);
  EXPECT_TRUE(mentions(l, "civic elements out of schema order")) << problems(l);
}

TEST(PidfParseBroken, missing_usage_rules) {
  DeviceLocation l = parsePidfLo(data("broken/missing_usage_rules.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_EQ(l.civic->a3, "London");
  EXPECT_FALSE(l.retransmissionAllowed);
  EXPECT_TRUE(mentions(l, "usage-rules missing")) << problems(l);
}

TEST(PidfParseBroken, gml_3_0_coordinates) {
  DeviceLocation l = parsePidfLo(data("broken/gml_3_0_coordinates.xml"));
  ASSERT_TRUE(l.usable) << problems(l);
  EXPECT_DOUBLE_EQ(*l.latitude, 39.7817);
  EXPECT_DOUBLE_EQ(*l.longitude, -89.6501);
  EXPECT_TRUE(mentions(l, "gml:coordinates")) << problems(l);
  EXPECT_TRUE(mentions(l, "short srsName")) << problems(l);
}

TEST(PidfParseBroken, lat_out_of_range) {
  DeviceLocation l = parsePidfLo(data("broken/lat_out_of_range.xml"));
  EXPECT_FALSE(l.usable);
  EXPECT_FALSE(l.latitude);
  EXPECT_TRUE(mentions(l, "latitude out of range")) << problems(l);
}

TEST(PidfParseBroken, empty_body) {
  for (std::string_view body : {std::string_view(), std::string_view(" \r\n\t ")}) {
    DeviceLocation l = parsePidfLo(body);
    EXPECT_FALSE(l.usable);
    EXPECT_TRUE(mentions(l, "empty body")) << problems(l);
  }
}

TEST(PidfParseBroken, binary_garbage) {
  std::string junk;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245 + 12345;
    junk += static_cast<char>(x >> 24);
  }
  junk[0] = '\0';
  DeviceLocation l = parsePidfLo(junk);
  EXPECT_FALSE(l.usable);
  EXPECT_FALSE(l.problems.empty());
}

TEST(PidfParseBroken, civic_with_country_only) {
  DeviceLocation l = parsePidfLo(
      "<presence xmlns='urn:ietf:params:xml:ns:pidf' "
      "xmlns:gp='urn:ietf:params:xml:ns:pidf:geopriv10'"
      " xmlns:ca='urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr' entity='pres:a@b'><tuple id='t'>"
      "<status><gp:geopriv><gp:location-info><ca:civicAddress><ca:country>US</ca:country>"
      "</ca:civicAddress></gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple>"
      "</presence>");
  EXPECT_FALSE(l.usable);
  EXPECT_TRUE(mentions(l, "lacks country or any other field")) << problems(l);
}

TEST(PidfParseBroken, prefixes_do_not_matter_namespaces_do) {
  // Same document with other prefixes: still read. Right prefixes, wrong namespace: not read.
  std::string doc = data("rfc5491-5.2.1-fig4-point-2d.xml");
  std::string renamed = doc;
  for (auto [from, to] : {std::pair<std::string, std::string>{"gp:", "g:"},
                          {"xmlns:gp", "xmlns:g"},
                          {"gml:", "x:"},
                          {"xmlns:gml", "xmlns:x"}}) {
    for (size_t at = renamed.find(from); at != std::string::npos; at = renamed.find(from, at)) {
      renamed.replace(at, from.size(), to);
      at += to.size();
    }
  }
  EXPECT_TRUE(parsePidfLo(renamed).usable) << renamed;
  std::string wrongNs = doc;
  wrongNs.replace(wrongNs.find("http://www.opengis.net/gml"), 26, "http://example.com/notgml");
  EXPECT_FALSE(parsePidfLo(wrongNs).usable);
}

}  // namespace
}  // namespace sos::pidf
