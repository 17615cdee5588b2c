// Does the caller's INVITE carry a location a PSAP can use (pidf/device_location.h)? Each row is
// a case the README's "What reaches the PSAP" names.
#include "pidf/device_location.h"

#include <gtest/gtest.h>

namespace sos::pidf {
namespace {

std::string civicDoc(const std::string& fields) {
  return "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
         "xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" "
         "xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\" entity=\"pres:a@b\">"
         "<tuple id=\"t\"><status><gp:geopriv><gp:location-info><ca:civicAddress>" +
         fields +
         "</ca:civicAddress></gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple>"
         "</presence>";
}

std::string pointDoc(const std::string& pos) {
  return "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
         "xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" "
         "xmlns:gml=\"http://www.opengis.net/gml\" entity=\"pres:a@b\">"
         "<tuple id=\"t\"><status><gp:geopriv><gp:location-info>"
         "<gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>" +
         pos +
         "</gml:pos></gml:Point></gp:location-info><gp:usage-rules/></gp:geopriv></status>"
         "</tuple></presence>";
}

const std::string kUsable =
    civicDoc("<ca:country>US</ca:country><ca:A1>IL</ca:A1><ca:HNO>100</ca:HNO>");

std::vector<GeolocationValue> geo(const std::string& header) { return parseGeolocation(header); }

TEST(DeviceLocation, NothingSentIsNone) {
  EXPECT_EQ(checkDeviceLocation({}, {}).state, DeviceLocationState::None);
}

TEST(DeviceLocation, ACidThatNamesAUsablePartIsUsable) {
  auto c = checkDeviceLocation(geo("<cid:loc1@phone>"), {{"loc1@phone", kUsable}});
  EXPECT_EQ(c.state, DeviceLocationState::Usable);
  EXPECT_EQ(c.contentId, "loc1@phone");
  EXPECT_NE(c.summary.find("civic 100, IL, US"), std::string::npos) << c.summary;
  EXPECT_NE(c.summary.find("part <loc1@phone>"), std::string::npos) << c.summary;
}

TEST(DeviceLocation, TheFirstUsableValueInHeaderOrderWins) {
  auto c = checkDeviceLocation(geo("<cid:a@x>, <cid:b@x>"),
                               {{"b@x", kUsable}, {"a@x", pointDoc("41.88 -87.63")}});
  EXPECT_EQ(c.contentId, "a@x");
  EXPECT_NE(c.summary.find("point 41.88, -87.63"), std::string::npos) << c.summary;
}

TEST(DeviceLocation, ContentIdsCompareWithoutCaseWhenNothingMatchesExactly) {
  auto c = checkDeviceLocation(geo("<cid:loc1@PHONE.example>"), {{"loc1@phone.example", kUsable}});
  EXPECT_EQ(c.state, DeviceLocationState::Usable);
}

struct UnusableRow {
  const char* name;
  std::string header;
  std::vector<LocationPart> parts;
  const char* why;  // a piece of the summary
};

TEST(DeviceLocation, WhatSaysNothingIsUnusableAndSaysWhy) {
  const std::vector<UnusableRow> rows = {
      {"garbled", "<cid:l@p>", {{"l@p", "<presence><tuple"}}, "not well-formed"},
      {"empty part", "<cid:l@p>", {{"l@p", ""}}, "empty body"},
      {"cid names nothing", "<cid:other@p>", {{"l@p", "<x/>"}}, "cid:other@p names no PIDF-LO"},
      {"cid without parts", "<cid:l@p>", {}, "names no PIDF-LO body part"},
      {"by reference only", "<https://lis.example/loc/1>", {}, "by reference only"},
      {"sip reference", "<sip:lis@example.com>", {}, "not fetched"},
      {"country only", "<cid:l@p>", {{"l@p", civicDoc("<ca:country>US</ca:country>")}}, "civic"},
      {"empty civic", "<cid:l@p>", {{"l@p", civicDoc("")}}, "no civic address or coordinates"},
      {"pos with garbage", "<cid:l@p>", {{"l@p", pointDoc("0 0 xxxxxxx")}}, "is not a position"},
      {"pos 0 0", "<cid:l@p>", {{"l@p", pointDoc("0 0")}}, "0 0 is no position"},
      {"pos one number", "<cid:l@p>", {{"l@p", pointDoc("41.88")}}, "is not a position"},
      {"latitude out of range", "<cid:l@p>", {{"l@p", pointDoc("91 10")}}, "latitude out of range"},
      {"not pidf at all",
       "<cid:l@p>",
       {{"l@p", "<html><body>hi</body></html>"}},
       "root is not a PIDF presence"},
      {"a PIDF-LO inside another document",
       "<cid:l@p>",
       {{"l@p", "<locationResponse xmlns=\"urn:ietf:params:xml:ns:geopriv:held\">" + kUsable +
                    "</locationResponse>"}},
       "root is not a PIDF presence"},
      {"presence without geopriv",
       "<cid:l@p>",
       {{"l@p", "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:a@b\"/>"}},
       "no geopriv"},
  };
  for (const auto& row : rows) {
    auto c = checkDeviceLocation(geo(row.header), row.parts);
    EXPECT_EQ(c.state, DeviceLocationState::Unusable) << row.name << ": " << c.summary;
    EXPECT_NE(c.summary.find(row.why), std::string::npos) << row.name << ": " << c.summary;
  }
}

TEST(DeviceLocation, AUsablePartThatNoGeolocationValueNamesDoesNotCount) {
  // The PSAP finds a location through the Geolocation header (RFC 6442 section 3): a part that
  // nothing names is not conveyed, and ours goes beside it.
  auto c = checkDeviceLocation({}, {{"l@p", kUsable}});
  EXPECT_EQ(c.state, DeviceLocationState::Unusable);
  EXPECT_NE(c.summary.find("part <l@p>: no Geolocation value names it"), std::string::npos)
      << c.summary;
  auto other = checkDeviceLocation(geo("<cid:other@p>"), {{"l@p", kUsable}});
  EXPECT_EQ(other.state, DeviceLocationState::Unusable);
  EXPECT_NE(other.summary.find("cid:other@p names no PIDF-LO body part"), std::string::npos)
      << other.summary;
}

TEST(DeviceLocation, EveryReasonIsGivenWhenNothingIsUsable) {
  auto c = checkDeviceLocation(geo("<https://lis.example/1>, <cid:a@p>"), {{"a@p", "<bad"}});
  EXPECT_EQ(c.state, DeviceLocationState::Unusable);
  EXPECT_NE(c.summary.find("by reference only"), std::string::npos) << c.summary;
  EXPECT_NE(c.summary.find("part <a@p>: not well-formed"), std::string::npos) << c.summary;
}

}  // namespace
}  // namespace sos::pidf
