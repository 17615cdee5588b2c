// E.164 checks and dialed-number normal form (issue 4).

#include "model/e164.h"

#include <algorithm>
#include <cctype>

namespace sos::model {

namespace {

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// RFC 3966 section 5.1.1 visual separators, plus the space people and PSAP equipment write.
bool isVisualSeparator(char c) { return c == '-' || c == '.' || c == '(' || c == ')' || c == ' '; }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool isE164(std::string_view s) {
  return s.size() >= 3 && s.size() <= kMaxE164Digits + 1 && s[0] == '+' && s[1] != '0' &&
         std::all_of(s.begin() + 1, s.end(), isDigit);
}

std::string normalizeDialedNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  for (std::string_view scheme : {"tel:", "sip:", "sips:"}) {
    if (startsWithNoCase(text, scheme)) {
      text.remove_prefix(scheme.size());
      break;
    }
  }
  // tel: parameters (";phone-context=...") and a SIP host say nothing about the digits.
  text = text.substr(0, text.find_first_of(";@"));

  std::string digits;
  bool plus = false;
  for (char c : text) {
    if (isDigit(c)) {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (!isVisualSeparator(c)) {
      return {};  // "security-desk", "911abc": not a number a PSAP would call back
    }
    if (digits.size() > kMaxE164Digits) return {};
  }
  if (digits.empty()) return {};
  return plus ? "+" + digits : digits;
}

}  // namespace sos::model
