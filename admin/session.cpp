// Dashboard sign-ins (session.h).

#include "admin/session.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "admin/auth.h"
#include "base/text.h"

namespace sos::admin {

Sessions::Opened Sessions::open(std::string hashOfToken, int64_t nowMs) {
  if (byIdHash_.size() >= kMaxSessions) {
    std::erase_if(byIdHash_, [&](const auto& kv) { return kv.second.expiresAtMs <= nowMs; });
  }
  if (byIdHash_.size() >= kMaxSessions) {
    auto nearest = std::min_element(byIdHash_.begin(), byIdHash_.end(), [](auto& a, auto& b) {
      return a.second.expiresAtMs < b.second.expiresAtMs;
    });
    byIdHash_.erase(nearest);
  }
  Opened out{newToken(), newToken()};
  byIdHash_[tokenHash(out.id)] = Session{std::move(hashOfToken), out.csrf, nowMs + kLifetimeMs};
  return out;
}

const Sessions::Session* Sessions::find(std::string_view id, int64_t nowMs) {
  if (id.empty()) return nullptr;
  auto it = byIdHash_.find(tokenHash(id));
  if (it == byIdHash_.end()) return nullptr;
  if (it->second.expiresAtMs <= nowMs) {
    byIdHash_.erase(it);
    return nullptr;
  }
  return &it->second;
}

bool Sessions::close(std::string_view id) {
  return !id.empty() && byIdHash_.erase(tokenHash(id)) > 0;
}

int64_t SignInLimiter::waitMs(const std::string& address, int64_t nowMs) {
  auto it = byAddress_.find(address);
  if (it == byAddress_.end()) return 0;
  const int64_t endsAtMs = it->second.firstAtMs + kWindowMs;
  if (endsAtMs <= nowMs) {
    byAddress_.erase(it);
    return 0;
  }
  return it->second.count >= kMaxFailures ? endsAtMs - nowMs : 0;
}

bool SignInLimiter::takeHash(int64_t nowMs) {
  if (hashRefilledAtMs_ != 0 && nowMs > hashRefilledAtMs_) {
    hashTokens_ =
        std::min<double>(kHashBurst, hashTokens_ + static_cast<double>(nowMs - hashRefilledAtMs_) *
                                                       kHashesPerSecond / 1000.0);
  }
  hashRefilledAtMs_ = std::max(hashRefilledAtMs_, nowMs);
  if (hashTokens_ < 1) return false;
  hashTokens_ -= 1;
  return true;
}

void SignInLimiter::failed(const std::string& address, int64_t nowMs) {
  if (byAddress_.size() >= kMaxAddresses && !byAddress_.contains(address)) {
    std::erase_if(byAddress_,
                  [&](const auto& kv) { return kv.second.firstAtMs + kWindowMs <= nowMs; });
    if (byAddress_.size() >= kMaxAddresses) {
      auto oldest = std::min_element(byAddress_.begin(), byAddress_.end(), [](auto& a, auto& b) {
        return a.second.firstAtMs < b.second.firstAtMs;
      });
      byAddress_.erase(oldest);
    }
  }
  Failures& f = byAddress_[address];
  if (f.count == 0 || f.firstAtMs + kWindowMs <= nowMs) f = Failures{0, nowMs};
  ++f.count;
}

std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = trimLws(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trimLws(pair.substr(0, eq)) == name) {
      return std::string(trimLws(pair.substr(eq + 1)));
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return "";
}

std::string sessionCookie(std::string_view id, int64_t maxAgeSeconds, bool secure) {
  return std::string(Sessions::kCookieName) + "=" + std::string(id) +
         "; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSeconds) +
         (secure ? "; Secure" : "");
}

bool sameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sos::admin
