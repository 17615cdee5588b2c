#pragma once
// Counters for /metrics that are more than one number: a histogram of durations and counts by
// label values. Written by one thread, read by another (the admin API's).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sos {

// A Prometheus histogram of durations in milliseconds: its buckets' upper bounds, each bucket
// counted on its own (not cumulative), their count and sum (relaxed atomics: figures, not
// synchronisation).
class Histogram {
 public:
  explicit Histogram(std::vector<double> boundsMs)
      : bounds_(std::move(boundsMs)), buckets_(bounds_.size()) {}
  void observe(double ms) {
    size_t i = 0;
    while (i < bounds_.size() && ms > bounds_[i]) ++i;
    if (i < bounds_.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sumUs_.fetch_add(static_cast<uint64_t>(ms * 1000), std::memory_order_relaxed);
  }
  const std::vector<double>& boundsMs() const { return bounds_; }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sumUs() const { return sumUs_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sumUs_{0};
};

// Counts by the values of one or two labels (a trunk and an attempt's outcome, a site and how
// the caller was located): a mutex held for one map update or one copy.
class LabelledCounts {
 public:
  using Key = std::pair<std::string, std::string>;
  void add(std::string a, std::string b = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[{std::move(a), std::move(b)}];
  }
  std::map<Key, uint64_t> snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<Key, uint64_t> counts_;
};

}  // namespace sos
