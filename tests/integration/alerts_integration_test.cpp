// The safety team knows at once (issue 6): a 911 from extension 1001 on HQ Floor 2 alerts HQ's
// responders on all three channels, each received by a real peer on loopback: a webhook
// receiver that checks the HMAC signature, an SMTP server, and SIPp taking the SIP MESSAGE. A
// dead webhook costs the call and the other channels nothing; a kill -9 loses no alert, even
// the moment the call is routed (issue 14); a call nobody acknowledges reaches tier 2; an outbox
// that cannot be opened is an alarm, and the call and its alerts still go through.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "b2bua_fixture.h"
#include "tests/store/test_database.h"

namespace sos::itest {
namespace {

// 1001's DID: the callback number when the trunk gets no ELIN (il-psap-a is a PIDF-LO trunk).
constexpr const char* kCallback = "+12175551001";
constexpr const char* kStreet = "100 Main St";
constexpr const char* kFloor = "FLR 2";

// How long after routing a call's "started" jobs were in the outbox (committed, synchronous=FULL),
// from sosproxy's log line "call ID: started: alerting N responder(s) of SITE (in the outbox X ms
// after routing)"; -1 when the line is not there.
double outboxLatencyMs(const std::string& log, const std::string& callId) {
  const auto at = log.find("call " + callId + ": started: alerting ");
  if (at == std::string::npos) return -1;
  const auto in = log.find("(in the outbox ", at);
  if (in == std::string::npos || in > log.find('\n', at)) return -1;
  return std::atof(log.c_str() + in + std::string("(in the outbox ").size());
}

class Alerts : public B2buaTest {
 protected:
  Alerts() {
    ports_.responders = true;
    webhook_ = std::make_unique<WebhookReceiver>(dir_.path(), ports_.webhookSecret, ports_.webhook);
    smtp_ = std::make_unique<SmtpReceiver>(dir_.path(), ports_.smtp);
  }

  void startReceivers() {
    ASSERT_TRUE(webhook_->start()) << webhook_->lastError();
    ASSERT_TRUE(smtp_->start()) << smtp_->lastError();
    // The desk takes the MESSAGEs of every call (started, answered, ended) until the test ends.
    desk_ = startSecurityDesk();
  }

  // Waits until the alerts' spool file holds call `cid`'s "ended" job and an alert, then kill -9.
  void killWithAlertsSpooled(const std::string& cid, const std::filesystem::path& spool) {
    ASSERT_TRUE(waitFor(
        [&] {
          const std::string kept = readFile(spool);
          return kept.find("\"event\":\"ended\"") != std::string::npos &&
                 kept.find("\"call_id\":\"" + cid + "\"") != std::string::npos;
        },
        milliseconds(15000)))
        << readFile(spool) << proxy_->output();
    EXPECT_NE(readFile(spool).find("{\"alert\":{"), std::string::npos) << readFile(spool);
    ASSERT_TRUE(proxy_->process()->sendSignal(SIGKILL));
    EXPECT_EQ(proxy_->process()->wait(milliseconds(10000)), 128 + SIGKILL);
  }

  // After a restart on the spool file a kill left: each of the call's nine alerts delivered
  // once (its three events to the webhook) and in the outbox, its alert row written, the file
  // removed.
  void expectEachAlertOnceInTheOutbox(const std::string& cid, const std::filesystem::path& spool) {
    ASSERT_TRUE(
        waitFor([&] { return webhookLines(cid, "ended").size() == 1; }, milliseconds(30000)))
        << webhook_->report() << proxy_->output();
    ASSERT_TRUE(waitFor(
        [&] {
          return storeCount("SELECT COUNT(*) FROM notification_jobs WHERE call_id = '" + cid +
                            "' AND state = 'delivered'") >= 9;
        },
        milliseconds(30000)))
        << storeCount("SELECT COUNT(*) FROM notification_jobs") << " jobs\n"
        << proxy_->output();
    EXPECT_EQ(storeCount("SELECT COUNT(*) FROM notification_jobs WHERE call_id = '" + cid +
                         "' AND state <> 'delivered'"),
              0);
    EXPECT_EQ(storeCount("SELECT COUNT(*) FROM call_alerts WHERE call_id = '" + cid + "'"), 1);
    for (const char* event : {"started", "answered", "ended"}) {
      EXPECT_EQ(webhookLines(cid, event).size(), 1u) << event << "\n" << webhook_->report();
    }
    EXPECT_TRUE(waitFor([&] { return !std::filesystem::exists(spool); }, milliseconds(5000)));
  }

