#pragma once
// Dashboard passwords (issue 18): a token of a super-admin, site-admin or responder may also
// sign in to the dashboard by its name and a password, set by `sosproxy token password`.
//
// Only a salted slow hash is kept: PBKDF2-HMAC-SHA256 (OpenSSL's PKCS5_PBKDF2_HMAC), a random
// 16-byte salt per password, a 32-byte result, kIterations rounds (OWASP's figure for
// PBKDF2-HMAC-SHA256 in 2023). The count is stored with each hash, so a later count leaves the
// passwords set before in force. One check costs the admin I/O thread a few hundred
// milliseconds; the sign-in's limit per address (SignInLimiter, session.h) bounds how often.

#include <string_view>

#include "store/api_token.h"

namespace sos::admin {

inline constexpr int kPasswordIterations = 600000;
// Fewer than this is no password: the CLI refuses it.
inline constexpr size_t kMinPasswordLength = 10;
// More than this is refused before any hashing (a long input costs HMAC's key hashing only once,
// but there is no reason to take one).
inline constexpr size_t kMaxPasswordLength = 1024;

// The hash to keep for `password`, with a new random salt. Throws std::runtime_error if the
// random source or PBKDF2 fails.
store::PasswordHash hashPassword(std::string_view password, int iterations = kPasswordIterations);
// Does `password` match `kept`? Compared in constant time. A malformed `kept` (bad hex, no
// rounds) matches nothing.
bool verifyPassword(std::string_view password, const store::PasswordHash& kept);
// A check that costs what verifyPassword costs and matches nothing: run for an unknown user, so
// that the time of a refusal does not tell whether the user exists.
void verifyNothing(std::string_view password);

}  // namespace sos::admin
