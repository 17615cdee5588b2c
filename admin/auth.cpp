// API tokens and roles (auth.h).

#include "admin/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "base/text.h"
#include "model/mac.h"

namespace sos::admin {
namespace {

struct RoleName {
  Role role;
  std::string_view name;
};
constexpr std::array<RoleName, 5> kRoles{{
    {Role::SuperAdmin, "super-admin"},
    {Role::SiteAdmin, "site-admin"},
    {Role::Responder, "responder"},
    {Role::Device, "device"},
    {Role::NetworkReporter, "network-reporter"},
}};

constexpr std::string_view kPrefix = "sos_";
constexpr size_t kRandomBytes = 32;

bool validName(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

std::optional<Role> parseRole(std::string_view text) {
  for (const auto& r : kRoles)
    if (r.name == text) return r.role;
  return std::nullopt;
}

std::string_view toString(Role role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r.name;
  return "?";
}

std::string roleNames() {
  std::string out;
  for (const auto& r : kRoles) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

bool Principal::coversSite(std::string_view site) const {
  if (role == Role::SuperAdmin) return true;
  if (role != Role::SiteAdmin && role != Role::Responder) return false;
  return !site.empty() && std::find(sites.begin(), sites.end(), site) != sites.end();
}

std::string newToken() {
  std::array<unsigned char, kRandomBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("the random source (OpenSSL RAND_bytes) failed: no token made");
  }
  // base64url without padding: 32 bytes -> 43 characters.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out(kPrefix);
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char b : raw) {
    bits = (bits << 8) | b;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  return out;
}

std::string tokenHash(std::string_view token) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 (OpenSSL EVP_Digest) failed");
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(static_cast<size_t>(size) * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string bearerToken(std::string_view authorization) {
  authorization = trimLws(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !equalsNoCase(authorization.substr(0, kScheme.size()), kScheme) ||
      (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t')) {
    return "";
  }
  return std::string(trimLws(authorization.substr(kScheme.size())));
}

Result<store::ApiToken> tokenRow(const std::string& name, const std::string& role,
                                 const std::vector<std::string>& sites, const std::string& subject,
                                 const std::vector<std::string>& knownSites, int64_t nowMs) {
  auto invalid = [](const std::string& why) { return Error{"token.invalid", why}; };
  if (!validName(name)) {
    return invalid("--name \"" + name +
                   "\": give 1 to 64 letters, digits, '.', '_' or '-' (it names the token in "
                   "the audit trail)");
  }
  auto r = parseRole(role);
  if (!r) return invalid("--role \"" + role + "\" is not a role (" + roleNames() + ")");
  const bool scoped = *r == Role::SiteAdmin || *r == Role::Responder;
  if (scoped && sites.empty())
    return invalid("--role " + role + " needs --site SITE (one or more)");
  if (!scoped && !sites.empty()) {
    return invalid("--site is for site-admin and responder tokens, not " + role);
  }
  for (const auto& s : sites) {
    if (std::find(knownSites.begin(), knownSites.end(), s) == knownSites.end()) {
      return invalid("--site \"" + s + "\" is not a site of the configuration" +
                     didYouMean(s, knownSites));
    }
  }
  store::ApiToken t;
  t.name = name;
  t.role = std::string(toString(*r));
  t.sites = sites;
  std::sort(t.sites.begin(), t.sites.end());
  t.sites.erase(std::unique(t.sites.begin(), t.sites.end()), t.sites.end());
  if (*r == Role::Device) {
    if (subject.empty()) {
      return invalid("--role device needs --user EXTENSION or --mac MAC (whose reports it sends)");
    }
    if (isDigits(subject)) {
      t.subject = subject;
    } else if (auto mac = model::normalizeMac(subject)) {
      t.subject = *mac;
    } else {
      return invalid("\"" + subject + "\" is neither an extension (digits) nor a MAC address");
    }
  } else if (!subject.empty()) {
    return invalid("--user and --mac are for device tokens, not " + role);
  }
  t.createdAtMs = nowMs;
  return t;
}

Principal principalOf(const store::ApiToken& token) {
  Principal p;
  p.name = token.name;
  p.role = parseRole(token.role).value_or(Role::Device);
  p.sites = token.sites;
  p.subject = token.subject;
  return p;
}

}  // namespace sos::admin
