#pragma once
// The management API's tokens and audit trail (issue 16) as plain values. store/ keeps them;
// admin/ decides what a role may do.

#include <cstdint>
#include <string>
#include <vector>

namespace sos::store {

// One API token. The token itself is never stored: `hash` is its SHA-256 in lower-case hex.
struct ApiToken {
  int64_t id = 0;  // given by the store
  std::string name;
  std::string role;                // "super-admin", "site-admin", "responder", "device", ...
  std::vector<std::string> sites;  // site-admin, responder: the sites it may act on
  std::string subject;             // device: the extension or MAC it reports for
  std::string hash;
  int64_t createdAtMs = 0;
  int64_t revokedAtMs = 0;  // 0: in force
};

// A token's dashboard password (issue 18), as kept: never the password, its salted
// PBKDF2-HMAC-SHA256 (admin/password.h), salt and hash in lower-case hex.
struct PasswordHash {
  std::string salt;
  std::string hash;
  int iterations = 0;
};

// A password sign-in's record: the token in force named as the user, with its password.
struct PasswordLogin {
  ApiToken token;
  PasswordHash password;
};

// One change: who (the token's name and role), what (an action on an object, with the object's
// JSON before and after; "" for none), when, and the site it concerns ("" for none).
struct AuditEntry {
  int64_t id = 0;
  int64_t atMs = 0;
  std::string actor;
  std::string role;
  std::string action;  // "token.create", "call.acknowledge", "config.reload", ...
  std::string object;  // "token:desk-1", "call:CALL-ID", ...
  std::string site;
  std::string before;
  std::string after;
};

struct AuditQuery {
  size_t limit = 100;
  int64_t beforeId = 0;            // 0: from the newest; else entries older than this id
  std::vector<std::string> sites;  // empty: every entry; else only entries of these sites
};

}  // namespace sos::store
