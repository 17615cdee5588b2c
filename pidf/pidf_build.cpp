// Building PIDF-LO (RFC 4119, RFC 5491 section 3, RFC 5139) and the multipart/mixed body that
// carries it (RFC 6442 section 3). Everything written here must validate against
// pidf/schemas/pidf-lo-all.xsd; tests/pidf/pidf_test.cpp runs xmllint on it.

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "pidf/civic_fields.h"
#include "pidf/pidf.h"

namespace sos::pidf {

namespace {

using detail::kCivicFields;

// Copies valid UTF-8, replacing broken sequences with U+FFFD and dropping the control characters
// XML 1.0 forbids (section 2.2: Char excludes #x0-#x8, #xB, #xC, #xE-#x1F, #xFFFE, #xFFFF).
// Locations come from our own database, but names are typed by people and imported from CSV:
// one stray byte must not make the whole object unparseable at the PSAP.
void appendXmlChars(std::string& out, std::string_view in, bool attribute) {
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        case '\t':
        case '\n':
        case '\r':
          // In an attribute a literal newline would be normalized to a space (XML 1.0 3.3.3).
          out += attribute ? "&#" + std::to_string(c) + ";" : std::string(1, static_cast<char>(c));
          break;
        default:
          if (c >= 0x20) out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Length and minimum value of a well-formed sequence (RFC 3629 section 4).
    size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5) len = 0;
    uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len != 0 && i + len <= in.size();
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      static constexpr std::array<uint32_t, 5> kMin{0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE &&
           cp != 0xFFFF;
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
}

std::string text(std::string_view s) {
  std::string out;
  appendXmlChars(out, s, false);
  return out;
}

std::string attr(std::string_view s) {
  std::string out;
  appendXmlChars(out, s, true);
  return out;
}

// dm:device/@id and dm:person/@id are xs:ID, i.e. an NCName (Namespaces in XML 1.0, section 3).
// ASCII only keeps this simple; anything else becomes '_'.
std::string ncName(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool more = (c >= '0' && c <= '9') || c == '-' || c == '.';
    out += alpha || more ? c : '_';
  }
  if (out.empty()) return "device";
  if (!((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') || out[0] == '_')) {
    out.insert(out.begin(), '_');
  }
  return out;
}

// Shortest text that reads back as the same double (std::to_chars round-trip guarantee).
std::string number(double v) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return ec == std::errc() ? std::string(buf.data(), end) : std::string("0");
}

// RFC 5139 section 4 types country as [A-Z]{2}; we upper-case what an admin typed and leave out
// what still does not fit (a wrong country is worse than none: the PSAP reads the rest).
std::string normalizedCountry(std::string_view c) {
  std::string out;
  for (char ch : c) out += (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  bool ok = out.size() == 2 && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'A' && out[1] <= 'Z';
  return ok ? out : std::string();
}

// xs:token collapses white space; an all-blank field would become an empty element, so skip it.
bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

void appendCivic(std::string& out, const model::CivicAddress& civic) {
  std::string body;
  for (const auto& f : kCivicFields) {
    std::string value = civic.*f.member;
    if (f.element == "country") value = normalizedCountry(value);
    if (blank(value)) continue;
    body += "        <ca:";
    body += f.element;
    body += '>';
    body += text(value);
    body += "</ca:";
    body += f.element;
    body += ">\n";
  }
  if (body.empty()) return;
  out += "      <ca:civicAddress>\n" + body + "      </ca:civicAddress>\n";
}

bool validCoordinates(const model::Location& l) {
  return l.latitude && l.longitude && std::isfinite(*l.latitude) && std::isfinite(*l.longitude) &&
         *l.latitude >= -90 && *l.latitude <= 90 && *l.longitude >= -180 && *l.longitude <= 180;
}

// RFC 5491 section 5.2.1 (Point) and 5.2.3 (Circle): WGS 84, latitude then longitude, radius in
// metres.
void appendGeodetic(std::string& out, const model::Location& l, std::optional<double> radius) {
  std::string pos = number(*l.latitude) + " " + number(*l.longitude);
  std::string srs(detail::kSrsWgs84_2d);
  if (radius && std::isfinite(*radius) && *radius > 0) {
    out += "      <gs:Circle srsName=\"" + srs + "\">\n";
    out += "        <gml:pos>" + pos + "</gml:pos>\n";
    out += "        <gs:radius uom=\"" + std::string(detail::kUomMetre) + "\">" + number(*radius) +
           "</gs:radius>\n";
    out += "      </gs:Circle>\n";
  } else {
    out += "      <gml:Point srsName=\"" + srs + "\">\n";
    out += "        <gml:pos>" + pos + "</gml:pos>\n";
    out += "      </gml:Point>\n";
  }
}

}  // namespace

bool isRegisteredMethod(std::string_view token) {
  static constexpr std::array<std::string_view, 7> kTokens{
      "GPS", "A-GPS", "Manual", "DHCP", "Triangulation", "Cell", "802.11"};
  for (auto t : kTokens) {
    if (t == token) return true;
  }
  return false;
}

std::string formatTimestamp(int64_t unixMs) {
  // Floor division so times before 1970 still land on the right day.
  int64_t days = unixMs / 86'400'000;
  int64_t msOfDay = unixMs % 86'400'000;
  if (msOfDay < 0) {
    msOfDay += 86'400'000;
    --days;
  }
  // Civil date from a day count (H. Hinnant's days_from_civil, inverted).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  std::array<char, 64> buf{};
  int64_t s = msOfDay / 1000;
  int n = std::snprintf(buf.data(), buf.size(), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), static_cast<long long>(m),
                        static_cast<long long>(d), static_cast<long long>(s / 3600),
                        static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  std::string out(buf.data(), n > 0 ? static_cast<size_t>(n) : 0);
  if (msOfDay % 1000 != 0) {
    std::snprintf(buf.data(), buf.size(), ".%03lld", static_cast<long long>(msOfDay % 1000));
    out += buf.data();
  }
  return out + "Z";
}

std::string buildPidfLo(const model::Location& location, const PidfOptions& options) {
  // Without a device URI the schema cannot be satisfied by dm:device (dm:deviceID is required,
  // RFC 4479 section 3.2); dm:person needs none and RFC 5491 section 3 allows it.
  bool device = !options.deviceUri.empty();
  std::string element = device ? "dm:device" : "dm:person";

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\n";
  out += "    xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"\n";
  out += "    xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\"\n";
  out += "    xmlns:gbp=\"urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy\"\n";
  out += "    xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\"\n";
  out += "    xmlns:gml=\"http://www.opengis.net/gml\"\n";
  out += "    xmlns:gs=\"http://www.opengis.net/pidflo/1.0\"\n";
  out += "    entity=\"" + attr(options.entity.empty() ? "pres:unknown@invalid" : options.entity) +
         "\">\n";
  out += "<" + element + " id=\"" + ncName(options.deviceId) + "\">\n";
  out += "  <gp:geopriv>\n";
  out += "    <gp:location-info>\n";
  // RFC 5491 rule #7: with a compound location the coarse part (the geodetic shape) comes first.
  if (validCoordinates(location)) appendGeodetic(out, location, options.radiusMeters);
  appendCivic(out, location.civic);
  out += "    </gp:location-info>\n";
  // RFC 4119 section 2.2.2; the elements live in the basicPolicy namespace and are xs:boolean and
  // xs:dateTime in the schema, so "true"/"false" rather than RFC 4119's old "yes"/"no".
  out += "    <gp:usage-rules>\n";
  out += "      <gbp:retransmission-allowed>";
  out += options.retransmissionAllowed ? "true" : "false";
  out += "</gbp:retransmission-allowed>\n";
  if (options.retentionExpiryMs) {
    out += "      <gbp:retention-expiry>" + formatTimestamp(*options.retentionExpiryMs) +
           "</gbp:retention-expiry>\n";
  }
  out += "    </gp:usage-rules>\n";
  if (isRegisteredMethod(options.method)) {
    out += "    <gp:method>" + text(options.method) + "</gp:method>\n";
  }
  out += "  </gp:geopriv>\n";
  if (device) out += "  <dm:deviceID>" + text(options.deviceUri) + "</dm:deviceID>\n";
  out += "  <dm:timestamp>" + formatTimestamp(options.timestampMs) + "</dm:timestamp>\n";
  out += "</" + element + ">\n";
  out += "</presence>\n";
  return out;
}

}  // namespace sos::pidf
