// Call records over the admin API (calls_api.h).

#include "admin/calls_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "admin/request_text.h"
#include "store/call_record_json.h"

namespace sos::admin {
namespace {

using nlohmann::json;

bool number(const std::string& s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

std::string csvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string CallsApi::csv(const std::vector<store::CallRecord>& records) {
  std::string out =
      "id,call_id,started_at_ms,ended_at_ms,caller,dialed,emergency,test,site,location,"
      "location_by,elin,pidf,trunk,route,attempts,outcome,status,duration_ms,reason\r\n";
  for (const auto& r : records) {
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.1f", r.durationMs);
    for (const std::string& f :
         {std::to_string(r.id), r.callId, std::to_string(r.startedAtMs),
          std::to_string(r.endedAtMs), r.caller, r.dialed, std::string(r.emergency ? "1" : "0"),
          std::string(r.test ? "1" : "0"), r.site, r.location, r.locationBy, r.elin, r.pidf,
          r.trunk, r.route, r.attempts, r.outcome, std::to_string(r.status),
          std::string(duration)}) {
      out += csvField(f) + ",";
    }
    out += csvField(r.reason) + "\r\n";
  }
  return out;
}

HttpResponse CallsApi::handle(const HttpRequest& r, std::string_view path, const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin && who.role != Role::Responder) {
    return jsonError(403, "call records are for admins and responders");
  }
  store::CallQuery q;
  if (who.role != Role::SuperAdmin) q.sites = who.sites;

  if (path.size() > kPath.size()) {
    q.callId = percentDecoded(path.substr(kPath.size() + 1));
    q.sites.clear();  // found first, then checked: another site's call is 403, not 404
    q.limit = 20;
    auto found = deps_.find(q);
    if (!found.ok()) return jsonError(500, found.error().message);
    if (found.value().empty()) return jsonError(404, "no call record has that Call-ID");
    json records = json::array();
    for (const auto& rec : found.value()) {
      if (!who.coversSite(rec.site)) return jsonError(403, "that call is not of your sites");
      records.push_back(store::toJson(rec));
    }
    json out{{"call_id", q.callId}, {"records", records}};
    auto alert = deps_.alert(q.callId);
    if (alert.ok() && alert.value()) {
      const auto& a = *alert.value();
      out["alert"] = {
          {"site", a.site},
          {"first_event_at_ms", a.firstEventAtMs},
          {"escalated_tier", a.escalatedTier},
          {"acknowledged_by", a.acknowledgedBy.empty() ? json(nullptr) : json(a.acknowledgedBy)},
          {"acknowledged_at_ms",
           a.acknowledgedAtMs == 0 ? json(nullptr) : json(a.acknowledgedAtMs)}};
    } else {
      out["alert"] = nullptr;
    }
    json deliveries = json::array();
    if (auto jobs = deps_.jobs(q.callId); jobs.ok()) {
      for (const auto& j : jobs.value()) {
        deliveries.push_back({{"delivery_id", j.deliveryId},
                              {"event", j.event},
                              {"tier", j.tier},
                              {"channel", j.channel},
                              {"target", j.target},
                              {"state", j.state},
                              {"attempts", j.attempts},
                              {"last_error", j.lastError}});
      }
    }
    out["deliveries"] = deliveries;
    return HttpResponse{200, "application/json", jsonText(out), {}};
  }

  bool csvWanted = false;
  for (const auto& [key, value] : queryParameters(r.target)) {
    int64_t n = 0;
    if (key == "since" || key == "until" || key == "limit" || key == "before") {
      if (!number(value, n)) return jsonError(400, key + " must be a whole number");
      if (key == "since") q.sinceMs = n;
      if (key == "until") q.untilMs = n;
      if (key == "before") q.beforeId = n;
      if (key == "limit") {
        if (n < 1 || n > 10000) return jsonError(400, "limit is 1 to 10000");
        q.limit = static_cast<size_t>(n);
      }
    } else if (key == "site") {
      if (!who.coversSite(value)) return jsonError(403, "site \"" + value + "\" is not yours");
      q.sites = {value};
    } else if (key == "emergency") {
      if (value != "yes" && value != "no") return jsonError(400, "emergency is yes or no");
      q.emergency = value == "yes";
    } else if (key == "outcome") {
      q.outcome = value;
    } else if (key == "format") {
      if (value != "csv" && value != "json") return jsonError(400, "format is json or csv");
      csvWanted = value == "csv";
    } else {
      return jsonError(400, "unknown parameter '" + key + "'");
    }
  }
  auto found = deps_.find(q);
  if (!found.ok()) return jsonError(500, found.error().message);
  if (csvWanted) {
    HttpResponse out{200, "text/csv; charset=utf-8", csv(found.value()), {}};
    out.headers.emplace_back("Content-Disposition", "attachment; filename=\"calls.csv\"");
    return out;
  }
  json list = json::array();
  for (const auto& rec : found.value()) list.push_back(store::toJson(rec));
  return HttpResponse{200, "application/json", jsonText(json{{"calls", list}}), {}};
}

}  // namespace sos::admin
