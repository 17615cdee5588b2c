// Responder alerts: the outbox worked on the I/O thread (see notifier.h). Every job is written
// before it is tried: an event's by the outbox's writer thread (or here, for a store in memory),
// an escalation's here. A channel's report is always taken over to the I/O thread before
// anything is touched, so a channel that reports at once, or from the SIP thread, is handled
// like one that reports later, and a report that comes back after stop() (or after the
// notifier is gone) finds nothing to change: its job stays pending in the outbox for the next
// start.

#include "notify/notifier.h"

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "notify/messages.h"
#include "notify/notifier_impl.h"
#include "store/store.h"

namespace sos::notify {

milliseconds escalateAfterOf(const config::Config& config, std::optional<milliseconds> override) {
  return override.value_or(
      milliseconds(int64_t{std::max(config.notifications.escalateAfterSeconds, 0)} * 1000));
}

// ---- Writing events: the writer thread's, or the I/O thread's for a store in memory ----

WrittenEvent Notifier::Recorder::write(store::Store& store, const CallEvent& e, DeliveryIds& ids,
                                       SteadyTime queuedAt) {
  const auto config = this->config();
  WrittenEvent w = writeEvent(store, *config, e, escalateAfter(*config), ids, node_);
  count(w);
  if (!w.jobs.empty()) {
    // How long after the SIP thread handed the event over its jobs were written (committed:
    // on the disk with the writer's synchronous=FULL).
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - queuedAt)
            .count();
    spdlog::info("call {}: {}: alerting {} responder(s) of {}{} ({} {:.1f} ms after routing)",
                 e.callId, toString(e.kind), w.jobs.size(), w.site, e.test ? " (test call)" : "",
                 !w.stored    ? "not written,"
                 : persisted_ ? "in the outbox"
                              : "in memory only,",
                 ms);
  }
  return w;
}

void Notifier::Recorder::count(const WrittenEvent& w) const {
  if (!w.stored) {
    counters_.notQueued.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "call {}: responder alerts not written to the outbox ({} jobs), trying them "
        "without it: {}",
        w.callId, w.jobs.size(), w.error);
    return;
  }
  counters_.queued.fetch_add(w.jobs.size(), std::memory_order_relaxed);
  if (!persisted_) {
    counters_.notPersisted.fetch_add(w.jobs.size(), std::memory_order_relaxed);
  }
}

// ---- Events and escalations (I/O thread) ----

// An event to write here (no writer thread: the store is in memory).
void Notifier::Impl::onEvent(const CallEvent& e, SteadyTime queuedAt) {
  track(recorder->write(store, e, ids, queuedAt));
}

// Written jobs, to try at once; a new alert, to escalate in time. A job the store could not
// take is still tried, from memory only: the responders hear of the call even if a restart
// would not remember it.
void Notifier::Impl::track(WrittenEvent w) {
  if (w.stored && memoryOutbox) {
    keepInMemorySpool(w.callId);
  }
  if (!w.stored) {
    for (auto& j : w.jobs) {
      j.id = nextUnstoredKey--;
    }
    if (w.newAlert && unsavedAlerts.size() < kMaxUnsaved) {
      unsavedAlerts.emplace(w.callId, *w.newAlert);
    }
  }
  if (stopped) {
    return;  // written: the next start() sends them
  }
  for (auto& j : w.jobs) {
    const int64_t key = j.id;
    if (jobs.count(key) != 0 || resumedJobs.count(key) != 0) {
      continue;  // start() read it from the outbox first
    }
    Active& a = jobs[key];
    a.job = std::move(j);
    a.timer = std::make_unique<boost::asio::steady_timer>(io);
    tell(AlertChange::What::Queued, a.job, key);
    attempt(key);
  }
  if (w.newAlert && alerts.count(w.callId) == 0 && resumedAlerts.count(w.callId) == 0) {
    Alert& a = alerts[w.callId];
    a.row = std::move(*w.newAlert);
    a.timer = std::make_unique<boost::asio::steady_timer>(io);
    scheduleEscalation(w.callId);
  }
  if (!w.stored) {
    writeSpool();  // before anything else: the call's alerts exist nowhere but here
  }
}

