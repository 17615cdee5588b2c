// The dashboard's live calls and trunks, the proxy's side (live_dashboard.h).

#include "proxy/live_dashboard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"

namespace sos::proxy {

admin::LiveCallEvent liveEvent(const notify::CallEvent& e, bool refused) {
  admin::LiveCallEvent l;
  l.kind = refused ? "refused" : std::string(notify::toString(e.kind));
  l.callId = e.callId;
  l.atMs = e.atMs;
  l.test = e.test;
  l.site = e.site;
  l.dialed = e.dialed;
  l.callerExtension = e.callerExtension;
  l.callerName = e.callerName;
  l.callbackNumber = e.callbackNumber;
  l.location = e.location;
  l.address = e.address;
  l.locationBy = e.locationBy;
  l.trunk = e.trunk;
  l.detail = e.detail;
  l.attempts = e.attempts;
  return l;
}

void applyAlertChange(admin::LiveCalls& calls, const notify::AlertChange& c) {
  using What = notify::AlertChange::What;
  if (c.what == What::Acknowledged) {
    calls.acknowledged(c.callId, c.by, c.atMs);
    return;
  }
  admin::LiveDelivery d;
  d.job = c.job;
  d.event = c.event;
  d.tier = c.tier;
  d.channel = c.channel;
  d.target = c.target;
  d.attempts = c.attempts;
  d.lastError = c.error;
  switch (c.what) {
    case What::Queued:
      d.state = c.attempts > 0 ? "retrying" : "pending";
      break;
    case What::Delivered:
      d.state = "delivered";
      break;
    case What::Failed:
      d.state = "retrying";
      break;
    case What::GivenUp:
      d.state = "given_up";
      break;
    case What::Acknowledged:
      return;
  }
  calls.delivery(c.callId, d);
}

std::vector<admin::TrunkFacts> trunkFacts(const std::vector<TrunkStatus>& trunks) {
  std::vector<admin::TrunkFacts> out;
  out.reserve(trunks.size());
  for (const auto& t : trunks) {
    out.push_back(admin::TrunkFacts{t.name, t.changedAtMs, t.why, t.lastProbeAtMs, t.lastProbe,
                                    t.lastFailoverAtMs, t.lastFailover, t.failovers});
  }
  return out;
}

void seedLiveCalls(admin::LiveCalls& calls, store::Store& db, size_t count) {
  store::CallQuery q;
  q.emergency = true;
  q.limit = count;
  auto records = db.findCallRecords(q);
  if (!records.ok()) {
    spdlog::warn("dashboard: the recent emergency calls could not be read: {}",
                 records.error().message);
    return;
  }
  // Oldest first, as they happened.
  for (auto it = records.value().rbegin(); it != records.value().rend(); ++it) {
    const store::CallRecord& r = *it;
    std::optional<store::CallAlert> alert;
    if (auto a = db.loadCallAlert(r.callId); a.ok()) alert = a.value();
    std::vector<store::NotificationJob> jobs;
    if (auto j = db.loadNotificationJobs(r.callId); j.ok()) jobs = std::move(j.value());
    // What its alerts said of it (the caller's name, the address sent), else its record.
    notify::CallEvent known =
        alert ? notify::eventFromJson(alert->details, r.callId) : notify::CallEvent{};
    known.callId = r.callId;
    known.atMs = r.startedAtMs;
    known.test = known.test || r.test;
    if (known.site.empty()) known.site = r.site;
    if (known.dialed.empty()) known.dialed = r.dialed;
    if (known.callerExtension.empty()) known.callerExtension = r.caller;
    if (known.location.empty()) known.location = r.location;
    if (known.locationBy.empty()) known.locationBy = r.locationBy;
    if (known.trunk.empty()) known.trunk = r.trunk;
    if (known.callbackNumber.empty()) known.callbackNumber = r.elin;
    known.attempts = r.attempts;
    calls.seed(liveEvent(known, false), r, alert, jobs);
  }
}

LiveDashboard::LiveDashboard(boost::asio::io_context& io, Server& server,
                             notify::Notifier* notifier, store::Store* db)
    : pump_(io, server.liveFeed(), calls_, server.health()) {
  if (notifier != nullptr) {
    notifier->setObserver([this](const notify::AlertChange& c) { applyAlertChange(calls_, c); });
  }
  if (db != nullptr) seedLiveCalls(calls_, *db, kSeeded);
}

LivePump::LivePump(boost::asio::io_context& io, LiveFeed& feed, admin::LiveCalls& calls,
                   const SipHealth& health)
    : timer_(io), feed_(feed), calls_(calls), health_(health) {}

void LivePump::start() {
  stopped_ = false;
  timer_.expires_after(kEvery);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    try {
      tick();
    } catch (const std::exception& e) {
      spdlog::error("dashboard: live calls: internal error: {}", e.what());
    }
    start();
  });
}

void LivePump::stop() {
  stopped_ = true;
  timer_.cancel();
}

void LivePump::drain() {
  feed_.drain([this](const notify::CallEvent& e, bool refused) {
    try {
      calls_.event(liveEvent(e, refused));
    } catch (const std::exception& ex) {
      spdlog::error("dashboard: call {}: event not taken: {}", e.callId, ex.what());
    }
  });
}

void LivePump::tick() {
  drain();
  const uint64_t lost = feed_.dropped();
  if (lost != lostSeen_) {
    spdlog::warn(
        "dashboard: {} call events could not be handed over (the queue of {} was full); the "
        "browsers get a fresh snapshot",
        lost - lostSeen_, LiveFeed::kCapacity);
    lostSeen_ = lost;
    calls_.counters().eventsLost.store(lost, std::memory_order_relaxed);
    calls_.eventsLost();
  }
  if (const uint64_t v = health_.trunksVersion(); v != trunksVersion_) {
    trunksVersion_ = v;
    calls_.trunksChanged();
  }
  calls_.flush(unixMsNow());
}

}  // namespace sos::proxy
