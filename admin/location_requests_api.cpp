// The approval queue (location_requests_api.h).

#include "admin/location_requests_api.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "admin/me_api.h"
#include "admin/request_text.h"

namespace sos::admin {
namespace {

using nlohmann::json;

constexpr std::string_view kApprove = "/approve";
constexpr std::string_view kReject = "/reject";

}  // namespace

std::string keyFromName(std::string_view name) {
  std::string key;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!key.empty() && key.back() != '-') {
      key += '-';
    }
  }
  while (!key.empty() && key.back() == '-') key.pop_back();
  return key.substr(0, 64);
}

bool LocationRequestsApi::serves(std::string_view path) {
  return path == kPath ||
         (path.rfind(kPath, 0) == 0 && path.size() > kPath.size() && path[kPath.size()] == '/');
}

HttpResponse LocationRequestsApi::handle(const HttpRequest& r, std::string_view path,
                                         const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin) {
    return jsonError(403, "location requests are decided by the site's admins");
  }
  if (path == kPath) {
    store::LocationRequestQuery q;
    if (who.role != Role::SuperAdmin) q.sites = who.sites;
    for (const auto& [k, v] : queryParameters(r.target)) {
      if (k != "state") continue;
      if (v != "pending" && v != "approved" && v != "rejected") {
        return jsonError(400, "state is pending, approved or rejected");
      }
      q.state = v;
    }
    auto all = deps_.list(q);
    if (!all.ok()) return jsonError(500, all.error().message);
    json list = json::array();
    for (const auto& lr : all.value()) list.push_back(requestJson(lr));
    return HttpResponse{200, "application/json", jsonText(json{{"requests", list}}), {}};
  }
  // ID/approve or ID/reject.
  std::string_view rest = path.substr(kPath.size() + 1);
  const bool approve =
      rest.size() > kApprove.size() && rest.substr(rest.size() - kApprove.size()) == kApprove;
  const bool reject =
      rest.size() > kReject.size() && rest.substr(rest.size() - kReject.size()) == kReject;
  if (!approve && !reject) return jsonError(404, "no such path");
  rest.remove_suffix(approve ? kApprove.size() : kReject.size());
  int64_t id = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc() || end != rest.data() + rest.size()) {
    return jsonError(404, "no location request has that id");
  }
  auto found = deps_.find(id);
  if (!found.ok()) return jsonError(500, found.error().message);
  if (!found.value()) return jsonError(404, "no location request has that id");
  const store::LocationRequest& lr = *found.value();
  if (!who.coversSite(lr.site)) {
    return jsonError(403, "location request " + std::to_string(id) + " is not of your sites");
  }
  if (lr.state != "pending") {
    return jsonError(409,
                     "location request " + std::to_string(id) + " is " + lr.state + " already");
  }
  json body = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  if (!body.is_object()) return jsonError(400, "body must be a JSON object");
  const int64_t now = deps_.nowMs();

  if (reject) {
    if (!body.contains("reason") || !body["reason"].is_string() ||
        body["reason"].get<std::string>().empty()) {
      return jsonError(400, "reason: required (the user is shown it)");
    }
    const std::string reason = body["reason"].get<std::string>();
    store::AuditEntry audit{0,
                            now,
                            who.name,
                            std::string(toString(who.role)),
                            "location-request.reject",
                            "location-request:" + std::to_string(id),
                            lr.site,
                            lr.fields,
                            jsonText(json{{"reason", reason}})};
    auto rejected = deps_.reject(id, reason, audit);
    if (!rejected.ok()) return jsonError(500, rejected.error().message);
    if (!rejected.value())
      return jsonError(409, "location request " + std::to_string(id) + " is not pending any more");
    spdlog::info("admin API: location request {} (\"{}\", {}) rejected by \"{}\": {}", id, lr.name,
                 lr.extension, who.name, reason);
    if (deps_.tellUser) {
      deps_.tellUser(lr, "sosproxy: your company location \"" + lr.name + "\" was rejected",
                     "Your company location \"" + lr.name + "\" (request " + std::to_string(id) +
                         ", site " + lr.site + ") was rejected by " + who.name +
                         ".\n\nReason: " + reason +
                         "\n\nYour next emergency call from that network does not give it; "
                         "answer the prompt again with an address if you are there.\n");
    }
    return HttpResponse{
        200, "application/json", jsonText(json{{"rejected", id}, {"reason", reason}}), {}};
  }

  // Approve: the location as submitted, with what the admin changes; its site stays the
  // request's.
  json fields = json::parse(lr.fields, nullptr, false);
  if (!fields.is_object()) return jsonError(500, "the request's fields cannot be read");
  std::string key;
  for (const auto& [name, value] : body.items()) {
    if (name == "site" || name == "kind") {
      return jsonError(400, "field '" + name + "' is the request's own and is not changed");
    }
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (!item.is_string()) return jsonError(400, "field '" + name + "': a list holds strings");
        text += (text.empty() ? "" : ";") + item.get<std::string>();
      }
    } else if (value.is_number()) {
      text = value.dump();
    } else {
      return jsonError(400, "field '" + name + "': expected a string or a list of strings");
    }
    if (name == "key") {
      key = text;
    } else {
      fields[name] = text;
    }
  }
  if (key.empty()) key = keyFromName(fields.value("name", ""));
  if (key.empty()) key = "location-request-" + std::to_string(id);
  store::ImportRequest req;
  req.kind = store::DataKind::Locations;
  req.source = "request";
  if (who.role != Role::SuperAdmin) req.sites = who.sites;
  req.actor = who.name;
  req.role = std::string(toString(who.role));
  req.atMs = now;
  req.approvesRequest = id;
  req.createOnly = true;
  store::InputRecord record{0, {{"key", key, 0}}};
  for (const auto& [name, value] : fields.items()) {
    if (value.is_string()) record.fields.push_back({name, value.get<std::string>(), 0});
  }
  req.records.push_back(std::move(record));
  auto applied = deps_.apply(req);
  if (!applied.ok()) return refusedWrite(applied.error(), "location request");
  spdlog::info("admin API: location request {} (\"{}\", {}) approved by \"{}\" as location {}", id,
               lr.name, lr.extension, who.name, key);
  if (deps_.tellUser) {
    std::string text = "Your company location \"" + lr.name + "\" (request " + std::to_string(id) +
                       ", site " + lr.site + ") was approved by " + who.name + " as location " +
                       key + ".\n\n";
    for (const auto& [name, value] : fields.items()) {
      if (value.is_string()) text += name + ": " + value.get<std::string>() + "\n";
    }
    text += "\nYour next emergency call from that network gives this location.\n";
    deps_.tellUser(lr, "sosproxy: your company location \"" + lr.name + "\" was approved", text);
  }
  return HttpResponse{
      201, "application/json", jsonText(json{{"approved", id}, {"location", key}}), {}};
}

}  // namespace sos::admin
