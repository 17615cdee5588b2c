// The user's own side of the API (me_api.h).

#include "admin/me_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "admin/location_api.h"
#include "admin/request_text.h"
#include "base/text.h"

namespace sos::admin {
namespace {

// "field 'NAME': PROBLEM", the answer to a field the user's input cannot be read from.
std::string fieldProblem(const std::string& name, const std::string& problem) {
  std::string out = "field '";
  out.append(name).append("': ").append(problem);
  return out;
}

using nlohmann::json;

// What the answer to a save-personal may hold: the personal location's own fields; whose it
// is, its key, networks and confirmation are sosproxy's to fill in.
bool userField(const std::string& column) {
  return column != "key" && column != "extension" && column != "confirmed" &&
         column != "networks" && column != "bssids" && column != "hold_until_ms";
}

// A JSON value as an input field's text: strings as given, numbers as written, arrays of
// strings joined by ';'. False (with the reason in `text`) for another shape.
bool inputText(const json& value, std::string& text) {
  if (value.is_string()) {
    text = value.get<std::string>();
    return true;
  }
  if (value.is_number()) {
    text = value.dump();
    return true;
  }
  if (value.is_array()) {
    text.clear();
    for (const auto& item : value) {
      if (!item.is_string()) {
        text = "a list holds strings";
        return false;
      }
      text += (text.empty() ? "" : ";") + item.get<std::string>();
    }
    return true;
  }
  text = "expected a string, a number or a list of strings";
  return false;
}

}  // namespace

json requestJson(const store::LocationRequest& r) {
  json j{{"id", r.id},
         {"site", r.site},
         {"extension", r.extension},
         {"name", r.name},
         {"state", r.state},
         {"submitted_at_ms", r.submittedAtMs},
         {"fields", json::parse(r.fields, nullptr, false)}};
  if (r.decidedAtMs != 0) {
    j["decided_at_ms"] = r.decidedAtMs;
    j["decided_by"] = r.decidedBy;
  }
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (!r.locationKey.empty()) j["location"] = r.locationKey;
  return j;
}

const model::UserRow* userOf(const Principal& who, const routing::LocationSnapshot& snapshot) {
  if (who.role != Role::Device || who.subject.empty()) return nullptr;
  return isDigits(who.subject) ? snapshot.findUser(who.subject)
                               : snapshot.findUserByMac(who.subject);
}

store::ImportRequest MeApi::request(store::DataKind kind, const Principal& who) const {
  store::ImportRequest req;
  req.kind = kind;
  req.source = "request";
  req.actor = who.name;
  req.role = std::string(toString(who.role));
  req.atMs = deps_.nowMs();
  return req;
}

HttpResponse MeApi::handle(const HttpRequest& r, std::string_view path, const Principal& who) {
  if (who.role != Role::Device) {
    return jsonError(403, "/api/v1/me is a user's own: use the user's device token");
  }
  auto snapshot = deps_.snapshot();
  if (!snapshot) return jsonError(503, "location data is not loaded yet");
  const model::UserRow* user = userOf(who, *snapshot);
  if (user == nullptr) return jsonError(404, "this token's user is not known");
  if (path == kAnswerPath) return answer(r, *user, who);

  if (r.method == "PUT") {
    json body = json::parse(r.body, nullptr, false);
    if (!body.is_object() || body.size() != 1 || !body.contains("location_permission") ||
        !body["location_permission"].is_boolean()) {
      return jsonError(400,
                       "send {\"location_permission\": true or false}: the only setting that is "
                       "the user's to change");
    }
    const bool allowed = body["location_permission"].get<bool>();
    if (deps_.answerPermission) {
      const int64_t now = deps_.nowMs();
      store::AuditEntry audit{0,
                              now,
                              who.name,
                              std::string(toString(who.role)),
                              "user.location-permission",
                              "user:" + user->extension,
                              user->site,
                              jsonText(json{{"location_permission", user->locationPermission}}),
                              jsonText(json{{"location_permission", allowed}})};
      auto answered = deps_.answerPermission(user->extension, allowed, now, audit);
      if (!answered.ok()) return refusedWrite(answered.error(), "the user's change");
      if (!answered.value()) return jsonError(404, "this token's user is not known");
    } else {
      store::ImportRequest req = request(store::DataKind::Users, who);
      req.records.push_back({0,
                             {{"extension", user->extension, 0},
                              {"location_permission", allowed ? "yes" : "no", 0}}});
      auto applied = deps_.apply(req);
      if (!applied.ok()) return refusedWrite(applied.error(), "the user's change");
    }
    spdlog::info("admin API: {} {} location sharing", user->extension,
                 allowed ? "allows" : "does not allow");
    // `user` points into the snapshot being replaced: keep its extension before letting go.
    const std::string extension = user->extension;
    snapshot = deps_.snapshot();
    user = snapshot ? snapshot->findUser(extension) : nullptr;
    if (user == nullptr) return jsonError(500, "the user cannot be read back");
  }

  json out{
      {"extension", user->extension},
      {"name", user->name},
      {"site", user->site},
      {"nomadic", user->nomadic},
      {"nomadic_services", snapshot->nomadicAllowed(user->site)},
      {"location_permission", user->locationPermission},
      {"location_permission_asked", user->permissionAnsweredAtMs != 0},
      {"location_permission_answered_at_ms",
       user->permissionAnsweredAtMs != 0 ? json(user->permissionAnsweredAtMs) : json(nullptr)}};
  // Why the user is not asked where they are and cannot add addresses, as a report's answer says.
  if (!snapshot->nomadicAllowed(user->site)) out["note"] = nomadicOffText(user->site);
  auto latest = deps_.latestReport(user->extension);
  model::DeviceReport report;
  report.extension = user->extension;
  report.reportedAtMs = deps_.nowMs();
  if (latest.ok() && latest.value()) {
    report = *latest.value();
    out["report"] = {{"ip", report.ip},
                     {"bssid", report.bssid},
                     {"chassis", report.chassis},
                     {"port", report.port},
                     {"network_provided", report.networkProvided},
                     {"reported_at_ms", report.reportedAtMs}};
  } else {
    out["report"] = nullptr;
  }
  // Where a 911 placed now would say the user is, as far as the report tells.
  auto res = snapshot->resolveReport(report, deps_.nowMs());
  if (res.location != nullptr) {
    out["location"] = {{"key", res.location->key},
                       {"name", res.location->name},
                       {"address", res.location->civic.oneLine()},
                       {"found_by", std::string(routing::toString(res.signal))},
                       {"evidence", res.evidence}};
  } else {
    out["location"] = nullptr;
  }
  // The latest report's prompt, as its answer gave it; none before the first report, nor when
  // the report found a personal address the user has confirmed (nothing is left to ask).
  const bool confirmedPersonal = res.location != nullptr &&
                                 res.location->kind == model::LocationKind::Personal &&
                                 res.location->confirmed;
  if (latest.ok() && latest.value() && !confirmedPersonal && snapshot->nomadicAllowed(user->site)) {
    const ReportPrompt prompt = reportPrompt(res);
    out["prompt"] = {{"status", prompt.detectable ? "detectable" : "undetectable"},
                     {"text", prompt.text},
                     {"choices", prompt.choices}};
  } else {
    out["prompt"] = nullptr;
  }
  json submitted = json::array();
  if (deps_.requests) {
    store::LocationRequestQuery q;
    q.extension = user->extension;
    if (auto mine = deps_.requests(q); mine.ok()) {
      for (const auto& lr : mine.value()) submitted.push_back(requestJson(lr));
    }
  }
  out["submitted"] = submitted;
  return HttpResponse{200, "application/json", jsonText(out), {}};
}

HttpResponse MeApi::submit(const json& body, const model::UserRow& user,
                           const model::DeviceReport& report, const Principal& who) {
  if (!deps_.submit) return jsonError(503, "submissions are not kept");
  // The location as the user describes it; its site is the user's, its kind company.
  json fields = json::object();
  const auto& columns = store::dataColumns(store::DataKind::Locations);
  for (const auto& [name, value] : body.items()) {
    if (name == "choice") continue;
    if (std::find(columns.begin(), columns.end(), name) == columns.end() || name == "key" ||
        name == "site" || name == "kind") {
      return jsonError(400, "field '" + name +
                                "' is not one of a company location's that a user gives: name, "
                                "the RFC 5139 elements, latitude, longitude, subnets, bssids, "
                                "switches");
    }
    std::string text;
    if (!inputText(value, text)) return jsonError(400, fieldProblem(name, text));
    fields[name] = text;
  }
  if (!fields.contains("name")) return jsonError(400, "name: required");
  if (!fields.contains("subnets") && !fields.contains("bssids") && !fields.contains("switches")) {
    if (!report.ip.empty()) fields["subnets"] = report.ip;
    if (!report.bssid.empty()) fields["bssids"] = report.bssid;
  }
  fields["site"] = user.site;
  fields["kind"] = "company";
  // Checked now as the approval would write it, so the user hears of a problem at once.
  store::ImportRequest check = request(store::DataKind::Locations, who);
  check.dryRun = true;
  store::InputRecord record{0, {{"key", "submitted-location", 0}}};
  for (const auto& [name, value] : fields.items()) {
    record.fields.push_back({name, value.get<std::string>(), 0});
  }
  check.records.push_back(std::move(record));
  if (auto checked = deps_.apply(check); !checked.ok())
    return refusedWrite(checked.error(), "the user's change");

  store::LocationRequest lr;
  lr.site = user.site;
  lr.extension = user.extension;
  lr.name = fields["name"].get<std::string>();
  lr.fields = fields.dump();
  lr.submittedAtMs = deps_.nowMs();
  store::AuditEntry audit{0,
                          lr.submittedAtMs,
                          who.name,
                          std::string(toString(who.role)),
                          "location-request.submit",
                          "",
                          lr.site,
                          "",
                          lr.fields};
  if (auto kept = deps_.submit(lr, audit); !kept.ok())
    return refusedWrite(kept.error(), "the user's change");
  spdlog::info("admin API: {} submitted location \"{}\" of site {} for approval (request {})",
               user.extension, lr.name, lr.site, lr.id);
  if (deps_.tellApprovers) {
    std::string text = "User " + user.extension +
                       (user.name.empty() ? "" : " (" + user.name + ")") + " of site " + user.site +
                       " submitted a company location for approval.\n\n";
    for (const auto& [name, value] : fields.items()) {
      text += name + ": " + value.get<std::string>() + "\n";
    }
    text += "\nApprove: POST /api/v1/location-requests/" + std::to_string(lr.id) +
            "/approve\nReject:  POST /api/v1/location-requests/" + std::to_string(lr.id) +
            "/reject with {\"reason\": \"...\"}\n";
    deps_.tellApprovers(lr,
                        "sosproxy: \"" + lr.name + "\" submitted by " + user.extension +
                            " for approval (site " + user.site + ")",
                        text);
  }
  return HttpResponse{201, "application/json", jsonText(requestJson(lr)), {}};
}

HttpResponse MeApi::answer(const HttpRequest& r, const model::UserRow& user, const Principal& who) {
  if (r.method != "POST") return jsonError(405, "use POST");
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("choice") || !body["choice"].is_string()) {
    return jsonError(400,
                     "send {\"choice\": \"confirm\" | \"save-personal\" | \"this-emergency-only\" "
                     "| \"submit-company\", ...}");
  }
  const std::string choice = body["choice"].get<std::string>();
  auto latest = deps_.latestReport(user.extension);
  if (!latest.ok()) return jsonError(503, "the latest report cannot be read now");
  if (!latest.value()) {
    return jsonError(409, "no report from this user's device yet: send a location report first");
  }
  const model::DeviceReport& report = *latest.value();
  auto snapshot = deps_.snapshot();
  if (!snapshot) return jsonError(503, "location data is not loaded yet");