void Notifier::Impl::scheduleEscalation(const std::string& callId) {
  auto it = alerts.find(callId);
  if (it == alerts.end()) {
    return;
  }
  Alert& a = it->second;
  a.timer->expires_after(milliseconds(std::max<int64_t>(a.row.escalateAtMs - sharedMsNow(), 0)));
  a.timer->async_wait([weak = weak_from_this(), callId](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped) {
      return;
    }
    self->guarded("escalation", [&] { self->escalate(callId); });
  });
}

void Notifier::Impl::escalate(const std::string& callId) {
  auto it = alerts.find(callId);
  if (it == alerts.end()) {
    return;
  }
  store::CallAlert& row = it->second.row;
  // The store has the last word: on the acknowledgement (the admin API may have written it
  // for a call this run alerted twice, a repeated Call-ID), and on the call's details, which
  // the writer thread brings up to date with each event of the call.
  bool inStore = false;
  if (auto stored = store.loadCallAlert(callId); stored.ok() && stored.value()) {
    const store::CallAlert& now = *stored.value();
    if (now.acknowledgedAtMs != 0 || now.escalateAtMs == 0) {
      alerts.erase(it);
      return;
    }
    if (!node.empty() && !now.claimedBy.empty() && now.claimedBy != node) {
      spdlog::info("call {}: its escalation is node {}'s now; not escalated here", callId,
                   now.claimedBy);
      alerts.erase(it);
      return;
    }
    row = now;
    inStore = true;
  }
  const config::Site* site = alertSite(*config, row.site);
  const int tier = site != nullptr ? nextTier(*site, row.escalatedTier) : 0;
  const int64_t now = sharedMsNow();
  if (tier == 0) {
    // Nobody left to alert (the configuration may have changed since the call): the alert
    // stays unacknowledged, but no timer waits for it.
    std::vector<store::NotificationJob> none;
    if (auto r = store.recordEscalation(none, callId, row.escalatedTier, 0, node); !r.ok()) {
      spdlog::error("call {}: end of escalation not written: {}", callId, r.error().message);
    }
    alerts.erase(it);
    return;
  }
  CallEvent e = eventFromJson(row.details, callId);
  const auto waited = milliseconds(now - row.firstEventAtMs);
  e.detail = "not acknowledged " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) +
             " s after the first alert";
  WrittenEvent w;
  w.callId = callId;
  w.site = site->name;
  w.jobs = jobsFor(*site, e, kEscalationEvent, tier, now, ids);
  row.escalatedTier = tier;
  row.escalateAtMs = nextTier(*site, tier) != 0
                         ? now + escalateAfterOf(*config, escalateAfterOverride).count()
                         : 0;
  claimFor(w.jobs, node, *config, now);
  auto recorded = store.recordEscalation(w.jobs, callId, tier, row.escalateAtMs, node);
  if (recorded.ok() && !recorded.value()) {
    if (inStore) {
      // Another node claimed the call's alert since it was read: that node escalates.
      spdlog::info("call {}: its escalation is another node's now; not escalated here", callId);
      alerts.erase(it);
      return;
    }
    // The alert was never written (the store was away at the call): escalated from memory.
    recorded = Error{"store.write", "the call's alert is not in the outbox"};
  }
  counters.escalations.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("call {}: {}; escalating to tier {} ({} responder(s) of {})", callId, e.detail, tier,
               w.jobs.size(), site->name);
  if (!recorded.ok()) {
    w.stored = false;
    w.error = recorded.error().message;
  }
  recorder->count(w);
  const bool again = row.escalateAtMs != 0;
  track(std::move(w));  // no new alert in it: `alerts` is left as it is
  if (again && !stopped) {
    scheduleEscalation(callId);
  } else {
    alerts.erase(callId);
  }
}

