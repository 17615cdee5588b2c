#pragma once
// Internal to store/: the checks a value of the location data passes, wherever it comes from (a
// seed file, a CSV import, the API). Each returns what is wrong after the quoted value, or ""
// (config::Check), so every source reports the same words.

#include <string>
#include <string_view>

namespace sos::store {

// Keys appear in admin URLs and logs: one plain word.
std::string checkKey(std::string_view s);
std::string checkExtension(std::string_view s);
std::string checkE164(std::string_view s);
std::string checkMac(std::string_view s);
std::string checkBssid(std::string_view s);
// Stored space-separated (locations.psap_route), so a name must hold no white space.
std::string checkTrunkName(std::string_view s);

}  // namespace sos::store