  // The 911 caller: 1001 at 10.1.2.45 (HQ Floor 2).
  SippOptions caller911() {
    return call911Options("1001", "10.1.2.45", "caller-" + std::to_string(n_));
  }

  // 911 from 1001 at 10.1.2.45 (HQ Floor 2), answered by il-psap-a; returns the caller's Call-ID.
  std::string call911(std::unique_ptr<Sipp>* psapOut = nullptr) {
    auto psap =
        startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a-" + std::to_string(++n_));
    Sipp uac(caller911(), dir_.path());
    EXPECT_TRUE(uac.start());
    EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
    EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
    if (psapOut) *psapOut = std::move(psap);
    return inviteCallId(uac, false);
  }

  // Rows of the outbox in `state`, read from the store as an operator would.
  long long outboxJobs(const std::string& state) const {
    return storeCount("SELECT COUNT(*) FROM notification_jobs WHERE state = '" + state + "'");
  }

  // The receiver lines of `event` for this call.
  std::vector<std::string> webhookLines(const std::string& callId, const std::string& event) {
    std::vector<std::string> out;
    for (const auto& l : webhook_->lines()) {
      const std::string body = jsonField(l, "body");
      if (jsonField(body, "call_id") == callId && jsonField(body, "event") == event)
        out.push_back(l);
    }
    return out;
  }
  std::vector<std::string> mails(const std::string& to, const std::string& callId) {
    std::vector<std::string> out;
    for (const auto& l : smtp_->lines()) {
      auto rcpts = jsonArrayItems(jsonField(l, "to"));
      bool forTo = false;
      for (const auto& r : rcpts) forTo = forTo || r.find(to) != std::string::npos;
      if (forTo && jsonField(l, "data").find(callId) != std::string::npos) out.push_back(l);
    }
    return out;
  }

