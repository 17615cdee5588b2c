// Call records on the proxy's side: the record made from a call's final routing-log entry, and
// LocationService writing it to whichever store is in force (the database file, or the
// in-memory store when there is no file or it is unusable), counted saved or not saved.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "proxy/location_service.h"
#include "proxy/store_spool.h"

namespace sos::proxy {
namespace {

RoutingLogEntry finalFailedOver() {
  RoutingLogEntry e;
  e.event = "final";
  e.callId = "1-4242@127.0.0.1";
  e.caller = "1001";
  e.dialed = "911";
  e.emergency = true;
  e.site = "HQ";
  e.source = "127.0.0.1:5071/udp";
  e.location = "HQ Floor 2";
  e.locationBy = "subnet 10.1.2.0/24 (Contact 10.1.2.45)";
  e.elin = "+12175550102";
  e.pidf = "added";
  e.trunk = "il-psap-b";
  e.route = "civic rule US/IL: il-psap-a il-psap-b erc";
  e.attempts = "il-psap-a:503 il-psap-b:200";
  e.outcome = "answered";
  e.status = 200;
  e.durationMs = 211.6;
  return e;
}

std::unique_ptr<LocationService> startedService(const std::string& storePath,
                                                const std::string& seed = "") {
  auto config = std::make_shared<config::Config>();
  config->store.path = storePath;
  config->store.seed = seed;
  auto service = std::make_unique<LocationService>(config, nullptr);
  service->start();
  return service;
}

TEST(CallRecord, IsTheFinalEntryStartingItsDurationBeforeItsEnd) {
  const auto r = callRecordFrom(finalFailedOver(), 1700000000500);
  EXPECT_EQ(r.callId, "1-4242@127.0.0.1");
  EXPECT_EQ(r.endedAtMs, 1700000000500);
  EXPECT_EQ(r.startedAtMs, 1700000000500 - 212);  // rounded to the millisecond
  EXPECT_DOUBLE_EQ(r.durationMs, 211.6);
  EXPECT_TRUE(r.emergency);
  EXPECT_FALSE(r.test);
  EXPECT_EQ(r.location, "HQ Floor 2");
  EXPECT_EQ(r.trunk, "il-psap-b");
  EXPECT_EQ(r.attempts, "il-psap-a:503 il-psap-b:200");
  EXPECT_EQ(r.outcome, "answered");
  EXPECT_EQ(r.status, 200);

  RoutingLogEntry unmeasured = finalFailedOver();
  unmeasured.durationMs = -1;
  const auto u = callRecordFrom(unmeasured, 1000);
  EXPECT_EQ(u.startedAtMs, 1000);
  EXPECT_DOUBLE_EQ(u.durationMs, 0);
}

// No database file: records go to the in-memory store, like the location data and reports.
TEST(CallRecord, WithoutADatabaseFileGoesToTheInMemoryStore) {
  auto service = startedService("");
  auto saved = service->saveCallRecord(callRecordFrom(finalFailedOver(), 5000));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  auto loaded = service->loadCallRecords(10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 1u);
  EXPECT_EQ(loaded.value()[0].attempts, "il-psap-a:503 il-psap-b:200");
  EXPECT_EQ(service->counters().callRecordsSaved.load(), 1u);
  EXPECT_EQ(service->counters().callRecordsNotSaved.load(), 0u);
  EXPECT_EQ(service->counters().storeFallbacks.load(), 0u);
}

// An unusable database file: the in-memory fallback takes the records too.
TEST(CallRecord, AnUnusableDatabaseFallsBackToTheInMemoryStore) {
  auto service = startedService("/dev/null/sosproxy.db");
  EXPECT_EQ(service->counters().storeFallbacks.load(), 1u);
  ASSERT_TRUE(service->saveCallRecord(callRecordFrom(finalFailedOver(), 5000)).ok());
  EXPECT_EQ(service->counters().callRecordsSaved.load(), 1u);
}

// Both are counted for /metrics (sosproxy_call_records_saved_total and _not_saved_total).
TEST(CallRecord, AWriteTheStoreRefusesIsCountedAsNotSaved) {
  auto service = startedService("");
  ASSERT_TRUE(service->saveCallRecord(callRecordFrom(finalFailedOver(), 5000)).ok());
  // SQLite binds a NaN as NULL, which duration_ms does not take.
  auto refused = callRecordFrom(finalFailedOver(), 6000);
  refused.durationMs = std::numeric_limits<double>::quiet_NaN();
  auto r = service->saveCallRecord(refused);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.write");
  EXPECT_NE(r.error().message.find("call record 1-4242@127.0.0.1"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(service->counters().callRecordsSaved.load(), 1u);
  EXPECT_EQ(service->counters().callRecordsNotSaved.load(), 1u);
}

// Records come in batches (issue 19): one transaction each; a record the store refuses costs
// only itself, the batch's others are then written one by one.
TEST(CallRecord, ABatchIsSavedWholeAndARefusedRecordCostsOnlyItself) {
  auto service = startedService("");
  std::vector<store::CallRecord> batch;
  for (const char* id : {"b1", "b2", "b3"}) {
    auto r = callRecordFrom(finalFailedOver(), 5000);
    r.callId = id;
    batch.push_back(r);
  }
  EXPECT_EQ(service->saveCallRecords(batch), 3u);
  batch[0].callId = "c1";
  batch[1].callId = "c2";
  batch[1].durationMs = std::numeric_limits<double>::quiet_NaN();
  batch[2].callId = "c3";
  EXPECT_EQ(service->saveCallRecords(batch), 2u);
  auto loaded = service->loadCallRecords(10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::vector<std::string> ids;
  for (const auto& r : loaded.value()) ids.push_back(r.callId);
  EXPECT_EQ(ids, (std::vector<std::string>{"c3", "c1", "b3", "b2", "b1"}));
  EXPECT_EQ(service->counters().callRecordsSaved.load(), 5u);
  EXPECT_EQ(service->counters().callRecordsNotSaved.load(), 1u);
  EXPECT_EQ(service->saveCallRecords({}), 0u);
}

// On the seed data in memory (the database file could not be opened at start), every write of
// the run is appended to the spool file beside it. The next run, again in memory, has them in its
// store and keeps them in the file with its own; a run that opens the database writes them all
// and removes the file.
TEST(CallRecord, WritesOnTheSeedDataInMemoryAreKeptInTheSpoolFileForTheNextRun) {
  std::string dir = (std::filesystem::path(::testing::TempDir()) / "memory_spool.XXXXXX");
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string db = dir + "/sos.db";
  const std::string spool = db + ".spool";
  const auto garbage = [&] { std::ofstream(db) << std::string(4096, 'x'); };
  // The demo's data, where 1002 is a user: a report names a known user.
  const std::string seed = std::string(SOS_SOURCE_DIR) + "/config/examples/demo-locations.yaml";
  const auto record = [](const char* id) {
    auto r = callRecordFrom(finalFailedOver(), 5000);
    r.callId = id;
    return r;
  };
  const auto ids = [](LocationService& service) {
    std::vector<std::string> out;
    auto loaded = service.loadCallRecords(10);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    if (loaded.ok()) {
      for (const auto& r : loaded.value()) out.push_back(r.callId);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  model::DeviceReport report;
  report.extension = "1002";
  report.bssid = "00:11:22:33:44:55";
  report.reportedAtMs = 4000;
  model::CallbackTarget mapping;
  mapping.caller.extension = "1001";
  mapping.caller.did = "+12175551001";
  mapping.elin = "+12175550102";
  mapping.assignedAtMs = 4000;
  mapping.expiresAtMs = unixMsNow() + 3600000;

  garbage();
  {
    auto first = startedService(db, seed);
    EXPECT_EQ(first->counters().storeFallbacks.load(), 1u);
    ASSERT_TRUE(first->saveCallRecord(record("first")).ok());
    model::DeviceReport given = report;
    ASSERT_TRUE(first->saveReport(given).ok());
    ASSERT_TRUE(first->saveElinMappings({mapping}).ok());
    first->stopping();
  }
  StoreSpool::Kept kept = StoreSpool(spool).load();
  EXPECT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.reports.size(), 1u);
  ASSERT_TRUE(kept.elins.has_value());

  {
    auto second = startedService(db, seed);  // the file still no database
    EXPECT_EQ(ids(*second), std::vector<std::string>{"first"});
    const auto elins = second->loadElinMappings();
    ASSERT_EQ(elins.size(), 1u);
    EXPECT_EQ(elins[0].elin, "+12175550102");
    EXPECT_EQ(second->saveCallRecords({record("second")}), 1u);
    second->stopping();
  }
  kept = StoreSpool(spool).load();
  EXPECT_EQ(kept.records.size(), 2u);
  EXPECT_EQ(kept.reports.size(), 1u);

  std::filesystem::remove(db);
  {
    auto third = startedService(db, seed);  // a new database: the kept writes go into it
    EXPECT_EQ(third->counters().storeFallbacks.load(), 0u);
    third->retryUnsaved();
    EXPECT_EQ(ids(*third), (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(third->loadElinMappings().size(), 1u);
    EXPECT_EQ(third->counters().writesReplayed.load(), 4u);
    EXPECT_FALSE(std::filesystem::exists(spool));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sos::proxy
