// Dashboard passwords (admin/password.h): the hash kept, and what it matches.

#include "admin/password.h"

#include <gtest/gtest.h>

#include <string>

namespace sos::admin {
namespace {

TEST(Password, TheKeptHashIsSaltedAndMatchesOnlyItsPassword) {
  const store::PasswordHash kept = hashPassword("correct horse battery");
  EXPECT_EQ(kept.iterations, kPasswordIterations);
  EXPECT_EQ(kept.salt.size(), 32u);
  EXPECT_EQ(kept.hash.size(), 64u);
  EXPECT_EQ(kept.hash.find("correct"), std::string::npos);
  EXPECT_TRUE(verifyPassword("correct horse battery", kept));
  EXPECT_FALSE(verifyPassword("correct horse batterY", kept));
  EXPECT_FALSE(verifyPassword("correct horse battery ", kept));
  EXPECT_FALSE(verifyPassword("", kept));
  // The same password twice: two salts, two hashes.
  const store::PasswordHash again = hashPassword("correct horse battery", 1000);
  EXPECT_NE(again.salt, kept.salt);
  EXPECT_NE(again.hash, kept.hash);
  EXPECT_TRUE(verifyPassword("correct horse battery", again));
}

// RFC 7914 section 11 gives PBKDF2-HMAC-SHA256 vectors: P="passwd", S="salt", c=1, 64 bytes;
// the first 32 are what the store keeps.
TEST(Password, TheHashIsPbkdf2HmacSha256) {
  const store::PasswordHash kept{
      "73616c74", "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc", 1};
  EXPECT_TRUE(verifyPassword("passwd", kept));
  EXPECT_FALSE(verifyPassword("passwe", kept));
}

TEST(Password, AMalformedHashMatchesNothing) {
  store::PasswordHash kept = hashPassword("correct horse battery", 1000);
  store::PasswordHash noRounds = kept;
  noRounds.iterations = 0;
  EXPECT_FALSE(verifyPassword("correct horse battery", noRounds));
  store::PasswordHash badHex = kept;
  badHex.salt = "zz";
  EXPECT_FALSE(verifyPassword("correct horse battery", badHex));
  store::PasswordHash shortHash = kept;
  shortHash.hash.resize(62);
  EXPECT_FALSE(verifyPassword("correct horse battery", shortHash));
  EXPECT_FALSE(verifyPassword(std::string(kMaxPasswordLength + 1, 'a'), kept));
  verifyNothing("correct horse battery");  // matches nothing, throws nothing
}

}  // namespace
}  // namespace sos::admin