void Notifier::Impl::start() {
  stopped = false;
  loadSpool();
  resumePending = !resume();
  if (!outboxProblem.empty()) {
    alarm = std::make_unique<boost::asio::steady_timer>(io);
    repeatAlarm();
  }
  tickTimer = std::make_unique<boost::asio::steady_timer>(io);
  keepClaims();
}

bool Notifier::Impl::resume() {
  const int64_t now = sharedMsNow();
  // Alone on its database, a node resumes everything pending; among others, its own, those
  // nobody claimed and those whose claim ran out.
  store::OutboxClaim claim;
  claim.node = node;
  claim.nowMs = now;
  claim.leaseUntilMs = now + settings().leaseMs;
  claim.scope = shared ? store::ClaimScope::OwnOrExpired : store::ClaimScope::Everything;
  // Logged once: a start that could not read is tried again each tick while the outage lasts.
  const bool quiet = resumePending;
  bool read = true;
  size_t resumed = 0;
  if (auto due = store.claimNotificationJobs(claim); due.ok()) {
    resumed = adoptJobs(std::move(due).value(), true);
  } else {
    read = false;
    if (!quiet) spdlog::error("responder alerts: pending jobs not read: {}", due.error().message);
  }
  size_t resumedEscalations = 0;
  if (auto due = store.claimEscalations(claim); due.ok()) {
    resumedEscalations = adoptAlerts(std::move(due).value(), true);
  } else {
    read = false;
    if (!quiet) spdlog::error("responder alerts: escalations not read: {}", due.error().message);
  }
  if (resumed + resumedEscalations > 0) {
    spdlog::info("responder alerts: resuming {} pending job(s) and {} escalation(s)", resumed,
                 resumedEscalations);
  }
  if (read && quiet) spdlog::info("responder alerts: the outbox read after the start");
  return read;
}

size_t Notifier::Impl::adoptJobs(std::vector<store::NotificationJob> due, bool atStart) {
  const int64_t now = sharedMsNow();
  const int maxAttempts = std::max(settings().maxAttempts, 1);
  size_t adopted = 0;
  for (auto& j : due) {
    if (atStart) {
      resumedJobs.insert(j.id);
    }
    if (jobs.count(j.id) != 0) {
      continue;  // an event that came before start(), or this node's own: already being tried
    }
    int64_t key = j.id;
    milliseconds delay(std::max<int64_t>(j.nextAttemptAtMs - now, 0));
    Active& a = jobs[key];
    a.job = std::move(j);
    a.timer = std::make_unique<boost::asio::steady_timer>(io);
    if (a.job.attempts >= maxAttempts && !a.job.test) {
      setFailing(a, true);
    }
    if (!atStart) {
      tell(AlertChange::What::Queued, a.job, key);
    }
    waitThenAttempt(key, delay);
    ++adopted;
  }
  return adopted;
}

size_t Notifier::Impl::adoptAlerts(std::vector<store::CallAlert> due, bool atStart) {
  size_t adopted = 0;
  for (auto& row : due) {
    if (atStart) {
      resumedAlerts.insert(row.callId);
    }
    if (alerts.count(row.callId) != 0) {
      continue;
    }
    std::string callId = row.callId;
    Alert& a = alerts[callId];
    a.row = std::move(row);
    a.timer = std::make_unique<boost::asio::steady_timer>(io);
    scheduleEscalation(callId);
    ++adopted;
  }
  return adopted;
}

void Notifier::Impl::keepClaims() {
  const auto every = milliseconds(shared ? std::clamp(settings().leaseMs / 3, 100, 1000) : 1000);
  tickTimer->expires_after(every);
  tickTimer->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped) {
      return;
    }
    // What this node resumes first: its previous run's claims are its own to renew then.
    if (self->resumePending) {
      self->guarded("resume", [&] { self->resumePending = !self->resume(); });
    }
    if (self->shared && !self->resumePending) {
      self->guarded("claims", [&] { self->renewAndTakeOver(); });
    }
    self->guarded("kept writes", [&] { self->replayUnsaved(); });
    if (self->spoolDirty || !self->memoryCalls.empty()) {
      self->guarded("spool", [&] { self->writeSpool(); });
    }
    self->keepClaims();
  });
}

