#include "admin/location_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "base/text.h"
#include "model/mac.h"
#include "model/network.h"

namespace sos::admin {

namespace {

using nlohmann::json;

HttpResponse error(int status, const std::string& reason) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", reason}}.dump() + "\n";
  return r;
}

// Reads an optional string field; false (with `why`) when present but not a short string.
bool stringField(const json& body, const char* name, size_t maxLen, std::string& out,
                 std::string& why) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_string()) {
    why = std::string("field '") + name + "' must be a string";
    return false;
  }
  out = it->get<std::string>();
  if (out.size() > maxLen) {
    why = std::string("field '") + name + "' is longer than " + std::to_string(maxLen);
    return false;
  }
  return true;
}

bool detectable(routing::Signal s) {
  using routing::Signal;
  return s == Signal::Bssid || s == Signal::ChassisPort || s == Signal::Chassis ||
         s == Signal::Subnet || s == Signal::PersonalNetwork;
}

// Finds the user a report belongs to in the snapshot: by extension, else by device MAC.
const model::UserRow* findUser(const routing::LocationSnapshot& snap,
                               const model::DeviceReport& r) {
  if (!r.extension.empty()) return snap.findUser(r.extension);
  return snap.findUserByMac(r.mac);
}

// Why `who` may not report for `user`'s device, or nullopt when it may.
std::optional<std::string> refusal(const Principal& who, const model::DeviceReport& r,
                                   const model::UserRow& user) {
  switch (who.role) {
    case Role::SuperAdmin:
    case Role::NetworkReporter:
      return std::nullopt;
    case Role::SiteAdmin:
      if (who.coversSite(user.site)) return std::nullopt;
      return "user " + user.extension + " is not of your sites";
    case Role::Device: {
      if (isDigits(who.subject)) {
        if (user.extension == who.subject) return std::nullopt;
        return "this token reports for extension " + who.subject + " only";
      }
      // A MAC token: the report names that MAC, and the MAC is the user's.
      const auto mac = model::normalizeMac(r.mac);
      const bool owned = std::any_of(user.macs.begin(), user.macs.end(),
                                     [&](const auto& m) { return model::normalizeMac(m) == mac; });
      if (mac && *mac == who.subject && owned) return std::nullopt;
      return "this token reports for its own device's MAC only";
    }
    case Role::Responder:
      break;
  }
  return "a responder token does not send location reports";
}

}  // namespace

ReportPrompt reportPrompt(const routing::Resolution& res) {
  if (res.location != nullptr && detectable(res.signal)) {
    return {true,
            "Are you at " + res.location->name + " (" + res.location->civic.oneLine() +
                ")? Confirm or correct it.",
            {"confirm", "save-personal", "this-emergency-only", "submit-company"}};
  }
  return {false,
          "sosproxy does not know this network: add the address where you are now.",
          {"save-personal", "this-emergency-only", "submit-company"}};
}

std::string deskPhoneMessageRefusal(std::string_view reportedIp, std::string_view peer) {
  if (reportedIp.empty()) return "the report names no IP address";
  if (peer.empty()) return "the address the report came from is not known";
  const auto reported = model::parseIpAddress(reportedIp);
  const auto sender = model::parseIpAddress(peer);
  if (!reported || !sender || reported->bytes != sender->bytes) {
    return "the report names IP " + std::string(reportedIp) + " but came from " +
           std::string(peer) + ": a MESSAGE goes only to the address a report came from";
  }
  return "";
}

std::string nomadicOffText(std::string_view site) {
  return "nomadic emergency services are off for site " + std::string(site) +
         ": a 911 gives the company's location, not a personal address, and personal addresses "
         "cannot be added; ask the site's admins";
}