  std::unique_ptr<WebhookReceiver> webhook_;
  std::unique_ptr<SmtpReceiver> smtp_;
  std::unique_ptr<Sipp> desk_;
  int n_ = 0;
};

TEST_F(Alerts, A911AlertsEveryChannelWithCallerCallbackAndAddress) {
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string cid = call911();

  // Webhook: signed, with the caller, the callback number and the dispatchable address.
  ASSERT_TRUE(waitFor([&] { return !webhookLines(cid, "started").empty(); }, milliseconds(15000)))
      << webhook_->report() << proxy_->output();
  const std::string hook = webhookLines(cid, "started").front();
  EXPECT_EQ(jsonField(hook, "signature_ok"), "true") << hook;
  const std::string body = jsonField(hook, "body");
  EXPECT_EQ(jsonField(jsonField(body, "caller"), "extension"), "1001") << body;
  EXPECT_EQ(jsonField(body, "callback_number"), kCallback) << body;
  const std::string address = jsonField(jsonField(body, "location"), "address");
  EXPECT_NE(address.find(kStreet), std::string::npos) << body;
  EXPECT_NE(address.find(kFloor), std::string::npos) << body;
  EXPECT_EQ(jsonField(jsonField(body, "location"), "name"), "HQ Floor 2") << body;
  EXPECT_EQ(jsonField(body, "psap_trunk"), "il-psap-a") << body;

  // Email to security@hq.example.
  ASSERT_TRUE(
      waitFor([&] { return !mails("security@hq.example", cid).empty(); }, milliseconds(15000)))
      << smtp_->report() << proxy_->output();
  const std::string mail = jsonField(mails("security@hq.example", cid).front(), "data");
  for (const char* want : {"1001", kCallback, kStreet, kFloor, "HQ Floor 2"})
    EXPECT_NE(mail.find(want), std::string::npos) << want << " missing from\n" << mail;

  // SIP MESSAGE to the security desk.
  ASSERT_TRUE(
      waitFor([&] { return countMessages(*desk_, true, "MESSAGE ") >= 1; }, milliseconds(15000)))
      << report({desk_.get()}) << proxy_->output();
  const std::string message = findMessage(*desk_, true, "MESSAGE ");
  EXPECT_EQ(message.rfind("MESSAGE sip:security-desk@127.0.0.1:", 0), 0u) << message;
  for (const char* want : {"1001", kCallback, kStreet, kFloor})
    EXPECT_NE(message.find(want), std::string::npos) << want << " missing from\n" << message;

  // Issue 14: the jobs were on the disk before any of this, written by the outbox's own writer.
  double durable = -1;
  EXPECT_TRUE(waitFor(
      [&] {
        durable = outboxLatencyMs(proxy_->output(), cid);
        return durable >= 0;
      },
      milliseconds(5000)))
      << proxy_->output();
  std::printf(
      "[ measured ] 911 routed -> its 3 alert jobs durable in the outbox (own writer thread, "
      "synchronous=FULL): %.1f ms\n",
      durable);

  // Issue 21: each channel's delivery in /metrics, once the channel has accepted it.
  for (const char* channel : {"webhook", "email", "sip"}) {
    const std::string sample = std::string("\nsosproxy_alert_attempts_total{channel=\"") + channel +
                               "\",outcome=\"delivered\"} ";
    std::string text;
    EXPECT_TRUE(waitFor(
        [&] {
          text = metrics();
          return text.find(sample) != std::string::npos;
        },
        milliseconds(5000)))
        << sample << text;
  }
}

// A 911 relayed with state (edge.emergency_relay: stateful) alerts as through the B2BUA: the
// webhook gets its started, answered and ended once each, with the address; the PSAP's stand-in
// saw the caller's own Call-ID.
TEST_F(Alerts, A911RelayedWithStateAlertsAsThroughTheB2bua) {
  ports_.sets.emplace_back("edge.emergency_relay", "stateful");
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  auto psap = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a-relayed", "u1",
                         {{"proxied", "1"}});
  Sipp uac(caller911(), dir_.path());
  ASSERT_TRUE(uac.start());
  EXPECT_EQ(uac.wait(), 0) << report({&uac, psap.get()});
  EXPECT_EQ(psap->wait(), 0) << report({&uac, psap.get()});
  const std::string cid = inviteCallId(uac, false);
  EXPECT_EQ(inviteCallId(*psap, true), cid) << "one dialog, end to end";
  for (const char* event : {"started", "answered", "ended"}) {
    ASSERT_TRUE(waitFor([&] { return webhookLines(cid, event).size() == 1; }, milliseconds(15000)))
        << event << "\n"
        << webhook_->report() << proxy_->output();
  }
  const std::string body = jsonField(webhookLines(cid, "started").front(), "body");
  EXPECT_EQ(jsonField(jsonField(body, "location"), "name"), "HQ Floor 2") << body;
  EXPECT_EQ(jsonField(body, "psap_trunk"), "il-psap-a") << body;
  EXPECT_EQ(jsonField(body, "callback_number"), kCallback) << body;
}

TEST_F(Alerts, ADeadWebhookCostsTheCallAndTheOtherChannelsNothing) {
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string first = call911();
  ASSERT_TRUE(
      waitFor([&] { return !webhookLines(first, "started").empty(); }, milliseconds(15000)));
  const double baseline =
      std::atof(waitForLogLine({{"event", "route"}, {"call_id", first}}).get("added_ms").c_str());

  // The webhook endpoint now takes connections and never answers.
  ASSERT_TRUE(webhook_->stop().has_value());
  webhook_ = std::make_unique<WebhookReceiver>(dir_.path(), ports_.webhookSecret, ports_.webhook,
                                               200, /*blackhole=*/true, "blackhole");
  ASSERT_TRUE(webhook_->start()) << webhook_->lastError();
  const std::string second = call911();
  const double blackholed =
      std::atof(waitForLogLine({{"event", "route"}, {"call_id", second}}).get("added_ms").c_str());
  std::printf(
      "[ measured ] caller's INVITE in -> PSAP INVITE out: %.3f ms with the webhook "
      "answering, %.3f ms with it blackholed\n",
      baseline, blackholed);
  // Far below the webhook's 1 s timeout: the INVITE never waited for it.
  EXPECT_LT(blackholed, 500.0);

  // Email and MESSAGE still arrive for the second call.
  EXPECT_TRUE(
      waitFor([&] { return !mails("security@hq.example", second).empty(); }, milliseconds(15000)))
      << smtp_->report();
  EXPECT_TRUE(waitFor([&] { return desk_->messages().find(second) != std::string::npos; },
                      milliseconds(15000)))
      << report({desk_.get()});
  // The webhook attempt was made and is being retried, visible in the counters.
  EXPECT_TRUE(waitFor(
      [&] {
        auto m = metrics();
        auto at = m.find("\nsosproxy_alert_retries_total ");
        return at != std::string::npos && std::atoi(m.c_str() + at + 30) >= 1;
      },
      milliseconds(15000)))
      << metrics();
}

TEST_F(Alerts, AKill9LosesNoAlertAndRepeatsNone) {
  // No receiver is up yet: every alert of the call stays pending in the outbox.
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string cid = call911();
  ASSERT_TRUE(waitFor([&] { return outboxJobs("pending") >= 3; }, milliseconds(15000)))
      << proxy_->output();
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGKILL));
  EXPECT_EQ(proxy_->process()->wait(milliseconds(10000)), 128 + SIGKILL);
  const int pending = outboxJobs("pending");
  std::printf("[ measured ] %d alert jobs pending in the outbox at kill -9\n", pending);

  // The receivers come up, sosproxy starts again on the same database.
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  ASSERT_TRUE(waitFor([&] { return outboxJobs("pending") == 0; }, milliseconds(30000)))
      << proxy_->output();
  EXPECT_EQ(outboxJobs("given_up"), 0);

  // Exactly once per channel: one "started" alert on each.
  EXPECT_EQ(webhookLines(cid, "started").size(), 1u) << webhook_->report();
  // Every job delivered once: as many deliveries in all as jobs in the outbox.
  const int delivered = outboxJobs("delivered");
  const int messages = countMessages(*desk_, true, "MESSAGE ");
  const int hooks = static_cast<int>(webhook_->lines().size());
  const int mailsIn = static_cast<int>(smtp_->lines().size());
  EXPECT_EQ(hooks + mailsIn + messages, delivered)
      << hooks << " webhooks, " << mailsIn << " mails, " << messages << " MESSAGEs\n"
      << webhook_->report() << smtp_->report();
}