void Notifier::Impl::keepUnsaved(const store::NotificationJob& job) {
  if (unsavedDone.size() >= kMaxUnsaved) {
    spdlog::warn("call {}: outcome of alert {} not kept for the outbox (over {} waiting)",
                 job.callId, job.deliveryId, kMaxUnsaved);
    return;
  }
  unsavedDone.push_back(job);
}

store::CallAlert Notifier::Impl::unsavedAlertNow(const std::string& callId,
                                                 const store::CallAlert& kept) const {
  store::CallAlert alert = kept;
  if (auto live = alerts.find(callId); live != alerts.end()) {
    alert = live->second.row;  // its tier and escalation time as of now
  }
  if (kept.acknowledgedAtMs != 0) {
    alert.escalateAtMs = 0;  // acknowledged meanwhile (acknowledge)
  }
  return alert;
}

void Notifier::Impl::writeSpool() {
  spoolDirty = false;
  if (spool.path().empty()) {
    return;
  }
  std::vector<store::NotificationJob> kept;
  for (const auto& [key, a] : jobs) {
    if (key < 0 && a.storedId == 0) {
      kept.push_back(a.job);
      kept.back().state = "pending";
    }
  }
  kept.insert(kept.end(), unsavedDone.begin(), unsavedDone.end());
  std::vector<store::CallAlert> calls;
  for (const auto& [callId, u] : unsavedAlerts) {
    calls.push_back(unsavedAlertNow(callId, u));
    calls.back().acknowledgedBy = u.acknowledgedBy;
    calls.back().acknowledgedAtMs = u.acknowledgedAtMs;
  }
  // The outbox in memory: its rows as they are now (attempts, tiers, acknowledgements).
  for (const auto& callId : memoryCalls) {
    auto rows = store.loadNotificationJobs(callId);
    auto alert = store.loadCallAlert(callId);
    if (!rows.ok() || !alert.ok()) {
      spdlog::warn("call {}: alerts not read from the outbox in memory for the spool file: {}",
                   callId, (rows.ok() ? alert.error() : rows.error()).message);
      continue;
    }
    kept.insert(kept.end(), rows.value().begin(), rows.value().end());
    if (alert.value()) {
      calls.push_back(std::move(*alert.value()));
    }
  }
  spool.write(kept, calls);
}

void Notifier::Impl::keepInMemorySpool(const std::string& callId) {
  if (spool.path().empty() || memoryCalls.count(callId) != 0) {
    return;
  }
  if (memoryCalls.size() >= kMaxUnsaved) {
    spdlog::warn("call {}: alerts not kept in the spool file {} (over {} calls in it)", callId,
                 spool.path(), kMaxUnsaved);
    return;
  }
  memoryCalls.insert(callId);
}

void Notifier::Impl::loadSpool() {
  if (spool.path().empty()) {
    return;
  }
  AlertSpool::Kept kept = spool.load();
  if (kept.unreadable > 0) {
    spdlog::warn(
        "responder alerts: {} line(s) of the spool file {} could not be read (cut "
        "short by a crash?): skipped",
        kept.unreadable, spool.path());
  }
  if (kept.jobs.empty() && kept.alerts.empty()) {
    return;
  }
  const int64_t now = sharedMsNow();
  size_t pending = 0;
  for (auto& j : kept.jobs) {
    spooledCalls.insert(j.callId);
    if (j.state != "pending") {
      keepUnsaved(j);
      continue;
    }
    const int64_t key = nextUnstoredKey--;
    Active& a = jobs[key];
    a.job = std::move(j);
    a.timer = std::make_unique<boost::asio::steady_timer>(io);
    tell(AlertChange::What::Queued, a.job, key);
    waitThenAttempt(key, milliseconds(std::max<int64_t>(a.job.nextAttemptAtMs - now, 0)));
    ++pending;
  }
  for (auto& row : kept.alerts) {
    const std::string callId = row.callId;
    spooledCalls.insert(callId);
    if (row.acknowledgedAtMs == 0 && row.escalateAtMs != 0 && alerts.count(callId) == 0) {
      Alert& a = alerts[callId];
      a.row = row;
      a.timer = std::make_unique<boost::asio::steady_timer>(io);
      scheduleEscalation(callId);
    }
    unsavedAlerts.emplace(callId, std::move(row));
  }
  spdlog::info(
      "responder alerts: {} alert job(s) ({} still to deliver) and {} call alert(s) that a "
      "previous run could not write to the outbox read from the spool file {}: tried from "
      "here, written to the outbox once it takes writes",
      pending + unsavedDone.size(), pending, unsavedAlerts.size(), spool.path());
}

