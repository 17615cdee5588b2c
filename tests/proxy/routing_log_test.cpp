#include "proxy/routing_log.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace sos::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// 2024-05-01T12:34:56.789Z
system_clock::time_point fixedTime() {
  return system_clock::time_point(std::chrono::seconds(1714566896)) + milliseconds(789);
}

RoutingLogEntry routedEmergency() {
  RoutingLogEntry e;
  e.event = "route";
  e.callId = "a84b4c76e66710@pc33";
  e.caller = "1001";
  e.dialed = "9911";
  e.emergency = true;
  e.site = "HQ";
  e.source = "127.0.0.1:5071/udp";
  e.trunk = "il-psap-a";
  e.outcome = "routed";
  e.addedMs = 0.41234;
  e.reason = "emergency call 911";
  return e;
}

TEST(FormatText, FullRouteLine) {
  EXPECT_EQ(formatText(routedEmergency(), fixedTime()),
            "ts=2024-05-01T12:34:56.789Z event=route call_id=a84b4c76e66710@pc33 caller=1001 "
            "dialed=9911 emergency=yes test=no site=HQ source=127.0.0.1:5071/udp "
            "trunk=il-psap-a outcome=routed added_ms=0.412 reason=\"emergency call 911\"");
}

TEST(FormatText, OmitsEmptyAndUnsetFields) {
  RoutingLogEntry e;
  e.event = "final";
  e.callId = "x";
  e.status = 200;
  e.durationMs = 1500;
  e.outcome = "answered";
  EXPECT_EQ(formatText(e, fixedTime()),
            "ts=2024-05-01T12:34:56.789Z event=final call_id=x emergency=no test=no "
            "outcome=answered status=200 duration_ms=1500.000");
}

TEST(FormatText, AlarmAppearsWhenRaised) {
  RoutingLogEntry e = routedEmergency();
  e.alarm = true;
  e.outcome = "rejected";
  e.status = 403;
  e.trunk.clear();
  e.addedMs = -1;
  e.reason = "source 192.0.2.9 not trusted";
  std::string line = formatText(e, fixedTime());
  EXPECT_NE(line.find(" alarm=yes "), std::string::npos) << line;
  EXPECT_NE(line.find(" status=403 "), std::string::npos) << line;
  EXPECT_EQ(line.find("trunk="), std::string::npos) << line;
  EXPECT_EQ(line.find("added_ms"), std::string::npos) << line;
  EXPECT_EQ(formatText(routedEmergency(), fixedTime()).find("alarm"), std::string::npos);
}

TEST(FormatText, QuotesAndEscapes) {
  struct Case {
    const char* value;
    const char* written;
  };
  for (const Case& c :
       {Case{"plain", "caller=plain"}, Case{"two words", "caller=\"two words\""},
        Case{"say \"hi\"", "caller=\"say \\\"hi\\\"\""}, Case{"a=b", "caller=\"a=b\""},
        Case{"back\\slash", "caller=\"back\\\\slash\""},
        Case{"line\nforged=1", "caller=\"line\\nforged=1\""},
        Case{"cr\rtab\t", "caller=\"cr\\rtab\\t\""}, Case{"bell\x07", "caller=\"bell\\x07\""}}) {
    RoutingLogEntry e;
    e.caller = c.value;
    std::string line = formatText(e, fixedTime());
    EXPECT_NE(line.find(c.written), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  }
}

TEST(FormatText, TimestampIsUtcIsoWithMilliseconds) {
  // The current time, shaped "ts=YYYY-MM-DDTHH:MM:SS.mmmZ" (digits where the 'D's are).
  std::string line = formatText(RoutingLogEntry{});
  const std::string shape = "ts=DDDD-DD-DDTDD:DD:DD.DDDZ emergency=no test=no";
  ASSERT_EQ(line.size(), shape.size()) << line;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'D') {
      EXPECT_TRUE(line[i] >= '0' && line[i] <= '9') << line << " at " << i;
    } else {
      EXPECT_EQ(line[i], shape[i]) << line << " at " << i;
    }
  }
  // Whole seconds still carry three digits.
  RoutingLogEntry e;
  EXPECT_EQ(formatText(e, system_clock::time_point(std::chrono::seconds(0))),
            "ts=1970-01-01T00:00:00.000Z emergency=no test=no");
}

TEST(FormatJson, ParsesBackWithTheSameFields) {
  RoutingLogEntry e = routedEmergency();
  e.status = 100;
  std::string line = formatJson(e, fixedTime());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(j["event"], "route");
  EXPECT_EQ(j["call_id"], "a84b4c76e66710@pc33");
  EXPECT_EQ(j["caller"], "1001");
  EXPECT_EQ(j["dialed"], "9911");
  EXPECT_EQ(j["emergency"], true);
  EXPECT_EQ(j["test"], false);
  EXPECT_EQ(j["alarm"], false);
  EXPECT_TRUE(j["emergency"].is_boolean());
  EXPECT_EQ(j["site"], "HQ");
  EXPECT_EQ(j["source"], "127.0.0.1:5071/udp");
  EXPECT_EQ(j["trunk"], "il-psap-a");
  EXPECT_EQ(j["outcome"], "routed");
  EXPECT_TRUE(j["status"].is_number_integer());
  EXPECT_EQ(j["status"], 100);
  EXPECT_TRUE(j["added_ms"].is_number());
  EXPECT_DOUBLE_EQ(j["added_ms"].get<double>(), 0.412);
  EXPECT_EQ(j["reason"], "emergency call 911");
  EXPECT_FALSE(j.contains("duration_ms"));
}

