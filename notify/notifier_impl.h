#pragma once
// Internal to notify/: the notifier's parts, shared by notifier.cpp (events, escalations, start
// and stop) and notifier_delivery.cpp (attempts, retries, reports). Not included elsewhere.

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "notify/alert_spool.h"
#include "notify/notifier.h"
#include "notify/outbox_jobs.h"
#include "store/notification_job.h"

namespace sos::notify {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// notifications.escalate_after_s of `config`, unless a test replaces it.
milliseconds escalateAfterOf(const config::Config& config, std::optional<milliseconds> override);

// What both threads that write share: the configuration in force (replaced by a reload on the
// I/O thread, read by the writer thread), and how writes are counted and logged.
class Notifier::Recorder {
 public:
  Recorder(std::shared_ptr<const config::Config> config, std::optional<milliseconds> escalateAfter,
           NotifyCounters& counters)
      : config_(std::move(config)), escalateAfter_(escalateAfter), counters_(counters) {}

  void setConfig(std::shared_ptr<const config::Config> config) {
    std::lock_guard lock(mutex_);
    config_ = std::move(config);
  }
  std::shared_ptr<const config::Config> config() const {
    std::lock_guard lock(mutex_);
    return config_;
  }
  milliseconds escalateAfter(const config::Config& config) const {
    return escalateAfterOf(config, escalateAfter_);
  }
  // Set before the first event (Notifier::setOutbox), read after.
  void setPersisted(bool persisted) { persisted_ = persisted; }
  void setNode(std::string node) { node_ = std::move(node); }

