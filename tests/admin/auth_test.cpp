// API tokens and roles (admin/auth.h): the token's form, its hash, the Authorization header, the
// checks a new token passes, and which sites a role covers.
#include "admin/auth.h"

#include <gtest/gtest.h>

#include <set>

namespace sos::admin {
namespace {

TEST(Token, IsPrefixedBase64UrlOf32RandomBytesAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = newToken();
    ASSERT_EQ(t.size(), 4u + 43u) << t;
    EXPECT_EQ(t.substr(0, 4), "sos_");
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
        std::string::npos)
        << t;
    EXPECT_TRUE(seen.insert(t).second) << "repeated: " << t;
  }
}

TEST(Token, HashIsSha256InLowerCaseHex) {
  // FIPS 180-2's example: SHA-256("abc").
  EXPECT_EQ(tokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(tokenHash("sos_a"), tokenHash("sos_b"));
}

TEST(Token, BearerHeaderGivesTheTokenInAnyCaseOfTheScheme) {
  EXPECT_EQ(bearerToken("Bearer sos_abc"), "sos_abc");
  EXPECT_EQ(bearerToken("bearer   sos_abc  "), "sos_abc");
  EXPECT_EQ(bearerToken("BEARER\tsos_abc"), "sos_abc");
  EXPECT_EQ(bearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearerToken("Bearer"), "");
  EXPECT_EQ(bearerToken("Bearersos_abc"), "");
  EXPECT_EQ(bearerToken(""), "");
}

const std::vector<std::string> kSites{"HQ", "London"};

TEST(TokenRow, AcceptsEachRoleWithWhatItNeeds) {
  auto admin = tokenRow("ops", "super-admin", {}, "", kSites, 5);
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_EQ(admin.value().role, "super-admin");
  EXPECT_EQ(admin.value().createdAtMs, 5);
  auto site = tokenRow("hq-it", "site-admin", {"London", "HQ", "HQ"}, "", kSites, 5);
  ASSERT_TRUE(site.ok()) << site.error().message;
  EXPECT_EQ(site.value().sites, (std::vector<std::string>{"HQ", "London"}));
  auto byMac = tokenRow("phone", "device", {}, "00:04:F2:00:10:01", kSites, 5);
  ASSERT_TRUE(byMac.ok()) << byMac.error().message;
  EXPECT_EQ(byMac.value().subject, "0004f2001001");
  auto byExt = tokenRow("soft", "device", {}, "1002", kSites, 5);
  ASSERT_TRUE(byExt.ok());
  EXPECT_EQ(byExt.value().subject, "1002");
  EXPECT_TRUE(tokenRow("wlc", "network-reporter", {}, "", kSites, 5).ok());
  EXPECT_TRUE(tokenRow("desk", "responder", {"HQ"}, "", kSites, 5).ok());
}

struct BadRow {
  const char* name;
  const char* tokenName;
  const char* role;
  std::vector<std::string> sites;
  const char* subject;
  const char* message;
};

class BadRows : public ::testing::TestWithParam<BadRow> {};

TEST_P(BadRows, AreRefusedNamingTheField) {
  const auto& p = GetParam();
  auto r = tokenRow(p.tokenName, p.role, p.sites, p.subject, kSites, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(p.message), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Auth, BadRows,
    ::testing::Values(
        BadRow{"empty_name", "", "super-admin", {}, "", "--name \"\""},
        BadRow{"name_with_space", "a b", "super-admin", {}, "", "--name \"a b\""},
        BadRow{"unknown_role", "x", "admin", {}, "", "--role \"admin\" is not a role"},
        BadRow{"site_admin_without_site", "x", "site-admin", {}, "", "needs --site"},
        BadRow{"responder_without_site", "x", "responder", {}, "", "needs --site"},
        BadRow{"unknown_site", "x", "site-admin", {"Lodnon"}, "", "did you mean \"London\""},
        BadRow{"super_admin_with_site", "x", "super-admin", {"HQ"}, "", "--site is for"},
        BadRow{"device_without_subject", "x", "device", {}, "", "needs --user EXTENSION or --mac"},
        BadRow{"device_bad_subject", "x", "device", {}, "10a2", "neither an extension"},
        BadRow{"subject_for_admin", "x", "site-admin", {"HQ"}, "1001", "for device tokens"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Principal, CoversTheSitesItsRoleGives) {
  EXPECT_TRUE((Principal{"a", Role::SuperAdmin, {}, ""}.coversSite("London")));
  Principal hq{"b", Role::SiteAdmin, {"HQ"}, ""};
  EXPECT_TRUE(hq.coversSite("HQ"));
  EXPECT_FALSE(hq.coversSite("London"));
  EXPECT_FALSE(hq.coversSite(""));
  EXPECT_TRUE((Principal{"c", Role::Responder, {"London"}, ""}.coversSite("London")));
  EXPECT_FALSE((Principal{"d", Role::Device, {"HQ"}, "1001"}.coversSite("HQ")));
  EXPECT_FALSE((Principal{"e", Role::NetworkReporter, {}, ""}.coversSite("HQ")));
}

TEST(Role, NamesRoundTrip) {
  for (Role r :
       {Role::SuperAdmin, Role::SiteAdmin, Role::Responder, Role::Device, Role::NetworkReporter}) {
    EXPECT_EQ(parseRole(toString(r)), r);
  }
  EXPECT_EQ(parseRole("root"), std::nullopt);
}

}  // namespace
}  // namespace sos::admin