void Notifier::Impl::replayUnsaved() {
  // What to write, by call: the jobs still being tried first (in the order of `keys`), then
  // those finished.
  std::map<std::string, std::vector<store::NotificationJob>> byCall;
  std::map<std::string, std::vector<int64_t>> keys;
  const int64_t now = sharedMsNow();
  for (const auto& [key, a] : jobs) {
    if (key < 0 && a.storedId == 0) {
      store::NotificationJob j = a.job;
      j.id = 0;
      j.state = "pending";
      if (!node.empty()) {
        j.claimedBy = node;
        j.leaseUntilMs = now + settings().leaseMs;
      }
      byCall[j.callId].push_back(std::move(j));
      keys[a.job.callId].push_back(key);
    }
  }
  for (const auto& j : unsavedDone) {
    byCall[j.callId].push_back(j);
  }
  for (const auto& [callId, alert] : unsavedAlerts) {
    byCall[callId];
  }
  if (byCall.empty() || !store.checkWritable().ok()) {
    return;
  }
  size_t jobsWritten = 0;
  std::set<std::string> done;
  for (auto& [callId, list] : byCall) {
    if (spooledCalls.count(callId) != 0) {
      // A previous run may have written some of them just before it ended, before its spool
      // file was written anew: those are in the outbox already (their delivery ids are unique).
      auto stored = store.loadNotificationJobs(callId);
      if (!stored.ok()) {
        spdlog::warn("call {}: alerts kept in memory not written yet: {}", callId,
                     stored.error().message);
        break;
      }
      std::map<std::string, int64_t> inOutbox;
      for (const auto& j : stored.value()) {
        inOutbox.emplace(j.deliveryId, j.id);
      }
      std::vector<store::NotificationJob> fresh;
      std::vector<int64_t> freshKeys;
      const std::vector<int64_t>& tried = keys[callId];  // the first entries of `list`
      for (size_t i = 0; i < list.size(); ++i) {
        const auto found = inOutbox.find(list[i].deliveryId);
        if (found == inOutbox.end()) {
          fresh.push_back(std::move(list[i]));
          if (i < tried.size()) {
            freshKeys.push_back(tried[i]);
          }
        } else if (i < tried.size()) {
          jobs[tried[i]].storedId = found->second;
        }
      }
      list = std::move(fresh);
      keys[callId] = std::move(freshKeys);
    }
    if (auto r = list.empty() ? Result<void>{} : store.insertNotificationJobs(list); !r.ok()) {
      spdlog::warn("call {}: alerts kept in memory not written yet: {}", callId, r.error().message);
      break;
    }
    const auto& pending = keys[callId];
    for (size_t i = 0; i < pending.size(); ++i) {
      jobs[pending[i]].storedId = list[i].id;
    }
    if (auto u = unsavedAlerts.find(callId); u != unsavedAlerts.end()) {
      store::CallAlert alert = unsavedAlertNow(callId, u->second);
      if (!node.empty()) {
        alert.claimedBy = node;
        alert.leaseUntilMs = now + settings().leaseMs;
      }
      if (auto r = store.upsertCallAlert(alert); !r.ok()) {
        spdlog::warn("call {}: its alert kept in memory not written yet: {}", callId,
                     r.error().message);
        break;
      }
      if (u->second.acknowledgedAtMs != 0) {
        if (auto r = store.acknowledgeCallAlert(callId, u->second.acknowledgedBy,
                                                u->second.acknowledgedAtMs);
            !r.ok()) {
          spdlog::warn("call {}: its acknowledgement kept in memory not written: {}", callId,
                       r.error().message);
        }
      }
      unsavedAlerts.erase(u);
    }
    jobsWritten += list.size();
    done.insert(callId);
    spooledCalls.erase(callId);
    if (memoryOutbox) {
      keepInMemorySpool(callId);
    }
  }
  std::erase_if(unsavedDone,
                [&](const store::NotificationJob& j) { return done.count(j.callId) != 0; });
  if (!done.empty()) {
    writeSpool();  // what is left, or no file
  }
  if (jobsWritten > 0) {
    counters.replayed.fetch_add(jobsWritten, std::memory_order_relaxed);
    spdlog::info(
        "responder alerts: the outbox takes writes again: {} alert job(s) of {} call(s) tried "
        "from memory meanwhile written to it",
        jobsWritten, done.size());
  }
}