  if (choice == "confirm") {
    auto res = snapshot->resolveReport(report, deps_.nowMs());
    if (res.location == nullptr || res.location->kind != model::LocationKind::Personal ||
        res.location->confirmed) {
      return HttpResponse{
          200,
          "application/json",
          jsonText(json{{"confirmed", res.location ? res.location->key : ""}, {"changed", false}}),
          {}};
    }
    store::ImportRequest req = request(store::DataKind::PersonalLocations, who);
    req.records.push_back({0, {{"key", res.location->key, 0}, {"confirmed", "yes", 0}}});
    auto applied = deps_.apply(req);
    if (!applied.ok()) return refusedWrite(applied.error(), "the user's change");
    spdlog::info("admin API: {} confirmed personal location {}", user.extension, res.location->key);
    return HttpResponse{200,
                        "application/json",
                        jsonText(json{{"confirmed", res.location->key}, {"changed", true}}),
                        {}};
  }
  if (choice == "submit-company") return submit(body, user, report, who);
  if (choice == "save-personal") return save(body, user, report, *snapshot, who, false);
  if (choice == "this-emergency-only") return save(body, user, report, *snapshot, who, true);
  return jsonError(400,
                   "choice must be \"confirm\", \"save-personal\", \"this-emergency-only\" or "
                   "\"submit-company\"");
}