HttpResponse LocationApi::handle(const HttpRequest& request, const Principal& who) {
  if (request.method != "POST") {
    auto r = error(405, "use POST");
    return r;
  }
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return error(400, "body is not valid JSON");
  if (!body.is_object()) return error(400, "body must be a JSON object");

  static const std::set<std::string> known{"extension", "mac", "ip", "bssid", "chassis", "port"};
  for (const auto& [key, value] : body.items())
    if (!known.count(key)) return error(400, "unknown field '" + key + "'");

  model::DeviceReport report;
  std::string why;
  if (!stringField(body, "extension", 32, report.extension, why) ||
      !stringField(body, "mac", 32, report.mac, why) ||
      !stringField(body, "ip", 64, report.ip, why) ||
      !stringField(body, "bssid", 32, report.bssid, why) ||
      !stringField(body, "chassis", 64, report.chassis, why) ||
      !stringField(body, "port", 32, report.port, why))
    return error(400, why);

  if (report.extension.empty() && report.mac.empty())
    return error(400, "give 'extension' or 'mac' to say whose device this is");
  if (!report.extension.empty() && !isDigits(report.extension))
    return error(400, "field 'extension' must be digits");
  if (!report.mac.empty()) {
    auto mac = model::normalizeMac(report.mac);
    if (!mac) return error(400, "field 'mac' is not a MAC address");
  }
  if (!report.bssid.empty() && !model::normalizeMac(report.bssid))
    return error(400, "field 'bssid' is not a MAC address");
  if (!report.port.empty() && report.chassis.empty())
    return error(400, "field 'port' needs 'chassis'");
  // The device's address as the API sees it stands in when the device does not say (for a
  // home worker that is the home's public IP, which personal locations are matched to).
  if (report.ip.empty()) report.ip = request.peerAddress;
  if (!report.ip.empty() && !model::parseIpAddress(report.ip))
    return error(400, "field 'ip' is not an IP address");
  report.reportedAtMs = deps_.nowMs();

  auto snapshot = deps_.snapshot();
  if (!snapshot) return error(503, "location data is not loaded yet");
  const auto* user = findUser(*snapshot, report);
  if (user == nullptr) {
    return error(404, report.extension.empty() ? "no user has a device with MAC " + report.mac
                                               : "no user with extension " + report.extension);
  }
  if (auto why = refusal(who, report, *user)) return error(403, *why);
  report.extension = user->extension;
  report.networkProvided = who.role == Role::NetworkReporter;

  json out;
  auto saved = deps_.save(report);
  if (saved.ok()) {
    out["new_network"] = saved.value().newNetwork;
    out["saved"] = true;
    const auto mac = model::normalizeMac(report.mac);
    const bool deskPhone =
        mac && std::any_of(user->macs.begin(), user->macs.end(),
                           [&](const auto& m) { return model::normalizeMac(m) == mac; });
    if (saved.value().newNetwork && deskPhone && deps_.deskPhoneMoved) {
      deps_.deskPhoneMoved(report, *user, request.peerAddress);
    }
  } else {
    // The store being down must not cost the caller: the report still reaches the call path.
    spdlog::warn("location report for {} not saved: {}", report.extension, saved.error().message);
    out["new_network"] = nullptr;
    out["saved"] = false;
  }
  deps_.publish(report);

  auto res = snapshot->resolveReport(report, report.reportedAtMs);
  out["extension"] = report.extension;
  const ReportPrompt prompt = reportPrompt(res);
  if (prompt.detectable) {
    out["status"] = "detectable";
    out["matched"] = std::string(routing::toString(res.signal));
    out["location"] = {{"key", res.location->key},
                       {"name", res.location->name},
                       {"address", res.location->civic.oneLine()}};
  } else {
    out["status"] = "undetectable";
  }
  out["nomadic_services"] = snapshot->nomadicAllowed(user->site);
  if (out["nomadic_services"].get<bool>()) {
    out["prompt"] = prompt.text;
  } else {
    // Nothing to ask: the answer could not change where a 911 says the user is.
    out["prompt"] = nullptr;
    out["note"] = nomadicOffText(user->site);
  }
  if (!res.ignored.empty()) out["ignored"] = res.ignored;
  HttpResponse r;
  r.body = out.dump() + "\n";
  return r;
}

}  // namespace sos::admin
