#pragma once
// Responder alerts (issue 6): for each emergency-call event, one job per responder of the
// caller's site goes into a persistent outbox (SQLite), and each job is delivered on its
// channel with retries and backoff.
//
// Threads (issue 14): the SIP thread hands events over with post(), which never waits. With the
// outbox in a database file, the outbox's own writer thread (outbox_writer.h) writes each
// event's jobs the moment it arrives, on a connection of its own with synchronous=FULL, and
// hands them to the I/O thread, which delivers them. Everything else (attempts, escalations,
// acknowledgements, resuming at start) runs on the I/O thread with the Store it was given.
//
// - The call never waits: events are posted after the INVITE toward the PSAP has left.
// - A job is written before it is tried, and marked delivered after its channel says so; after
//   a crash, pending jobs are resumed (at least once; a receiver can drop repeats by the
//   delivery id). In one run no job is tried twice.
// - An emergency call's alert is never given up: after max_attempts it is still retried, every
//   retry_max_s, until delivered, with an error line for each failure and the `failing` gauge
//   above 0. Only a test call's alert is given up then.
// - Tier 1 responders are alerted on every event; when nobody acknowledges the call within
//   escalate_after_s, tier 2 is alerted (and so on). The call's last known details are kept
//   with its alert in the store (call_alerts.details), so an escalation after a restart still
//   says who called, from where, and how to call back.
// - A dead channel costs other channels nothing: every job has its own timeout and backoff.
// - An outbox that could not be opened where the configuration puts it is an alarm (a log line
//   at start and every minute, the outboxUp gauge at 0, /readyz not ready), and alerts are
//   still delivered, from memory.
// What an alert says is messages.h's; what jobs an event makes is outbox_jobs.h's; this is the
// worker that delivers them.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/counters.h"
#include "base/result.h"
#include "config/config.h"
#include "notify/channels.h"
#include "notify/event.h"
#include "notify/outbox_writer.h"

namespace sos::store {
class Store;
}

namespace sos::notify {

struct NotifyCounters {
  std::atomic<uint64_t> queued{0};     // jobs written to the outbox
  std::atomic<uint64_t> delivered{0};  // jobs a channel accepted
  std::atomic<uint64_t> retries{0};    // attempts that failed and were scheduled again
  // Jobs that failed max_attempts times: an emergency call's is still retried (and failing
  // until delivered), a test call's is given up.
  std::atomic<uint64_t> pastMaxAttempts{0};
  std::atomic<uint64_t> givenUp{0};  // test calls' jobs that ran out of attempts
  std::atomic<uint64_t> failing{0};  // gauge: jobs past max_attempts, not delivered yet
  std::atomic<uint64_t> escalations{0};
  std::atomic<uint64_t> acknowledged{0};
  std::atomic<uint64_t> notQueued{0};  // events that could not be written (store unusable)
  // Jobs written to an outbox in memory because the database could not be opened: a restart
  // loses those not yet delivered.
  std::atomic<uint64_t> notPersisted{0};
  std::atomic<uint64_t> outboxUp{1};  // gauge: 0 while the outbox could not be opened
  // Several nodes on one database: pending jobs and escalations of another node whose claim ran
  // out (a node that died), taken over by this one; and renewals of this node's claims that
  // failed (the database away: past the lease, another node may take them over).
  std::atomic<uint64_t> jobsTakenOver{0};
  std::atomic<uint64_t> escalationsTakenOver{0};
  std::atomic<uint64_t> claimRenewalsFailed{0};
  // Jobs tried from memory because the store could not take them, written to it later.
  std::atomic<uint64_t> replayed{0};
  // Each delivery attempt by channel (webhook, email, sip) and outcome: delivered, failed (to be
  // tried again), given-up (a test call's, past max_attempts).
  LabelledCounts attempts;
  // Failed attempts by channel and error code ("webhook.tls", "smtp.auth", "timeout", ...).
  LabelledCounts errors;
};

// A change to an emergency call's alerts, for the dashboard (I/O thread): a job written, its
// delivery or a failed attempt, a test call's job given up, the call acknowledged.
struct AlertChange {
  enum class What { Queued, Delivered, Failed, GivenUp, Acknowledged };
  What what = What::Queued;
  std::string callId;
  int64_t job = 0;  // the job's outbox id (negative: in memory only); 0 for Acknowledged
  std::string event;
  int tier = 1;
  std::string channel;
  std::string target;
  int attempts = 0;
  std::string error;  // Failed, GivenUp: why
  std::string by;     // Acknowledged: who
  int64_t atMs = 0;
};

class Notifier {
 public:
  // `store` is the outbox (the same database as the location data, or in memory); used on the
  // I/O thread only. `sip` sends SIP MESSAGEs through the SIP thread.
  Notifier(boost::asio::io_context& io, store::Store& store,
           std::shared_ptr<const config::Config> config, SipSender sip);

