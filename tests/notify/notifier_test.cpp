// The outbox of responder alerts: jobs per responder, retries with backoff (never giving up an
// emergency call's), escalation and acknowledgement, what a restart resumes, the outbox's own
// writer thread and the alarm of an outbox that could not be opened. The channels are fakes that
// answer as each test scripts them; the store is SQLite in memory (a file where a test breaks it
// or the writer thread needs one). No test sleeps: the io_context runs until what is awaited has
// happened, within a deadline.

#include "notify/notifier.h"

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "notify/alert_spool.h"
#include "notify/messages.h"
#include "sample_event.h"
#include "store/store.h"
#include "tests/store/test_database.h"

namespace sos::notify {
namespace {

using test::started;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kWebhook = "http://127.0.0.1:8089/alerts";
const std::string kGuardMail = "guard@example.com";
const std::string kDesk = "sip:security-desk@127.0.0.1:5094";
const std::string kManagers = "http://127.0.0.1:8089/managers";  // tier 2
const std::string kDirector = "sip:director@127.0.0.1:5096";     // tier 3

config::Responder responder(config::Responder::Channel channel, std::string target, int tier = 1,
                            std::string secret = "") {
  config::Responder r;
  r.channel = channel;
  r.target = std::move(target);
  r.tier = tier;
  r.secret = std::move(secret);
  return r;
}

// A pending job of the "started" event, as a previous run or another node left it in the outbox.
store::NotificationJob leftJob(std::string deliveryId, std::string callId, std::string channel,
                               std::string target, std::string payload) {
  store::NotificationJob j;
  j.deliveryId = std::move(deliveryId);
  j.callId = std::move(callId);
  j.event = "started";
  j.channel = std::move(channel);
  j.target = std::move(target);
  j.payload = std::move(payload);
  return j;
}

// A pending webhook job of call 1-4242@127.0.0.1, due at `atMs`, claimed by `node` until
// `leaseUntilMs` (another node's, or this node's previous run's).
store::NotificationJob claimedJob(std::string deliveryId, std::string node, int64_t atMs,
                                  int64_t leaseUntilMs) {
  store::NotificationJob j =
      leftJob(std::move(deliveryId), "1-4242@127.0.0.1", "webhook", kWebhook, "{}");
  j.nextAttemptAtMs = atMs;
  j.createdAtMs = atMs;
  j.claimedBy = std::move(node);
  j.leaseUntilMs = leaseUntilMs;
  return j;
}

std::shared_ptr<config::Config> makeConfig(bool withHigherTiers = false) {
  auto cfg = std::make_shared<config::Config>();
  config::Site hq;
  hq.name = "HQ";
  hq.country = "US";
  hq.dialStrings = {"911"};
  using Channel = config::Responder::Channel;
  hq.responders = {responder(Channel::Webhook, kWebhook, 1, "s3cret"),
                   responder(Channel::Email, kGuardMail), responder(Channel::Sip, kDesk)};
  if (withHigherTiers) {
    hq.responders.push_back(responder(Channel::Webhook, kManagers, 2));
    hq.responders.push_back(responder(Channel::Sip, kDirector, 3));
  }
  config::Site london;
  london.name = "London";
  london.country = "GB";
  london.responders = {responder(Channel::Email, "london-desk@example.com")};
  cfg->sites = {hq, london};
  cfg->notifications.smtpHost = "127.0.0.1";
  cfg->notifications.smtpPort = 2525;
  cfg->notifications.mailFrom = "sosproxy@example.com";
  cfg->notifications.timeoutMs = 2000;
  cfg->notifications.maxAttempts = 4;
  cfg->notifications.retryInitialMs = 30;
  cfg->notifications.retryMaxMs = 1000;
  return cfg;
}

// What a channel was asked to deliver.
struct Sent {
  std::string channel, target, body, delivery, secret, subject, messageId, host, from;
  uint16_t port = 0;
  std::chrono::milliseconds timeout{0};
  Clock::time_point at;
};

// Channels that answer as scripted per target: each attempt takes the next outcome of its
// target's script, and Ok when the script is used up.
class FakeChannels {
 public:
  enum class Outcome { Ok, Fail, Hold };  // Hold: keep `done` and report nothing (yet)

  std::vector<Sent> sent;
  std::map<std::string, std::deque<Outcome>> script;
  std::vector<Done> held;
  bool sipReportsFromAnotherThread = false;  // as the SIP thread does

  ~FakeChannels() {
    for (auto& t : threads_) {
      t.join();
    }
  }

  Notifier::Channels channels() {
    Notifier::Channels c;
    c.webhook = [this](boost::asio::io_context&, WebhookRequest r, Done done) {
      Sent s;
      s.channel = "webhook";
      s.target = r.url;
      s.body = r.body;
      s.delivery = r.delivery;
      s.secret = r.secret;
      s.timeout = r.timeout;
      answer(std::move(s), std::move(done));
    };
    c.mail = [this](boost::asio::io_context&, MailRequest r, Done done) {
      Sent s;
      s.channel = "email";
      s.target = r.to;
      s.body = r.body;
      s.subject = r.subject;
      s.messageId = r.messageId;
      s.host = r.host;
      s.port = r.port;
      s.from = r.from;
      s.timeout = r.timeout;
      answer(std::move(s), std::move(done));
    };
    c.sip = [this](SipMessageRequest r, Done done) {
      Sent s;
      s.channel = "sip";
      s.target = r.uri;
      s.body = r.body;
      s.timeout = r.timeout;
      answer(std::move(s), std::move(done), sipReportsFromAnotherThread);
    };
    return c;
  }

  size_t count(const std::string& target) const {
    return std::count_if(sent.begin(), sent.end(),
                         [&](const Sent& s) { return s.target == target; });
  }
  std::vector<const Sent*> to(const std::string& target) const {
    std::vector<const Sent*> out;
    for (const auto& s : sent) {
      if (s.target == target) {
        out.push_back(&s);
      }
    }
    return out;
  }