// save-personal and this-emergency-only: the address as given, tied to the network the device
// last reported from; a hold (issue 17) ends at now + location.temporary_hold_s, or sooner when
// the device reports from another network (routing/location_resolver.cpp), and replaces the
// user's earlier holds.
HttpResponse MeApi::save(const json& body, const model::UserRow& user,
                         const model::DeviceReport& report,
                         const routing::LocationSnapshot& snapshot, const Principal& who,
                         bool hold) {
  if (!snapshot.nomadicAllowed(user.site)) return jsonError(403, nomadicOffText(user.site));
  if (hold && report.ip.empty() && report.bssid.empty()) {
    return jsonError(409, "the latest report names no network to hold an address for");
  }
  store::InputRecord record;
  const int64_t now = deps_.nowMs();
  const std::string key = user.extension + (hold ? "-hold-" : "-") + std::to_string(now);
  record.fields.push_back({"key", key, 0});
  record.fields.push_back({"extension", user.extension, 0});
  record.fields.push_back({"confirmed", "yes", 0});
  if (!report.ip.empty()) record.fields.push_back({"networks", report.ip, 0});
  if (!report.bssid.empty()) record.fields.push_back({"bssids", report.bssid, 0});
  if (hold && !body.contains("name")) {
    record.fields.push_back({"name", "Given for this emergency", 0});
  }
  for (const auto& [name, value] : body.items()) {
    if (name == "choice") continue;
    if (name == "hold_until_ms") {
      // How long an address is held is the choice's, not the user's (issue 17).
      return jsonError(
          400,
          "field 'hold_until_ms' is not the user's to give: the choice "
          "\"this-emergency-only\" holds an address for location."
          "temporary_hold_s (" +
              std::to_string((deps_.holdMs ? deps_.holdMs() : int64_t{8} * 3600 * 1000) / 1000) +
              " s), \"save-personal\" keeps it");
    }
    const auto& columns = store::dataColumns(store::DataKind::PersonalLocations);
    if (std::find(columns.begin(), columns.end(), name) == columns.end() || !userField(name)) {
      return jsonError(400, "field '" + name +
                                "' is not one of a personal address's: name, country, the RFC "
                                "5139 elements, latitude, longitude, elin");
    }
    std::string text;
    if (!inputText(value, text)) return jsonError(400, fieldProblem(name, text));
    record.fields.push_back({name, text, 0});
  }
  store::ImportRequest req = request(store::DataKind::PersonalLocations, who);
  req.records.push_back(std::move(record));
  int64_t until = 0;
  if (hold) {
    until = now + (deps_.holdMs ? deps_.holdMs() : int64_t{8} * 3600 * 1000);
    req.holdUntilMs = until;
    for (const auto& p : snapshot.data().personal) {
      if (p.extension == user.extension && p.holdUntilMs != 0) req.remove.push_back(p.location.key);
    }
  }
  auto applied = deps_.apply(req);
  if (!applied.ok()) return refusedWrite(applied.error(), "the user's change");
  spdlog::info("admin API: {} {} personal location {} for network {}", user.extension,
               hold ? "holds (this emergency only)" : "saved", key,
               report.ip.empty() ? report.bssid : report.ip);
  json out{{"saved", key},
           {"networks", report.ip.empty() ? json::array() : json::array({report.ip})},
           {"bssids", report.bssid.empty() ? json::array() : json::array({report.bssid})}};
  if (hold) out["held_until_ms"] = until;
  return HttpResponse{201, "application/json", jsonText(out), {}};
}

}  // namespace sos::admin
