// The dashboard's sign-in (admin/session.h through admin/routes.h): a session cookie stands for
// the token it signed in with; a wrong, absent, ended or revoked one is refused; a request with
// the cookie that may change state needs the session's CSRF token.

#include "admin/session.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin/password.h"
#include "admin/routes.h"

namespace sos::admin {
namespace {

using nlohmann::json;

class Session : public ::testing::Test {
 protected:
  Session() {
    add("ops", "super-admin", {});
    add("london-admin", "site-admin", {"London"});
    add("desk", "responder", {"HQ"});
    add("phone", "device", {}, "1002");
  }

  void add(const std::string& name, const std::string& role, std::vector<std::string> sites,
           const std::string& subject = "") {
    store::ApiToken t;
    t.name = name;
    t.role = role;
    t.sites = std::move(sites);
    t.subject = subject;
    t.hash = tokenHash("secret-" + name);
    tokens[t.hash] = t;
  }

  AdminRoutes routes() {
    AdminRoutes::Handlers h;
    h.tokens.find = [this](const std::string& hash) -> Result<std::optional<store::ApiToken>> {
      auto it = tokens.find(hash);
      if (it == tokens.end() || it->second.revokedAtMs != 0) {
        return std::optional<store::ApiToken>{};
      }
      return std::optional<store::ApiToken>{it->second};
    };
    h.tokens.list = [] {
      return Result<std::vector<store::ApiToken>>(std::vector<store::ApiToken>{});
    };
    h.tokens.create = [](store::ApiToken&, const store::AuditEntry&) -> Result<void> { return {}; };
    h.tokens.revoke = [this](const std::string& name, const store::AuditEntry&) -> Result<bool> {
      for (auto& [hash, t] : tokens) {
        if (t.name == name && t.revokedAtMs == 0) {
          t.revokedAtMs = now;
          return true;
        }
      }
      return false;
    };
    h.tokens.audit = [this](const store::AuditEntry& e) -> Result<int64_t> {
      audit.push_back(e);
      return static_cast<int64_t>(audit.size());
    };
    h.tokens.findLogin =
        [this](const std::string& name) -> Result<std::optional<store::PasswordLogin>> {
      ++loginReads;
      for (const auto& [hash, t] : tokens) {
        auto kept = passwords.find(name);
        if (t.name == name && t.revokedAtMs == 0 && kept != passwords.end()) {
          return std::optional<store::PasswordLogin>{store::PasswordLogin{t, kept->second}};
        }
      }
      return std::optional<store::PasswordLogin>{};
    };
    h.reload = [this] {
      ++reloads;
      return AdminRoutes::ReloadOutcome{true, "{\"reloaded\":true}\n"};
    };
    h.nowMs = [this] { return now; };
    AdminRoutes::Settings settings;
    settings.sites = {"HQ", "London"};
    return AdminRoutes(std::move(h), std::move(settings));
  }

  static HttpRequest request(std::string method, std::string target, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    if (!r.body.empty()) r.contentType = "application/json";
    r.host = "127.0.0.1:8080";
    r.peerAddress = "192.0.2.7";
    return r;
  }

  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return "";
  }

  struct SignedIn {
    std::string cookie;  // "sos_session=ID", as the browser sends it back
    std::string csrf;
  };
  static SignedIn signIn(AdminRoutes& r, const std::string& name) {
    HttpResponse out =
        r.handle(request("POST", "/api/v1/session", json{{"token", "secret-" + name}}.dump()));
    EXPECT_EQ(out.status, 201) << out.body;
    const std::string set = header(out, "Set-Cookie");
    return {set.substr(0, set.find(';')), json::parse(out.body).value("csrf", "")};
  }

  static HttpRequest withCookie(HttpRequest r, const SignedIn& s, const std::string& csrf = "") {
    r.cookie = "theme=dark; " + s.cookie;
    r.csrfToken = csrf;
    return r;
  }

  // A password as the CLI keeps it, with few rounds so that the tests stay quick (the count is
  // the stored hash's own).
  void setPassword(const std::string& name, const std::string& password) {
    passwords[name] = hashPassword(password, 1000);
  }