// A renewal that fails (the database away) is logged once per outage: the jobs are still
// tried from memory, and once the claim has run out another node may try them too (receivers
// drop the repeat by its delivery id).
void Notifier::Impl::renewAndTakeOver() {
  const int64_t now = sharedMsNow();
  if (auto r = store.renewOutboxClaims(node, now + settings().leaseMs); !r.ok()) {
    counters.claimRenewalsFailed.fetch_add(1, std::memory_order_relaxed);
    if (!renewalFailing) {
      spdlog::error("responder alerts: the claims of node {} not renewed: {}", node,
                    r.error().message);
    }
    renewalFailing = true;
    return;
  }
  if (renewalFailing) {
    spdlog::info("responder alerts: the claims of node {} renewed again", node);
    renewalFailing = false;
  }
  store::OutboxClaim claim;
  claim.node = node;
  claim.nowMs = now;
  claim.leaseUntilMs = now + settings().leaseMs;
  claim.scope = store::ClaimScope::Expired;
  size_t jobsTaken = 0;
  size_t alertsTaken = 0;
  std::set<std::string> calls;
  if (auto due = store.claimNotificationJobs(claim); due.ok()) {
    for (const auto& j : due.value()) {
      if (jobs.count(j.id) == 0) calls.insert(j.callId);
    }
    jobsTaken = adoptJobs(std::move(due).value(), false);
  }
  if (auto due = store.claimEscalations(claim); due.ok()) {
    for (const auto& a : due.value()) {
      if (alerts.count(a.callId) == 0) calls.insert(a.callId);
    }
    alertsTaken = adoptAlerts(std::move(due).value(), false);
  }
  if (jobsTaken + alertsTaken == 0) {
    return;
  }
  counters.jobsTakenOver.fetch_add(jobsTaken, std::memory_order_relaxed);
  counters.escalationsTakenOver.fetch_add(alertsTaken, std::memory_order_relaxed);
  std::string names;
  for (const auto& c : calls) {
    names += (names.empty() ? "" : ", ") + c;
  }
  spdlog::warn(
      "responder alerts: node {} took over {} pending job(s) and {} escalation(s) whose "
      "node's claim ran out (call {})",
      node, jobsTaken, alertsTaken, names);
}

// The outbox could not be opened: said at start (setOutbox) and again every alarmEvery, as
// long as this run lasts (only a restart opens the database again).
void Notifier::Impl::raiseAlarm(const std::string& problem, const std::string& spoolPath) {
  if (spoolPath.empty()) {
    spdlog::error(
        "ALARM: responder alerts: {}; alerts are kept in memory only (a restart loses those not "
        "yet delivered) until sosproxy is restarted on a working database",
        problem);
    return;
  }
  spdlog::error(
      "ALARM: responder alerts: {}; alerts are kept in memory and in the spool file {} (a "
      "restart goes on with them) until sosproxy is restarted on a working database",
      problem, spoolPath);
}

