// The operational log's sink: lines formatted where they are logged, written by the sink's own
// thread, in order, with spdlog's pattern; nothing queued is lost when the log closes.

#include "proxy/queued_sink.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace sos::proxy {
namespace {

std::vector<std::string> readLines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(QueuedSink, WritesEveryLineInOrderFromSeveralThreads) {
  auto path = std::filesystem::temp_directory_path() /
              ("sos-queued-sink-" + std::to_string(::getpid()) + ".log");
  std::FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  {
    auto sink = std::make_shared<QueuedSink>(out, 1000, std::chrono::milliseconds(20));
    spdlog::logger log("ops", sink);
    log.set_pattern("[%l] %v");
    std::thread other([&] {
      for (int i = 0; i < 100; ++i) log.info("other {}", i);
    });
    for (int i = 0; i < 100; ++i) log.warn("sip {}", i);
    other.join();
    EXPECT_EQ(sink->dropped(), 0u);
  }  // the last reference: the writer writes what is queued
  std::fclose(out);
  auto lines = readLines(path);
  std::filesystem::remove(path);
  ASSERT_EQ(lines.size(), 200u);
  int sip = 0, other = 0;
  for (const auto& l : lines) {
    if (l == "[warning] sip " + std::to_string(sip)) {
      ++sip;
    } else if (l == "[info] other " + std::to_string(other)) {
      ++other;
    } else {
      ADD_FAILURE() << "out of order or malformed: " << l;
    }
  }
  EXPECT_EQ(sip, 100);
  EXPECT_EQ(other, 100);
}

// Under systemd (issue 21): each line, and each line of a multi-line message, starts with its
// syslog priority, which journald takes as the entry's priority.
TEST(QueuedSink, SyslogPrefixesGiveEachLineItsPriority) {
  auto path = std::filesystem::temp_directory_path() /
              ("sos-queued-sink-journal-" + std::to_string(::getpid()) + ".log");
  std::FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  {
    auto sink = std::make_shared<QueuedSink>(out, 1000, std::chrono::milliseconds(20), true);
    spdlog::logger log("ops", sink);
    log.set_level(spdlog::level::trace);
    log.set_pattern("[%l] %v");
    log.critical("c");
    log.error("e");
    log.warn("w");
    log.info("i");
    log.debug("d");
    log.error("seed not loaded:\nline 1\nline 2");
  }
  std::fclose(out);
  auto lines = readLines(path);
  std::filesystem::remove(path);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "<2>[critical] c", "<3>[error] e", "<4>[warning] w", "<6>[info] i",
                       "<7>[debug] d", "<3>[error] seed not loaded:", "<3>line 1", "<3>line 2"}));
}

}  // namespace
}  // namespace sos::proxy
