// The checks every source of location data makes (checks.h).

#include "store/checks.h"

#include <algorithm>

#include "base/text.h"
#include "config/yaml_reader.h"
#include "model/e164.h"
#include "store/db.h"

namespace sos::store {

using config::expecting;

std::string checkKey(std::string_view s) {
  bool ok =
      s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      });
  return expecting(ok, "lower-case letters, digits, '-', '_' or '.', e.g. \"hq-floor-2\"");
}

std::string checkExtension(std::string_view s) {
  return expecting(isDigits(s), "digits, e.g. \"1001\"");
}

std::string checkE164(std::string_view s) {
  return expecting(model::isE164(s), "an E.164 number, e.g. \"+12175550100\"");
}

std::string checkMac(std::string_view s) {
  return expecting(storedMac(s, false).has_value(), "a MAC address, e.g. \"00:04:f2:00:10:01\"");
}

std::string checkBssid(std::string_view s) {
  return expecting(storedMac(s, true).has_value(),
                   "a BSSID, e.g. \"00:11:22:33:44:55\" or \"00:11:22:33:44:5*\"");
}

std::string checkTrunkName(std::string_view s) {
  bool ok = std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
  return expecting(ok, "a trunk name without spaces, e.g. \"il-psap-a\"");
}

}  // namespace sos::store
