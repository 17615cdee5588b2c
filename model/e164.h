#pragma once
// Telephone numbers: the E.164 check for configured numbers (ELINs, DIDs) and the normal form a
// dialed number is compared in (PSAP callbacks, the ELIN index). Pure.

#include <cstddef>
#include <string>
#include <string_view>

namespace sos::model {

// ITU-T E.164 section 6: at most 15 digits including the country code.
inline constexpr size_t kMaxE164Digits = 15;

// A configured E.164 number: '+', a country code that does not start with 0, at most 15 digits
// in all, nothing else ("+12175550100").
bool isE164(std::string_view text);

// Digits of a number a callback may be addressed to, or "" if it is not a telephone number.
// Accepts a bare user part or a "tel:"/"sip:"/"sips:" URI (parameters and host dropped); keeps a
// leading '+', which says the digits are a complete E.164 number; drops the RFC 3966 visual
// separators '-' '.' '(' ')' and spaces. Anything else (letters, a second '+', more than 15
// digits) makes it "not a number". Returns "+" followed by digits, or the digits alone.
std::string normalizeDialedNumber(std::string_view text);

}  // namespace sos::model
