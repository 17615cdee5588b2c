// The admin route table (routes.h).

#include "admin/routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "admin/openapi.h"
#include "admin/password.h"
#include "admin/request_text.h"
#include "admin/web_files.h"
#include "base/clock.h"
#include "base/text.h"

namespace sos::admin {

namespace {

using nlohmann::json;

HttpResponse jsonOk(int status, const json& j) {
  return HttpResponse{status, "application/json", jsonText(j), {}};
}

// The host part of a Host header: "[::1]:8080" -> "::1", "name:8080" -> "name".
std::string_view hostName(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto end = host.find(']');
    return end == std::string_view::npos ? host : host.substr(1, end - 1);
  }
  const auto colon = host.find(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// A Host that is an IP address cannot come from DNS rebinding (the page's origin is that very
// address); a name must be one we answer to.
bool hostAllowed(std::string_view host, const std::vector<std::string>& allowed) {
  const std::string_view name = hostName(host);
  if (name.empty()) return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(name), ec);
  if (!ec) return true;
  if (equalsNoCase(name, "localhost")) return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return equalsNoCase(name, a); });
}

bool isMediaType(std::string_view contentType, std::string_view type) {
  contentType = trimLws(contentType.substr(0, contentType.find(';')));
  return equalsNoCase(contentType, type);
}

