// MAC and BSSID parsing and formatting (issue 3). Pure; the parser runs on the SIP thread for
// every BSSID an emergency INVITE carries, so it allocates nothing.

#include "model/mac.h"

#include "base/text.h"

namespace sos::model {

namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::optional<Mac> parseMac(std::string_view text, bool allowWildcard) {
  text = trimBlanks(text);
  if (text.empty() || text.size() > 17) return std::nullopt;
  char sep = 0;
  for (char c : text) {
    if (hexDigitValue(c) < 0 && c != '*') {
      sep = c;
      break;
    }
  }
  size_t width = 12;
  int groups = 1;
  if (sep == '.') {
    width = 4;
    groups = 3;
  } else if (sep == ':' || sep == '-') {
    width = 2;
    groups = 6;
  } else if (sep != 0) {
    return std::nullopt;
  }
  uint64_t value = 0;
  bool wildcard = false;
  int seen = 0;
  size_t i = 0;
  for (;;) {
    size_t start = i;
    while (i < text.size() && text[i] != sep) ++i;
    std::string_view g = text.substr(start, i - start);
    if (g.empty() || g.size() > width || (g.size() != width && width != 2)) return std::nullopt;
    if (++seen > groups) return std::nullopt;
    value <<= 4 * (width - g.size());
    for (size_t k = 0; k < g.size(); ++k) {
      if (g[k] == '*') {
        // Only the very last digit, in a full group: "00:11:22:33:44:5*".
        bool last = seen == groups && k + 1 == g.size() && i == text.size();
        if (!allowWildcard || !last || g.size() != width) return std::nullopt;
        wildcard = true;
        value <<= 4;
        continue;
      }
      int h = hexDigitValue(g[k]);
      if (h < 0) return std::nullopt;
      value = (value << 4) | static_cast<uint64_t>(h);
    }
    if (i == text.size()) break;
    ++i;
  }
  if (seen != groups) return std::nullopt;
  return Mac{value, wildcard};
}

bool macMatches(const Mac& pattern, uint64_t mac) {
  return pattern.wildcard ? (mac & ~0xFULL) == pattern.value : mac == pattern.value;
}

// Locally administered BSSIDs are deliberately not placeholders: access points derive one per
// extra SSID by setting that bit, so they are real, mappable evidence.
bool isPlaceholderMac(uint64_t mac) { return mac == 0 || mac == 0xffffffffffffULL; }

void formatMac(uint64_t mac, char (&out)[17]) {
  for (size_t byte = 0; byte < 6; ++byte) {
    auto b = static_cast<unsigned>((mac >> (8 * (5 - byte))) & 0xff);
    out[byte * 3] = kHex[b >> 4];
    out[byte * 3 + 1] = kHex[b & 0xf];
    if (byte < 5) out[byte * 3 + 2] = ':';
  }
}

std::string colonForm(const Mac& mac) {
  char buf[17];
  formatMac(mac.value, buf);
  std::string out(buf, sizeof buf);
  if (mac.wildcard) out.back() = '*';
  return out;
}

std::optional<std::string> normalizeMac(std::string_view text) {
  auto mac = parseMac(text);
  if (!mac) return std::nullopt;
  std::string out(12, '0');
  for (int i = 0; i < 12; ++i) out[i] = kHex[(mac->value >> (44 - 4 * i)) & 0xf];
  return out;
}

bool isPlaceholderMac(std::string_view text) {
  auto mac = parseMac(text);
  return mac && isPlaceholderMac(mac->value);
}

std::string normalizeChassis(std::string_view text) {
  auto mac = parseMac(text);
  return mac ? colonForm(*mac) : std::string(text);
}

}  // namespace sos::model