 private:
  void answer(Sent s, Done done, bool fromAnotherThread = false) {
    s.at = Clock::now();
    Outcome outcome = Outcome::Ok;
    if (auto& queue = script[s.target]; !queue.empty()) {
      outcome = queue.front();
      queue.pop_front();
    }
    const std::string target = s.target;
    sent.push_back(std::move(s));
    Result<void> result;
    if (outcome == Outcome::Hold) {
      held.push_back(std::move(done));
      return;
    }
    if (outcome == Outcome::Fail) {
      result = Error{"webhook.status", "HTTP 503 from " + target};
    }
    // Reports at once, from inside the call: the notifier must not mind.
    if (fromAnotherThread) {
      threads_.emplace_back([done = std::move(done), result]() { done(result); });
    } else {
      done(result);
    }
  }
  std::vector<std::thread> threads_;
};

class NotifierTest : public ::testing::Test {
 protected:
  // The outbox in memory, or with SOSPROXY_TEST_POSTGRESQL (tests/store/test_database.h) that
  // PostgreSQL database, emptied first: the same tests on both engines.
  NotifierTest() : work_(boost::asio::make_work_guard(io_)) {
    const std::string pg = store::testing::testPostgresql();
    if (!pg.empty()) store::testing::emptyPostgresql(pg);
    auto opened = store::Store::open(pg.empty() ? ":memory:" : pg);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  ~NotifierTest() override {
    store_.reset();
    if (!dir_.empty()) {
      std::filesystem::remove_all(dir_);
    }
    if (!spoolDir_.empty()) {
      std::filesystem::remove_all(spoolDir_);
    }
  }

  // Replaces the store in memory by a database file in a directory of its own (removed at the
  // end); returns the file's path. With PostgreSQL: its URI, the store staying as it is.
  std::string useDatabaseFile() {
    if (const std::string pg = store::testing::testPostgresql(); !pg.empty()) return pg;
    dir_ = (std::filesystem::path(::testing::TempDir()) / "notifier_test.XXXXXX").string();
    EXPECT_NE(mkdtemp(dir_.data()), nullptr);
    const std::string path = dir_ + "/sos.db";
    auto opened = store::Store::open(path);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    return path;
  }

  std::unique_ptr<Notifier> make(std::shared_ptr<const config::Config> cfg,
                                 std::optional<std::chrono::milliseconds> escalateAfter = {}) {
    return std::make_unique<Notifier>(io_, *store_, std::move(cfg), fake_.channels(),
                                      escalateAfter);
  }

  // Node A among nodes on the outbox at `path` (Outbox::shared), started, its claims lasting
  // `leaseMs`.
  std::unique_ptr<Notifier> startNodeA(const std::string& path, int leaseMs,
                                       bool withHigherTiers = false) {
    auto cfg = makeConfig(withHigherTiers);
    cfg->notifications.leaseMs = leaseMs;
    auto notifier = make(cfg);
    notifier->setOutbox({path, "", 60000ms, "node-a", true, ""});
    notifier->start();
    return notifier;
  }

  // Runs the I/O thread's work here until `condition` holds; false when it did not in time.
  bool runUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!condition()) {
      if (Clock::now() > deadline) {
        return false;
      }
      io_.run_one_for(10ms);
    }
    return true;
  }

  std::vector<store::NotificationJob> jobsOf(const std::string& callId) {
    auto jobs = store_->loadNotificationJobs(callId);
    EXPECT_TRUE(jobs.ok()) << jobs.error().message;
    return jobs.ok() ? jobs.value() : std::vector<store::NotificationJob>{};
  }

  const store::NotificationJob* jobTo(const std::vector<store::NotificationJob>& jobs,
                                      const std::string& target) {
    for (const auto& j : jobs) {
      if (j.target == target) {
        return &j;
      }
    }
    return nullptr;
  }

  size_t deliveredJobs(const std::string& callId) {
    auto jobs = jobsOf(callId);
    return std::count_if(jobs.begin(), jobs.end(),
                         [](const auto& j) { return j.state == "delivered"; });
  }

  // An alert spool file's path in a directory of its own, removed at the end (never named
  // after the database: with PostgreSQL that is a URI).
  std::string spoolFile() {
    spoolDir_ = (std::filesystem::path(::testing::TempDir()) / "alert_spool.XXXXXX").string();
    EXPECT_NE(mkdtemp(spoolDir_.data()), nullptr);
    return spoolDir_ + "/sos.db.spool.alerts";
  }

  std::string dir_;       // of a database file, when a test uses one
  std::string spoolDir_;  // of an alert spool file, when a test uses one
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<store::Store> store_;
  FakeChannels fake_;  // before the notifiers: they hold its channels
};

// ---- Texts ----

TEST_F(NotifierTest, AStartedCallQueuesOneJobPerTier1ResponderAndDeliversThem) {
  fake_.sipReportsFromAnotherThread = true;
  auto notifier = make(makeConfig(true));
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));

  auto jobs = jobsOf("1-4242@127.0.0.1");
  ASSERT_EQ(jobs.size(), 3u);  // tier 1 only: tiers 2 and 3 wait for an escalation
  for (const auto& j : jobs) {
    SCOPED_TRACE(j.target);
    EXPECT_EQ(j.event, "started");
    EXPECT_EQ(j.tier, 1);
    EXPECT_EQ(j.state, "delivered");
    EXPECT_EQ(j.attempts, 1);
    EXPECT_GT(j.deliveredAtMs, 0);
    EXPECT_FALSE(j.test);
    EXPECT_FALSE(j.deliveryId.empty());
  }
  const auto* webhook = jobTo(jobs, kWebhook);
  const auto* mail = jobTo(jobs, kGuardMail);
  const auto* sip = jobTo(jobs, kDesk);
  ASSERT_TRUE(webhook && mail && sip);
  EXPECT_EQ(webhook->channel, "webhook");
  EXPECT_EQ(mail->channel, "email");
  EXPECT_EQ(sip->channel, "sip");
  EXPECT_NE(webhook->deliveryId, mail->deliveryId);

  // The webhook: the stored JSON as it went out, signed with its responder's secret.
  ASSERT_EQ(fake_.count(kWebhook), 1u);
  const Sent& hook = *fake_.to(kWebhook)[0];
  EXPECT_EQ(hook.body, webhook->payload);
  EXPECT_EQ(hook.secret, "s3cret");
  EXPECT_EQ(hook.delivery, webhook->deliveryId);
  EXPECT_EQ(hook.timeout, 2000ms);
  auto json = nlohmann::json::parse(hook.body);
  EXPECT_EQ(json["event"], "started");
  EXPECT_EQ(json["delivery_id"], webhook->deliveryId);
  EXPECT_EQ(json["caller"]["extension"], "1001");
  EXPECT_EQ(json["callback_number"], "+12175550102");

  // The e-mail: subject and body from the payload, through the configured relay.
  ASSERT_EQ(fake_.count(kGuardMail), 1u);
  const Sent& m = *fake_.to(kGuardMail)[0];
  EXPECT_EQ(m.subject, "Emergency call 911 from 1001 (HQ Floor 2)");
  EXPECT_EQ(m.body, plainText(started()));
  EXPECT_EQ(mail->payload, m.subject + "\n" + m.body);
  EXPECT_EQ(m.host, "127.0.0.1");
  EXPECT_EQ(m.port, 2525);
  EXPECT_EQ(m.from, "sosproxy@example.com");
  EXPECT_EQ(m.messageId, "<" + mail->deliveryId + "@sosproxy>");

  // The SIP MESSAGE: the plain text, which has what a guard needs at a glance.
  ASSERT_EQ(fake_.count(kDesk), 1u);
  const Sent& message = *fake_.to(kDesk)[0];
  EXPECT_EQ(message.body, sip->payload);
  EXPECT_NE(message.body.find("Alice Smith"), std::string::npos);
  EXPECT_NE(message.body.find("Callback number: +12175550102"), std::string::npos);
  EXPECT_NE(message.body.find("FLR 2, ROOM 210"), std::string::npos);

  // The call is waiting for its acknowledgement.
  auto alert = store_->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->site, "HQ");
  EXPECT_EQ(alert.value()->escalatedTier, 1);
  EXPECT_EQ(alert.value()->escalateAtMs - alert.value()->firstEventAtMs, 120000);
  EXPECT_EQ(alert.value()->acknowledgedAtMs, 0);
  EXPECT_EQ(notifier->counters().queued, 3u);
  EXPECT_EQ(notifier->counters().retries, 0u);
  EXPECT_EQ(notifier->counters().notQueued, 0u);
}