// A 911 while another process holds the SQLite database's lock: the outbox cannot take the
// call's alerts, so they are tried from memory (no receiver is up: none is delivered) and kept
// in the spool file beside the store's. kill -9, the lock released, the receivers up, sosproxy
// started again: it reads the file back, delivers each alert once with the delivery id of its
// first attempt, writes them all to the outbox, and removes the file.
TEST_F(Alerts, AlertsTheLockedDatabaseDidNotTakeSurviveAKill9) {
  SOS_SQLITE_ONLY("SQLite's exclusive file lock (TwoNodesAlerts stops the PostgreSQL server)");
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  std::unique_ptr<Process> locker;
  ASSERT_NO_FATAL_FAILURE(lockDatabase(locker));
  const std::string cid = call911();
  const std::filesystem::path spool = storePath().string() + ".spool.alerts";
  ASSERT_NO_FATAL_FAILURE(killWithAlertsSpooled(cid, spool));
  locker->stop();

  ASSERT_NO_FATAL_FAILURE(startReceivers());
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  EXPECT_TRUE(
      outputShows("call alert(s) that a previous run could not write to the outbox read "
                  "from the spool file"))
      << proxy_->output();
  ASSERT_NO_FATAL_FAILURE(expectEachAlertOnceInTheOutbox(cid, spool));
}

