// The dashboard's location tracking (dashboard_api.h).

#include "admin/dashboard_api.h"

#include <algorithm>

#include "admin/request_text.h"
#include "model/mac.h"

namespace sos::admin {

namespace {

using nlohmann::json;
using routing::Signal;

// Where a resolution places someone: by the network data a report matched, or nowhere.
std::string_view whereNow(const routing::Resolution& res) {
  switch (res.signal) {
    case Signal::Bssid:
    case Signal::ChassisPort:
    case Signal::Chassis:
    case Signal::Subnet:
      return "company";
    case Signal::PersonalNetwork:
      return "personal";
    default:
      return "unknown";
  }
}

std::string networkSeen(const model::DeviceReport* report) {
  if (report == nullptr) return "";
  std::string out;
  auto add = [&](std::string_view what, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += ", ";
    out += std::string(what) + " " + value;
  };
  add("ip", report->ip);
  add("bssid", report->bssid);
  add("chassis", report->chassis);
  add("port", report->port);
  if (report->networkProvided && !out.empty()) out += " (network-provided)";
  return out;
}

json entry(const model::UserRow& user, const std::string& device, const model::DeviceReport* report,
           const routing::Resolution& res, int64_t nowMs) {
  json e{{"user", user.extension},
         {"name", user.name},
         {"site", user.site},
         {"device", device},
         {"network", networkSeen(report)},
         // What the dashboard's "attach this network" offers to attach.
         {"ip", report == nullptr ? "" : report->ip},
         {"bssid", report == nullptr ? "" : report->bssid},
         {"where", whereNow(res)},
         {"found_by", std::string(routing::toString(res.signal))},
         {"evidence", res.evidence}};
  if (res.location != nullptr) {
    e["location"] = {{"key", res.location->key},
                     {"name", res.location->name},
                     {"address", res.location->civic.oneLine()}};
  } else {
    e["location"] = nullptr;
  }
  e["age_ms"] =
      report == nullptr ? json(nullptr) : json(std::max<int64_t>(0, nowMs - report->reportedAtMs));
  return e;
}

// The report routing would use of those `pick` selects, or null.
template <typename Pick>
const model::DeviceReport* preferred(const std::vector<model::DeviceReport>& reports, Pick pick) {
  const model::DeviceReport* best = nullptr;
  for (const auto& r : reports) {
    if (!pick(r)) continue;
    best = best == nullptr ? &r : &routing::preferredReport(*best, r);
  }
  return best;
}

json split(const json& list) {
  json counts{{"company", 0}, {"personal", 0}, {"unknown", 0}};
  for (const auto& e : list) {
    const std::string where = e["where"].get<std::string>();
    counts[where] = counts[where].get<int>() + 1;
  }
  return json{{"counts", counts}, {"total", list.size()}, {"entries", list}};
}

}  // namespace

bool TrackingScope::covers(std::string_view site) const {
  return allSites || std::find(sites.begin(), sites.end(), site) != sites.end();
}

json locationTracking(const routing::LocationSnapshot& snapshot,
                      const std::vector<model::DeviceReport>& reports, const TrackingScope& scope,
                      int64_t nowMs) {
  const auto& data = snapshot.data();
  int users = 0, nomadic = 0, sharing = 0, personalAddress = 0;
  json nomadicList = json::array(), sharingList = json::array(), addressList = json::array();
  json userNow = json::array(), phoneNow = json::array();
  for (const auto& user : data.users) {
    if (!scope.covers(user.site)) continue;
    ++users;
    const json who{{"user", user.extension}, {"name", user.name}, {"site", user.site}};
    if (user.nomadic) {
      ++nomadic;
      nomadicList.push_back(who);
      if (user.locationPermission) {
        ++sharing;
        sharingList.push_back(who);
      }
    }
    routing::CallNetworkData bare;
    bare.extension = user.extension;
    bare.site = user.site;
    const routing::Resolution fallback = snapshot.resolve(bare, nowMs);
    const bool personal =
        fallback.location != nullptr && fallback.location->kind == model::LocationKind::Personal;
    if (personal) ++personalAddress;
    json a = who;
    a["address"] = personal ? "personal" : "default";
    a["location"] = fallback.location != nullptr ? json(fallback.location->name) : json(nullptr);
    addressList.push_back(std::move(a));

    routing::CallNetworkData call = bare;
    call.report = preferred(
        reports, [&](const model::DeviceReport& r) { return r.extension == user.extension; });
    userNow.push_back(entry(user, call.report ? call.report->mac : "", call.report,
                            snapshot.resolve(call, nowMs), nowMs));
    for (const auto& mac : user.macs) {
      const auto normal = model::normalizeMac(mac);
      routing::CallNetworkData phone = bare;
      phone.report = preferred(reports, [&](const model::DeviceReport& r) {
        return normal && !r.mac.empty() && model::normalizeMac(r.mac) == normal;
      });
      phoneNow.push_back(entry(user, mac, phone.report, snapshot.resolve(phone, nowMs), nowMs));
    }
  }
  int detectable = 0, personalCount = 0;
  json personalList = json::array();
  for (const auto& p : data.personal) {
    if (p.holdUntilMs != 0) continue;
    const auto* user = snapshot.findUser(p.extension);
    if (user == nullptr || !scope.covers(user->site)) continue;
    ++personalCount;
    const bool found = !p.matchNetworks.empty() || !p.matchBssids.empty();
    if (found) ++detectable;
    personalList.push_back({{"key", p.location.key},
                            {"name", p.location.name},
                            {"user", p.extension},
                            {"site", user->site},
                            {"detectable", found},
                            {"networks", p.matchNetworks},
                            {"bssids", p.matchBssids}});
  }
  return json{{"nomadic", {{"count", nomadic}, {"of", users}, {"entries", nomadicList}}},
              {"sharing", {{"count", sharing}, {"of", nomadic}, {"entries", sharingList}}},
              {"emergency_address",
               {{"personal", personalAddress},
                {"default", users - personalAddress},
                {"entries", addressList}}},
              {"personal_locations",
               {{"detectable", detectable},
                {"not_detectable", personalCount - detectable},
                {"entries", personalList}}},
              {"now", {{"users", split(userNow)}, {"phones", split(phoneNow)}}},
              {"at_ms", nowMs}};
}

HttpResponse DashboardApi::handle(const HttpRequest& r, const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin) {
    return jsonError(403, "location tracking is an admin's");
  }
  TrackingScope scope;
  scope.allSites = who.role == Role::SuperAdmin;
  scope.sites = who.sites;
  for (const auto& [key, value] : queryParameters(r.target)) {
    if (key != "site") return jsonError(400, "unknown parameter '" + key + "' (site)");
    if (!who.coversSite(value))
      return jsonError(403, "site \"" + value + "\" is not of your sites");
    scope = TrackingScope{false, {value}};
  }
  auto snapshot = deps_.snapshot();
  if (!snapshot) return jsonError(503, "location data is not loaded yet");
  auto reports = deps_.reports();
  if (!reports.ok()) return jsonError(500, reports.error().message);
  json out = locationTracking(*snapshot, reports.value(), scope, deps_.nowMs());
  out["sites"] = scope.allSites ? json(nullptr) : json(scope.sites);
  return HttpResponse{200, "application/json", jsonText(out), {}};
}

}  // namespace sos::admin
