// Dashboard passwords (password.h).

#include "admin/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sos::admin {

namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::string hex(const unsigned char* data, size_t size) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<unsigned char>> unhex(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.empty() || text.size() % 2 != 0) return std::nullopt;
  std::vector<unsigned char> out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

std::array<unsigned char, kHashBytes> pbkdf2(std::string_view password,
                                             const std::vector<unsigned char>& salt,
                                             int iterations) {
  std::array<unsigned char, kHashBytes> out{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    throw std::runtime_error("PBKDF2-HMAC-SHA256 (OpenSSL PKCS5_PBKDF2_HMAC) failed");
  }
  return out;
}

}  // namespace

store::PasswordHash hashPassword(std::string_view password, int iterations) {
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("the random source (OpenSSL RAND_bytes) failed: no salt made");
  }
  const auto derived = pbkdf2(password, salt, iterations);
  return store::PasswordHash{hex(salt.data(), salt.size()), hex(derived.data(), derived.size()),
                             iterations};
}

bool verifyPassword(std::string_view password, const store::PasswordHash& kept) {
  if (password.size() > kMaxPasswordLength || kept.iterations <= 0) return false;
  const auto salt = unhex(kept.salt);
  const auto expected = unhex(kept.hash);
  if (!salt || !expected || expected->size() != kHashBytes) return false;
  try {
    const auto derived = pbkdf2(password, *salt, kept.iterations);
    return CRYPTO_memcmp(derived.data(), expected->data(), kHashBytes) == 0;
  } catch (const std::runtime_error&) {
    return false;
  }
}

void verifyNothing(std::string_view password) {
  static const store::PasswordHash kNobody{std::string(kSaltBytes * 2, '0'),
                                           std::string(kHashBytes * 2, '0'), kPasswordIterations};
  verifyPassword(password, kNobody);
}

}  // namespace sos::admin
