// The geodetic part of an incoming PIDF-LO: RFC 5491 section 5's GML 3.1.1 shapes, and the GML
// 3.0 forms RFC 4119 section 2.3 showed (gml:location wrapper, gml:coordinates, "epsg:4326"
// short srsName, degrees:minutes:seconds with a hemisphere letter). Reduced to one WGS 84
// latitude/longitude and, for a circle or sphere, a radius: what routing needs to pick a PSAP.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "pidf/civic_fields.h"
#include "pidf/xml_walk.h"

namespace sos::pidf::detail {

namespace {

bool isGml(const xmlNode* n) {
  return n->type == XML_ELEMENT_NODE && (nsOf(n) == kNsGml || nsOf(n) == kNsGml30);
}

std::optional<double> toDouble(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, std::string_view separators) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size() && out.size() < 4096) {
    size_t b = s.find_first_not_of(separators, i);
    if (b == std::string_view::npos) break;
    size_t e = s.find_first_of(separators, b);
    if (e == std::string_view::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

// One coordinate: "-34.407", "37:46:30N", "122.4194W". hemisphere is 'N','S','E','W' or 0.
struct Coordinate {
  double value = 0;
  char hemisphere = 0;
};

std::optional<Coordinate> toCoordinate(std::string_view s) {
  Coordinate c;
  if (!s.empty()) {
    char h = s.back();
    if (h >= 'a' && h <= 'z') h = static_cast<char>(h - 'a' + 'A');
    if (h == 'N' || h == 'S' || h == 'E' || h == 'W') {
      c.hemisphere = h;
      s.remove_suffix(1);
    }
  }
  auto parts = split(s, ":");
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  bool negative = parts[0].front() == '-';
  double total = 0;
  double scale = 1;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto v = toDouble(parts[i]);
    if (!v || (i > 0 && (*v < 0 || *v >= 60))) return std::nullopt;
    total += std::fabs(*v) * scale;
    scale /= 60;
  }
  c.value = negative ? -total : total;
  if (c.hemisphere == 'S' || c.hemisphere == 'W') c.value = -std::fabs(c.value);
  return c;
}

struct LatLon {
  double lat = 0, lon = 0;
};

// Consecutive (lat, lon[, alt]) tuples from a list of coordinates.
// Every token must be a number and the count a whole number of positions: a list such as
// "0 0 xxxxxxx" (seen in a conformance suite's deliberately broken documents) says nothing, and
// is not a position at 0 N 0 E.
std::vector<LatLon> toPositions(const std::vector<std::string_view>& tokens, size_t dimension) {
  std::vector<LatLon> out;
  if (dimension < 2 || tokens.empty() || tokens.size() % dimension != 0) return out;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (i % dimension >= 2 && !toDouble(tokens[i])) return out;  // altitude
  for (size_t i = 0; i + 1 < tokens.size(); i += dimension) {
    auto a = toCoordinate(tokens[i]);
    auto b = toCoordinate(tokens[i + 1]);
    if (!a || !b) return {};
    // With hemisphere letters the order is whatever the letters say.
    bool swapped = a->hemisphere == 'E' || a->hemisphere == 'W' || b->hemisphere == 'N' ||
                   b->hemisphere == 'S';
    out.push_back(swapped ? LatLon{b->value, a->value} : LatLon{a->value, b->value});
  }
  return out;
}

// 2 or 3 coordinates per position. RFC 5491 section 4: EPSG 4326 is 2-D, EPSG 4979 is 3-D, both
// latitude first.
enum class Srs { Wgs84_2d, Wgs84_3d, Unknown };

Srs classifySrs(const std::string& srs, DeviceLocation& out) {
  if (srs.empty()) {
    out.problems.push_back("srsName missing; WGS 84 assumed");
    return Srs::Wgs84_2d;
  }
  std::string lower;
  for (char c : srs) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  bool epsg = lower.find("epsg") != std::string::npos;
  auto endsWith = [&](std::string_view tail) {
    return lower.size() >= tail.size() &&
           lower.compare(lower.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (epsg && endsWith("4326")) {
    if (srs != kSrsWgs84_2d) out.problems.push_back("short srsName form; tolerated");
    return Srs::Wgs84_2d;
  }
  if (epsg && endsWith("4979")) return Srs::Wgs84_3d;
  out.problems.push_back("unsupported srsName " + srs.substr(0, 80));
  return Srs::Unknown;
}

std::string srsOf(const xmlNode* shape, const xmlNode* info) {
  for (const xmlNode* n = shape; n && n != info; n = n->parent) {
    std::string s = attribute(n, "srsName");
    if (!s.empty()) return s;
  }
  return {};
}

// Every position written under a shape, in document order: gml:pos, gml:posList, and the GML
// 3.0 gml:coordinates (comma between coordinates, white space between tuples by default).
void collectPositions(const xmlNode* n, size_t dimension, std::vector<LatLon>& out,
                      DeviceLocation& dl) {
  for (const xmlNode* c = n->children; c && out.size() < 1024; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    std::string_view name = str(c->name);
    if (isGml(c) && (name == "pos" || name == "posList")) {
      std::string text = tokenText(c);
      auto tokens = split(text, " \t\r\n");
      size_t dim = attribute(c, "srsDimension") == "3" ? 3 : dimension;
      // One gml:pos is one position: 2 numbers, or 3 with an altitude whatever srsName says.
      if (name == "pos") dim = tokens.size() == 3 ? 3 : 2;
      auto positions = toPositions(tokens, dim);
      if (name == "pos" && positions.size() > 1) positions.clear();
      if (positions.empty()) {
        dl.problems.push_back("gml:" + std::string(name) + " \"" + text.substr(0, 60) +
                              "\" is not a position");
      }
      out.insert(out.end(), positions.begin(), positions.end());
    } else if (isGml(c) && name == "coordinates") {
      dl.problems.push_back("GML 3.0 gml:coordinates; tolerated");
      std::string text = tokenText(c);
      auto tokens = split(text, text.find(',') != std::string::npos ? ", " : " ");
      auto positions = toPositions(tokens, 2);
      out.insert(out.end(), positions.begin(), positions.end());
    } else {
      collectPositions(c, dimension, out, dl);
    }
  }
}

// gs:radius (RFC 5491 section 5.2.3) in metres; another unit of measure is not guessed at.
std::optional<double> radiusOf(const xmlNode* shape, DeviceLocation& out) {
  for (const xmlNode* c = shape->children; c; c = c->next) {
    if (!isElement(c, kNsGeoShape, "radius")) continue;
    std::string uom = attribute(c, "uom");
    auto v = toDouble(tokenText(c));
    if (!v || *v < 0) {
      out.problems.push_back("radius not a length; ignored");
      return std::nullopt;
    }
    if (uom.empty()) {
      out.problems.push_back("radius without uom; metres assumed");
    } else if (uom != kUomMetre) {
      out.problems.push_back("radius uom is not metres; ignored");
      return std::nullopt;
    }
    return v;
  }
  return std::nullopt;
}

const xmlNode* firstShape(const xmlNode* n) {
  static constexpr std::array<std::string_view, 2> kGml{"Point", "Polygon"};
  static constexpr std::array<std::string_view, 6> kShapes{"Circle", "Ellipse",   "ArcBand",
                                                           "Sphere", "Ellipsoid", "Prism"};
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    std::string_view name = str(c->name);
    if (isGml(c) && std::find(kGml.begin(), kGml.end(), name) != kGml.end()) return c;
    if (nsOf(c) == kNsGeoShape && std::find(kShapes.begin(), kShapes.end(), name) != kShapes.end())
      return c;
    // gml:location (GML 3.0) and other wrappers.
    if (const xmlNode* inner = firstShape(c)) return inner;
  }
  return nullptr;
}

}  // namespace

void readGeodetic(xmlNode* info, DeviceLocation& out) {
  const xmlNode* shape = firstShape(info);
  if (!shape) return;
  if (nsOf(shape) == kNsGml30) out.problems.push_back("GML 3.0 namespace; tolerated");
  Srs srs = classifySrs(srsOf(shape, info), out);
  if (srs == Srs::Unknown) return;

  std::vector<LatLon> positions;
  collectPositions(shape, srs == Srs::Wgs84_3d ? 3 : 2, positions, out);
  if (positions.empty()) {
    out.problems.push_back("shape without a readable position");
    return;
  }
  std::string_view name = str(shape->name);
  LatLon where = positions.front();
  if (name == "Polygon" || name == "Prism") {
    // A closed ring repeats its first vertex; the mean of the others lies inside any convex
    // polygon, which is what a PSAP-selection point needs (RFC 5491 section 5.2.2).
    size_t n = positions.size();
    if (n > 1 && positions.front().lat == positions.back().lat &&
        positions.front().lon == positions.back().lon) {
      --n;
    }
    where = {};
    for (size_t i = 0; i < n; ++i) {
      where.lat += positions[i].lat / static_cast<double>(n);
      where.lon += positions[i].lon / static_cast<double>(n);
    }
    out.problems.push_back(std::string(name) + " reduced to the mean of its vertices");
  } else if (name == "Circle" || name == "Sphere") {
    out.radiusMeters = radiusOf(shape, out);
  } else if (name != "Point") {
    out.problems.push_back(std::string(name) + " reduced to its centre");
  }
  if (where.lat == 0 && where.lon == 0) {
    // Null Island: what a device writes when it has no fix, never where a caller is.
    out.problems.push_back("position 0 0 is no position");
    out.radiusMeters.reset();
    return;
  }
  if (!(where.lat >= -90 && where.lat <= 90)) {
    out.problems.push_back("latitude out of range");
    out.radiusMeters.reset();
    return;
  }
  if (!(where.lon >= -180 && where.lon <= 180)) {
    out.problems.push_back("longitude out of range");
    out.radiusMeters.reset();
    return;
  }
  out.latitude = where.lat;
  out.longitude = where.lon;
}

}  // namespace sos::pidf::detail
