#pragma once
// Who is calling the management API (issue 16): API tokens and the roles they carry.
//
// A token is "sos_" and 43 base64url characters (32 random bytes). Only its SHA-256 is stored;
// the token itself is printed once, when it is created. A request presents it as
// `Authorization: Bearer TOKEN`.
//
// Roles, and what each may reach:
//   super-admin       everything
//   site-admin        its sites: their users' location reports, their calls, the audit trail
//   responder         its sites' calls: read them, acknowledge alerts
//   device            location reports for its one subject (an extension or a MAC)
//   network-reporter  location reports for any device, marked network-provided (WLAN
//                     controllers, LLDP collectors)
// The route table (routes.h) says which role each route needs.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/api_token.h"

namespace sos::admin {

enum class Role { SuperAdmin, SiteAdmin, Responder, Device, NetworkReporter };

std::optional<Role> parseRole(std::string_view text);
std::string_view toString(Role role);
// "super-admin, site-admin, ..." for messages.
std::string roleNames();

// The caller of one request, as its token says.
struct Principal {
  std::string name;  // the token's name (the audit trail's "who")
  Role role = Role::Device;
  std::vector<std::string> sites;  // site-admin, responder
  std::string subject;             // device: an extension, or a MAC in its 12-digit form

  // May this caller act on `site`? A super-admin on every site, a site-admin or responder on
  // its own, the other roles on none.
  bool coversSite(std::string_view site) const;
};

// A new random token (OpenSSL's RAND_bytes). Throws std::runtime_error if the random source
// fails (nothing weaker is used instead).
std::string newToken();
// SHA-256 of the token, lower-case hex: the form the store keeps and looks tokens up by.
std::string tokenHash(std::string_view token);
// The token of an `Authorization: Bearer TOKEN` header (the scheme in any case), or "".
std::string bearerToken(std::string_view authorization);

// A token row to create, checked: the name (1-64 of A-Z a-z 0-9 . _ -, unique in the store),
// the role, sites for site-admin and responder (each one of `knownSites`) and none for the
// others, a subject for device (an extension of digits, or a MAC) and none for the others.
// The Error message names the field ("--site", "--role", ...) in the CLI's words.
Result<store::ApiToken> tokenRow(const std::string& name, const std::string& role,
                                 const std::vector<std::string>& sites, const std::string& subject,
                                 const std::vector<std::string>& knownSites, int64_t nowMs);

// The principal a stored token stands for (its role string is one the store allows).
Principal principalOf(const store::ApiToken& token);

}  // namespace sos::admin
