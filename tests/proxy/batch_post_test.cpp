// BatchPost (proxy/batch_post.h): items added on one thread reach the io_context's thread in
// order, in batches, and flush() takes what waits at once.

#include "proxy/batch_post.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

namespace sos::proxy {
namespace {

class BatchPostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  // Waits until `n` items arrived (or 10 s passed).
  bool waitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return arrived_.wait_for(lock, std::chrono::seconds(10), [&] { return got_.size() >= n; });
  }
  std::shared_ptr<BatchPost<int>> make(std::chrono::milliseconds delay) {
    return std::make_shared<BatchPost<int>>(io_, delay, [this](std::vector<int>& batch) {
      EXPECT_EQ(std::this_thread::get_id(), thread_.get_id()) << "drained off the I/O thread";
      std::lock_guard<std::mutex> lock(mutex_);
      got_.insert(got_.end(), batch.begin(), batch.end());
      ++batches_;
      arrived_.notify_all();
    });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<int> got_;
  size_t batches_ = 0;
};

TEST_F(BatchPostTest, ItemsAddedTogetherArriveInOrderInOneBatch) {
  auto batch = make(std::chrono::milliseconds(500));
  for (int i = 0; i < 1000; ++i) batch->add(i);  // microseconds, unless this thread is held up
  ASSERT_TRUE(waitFor(1000));
  std::vector<int> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(got_, expected);
  EXPECT_LE(batches_, 2u) << "the items did not ride along";
}

TEST_F(BatchPostTest, AnItemAfterABatchStartsAnother) {
  auto batch = make(std::chrono::milliseconds(1));
  batch->add(1);
  ASSERT_TRUE(waitFor(1));
  batch->add(2);
  ASSERT_TRUE(waitFor(2));
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(got_, (std::vector<int>{1, 2}));
  EXPECT_EQ(batches_, 2u);
}

TEST_F(BatchPostTest, FlushTakesWhatWaitsAtOnce) {
  auto batch = make(std::chrono::hours(1));  // the timer would never come round in this test
  batch->add(7);
  batch->add(8);
  boost::asio::post(io_, [batch] { batch->flush(); });
  ASSERT_TRUE(waitFor(2));
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(got_, (std::vector<int>{7, 8}));
}

}  // namespace
}  // namespace sos::proxy
