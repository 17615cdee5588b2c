// Responder alerts: delivering the outbox's jobs, on the I/O thread (see notifier.h). Each job
// is tried on its channel with a deadline; a failure is retried with backoff, an emergency
// call's until it is delivered (issue 14).

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <exception>

#include "base/clock.h"
#include "notify/notifier_impl.h"
#include "store/store.h"

namespace sos::notify {
namespace {

// A report that never comes (a channel that breaks its promise, a SIP thread that stopped) must
// not leave a job in flight for ever: past its timeout and this grace, the attempt has failed.
constexpr milliseconds kReportGrace{1000};

}  // namespace

// One attempt of one job on its channel.
void Notifier::Impl::attempt(int64_t key) {
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
  a.timer->async_wait([weak = weak_from_this(), key, number,
                       timeout](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec) {
      return;
    }
    self->guarded("delivery deadline", [&] {
      self->finish(key, number,
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
      r.caFile = settings().webhookCaFile;
      r.timeout = timeout;
      channels.webhook(io, std::move(r), done);
    } else if (job.channel == "email" && channels.mail) {
      MailRequest r = relayRequest(settings());
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
      r.delivery = job.deliveryId;
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
std::string Notifier::Impl::webhookSecret(const std::string& url) const {
  for (const auto& site : config->sites) {
    for (const auto& r : site.responders) {
      if (r.channel == config::Responder::Channel::Webhook && r.target == url) {
        return r.secret;
      }
    }
  }
  return "";
}

void Notifier::Impl::finish(int64_t key, uint64_t number, const Result<void>& result) {
  auto it = jobs.find(key);
  if (it == jobs.end() || it->second.attempt != number || !it->second.inFlight) {
    return;  // a stale report: the deadline came first, or stop() has been
  }
  Active& a = it->second;
  a.inFlight = false;
  a.timer->cancel();
  if (key < 0 && a.storedId == 0) {
    spoolDirty = true;  // its attempts or its outcome, for the spool file at the next tick
  }
  store::NotificationJob& job = a.job;
  // A job first tried from memory (a negative key) may have been written since (replayUnsaved).
  const int64_t id = key > 0 ? key : a.storedId;
  const bool stored = id > 0;
  const int attempts = job.attempts + 1;
  const int maxAttempts = std::max(settings().maxAttempts, 1);
  if (result.ok()) {
    counters.delivered.fetch_add(1, std::memory_order_relaxed);
    counters.attempts.add(job.channel, "delivered");
    spdlog::log(a.failing ? spdlog::level::warn : spdlog::level::debug,
                "call {}: {} alert delivered by {} to {} (attempt {})", job.callId, job.event,
                job.channel, job.target, attempts);
    if (stored) {
      if (auto r = store.markNotificationDelivered(id, sharedMsNow()); !r.ok()) {
        spdlog::error(
            "call {}: delivery of alert {} not written (it may be sent again after a "
            "restart): {}",
            job.callId, key, r.error().message);
      }
    }
    job.attempts = attempts;
    if (!stored) {
      job.state = "delivered";
      job.deliveredAtMs = sharedMsNow();
      keepUnsaved(job);
    }
    tell(AlertChange::What::Delivered, job, key);
    setFailing(a, false);
    jobs.erase(it);
    return;
  }
  const std::string error = result.error().code + ": " + result.error().message;
  counters.errors.add(job.channel, result.error().code);
  if (attempts == maxAttempts) {
    counters.pastMaxAttempts.fetch_add(1, std::memory_order_relaxed);
  }
  if (attempts >= maxAttempts && job.test) {
    // A test call's alert: nobody is in danger, and a receiver that is down for good must
    // not have its alerts retried for ever.
    counters.givenUp.fetch_add(1, std::memory_order_relaxed);
    counters.attempts.add(job.channel, "given-up");
    spdlog::error("call {}: {} alert of a test call by {} to {} given up after {} attempts: {}",
                  job.callId, job.event, job.channel, job.target, attempts, error);
    if (stored) {
      if (auto r = store.markNotificationGivenUp(id, error); !r.ok()) {
        spdlog::error("call {}: giving up alert {} not written: {}", job.callId, key,
                      r.error().message);
      }
    }
    job.attempts = attempts;
    if (!stored) {
      job.state = "given_up";
      job.lastError = error;
      keepUnsaved(job);
    }
    tell(AlertChange::What::GivenUp, job, key, error);
    setFailing(a, false);
    jobs.erase(it);
    return;
  }
  // An emergency call's alert is never given up (issue 14): past max_attempts it is retried
  // every retry_max_s (the backoff's cap) until delivered, and failing until then.
  const milliseconds delay = backoff(attempts);
  job.attempts = attempts;
  job.nextAttemptAtMs = sharedMsNow() + delay.count();
  job.lastError = error;
  counters.retries.fetch_add(1, std::memory_order_relaxed);
  counters.attempts.add(job.channel, "failed");
  if (attempts >= maxAttempts) {
    setFailing(a, true);
    spdlog::error(
        "call {}: {} alert by {} to {} still failing after {} attempts (max_attempts {}), "
        "next in {} ms; an emergency call's alert is retried until delivered: {}",
        job.callId, job.event, job.channel, job.target, attempts, maxAttempts, delay.count(),
        error);
  } else {
    spdlog::warn("call {}: {} alert by {} to {} failed (attempt {} of {}), next in {} ms: {}",
                 job.callId, job.event, job.channel, job.target, attempts, maxAttempts,
                 delay.count(), error);
  }
  if (stored) {
    auto r = store.markNotificationRetry(id, job.nextAttemptAtMs, error, node);
    if (!r.ok()) {
      spdlog::error("call {}: retry of alert {} not written: {}", job.callId, key,
                    r.error().message);
    } else if (!r.value()) {
      // Delivered by another node, or taken over by one after this node's claim ran out: the
      // other node tries it from now on.
      spdlog::info("call {}: alert {} is no longer this node's to try", job.callId, key);
      tell(AlertChange::What::Failed, job, key, error);
      setFailing(a, false);
      jobs.erase(it);
      return;
    }
  }
  tell(AlertChange::What::Failed, job, key, error);
  waitThenAttempt(key, delay);
}

// The failing gauge counts the jobs of this run past max_attempts.
void Notifier::Impl::setFailing(Active& a, bool failing) {
  if (a.failing != failing) {
    a.failing = failing;
    if (failing) {
      counters.failing.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters.failing.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

// retryInitialMs doubled for each failed attempt after the first, at most retryMaxMs.
milliseconds Notifier::Impl::backoff(int failedAttempts) const {
  const int64_t ceiling = std::max(settings().retryMaxMs, 0);
  int64_t delay = std::max(settings().retryInitialMs, 0);
  for (int i = 1; i < failedAttempts && delay < ceiling; ++i) {
    delay *= 2;
  }
  return milliseconds(std::min(delay, ceiling));
}

void Notifier::Impl::waitThenAttempt(int64_t key, milliseconds delay) {
  auto it = jobs.find(key);
  if (it == jobs.end()) {
    return;
  }
  it->second.timer->expires_after(delay);
  it->second.timer->async_wait([weak = weak_from_this(), key](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped) {
      return;
    }
    self->guarded("delivery", [&] { self->attempt(key); });
  });
}

}  // namespace sos::notify
