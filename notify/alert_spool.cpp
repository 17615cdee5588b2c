#include "notify/alert_spool.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "store/json_lines.h"

namespace sos::notify {

namespace {

using nlohmann::json;

json toJson(const store::NotificationJob& j) {
  return {{"delivery_id", j.deliveryId},
          {"call_id", j.callId},
          {"event", j.event},
          {"tier", j.tier},
          {"channel", j.channel},
          {"target", j.target},
          {"payload", j.payload},
          {"state", j.state},
          {"attempts", j.attempts},
          {"next_attempt_at_ms", j.nextAttemptAtMs},
          {"created_at_ms", j.createdAtMs},
          {"delivered_at_ms", j.deliveredAtMs},
          {"last_error", j.lastError},
          {"test", j.test}};
}

store::NotificationJob jobFrom(const json& in) {
  store::NotificationJob j;
  j.deliveryId = in.at("delivery_id").get<std::string>();
  j.callId = in.at("call_id").get<std::string>();
  j.event = in.at("event").get<std::string>();
  j.tier = in.at("tier").get<int>();
  j.channel = in.at("channel").get<std::string>();
  j.target = in.at("target").get<std::string>();
  j.payload = in.at("payload").get<std::string>();
  j.state = in.at("state").get<std::string>();
  j.attempts = in.at("attempts").get<int>();
  j.nextAttemptAtMs = in.at("next_attempt_at_ms").get<int64_t>();
  j.createdAtMs = in.at("created_at_ms").get<int64_t>();
  j.deliveredAtMs = in.at("delivered_at_ms").get<int64_t>();
  j.lastError = in.at("last_error").get<std::string>();
  j.test = in.at("test").get<bool>();
  return j;
}

json toJson(const store::CallAlert& a) {
  return {{"call_id", a.callId},
          {"site", a.site},
          {"first_event_at_ms", a.firstEventAtMs},
          {"escalate_at_ms", a.escalateAtMs},
          {"escalated_tier", a.escalatedTier},
          {"acknowledged_by", a.acknowledgedBy},
          {"acknowledged_at_ms", a.acknowledgedAtMs},
          {"details", a.details}};
}

store::CallAlert alertFrom(const json& in) {
  store::CallAlert a;
  a.callId = in.at("call_id").get<std::string>();
  a.site = in.at("site").get<std::string>();
  a.firstEventAtMs = in.at("first_event_at_ms").get<int64_t>();
  a.escalateAtMs = in.at("escalate_at_ms").get<int64_t>();
  a.escalatedTier = in.at("escalated_tier").get<int>();
  a.acknowledgedBy = in.at("acknowledged_by").get<std::string>();
  a.acknowledgedAtMs = in.at("acknowledged_at_ms").get<int64_t>();
  a.details = in.at("details").get<std::string>();
  return a;
}

}  // namespace

AlertSpool::Kept AlertSpool::load() const {
  Kept kept;
  if (path_.empty()) return kept;
  kept.unreadable = store::readJsonLines(path_, [&](const std::string& kind, const json& value) {
    if (kind == "job") {
      kept.jobs.push_back(jobFrom(value));
    } else if (kind == "alert") {
      kept.alerts.push_back(alertFrom(value));
    } else {
      throw std::invalid_argument("not a kept alert: " + kind);
    }
  });
  return kept;
}

bool AlertSpool::write(const std::vector<store::NotificationJob>& jobs,
                       const std::vector<store::CallAlert>& alerts) {
  if (path_.empty()) return true;
  if (jobs.empty() && alerts.empty()) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    written_.clear();
    return true;
  }
  std::string text;
  for (const auto& a : alerts) text += store::jsonLine("alert", toJson(a));
  for (const auto& j : jobs) text += store::jsonLine("job", toJson(j));
  if (text == written_) return true;
  if (const std::string error = store::replaceFile(path_, text); !error.empty()) {
    if (!warned_) {
      spdlog::error(
          "responder alerts: the spool file {} could not be written ({}): alerts the outbox "
          "could not take are kept in memory only",
          path_, error);
    }
    warned_ = true;
    written_.clear();
    return false;
  }
  warned_ = false;
  written_ = std::move(text);
  return true;
}

}  // namespace sos::notify
