// Company locations over the admin API (locations_api.h).

#include "admin/locations_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "admin/request_text.h"
#include "model/civic_fields.h"

namespace sos::admin {
namespace {

using nlohmann::json;

std::string_view kindName(model::LocationKind k) {
  switch (k) {
    case model::LocationKind::SiteDefault:
      return "site-default";
    case model::LocationKind::AccountDefault:
      return "account-default";
    default:
      return "company";
  }
}

// The location as the seed writes it (what a PUT takes back), with its networks.
json locationJson(const model::LocationData& data, const model::Location& l) {
  json j{{"key", l.key}, {"name", l.name}, {"kind", kindName(l.kind)}};
  if (!l.site.empty()) j["site"] = l.site;
  json civic = json::object();
  for (const auto& f : model::kCivicFields) {
    if (!(l.civic.*f.member).empty()) civic[std::string(f.element)] = l.civic.*f.member;
  }
  j["civic"] = civic;
  if (l.latitude) j["latitude"] = *l.latitude;
  if (l.longitude) j["longitude"] = *l.longitude;
  if (!l.elins.empty()) j["elins"] = l.elins;
  json subnets = json::array(), bssids = json::array(), switches = json::array();
  for (const auto& s : data.subnets)
    if (s.locationKey == l.key) subnets.push_back(s.cidr);
  for (const auto& b : data.bssids)
    if (b.locationKey == l.key) bssids.push_back(b.bssid);
  for (const auto& s : data.switches) {
    if (s.locationKey != l.key) continue;
    json sw{{"chassis", s.chassis}};
    if (!s.port.empty()) sw["port"] = s.port;
    switches.push_back(std::move(sw));
  }
  if (!subnets.empty()) j["subnets"] = subnets;
  if (!bssids.empty()) j["bssids"] = bssids;
  if (!switches.empty()) j["switches"] = switches;
  if (!l.psapRoute.empty()) j["psap_route"] = l.psapRoute;
  return j;
}

const model::Location* find(const model::LocationData& data, const std::string& key) {
  for (const auto& l : data.locations)
    if (l.key == key) return &l;
  return nullptr;
}

std::string querySite(std::string_view target) {
  std::string site;
  for (const auto& [k, v] : queryParameters(target))
    if (k == "site") site = v;
  return site;
}

HttpResponse withEtag(HttpResponse r, const json& location) {
  r.headers.emplace_back("ETag", etagOf(location));
  return r;
}

HttpResponse writeError(const Error& e) {
  int status = 500;
  if (e.code == "store.invalid-location") status = 400;
  if (e.code == "store.conflict") status = 409;
  if (e.code == "store.not-found") status = 404;
  if (status == 500) spdlog::error("admin API: location not written: {}", e.message);
  return jsonError(status, e.message);
}

}  // namespace

HttpResponse LocationsApi::handle(const HttpRequest& r, std::string_view path,
                                  const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin) {
    return jsonError(403, "locations are an admin's");
  }
  auto snapshot = deps_.snapshot();
  if (!snapshot) return jsonError(503, "location data is not loaded yet");
  const model::LocationData& data = snapshot->data();
  const std::string key =
      path.size() > kPath.size() ? std::string(path.substr(kPath.size() + 1)) : "";
  if (constexpr std::string_view kNetworks = "/networks";
      key.size() > kNetworks.size() && key.ends_with(kNetworks)) {
    return addNetwork(r, key.substr(0, key.size() - kNetworks.size()), data, who);
  }
  const model::Location* existing = key.empty() ? nullptr : find(data, key);

  if (r.method == "GET") {
    if (key.empty()) {
      // A page in key order (the snapshot keeps the locations so).
      const std::string site = querySite(r.target);
      auto page = pageOf(r.target);
      if (!page) return jsonError(400, "limit must be a whole number from 1");
      json list = json::array();
      std::string next;
      for (const auto& l : data.locations) {
        if (!page->after.empty() && l.key <= page->after) continue;
        if ((!site.empty() && l.site != site) || !who.coversSite(l.site)) continue;
        if (list.size() == page->limit) {
          next = list.back()["key"].get<std::string>();
          break;
        }
        list.push_back(locationJson(data, l));
      }
      json out{{"locations", list}};
      out["next"] = next.empty() ? json(nullptr) : json(next);
      return HttpResponse{200, "application/json", jsonText(out), {}};
    }
    if (existing == nullptr) return jsonError(404, "no location is keyed \"" + key + "\"");
    if (!who.coversSite(existing->site)) {
      return jsonError(403, "location \"" + key + "\" is not of your sites");
    }
    const json j = locationJson(data, *existing);
    return withEtag(HttpResponse{200, "application/json", jsonText(j), {}}, j);
  }