TEST_F(NotifierTest, LaterEventsGoToTier1OfTheCallersSiteOnly) {
  auto notifier = make(makeConfig(true));
  notifier->start();
  CallEvent answered = started();
  answered.kind = EventKind::Answered;
  notifier->post(answered);
  CallEvent london = started("2-1@127.0.0.1");
  london.kind = EventKind::Ended;
  london.site = "London";
  london.detail = "answered";
  notifier->post(london);
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 4; }));
  auto hq = jobsOf("1-4242@127.0.0.1");
  ASSERT_EQ(hq.size(), 3u);
  EXPECT_EQ(hq[0].event, "answered");
  auto uk = jobsOf("2-1@127.0.0.1");
  ASSERT_EQ(uk.size(), 1u);
  EXPECT_EQ(uk[0].target, "london-desk@example.com");
  EXPECT_EQ(uk[0].event, "ended");
  // Only a started call waits for an acknowledgement.
  auto alert = store_->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(alert.ok());
  EXPECT_FALSE(alert.value().has_value());
}

TEST_F(NotifierTest, AFailingChannelIsRetriedWithGrowingDelaysWhileTheOthersAreDeliveredAtOnce) {
  using O = FakeChannels::Outcome;
  auto cfg = makeConfig();
  cfg->notifications.retryInitialMs = 50;
  fake_.script[kWebhook] = {O::Fail, O::Fail, O::Ok};
  auto notifier = make(cfg);
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));

  auto tries = fake_.to(kWebhook);
  ASSERT_EQ(tries.size(), 3u);
  // retry_initial_ms, then twice that.
  EXPECT_GE(tries[1]->at - tries[0]->at, 50ms);
  EXPECT_GE(tries[2]->at - tries[1]->at, 100ms);
  // The mail and the MESSAGE did not wait for the webhook's retries.
  ASSERT_EQ(fake_.count(kGuardMail), 1u);
  ASSERT_EQ(fake_.count(kDesk), 1u);
  EXPECT_LT(fake_.to(kGuardMail)[0]->at, tries[1]->at);
  EXPECT_LT(fake_.to(kDesk)[0]->at, tries[1]->at);
  // The same delivery every time: a receiver can drop repeats.
  EXPECT_EQ(tries[0]->delivery, tries[2]->delivery);
  EXPECT_EQ(tries[0]->body, tries[2]->body);

  auto jobs = jobsOf("1-4242@127.0.0.1");
  const auto* webhook = jobTo(jobs, kWebhook);
  ASSERT_NE(webhook, nullptr);
  EXPECT_EQ(webhook->state, "delivered");
  EXPECT_EQ(webhook->attempts, 3);
  EXPECT_EQ(webhook->lastError, "webhook.status: HTTP 503 from " + kWebhook);
  EXPECT_GE(webhook->nextAttemptAtMs - webhook->createdAtMs, 150);  // 50 + 100
  EXPECT_EQ(jobTo(jobs, kGuardMail)->attempts, 1);
  EXPECT_EQ(notifier->counters().retries, 2u);
  EXPECT_EQ(notifier->counters().givenUp, 0u);
}

// Issue 14: an emergency call's alert is never given up. Past max_attempts it is retried every
// retry_max_s (the backoff's cap), and failing, in the gauge, until it is delivered.
TEST_F(NotifierTest, AnEmergencyAlertIsNeverGivenUpAndFailsLoudlyUntilDelivered) {
  using O = FakeChannels::Outcome;
  auto cfg = makeConfig();
  cfg->notifications.maxAttempts = 3;
  cfg->notifications.retryInitialMs = 10;
  cfg->notifications.retryMaxMs = 40;  // 10, 20, then 40 each time
  fake_.script[kDesk] = {O::Fail, O::Fail, O::Fail, O::Fail, O::Fail, O::Fail};
  auto notifier = make(cfg);
  notifier->start();
  notifier->post(started());

  // The third failure reaches max_attempts: still pending, now failing.
  ASSERT_TRUE(runUntil([&] { return fake_.count(kDesk) == 4; }));
  EXPECT_EQ(notifier->counters().failing, 1u);
  EXPECT_EQ(notifier->counters().pastMaxAttempts, 1u);
  auto jobs = jobsOf("1-4242@127.0.0.1");
  ASSERT_NE(jobTo(jobs, kDesk), nullptr);
  EXPECT_EQ(jobTo(jobs, kDesk)->state, "pending");
  auto due = store_->loadDueNotificationJobs(INT64_MAX);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due.value().size(), 1u);  // what a restart would resume

  // The seventh attempt gets through.
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  EXPECT_EQ(fake_.count(kDesk), 7u);
  auto tries = fake_.to(kDesk);
  for (size_t i = 3; i < tries.size(); ++i) {
    EXPECT_GE(tries[i]->at - tries[i - 1]->at, 40ms) << "attempt " << i + 1;
  }
  jobs = jobsOf("1-4242@127.0.0.1");
  const auto* desk = jobTo(jobs, kDesk);
  ASSERT_NE(desk, nullptr);
  EXPECT_EQ(desk->state, "delivered");
  EXPECT_EQ(desk->attempts, 7);
  EXPECT_GE(desk->nextAttemptAtMs - desk->createdAtMs, 10 + 20 + 40 * 4);
  EXPECT_EQ(notifier->counters().failing, 0u);
  EXPECT_EQ(notifier->counters().pastMaxAttempts, 1u);
  EXPECT_EQ(notifier->counters().givenUp, 0u);
  EXPECT_EQ(notifier->counters().retries, 6u);
}

