#pragma once
// Small checks shared by the loaders of YAML input (configuration, location seed).

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sos {

// Levenshtein distance; meant for short keys.
size_t editDistance(std::string_view a, std::string_view b);

// "; did you mean \"x\"?" naming the candidate within two edits of `word`, or "".
template <class Range>
std::string didYouMean(std::string_view word, const Range& candidates) {
  std::string_view best;
  size_t bestDistance = 3;
  for (std::string_view c : candidates) {
    if (size_t d = editDistance(word, c); d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= 2 ? "; did you mean \"" + std::string(best) + "\"?" : "";
}

// Non-empty and only digits (or characters of `alsoAllowed`).
bool isDigits(std::string_view s, std::string_view alsoAllowed = {});

// SIP linear white space (space, tab, CR, LF: RFC 3261 LWS with folding) at either end removed.
std::string_view trimLws(std::string_view s);
// Where the element of a comma-separated header value that begins at `from` ends: the first
// comma outside quoted strings and <...> (RFC 3261 section 7.3.1), or s.size() when none.
size_t valueEnd(std::string_view s, size_t from = 0);
// Spaces and tabs at either end removed (a field of a CSV cell or a YAML scalar, not SIP LWS).
std::string_view trimBlanks(std::string_view s);
// The lower case of an ASCII letter; any other character as it is (no locale).
constexpr char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
// The value of a hexadecimal digit (either case), or -1.
int hexDigitValue(char c);
// %XX escapes decoded (RFC 3986 section 2.1). A malformed escape is kept literally: the input
// is untrusted and decoding must not fail.
std::string percentDecoded(std::string_view s);
// ASCII case-insensitive comparison (header and parameter names, tokens).
bool equalsNoCase(std::string_view a, std::string_view b);

// RFC 3339 in UTC with milliseconds: "2023-11-14T22:13:20.123Z" for Unix time `ms`.
std::string rfc3339(int64_t ms);

// The whole file; Error code "file.unreadable" with strerror's words (a directory too).
Result<std::string> readWholeFile(const std::string& path);

}  // namespace sos
