#pragma once
// The one way an emergency call's events leave the SIP thread for the dashboard (issue 18): a
// bounded single-producer, single-consumer queue (boost::lockfree::spsc_queue: no lock, no
// wait). The Server owns it; the SIP thread offers each event of every emergency call and
// callback once the call's INVITE has left (B2bua's Alerts), and an emergency call the edge
// refused; a full queue drops the event and counts it, and the call never notices. The I/O
// thread takes what is queued every 100 ms (proxy/live_dashboard.h).

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstddef>
#include <cstdint>

#include "notify/event.h"

namespace sos::proxy {

class LiveFeed {
 public:
  static constexpr size_t kCapacity = 4096;  // events: 2 s of 500 emergency calls a second
  explicit LiveFeed(size_t capacity = kCapacity) : queue_(capacity) {}
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // SIP thread only (the one producer): never waits. False when the queue is full: the event
  // is dropped and counted.
  bool offer(const notify::CallEvent& e, bool refused) {
    if (queue_.push(Item{e, refused})) return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // I/O thread only (the one consumer): every event queued so far, in order, to `take`.
  template <class F>
  size_t drain(F&& take) {
    return queue_.consume_all([&take](Item& item) { take(item.event, item.refused); });
  }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Item {
    notify::CallEvent event;
    bool refused = false;
  };
  boost::lockfree::spsc_queue<Item> queue_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace sos::proxy