bool methodIn(std::string_view method, std::string_view allowed) {
  while (!allowed.empty()) {
    const auto comma = allowed.find(',');
    if (trimLws(allowed.substr(0, comma)) == method) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

json tokenJson(const store::ApiToken& t) {
  json j{{"name", t.name}, {"role", t.role}, {"sites", t.sites}, {"created_at_ms", t.createdAtMs}};
  if (!t.subject.empty()) j["subject"] = t.subject;
  j["revoked_at_ms"] = t.revokedAtMs == 0 ? json(nullptr) : json(t.revokedAtMs);
  return j;
}

// A user name as the log may show it: at most 64 characters, anything but printable ASCII as '?'.
std::string printableName(const json& name) {
  std::string out = name.get<std::string>().substr(0, 64);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

std::optional<int64_t> queryNumber(std::string_view target, std::string_view key) {
  std::optional<int64_t> found;
  for (const auto& [k, v] : queryParameters(target)) {
    if (k != key) continue;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    found = ec != std::errc() || end != v.data() + v.size() || n < 0 ? -1 : n;
  }
  return found;
}

}  // namespace

const RouteSpec* AdminRoutes::findRoute(std::string_view path) {
  for (const auto& route : kRouteTable) {
    const std::string_view t = route.path;
    const auto open = t.find('{');
    if (open == std::string_view::npos) {
      if (path == t) return &route;
      continue;
    }
    // One "{name}" part: the path has the text before and after it, and something between.
    const std::string_view before = t.substr(0, open);
    const std::string_view after = t.substr(t.find('}', open) + 1);
    if (path.size() > before.size() + after.size() && path.substr(0, before.size()) == before &&
        path.substr(path.size() - after.size()) == after) {
      // A value may hold '/' (a Call-ID can), but not at either end: "calls//acknowledge" is no
      // Call-ID.
      const std::string_view value =
          path.substr(before.size(), path.size() - before.size() - after.size());
      if (value.front() != '/' && value.back() != '/') return &route;
    }
  }
  return nullptr;
}

HttpResponse AdminRoutes::handle(const HttpRequest& r) const {
  std::string_view path(r.target);
  path = path.substr(0, path.find('?'));
  const auto& only = settings_.onlyPaths;
  if (!only.empty() && std::find(only.begin(), only.end(), path) == only.end()) {
    return jsonError(404, "no such path on this listener");
  }
  const bool probe = path == kHealthPath || path == kReadyPath;
  if (!probe && !hostAllowed(r.host, settings_.allowedHosts)) {
    counters_.badHost.fetch_add(1, std::memory_order_relaxed);
    return jsonError(
        421, r.host.empty()
                 ? "a Host header is required"
                 : "Host \"" + r.host + "\" is not a name of this server (admin.allowed_hosts)");
  }

  const bool api = path.rfind(kApiPrefix, 0) == 0;
  const bool signIn = path == kSessionPath && r.method == "POST";
  const bool needsToken = (api && !signIn) || (path == kMetricsPath && !settings_.metricsPublic);
  std::optional<Principal> who;
  std::string sessionId;
  std::string hash;
  const Sessions::Session* session = nullptr;
  if (needsToken) {
    const std::string token = bearerToken(r.authorization);
    if (!token.empty()) {
      hash = tokenHash(token);
    } else if (api) {
      // The dashboard's cookie stands for the token it signed in with (session.h).
      sessionId = cookieValue(r.cookie, Sessions::kCookieName);
      session = sessions_.find(sessionId, nowMs());
      if (session != nullptr) hash = session->tokenHash;
    }
    std::optional<store::ApiToken> found;
    if (!hash.empty()) {
      bool unavailable = false;
      found = lookUp(hash, unavailable);
      if (unavailable) return jsonError(503, "tokens cannot be read now");
    }
    if (!found) {
      counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
      auto out = jsonError(401, !token.empty()       ? "unknown or revoked token"
                                : !sessionId.empty() ? "the session has ended: sign in again"
                                                     : "give a token: Authorization: Bearer TOKEN");
      out.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"sosproxy\"");
      return out;
    }
    who = principalOf(*found);
    // A cross-site page can make the browser send the cookie, never read the session's CSRF
    // token: without it, nothing but a read is let through.
    if (session != nullptr && r.method != "GET" && r.method != "HEAD" &&
        !sameSecret(r.csrfToken, session->csrf)) {
      counters_.csrfRefused.fetch_add(1, std::memory_order_relaxed);
      return forbidden(r, *who, "a request signed in by cookie needs the session's X-CSRF-Token");
    }
  }

  const RouteSpec* spec = findRoute(path);
  if (spec == nullptr) return jsonError(404, "no such path");
  const std::string_view allowed = spec->methods;
  if (!methodIn(r.method, allowed)) {
    auto out = jsonError(405, "use " + std::string(allowed));
    out.headers.emplace_back("Allow", std::string(allowed));
    return out;
  }
  // An import's body is the CSV file itself; every other body is JSON.
  const bool csv = path.rfind(RecordsApi::kImportPath, 0) == 0;
  if (!r.body.empty() && !isMediaType(r.contentType, csv ? "text/csv" : "application/json")) {
    return jsonError(415, csv ? "send the file as text/csv" : "send the body as application/json");
  }
  if (signIn) return this->signIn(r);
  if (path == kSessionPath) return this->session(r, *who, sessionId, session);
  if (path == LiveCalls::kEventsPath) return events(*who, hash, sessionId);
  return route(r, path, who ? &*who : nullptr);
}

HttpResponse AdminRoutes::events(const Principal& who, std::string hashOfToken,
                                 std::string sessionId) const {
  if (handlers_.liveCalls == nullptr) return jsonError(503, "live calls are not followed");
  auto out = handlers_.liveCalls->openStream(
      who, [this, hash = std::move(hashOfToken), session = std::move(sessionId)] {
        return stillSignedIn(hash, session);
      });
  if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
  return out;
}

bool AdminRoutes::stillSignedIn(const std::string& hashOfToken,
                                const std::string& sessionId) const {
  if (!sessionId.empty() && sessions_.find(sessionId, nowMs()) == nullptr) return false;
  bool unavailable = false;
  // A store that cannot be read now ends nobody's stream: the token as last read counts.
  return lookUp(hashOfToken, unavailable).has_value() || unavailable;
}

int64_t AdminRoutes::nowMs() const { return handlers_.nowMs ? handlers_.nowMs() : unixMsNow(); }

HttpResponse AdminRoutes::signIn(const HttpRequest& r) const {
  auto body = json::parse(r.body, nullptr, false);
  auto text = [&body](const char* key) {
    return body.is_object() && body.contains(key) && body[key].is_string();
  };
  const bool byToken = text("token");
  const bool byPassword = text("username") && text("password");
  if (byToken == byPassword) {
    return jsonError(400,
                     "send {\"token\": \"sos_...\"} or {\"username\": ..., \"password\": ...}");
  }
  // Checked before any password is hashed: a guessing address costs nothing more.
  if (const int64_t waitMs = signInLimiter_.waitMs(r.peerAddress, nowMs()); waitMs > 0) {
    counters_.signInThrottled.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("admin API: dashboard sign-in from {} refused: {} failures within {} s",
                 r.peerAddress, SignInLimiter::kMaxFailures, SignInLimiter::kWindowMs / 1000);
    auto out = jsonError(429, "too many failed sign-ins from this address: try again later");
    out.headers.emplace_back("Retry-After", std::to_string((waitMs + 999) / 1000));
    return out;
  }
  if (byPassword && !signInLimiter_.takeHash(nowMs())) {
    counters_.signInThrottled.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "admin API: password sign-in from {} refused: more than {} a second from all "
        "addresses",
        r.peerAddress, SignInLimiter::kHashesPerSecond);
    auto out = jsonError(429, "too many password sign-ins at once: try again in a second");
    out.headers.emplace_back("Retry-After", "1");
    return out;
  }
  bool unavailable = false;
  std::string hash;
  std::optional<store::ApiToken> found;
  if (byToken) {
    hash = tokenHash(body["token"].get<std::string>());
    found = lookUp(hash, unavailable);
  } else {
    found = passwordUser(body["username"].get<std::string>(), body["password"].get<std::string>(),
                         unavailable);
    if (found) hash = found->hash;
  }
  if (unavailable) return jsonError(503, "tokens cannot be read now");
  if (!found) {
    // The same answer whether the user exists or not (and passwordUser takes the same time).
    return byToken ? signInFailed(r, "an unknown or revoked token", "unknown or revoked token")
                   : signInFailed(r, "user \"" + printableName(body["username"]) + "\"",
                                  "unknown user or wrong password");
  }
  signInLimiter_.succeeded(r.peerAddress);
  const Principal who = principalOf(*found);
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin && who.role != Role::Responder) {
    return forbidden(r, who, "the dashboard is for super-admin, site-admin and responder tokens");
  }
  const auto opened = sessions_.open(hash, nowMs());
  record(who, "session.open", "token:" + who.name, "", "", byToken ? "token" : "password");
  json out{{"csrf", opened.csrf},
           {"name", who.name},
           {"role", toString(who.role)},
           {"sites", who.sites}};
  HttpResponse res = jsonOk(201, out);
  res.headers = {{"Set-Cookie", sessionCookie(opened.id, Sessions::kLifetimeMs / 1000, r.secure)},
                 {"Cache-Control", "no-store"}};
  return res;
}