// A test call (933) endangers nobody: its alert is given up after max_attempts.
TEST_F(NotifierTest, ATestCallsAlertIsGivenUpAfterMaxAttempts) {
  using O = FakeChannels::Outcome;
  auto cfg = makeConfig();
  cfg->notifications.maxAttempts = 3;
  cfg->notifications.retryInitialMs = 10;
  cfg->notifications.retryMaxMs = 15;  // 10 then 15, not 20
  fake_.script[kDesk] = {O::Fail, O::Fail, O::Fail, O::Fail, O::Fail};
  auto notifier = make(cfg);
  notifier->start();
  CallEvent test = started();
  test.test = true;
  test.dialed = "933";
  notifier->post(test);
  ASSERT_TRUE(runUntil([&] { return notifier->counters().givenUp == 1; }));
  io_.poll();  // anything ready to run still (there must be nothing for the desk)
  EXPECT_EQ(fake_.count(kDesk), 3u);
  auto jobs = jobsOf("1-4242@127.0.0.1");
  const auto* desk = jobTo(jobs, kDesk);
  ASSERT_NE(desk, nullptr);
  EXPECT_EQ(desk->state, "given_up");
  EXPECT_EQ(desk->attempts, 3);
  EXPECT_EQ(desk->lastError, "webhook.status: HTTP 503 from " + kDesk);
  EXPECT_EQ(notifier->counters().retries, 2u);
  EXPECT_EQ(notifier->counters().delivered, 2u);
  EXPECT_EQ(notifier->counters().pastMaxAttempts, 1u);
  EXPECT_EQ(notifier->counters().failing, 0u);
  auto due = store_->loadDueNotificationJobs(INT64_MAX);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due.value().empty());
}

// A job a previous run left pending past max_attempts is failing from the start.
TEST_F(NotifierTest, AResumedJobPastMaxAttemptsIsFailingUntilDelivered) {
  using O = FakeChannels::Outcome;
  auto cfg = makeConfig();
  cfg->notifications.maxAttempts = 2;
  auto jobs =
      std::vector<store::NotificationJob>{leftJob("d-1", "old call", "sip", kDesk, "911 call")};
  jobs[0].attempts = 5;
  ASSERT_TRUE(store_->insertNotificationJobs(jobs).ok());
  fake_.script[kDesk] = {O::Hold};
  auto notifier = make(cfg);
  notifier->start();
  EXPECT_EQ(notifier->counters().failing, 1u);
  ASSERT_TRUE(runUntil([&] { return fake_.held.size() == 1; }));
  fake_.held[0](Result<void>{});
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 1; }));
  EXPECT_EQ(notifier->counters().failing, 0u);
  EXPECT_EQ(jobsOf("old call")[0].state, "delivered");
}

TEST_F(NotifierTest, AReportThatNeverComesFailsTheAttemptAtItsDeadline) {
  using O = FakeChannels::Outcome;
  auto cfg = makeConfig();
  cfg->notifications.timeoutMs = 20;  // the deadline is this plus a second of grace
  fake_.script[kDesk] = {O::Hold};
  auto notifier = make(cfg);
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return fake_.count(kDesk) == 2; }));
  auto jobs = jobsOf("1-4242@127.0.0.1");
  EXPECT_EQ(jobTo(jobs, kDesk)->lastError, "timeout: no report within 20 ms");
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  // The report of the abandoned attempt, late: it changes nothing.
  ASSERT_EQ(fake_.held.size(), 1u);
  fake_.held[0](Error{"timeout", "late"});
  io_.poll();
  EXPECT_EQ(jobTo(jobsOf("1-4242@127.0.0.1"), kDesk)->state, "delivered");
  EXPECT_EQ(notifier->counters().givenUp, 0u);
  EXPECT_EQ(notifier->counters().retries, 1u);
}

TEST_F(NotifierTest, AnUnacknowledgedCallEscalatesTierByTier) {
  auto notifier = make(makeConfig(true), 100ms);
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return notifier->counters().escalations == 1; }));
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  EXPECT_EQ(fake_.count(kDirector), 0u);
  auto json = nlohmann::json::parse(fake_.to(kManagers)[0]->body);
  EXPECT_EQ(json["event"], "escalation");
  EXPECT_EQ(json["tier"], 2);
  EXPECT_EQ(json["caller"]["name"], "Alice Smith");
  EXPECT_EQ(json["location"]["address"], started().address);
  EXPECT_EQ(fake_.to(kManagers)[0]->secret, "");

  ASSERT_TRUE(runUntil([&] { return notifier->counters().escalations == 2; }));
  ASSERT_TRUE(runUntil([&] { return fake_.count(kDirector) == 1; }));
  EXPECT_EQ(fake_.to(kDirector)[0]->body.rfind("ESCALATION (tier 3)", 0), 0u);

  auto jobs = jobsOf("1-4242@127.0.0.1");
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobTo(jobs, kManagers)->event, "escalation");
  EXPECT_EQ(jobTo(jobs, kManagers)->tier, 2);
  EXPECT_EQ(jobTo(jobs, kDirector)->tier, 3);
  auto alert = store_->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->escalatedTier, 3);
  EXPECT_EQ(alert.value()->escalateAtMs, 0);  // no tier left

  // Tier 1 still hears of the call's events; the escalated tiers do not.
  CallEvent ended = started();
  ended.kind = EventKind::Ended;
  ended.detail = "answered";
  notifier->post(ended);
  ASSERT_TRUE(runUntil([&] { return jobsOf("1-4242@127.0.0.1").size() == 8; }));
  EXPECT_EQ(fake_.count(kManagers), 1u);
  EXPECT_EQ(fake_.count(kDirector), 1u);
}

TEST_F(NotifierTest, AnAcknowledgedCallIsNotEscalated) {
  auto notifier = make(makeConfig(true), 80ms);
  notifier->start();
  notifier->post(started("acked"));
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  auto ack = notifier->acknowledge("acked", "guard-7");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_TRUE(ack.value());
  auto again = notifier->acknowledge("acked", "guard-8");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value());
  auto unknown = notifier->acknowledge("never alerted", "guard-7");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown.value());
  EXPECT_EQ(notifier->counters().acknowledged, 1u);

  // A second call, started later with the same delay: once it has escalated, the first one
  // would have too.
  notifier->post(started("not acked"));
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  EXPECT_EQ(notifier->counters().escalations, 1u);
  EXPECT_EQ(jobsOf("acked").size(), 3u);
  EXPECT_EQ(jobsOf("not acked").size(), 4u);
  auto alert = store_->loadCallAlert("acked");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->acknowledgedBy, "guard-7");
  EXPECT_EQ(alert.value()->escalatedTier, 1);
}