void Notifier::Impl::repeatAlarm() {
  alarm->expires_after(alarmEvery);
  alarm->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped) {
      return;
    }
    raiseAlarm(self->outboxProblem, self->spool.path());
    self->repeatAlarm();
  });
}

void Notifier::Impl::stop() {
  size_t pending = 0;
  for (const auto& [key, a] : jobs) {
    pending += key < 0 && a.storedId == 0 ? 1 : 0;
  }
  if (!stopped && !memoryCalls.empty()) {
    writeSpool();
    spdlog::warn(
        "responder alerts: stopping with the outbox in memory: the alerts of {} call(s) kept in "
        "the spool file {}, tried and written after the next start",
        memoryCalls.size(), spool.path());
  } else if (!stopped && pending + unsavedDone.size() + unsavedAlerts.size() > 0) {
    writeSpool();
    spdlog::warn(
        "responder alerts: stopping with {} alert job(s) still to deliver, {} finished and {} "
        "call alert(s) the outbox did not take{}",
        pending, unsavedDone.size(), unsavedAlerts.size(),
        spool.path().empty() ? ": lost (no spool file)"
                             : ": kept in the spool file " + spool.path() +
                                   ", tried and written after the next start");
  }
  stopped = true;
  // Timers are cancelled with their owners; reports still on their way find no job.
  jobs.clear();
  alerts.clear();
  alarm.reset();
  tickTimer.reset();
  counters.failing.store(0, std::memory_order_relaxed);
}

Result<bool> Notifier::Impl::acknowledge(const std::string& callId, const std::string& by) {
  auto known = store.loadCallAlert(callId);
  bool first = known.ok() && known.value() && known.value()->acknowledgedAtMs == 0;
  auto r = store.acknowledgeCallAlert(callId, by, sharedMsNow());
  auto it = alerts.find(callId);
  if (!r.ok()) {
    spdlog::error("call {}: acknowledgement by {} not written: {}", callId, by, r.error().message);
    if (it == alerts.end()) {
      return r.error();
    }
    // Known in this run: the escalation stops now, even if a restart would resume it. An
    // alert never written yet is written (replayUnsaved) with no escalation left and this
    // acknowledgement.
    if (auto u = unsavedAlerts.find(callId); u != unsavedAlerts.end()) {
      spoolDirty = true;
      u->second.escalateAtMs = 0;
      u->second.acknowledgedBy = by;
      u->second.acknowledgedAtMs = sharedMsNow();
    }
    first = true;
  } else if (!r.value()) {
    return false;
  }
  if (it != alerts.end()) {
    alerts.erase(it);
  }
  if (first) {
    counters.acknowledged.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("call {}: acknowledged by {}", callId, by);
    if (observer) {
      AlertChange c;
      c.what = AlertChange::What::Acknowledged;
      c.callId = callId;
      c.by = by;
      c.atMs = sharedMsNow();
      try {
        observer(c);
      } catch (const std::exception& e) {
        spdlog::error("responder alerts: the dashboard's observer failed: {}", e.what());
      }
    }
  }
  return true;
}

void Notifier::Impl::tell(AlertChange::What what, const store::NotificationJob& job, int64_t key,
                          const std::string& error) {
  if (!observer) {
    return;
  }
  AlertChange c;
  c.what = what;
  c.callId = job.callId;
  c.job = key;
  c.event = job.event;
  c.tier = job.tier;
  c.channel = job.channel;
  c.target = job.target;
  c.attempts = job.attempts;
  c.error = error;
  c.atMs = sharedMsNow();
  try {
    observer(c);
  } catch (const std::exception& e) {
    spdlog::error("responder alerts: the dashboard's observer failed: {}", e.what());
  }
}

// ---- The notifier ----

