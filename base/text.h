#pragma once
// Small checks shared by the loaders of YAML input (configuration, location seed).

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
// ASCII case-insensitive comparison (header and parameter names, tokens).
bool equalsNoCase(std::string_view a, std::string_view b);

// The whole file; Error code "file.unreadable" with strerror's words (a directory too).
Result<std::string> readWholeFile(const std::string& path);

}  // namespace sos