// The ALARM case: the database could not be opened at start, so the outbox and the store are in
// memory. A 911 with no receiver up: its alerts are in the alerts' spool file within a tick, its
// call record in the store's. kill -9, the database file mended (removed: the start makes a new
// one), the receivers up, sosproxy started again: each alert reaches its receiver once, all of
// them and the call record are written to the database, and both files are removed.
TEST_F(Alerts, ARunWhoseDatabaseDidNotOpenLosesNoAlertOrCallRecordToAKill9) {
  SOS_SQLITE_ONLY("a file that is not a database: PostgreSQL has no file");
  writeFile(storePath(), std::string(4096, 'x'));  // no SQLite database
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string cid = call911();
  const std::filesystem::path spool = storePath().string() + ".spool.alerts";
  const std::filesystem::path records = storePath().string() + ".spool";
  ASSERT_TRUE(waitFor(
      [&] {
        return readFile(records).find("{\"record\":{\"attempts\":\"il-psap-a:200\",\"call_id\":\"" +
                                      cid + "\"") != std::string::npos;
      },
      milliseconds(15000)))
      << readFile(records) << proxy_->output();
  ASSERT_NO_FATAL_FAILURE(killWithAlertsSpooled(cid, spool));
  std::filesystem::remove(storePath());

  ASSERT_NO_FATAL_FAILURE(startReceivers());
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  EXPECT_EQ(metric("sosproxy_alert_outbox_up"), 1);
  ASSERT_NO_FATAL_FAILURE(expectEachAlertOnceInTheOutbox(cid, spool));
  EXPECT_EQ(storeRows("SELECT location || ' ' || trunk || ' ' || outcome FROM call_records "
                      "WHERE call_id = '" +
                      cid + "'"),
            std::vector<std::string>{"HQ Floor 2 il-psap-a answered"});
  EXPECT_TRUE(waitFor([&] { return !std::filesystem::exists(records); }, milliseconds(5000)));
}

// Issue 14: kill -9 right after the 911 is routed: the PSAP has the INVITE and has not answered
// it, and no alert could be delivered (no receiver is up). The alerts were written by the
// outbox's own writer the moment the call was routed. On restart, with the receivers up, every
// tier-1 responder of HQ gets the "started" alert exactly once.
// The kill waits for the jobs to be in the database file as well: between routing and the
// writer's commit (a few ms, measured in A911AlertsEveryChannelWithCallerCallbackAndAddress) an
// event exists only in memory, and a crash inside that window loses it. The line printed gives
// that window as sosproxy measured it, and how long after the PSAP had the INVITE the test saw
// the jobs in the file (0 ms: at the first look).
TEST_F(Alerts, AKill9RightAfterRoutingLosesNoAlertAndRepeatsNone) {
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  auto psap = startTrunk("uas-psap-100-then-silence-any-invite.xml", ports_.psapA,
                         "il-psap-a-" + std::to_string(++n_));
  auto uac = std::make_unique<Sipp>(caller911(), dir_.path());
  ASSERT_TRUE(uac->start()) << uac->report();
  ASSERT_TRUE(
      waitFor([&] { return countMessages(*psap, true, "INVITE ") >= 1; }, milliseconds(15000)))
      << report({uac.get(), psap.get()});
  const auto psapHadIt = Clock::now();
  ASSERT_TRUE(waitFor([&] { return outboxJobs("pending") >= 3; }, milliseconds(15000)))
      << report({uac.get(), psap.get()});
  const auto durable = Clock::now();
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGKILL));
  EXPECT_EQ(proxy_->process()->wait(milliseconds(10000)), 128 + SIGKILL);
  const std::string firstRun = proxy_->output();
  const std::string cid = inviteCallId(*uac, false);
  ASSERT_FALSE(cid.empty()) << report({uac.get(), psap.get()});
  EXPECT_EQ(countMessages(*psap, false, "SIP/2.0 200"), 0) << "the PSAP answered before the kill";
  // The caller goes away too: its INVITE, sent again, would be a second call of the next run.
  uac->process()->stop();
  psap->process()->stop();
  // HQ's tier 1: the webhook, security@hq.example and the security desk, none delivered.
  EXPECT_EQ(outboxJobs("pending"), 3) << firstRun;
  // sosproxy's own measure, when its log line left the process before the kill.
  const double written = outboxLatencyMs(firstRun, cid);
  char routedToDurable[64] = "(its log line was lost with the process)";
  if (written >= 0) std::snprintf(routedToDurable, sizeof routedToDurable, "%.1f ms", written);
  std::printf(
      "[ measured ] kill -9 right after routing: the 3 alert jobs durable %s after routing "
      "(sosproxy's log); seen in the outbox file %lld ms after the PSAP had the INVITE (polled "
      "every 20 ms)\n",
      routedToDurable,
      static_cast<long long>(
          std::chrono::duration_cast<milliseconds>(durable - psapHadIt).count()));

  ASSERT_NO_FATAL_FAILURE(startReceivers());
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError();
  ASSERT_TRUE(waitFor([&] { return outboxJobs("pending") == 0; }, milliseconds(30000)))
      << proxy_->output();
  EXPECT_EQ(outboxJobs("delivered"), 3);
  // Exactly once on each channel, and nothing else.
  EXPECT_EQ(webhookLines(cid, "started").size(), 1u) << webhook_->report();
  EXPECT_EQ(mails("security@hq.example", cid).size(), 1u) << smtp_->report();
  ASSERT_TRUE(
      waitFor([&] { return countMessages(*desk_, true, "MESSAGE ") >= 1; }, milliseconds(5000)));
  const std::string message = findMessage(*desk_, true, "MESSAGE ");
  EXPECT_NE(message.find(cid), std::string::npos) << message;
  EXPECT_EQ(countMessages(*desk_, true, "MESSAGE "), 1) << report({desk_.get()});
  EXPECT_EQ(webhook_->lines().size(), 1u) << webhook_->report();
  EXPECT_EQ(smtp_->lines().size(), 1u) << smtp_->report();
}