Notifier::Notifier(boost::asio::io_context& io, store::Store& store,
                   std::shared_ptr<const config::Config> config, SipSender sip)
    : Notifier(io, store, std::move(config), Channels{&postWebhook, &sendMail, std::move(sip)}) {}

Notifier::Notifier(boost::asio::io_context& io, store::Store& store,
                   std::shared_ptr<const config::Config> config, Channels channels,
                   std::optional<std::chrono::milliseconds> escalateAfter)
    : impl_(std::make_shared<Impl>(io, store, std::move(config), std::move(channels), escalateAfter,
                                   counters_)) {}

Notifier::~Notifier() {
  impl_->stop();
  // What the writer still has queued is written (the next start sends it); what it hands over
  // now finds the notifier stopped.
  writer_.reset();
}

void Notifier::setOutbox(Outbox outbox) {
  impl_->outboxProblem = outbox.problem;
  impl_->alarmEvery = std::max(outbox.alarmEvery, std::chrono::milliseconds(1));
  impl_->recorder->setPersisted(outbox.problem.empty());
  impl_->recorder->setNode(outbox.node);
  impl_->node = outbox.node;
  impl_->shared = outbox.shared;
  impl_->spool = AlertSpool(outbox.spool);
  impl_->memoryOutbox = !outbox.problem.empty();
  counters_.outboxUp.store(outbox.problem.empty() ? 1 : 0, std::memory_order_relaxed);
  if (!outbox.problem.empty()) {
    Impl::raiseAlarm(outbox.problem, impl_->spool.path());
  }
  if (outbox.path.empty()) {
    return;
  }
  // On the writer thread: write, then hand the jobs to the I/O thread, which may be gone by
  // then (a weak reference; the io_context outlives the notifier).
  auto write = [recorder = impl_->recorder, weak = std::weak_ptr<Impl>(impl_), &io = impl_->io,
                ids = DeliveryIds()](store::Store& store, const CallEvent& event,
                                     SteadyTime queuedAt) mutable {
    WrittenEvent w = recorder->write(store, event, ids, queuedAt);
    boost::asio::post(io, [weak, w = std::move(w)]() mutable {
      auto self = weak.lock();
      if (!self) {
        return;
      }
      self->guarded("event", [&] { self->track(std::move(w)); });
    });
  };
  auto started = OutboxWriter::start(outbox.path, std::move(write));
  if (!started.ok()) {
    spdlog::error(
        "responder alerts: the outbox's own writer could not open {}: {}; the I/O thread "
        "writes the alerts instead (to the same database)",
        outbox.path, started.error().message);
    return;
  }
  writer_ = std::move(started).value();
}

std::optional<std::string> Notifier::outboxProblem() const {
  if (impl_->outboxProblem.empty()) {
    return std::nullopt;
  }
  return impl_->outboxProblem;
}

void Notifier::start() {
  impl_->guarded("start", [&] { impl_->start(); });
}

void Notifier::stop() { impl_->stop(); }

void Notifier::post(CallEvent event) {
  if (writer_) {
    writer_->submit(std::move(event));
    return;
  }
  // The store is in memory: written on the I/O thread, which alone may use it.
  boost::asio::post(impl_->io, [weak = std::weak_ptr<Impl>(impl_), event = std::move(event),
                                queuedAt = std::chrono::steady_clock::now()]() mutable {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    self->guarded("event", [&] { self->onEvent(event, queuedAt); });
  });
}

Result<bool> Notifier::acknowledge(const std::string& callId, const std::string& by) {
  try {
    return impl_->acknowledge(callId, by);
  } catch (const std::exception& e) {
    return Error{"notify.internal", e.what()};
  }
}

void Notifier::setObserver(std::function<void(const AlertChange&)> observer) {
  impl_->observer = std::move(observer);
}

void Notifier::setConfig(std::shared_ptr<const config::Config> config) {
  if (config) {
    impl_->recorder->setConfig(config);
    impl_->config = std::move(config);
  }
}

}  // namespace sos::notify
