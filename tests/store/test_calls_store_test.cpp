// Scheduled test calls in the store (issue 21): each result saved with its site's and trunk's
// status in one transaction; failures in a row counted and reset by a pass; the last success and
// failure kept whatever the pruning of old results; the statuses read back by site.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"
#include "tests/store/test_database.h"

namespace sos::store {
namespace {

namespace fs = std::filesystem;

class TestCallsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "test_calls_store.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    target_ = (dir_ / "sos.db").string();
    if (const std::string pg = testing::testPostgresql(); !pg.empty()) {
      testing::emptyPostgresql(pg);
      target_ = pg;
    }
    auto opened = Store::open(target_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  static TestCallResult result(const std::string& site, const std::string& trunk,
                               const std::string& outcome, int64_t atMs, int status = 0) {
    TestCallResult r;
    r.site = site;
    r.trunk = trunk;
    r.destination = trunk == "il-psap-b" ? "933" : "urn:service:test.sos";
    r.callId = "tc-" + std::to_string(atMs);
    r.location = "HQ Lobby";
    r.startedAtMs = atMs;
    r.outcome = outcome;
    r.status = status;
    r.reason = status ? std::to_string(status) + " Service Unavailable" : "no response";
    r.durationMs = 12.5;
    return r;
  }

  TestCallStatus save(const TestCallResult& r) {
    auto saved = store_->saveTestCall(r);
    EXPECT_TRUE(saved.ok()) << saved.error().message;
    return saved.ok() ? saved.value() : TestCallStatus{};
  }

  fs::path dir_;
  std::string target_;  // the SQLite file, or the PostgreSQL URI the tests are given
  std::unique_ptr<Store> store_;
};

TEST_F(TestCallsStore, FailuresInARowAreCountedAndAPassResetsThem) {
  TestCallStatus s = save(result("HQ", "il-psap-b", "rejected", 1000, 503));
  EXPECT_EQ(s.consecutiveFailures, 1);
  EXPECT_EQ(s.lastFailureAtMs, 1000);
  EXPECT_EQ(s.lastFailureOutcome, "rejected");
  EXPECT_EQ(s.lastFailureStatus, 503);
  EXPECT_EQ(s.lastFailureReason, "503 Service Unavailable");
  EXPECT_EQ(s.lastSuccessAtMs, 0);
  s = save(result("HQ", "il-psap-b", "timeout", 2000));
  EXPECT_EQ(s.consecutiveFailures, 2);
  EXPECT_EQ(s.lastFailureOutcome, "timeout");
  EXPECT_EQ(s.lastFailureStatus, 0);
  s = save(result("HQ", "il-psap-b", "answered", 3000, 200));
  EXPECT_EQ(s.consecutiveFailures, 0);
  EXPECT_EQ(s.lastSuccessAtMs, 3000);
  EXPECT_EQ(s.lastSuccessDestination, "933");
  EXPECT_EQ(s.lastFailureAtMs, 2000);  // kept
  EXPECT_EQ(s.lastTestAtMs, 3000);
  EXPECT_EQ(s.tests, 3);
  EXPECT_EQ(s.failures, 2);
  s = save(result("HQ", "il-psap-b", "transport-error", 4000));
  EXPECT_EQ(s.consecutiveFailures, 1);
  // Another site's test of the same trunk counts apart.
  EXPECT_EQ(save(result("London", "il-psap-b", "rejected", 4100, 503)).consecutiveFailures, 1);
}

TEST_F(TestCallsStore, StatusesAreReadBackBySiteAndSurviveAReopen) {
  save(result("HQ", "il-psap-a", "answered", 1000, 200));
  save(result("HQ", "il-psap-b", "rejected", 1000, 503));
  save(result("London", "uk-999", "answered", 1000, 200));
  store_.reset();
  auto reopened = Store::open(target_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  store_ = std::move(reopened).value();
  auto all = store_->testCallStatuses();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all.value().size(), 3u);
  EXPECT_EQ(all.value()[0].trunk, "il-psap-a");
  EXPECT_EQ(all.value()[1].trunk, "il-psap-b");
  EXPECT_EQ(all.value()[1].consecutiveFailures, 1);
  EXPECT_EQ(all.value()[2].site, "London");
  auto hq = store_->testCallStatuses({"HQ"});
  ASSERT_TRUE(hq.ok());
  EXPECT_EQ(hq.value().size(), 2u);
  auto none = store_->testCallStatuses({"Paris"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
  // A failure row saved before the reopen goes on counting.
  EXPECT_EQ(save(result("HQ", "il-psap-b", "rejected", 2000, 503)).consecutiveFailures, 2);
}

TEST_F(TestCallsStore, OldResultsArePrunedButTheLastSuccessStays) {
  save(result("HQ", "il-psap-a", "answered", 1, 200));
  const int64_t failures = Store::kTestCallsKept + 5;
  for (int64_t i = 0; i < failures; ++i) save(result("HQ", "il-psap-a", "timeout", 10 + i));
  save(result("HQ", "il-psap-b", "answered", 5, 200));
  auto kept = store_->loadTestCalls(100000, "HQ", "il-psap-a");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(static_cast<int64_t>(kept.value().size()), Store::kTestCallsKept);
  EXPECT_EQ(kept.value().front().startedAtMs, 10 + failures - 1);  // newest first
  EXPECT_EQ(kept.value().front().location, "HQ Lobby");
  EXPECT_EQ(kept.value().front().outcome, "timeout");
  auto other = store_->loadTestCalls(10, "HQ", "il-psap-b");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.value().size(), 1u);  // another trunk's are not touched
  auto statuses = store_->testCallStatuses({"HQ"});
  ASSERT_TRUE(statuses.ok());
  EXPECT_EQ(statuses.value()[0].lastSuccessAtMs, 1);
  EXPECT_EQ(statuses.value()[0].consecutiveFailures, failures);
  EXPECT_EQ(statuses.value()[0].tests, failures + 1);
}

TEST_F(TestCallsStore, AnUnknownOutcomeIsRefusedAndNothingIsWritten) {
  auto refused = store_->saveTestCall(result("HQ", "il-psap-a", "maybe", 1000));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store.write");
  auto statuses = store_->testCallStatuses();
  ASSERT_TRUE(statuses.ok());
  EXPECT_TRUE(statuses.value().empty());
}

// The outbox takes the alert of a trunk failing its test calls (migration 11 rebuilds
// notification_jobs for it), and the jobs written before the migration are still there after it.
TEST_F(TestCallsStore, TheOutboxTakesTestCallAlertsAndKeepsItsJobsThroughTheMigration) {
  NotificationJob started;
  started.deliveryId = "d-1";
  started.callId = "call-1";
  started.event = "started";
  started.channel = "webhook";
  started.target = "http://127.0.0.1:8089/alerts";
  started.payload = "{}";
  started.nextAttemptAtMs = started.createdAtMs = 1000;
  std::vector<NotificationJob> jobs{started};
  ASSERT_TRUE(store_->insertNotificationJobs(jobs).ok());
  // As a store at migration 11 left it: migration 12 runs again at the next open.
  store_.reset();
  testing::executeSql(target_,
                      "DROP TABLE test_calls; DROP TABLE test_call_status;"
                      "DELETE FROM schema_migrations WHERE version = 12");
  auto reopened = Store::open(target_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  store_ = std::move(reopened).value();
  EXPECT_EQ(store_->schemaVersion(), 16);
  auto kept = store_->loadNotificationJobs("call-1");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_EQ(kept.value().size(), 1u);
  EXPECT_EQ(kept.value()[0].deliveryId, "d-1");
  NotificationJob alert = started;
  alert.deliveryId = "d-2";
  alert.callId = "tc-1";
  alert.event = "test_call_failed";
  alert.test = true;
  std::vector<NotificationJob> more{alert};
  auto written = store_->insertNotificationJobs(more);
  EXPECT_TRUE(written.ok()) << written.error().message;
  EXPECT_GT(more[0].id, 0);
}

}  // namespace
}  // namespace sos::store
