// The log writers' thread: it comes round while lines come, sleeps once a round had nothing to
// write, and the first line after a quiet spell wakes it; nothing queued is lost either way.

#include "proxy/line_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace sos::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string readAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Polls `done` every 5 ms for up to 10 s (a busy machine can be slow; a pass is quick).
template <typename Pred>
bool waitFor(Pred done) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

class LineWriterFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("sos-line-writer-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    out_ = std::fopen(path_.c_str(), "w");
    ASSERT_NE(out_, nullptr);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::filesystem::path path_;
  std::FILE* out_ = nullptr;
};

TEST_F(LineWriterFile, AQuietWriterSleepsUntilALineComesThenWritesIt) {
  LineWriter writer(out_, true, 100, milliseconds(20));
  ASSERT_TRUE(waitFor([&] { return writer.asleep(); })) << "never went to sleep";
  // Asleep, it does not come round on its own: its rounds stay where they were. (Awake, it
  // would come round every 20 ms: about ten times in this window.)
  const uint64_t before = writer.rounds();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(writer.rounds(), before);
  EXPECT_TRUE(writer.asleep());

  writer.push("first after the quiet\n");
  ASSERT_TRUE(waitFor([&] { return readAll(path_) == "first after the quiet\n"; }))
      << "written: '" << readAll(path_) << "'";
  // Nothing more to write: asleep again, and a second line wakes it the same way.
  ASSERT_TRUE(waitFor([&] { return writer.asleep(); }));
  writer.push("second\n");
  ASSERT_TRUE(waitFor([&] { return readAll(path_) == "first after the quiet\nsecond\n"; }))
      << "written: '" << readAll(path_) << "'";
  EXPECT_EQ(writer.dropped(), 0u);
}

TEST_F(LineWriterFile, LinesQueuedJustBeforeTheEndAreWrittenByTheEnd) {
  {
    LineWriter writer(out_, true, 100, milliseconds(20));
    ASSERT_TRUE(waitFor([&] { return writer.asleep(); }));
    writer.push("a\n");
    writer.push("b\n");
  }  // the destructor wakes the sleeping writer, which writes both before it returns
  EXPECT_EQ(readAll(path_), "a\nb\n");
}

TEST_F(LineWriterFile, AReopenAskedWhileAsleepIsDoneWithoutALine) {
  LineWriter writer(out_, true, 100, milliseconds(20));
  ASSERT_TRUE(waitFor([&] { return writer.asleep(); }));
  const auto moved = path_.string() + ".1";
  std::filesystem::rename(path_, moved);
  std::mutex m;
  bool done = false;
  std::string error = "not called";
  writer.reopen(path_.string(), [&](const std::string& e) {
    std::lock_guard<std::mutex> lock(m);
    done = true;
    error = e;
  });
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard<std::mutex> lock(m);
    return done;
  })) << "the reopen waited for a line";
  EXPECT_EQ(error, "");
  EXPECT_TRUE(std::filesystem::exists(path_));
  std::filesystem::remove(moved);
}

}  // namespace
}  // namespace sos::proxy
