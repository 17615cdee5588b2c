#pragma once
// Dashboard sign-ins (issue 18): a browser signs in once with an API token and is given a
// session cookie, so the token is not kept in the page. Runs on the I/O thread (the route
// table's own state, like the tokens it last read).
//
// The cookie holds a random id (newToken(), 256 bits); only its SHA-256 is kept here, with the
// token's hash it stands for, the session's CSRF token and its end. The token is looked up at
// every request as for a bearer token, so a revoked token ends its sessions at once. A session
// ends 8 hours after sign-in (kLifetimeMs) whatever the browser says, at sign-out, or when the
// process restarts (sessions live in memory).
//
// CSRF: the cookie is SameSite=Strict, and a request made with it that may change state (any
// method but GET and HEAD) must also carry the session's CSRF token in the X-CSRF-Token header,
// which only a page that read it from POST or GET /api/v1/session can know.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sos::admin {

class Sessions {
 public:
  static constexpr std::string_view kCookieName = "sos_session";
  static constexpr int64_t kLifetimeMs = int64_t{8} * 3600 * 1000;
  // Held at most; a sign-in beyond it drops the ended sessions first, then the one nearest
  // its end.
  static constexpr size_t kMaxSessions = 10000;

  struct Session {
    std::string tokenHash;  // the token it stands for (store::ApiToken::hash)
    std::string csrf;       // what X-CSRF-Token must say
    int64_t expiresAtMs = 0;
  };
  struct Opened {
    std::string id;  // the cookie's value, given out this once
    std::string csrf;
  };

  // A new session for the token whose hash is `hashOfToken`. Throws std::runtime_error if the
  // random source fails (as newToken does).
  Opened open(std::string hashOfToken, int64_t nowMs);
  // The session of cookie value `id`, or null when there is none or it has ended (then it is
  // dropped).
  const Session* find(std::string_view id, int64_t nowMs);
  // Ends the session of `id`; false when there was none.
  bool close(std::string_view id);
  size_t size() const { return byIdHash_.size(); }

 private:
  std::unordered_map<std::string, Session> byIdHash_;
};

// Failed sign-ins per source address (issue 18): after kMaxFailures within kWindowMs, the
// address's sign-ins are refused (429) until that window ends, before any password is hashed.
// A success clears the address. At most kMaxAddresses are followed; beyond it, ended windows
// are dropped first, then the oldest.
class SignInLimiter {
 public:
  static constexpr int kMaxFailures = 5;
  static constexpr int64_t kWindowMs = int64_t{5} * 60 * 1000;
  static constexpr size_t kMaxAddresses = 10000;

  // 0 when `address` may try now, else the milliseconds until it may.
  int64_t waitMs(const std::string& address, int64_t nowMs);
  void failed(const std::string& address, int64_t nowMs);
  void succeeded(const std::string& address) { byAddress_.erase(address); }

  // Password sign-ins of all addresses together: each costs a PBKDF2 of about 0.2 s on the I/O
  // thread, which also delivers the responders' alerts and takes the location reports. At most
  // kHashesPerSecond a second (kHashBurst at once): false (and nothing taken) when a password
  // may not be checked now, so that many addresses cannot keep that thread busy hashing.
  static constexpr int kHashesPerSecond = 2;
  static constexpr int kHashBurst = 4;
  bool takeHash(int64_t nowMs);

 private:
  double hashTokens_ = kHashBurst;
  int64_t hashRefilledAtMs_ = 0;
  struct Failures {
    int count = 0;
    int64_t firstAtMs = 0;
  };
  std::unordered_map<std::string, Failures> byAddress_;
};

// The value of cookie `name` in a Cookie header ("a=1; sos_session=X"), or "".
std::string cookieValue(std::string_view cookieHeader, std::string_view name);
// The Set-Cookie value for session `id`: HttpOnly, SameSite=Strict, for the API's paths only,
// ending with the session; Secure when `secure` (the server speaks HTTPS: the browser then
// never sends it in clear). An empty `id` with `maxAgeSeconds` 0 clears the cookie.
std::string sessionCookie(std::string_view id, int64_t maxAgeSeconds, bool secure = false);
// Equal, compared in time that does not depend on where they differ (CRYPTO_memcmp).
bool sameSecret(std::string_view a, std::string_view b);

}  // namespace sos::admin
