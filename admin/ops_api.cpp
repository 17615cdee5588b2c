// Trunk state and ELIN mappings over the admin API (ops_api.h).

#include "admin/ops_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "admin/request_text.h"

namespace sos::admin {
namespace {

using nlohmann::json;

}  // namespace

json OpsApi::trunksJson() const {
  json list = json::array();
  auto cfg = deps_.config();
  if (!cfg) return list;
  const std::vector<std::string> down = deps_.downTrunks();
  const std::vector<TrunkFacts> facts = deps_.facts ? deps_.facts() : std::vector<TrunkFacts>{};
  for (const auto& t : cfg->trunks) {
    const bool probed = t.optionsIntervalMs > 0;
    const bool isDown = std::find(down.begin(), down.end(), t.name) != down.end();
    json j{{"name", t.name},
           {"target", t.host + ":" + std::to_string(t.port)},
           {"transport", std::string(config::toString(t.transport))},
           {"mode", std::string(config::toString(t.mode))},
           {"carrier", t.name == cfg->carrierTrunk},
           {"probed", probed},
           {"options_interval_s", probed ? json(t.optionsIntervalMs / 1000.0) : json(nullptr)},
           {"state", !probed  ? "not probed"
                     : isDown ? "down"
                              : "up"}};
    const auto f = std::find_if(facts.begin(), facts.end(),
                                [&](const TrunkFacts& x) { return x.name == t.name; });
    const TrunkFacts none;
    const TrunkFacts& known = f == facts.end() ? none : *f;
    j["changed_at_ms"] = msOrNull(known.changedAtMs);
    j["why"] = known.why;
    j["last_probe_at_ms"] = msOrNull(known.lastProbeAtMs);
    j["last_probe"] = known.lastProbe;
    j["last_failover_at_ms"] = msOrNull(known.lastFailoverAtMs);
    j["last_failover"] = known.lastFailover;
    j["failovers"] = known.failovers;
    list.push_back(std::move(j));
  }
  return list;
}

HttpResponse OpsApi::handle(const HttpRequest&, std::string_view path, const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin && who.role != Role::Responder) {
    return jsonError(403, "trunks and ELIN mappings are for admins and responders");
  }
  if (path == kTrunksPath) {
    if (!deps_.config()) return jsonError(503, "no configuration in force");
    return HttpResponse{200, "application/json", jsonText(json{{"trunks", trunksJson()}}), {}};
  }

  auto mappings = deps_.elinMappings();
  if (!mappings.ok()) return jsonError(500, mappings.error().message);
  auto snapshot = deps_.snapshot();
  const int64_t now = deps_.nowMs();
  json list = json::array();
  for (const auto& m : mappings.value()) {
    if (m.expiresAtMs <= now) continue;
    // The ELIN's location names the site whose people may see who used it.
    std::string site, location;
    if (snapshot) {
      for (const auto& l : snapshot->data().locations) {
        if (std::find(l.elins.begin(), l.elins.end(), m.elin) != l.elins.end()) {
          site = l.site;
          location = l.name;
          break;
        }
      }
    }
    if (!who.coversSite(site)) continue;
    list.push_back({{"elin", m.elin},
                    {"location", location},
                    {"site", site},
                    {"extension", m.caller.extension},
                    {"did", m.caller.did},
                    {"contact", m.caller.contact},
                    {"call_id", m.caller.callId},
                    {"assigned_at_ms", m.assignedAtMs},
                    {"expires_at_ms", m.expiresAtMs}});
  }
  return HttpResponse{200, "application/json", jsonText(json{{"mappings", list}}), {}};
}

}  // namespace sos::admin