  // What jobs are delivered through: the constructor above uses postWebhook, sendMail and its
  // `sip`. Each reports through its Done once, from any thread (the report is taken over to the
  // I/O thread). `escalateAfter` replaces notifications.escalateAfterSeconds, for tests that
  // cannot wait minutes.
  struct Channels {
    std::function<void(boost::asio::io_context&, WebhookRequest, Done)> webhook;
    std::function<void(boost::asio::io_context&, MailRequest, Done)> mail;
    SipSender sip;
  };
  Notifier(boost::asio::io_context& io, store::Store& store,
           std::shared_ptr<const config::Config> config, Channels channels,
           std::optional<std::chrono::milliseconds> escalateAfter = std::nullopt);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Where the outbox is. `path`: the database file `store` has open, for the outbox's own
  // writer (a connection and a thread of its own); empty when the store is in memory, which no
  // other connection can share: events are then written on the I/O thread through `store`.
  // `problem`: why the outbox is not where the configuration puts it (its database could not be
  // opened, `store` is in memory instead); the alarm is raised then, every `alarmEvery`.
  struct Outbox {
    std::string path;
    std::string problem;
    std::chrono::milliseconds alarmEvery{60000};
    // This node's name in the outbox's claims (store.node_name), and whether other nodes share
    // the database (PostgreSQL): then start() resumes only this node's own pending alerts, those
    // nobody claimed and those whose claim ran out, keeps its claims renewed, and takes over
    // those of other nodes whose claims run out. Alone on its database, start() resumes all.
    std::string node;
    bool shared = false;
    // The file that keeps the alerts the outbox could not take (the database away) across a
    // stop or a crash (notify/alert_spool.h); with `problem` set (the outbox in memory), all the
    // alerts of the run's calls. Empty: none.
    std::string spool;
  };
  // Main thread, once, before start() and before the first event. Without it, events are written
  // on the I/O thread. When the writer cannot open its connection, that is logged as an error
  // and events are written on the I/O thread (still to the database file).
  void setOutbox(Outbox outbox);
  // Why the outbox is not where the configuration puts it (for /readyz), or none.
  std::optional<std::string> outboxProblem() const;

  // Resumes the jobs a previous run left pending, and the escalation timers of unacknowledged
  // calls (with a shared outbox, see Outbox::shared, those this node may claim). Call once on
  // the I/O thread, before or after the first events arrive: a job is tried once in a run,
  // whether start() or its event's writing handed it over first.
  void start();
  // I/O thread: no further attempts or escalations in this run; what is pending stays in the
  // outbox for the next start(). Events posted later are still written, not tried.
  void stop();

  // Any thread, never waiting: the event's jobs are written by the outbox's writer (or on the
  // I/O thread), then delivered on the I/O thread.
  void post(CallEvent event);

  // A responder acknowledges the call (admin API, I/O thread): no further tier is alerted.
  // Returns false when no alerted call has that id; true again for a call acknowledged before
  // (the first acknowledgement is the one kept).
  Result<bool> acknowledge(const std::string& callId, const std::string& by);

  void setConfig(std::shared_ptr<const config::Config> config);  // reload, I/O thread
  // Who hears of each change to a call's alerts in this run (the dashboard's live calls); called
  // on the I/O thread, must not throw. Set before start().
  void setObserver(std::function<void(const AlertChange&)> observer);
  const NotifyCounters& counters() const { return counters_; }

 private:
  struct Impl;
  class Recorder;
  NotifyCounters counters_;  // before impl_, which counts into it: built first, destroyed last
  // Shared so that timers and channel reports that come back after the notifier is gone find
  // it gone (they hold weak references) rather than a dangling one.
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<OutboxWriter> writer_;  // none: events are written on the I/O thread
};

}  // namespace sos::notify