TEST_F(NotifierTest, ARestartDeliversWhatWasPendingExactlyOnce) {
  using O = FakeChannels::Outcome;
  // First run: the mail is delivered; the webhook is in flight and the desk waits for a retry
  // when the process dies.
  fake_.script[kWebhook] = {O::Hold};
  fake_.script[kDesk] = {O::Fail};
  auto cfg = makeConfig(true);
  cfg->notifications.retryInitialMs = 60000;
  cfg->notifications.retryMaxMs = 60000;
  auto first = make(cfg, std::chrono::milliseconds(3600 * 1000));
  first->start();
  first->post(started());
  ASSERT_TRUE(runUntil([&] {
    return first->counters().delivered == 1 && first->counters().retries == 1 &&
           fake_.held.size() == 1;
  }));
  first.reset();
  // The call's escalation was due while the process was down.
  auto alert = store_->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  store::CallAlert overdue = *alert.value();
  overdue.escalateAtMs = overdue.firstEventAtMs;
  ASSERT_TRUE(store_->upsertCallAlert(overdue).ok());
  const std::string webhookDelivery = fake_.to(kWebhook)[0]->delivery;
  fake_.sent.clear();

  // Second run: an event that arrives before start() is tried once, not again by start() (its
  // webhook is still in flight then).
  auto second = make(makeConfig(true), std::chrono::milliseconds(3600 * 1000));
  fake_.script[kWebhook] = {O::Hold, O::Ok};  // the new event's, then the resumed job
  second->post(started("2-7@127.0.0.1"));
  ASSERT_TRUE(runUntil([&] { return fake_.count(kGuardMail) == 1; }));
  second->start();
  // The desk's retry was due in a minute: start() tries it then, not now.
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  ASSERT_TRUE(runUntil([&] { return second->counters().delivered == 4; }));
  io_.poll();

  EXPECT_EQ(fake_.count(kGuardMail), 1u);  // the new call's; the first call's was delivered
  EXPECT_EQ(fake_.count(kWebhook), 2u);    // the resumed one and the new call's
  EXPECT_EQ(fake_.count(kDesk), 1u);       // the new call's only: the old one is not due yet
  EXPECT_EQ(fake_.to(kWebhook)[1]->delivery, webhookDelivery);
  EXPECT_EQ(second->counters().escalations, 1u);

  auto jobs = jobsOf("1-4242@127.0.0.1");
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(jobTo(jobs, kWebhook)->state, "delivered");
  EXPECT_EQ(jobTo(jobs, kWebhook)->attempts, 1);  // the attempt lost in the crash is not one
  EXPECT_EQ(jobTo(jobs, kGuardMail)->state, "delivered");
  EXPECT_EQ(jobTo(jobs, kDesk)->state, "pending");
  EXPECT_EQ(jobTo(jobs, kManagers)->state, "delivered");
  auto json = nlohmann::json::parse(fake_.to(kManagers)[0]->body);
  EXPECT_EQ(json["callback_number"], "+12175550102");  // the details survived the restart

  // The first run's in-flight report arrives after all: nobody listens any more.
  ASSERT_EQ(fake_.held.size(), 2u);
  fake_.held[0](Error{"timeout", "late"});
  io_.poll();
  EXPECT_EQ(jobTo(jobsOf("1-4242@127.0.0.1"), kWebhook)->state, "delivered");
}

// Issue 22: other nodes on the database (Outbox::shared). A node resumes only its own pending
// jobs, those nobody claimed and those whose claim ran out; another node's live claim, on a job
// or on a call's escalation, is left to that node until it runs out, then taken over (and
// counted), and the escalation is this node's from then on.
TEST_F(NotifierTest, AmongNodesOnlyWhatAnotherNodeNoLongerHoldsIsTakenOver) {
  const std::string path = useDatabaseFile();
  const int64_t now = unixMsNow();
  std::vector<store::NotificationJob> jobs{claimedJob("d-live", "node-b", now, now + 600000),
                                           claimedJob("d-dead", "node-b", now, now - 1)};
  store::CallAlert alert;
  alert.callId = "1-4242@127.0.0.1";
  alert.site = "HQ";
  alert.firstEventAtMs = now;
  alert.escalateAtMs = now;  // due: only its holder may escalate it
  alert.details = "{}";
  alert.claimedBy = "node-b";
  alert.leaseUntilMs = now + 600000;
  ASSERT_TRUE(store_->insertNotificationJobs(jobs, &alert).ok());

  auto notifier = startNodeA(path, 1000, true);
  ASSERT_TRUE(runUntil([&] { return fake_.count(kWebhook) == 1; }));
  EXPECT_EQ(fake_.to(kWebhook)[0]->delivery, "d-dead");
  ASSERT_FALSE(
      runUntil([&] { return fake_.count(kWebhook) > 1 || fake_.count(kManagers) > 0; }, 500ms));
  EXPECT_EQ(notifier->counters().jobsTakenOver, 0u);

  // Node B stops renewing: its claims run out, node A takes them over.
  store::testing::executeSql(path,
                             "UPDATE notification_jobs SET lease_until = 1; "
                             "UPDATE call_alerts SET lease_until = 1");
  ASSERT_TRUE(runUntil([&] { return fake_.count(kWebhook) == 2 && fake_.count(kManagers) == 1; }));
  EXPECT_EQ(fake_.to(kWebhook)[1]->delivery, "d-live");
  EXPECT_EQ(notifier->counters().jobsTakenOver, 1u);
  EXPECT_EQ(notifier->counters().escalationsTakenOver, 1u);
  EXPECT_EQ(notifier->counters().escalations, 1u);
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  EXPECT_EQ(store::testing::queryRows(
                path, "SELECT DISTINCT claimed_by || '|' || state FROM notification_jobs"),
            std::vector<std::string>{"node-a|delivered"});
}

// A host whose clock is a minute ahead of the database server's (base/clock.h: the store watch
// measured the offset): another node's claim that runs for 10 s more by the server's clock was
// already out by this host's. The notifier goes by the shared clock, so it leaves the claim alone
// until it runs out; the claims it makes itself are in the server's time too.
TEST_F(NotifierTest, AClaimIsJudgedByTheDatabaseServersClockNotThisHosts) {
  const std::string path = useDatabaseFile();
  struct Offset {
    Offset() { setSharedClockOffsetMs(-60000); }
    ~Offset() { setSharedClockOffsetMs(0); }
  } aheadOfTheServer;
  const int64_t serverNow = sharedMsNow();
  // The lease ran out 50 s ago by this host's clock.
  std::vector<store::NotificationJob> jobs{
      claimedJob("d-live", "node-b", serverNow, serverNow + 10000)};
  ASSERT_TRUE(store_->insertNotificationJobs(jobs, nullptr).ok());

  auto notifier = startNodeA(path, 30000);
  ASSERT_FALSE(runUntil([&] { return fake_.count(kWebhook) > 0; }, 500ms));
  EXPECT_EQ(notifier->counters().jobsTakenOver, 0u);

  notifier->post(started("own"));
  ASSERT_TRUE(runUntil([&] { return notifier->counters().queued == 3; }));
  const auto rows = store::testing::queryRows(
      path, "SELECT min(lease_until) FROM notification_jobs WHERE call_id = 'own'");
  ASSERT_EQ(rows.size(), 1u);
  const int64_t leaseEnds = std::stoll(rows[0]);
  EXPECT_GE(leaseEnds, serverNow + 30000);
  EXPECT_LT(leaseEnds, serverNow + 30000 + 20000);  // not this host's time (60 s later)
}