  static HttpRequest passwordSignIn(const std::string& user, const std::string& password,
                                    const std::string& from = "192.0.2.7") {
    HttpRequest r =
        request("POST", "/api/v1/session", json{{"username", user}, {"password", password}}.dump());
    r.peerAddress = from;
    return r;
  }

  std::map<std::string, store::ApiToken> tokens;
  std::map<std::string, store::PasswordHash> passwords;  // by token name
  int loginReads = 0;
  std::vector<store::AuditEntry> audit;
  int reloads = 0;
  int64_t now = 1'700'000'000'000;
};

TEST_F(Session, SignInGivesAnHttpOnlyStrictCookieAndACsrfToken) {
  auto r = routes();
  HttpResponse out =
      r.handle(request("POST", "/api/v1/session", json{{"token", "secret-london-admin"}}.dump()));
  ASSERT_EQ(out.status, 201) << out.body;
  const std::string cookie = header(out, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("sos_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Path=/api/v1/"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Max-Age=28800"), std::string::npos) << cookie;
  // Over plain HTTP (loopback) the cookie cannot be Secure: the browser would never send it back.
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;
  const json body = json::parse(out.body);
  EXPECT_EQ(body["name"], "london-admin");
  EXPECT_EQ(body["role"], "site-admin");
  EXPECT_EQ(body["sites"], json::array({"London"}));
  const std::string csrf = body["csrf"];
  EXPECT_GE(csrf.size(), 40u);
  // The cookie's value is neither the token nor the CSRF token.
  const std::string id = cookieValue(cookie.substr(0, cookie.find(';')), "sos_session");
  EXPECT_GE(id.size(), 40u);
  EXPECT_EQ(id.find("secret"), std::string::npos);
  EXPECT_NE(id, csrf);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "session.open");

  // The cookie now stands for the token, and the session tells the page its CSRF token again.
  SignedIn s{"sos_session=" + id, csrf};
  HttpResponse whoami = r.handle(withCookie(request("GET", "/api/v1/whoami"), s));
  ASSERT_EQ(whoami.status, 200) << whoami.body;
  EXPECT_EQ(json::parse(whoami.body)["name"], "london-admin");
  HttpResponse again = r.handle(withCookie(request("GET", "/api/v1/session"), s));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["csrf"], csrf);
  // Two sign-ins are two sessions.
  EXPECT_NE(signIn(r, "london-admin").cookie, s.cookie);
}

// Issue 20: over HTTPS the cookie is Secure, signing in and signing out alike.
TEST_F(Session, OverHttpsTheCookieIsSecure) {
  auto r = routes();
  HttpRequest in =
      request("POST", "/api/v1/session", json{{"token", "secret-london-admin"}}.dump());
  in.secure = true;
  HttpResponse out = r.handle(in);
  ASSERT_EQ(out.status, 201) << out.body;
  const std::string cookie = header(out, "Set-Cookie");
  EXPECT_NE(cookie.find("; HttpOnly; SameSite=Strict; Max-Age=28800; Secure"), std::string::npos)
      << cookie;
  HttpRequest outOf = request("DELETE", "/api/v1/session");
  outOf.cookie = cookie.substr(0, cookie.find(';'));
  outOf.csrfToken = json::parse(out.body).value("csrf", "");
  outOf.secure = true;
  const HttpResponse closed = r.handle(outOf);
  EXPECT_EQ(closed.status, 200) << closed.body;
  EXPECT_NE(header(closed, "Set-Cookie").find("Max-Age=0; Secure"), std::string::npos)
      << header(closed, "Set-Cookie");
}

TEST_F(Session, AWrongOrAbsentTokenDoesNotSignIn) {
  auto r = routes();
  for (const std::string& body :
       {std::string("{}"), json{{"token", 7}}.dump(), json{{"token", "secret-nobody"}}.dump(),
        json{{"token", ""}}.dump()}) {
    HttpResponse out = r.handle(request("POST", "/api/v1/session", body));
    EXPECT_TRUE(out.status == 400 || out.status == 401) << body << ": " << out.status;
    EXPECT_EQ(header(out, "Set-Cookie"), "") << body;
  }
  EXPECT_EQ(
      r.handle(request("POST", "/api/v1/session", json{{"token", "secret-nobody"}}.dump())).status,
      401);
  // A phone's token is not for the dashboard.
  HttpResponse phone =
      r.handle(request("POST", "/api/v1/session", json{{"token", "secret-phone"}}.dump()));
  EXPECT_EQ(phone.status, 403);
  EXPECT_EQ(header(phone, "Set-Cookie"), "");
  // A form posted from another site cannot sign in: the body must be JSON.
  HttpRequest form = request("POST", "/api/v1/session", "token=secret-ops");
  form.contentType = "application/x-www-form-urlencoded";
  EXPECT_EQ(r.handle(form).status, 415);
  EXPECT_TRUE(audit.empty());
}

TEST_F(Session, AWrongAbsentOrEndedCookieIsRefused) {
  auto r = routes();
  const SignedIn s = signIn(r, "ops");
  HttpRequest none = request("GET", "/api/v1/whoami");
  EXPECT_EQ(r.handle(none).status, 401);
  HttpRequest forged = request("GET", "/api/v1/whoami");
  forged.cookie = "sos_session=sos_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(r.handle(forged).status, 401);
  HttpRequest empty = request("GET", "/api/v1/whoami");
  empty.cookie = "sos_session=";
  EXPECT_EQ(r.handle(empty).status, 401);
  // The CSRF token is no session id.
  HttpRequest swapped = request("GET", "/api/v1/whoami");
  swapped.cookie = "sos_session=" + s.csrf;
  EXPECT_EQ(r.handle(swapped).status, 401);
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), s)).status, 200);

  // Eight hours after sign-in the session has ended, whatever the browser keeps.
  now += Sessions::kLifetimeMs - 1;
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), s)).status, 200);
  now += 1;
  HttpResponse ended = r.handle(withCookie(request("GET", "/api/v1/whoami"), s));
  EXPECT_EQ(ended.status, 401);
  EXPECT_NE(ended.body.find("sign in again"), std::string::npos) << ended.body;
}