TEST(FormatJson, OmitsEmptyFieldsAndSurvivesHostileText) {
  RoutingLogEntry e;
  e.callId = "quote\" newline\n\xff\xfe not utf-8";
  std::string line = formatJson(e, fixedTime());
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  auto j = nlohmann::json::parse(line);
  EXPECT_FALSE(j.contains("caller"));
  EXPECT_FALSE(j.contains("status"));
  EXPECT_FALSE(j.contains("added_ms"));
  ASSERT_TRUE(j.contains("call_id"));
  EXPECT_EQ(j["call_id"].get<std::string>().substr(0, 15), "quote\" newline\n");
}

class RoutingLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("routing_log_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<std::string> readLines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  // The log's own thread writes the line: wait (bounded) until `count` lines are there.
  static std::vector<std::string> lines(const std::filesystem::path& p, size_t count = 1) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto out = readLines(p);
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      out = readLines(p);
    }
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(RoutingLogFile, WritesEachLineAtOnceAndAppends) {
  auto path = dir_ / "nested" / "routing.log";  // parent directories do not exist yet
  {
    RoutingLog log(path.string(), config::LogFormat::Text);
    log.write(routedEmergency());
    // Flushed within kFlushEvery: readable while the log is still open, as `tail -f` needs.
    auto now = lines(path);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_NE(now[0].find("event=route call_id=a84b4c76e66710@pc33"), std::string::npos);
    EXPECT_EQ(now[0].rfind("ts=", 0), 0u) << now[0];  // the pattern adds nothing before it
  }
  {
    RoutingLog again(path.string(), config::LogFormat::Json);
    again.write(routedEmergency());
  }
  auto all = lines(path);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(all[1])["trunk"], "il-psap-a");
}

// The writer never keeps up (it comes round once an hour here): past its queue, the oldest
// lines go, each one counted; closing the log writes what is left, in order.
TEST_F(RoutingLogFile, FallingBehindDropsTheOldestAndCountsThem) {
  auto path = dir_ / "routing.log";
  {
    RoutingLog log(path.string(), config::LogFormat::Text, 3, std::chrono::hours(1));
    for (int i = 1; i <= 5; ++i) {
      auto e = routedEmergency();
      e.callId = "call-" + std::to_string(i);
      log.write(e);
    }
    EXPECT_EQ(log.dropped(), 2u);
    EXPECT_TRUE(readLines(path).empty()) << "written before the writer came round";
  }
  auto all = readLines(path);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NE(all[i].find("call_id=call-" + std::to_string(i + 3) + " "), std::string::npos)
        << all[i];
}

TEST_F(RoutingLogFile, TwoLogsDoNotClash) {
  RoutingLog a((dir_ / "a.log").string(), config::LogFormat::Text);
  RoutingLog b((dir_ / "b.log").string(), config::LogFormat::Text);
  a.write(routedEmergency());
  b.write(routedEmergency());
  EXPECT_EQ(lines(dir_ / "a.log").size(), 1u);
  EXPECT_EQ(lines(dir_ / "b.log").size(), 1u);
}

TEST_F(RoutingLogFile, UnwritablePathThrowsWithThePath) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  // A regular file where a directory should be: the directory cannot be created.
  std::string bad = (dir_ / "file" / "routing.log").string();
  try {
    RoutingLog log(bad, config::LogFormat::Text);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& ex) {
    EXPECT_NE(std::string(ex.what()).find(bad), std::string::npos) << ex.what();
  }
  // A directory where the file should be: it cannot be opened.
  std::string dirPath = dir_.string();
  try {
    RoutingLog log(dirPath, config::LogFormat::Text);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& ex) {
    EXPECT_NE(std::string(ex.what()).find(dirPath), std::string::npos) << ex.what();
  }
}

// logrotate (issue 21): the file is moved away, then SIGHUP makes the log's thread open the
// path again. Lines written before the reopen stay in the moved file, later ones go to a new
// file at the path.
TEST_F(RoutingLogFile, ReopenAfterTheFileWasMovedWritesANewFile) {
  auto path = dir_ / "routing.log";
  auto rotated = dir_ / "routing.log.1";
  RoutingLog log(path.string(), config::LogFormat::Text);
  auto first = routedEmergency();
  first.callId = "before-rotation";
  log.write(first);
  ASSERT_EQ(lines(path).size(), 1u);
  std::filesystem::rename(path, rotated);
  log.reopen();
  // The writer opens the new file on its next round; until then nothing exists at the path.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto second = routedEmergency();
  second.callId = "after-rotation";
  log.write(second);
  auto now = lines(path);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].find("call_id=after-rotation"), std::string::npos) << now[0];
  auto old = readLines(rotated);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_NE(old[0].find("call_id=before-rotation"), std::string::npos) << old[0];
  EXPECT_EQ(log.reopenFailures(), 0u);
}

// The path cannot be opened any more (its directory is gone): the old file stays in use and
// the failure is counted; nothing is lost.
TEST_F(RoutingLogFile, AReopenThatFailsKeepsTheOldFileAndCountsIt) {
  auto sub = dir_ / "sub";
  auto path = sub / "routing.log";
  auto kept = dir_ / "kept.log";
  RoutingLog log(path.string(), config::LogFormat::Text);
  log.write(routedEmergency());
  ASSERT_EQ(lines(path).size(), 1u);
  std::filesystem::rename(path, kept);
  std::filesystem::remove(sub);
  log.reopen();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log.reopenFailures() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(log.reopenFailures(), 1u);
  log.write(routedEmergency());
  EXPECT_EQ(lines(kept, 2).size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(RoutingLogStdout, DashWritesToStandardOutput) {
  ::testing::internal::CaptureStdout();
  {
    RoutingLog log("-", config::LogFormat::Text);
    log.write(routedEmergency());
  }  // written by the log's own thread; closing the log drains it
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("event=route"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace sos::proxy