// A node restarted while its outbox cannot be read (the database away at the start): its
// previous run's pending job, still under its claim, is resumed once the outbox can be read,
// before the node renews its claims (renewing first would keep the job claimed by a node that
// never tries it, and from every other node).
TEST_F(NotifierTest, APendingJobLeftByThisNodesLastRunIsResumedOnceTheOutboxCanBeRead) {
  const std::string path = useDatabaseFile();
  const int64_t now = unixMsNow();
  std::vector<store::NotificationJob> jobs{claimedJob("d-left", "node-a", now, now + 600000)};
  ASSERT_TRUE(store_->insertNotificationJobs(jobs, nullptr).ok());
  store::testing::executeSql(path,
                             "ALTER TABLE notification_jobs RENAME TO notification_jobs_away");

  auto notifier = startNodeA(path, 300);
  ASSERT_FALSE(runUntil([&] { return fake_.count(kWebhook) > 0; }, 300ms));

  store::testing::executeSql(path,
                             "ALTER TABLE notification_jobs_away RENAME TO notification_jobs");
  ASSERT_TRUE(runUntil([&] { return fake_.count(kWebhook) == 1; }));
  EXPECT_EQ(fake_.to(kWebhook)[0]->delivery, "d-left");
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 1; }));
  ASSERT_FALSE(runUntil([&] { return fake_.count(kWebhook) > 1; }, 300ms));
}

TEST_F(NotifierTest, AStoreThatCannotWriteCostsTheRespondersNothing) {
  const std::string path = useDatabaseFile();
  // Another hand breaks the outbox under the running store.
  store::testing::executeSql(path, "DROP TABLE notification_jobs");

  auto notifier = make(makeConfig());
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  EXPECT_EQ(notifier->counters().notQueued, 1u);
  EXPECT_EQ(notifier->counters().queued, 0u);
  EXPECT_EQ(fake_.count(kWebhook), 1u);
}

// An acknowledgement made while the store takes no writes, of an alert it never took either: the
// alert is written when the store is back, acknowledged and with no escalation left, so a
// restart (or another node) does not escalate a call a guard has already taken.
TEST_F(NotifierTest, AnAcknowledgementMadeWhileTheStoreIsAwayIsWrittenWithItsAlert) {
  const std::string db = useDatabaseFile();
  // Another hand takes the outbox's tables away under the running store, then puts them back.
  store::testing::executeSql(db,
                             "ALTER TABLE notification_jobs RENAME TO notification_jobs_away; "
                             "ALTER TABLE call_alerts RENAME TO call_alerts_away");
  auto first = make(makeConfig(true), 200ms);
  first->start();
  first->post(started("acked"));
  ASSERT_TRUE(runUntil([&] { return first->counters().delivered == 3; }));
  EXPECT_EQ(first->counters().notQueued, 1u);
  auto ack = first->acknowledge("acked", "guard-7");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_TRUE(ack.value());
  EXPECT_EQ(first->counters().acknowledged, 1u);
  EXPECT_FALSE(store_->loadCallAlert("acked").ok());  // still away

  store::testing::executeSql(db,
                             "ALTER TABLE notification_jobs_away RENAME TO notification_jobs; "
                             "ALTER TABLE call_alerts_away RENAME TO call_alerts");
  ASSERT_TRUE(runUntil([&] { return first->counters().replayed == 3; }));
  auto alert = store_->loadCallAlert("acked");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->acknowledgedBy, "guard-7");
  EXPECT_GT(alert.value()->acknowledgedAtMs, 0);
  EXPECT_EQ(alert.value()->escalateAtMs, 0);
  EXPECT_EQ(alert.value()->escalatedTier, 1);
  EXPECT_EQ(deliveredJobs("acked"), 3u);
  first.reset();

  // A restart, past the 200 ms the acknowledged call's tier 2 would have been due at: only the
  // new call escalates.
  auto second = make(makeConfig(true), 200ms);
  second->start();
  second->post(started("not acked"));
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  io_.poll();
  EXPECT_EQ(second->counters().escalations, 1u);
  EXPECT_EQ(jobsOf("acked").size(), 3u);
  EXPECT_EQ(jobsOf("not acked").size(), 4u);
}

// A node stopped while the store takes no writes, with an alert its receiver has not taken yet
// and a tier-2 escalation still to come: the spool file holds both from the moment the store
// refused them. The next run delivers the alert with the same delivery id, escalates on time,
// and writes everything to the outbox once it takes writes; the file is then removed.
TEST_F(NotifierTest, AlertsTheStoreDidNotTakeAreKeptInTheSpoolFileForTheNextRun) {
  const std::string db = useDatabaseFile();
  const std::string spool = spoolFile();
  store::testing::executeSql(db,
                             "ALTER TABLE notification_jobs RENAME TO notification_jobs_away; "
                             "ALTER TABLE call_alerts RENAME TO call_alerts_away");
  fake_.script[kWebhook] = std::deque<FakeChannels::Outcome>(1000, FakeChannels::Outcome::Fail);
  Notifier::Outbox outbox;
  outbox.spool = spool;
  auto first = make(makeConfig(true), 3000ms);
  first->setOutbox(outbox);
  first->start();
  first->post(started("kept"));
  ASSERT_TRUE(runUntil([&] { return first->counters().delivered == 2; }));  // e-mail, SIP
  ASSERT_TRUE(runUntil([&] { return first->counters().retries >= 2; }));
  EXPECT_EQ(first->counters().notQueued, 1u);
  // On the disk before the stop: a crash now loses nothing either.
  AlertSpool::Kept onDisk = AlertSpool(spool).load();
  ASSERT_EQ(onDisk.jobs.size(), 3u);
  ASSERT_EQ(onDisk.alerts.size(), 1u);
  EXPECT_EQ(onDisk.alerts[0].callId, "kept");
  EXPECT_GT(onDisk.alerts[0].escalateAtMs, 0);
  first->stop();
  first.reset();
  onDisk = AlertSpool(spool).load();
  ASSERT_EQ(onDisk.jobs.size(), 3u);
  const auto pending = std::find_if(onDisk.jobs.begin(), onDisk.jobs.end(),
                                    [](const auto& j) { return j.state == "pending"; });
  ASSERT_NE(pending, onDisk.jobs.end());
  EXPECT_EQ(pending->target, kWebhook);
  EXPECT_GE(pending->attempts, 2);
  EXPECT_EQ(std::count_if(onDisk.jobs.begin(), onDisk.jobs.end(),
                          [](const auto& j) { return j.state == "delivered"; }),
            2);

  // The next run, the receiver back, the outbox still away.
  fake_.script[kWebhook].clear();
  const size_t webhookTries = fake_.count(kWebhook);
  auto second = make(makeConfig(true), 3000ms);
  second->setOutbox(outbox);
  second->start();
  ASSERT_TRUE(runUntil([&] { return second->counters().delivered == 1; }));
  ASSERT_EQ(fake_.count(kWebhook), webhookTries + 1);
  EXPECT_EQ(fake_.to(kWebhook).back()->delivery, fake_.to(kWebhook).front()->delivery);
  EXPECT_EQ(fake_.to(kWebhook).back()->body, fake_.to(kWebhook).front()->body);
  // Tier 2, due 3 s after the first alert, escalated by this run from the spooled alert.
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  EXPECT_EQ(second->counters().escalations, 1u);

  store::testing::executeSql(db,
                             "ALTER TABLE notification_jobs_away RENAME TO notification_jobs; "
                             "ALTER TABLE call_alerts_away RENAME TO call_alerts");
  ASSERT_TRUE(runUntil([&] { return second->counters().replayed == 4; }));
  EXPECT_EQ(jobsOf("kept").size(), 4u);
  EXPECT_EQ(deliveredJobs("kept"), 4u);
  auto alert = store_->loadCallAlert("kept");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->escalatedTier, 2);
  EXPECT_FALSE(std::filesystem::exists(spool));
}

