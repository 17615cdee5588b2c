// Building PIDF-LO: every demo location (config/examples/demo-locations.yaml) is turned into a
// PIDF-LO and checked by xmllint against the official schemas (pidf/schemas, see PROVENANCE.md
// there), plus the namespace check of VALIDATE.md: a schema-valid document can still carry
// content the lax wildcards skipped, which a PSAP would not read.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <string>

#include "pidf/pidf.h"

namespace sos::pidf {
namespace {

using model::CivicAddress;
using model::Location;

struct Command {
  int status = -1;
  std::string output;
};

Command run(const std::string& command) {
  Command r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string writeTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "pidf_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

CivicAddress hqCivic(const std::string& flr, const std::string& room = "") {
  CivicAddress c;
  c.country = "US";
  c.a1 = "IL";
  c.a2 = "Sangamon";
  c.a3 = "Springfield";
  c.hno = "100";
  c.rd = "Main";
  c.sts = "St";
  c.pc = "62701";
  c.flr = flr;
  c.room = room;
  return c;
}

Location location(const std::string& key, const std::string& name, CivicAddress civic) {
  Location l;
  l.key = key;
  l.name = name;
  l.civic = std::move(civic);
  return l;
}

// The demo enterprise's locations (config/examples/demo-locations.yaml).
std::vector<Location> demoLocations() {
  std::vector<Location> out;
  out.push_back(location("hq-lobby", "HQ Lobby", hqCivic("1")));
  out.push_back(location("hq-floor-2", "HQ Floor 2", hqCivic("2")));
  out.push_back(location("hq-floor-3", "HQ Floor 3", hqCivic("3")));
  out.push_back(location("hq-room-301", "HQ Room 301", hqCivic("3", "301")));
  CivicAddress london;
  london.country = "GB";
  london.a3 = "London";
  london.hno = "1";
  london.rd = "Example";
  london.sts = "Street";
  london.pc = "EC1A 1AA";
  london.flr = "4";
  out.push_back(location("london-office", "London Office", london));
  CivicAddress home = hqCivic("");
  home.hno = "742";
  home.rd = "Evergreen";
  home.sts = "Terrace";
  home.pc = "62704";
  out.push_back(location("1003-home", "Carol's home", home));
  CivicAddress manchester;
  manchester.country = "GB";
  manchester.a3 = "Manchester";
  manchester.hno = "12";
  manchester.rd = "Example";
  manchester.sts = "Road";
  manchester.pc = "M1 1AE";
  out.push_back(location("2001-home", "David's home", manchester));
  return out;
}

PidfOptions options() {
  PidfOptions o;
  o.entity = "pres:1001@sosproxy";
  o.deviceId = "dev-1001";
  o.deviceUri = "mac:0004f2001001";
  o.method = "Manual";
  o.timestampMs = 1714564800123;  // 2024-05-01T12:00:00.123Z
  return o;
}

// xmllint exit status 0 = valid against pidf-lo-all.xsd (VALIDATE.md).
void expectSchemaValid(const std::string& xml, const std::string& name) {
  std::string path = writeTemp(name + ".xml", xml);
  Command v =
      run(std::string(SOS_XMLLINT) +
          " --nonet --noout --schema " SOS_PIDF_SCHEMA_DIR "/pidf-lo-all.xsd '" + path + "'");
  EXPECT_EQ(v.status, 0) << name << ":\n" << v.output << "\n" << xml;
  // Nothing under location-info, civicAddress or usage-rules in a namespace whose schema is not
  // loaded (those would pass the lax wildcards unvalidated).
  const char* xpath =
      "count(//*[local-name()='location-info']/*[not("
      "namespace-uri()='urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr' or "
      "namespace-uri()='http://www.opengis.net/gml' or "
      "namespace-uri()='http://www.opengis.net/pidflo/1.0')]"
      " | //*[local-name()='civicAddress']/*[not("
      "namespace-uri()='urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr')]"
      " | //*[local-name()='usage-rules']/*[not("
      "namespace-uri()='urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy')])";
  Command ns = run(std::string(SOS_XMLLINT) + " --nonet --xpath \"" + xpath + "\" '" + path + "'");
  EXPECT_EQ(ns.output, "0\n") << name << ": unexpected namespaces\n" << xml;
  std::remove(path.c_str());
}

TEST(PidfBuild, EveryDemoLocationValidatesAgainstTheOfficialSchemas) {
  for (const Location& l : demoLocations()) {
    std::string xml = buildPidfLo(l, options());
    expectSchemaValid(xml, l.key);
    EXPECT_NE(xml.find("<ca:country>" + l.civic.country + "</ca:country>"), std::string::npos);
    EXPECT_EQ(xml.find("gml:Point"), std::string::npos) << "no coordinates, no shape";
  }
}

// The check above must be able to fail: a body real phones send (usage-rules before
// location-info, civic elements out of order) is rejected by the same command.
TEST(PidfBuild, TheSchemaCheckRejectsAnInvalidDocument) {
  Command v = run(std::string(SOS_XMLLINT) + " --nonet --noout --schema " SOS_PIDF_SCHEMA_DIR
                                             "/pidf-lo-all.xsd " SOS_PIDF_TEST_DATA
                                             "/broken/wrong_element_order.xml");
  EXPECT_EQ(v.status, 3) << v.output;
}

TEST(PidfBuild, Room301CarriesFloorAndRoom) {
  std::string xml = buildPidfLo(demoLocations()[3], options());
  EXPECT_NE(
      xml.find("<ca:FLR>3</ca:FLR>\n        <ca:PC>62701</ca:PC>\n        <ca:ROOM>301</ca:ROOM>"),
      std::string::npos)
      << xml;
}

TEST(PidfBuild, CoordinatesBecomeAPointLatitudeFirst) {
  Location l = demoLocations()[1];
  l.latitude = 39.80172;
  l.longitude = -89.64371;
  std::string xml = buildPidfLo(l, options());
  expectSchemaValid(xml, "point");
  EXPECT_NE(xml.find("<gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\">"), std::string::npos);
  EXPECT_NE(xml.find("<gml:pos>39.80172 -89.64371</gml:pos>"), std::string::npos) << xml;
  // RFC 5491 rule #7: the geodetic shape before the civic address.
  EXPECT_LT(xml.find("gml:Point"), xml.find("ca:civicAddress"));
}

TEST(PidfBuild, RadiusMakesACircleInMetres) {
  Location l = demoLocations()[0];
  l.latitude = 39.80172;
  l.longitude = -89.64371;
  PidfOptions o = options();
  o.radiusMeters = 25.5;
  o.retentionExpiryMs = 1714651200000;
  o.retransmissionAllowed = true;
  std::string xml = buildPidfLo(l, o);
  expectSchemaValid(xml, "circle");
  EXPECT_NE(xml.find("<gs:Circle srsName=\"urn:ogc:def:crs:EPSG::4326\">"), std::string::npos);
  EXPECT_NE(xml.find("<gs:radius uom=\"urn:ogc:def:uom:EPSG::9001\">25.5</gs:radius>"),
            std::string::npos);
  EXPECT_NE(xml.find("<gbp:retransmission-allowed>true</gbp:retransmission-allowed>"),
            std::string::npos);
  EXPECT_NE(xml.find("<gbp:retention-expiry>2024-05-02T12:00:00Z</gbp:retention-expiry>"),
            std::string::npos);
}

TEST(PidfBuild, OutOfRangeCoordinatesAreLeftOut) {
  Location l = demoLocations()[0];
  l.latitude = 91;
  l.longitude = 10;
  std::string xml = buildPidfLo(l, options());
  expectSchemaValid(xml, "bad_coordinates");
  EXPECT_EQ(xml.find("gml:pos"), std::string::npos);
}

TEST(PidfBuild, DeviceTimestampMethodAndPolicyAreWhereTheSchemaWantsThem) {
  std::string xml = buildPidfLo(demoLocations()[0], options());
  EXPECT_NE(xml.find("entity=\"pres:1001@sosproxy\""), std::string::npos);
  EXPECT_NE(xml.find("<dm:device id=\"dev-1001\">"), std::string::npos);
  EXPECT_NE(xml.find("<gbp:retransmission-allowed>false</gbp:retransmission-allowed>"),
            std::string::npos);
  EXPECT_NE(xml.find("<gp:method>Manual</gp:method>"), std::string::npos);
  EXPECT_NE(xml.find("<dm:deviceID>mac:0004f2001001</dm:deviceID>"), std::string::npos);
  EXPECT_NE(xml.find("<dm:timestamp>2024-05-01T12:00:00.123Z</dm:timestamp>"), std::string::npos);
  EXPECT_LT(xml.find("gp:usage-rules"), xml.find("gp:method"));
  EXPECT_LT(xml.find("</gp:geopriv>"), xml.find("dm:deviceID"));
}

TEST(PidfBuild, WithoutADeviceUriTheLocationIsAPersons) {
  PidfOptions o = options();
  o.deviceUri.clear();
  o.deviceId = "1001 desk";  // not an NCName
  std::string xml = buildPidfLo(demoLocations()[0], o);
  expectSchemaValid(xml, "person");
  EXPECT_NE(xml.find("<dm:person id=\"_1001_desk\">"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("dm:deviceID"), std::string::npos);
}

TEST(PidfBuild, UnregisteredMethodTokenIsLeftOut) {
  PidfOptions o = options();
  o.method = "Wiremap";  // used by RFC 5491's examples, not in the IANA registry
  std::string xml = buildPidfLo(demoLocations()[0], o);
  EXPECT_EQ(xml.find("gp:method"), std::string::npos);
  EXPECT_TRUE(isRegisteredMethod("802.11"));
  EXPECT_TRUE(isRegisteredMethod("DHCP"));
  EXPECT_FALSE(isRegisteredMethod("manual"));
}

TEST(PidfBuild, CivicElementsFollowSchemaOrder) {
  CivicAddress c;
  c.addcode = "x1";
  c.pobox = "PO 9";
  c.plc = "office";
  c.seat = "S1";
  c.room = "301";
  c.unit = "U";
  c.bld = "B";
  c.pc = "62701";
  c.nam = "Acme";
  c.flr = "3";
  c.loc = "north wing";
  c.lmk = "tower";
  c.hns = "A";
  c.hno = "100";
  c.rdsubbr = "s";
  c.rdbr = "b";
  c.rdsec = "r";
  c.pom = "Ext";
  c.pod = "SW";
  c.sts = "St";
  c.rd = "Main";
  c.prd = "N";
  c.prm = "Old";
  c.a6 = "a6";
  c.a5 = "a5";
  c.a4 = "a4";
  c.a3 = "Springfield";
  c.a2 = "Sangamon";
  c.a1 = "IL";
  c.country = "us";  // upper-cased: the schema wants [A-Z]{2}
  c.pcn = "Springfield PO";
  std::string xml = buildPidfLo(location("all", "all", c), options());
  expectSchemaValid(xml, "all_fields");
  const char* order[] = {"country", "A1",   "A2",   "A3",  "A4",  "A5",    "A6",     "PRM",
                         "PRD",     "RD",   "STS",  "POD", "POM", "RDSEC", "RDBR",   "RDSUBBR",
                         "HNO",     "HNS",  "LMK",  "LOC", "FLR", "NAM",   "PC",     "BLD",
                         "UNIT",    "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE"};
  size_t last = 0;
  for (const char* e : order) {
    size_t at = xml.find(std::string("<ca:") + e + ">");
    ASSERT_NE(at, std::string::npos) << e;
    EXPECT_GT(at, last) << e << " out of order";
    last = at;
  }
  EXPECT_NE(xml.find("<ca:country>US</ca:country>"), std::string::npos);
}

TEST(PidfBuild, EmptyFieldsAndAnInvalidCountryAreLeftOut) {
  CivicAddress c = hqCivic("");
  c.country = "USA";
  std::string xml = buildPidfLo(location("k", "n", c), options());
  expectSchemaValid(xml, "no_country");
  EXPECT_EQ(xml.find("ca:country"), std::string::npos);
  EXPECT_EQ(xml.find("ca:FLR"), std::string::npos);
  EXPECT_EQ(xml.find("ca:ROOM"), std::string::npos);
}

TEST(PidfBuild, TextIsEscaped) {
  CivicAddress c = hqCivic("2");
  c.nam = "Smith & Sons <\"Deli\"> 'n' more";
  c.loc = std::string(
      "bad\x01"
      "byte \xff end");
  PidfOptions o = options();
  o.entity = "pres:a&b@\"x\"";
  std::string xml = buildPidfLo(location("k", "n", c), o);
  expectSchemaValid(xml, "escaping");
  EXPECT_NE(
      xml.find("<ca:NAM>Smith &amp; Sons &lt;&quot;Deli&quot;&gt; &apos;n&apos; more</ca:NAM>"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find("entity=\"pres:a&amp;b@&quot;x&quot;\""), std::string::npos);
  EXPECT_NE(xml.find("<ca:LOC>badbyte \xEF\xBF\xBD end</ca:LOC>"), std::string::npos);
  DeviceLocation back = parsePidfLo(xml);
  ASSERT_TRUE(back.civic);
  EXPECT_EQ(back.civic->nam, "Smith & Sons <\"Deli\"> 'n' more");
}

TEST(PidfBuild, RoundTripGivesTheSameCivicAddress) {
  for (const Location& l : demoLocations()) {
    DeviceLocation back = parsePidfLo(buildPidfLo(l, options()));
    EXPECT_TRUE(back.usable) << l.key;
    ASSERT_TRUE(back.civic) << l.key;
    EXPECT_EQ(*back.civic, l.civic) << l.key;
    EXPECT_EQ(back.method, "Manual");
    EXPECT_EQ(back.retransmissionAllowed, false);
    EXPECT_TRUE(back.problems.empty()) << l.key << ": " << back.problems.front();
  }
  Location l = demoLocations()[3];
  l.latitude = -34.407;
  l.longitude = 150.883;
  PidfOptions o = options();
  o.radiusMeters = 30;
  DeviceLocation back = parsePidfLo(buildPidfLo(l, o));
  EXPECT_EQ(back.latitude, -34.407);
  EXPECT_EQ(back.longitude, 150.883);
  EXPECT_EQ(back.radiusMeters, 30);
}

TEST(PidfBuild, TimestampsAreRfc3339Utc) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatTimestamp(951782400000), "2000-02-29T00:00:00Z");
  EXPECT_EQ(formatTimestamp(1714564800123), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(formatTimestamp(-1000), "1969-12-31T23:59:59Z");
}

TEST(Multipart, SdpAndPidfPartsWithCrlfAndClosingDelimiter) {
  std::string boundary = makeBoundary(42);
  std::string sdp = "v=0\r\no=- 1 1 IN IP4 10.1.2.45\r\ns=-\r\n";
  std::string pidf = buildPidfLo(demoLocations()[1], options());
  std::string body = buildMultipartMixed(boundary, "application/sdp", sdp, "loc1@sosproxy", pidf);
  std::string expected = "--" + boundary + "\r\nContent-Type: application/sdp\r\n\r\n" + sdp +
                         "\r\n--" + boundary +
                         "\r\nContent-Type: application/pidf+xml\r\n"
                         "Content-ID: <loc1@sosproxy>\r\n"
                         "Content-Disposition: by-reference;handling=optional\r\n\r\n" +
                         pidf + "\r\n--" + boundary + "--\r\n";
  EXPECT_EQ(body, expected);
  // Every header line of the multipart structure ends in CRLF, never a bare LF.
  std::string structure = body;
  structure.replace(structure.find(pidf), pidf.size(), "");
  for (size_t i = 0; i < structure.size(); ++i) {
    if (structure[i] == '\n') {
      EXPECT_EQ(structure[i - 1], '\r') << "at " << i;
    }
  }
  EXPECT_EQ(body.find("--" + boundary, 1), body.find("\r\n--" + boundary) + 2);
}

TEST(Multipart, BoundaryIsValidAndDependsOnTheSeed) {
  std::string a = makeBoundary(1);
  std::string b = makeBoundary(2);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, makeBoundary(1));
  for (const std::string& s : {a, b}) {
    EXPECT_GE(s.size(), 1u);
    EXPECT_LE(s.size(), 70u);  // RFC 2046 section 5.1.1
    for (char c : s) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-') << s;
    }
  }
}

}  // namespace
}  // namespace sos::pidf