TEST_F(Session, ACookieRequestWithoutItsCsrfTokenCannotChangeState) {
  auto r = routes();
  const SignedIn s = signIn(r, "ops");
  const SignedIn other = signIn(r, "ops");
  // No header, a wrong one, and another session's: refused, nothing done.
  for (const std::string& csrf : {std::string(), std::string("x"), other.csrf, s.csrf + "x"}) {
    HttpResponse out = r.handle(withCookie(request("POST", "/api/v1/admin/reload"), s, csrf));
    EXPECT_EQ(out.status, 403) << "csrf '" << csrf << "': " << out.body;
    HttpResponse revoke = r.handle(withCookie(request("DELETE", "/api/v1/tokens/desk"), s, csrf));
    EXPECT_EQ(revoke.status, 403);
    HttpResponse signOut = r.handle(withCookie(request("DELETE", "/api/v1/session"), s, csrf));
    EXPECT_EQ(signOut.status, 403);
  }
  EXPECT_EQ(reloads, 0);
  EXPECT_EQ(tokens[tokenHash("secret-desk")].revokedAtMs, 0);
  EXPECT_EQ(r.counters().csrfRefused.load(), 12u);
  // Reads need no CSRF token; a change with the right one goes through.
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/tokens"), s)).status, 200);
  EXPECT_EQ(r.handle(withCookie(request("POST", "/api/v1/admin/reload"), s, s.csrf)).status, 200);
  EXPECT_EQ(reloads, 1);
  // A bearer token is not sent by a browser on its own: it needs no CSRF token.
  HttpRequest bearer = request("POST", "/api/v1/admin/reload");
  bearer.authorization = "Bearer secret-ops";
  EXPECT_EQ(r.handle(bearer).status, 200);
  EXPECT_EQ(reloads, 2);
}