// A run that ended between writing its kept alerts to the outbox and writing its spool file
// anew left them in both. The next run writes only what the outbox lacks (delivery ids are
// unique there: writing them again would fail every second), and removes the file.
TEST_F(NotifierTest, AKeptAlertTheOutboxAlreadyHasIsNotWrittenTwice) {
  const std::string db = useDatabaseFile();
  const std::string spool = spoolFile();
  const int64_t now = unixMsNow();
  store::NotificationJob written = claimedJob("d-written", "", now, 0);
  store::NotificationJob onlyKept = claimedJob("d-only-kept", "", now, 0);
  onlyKept.state = "delivered";
  onlyKept.attempts = 1;
  onlyKept.deliveredAtMs = now;
  std::vector<store::NotificationJob> inOutbox{written};
  ASSERT_TRUE(store_->insertNotificationJobs(inOutbox, nullptr).ok());
  ASSERT_TRUE(AlertSpool(spool).write({written, onlyKept}, {}));

  auto notifier = make(makeConfig());
  Notifier::Outbox outbox;
  outbox.spool = spool;
  notifier->setOutbox(outbox);
  notifier->start();
  ASSERT_TRUE(runUntil([&] { return !std::filesystem::exists(spool); }));
  EXPECT_EQ(notifier->counters().replayed, 1u);
  const auto rows = jobsOf("1-4242@127.0.0.1");
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(runUntil([&] { return deliveredJobs("1-4242@127.0.0.1") == 2; }));
}

// With the outbox in memory (its database could not be opened at start: the ALARM case), the
// spool file holds all the alerts of the run's calls, rewritten each tick. A restart in memory
// again goes on with them and keeps them with its own; a restart onto the database writes them
// all to the outbox and removes the file.
TEST_F(NotifierTest, WithTheOutboxInMemoryEachRunsAlertsAreKeptInTheSpoolFileForTheNext) {
  const std::string db = useDatabaseFile();
  const std::string spool = spoolFile();
  Notifier::Outbox inMemory{
      "", "the outbox's database could not be opened at start: test", 60000ms, "", false, spool};
  const auto memoryStore = [] {
    auto opened = store::Store::open(":memory:");
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return std::move(opened).value();
  };
  const auto makeOn = [&](store::Store& store) {
    return std::make_unique<Notifier>(io_, store, makeConfig(true), fake_.channels(), 60000ms);
  };
  const auto keptOf = [](const AlertSpool::Kept& k, const std::string& callId) {
    return std::count_if(k.jobs.begin(), k.jobs.end(),
                         [&](const auto& j) { return j.callId == callId; });
  };

  // First run: the webhook's receiver down.
  fake_.script[kWebhook] = std::deque<FakeChannels::Outcome>(1000, FakeChannels::Outcome::Fail);
  auto memory1 = memoryStore();
  auto first = makeOn(*memory1);
  first->setOutbox(inMemory);
  first->start();
  first->post(started("first"));
  ASSERT_TRUE(runUntil([&] { return first->counters().delivered == 2; }));  // e-mail, SIP
  ASSERT_TRUE(runUntil([&] { return first->counters().retries >= 2; }));
  // On the disk within a tick, before any stop: a kill -9 now loses nothing.
  ASSERT_TRUE(runUntil([&] { return keptOf(AlertSpool(spool).load(), "first") == 3; }, 5s));
  first->stop();
  first.reset();
  AlertSpool::Kept onDisk = AlertSpool(spool).load();
  ASSERT_EQ(onDisk.jobs.size(), 3u);
  ASSERT_EQ(onDisk.alerts.size(), 1u);
  EXPECT_EQ(onDisk.alerts[0].callId, "first");
  const auto pending = std::find_if(onDisk.jobs.begin(), onDisk.jobs.end(),
                                    [](const auto& j) { return j.state == "pending"; });
  ASSERT_NE(pending, onDisk.jobs.end());
  EXPECT_EQ(pending->target, kWebhook);
  EXPECT_GE(pending->attempts, 2);

  // Second run, again in memory (a new, empty one), the receiver back: the first run's webhook
  // goes out with its delivery id, and the file keeps both calls.
  fake_.script[kWebhook].clear();
  const size_t webhookTries = fake_.count(kWebhook);
  auto memory2 = memoryStore();
  auto second = makeOn(*memory2);
  second->setOutbox(inMemory);
  second->start();
  ASSERT_TRUE(runUntil([&] { return second->counters().delivered == 1; }));
  ASSERT_EQ(fake_.count(kWebhook), webhookTries + 1);
  EXPECT_EQ(fake_.to(kWebhook).back()->delivery, fake_.to(kWebhook).front()->delivery);
  second->post(started("second"));
  ASSERT_TRUE(runUntil([&] { return second->counters().delivered == 4; }));
  ASSERT_TRUE(runUntil(
      [&] {
        const AlertSpool::Kept k = AlertSpool(spool).load();
        return keptOf(k, "first") == 3 && keptOf(k, "second") == 3 &&
               std::all_of(k.jobs.begin(), k.jobs.end(),
                           [](const auto& j) { return j.state == "delivered"; });
      },
      5s));
  second->stop();
  second.reset();
  EXPECT_EQ(AlertSpool(spool).load().alerts.size(), 2u);

  // Third run, on the database: everything written to the outbox, nothing sent again.
  const size_t sentBefore = fake_.sent.size();
  auto third = make(makeConfig(true), 60000ms);
  Notifier::Outbox onDatabase;
  onDatabase.spool = spool;
  third->setOutbox(onDatabase);
  third->start();
  ASSERT_TRUE(runUntil([&] { return !std::filesystem::exists(spool); }));
  EXPECT_EQ(third->counters().replayed, 6u);
  EXPECT_EQ(deliveredJobs("first"), 3u);
  EXPECT_EQ(deliveredJobs("second"), 3u);
  for (const char* call : {"first", "second"}) {
    auto alert = store_->loadCallAlert(call);
    ASSERT_TRUE(alert.ok() && alert.value().has_value()) << call;
  }
  EXPECT_EQ(fake_.sent.size(), sentBefore);
  (void)db;
}

// ---- The outbox's own writer (issue 14) ----

