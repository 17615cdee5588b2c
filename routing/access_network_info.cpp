#include "routing/access_network_info.h"

#include "base/text.h"

#include <algorithm>
#include <cstddef>

namespace sos::routing {

namespace {

// Bounds from the header: a phone cannot make the SIP thread walk an unbounded header.
constexpr size_t kMaxInput = 4096;
constexpr size_t kMaxEntries = 16;

// RFC 3261 section 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" /
// "'" / "~").
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

// Calls f(piece) for each part of `s` between separators `sep` that are outside quoted strings
// (RFC 3261 quoted-string, where a backslash escapes the next character). An unterminated quote
// runs to the end of the input, so a stray '"' cannot split a value in the wrong place.
template <class F>
void splitOutsideQuotes(std::string_view s, char sep, F&& f) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // quoted-pair: the next character is literal, even a '"'
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      if (!f(s.substr(start, i - start))) return;
      start = i + 1;
    }
  }
  f(s.substr(start));
}

// A parameter value: a token, a quoted-string (unescaped here), or, leniently, whatever a phone
// wrote unquoted ("i-wlan-node-id=34:a8:4e:dc:96:15" has ':' which is not a token character).
// False when a quoted string is not closed or text follows its closing quote.
bool parseValue(std::string_view raw, std::string& out) {
  out.clear();
  if (raw.empty() || raw.front() != '"') {
    if (raw.find('"') != std::string_view::npos) return false;
    out.assign(raw);
    return true;
  }
  for (size_t i = 1; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') {
      if (++i >= raw.size()) return false;
      out.push_back(raw[i]);
    } else if (c == '"') {
      return i + 1 == raw.size();
    } else {
      out.push_back(c);
    }
  }
  return false;
}

// access-net-spec = (access-type / access-class) *(SEMI access-info)   (RFC 7315 section 5.4)
// Returns false when the access type is not a token: the entry says nothing usable.
bool parseEntry(std::string_view entry, AccessNetworkInfo& out) {
  bool first = true;
  bool ok = true;
  std::string value;
  splitOutsideQuotes(entry, ';', [&](std::string_view part) {
    part = trimLws(part);
    if (first) {
      first = false;
      if (!isToken(part)) {
        ok = false;
        return false;
      }
      out.accessType.assign(part);
      return true;
    }
    if (part.empty()) return true;  // "IEEE-802.11;;network-provided": tolerated
    std::string_view name = part;
    std::string_view rawValue;
    bool hasValue = false;
    if (auto eq = part.find('='); eq != std::string_view::npos) {
      name = trimLws(part.substr(0, eq));
      rawValue = trimLws(part.substr(eq + 1));
      hasValue = true;
    }
    if (!isToken(name)) return true;  // malformed parameter: skipped, the rest still counts
    if (equalsNoCase(name, "network-provided")) {
      // RFC 7315: "np" has no value; one written with a value still says who inserted it.
      out.networkProvided = true;
    } else if (equalsNoCase(name, "i-wlan-node-id") && hasValue && out.wlanNodeId.empty()) {
      // i-wlan-node-id = "i-wlan-node-id" EQUAL (token / quoted-string). The first one counts.
      if (parseValue(rawValue, value)) out.wlanNodeId = trimLws(value);
    }
    return true;
  });
  return ok;
}

}  // namespace

std::vector<AccessNetworkInfo> parseAccessNetworkInfo(std::string_view value) {
  std::vector<AccessNetworkInfo> result;
  bool truncated = value.size() > kMaxInput;
  if (truncated) value = value.substr(0, kMaxInput);

  // Gather the entries first so a truncated input can drop the one the cut went through:
  // half an entry could carry half a BSSID.
  std::string_view entries[kMaxEntries];
  size_t count = 0;
  bool more = false;
  splitOutsideQuotes(value, ',', [&](std::string_view part) {
    if (count == kMaxEntries) {
      more = true;
      return false;
    }
    entries[count++] = part;
    return true;
  });
  if (truncated && !more && count > 0) --count;

  for (size_t i = 0; i < count; ++i) {
    std::string_view entry = trimLws(entries[i]);
    if (entry.empty()) continue;
    AccessNetworkInfo info;
    if (parseEntry(entry, info)) result.push_back(std::move(info));
  }
  return result;
}

std::string withoutNetworkProvided(std::string_view value) {
  std::string out;
  splitOutsideQuotes(value.substr(0, std::min(value.size(), kMaxInput)), ',',
                     [&](std::string_view entry) {
                       std::string kept;
                       splitOutsideQuotes(entry, ';', [&](std::string_view param) {
                         if (!equalsNoCase(trimLws(param), "network-provided")) {
                           if (!kept.empty()) kept += ";";
                           kept += param;
                         }
                         return true;
                       });
                       if (!trimLws(kept).empty()) {
                         if (!out.empty()) out += ",";
                         out += kept;
                       }
                       return true;
                     });
  return std::string(trimLws(out));
}

}  // namespace sos::routing