std::optional<store::ApiToken> AdminRoutes::passwordUser(const std::string& name,
                                                         std::string_view password,
                                                         bool& unavailable) const {
  if (!handlers_.tokens.findLogin) return std::nullopt;
  auto read = handlers_.tokens.findLogin(name);
  if (!read.ok()) {
    spdlog::error("admin API: passwords cannot be read ({})", read.error().message);
    unavailable = true;
    return std::nullopt;
  }
  if (!read.value()) {
    verifyNothing(password);
    return std::nullopt;
  }
  if (!verifyPassword(password, read.value()->password)) return std::nullopt;
  return std::move(read.value()->token);
}

HttpResponse AdminRoutes::signInFailed(const HttpRequest& r, const std::string& what,
                                       std::string_view body) const {
  counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
  counters_.signInFailures.fetch_add(1, std::memory_order_relaxed);
  signInLimiter_.failed(r.peerAddress, nowMs());
  spdlog::warn("admin API: dashboard sign-in refused from {}: {}", r.peerAddress, what);
  return jsonError(401, std::string(body));
}

HttpResponse AdminRoutes::session(const HttpRequest& r, const Principal& who,
                                  const std::string& sessionId,
                                  const Sessions::Session* session) const {
  if (session == nullptr) return jsonError(404, "this request carries no session cookie");
  if (r.method == "DELETE") {
    sessions_.close(sessionId);
    record(who, "session.close", "token:" + who.name, "", "", "");
    HttpResponse res = jsonOk(200, json{{"signed_out", true}});
    res.headers = {{"Set-Cookie", sessionCookie("", 0, r.secure)}};
    return res;
  }
  HttpResponse res = jsonOk(200, json{{"csrf", session->csrf},
                                      {"name", who.name},
                                      {"role", toString(who.role)},
                                      {"sites", who.sites}});
  res.headers = {{"Cache-Control", "no-store"}};
  return res;
}