  // Writes `e` through `store` (the thread's own), then counts and logs what was written.
  WrittenEvent write(store::Store& store, const CallEvent& e, DeliveryIds& ids,
                     SteadyTime queuedAt);
  // Counts what was written (or not) and logs what was not.
  void count(const WrittenEvent& w) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const config::Config> config_;  // guarded by mutex_
  const std::optional<milliseconds> escalateAfter_;
  NotifyCounters& counters_;
  bool persisted_ = true;
  std::string node_;  // whose claim the jobs written carry; "" for none
};

// The outbox at work, on the I/O thread.
struct Notifier::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, store::Store& store,
       std::shared_ptr<const config::Config> config, Channels channels,
       std::optional<milliseconds> escalateAfter, NotifyCounters& counters)
      : io(io),
        store(store),
        config(config),
        recorder(std::make_shared<Recorder>(std::move(config), escalateAfter, counters)),
        channels(std::move(channels)),
        escalateAfterOverride(escalateAfter),
        counters(counters) {}

  // A job of this run: pending, waiting for its next attempt or for its channel's report.
  struct Active {
    store::NotificationJob job;
    std::unique_ptr<boost::asio::steady_timer> timer;  // next attempt, or the report's deadline
    uint64_t attempt = 0;  // numbers the attempts: a report of an earlier one is stale
    bool inFlight = false;
    bool failing = false;  // past max_attempts: counted in the failing gauge
    int64_t storedId = 0;  // a job first tried from memory, once written to the outbox
  };
  // An unacknowledged call with a tier left to alert.
  struct Alert {
    store::CallAlert row;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  boost::asio::io_context& io;
  store::Store& store;
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<Recorder> recorder;  // shared with the writer thread
  Channels channels;
  std::optional<milliseconds> escalateAfterOverride;
  NotifyCounters& counters;
  DeliveryIds ids;  // this thread's: escalations, and events when there is no writer
  bool stopped = false;
  // Keyed by job id; a job the store could not take is still tried, under a negative key and
  // without bookkeeping in the store.
  std::map<int64_t, Active> jobs;
  int64_t nextUnstoredKey = -1;
  std::map<std::string, Alert> alerts;  // by Call-ID
  // What start() took from the outbox: the writer thread may have written them before start()
  // read it and still be handing them over, and they must not be tried twice.
  std::set<int64_t> resumedJobs;
  std::set<std::string> resumedAlerts;
  std::string outboxProblem;                             // set before start(); see Notifier::Outbox
  std::string node;                                      // likewise
  bool shared = false;                                   // likewise
  std::unique_ptr<boost::asio::steady_timer> tickTimer;  // claims, and writes kept for later
  bool renewalFailing = false;                           // the last renewal failed
  // start() could not read what was pending (the database away at the start): tried again at
  // each tick until it can, before this node renews claims that may be its previous run's.
  bool resumePending = false;
  // What the store could not take when it came (tried from memory meanwhile), written once it
  // takes writes again (replayUnsaved): jobs finished before that, and new call alerts (with
  // their tier and escalation time as this run has them then), at most kMaxUnsaved of each.
  std::vector<store::NotificationJob> unsavedDone;
  std::map<std::string, store::CallAlert> unsavedAlerts;  // by Call-ID
  static constexpr size_t kMaxUnsaved = 10000;
  // The same on disk (Outbox::spool): written when the store refuses a call's alerts, at the
  // tick after any of them changed (spoolDirty), when they are written to the outbox, and at
  // stop(); read back by start().
  AlertSpool spool;
  bool spoolDirty = false;
  // The calls whose alerts start() read from the spool file: some may be in the outbox already.
  std::set<std::string> spooledCalls;
  // The outbox is in memory (Outbox::problem: its database could not be opened at start): the
  // spool file then holds everything of the calls whose alerts it took (memoryCalls, at most
  // kMaxUnsaved), written anew at each tick where any of it changed and at stop(), so that a
  // restart, onto the database or again in memory, goes on with them.
  bool memoryOutbox = false;
  std::set<std::string> memoryCalls;
  std::function<void(const AlertChange&)> observer;  // Notifier::setObserver

  // Tells the observer, if any, of a change to `job`.
  void tell(AlertChange::What what, const store::NotificationJob& job, int64_t key,
            const std::string& error = "");
  milliseconds alarmEvery{60000};
  std::unique_ptr<boost::asio::steady_timer> alarm;

  const config::Notifications& settings() const { return config->notifications; }

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

  // Events and escalations (notifier.cpp).
  void onEvent(const CallEvent& e, SteadyTime queuedAt);
  void track(WrittenEvent w);
  void scheduleEscalation(const std::string& callId);
  void escalate(const std::string& callId);
  void start();
  // What a start resumes (see Notifier::start); false when the outbox could not be read.
  bool resume();
  // What a claim took: tried and escalated from now on, unless this run has them already.
  // Returns how many were new to it.
  size_t adoptJobs(std::vector<store::NotificationJob> due, bool atStart);
  size_t adoptAlerts(std::vector<store::CallAlert> due, bool atStart);
  // Every second (a shared outbox: every third of the lease, if shorter), this node's claims
  // are renewed and those of other nodes that ran out are taken over (a shared outbox), and
  // what the store could not take is written (replayUnsaved).
  void keepClaims();
  void renewAndTakeOver();
  // Writes to the outbox what was tried from memory because the store could not take it,
  // once it takes writes again; each call's jobs in one transaction.
  void replayUnsaved();
  void keepUnsaved(const store::NotificationJob& job);
  // A call's alert kept for the outbox, as this run has it now (its tier and escalation time;
  // none left once acknowledged).
  store::CallAlert unsavedAlertNow(const std::string& callId, const store::CallAlert& kept) const;
  // The spool file written anew with what the outbox has not taken (and, with the outbox in
  // memory, all it has of memoryCalls); reading it back at start.
  void writeSpool();
  void loadSpool();
  // With the outbox in memory: `callId`'s alerts are kept in the spool file from now on.
  void keepInMemorySpool(const std::string& callId);
  static void raiseAlarm(const std::string& problem, const std::string& spoolPath);
  void repeatAlarm();
  void stop();
  Result<bool> acknowledge(const std::string& callId, const std::string& by);

  // Delivery (notifier_delivery.cpp).
  void attempt(int64_t key);
  std::string webhookSecret(const std::string& url) const;
  void finish(int64_t key, uint64_t number, const Result<void>& result);
  void setFailing(Active& a, bool failing);
  milliseconds backoff(int failedAttempts) const;
  void waitThenAttempt(int64_t key, milliseconds delay);
};

}  // namespace sos::notify