// A log sink that holds the thread that logs a line containing `text` until release(). The
// writer thread logs an event's "alerting" line between writing its jobs and handing them over.
class HoldingSink : public spdlog::sinks::sink {
 public:
  explicit HoldingSink(std::string text) : text_(std::move(text)) {}
  void log(const spdlog::details::log_msg& msg) override {
    if (std::string_view(msg.payload.data(), msg.payload.size()).find(text_) ==
        std::string_view::npos) {
      return;
    }
    std::unique_lock lock(mutex_);
    held_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

  bool waitUntilHeld(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [this] { return held_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  const std::string text_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool released_ = false;
};

// Puts `logger` in as the default logger for the test's life.
struct DefaultLogger {
  explicit DefaultLogger(std::shared_ptr<spdlog::logger> logger)
      : previous(spdlog::default_logger()) {
    spdlog::set_default_logger(std::move(logger));
  }
  ~DefaultLogger() { spdlog::set_default_logger(previous); }
  std::shared_ptr<spdlog::logger> previous;
};

// With the outbox in a database file, an event's jobs are written by the outbox's writer thread
// the moment the event is posted: they are in the database before the I/O thread has run at
// all. A job is tried once in a run, even when start() reads it from the outbox and delivers it
// before the writer has handed it over.
TEST_F(NotifierTest, TheWriterThreadWritesAnEventsJobsAtOnceAndEachIsTriedOnce) {
  const std::string path = useDatabaseFile();
  auto hold = std::make_shared<HoldingSink>("call first: started: alerting");
  DefaultLogger logger(std::make_shared<spdlog::logger>("notifier_test", hold));
  auto notifier = make(makeConfig());
  struct Release {  // whatever fails, the writer thread is let go before the notifier joins it
    std::shared_ptr<HoldingSink> sink;
    ~Release() { sink->release(); }
  } release{hold};
  notifier->setOutbox({path, "", 60000ms, "node-a", false, ""});
  EXPECT_EQ(notifier->counters().outboxUp, 1u);
  EXPECT_FALSE(notifier->outboxProblem().has_value());
  notifier->post(started("first"));
  // The writer thread has written the jobs and is held before handing them over; nothing here
  // has run the I/O thread's work.
  ASSERT_TRUE(hold->waitUntilHeld(10s));
  ASSERT_EQ(jobsOf("first").size(), 3u);
  EXPECT_TRUE(fake_.sent.empty());
  auto alert = store_->loadCallAlert("first");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());  // in the same transaction

  // start() finds them pending in the outbox and delivers them; their handover comes after.
  notifier->start();
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  hold->release();
  notifier->post(started("second"));  // handed over after the first's
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 6; }));
  io_.poll();
  EXPECT_EQ(deliveredJobs("first"), 3u);
  EXPECT_EQ(deliveredJobs("second"), 3u);
  ASSERT_EQ(fake_.count(kWebhook), 2u);
  EXPECT_NE(fake_.to(kWebhook)[0]->delivery, fake_.to(kWebhook)[1]->delivery);
  EXPECT_EQ(fake_.count(kGuardMail), 2u);
  EXPECT_EQ(fake_.count(kDesk), 2u);
  EXPECT_EQ(notifier->counters().queued, 6u);
  EXPECT_EQ(notifier->counters().notPersisted, 0u);
}

// Escalations and acknowledgements are the I/O thread's, on its own connection, while the writer
// thread writes the calls' events: an escalation says the call's latest details (a failover
// written by the writer after the first alert), and an acknowledged call is not escalated.
TEST_F(NotifierTest, WithTheWriterThreadCallsEscalateWithTheirLatestDetailsUnlessAcknowledged) {
  const std::string path = useDatabaseFile();
  auto notifier = make(makeConfig(true), 300ms);
  notifier->setOutbox({path, "", 60000ms, "node-a", false, ""});
  notifier->start();
  notifier->post(started("acked"));
  ASSERT_TRUE(runUntil([&] { return deliveredJobs("acked") == 3; }));
  auto ack = notifier->acknowledge("acked", "guard-7");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_TRUE(ack.value());

  notifier->post(started());
  CallEvent moved = started();
  moved.kind = EventKind::FailedOver;
  moved.trunk = "il-psap-b";
  moved.detail = "il-psap-a did not answer";
  notifier->post(moved);
  ASSERT_TRUE(runUntil([&] { return fake_.count(kManagers) == 1; }));
  auto json = nlohmann::json::parse(fake_.to(kManagers)[0]->body);
  EXPECT_EQ(json["event"], "escalation");
  EXPECT_EQ(json["call_id"], "1-4242@127.0.0.1");
  EXPECT_EQ(json["psap_trunk"], "il-psap-b");
  EXPECT_EQ(json["callback_number"], "+12175550102");

  // The acknowledged call, alerted first, would have escalated by now.
  EXPECT_EQ(jobsOf("acked").size(), 3u);
  EXPECT_EQ(notifier->counters().escalations, 1u);
  auto alert = store_->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(alert.ok() && alert.value().has_value());
  EXPECT_EQ(alert.value()->escalatedTier, 2);
  EXPECT_GT(alert.value()->escalateAtMs, alert.value()->firstEventAtMs);  // tier 3 is next
  EXPECT_NE(alert.value()->details.find("il-psap-b"), std::string::npos);
}

// An outbox that could not be opened where the configuration puts it is an alarm: said at once,
// again every alarmEvery while it lasts, a gauge at 0 and a reason for /readyz. The alerts still
// go out, from memory, counted.
TEST_F(NotifierTest, AnOutboxThatCouldNotBeOpenedIsAnAlarmAndTheAlertsStillGoOut) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  DefaultLogger logger(std::make_shared<spdlog::logger>("notifier_test", sink));
  auto alarms = [&] {
    auto lines = sink->last_formatted();
    return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.find(
                 "ALARM: responder alerts: the outbox's database could not be opened at "
                 "start: /var/lib/sosproxy/sos.db: file is not a database") != std::string::npos;
    });
  };

  auto notifier = make(makeConfig());
  notifier->setOutbox({"",
                       "the outbox's database could not be opened at start: "
                       "/var/lib/sosproxy/sos.db: file is not a database",
                       30ms, "", false, ""});
  EXPECT_EQ(alarms(), 1);
  EXPECT_EQ(notifier->counters().outboxUp, 0u);
  ASSERT_TRUE(notifier->outboxProblem().has_value());
  EXPECT_EQ(*notifier->outboxProblem(),
            "the outbox's database could not be opened at start: /var/lib/sosproxy/sos.db: file "
            "is not a database");
  notifier->start();
  notifier->post(started());
  ASSERT_TRUE(runUntil([&] { return notifier->counters().delivered == 3; }));
  EXPECT_EQ(notifier->counters().notPersisted, 3u);
  EXPECT_EQ(fake_.count(kWebhook), 1u);
  ASSERT_TRUE(runUntil([&] { return alarms() >= 3; }));
  notifier->stop();
}

}  // namespace
}  // namespace sos::notify