  if (!key.empty() && existing == nullptr) {
    return jsonError(404, "no location is keyed \"" + key + "\"");
  }
  if (existing != nullptr && !who.coversSite(existing->site)) {
    return jsonError(403, "location \"" + key + "\" is not of your sites");
  }
  if (existing != nullptr) {
    // Lost updates are refused: a change names the version it was made from.
    const std::string current = etagOf(locationJson(data, *existing));
    if (r.ifMatch.empty()) {
      auto out = jsonError(428, "send If-Match with the ETag of the location as read (GET)");
      out.headers.emplace_back("ETag", current);
      return out;
    }
    if (r.ifMatch != current && r.ifMatch != "*") {
      auto out = jsonError(412, "the location changed since it was read: read it again");
      out.headers.emplace_back("ETag", current);
      return out;
    }
  }
  const std::string before = existing ? jsonText(locationJson(data, *existing)) : "";
  store::AuditEntry audit{0,
                          deps_.nowMs(),
                          who.name,
                          std::string(toString(who.role)),
                          "",
                          "",
                          existing ? existing->site : "",
                          before,
                          ""};
  if (r.method == "DELETE") {
    audit.action = "location.delete";
    audit.object = "location:" + key;
    auto removed = deps_.remove(key, audit);
    if (!removed.ok()) return writeError(removed.error());
    if (!removed.value()) return jsonError(404, "no location is keyed \"" + key + "\"");
    spdlog::info("admin API: location {} deleted by \"{}\"", key, who.name);
    return HttpResponse{200, "application/json", jsonText(json{{"deleted", key}}), {}};
  }

  // POST or PUT: one JSON object, whose site the caller must cover.
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object()) return jsonError(400, "body must be a JSON object: one location");
  const std::string site =
      body.contains("site") && body["site"].is_string() ? body["site"].get<std::string>() : "";
  if (who.role != Role::SuperAdmin && !who.coversSite(site)) {
    return jsonError(403, "site \"" + site + "\" is not one of your sites");
  }
  audit.action = key.empty() ? "location.create" : "location.replace";
  audit.object = "location:" + (key.empty() && body.contains("key") && body["key"].is_string()
                                    ? body["key"].get<std::string>()
                                    : key);
  audit.after = jsonText(body);
  auto written = deps_.put(r.body, key, audit);
  if (!written.ok()) return writeError(written.error());
  spdlog::info("admin API: location {} {} by \"{}\"", written.value().key,
               written.value().created ? "created" : "replaced", who.name);
  auto now = deps_.snapshot();
  const model::Location* saved = now ? find(now->data(), written.value().key) : nullptr;
  json out = saved ? locationJson(now->data(), *saved) : json{{"key", written.value().key}};
  return withEtag(
      HttpResponse{written.value().created ? 201 : 200, "application/json", jsonText(out), {}},
      out);
}

HttpResponse LocationsApi::addNetwork(const HttpRequest& r, const std::string& key,
                                      const model::LocationData& data, const Principal& who) {
  if (r.method != "POST") return jsonError(405, "use POST");
  const model::Location* existing = find(data, key);
  if (existing == nullptr) return jsonError(404, "no location is keyed \"" + key + "\"");
  if (!who.coversSite(existing->site)) {
    return jsonError(403, "location \"" + key + "\" is not of your sites");
  }
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || body.size() != 1 ||
      !((body.contains("subnet") && body["subnet"].is_string()) ||
        (body.contains("bssid") && body["bssid"].is_string()))) {
    return jsonError(400, "send {\"subnet\": \"CIDR\"} or {\"bssid\": \"MAC\"}");
  }
  const bool subnet = body.contains("subnet");
  const std::string value = body[subnet ? "subnet" : "bssid"].get<std::string>();
  const std::string list = subnet ? "subnets" : "bssids";
  json location = locationJson(data, *existing);
  const std::string before = jsonText(location);
  if (!location.contains(list)) location[list] = json::array();
  for (const auto& have : location[list]) {
    if (have == value) {
      std::string what = subnet ? "subnet " : "bssid ";
      what.append(value).append(" is location ").append(key).append("'s already");
      return jsonError(409, what);
    }
  }
  location[list].push_back(value);
  const std::string after = jsonText(location);
  store::AuditEntry audit{0,
                          deps_.nowMs(),
                          who.name,
                          std::string(toString(who.role)),
                          "location.network-add",
                          "location:" + key,
                          existing->site,
                          before,
                          after};
  auto written = deps_.put(after, key, audit);
  if (!written.ok()) return writeError(written.error());
  spdlog::info("admin API: {} {} attached to location {} by \"{}\"", subnet ? "subnet" : "bssid",
               value, key, who.name);
  auto now = deps_.snapshot();
  const model::Location* saved = now ? find(now->data(), key) : nullptr;
  json out = saved ? locationJson(now->data(), *saved) : json{{"key", key}};
  return withEtag(HttpResponse{200, "application/json", jsonText(out), {}}, out);
}

}  // namespace sos::admin
