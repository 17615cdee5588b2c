// Responder alerts: the outbox worked on the I/O thread (see notifier.h). Every job is written
// before it is tried. A channel's report is always taken over to the I/O thread before anything
// is touched, so a channel that reports at once, or from the SIP thread, is handled like one
// that reports later, and a report that comes back after stop() (or after the notifier is gone)
// finds nothing to change: its job stays pending in the outbox for the next start.

#include "notify/notifier.h"

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <exception>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "base/clock.h"
#include "notify/messages.h"
#include "store/store.h"

namespace sos::notify {
namespace {

using std::chrono::milliseconds;

// A report that never comes (a channel that breaks its promise, a SIP thread that stopped) must
// not leave a job in flight for ever: past its timeout and this grace, the attempt has failed.
constexpr milliseconds kReportGrace{1000};

std::string channelName(config::Responder::Channel c) { return std::string(config::toString(c)); }

}  // namespace

// ---- The outbox at work ----

struct Notifier::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, store::Store& store,
       std::shared_ptr<const config::Config> config, Channels channels,
       std::optional<milliseconds> escalateAfter, NotifyCounters& counters)
      : io(io),
        store(store),
        config(std::move(config)),
        channels(std::move(channels)),
        escalateAfterOverride(escalateAfter),
        counters(counters),
        random(std::random_device{}()) {}

  // A job of this run: pending, waiting for its next attempt or for its channel's report.
  struct Active {
    store::NotificationJob job;
    std::unique_ptr<boost::asio::steady_timer> timer;  // next attempt, or the report's deadline
    uint64_t attempt = 0;  // numbers the attempts: a report of an earlier one is stale
    bool inFlight = false;
  };
  // An unacknowledged call with a tier left to alert.
  struct Alert {
    store::CallAlert row;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  boost::asio::io_context& io;
  store::Store& store;
  std::shared_ptr<const config::Config> config;
  Channels channels;
  std::optional<milliseconds> escalateAfterOverride;
  NotifyCounters& counters;
  std::mt19937_64 random;
  bool stopped = false;
  // Keyed by job id; a job the store could not take is still tried, under a negative key and
  // without bookkeeping in the store.
  std::map<int64_t, Active> jobs;
  int64_t nextUnstoredKey = -1;
  std::map<std::string, Alert> alerts;  // by Call-ID

  const config::Notifications& settings() const { return config->notifications; }

  milliseconds escalateAfter() const {
    return escalateAfterOverride.value_or(
        milliseconds(int64_t{std::max(settings().escalateAfterSeconds, 0)} * 1000));
  }

  // The event's site, else the default site (the first): an alert reaching somebody beats one
  // reaching nobody.
  const config::Site* siteOf(const std::string& name) const {
    if (const config::Site* s = config->findSite(name)) {
      return s;
    }
    return config->sites.empty() ? nullptr : &config->sites.front();
  }

  // The lowest tier above `tier` that the site has, or 0.
  static int nextTier(const config::Site& site, int tier) {
    int next = 0;
    for (const auto& r : site.responders) {
      if (r.tier > tier && (next == 0 || r.tier < next)) {
        next = r.tier;
      }
    }
    return next;
  }

  std::string newDeliveryId() {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%016llx%016llx",
                  static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    return buffer;
  }

  // Runs `f` as a handler of the I/O thread: nothing it throws may stop the io_context.
  template <class F>
  void guarded(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::error("responder alerts: {}: internal error: {}", what, e.what());
    } catch (...) {
      spdlog::error("responder alerts: {}: internal error", what);
    }
  }

  // The jobs of one event (or escalation) for the responders of `tier` of `site`.
  std::vector<store::NotificationJob> jobsFor(const config::Site& site, const CallEvent& e,
                                              std::string_view eventName, int tier, int64_t nowMs) {
    std::vector<store::NotificationJob> out;
    for (const auto& r : site.responders) {
      if (r.tier != tier) {
        continue;
      }
      store::NotificationJob j;
      j.deliveryId = newDeliveryId();
      j.callId = e.callId;
      j.event = std::string(eventName);
      j.tier = tier;
      j.channel = channelName(r.channel);
      j.target = r.target;
      j.payload = alertText(r.channel, e, tier, j.deliveryId);
      j.nextAttemptAtMs = nowMs;
      j.createdAtMs = nowMs;
      j.test = e.test;
      out.push_back(std::move(j));
    }
    return out;
  }

  // Writes the jobs (and the alert) in one transaction, then tries each at once. When the store
  // fails the jobs are still tried, from memory only: the responders hear of the call even if
  // a restart would not remember it.
  void queue(std::vector<store::NotificationJob> batch, const store::CallAlert* alert) {
    if (batch.empty() && alert == nullptr) {
      return;
    }
    auto written = store.insertNotificationJobs(batch, alert);
    if (!written.ok()) {
      counters.notQueued.fetch_add(1, std::memory_order_relaxed);
      spdlog::error(
          "call {}: responder alerts not written to the outbox ({} jobs), trying them "
          "without it: {}",
          batch.empty() ? (alert ? alert->callId : "") : batch.front().callId, batch.size(),
          written.error().message);
      for (auto& j : batch) {
        j.id = nextUnstoredKey--;
      }
    } else {
      counters.queued.fetch_add(batch.size(), std::memory_order_relaxed);
    }
    if (stopped) {
      return;  // written: the next start() sends them
    }
    for (auto& j : batch) {
      int64_t key = j.id;
      Active& a = jobs[key];
      a.job = std::move(j);
      a.timer = std::make_unique<boost::asio::steady_timer>(io);
      attempt(key);
    }
  }

  void onEvent(CallEvent e) {
    const config::Site* site = siteOf(e.site);
    if (site == nullptr) {
      spdlog::warn("call {}: {}: no site configured, no responder alerted", e.callId,
                   toString(e.kind));
      return;
    }
    if (site->name != e.site) {
      spdlog::warn("call {}: site \"{}\" is not configured: alerting the responders of {}",
                   e.callId, e.site, site->name);
    }
    const int64_t now = unixMsNow();
    auto batch = jobsFor(*site, e, toString(e.kind), 1, now);

    std::optional<store::CallAlert> alert;
    auto known = alerts.find(e.callId);
    if (known != alerts.end()) {
      // A later event of a call still waiting for its acknowledgement: its details are what a
      // coming escalation will say.
      known->second.row.details =
          eventToJson(merged(eventFromJson(known->second.row.details, e.callId), e));
      alert = known->second.row;
    } else if (e.kind == EventKind::Started && !site->responders.empty()) {
      store::CallAlert a;
      a.callId = e.callId;
      a.site = site->name;
      a.firstEventAtMs = now;
      a.escalateAtMs = now + escalateAfter().count();
      a.escalatedTier = 1;
      a.details = eventToJson(e);
      alert = a;
    }
    if (!batch.empty()) {
      spdlog::info("call {}: {}: alerting {} responder(s) of {}{}", e.callId, toString(e.kind),
                   batch.size(), site->name, e.test ? " (test call)" : "");
    }
    queue(std::move(batch), alert ? &*alert : nullptr);
    if (alert && known == alerts.end() && !stopped) {
      Alert& a = alerts[alert->callId];
      a.row = std::move(*alert);
      a.timer = std::make_unique<boost::asio::steady_timer>(io);
      scheduleEscalation(a.row.callId);
    }
  }

  void scheduleEscalation(const std::string& callId) {
    auto it = alerts.find(callId);
    if (it == alerts.end()) {
      return;
    }
    Alert& a = it->second;
    a.timer->expires_after(milliseconds(std::max<int64_t>(a.row.escalateAtMs - unixMsNow(), 0)));
    a.timer->async_wait([weak = weak_from_this(), callId](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopped) {
        return;
      }
      self->guarded("escalation", [&] { self->escalate(callId); });
    });
  }

  void escalate(const std::string& callId) {
    auto it = alerts.find(callId);
    if (it == alerts.end()) {
      return;
    }
    // The store has the last word on the acknowledgement: the admin API may have written it
    // for a call this run alerted twice (a repeated Call-ID).
    if (auto stored = store.loadCallAlert(callId);
        stored.ok() && stored.value() && stored.value()->acknowledgedAtMs != 0) {
      alerts.erase(it);
      return;
    }
    store::CallAlert& row = it->second.row;
    const config::Site* site = siteOf(row.site);
    const int tier = site != nullptr ? nextTier(*site, row.escalatedTier) : 0;
    const int64_t now = unixMsNow();
    if (tier == 0) {
      // Nobody left to alert (the configuration may have changed since the call): the alert
      // stays unacknowledged, but no timer waits for it.
      row.escalateAtMs = 0;
      if (auto r = store.upsertCallAlert(row); !r.ok()) {
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
    auto batch = jobsFor(*site, e, kEscalationEvent, tier, now);
    row.escalatedTier = tier;
    row.escalateAtMs = nextTier(*site, tier) != 0 ? now + escalateAfter().count() : 0;
    counters.escalations.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("call {}: {}; escalating to tier {} ({} responder(s) of {})", callId, e.detail,
                 tier, batch.size(), site->name);
    store::CallAlert written = row;
    queue(std::move(batch), &written);
    // queue() may not erase alerts, so `it` is still valid here.
    if (written.escalateAtMs != 0 && !stopped) {
      scheduleEscalation(callId);
    } else {
      alerts.erase(callId);
    }
  }

  // One attempt of one job on its channel.
  void attempt(int64_t key) {
    auto it = jobs.find(key);
    if (it == jobs.end()) {
      return;
    }
    Active& a = it->second;
    const uint64_t number = ++a.attempt;
    a.inFlight = true;
    const auto timeout = milliseconds(std::max(settings().timeoutMs, 1));

    // The deadline in case the report never comes.
    a.timer->expires_after(timeout + kReportGrace);
    a.timer->async_wait(
        [weak = weak_from_this(), key, number, timeout](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (!self || ec) {
            return;
          }
          self->guarded("delivery deadline", [&] {
            self->finish(
                key, number,
                Error{"timeout", "no report within " + std::to_string(timeout.count()) + " ms"});
          });
        });

    // Whoever calls it and from wherever, the report is handled later on the I/O thread: never
    // inside this function, never on another thread (which only posts; the io_context outlives
    // the notifier, while the notifier must not be locked, and so perhaps destroyed, there).
    const Done done = [&io = io, weak = weak_from_this(), key, number](Result<void> result) {
      boost::asio::post(io, [weak, key, number, result = std::move(result)]() mutable {
        auto self = weak.lock();
        if (!self) {
          return;
        }
        self->guarded("delivery report", [&] { self->finish(key, number, result); });
      });
    };

    const store::NotificationJob& job = a.job;
    try {
      if (job.channel == "webhook" && channels.webhook) {
        WebhookRequest r;
        r.url = job.target;
        r.secret = webhookSecret(job.target);
        r.body = job.payload;
        r.delivery = job.deliveryId;
        r.timeout = timeout;
        channels.webhook(io, std::move(r), done);
      } else if (job.channel == "email" && channels.mail) {
        MailRequest r;
        r.host = settings().smtpHost;
        r.port = settings().smtpPort;
        r.from = settings().mailFrom;
        r.to = job.target;
        size_t lineEnd = job.payload.find('\n');
        r.subject = job.payload.substr(0, lineEnd);
        r.body = lineEnd == std::string::npos ? "" : job.payload.substr(lineEnd + 1);
        r.messageId = "<" + job.deliveryId + "@sosproxy>";
        r.timeout = timeout;
        channels.mail(io, std::move(r), done);
      } else if (job.channel == "sip" && channels.sip) {
        SipMessageRequest r;
        r.uri = job.target;
        r.body = job.payload;
        r.timeout = timeout;
        channels.sip(std::move(r), done);
      } else {
        done(Error{"channel", "no " + job.channel + " channel available"});
      }
    } catch (const std::exception& ex) {
      // A channel that throws has failed this attempt; the job is retried like any other (a
      // report it made before throwing would be the first, and this one stale).
      done(Error{"channel", ex.what()});
    }
  }

  // The key of a webhook's signature: that of the responder with this URL in the configuration
  // in force now (jobs keep no secrets, and a rotated key applies to retries too). A job whose
  // responder was removed goes out unsigned.
  std::string webhookSecret(const std::string& url) const {
    for (const auto& site : config->sites) {
      for (const auto& r : site.responders) {
        if (r.channel == config::Responder::Channel::Webhook && r.target == url) {
          return r.secret;
        }
      }
    }
    return "";
  }

  void finish(int64_t key, uint64_t number, const Result<void>& result) {
    auto it = jobs.find(key);
    if (it == jobs.end() || it->second.attempt != number || !it->second.inFlight) {
      return;  // a stale report: the deadline came first, or stop() has been
    }
    Active& a = it->second;
    a.inFlight = false;
    a.timer->cancel();
    store::NotificationJob& job = a.job;
    const bool stored = key > 0;
    const int attempts = job.attempts + 1;
    const int maxAttempts = std::max(settings().maxAttempts, 1);
    if (result.ok()) {
      counters.delivered.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("call {}: {} alert delivered by {} to {} (attempt {})", job.callId, job.event,
                    job.channel, job.target, attempts);
      if (stored) {
        if (auto r = store.markNotificationDelivered(key, unixMsNow()); !r.ok()) {
          spdlog::error(
              "call {}: delivery of alert {} not written (it may be sent again after a "
              "restart): {}",
              job.callId, key, r.error().message);
        }
      }
      jobs.erase(it);
      return;
    }
    const std::string error = result.error().code + ": " + result.error().message;
    if (attempts >= maxAttempts) {
      counters.givenUp.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("call {}: {} alert by {} to {} given up after {} attempts: {}", job.callId,
                    job.event, job.channel, job.target, attempts, error);
      if (stored) {
        if (auto r = store.markNotificationGivenUp(key, error); !r.ok()) {
          spdlog::error("call {}: giving up alert {} not written: {}", job.callId, key,
                        r.error().message);
        }
      }
      jobs.erase(it);
      return;
    }
    const milliseconds delay = backoff(attempts);
    job.attempts = attempts;
    job.nextAttemptAtMs = unixMsNow() + delay.count();
    job.lastError = error;
    counters.retries.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("call {}: {} alert by {} to {} failed (attempt {} of {}), next in {} ms: {}",
                 job.callId, job.event, job.channel, job.target, attempts, maxAttempts,
                 delay.count(), error);
    if (stored) {
      if (auto r = store.markNotificationRetry(key, job.nextAttemptAtMs, error); !r.ok()) {
        spdlog::error("call {}: retry of alert {} not written: {}", job.callId, key,
                      r.error().message);
      }
    }
    waitThenAttempt(key, delay);
  }

  // retryInitialMs doubled for each failed attempt after the first, at most retryMaxMs.
  milliseconds backoff(int failedAttempts) const {
    const int64_t ceiling = std::max(settings().retryMaxMs, 0);
    int64_t delay = std::max(settings().retryInitialMs, 0);
    for (int i = 1; i < failedAttempts && delay < ceiling; ++i) {
      delay *= 2;
    }
    return milliseconds(std::min(delay, ceiling));
  }

  void waitThenAttempt(int64_t key, milliseconds delay) {
    auto it = jobs.find(key);
    if (it == jobs.end()) {
      return;
    }
    it->second.timer->expires_after(delay);
    it->second.timer->async_wait(
        [weak = weak_from_this(), key](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (!self || ec || self->stopped) {
            return;
          }
          self->guarded("delivery", [&] { self->attempt(key); });
        });
  }

  void start() {
    stopped = false;
    const int64_t now = unixMsNow();
    size_t resumedJobs = 0;
    if (auto due = store.loadDueNotificationJobs(std::numeric_limits<int64_t>::max()); due.ok()) {
      for (auto& j : due.value()) {
        if (jobs.count(j.id) != 0) {
          continue;  // an event that came before start(): already being tried
        }
        int64_t key = j.id;
        milliseconds delay(std::max<int64_t>(j.nextAttemptAtMs - now, 0));
        Active& a = jobs[key];
        a.job = std::move(j);
        a.timer = std::make_unique<boost::asio::steady_timer>(io);
        waitThenAttempt(key, delay);
        ++resumedJobs;
      }
    } else {
      spdlog::error("responder alerts: pending jobs not read: {}", due.error().message);
    }
    size_t resumedAlerts = 0;
    if (auto due = store.loadEscalationsDue(std::numeric_limits<int64_t>::max()); due.ok()) {
      for (auto& row : due.value()) {
        if (alerts.count(row.callId) != 0) {
          continue;
        }
        std::string callId = row.callId;
        Alert& a = alerts[callId];
        a.row = std::move(row);
        a.timer = std::make_unique<boost::asio::steady_timer>(io);
        scheduleEscalation(callId);
        ++resumedAlerts;
      }
    } else {
      spdlog::error("responder alerts: escalations not read: {}", due.error().message);
    }
    if (resumedJobs + resumedAlerts > 0) {
      spdlog::info("responder alerts: resuming {} pending job(s) and {} escalation(s)", resumedJobs,
                   resumedAlerts);
    }
  }

  void stop() {
    stopped = true;
    // Timers are cancelled with their owners; reports still on their way find no job.
    jobs.clear();
    alerts.clear();
  }

  Result<bool> acknowledge(const std::string& callId, const std::string& by) {
    auto known = store.loadCallAlert(callId);
    bool first = known.ok() && known.value() && known.value()->acknowledgedAtMs == 0;
    auto r = store.acknowledgeCallAlert(callId, by, unixMsNow());
    auto it = alerts.find(callId);
    if (!r.ok()) {
      spdlog::error("call {}: acknowledgement by {} not written: {}", callId, by,
                    r.error().message);
      if (it == alerts.end()) {
        return r.error();
      }
      // Known in this run: the escalation stops now, even if a restart would resume it.
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
    }
    return true;
  }
};

Notifier::Notifier(boost::asio::io_context& io, store::Store& store,
                   std::shared_ptr<const config::Config> config, SipSender sip)
    : Notifier(io, store, std::move(config), Channels{&postWebhook, &sendMail, std::move(sip)}) {}

Notifier::Notifier(boost::asio::io_context& io, store::Store& store,
                   std::shared_ptr<const config::Config> config, Channels channels,
                   std::optional<std::chrono::milliseconds> escalateAfter)
    : impl_(std::make_shared<Impl>(io, store, std::move(config), std::move(channels), escalateAfter,
                                   counters_)) {}

Notifier::~Notifier() { impl_->stop(); }

void Notifier::start() {
  impl_->guarded("start", [&] { impl_->start(); });
}

void Notifier::stop() { impl_->stop(); }

void Notifier::post(CallEvent event) {
  boost::asio::post(impl_->io,
                    [weak = std::weak_ptr<Impl>(impl_), event = std::move(event)]() mutable {
                      auto self = weak.lock();
                      if (!self) {
                        return;
                      }
                      self->guarded("event", [&] { self->onEvent(std::move(event)); });
                    });
}

Result<bool> Notifier::acknowledge(const std::string& callId, const std::string& by) {
  try {
    return impl_->acknowledge(callId, by);
  } catch (const std::exception& e) {
    return Error{"notify.internal", e.what()};
  }
}

void Notifier::setConfig(std::shared_ptr<const config::Config> config) {
  if (config) {
    impl_->config = std::move(config);
  }
}

}  // namespace sos::notify
