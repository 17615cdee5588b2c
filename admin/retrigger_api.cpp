// Re-trigger (retrigger_api.h).

#include "admin/retrigger_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "admin/request_text.h"

namespace sos::admin {

using nlohmann::json;

HttpResponse RetriggerApi::handle(const HttpRequest& r, const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin) {
    return jsonError(403, "re-triggering is an admin's");
  }
  auto snapshot = deps_.snapshot();
  if (!snapshot) return jsonError(503, "location data is not loaded yet");
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || (body.contains("site") == body.contains("users"))) {
    return jsonError(400, "send {\"site\": \"HQ\"} or {\"users\": [\"1001\", ...]}");
  }
  std::vector<std::string> extensions;
  if (body.contains("site")) {
    if (!body["site"].is_string()) return jsonError(400, "site must be a site's name");
    const std::string site = body["site"].get<std::string>();
    if (!who.coversSite(site)) return jsonError(403, "site \"" + site + "\" is not of your sites");
    for (const auto& u : snapshot->data().users) {
      if (u.site == site) extensions.push_back(u.extension);
    }
  } else {
    if (!body["users"].is_array() || body["users"].empty()) {
      return jsonError(400, "users must be a list of extensions");
    }
    for (const auto& item : body["users"]) {
      if (!item.is_string()) return jsonError(400, "users must be a list of extensions");
      const auto* user = snapshot->findUser(item.get<std::string>());
      if (user == nullptr) return jsonError(404, "no user has extension " + item.dump());
      if (!who.coversSite(user->site)) {
        return jsonError(403, "user " + user->extension + " is not of your sites");
      }
      extensions.push_back(user->extension);
    }
  }
  store::AuditEntry audit{0,
                          deps_.nowMs(),
                          who.name,
                          std::string(toString(who.role)),
                          "prompts.retrigger",
                          "users",
                          body.contains("site") ? body["site"].get<std::string>() : "",
                          "",
                          jsonText(json{{"users", extensions}})};
  auto reset = deps_.reset(extensions, audit);
  if (!reset.ok()) return jsonError(500, reset.error().message);
  json done = json::array(), emailed = json::array(), noEmail = json::array();
  for (const auto& [extension, email] : reset.value()) {
    done.push_back(extension);
    if (email.empty()) {
      noEmail.push_back(extension);
      continue;
    }
    const auto* user = snapshot->findUser(extension);
    const std::string page = deps_.selfServiceUrl ? deps_.selfServiceUrl() : "";
    deps_.mail(email, "sosproxy: please confirm where you are",
               "Hello" + (user && !user->name.empty() ? " " + user->name : std::string()) +
                   ",\n\nyour administrator asks you to confirm the location your next emergency "
                   "call will report. Your phone or softphone will ask you where you are the next "
                   "time it reports its network; answer it there" +
                   (page.empty() ? std::string(".\n")
                                 : ", or on the page My emergency location: " + page + "\n"));
    emailed.push_back(extension);
  }
  spdlog::info("admin API: prompts re-triggered by \"{}\" for {} users ({} e-mailed)", who.name,
               done.size(), emailed.size());
  return HttpResponse{200,
                      "application/json",
                      jsonText(json{{"reset", done}, {"emailed", emailed}, {"no_email", noEmail}}),
                      {}};
}

}  // namespace sos::admin