// Issue 14: a database that cannot be opened leaves the alerts in memory, where a restart would
// lose them. That is a loud alarm, not a quiet fallback: an ALARM line, sosproxy_alert_outbox_up
// at 0 and /readyz not ready for it; and the 911 call and its alerts still go through.
TEST_F(Alerts, AnOutboxThatCannotOpenIsAnAlarmAndTheCallAndItsAlertsStillGoThrough) {
  SOS_SQLITE_ONLY(
      "a file that is not a database: PostgreSQL has no file (TwoNodesAlerts stops "
      "the server instead)");
  writeFile(storePath(), std::string(4096, 'x'));  // no SQLite database
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string problem =
      "the outbox's database could not be opened at start: " + storePath().string() +
      ": file is not a database";
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("ALARM: responder alerts: " + problem) != std::string::npos;
      },
      milliseconds(5000)))
      << proxy_->output();
  EXPECT_EQ(metric("sosproxy_alert_outbox_up"), 0);
  const auto ready = httpRequest("GET", ports_.admin, "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("{\"check\":\"alerts\",\"reason\":\"" + problem + "\"}"),
            std::string::npos)
      << ready.body;

  const std::string cid = call911();  // answered by the PSAP, as always
  EXPECT_TRUE(waitFor([&] { return !webhookLines(cid, "started").empty(); }, milliseconds(15000)))
      << webhook_->report() << proxy_->output();
  EXPECT_TRUE(
      waitFor([&] { return !mails("security@hq.example", cid).empty(); }, milliseconds(15000)))
      << smtp_->report();
  EXPECT_GE(metric("sosproxy_alerts_not_persisted_total"), 3);
  EXPECT_EQ(metric("sosproxy_alert_outbox_up"), 0);
}

TEST_F(Alerts, NoAcknowledgementInTimeAlertsTheSecondTier) {
  ports_.escalateAfter = "2";
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string cid = call911();
  ASSERT_TRUE(
      waitFor([&] { return !mails("facilities@hq.example", cid).empty(); }, milliseconds(20000)))
      << smtp_->report() << proxy_->output();
  // Tier 1 first, tier 2 only after the escalation time.
  EXPECT_FALSE(mails("security@hq.example", cid).empty());
  EXPECT_NE(metrics().find("\nsosproxy_alert_escalations_total 1\n"), std::string::npos)
      << metrics();
}

TEST_F(Alerts, AnAcknowledgementIsRecordedOnTheCall) {
  ASSERT_NO_FATAL_FAILURE(startReceivers());
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const std::string cid = call911();
  ASSERT_TRUE(waitFor([&] { return !webhookLines(cid, "started").empty(); }, milliseconds(15000)));
  auto ack = api("POST", "/api/v1/calls/" + cid + "/acknowledge", "{\"by\":\"guard-7\"}");
  EXPECT_EQ(ack.status, 200) << ack.body;
  auto unknown = api("POST", "/api/v1/calls/no-such-call/acknowledge", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(metrics().find("\nsosproxy_alerts_acknowledged_total 1\n"), std::string::npos)
      << metrics();
}

}  // namespace
}  // namespace sos::itest