TEST_F(Session, SignOutAndRevocationEndTheSession) {
  auto r = routes();
  const SignedIn s = signIn(r, "ops");
  HttpResponse out = r.handle(withCookie(request("DELETE", "/api/v1/session"), s, s.csrf));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(header(out, "Set-Cookie").rfind("sos_session=; ", 0), 0u);
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), s)).status, 401);

  const SignedIn desk = signIn(r, "desk");
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), desk)).status, 200);
  tokens[tokenHash("secret-desk")].revokedAtMs = now;
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), desk)).status, 401);
}

TEST_F(Session, ACookieCarriesItsTokensRoleAndSitesOnly) {
  auto r = routes();
  const SignedIn s = signIn(r, "london-admin");
  // A site-admin's cookie is a site-admin: tokens and reloads stay a super-admin's.
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/tokens"), s)).status, 403);
  EXPECT_EQ(r.handle(withCookie(request("POST", "/api/v1/admin/reload"), s, s.csrf)).status, 403);
  EXPECT_EQ(reloads, 0);
}

TEST(Cookies, TheNamedCookieIsFoundAmongOthers) {
  EXPECT_EQ(cookieValue("a=1; sos_session=abc; b=2", "sos_session"), "abc");
  EXPECT_EQ(cookieValue("sos_session=abc", "sos_session"), "abc");
  EXPECT_EQ(cookieValue("xsos_session=abc", "sos_session"), "");
  EXPECT_EQ(cookieValue("", "sos_session"), "");
  EXPECT_TRUE(sameSecret("abc", "abc"));
  EXPECT_FALSE(sameSecret("abc", "abd"));
  EXPECT_FALSE(sameSecret("abc", "ab"));
  EXPECT_FALSE(sameSecret("", ""));
}

TEST_F(Session, APasswordSignsInAsItsTokenWithItsRoleAndSites) {
  setPassword("london-admin", "correct horse battery");
  auto r = routes();
  HttpResponse out = r.handle(passwordSignIn("london-admin", "correct horse battery"));
  ASSERT_EQ(out.status, 201) << out.body;
  const std::string cookie = header(out, "Set-Cookie");
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  const json body = json::parse(out.body);
  EXPECT_EQ(body["name"], "london-admin");
  EXPECT_EQ(body["role"], "site-admin");
  EXPECT_EQ(body["sites"], json::array({"London"}));
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "session.open");
  EXPECT_EQ(audit[0].after, "password");
  // The cookie is scoped like the token: the London admin may not reload, and changes need
  // the CSRF token.
  SignedIn s{cookie.substr(0, cookie.find(';')), body["csrf"]};
  HttpResponse whoami = r.handle(withCookie(request("GET", "/api/v1/whoami"), s));
  ASSERT_EQ(whoami.status, 200);
  EXPECT_EQ(json::parse(whoami.body)["sites"], json::array({"London"}));
  EXPECT_EQ(r.handle(withCookie(request("POST", "/api/v1/admin/reload"), s)).status, 403);
  EXPECT_EQ(r.handle(withCookie(request("POST", "/api/v1/admin/reload"), s, s.csrf)).status, 403);
  EXPECT_EQ(reloads, 0);
  // Revoking the token ends the password's sign-ins too.
  tokens[tokenHash("secret-london-admin")].revokedAtMs = now;
  EXPECT_EQ(r.handle(withCookie(request("GET", "/api/v1/whoami"), s)).status, 401);
  EXPECT_EQ(r.handle(passwordSignIn("london-admin", "correct horse battery")).status, 401);
}

