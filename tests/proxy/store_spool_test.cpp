// The spool file of the writes the store could not take (proxy/store_spool.h): what is appended
// reads back as it was, a line cut short is skipped, and writing anew keeps only what is left.

#include "proxy/store_spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sos::proxy {
namespace {

class StoreSpoolTest : public ::testing::Test {
 protected:
  StoreSpoolTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("sosproxy-spool-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~StoreSpoolTest() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "store.spool").string(); }

  static model::DeviceReport report() {
    model::DeviceReport r;
    r.extension = "1002";
    r.mac = "00:aa:bb:cc:dd:ee";
    r.ip = "10.1.3.20";
    r.bssid = "00:11:22:33:44:55";
    r.reportedAtMs = 1796600000000;
    r.networkProvided = true;
    return r;
  }
  static store::CallRecord record(const std::string& callId) {
    store::CallRecord c;
    c.callId = callId;
    c.startedAtMs = 1796600000000;
    c.endedAtMs = 1796600000120;
    c.caller = "1001";
    c.dialed = "911";
    c.emergency = true;
    c.site = "HQ";
    c.location = "HQ Floor 2";
    c.reason = std::string("a header's bytes: \xff\xfe");  // not UTF-8: written replaced
    c.outcome = "answered";
    c.status = 200;
    c.durationMs = 120.5;
    return c;
  }

  std::filesystem::path dir_;
};

TEST_F(StoreSpoolTest, WhatIsAppendedReadsBackInOrder) {
  {
    StoreSpool spool(path());
    spool.append(report());
    spool.append(record("a"));
    spool.append(record("b"));
    model::CallbackTarget t;
    t.caller.extension = "1001";
    t.elin = "+12175550131";
    t.expiresAtMs = 5;
    spool.append(std::vector<model::CallbackTarget>{t});
    spool.sync();
  }
  const StoreSpool::Kept kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.reports.size(), 1u);
  EXPECT_EQ(kept.reports[0].bssid, "00:11:22:33:44:55");
  EXPECT_EQ(kept.reports[0].reportedAtMs, 1796600000000);
  EXPECT_TRUE(kept.reports[0].networkProvided);
  ASSERT_EQ(kept.records.size(), 2u);
  EXPECT_EQ(kept.records[0].callId, "a");
  EXPECT_EQ(kept.records[1].callId, "b");
  EXPECT_EQ(kept.records[0].location, "HQ Floor 2");
  EXPECT_TRUE(kept.records[0].emergency);
  EXPECT_DOUBLE_EQ(kept.records[0].durationMs, 120.5);
  EXPECT_EQ(kept.records[0].reason, "a header's bytes: \xef\xbf\xbd\xef\xbf\xbd");
  ASSERT_TRUE(kept.elins.has_value());
  ASSERT_EQ(kept.elins->size(), 1u);
  EXPECT_EQ((*kept.elins)[0].elin, "+12175550131");
  EXPECT_EQ(kept.unreadable, 0u);
}

// A batch of records goes in one write, each its own line.
TEST_F(StoreSpoolTest, ABatchOfRecordsReadsBackAsItsRecords) {
  {
    StoreSpool spool(path());
    spool.append(record("first"));
    spool.append(std::vector<store::CallRecord>{record("b1"), record("b2"), record("b3")});
    spool.append(std::vector<store::CallRecord>{});
    spool.append(record("last"));
  }
  const StoreSpool::Kept kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.records.size(), 5u);
  EXPECT_EQ(kept.records[0].callId, "first");
  EXPECT_EQ(kept.records[1].callId, "b1");
  EXPECT_EQ(kept.records[2].callId, "b2");
  EXPECT_EQ(kept.records[3].callId, "b3");
  EXPECT_EQ(kept.records[4].callId, "last");
  EXPECT_EQ(kept.unreadable, 0u);
}

TEST_F(StoreSpoolTest, ALineCutShortByACrashIsSkipped) {
  {
    StoreSpool spool(path());
    spool.append(record("whole"));
  }
  std::ofstream(path(), std::ios::app) << "{\"record\":{\"call_id\":\"cut";
  const StoreSpool::Kept kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.records[0].callId, "whole");
  EXPECT_EQ(kept.unreadable, 1u);
}

// A run that appends to a file whose last line a crash cut short starts on a line of its own.
TEST_F(StoreSpoolTest, AnAppendAfterALineCutShortStartsALineOfItsOwn) {
  std::ofstream(path()) << "{\"record\":{\"call_id\":\"cut";
  {
    StoreSpool spool(path());
    spool.append(record("after"));
  }
  const StoreSpool::Kept kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.records[0].callId, "after");
  EXPECT_EQ(kept.unreadable, 1u);
}

TEST_F(StoreSpoolTest, WrittenAnewItHoldsWhatIsLeftAndGoesWhenNothingIs) {
  StoreSpool spool(path());
  spool.append(record("written"));
  spool.append(record("left"));
  std::deque<store::CallRecord> left{record("left")};
  spool.rewrite({}, left, std::nullopt);
  StoreSpool::Kept kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.records[0].callId, "left");
  spool.append(record("after"));  // appended after the rewrite, to the new file
  kept = StoreSpool(path()).load();
  ASSERT_EQ(kept.records.size(), 2u);
  EXPECT_EQ(kept.records[1].callId, "after");
  spool.rewrite({}, {}, std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(path()));
  EXPECT_TRUE(StoreSpool(path()).load().records.empty());
}

TEST_F(StoreSpoolTest, WithoutAPathNothingIsWritten) {
  StoreSpool spool("");
  spool.append(record("x"));
  spool.sync();
  EXPECT_TRUE(spool.load().records.empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace sos::proxy
