#include "pidf/geolocation.h"

#include <algorithm>

#include "base/text.h"

namespace sos::pidf {

namespace {

// Bounds like P-Access-Network-Info's: a phone cannot make the SIP thread walk forever.
constexpr size_t kMaxInput = 4096;
constexpr size_t kMaxValues = 16;

// Splits at commas that are outside <...> and outside quoted strings (RFC 3261 section 25.1).
std::vector<std::string_view> splitValues(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = valueEnd(s, start);
    out.push_back(s.substr(start, end - start));
    if (end == s.size()) return out;
    start = end + 1;
  }
}

std::string unquoted(std::string_view v) {
  v = trimLws(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out += v[i];
  }
  return out;
}

// locationValue = LAQUOT locationURI RAQUOT *(SEMI geoloc-param) (RFC 6442 section 4.1). Some
// phones leave out the angle brackets; the URI then ends at the first ';'.
bool parseOne(std::string_view s, GeolocationValue& out) {
  s = trimLws(s);
  std::string_view params;
  if (!s.empty() && s.front() == '<') {
    size_t close = s.find('>');
    if (close == std::string_view::npos) return false;
    out.uri = std::string(trimLws(s.substr(1, close - 1)));
    params = s.substr(close + 1);
  } else {
    size_t semi = s.find(';');
    out.uri = std::string(trimLws(s.substr(0, semi)));
    params = semi == std::string_view::npos ? std::string_view() : s.substr(semi);
  }
  if (out.uri.empty() || out.uri.find_first_of(" \t\"<") != std::string::npos) return false;
  size_t colon = out.uri.find(':');
  if (colon == std::string::npos || colon == 0) return false;  // not an absolute URI
  out.isCid = equalsNoCase(std::string_view(out.uri).substr(0, colon), "cid");
  if (out.isCid) {
    // RFC 2392 section 2: a cid URL is a URL-encoded addr-spec; the Content-ID header is not.
    out.cid = percentDecoded(std::string_view(out.uri).substr(colon + 1));
    if (out.cid.empty()) return false;
  }

  // Parameters; a quoted value may contain ';'.
  while (!params.empty()) {
    params = trimLws(params);
    if (params.empty() || params.front() != ';') break;
    params.remove_prefix(1);
    size_t end = 0;
    bool quoted = false;
    for (; end < params.size(); ++end) {
      if (quoted && params[end] == '\\') {
        ++end;
      } else if (params[end] == '"') {
        quoted = !quoted;
      } else if (!quoted && params[end] == ';') {
        break;
      }
    }
    std::string_view param = params.substr(0, std::min(end, params.size()));
    params = params.substr(std::min(end, params.size()));
    size_t eq = param.find('=');
    std::string_view name = trimLws(param.substr(0, eq));
    if (equalsNoCase(name, "loc-src") && eq != std::string_view::npos) {
      out.locSrc = unquoted(param.substr(eq + 1));
    }
  }
  return true;
}

}  // namespace

std::vector<GeolocationValue> parseGeolocation(std::string_view value) {
  std::vector<GeolocationValue> out;
  if (value.size() > kMaxInput) value = value.substr(0, kMaxInput);
  for (std::string_view part : splitValues(value)) {
    if (out.size() >= kMaxValues) break;
    GeolocationValue v;
    if (parseOne(part, v)) out.push_back(std::move(v));
  }
  return out;
}

bool geolocationRoutingAllowed(std::string_view headerValue) {
  return equalsNoCase(trimLws(headerValue), "yes");
}

}  // namespace sos::pidf
