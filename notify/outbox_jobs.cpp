// The jobs and the alert an event puts in the outbox (see outbox_jobs.h).

#include "notify/outbox_jobs.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "base/clock.h"
#include "notify/messages.h"
#include "store/store.h"

namespace sos::notify {

DeliveryIds::DeliveryIds() : random_(std::random_device{}()) {}

std::string DeliveryIds::next() {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(random_()),
                static_cast<unsigned long long>(random_()));
  return buffer;
}

const config::Site* alertSite(const config::Config& config, const std::string& name) {
  if (const config::Site* s = config.findSite(name)) {
    return s;
  }
  return config.sites.empty() ? nullptr : &config.sites.front();
}

int nextTier(const config::Site& site, int tier) {
  int next = 0;
  for (const auto& r : site.responders) {
    if (r.tier > tier && (next == 0 || r.tier < next)) {
      next = r.tier;
    }
  }
  return next;
}

std::vector<store::NotificationJob> jobsFor(const config::Site& site, const CallEvent& e,
                                            std::string_view eventName, int tier, int64_t nowMs,
                                            DeliveryIds& ids) {
  std::vector<store::NotificationJob> out;
  for (const auto& r : site.responders) {
    if (r.tier != tier) {
      continue;
    }
    store::NotificationJob j;
    j.deliveryId = ids.next();
    j.callId = e.callId;
    j.event = std::string(eventName);
    j.tier = tier;
    j.channel = std::string(config::toString(r.channel));
    j.target = r.target;
    j.payload = alertText(r.channel, e, tier, j.deliveryId);
    j.nextAttemptAtMs = nowMs;
    j.createdAtMs = nowMs;
    j.test = e.test;
    out.push_back(std::move(j));
  }
  return out;
}

void claimFor(std::vector<store::NotificationJob>& jobs, const std::string& node,
              const config::Config& config, int64_t nowMs) {
  if (node.empty()) {
    return;
  }
  for (auto& j : jobs) {
    j.claimedBy = node;
    j.leaseUntilMs = nowMs + config.notifications.leaseMs;
  }
}

WrittenEvent writeEvent(store::Store& store, const config::Config& config, const CallEvent& e,
                        std::chrono::milliseconds escalateAfter, DeliveryIds& ids,
                        const std::string& node) {
  WrittenEvent out;
  out.callId = e.callId;
  const config::Site* site = alertSite(config, e.site);
  if (site == nullptr) {
    spdlog::warn("call {}: {}: no site configured, no responder alerted", e.callId,
                 toString(e.kind));
    return out;
  }
  if (site->name != e.site) {
    spdlog::warn("call {}: site \"{}\" is not configured: alerting the responders of {}", e.callId,
                 e.site, site->name);
  }
  out.site = site->name;
  const int64_t now = sharedMsNow();
  out.jobs = jobsFor(*site, e, toString(e.kind), 1, now, ids);
  claimFor(out.jobs, node, config, now);

  std::optional<store::CallAlert> alert;
  auto known = store.loadCallAlert(e.callId);
  if (known.ok() && known.value()) {
    // A later event of an alerted call: its details are what a coming escalation will say.
    alert = *known.value();
    alert->details = eventToJson(merged(eventFromJson(alert->details, e.callId), e));
  } else if (e.kind == EventKind::Started && !site->responders.empty()) {
    store::CallAlert a;
    a.callId = e.callId;
    a.site = site->name;
    a.firstEventAtMs = now;
    a.escalateAtMs = now + escalateAfter.count();
    a.escalatedTier = 1;
    a.details = eventToJson(e);
    if (!node.empty()) {
      a.claimedBy = node;
      a.leaseUntilMs = now + config.notifications.leaseMs;
    }
    alert = a;
    out.newAlert = std::move(a);
  }
  if (out.jobs.empty() && !alert) {
    return out;
  }
  if (auto written = store.insertNotificationJobs(out.jobs, alert ? &*alert : nullptr);
      !written.ok()) {
    out.stored = false;
    out.error = written.error().message;
  }
  return out;
}

}  // namespace sos::notify
