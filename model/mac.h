#pragma once
// MAC addresses and Wi-Fi BSSIDs: the one parser and the normal forms every library uses (the
// seed file, the store, the location-report API, the snapshot's indexes, the resolver). Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sos::model {

// A MAC parsed to its 48 bits. `wildcard`: the last hex digit was '*' (value holds 0 there), a
// BSSID row that matches the 16 addresses one access point announces ("00:11:22:33:44:5*").
struct Mac {
  uint64_t value = 0;
  bool wildcard = false;
};

// Accepted forms: 12 bare hex digits, six groups split by ':' or '-' (a group may drop its
// leading zero, as ether_ntoa writes "0:11:22:33:44:55"), or three 4-digit groups split by '.'
// (Cisco); either case, spaces and tabs around it ignored. With `allowWildcard`, '*' may stand
// for the very last digit. Nullopt for anything else, mixed separators included.
std::optional<Mac> parseMac(std::string_view text, bool allowWildcard = false);

// Does `mac` fall under `pattern` (equal, or equal but for the last digit of a wildcard)?
bool macMatches(const Mac& pattern, uint64_t mac);

// All-zero and all-ones: what phones and PBXs write when they have no BSSID.
bool isPlaceholderMac(uint64_t mac);

// "00:11:22:33:44:55" into out[0..16]; no allocation (the resolver's explanations use it).
void formatMac(uint64_t mac, char (&out)[17]);

// The form the store keeps: "00:11:22:33:44:55", "00:11:22:33:44:5*" for a wildcard.
std::string colonForm(const Mac& mac);

// 12 lower-case hex digits ("00:11:22:33:44:55" -> "001122334455"); nullopt if not a MAC
// (no wildcard). A placeholder normalizes; isPlaceholderMac says what it is.
std::optional<std::string> normalizeMac(std::string_view text);
// Same question for a normalized (or any written) MAC: true for all-0 and all-f.
bool isPlaceholderMac(std::string_view text);

// A switch chassis ID (LLDP) as the store keeps it: usually a MAC (colonForm), but LLDP allows
// other forms (names, addresses), which are kept as written.
std::string normalizeChassis(std::string_view text);

}  // namespace sos::model