std::optional<store::ApiToken> AdminRoutes::lookUp(const std::string& hash,
                                                   bool& unavailable) const {
  if (!handlers_.tokens.find) return std::nullopt;
  auto read = handlers_.tokens.find(hash);
  if (read.ok()) {
    if (read.value()) {
      constexpr size_t kMaxRemembered = 4096;
      if (lastRead_.size() >= kMaxRemembered) lastRead_.clear();
      lastRead_[hash] = *read.value();
    } else {
      lastRead_.erase(hash);
    }
    return std::move(read.value());
  }
  auto it = lastRead_.find(hash);
  if (it == lastRead_.end()) {
    spdlog::error("admin API: tokens cannot be read ({}); a token not read before is refused",
                  read.error().message);
    unavailable = true;
    return std::nullopt;
  }
  counters_.tokenStoreFallbacks.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("admin API: tokens cannot be read ({}); token \"{}\" taken as last read",
               read.error().message, it->second.name);
  return it->second;
}

HttpResponse AdminRoutes::route(const HttpRequest& r, std::string_view path,
                                const Principal* who) const {
  if (path == kHealthPath) {
    return handlers_.healthz ? handlers_.healthz() : HttpResponse{200, "text/plain", "ok\n", {}};
  }
  if (path == kReadyPath) {
    return handlers_.readyz ? handlers_.readyz() : HttpResponse{200, "text/plain", "ready\n", {}};
  }
  if (path == kMetricsPath) {
    if (!handlers_.metrics) return jsonError(404, "no metrics");
    return HttpResponse{200, "text/plain; version=0.0.4", handlers_.metrics(), {}};
  }
  if (const WebFile* file = findWebFile(path)) return webFileResponse(*file);
  // Every path below is under /api/v1: `who` is set.
  if (path == kOpenApiPath) {
    return HttpResponse{200, "application/json", std::string(kOpenApiJson), {}};
  }
  if (path == kWhoamiPath) {
    json j{{"name", who->name}, {"role", toString(who->role)}, {"sites", who->sites}};
    if (!who->subject.empty()) j["subject"] = who->subject;
    return jsonOk(200, j);
  }
  if (path == LocationApi::kPath) {
    if (who->role == Role::Responder) {
      return forbidden(r, *who, "a responder token does not send location reports");
    }
    if (handlers_.locationApi == nullptr) return jsonError(503, "location reports are not taken");
    auto out = handlers_.locationApi->handle(r, *who);
    if (out.status == 403) {
      counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("admin API: location report refused for token \"{}\" ({}) from {}: {}",
                   who->name, toString(who->role), r.peerAddress, out.body.substr(0, 200));
    }
    return out;
  }
  if (path.rfind(kCallsPath, 0) == 0 && r.method == "POST") {
    std::string_view id = path.substr(kCallsPath.size());
    return acknowledge(r, id.substr(0, id.size() - kAckSuffix.size()), *who);
  }
  if (path.rfind(CallsApi::kPath, 0) == 0) {
    if (handlers_.callsApi == nullptr) return jsonError(503, "call records are not kept");
    auto out = handlers_.callsApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == kReloadPath) {
    if (who->role != Role::SuperAdmin) return forbidden(r, *who, "reload needs a super-admin");
    if (!handlers_.reload) return jsonError(503, "reload is not available");
    auto outcome = handlers_.reload();
    record(*who, "config.reload", "config", "", "", outcome.reloaded ? "reloaded" : "refused");
    return HttpResponse{outcome.reloaded ? 200 : 422, "application/json", outcome.json, {}};
  }
  if (path.rfind(kTokensPath, 0) == 0) return tokens(r, path, *who);
  if (path == OpsApi::kTrunksPath || path == OpsApi::kElinPath) {
    if (handlers_.opsApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.opsApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path.rfind(LocationsApi::kPath, 0) == 0) {
    if (handlers_.locationsApi == nullptr) return jsonError(503, "locations are not kept");
    auto out = handlers_.locationsApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == RetriggerApi::kPath) {
    if (handlers_.retriggerApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.retriggerApi->handle(r, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == ComplianceApi::kPath) {
    if (handlers_.complianceApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.complianceApi->handle(r, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == LiveCalls::kCallsPath) {
    if (handlers_.liveCalls == nullptr) return jsonError(503, "live calls are not followed");
    auto out = handlers_.liveCalls->snapshot(*who, nowMs());
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == DashboardApi::kTrackingPath) {
    if (handlers_.dashboardApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.dashboardApi->handle(r, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (LocationRequestsApi::serves(path)) {
    if (handlers_.requestsApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.requestsApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == MeApi::kPath || path == MeApi::kAnswerPath) {
    if (handlers_.meApi == nullptr) return jsonError(503, "not available");
    auto out = handlers_.meApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (RecordsApi::serves(path)) {
    if (handlers_.recordsApi == nullptr) return jsonError(503, "records are not kept");
    auto out = handlers_.recordsApi->handle(r, path, *who);
    if (out.status == 403) counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  if (path == kAuditPath) return audit(r, *who);
  return jsonError(404, "no such path");
}

HttpResponse AdminRoutes::acknowledge(const HttpRequest& r, std::string_view callIdEncoded,
                                      const Principal& who) const {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin && who.role != Role::Responder) {
    return forbidden(r, who, "acknowledging needs a responder, site-admin or super-admin");
  }
  if (!handlers_.acknowledge) return jsonError(503, "responder alerts are not running");
  const std::string callId = percentDecoded(callIdEncoded);
  std::string by;
  auto body = json::parse(r.body, nullptr, false);
  if (!r.body.empty() && !body.is_object()) return jsonError(400, "body must be a JSON object");
  if (body.is_object() && body.contains("by")) {
    if (!body["by"].is_string()) return jsonError(400, "field 'by' must be a string");
    by = body["by"].get<std::string>();
  }
  if (by.empty()) by = who.name;
  std::string site;
  if (who.role != Role::SuperAdmin) {
    // A scoped token learns nothing of another site's calls: unknown and foreign look alike.
    if (!handlers_.callSite) return jsonError(503, "call sites cannot be read");
    auto s = handlers_.callSite(callId);
    if (!s.ok()) return jsonError(500, s.error().message);
    if (!s.value() || !who.coversSite(*s.value())) {
      return forbidden(r, who, "no call of your sites has that Call-ID");
    }
    site = *s.value();
  } else if (handlers_.callSite) {
    if (auto s = handlers_.callSite(callId); s.ok() && s.value()) site = *s.value();
  }
  auto done = handlers_.acknowledge(callId, by);
  if (!done.ok()) return jsonError(500, done.error().message);
  if (!done.value()) return jsonError(404, "no alerted call with that Call-ID");
  record(who, "call.acknowledge", "call:" + callId, site, "", jsonText(json{{"by", by}}));
  return HttpResponse{200, "application/json", "{\"acknowledged\":true}\n", {}};
}

HttpResponse AdminRoutes::tokens(const HttpRequest& r, std::string_view path,
                                 const Principal& who) const {
  if (who.role != Role::SuperAdmin) return forbidden(r, who, "tokens are a super-admin's");
  const auto& t = handlers_.tokens;
  if (!t.list || !t.create || !t.revoke) return jsonError(503, "tokens are not kept");
  if (r.method == "GET") {
    auto all = t.list();
    if (!all.ok()) return jsonError(500, all.error().message);
    json list = json::array();
    for (const auto& token : all.value()) list.push_back(tokenJson(token));
    return jsonOk(200, json{{"tokens", list}});
  }
  if (r.method == "DELETE") {
    const std::string name = percentDecoded(path.substr(kTokensPath.size() + 1));
    store::AuditEntry e{0,
                        handlers_.nowMs(),
                        who.name,
                        std::string(toString(who.role)),
                        "token.revoke",
                        "token:" + name,
                        "",
                        "",
                        ""};
    auto revoked = t.revoke(name, e);
    if (!revoked.ok()) return jsonError(500, revoked.error().message);
    if (!revoked.value()) return jsonError(404, "no token in force is named \"" + name + "\"");
    spdlog::info("admin API: token \"{}\" revoked by \"{}\"", name, who.name);
    return jsonOk(200, json{{"revoked", name}});
  }
  auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object()) return jsonError(400, "body must be a JSON object");
  static const std::vector<std::string> kKnown{"name", "role", "sites", "user", "mac"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return jsonError(400, "unknown field '" + key + "'");
    }
    if (key == "sites") {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const json& s) { return s.is_string(); })) {
        return jsonError(400, "field 'sites' must be an array of site names");
      }
    } else if (!value.is_string()) {
      return jsonError(400, "field '" + key + "' must be a string");
    }
  }
  auto str = [&](const char* k) { return body.contains(k) ? body[k].get<std::string>() : ""; };
  if (body.contains("user") && body.contains("mac")) {
    return jsonError(400, "give 'user' or 'mac', not both");
  }
  std::vector<std::string> sites;
  if (body.contains("sites")) sites = body["sites"].get<std::vector<std::string>>();
  auto row = tokenRow(str("name"), str("role"), sites, str("user") + str("mac"), settings_.sites,
                      handlers_.nowMs());
  if (!row.ok()) return jsonError(400, row.error().message);
  const std::string secret = newToken();
  store::ApiToken token = row.value();
  token.hash = tokenHash(secret);
  store::AuditEntry e{0,
                      token.createdAtMs,
                      who.name,
                      std::string(toString(who.role)),
                      "token.create",
                      "token:" + token.name,
                      "",
                      "",
                      jsonText(tokenJson(token))};
  if (auto made = t.create(token, e); !made.ok()) {
    return jsonError(made.error().code == "store.conflict" ? 409 : 500, made.error().message);
  }
  spdlog::info("admin API: token \"{}\" ({}) created by \"{}\"", token.name, token.role, who.name);
  json out = tokenJson(token);
  out["token"] = secret;
  return jsonOk(201, out);
}

HttpResponse AdminRoutes::audit(const HttpRequest& r, const Principal& who) const {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin) {
    return forbidden(r, who, "the audit trail is an admin's");
  }
  if (!handlers_.tokens.loadAudit) return jsonError(503, "the audit trail is not kept");
  store::AuditQuery q;
  auto limit = queryNumber(r.target, "limit");
  auto before = queryNumber(r.target, "before");
  if ((limit && (*limit < 1 || *limit > 1000)) || (before && *before < 0)) {
    return jsonError(400, "limit is 1 to 1000 and before an entry id");
  }
  q.limit = static_cast<size_t>(limit.value_or(100));
  q.beforeId = before.value_or(0);
  if (who.role == Role::SiteAdmin) q.sites = who.sites;
  auto entries = handlers_.tokens.loadAudit(q);
  if (!entries.ok()) return jsonError(500, entries.error().message);
  json list = json::array();
  for (const auto& e : entries.value()) {
    json j{{"id", e.id},     {"at_ms", e.atMs},    {"actor", e.actor},
           {"role", e.role}, {"action", e.action}, {"object", e.object}};
    j["site"] = e.site.empty() ? json(nullptr) : json(e.site);
    j["before"] = e.before.empty() ? json(nullptr) : json(e.before);
    j["after"] = e.after.empty() ? json(nullptr) : json(e.after);
    list.push_back(std::move(j));
  }
  return jsonOk(200, json{{"entries", list}});
}

HttpResponse AdminRoutes::forbidden(const HttpRequest& r, const Principal& who,
                                    const std::string& why) const {
  counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("admin API: {} {} refused for token \"{}\" ({}) from {}: {}", r.method, r.target,
               who.name, toString(who.role), r.peerAddress, why);
  return jsonError(403, why);
}

void AdminRoutes::record(const Principal& who, std::string action, std::string object,
                         std::string site, std::string before, std::string after) const {
  store::AuditEntry e{0,
                      handlers_.nowMs ? handlers_.nowMs() : 0,
                      who.name,
                      std::string(toString(who.role)),
                      std::move(action),
                      std::move(object),
                      std::move(site),
                      std::move(before),
                      std::move(after)};
  spdlog::info("audit: {} {} by \"{}\" ({})", e.action, e.object, e.actor, e.role);
  if (!handlers_.tokens.audit) return;
  if (auto r = handlers_.tokens.audit(e); !r.ok()) {
    spdlog::error("audit entry {} {} by \"{}\" not saved: {}", e.action, e.object, e.actor,
                  r.error().message);
  }
}

}  // namespace sos::admin