TEST_F(Session, AWrongPasswordAndAnUnknownUserGetTheSameAnswer) {
  setPassword("ops", "correct horse battery");
  auto r = routes();
  HttpResponse wrong = r.handle(passwordSignIn("ops", "correct horse batterY"));
  HttpResponse unknown = r.handle(passwordSignIn("nobody", "correct horse battery"));
  // A token without a password is no user either.
  HttpResponse noPassword = r.handle(passwordSignIn("desk", ""));
  for (const HttpResponse* out : {&wrong, &unknown, &noPassword}) {
    EXPECT_EQ(out->status, 401);
    EXPECT_EQ(out->body, "{\"error\":\"unknown user or wrong password\"}\n");
    EXPECT_EQ(header(*out, "Set-Cookie"), "");
  }
  EXPECT_EQ(loginReads, 3);
  EXPECT_EQ(r.counters().signInFailures.load(), 3u);
  EXPECT_EQ(r.counters().unauthenticated.load(), 3u);
  EXPECT_TRUE(audit.empty());
  // A token and a password together, or a user without a password, is no sign-in.
  EXPECT_EQ(
      r.handle(
           request("POST", "/api/v1/session",
                   json{{"token", "secret-ops"}, {"username", "ops"}, {"password", "x"}}.dump()))
          .status,
      400);
  EXPECT_EQ(r.handle(request("POST", "/api/v1/session", json{{"username", "ops"}}.dump())).status,
            400);
}

TEST_F(Session, RepeatedFailuresFromOneAddressAreHeldOff) {
  setPassword("ops", "correct horse battery");
  auto r = routes();
  for (int i = 0; i < SignInLimiter::kMaxFailures; ++i) {
    EXPECT_EQ(r.handle(passwordSignIn("ops", "guess " + std::to_string(i))).status, 401);
    now += 1000;  // within the password checks all addresses together may make
  }
  const int readsBefore = loginReads;
  // Now even the right password waits, and no password is looked up or hashed.
  HttpResponse held = r.handle(passwordSignIn("ops", "correct horse battery"));
  EXPECT_EQ(held.status, 429) << held.body;
  // The window began at the first failure, a second per attempt ago.
  EXPECT_EQ(header(held, "Retry-After"),
            std::to_string(SignInLimiter::kWindowMs / 1000 - SignInLimiter::kMaxFailures));
  EXPECT_EQ(
      r.handle(request("POST", "/api/v1/session", json{{"token", "secret-ops"}}.dump())).status,
      429);
  EXPECT_EQ(loginReads, readsBefore);
  EXPECT_EQ(r.counters().signInThrottled.load(), 2u);
  // Another address is not held off.
  EXPECT_EQ(r.handle(passwordSignIn("ops", "correct horse battery", "192.0.2.8")).status, 201);
  // When the window has passed, the address may try again.
  now += SignInLimiter::kWindowMs;
  EXPECT_EQ(r.handle(passwordSignIn("ops", "correct horse battery")).status, 201);
}

// Each password costs a PBKDF2 on the I/O thread, which also delivers alerts: all addresses
// together get kHashesPerSecond checks a second (kHashBurst at once), and a sign-in beyond that
// is answered 429 before any password is read or hashed. Token sign-ins are not held.
TEST_F(Session, PasswordChecksOfAllAddressesTogetherAreBounded) {
  setPassword("ops", "correct horse battery");
  auto r = routes();
  for (int i = 0; i < SignInLimiter::kHashBurst; ++i) {
    const std::string address = "192.0.2." + std::to_string(10 + i);
    EXPECT_EQ(r.handle(passwordSignIn("ops", "guess", address)).status, 401) << address;
  }
  const int readsBefore = loginReads;
  HttpResponse held = r.handle(passwordSignIn("ops", "correct horse battery", "192.0.2.99"));
  EXPECT_EQ(held.status, 429) << held.body;
  EXPECT_EQ(header(held, "Retry-After"), "1");
  EXPECT_EQ(loginReads, readsBefore);
  EXPECT_EQ(r.counters().signInThrottled.load(), 1u);
  EXPECT_EQ(
      r.handle(request("POST", "/api/v1/session", json{{"token", "secret-ops"}}.dump())).status,
      201);
  // Half a second later one more check is allowed (two a second).
  now += 1000 / SignInLimiter::kHashesPerSecond;
  EXPECT_EQ(r.handle(passwordSignIn("ops", "correct horse battery", "192.0.2.99")).status, 201);
  EXPECT_EQ(r.handle(passwordSignIn("ops", "correct horse battery", "192.0.2.98")).status, 429);
}

}  // namespace
}  // namespace sos::admin
