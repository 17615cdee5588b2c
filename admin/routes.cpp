// The admin route table (routes.h).

#include "admin/routes.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace sos::admin {

namespace {

std::string percentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Messages may quote what a client sent: invalid UTF-8 is replaced, never an exception.
HttpResponse jsonError(int status, const std::string& message) {
  return HttpResponse{status, "application/json",
                      nlohmann::json{{"error", message}}.dump(
                          -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                          "\n"};
}

}  // namespace

std::optional<AdminRoutes::Acknowledgement> AdminRoutes::acknowledgement(const HttpRequest& r,
                                                                         std::string_view path) {
  if (r.method != "POST" || path.rfind(kCallsPath, 0) != 0 || path.size() <= kCallsPath.size() ||
      path.substr(path.size() - std::min(path.size(), kAckSuffix.size())) != kAckSuffix) {
    return std::nullopt;
  }
  std::string_view id = path.substr(kCallsPath.size());
  id = id.substr(0, id.size() - kAckSuffix.size());
  if (id.empty()) return std::nullopt;
  Acknowledgement a;
  a.callId = percentDecoded(id);
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("by") && body["by"].is_string()) {
    a.by = body["by"].get<std::string>();
  }
  if (a.by.empty()) a.by = r.peerAddress;
  return a;
}

HttpResponse AdminRoutes::handle(const HttpRequest& r) const {
  std::string_view path(r.target);
  path = path.substr(0, path.find('?'));
  if (path == LocationApi::kPath && handlers_.locationApi != nullptr) {
    return handlers_.locationApi->handle(r);
  }
  if (path == kHealthPath) {
    return handlers_.healthz ? handlers_.healthz() : HttpResponse{200, "text/plain", "ok\n"};
  }
  if (path == kReadyPath && handlers_.readyz) return handlers_.readyz();
  if (path == kMetricsPath && handlers_.metrics) {
    return HttpResponse{200, "text/plain; version=0.0.4", handlers_.metrics()};
  }
  if (auto ack = acknowledgement(r, path)) {
    if (!handlers_.acknowledge) return jsonError(503, "responder alerts are not running");
    auto done = handlers_.acknowledge(ack->callId, ack->by);
    if (!done.ok()) return jsonError(500, done.error().message);
    if (!done.value()) return jsonError(404, "no alerted call with that Call-ID");
    return HttpResponse{200, "application/json", "{\"acknowledged\":true}\n"};
  }
  if (path == kReloadPath && handlers_.reload) {
    if (r.method != "POST") return jsonError(405, "use POST to reload");
    auto outcome = handlers_.reload();
    return HttpResponse{outcome.reloaded ? 200 : 422, "application/json", outcome.json};
  }
  return jsonError(404, "no such path");
}

}  // namespace sos::admin
