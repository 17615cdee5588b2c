// The compliance report of scheduled test calls (compliance_api.h).

#include "admin/compliance_api.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "admin/request_text.h"
#include "base/csv.h"
#include "base/text.h"

namespace sos::admin {
namespace {

using nlohmann::json;

// RFC 3339 in UTC, "" for 0 (never).
std::string utcTime(int64_t ms) { return ms <= 0 ? "" : rfc3339(ms); }

json textOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string stateOf(const ComplianceApi::Row& r) {
  if (r.status.lastTestAtMs == 0) return r.scheduled ? "never-tested" : "not-scheduled";
  return r.status.consecutiveFailures > 0 ? "failing" : "passing";
}

json rowJson(const ComplianceApi::Row& r) {
  const store::TestCallStatus& s = r.status;
  json failure = nullptr;
  if (s.lastFailureAtMs > 0) {
    failure = {{"at_ms", s.lastFailureAtMs},
               {"outcome", s.lastFailureOutcome},
               {"status", s.lastFailureStatus == 0 ? json(nullptr) : json(s.lastFailureStatus)},
               {"reason", s.lastFailureReason}};
  }
  json success = nullptr;
  if (s.lastSuccessAtMs > 0) {
    success = {{"at_ms", s.lastSuccessAtMs}, {"destination", s.lastSuccessDestination}};
  }
  return json{{"site", r.site},
              {"trunk", r.trunk},
              {"destination", textOrNull(r.destination)},
              {"scheduled", r.scheduled},
              {"interval_s", r.scheduled ? json(r.intervalSeconds) : json(nullptr)},
              {"state", r.state},
              {"overdue", r.overdue},
              {"last_test_at_ms", msOrNull(s.lastTestAtMs)},
              {"last_success", success},
              {"last_failure", failure},
              {"consecutive_failures", s.consecutiveFailures},
              {"tests", s.tests},
              {"failures", s.failures}};
}

}  // namespace

std::vector<ComplianceApi::Row> ComplianceApi::rows(
    const config::Config& config, const std::vector<store::TestCallStatus>& statuses,
    const std::vector<std::string>& sites, int64_t nowMs) {
  auto wanted = [&sites](const std::string& site) {
    return sites.empty() || std::find(sites.begin(), sites.end(), site) != sites.end();
  };
  std::map<std::pair<std::string, std::string>, store::TestCallStatus> stored;
  for (const auto& s : statuses) stored[{s.site, s.trunk}] = s;
  const std::vector<config::TestCallTarget> targets = config.testCallTargets();
  std::vector<Row> out;
  auto add = [&](Row r) {
    if (auto it = stored.find({r.site, r.trunk}); it != stored.end()) {
      r.status = it->second;
      stored.erase(it);
    }
    r.status.site = r.site;
    r.status.trunk = r.trunk;
    r.state = stateOf(r);
    const int64_t since = r.status.lastTestAtMs;
    r.overdue = r.scheduled && since > 0 && nowMs - since > 2 * r.intervalSeconds * 1000;
    out.push_back(std::move(r));
  };
  for (const auto& site : config.sites) {
    if (!wanted(site.name)) continue;
    for (const auto& trunk : config.testCallTrunks(site)) {
      Row r;
      r.site = site.name;
      r.trunk = trunk;
      if (const config::Trunk* t = config.findTrunk(trunk)) r.destination = t->testDestination;
      for (const auto& target : targets) {
        if (target.site != site.name || target.trunk != trunk) continue;
        r.scheduled = true;
        r.intervalSeconds = target.intervalMs / 1000;
      }
      add(std::move(r));
    }
  }
  std::vector<store::TestCallStatus> rest;
  for (auto& [key, s] : stored)
    if (wanted(s.site)) rest.push_back(s);
  for (const auto& s : rest) {
    Row r;
    r.site = s.site;
    r.trunk = s.trunk;
    add(std::move(r));
  }
  return out;
}

std::string ComplianceApi::csv(const std::vector<Row>& rows) {
  std::string out = csvLine({"site", "trunk", "destination", "scheduled", "interval_s", "state",
                             "overdue", "last_test_at", "last_success_at", "last_failure_at",
                             "last_failure_outcome", "last_failure_status", "last_failure_reason",
                             "consecutive_failures", "tests", "failures"});
  for (const auto& r : rows) {
    const store::TestCallStatus& s = r.status;
    out += csvLine({r.site, r.trunk, r.destination, r.scheduled ? "yes" : "no",
                    r.scheduled ? std::to_string(r.intervalSeconds) : "", r.state,
                    r.overdue ? "yes" : "no", utcTime(s.lastTestAtMs), utcTime(s.lastSuccessAtMs),
                    utcTime(s.lastFailureAtMs), s.lastFailureOutcome,
                    s.lastFailureStatus == 0 ? "" : std::to_string(s.lastFailureStatus),
                    s.lastFailureReason, std::to_string(s.consecutiveFailures),
                    std::to_string(s.tests), std::to_string(s.failures)});
  }
  return out;
}

HttpResponse ComplianceApi::handle(const HttpRequest& r, const Principal& who) {
  if (who.role != Role::SuperAdmin && who.role != Role::SiteAdmin && who.role != Role::Responder) {
    return jsonError(403, "the compliance report is for admins and responders");
  }
  std::vector<std::string> sites;
  if (who.role != Role::SuperAdmin) sites = who.sites;
  bool csvWanted = false;
  for (const auto& [key, value] : queryParameters(r.target)) {
    if (key == "site") {
      if (!who.coversSite(value)) return jsonError(403, "site \"" + value + "\" is not yours");
      sites = {value};
    } else if (key == "format") {
      if (value != "csv" && value != "json") return jsonError(400, "format is json or csv");
      csvWanted = value == "csv";
    } else {
      return jsonError(400, "unknown parameter '" + key + "'");
    }
  }
  // A scoped token without sites sees nothing, never everything.
  if (who.role != Role::SuperAdmin && sites.empty()) sites = {""};
  auto config = deps_.config();
  if (!config) return jsonError(503, "no configuration in force");
  auto statuses = deps_.statuses(sites);
  if (!statuses.ok()) return jsonError(500, statuses.error().message);
  const int64_t now = deps_.nowMs();
  std::vector<Row> report = rows(*config, statuses.value(), sites, now);
  if (csvWanted) {
    HttpResponse out{200, "text/csv; charset=utf-8", csv(report), {}};
    out.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"test-call-compliance.csv\"");
    return out;
  }
  json list = json::array();
  for (const auto& row : report) list.push_back(rowJson(row));
  return HttpResponse{
      200, "application/json", jsonText(json{{"generated_at_ms", now}, {"test_calls", list}}), {}};
}

}  // namespace sos::admin
