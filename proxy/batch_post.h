#pragma once
// Hands items from one thread (the SIP thread) to an io_context in batches (issue 19): the first
// item into an empty batch posts once, and the io_context's thread takes the whole batch `delay`
// later; the items added meanwhile ride along with no wake-up of their own. So a call record costs
// the SIP thread a lock and a push, and the I/O thread wakes once per batch and writes the batch in
// one transaction, where it woke and committed once per call. flush() takes what is waiting at
// once (at a stop). add() from any thread; the drain and flush() on the io_context's thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace sos::proxy {

template <class T>
class BatchPost : public std::enable_shared_from_this<BatchPost<T>> {
 public:
  using Drain = std::function<void(std::vector<T>&)>;

  BatchPost(boost::asio::io_context& io, std::chrono::milliseconds delay, Drain drain)
      : io_(io), delay_(delay), drain_(std::move(drain)) {}

  void add(T item) {
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(item));
      first = !scheduled_;
      scheduled_ = true;
    }
    if (!first) return;
    // A timer of the batch's own, kept by its handler: nothing here outlives the io_context.
    boost::asio::post(io_, [self = this->shared_from_this()] {
      auto timer = std::make_shared<boost::asio::steady_timer>(self->io_, self->delay_);
      timer->async_wait([self, timer](const boost::system::error_code&) { self->flush(); });
    });
  }

  void flush() {
    std::vector<T> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(items_);
      scheduled_ = false;
    }
    if (!batch.empty()) drain_(batch);
  }

 private:
  boost::asio::io_context& io_;
  std::chrono::milliseconds delay_;
  Drain drain_;
  std::mutex mutex_;
  std::vector<T> items_;
  bool scheduled_ = false;  // a wake-up is posted or its timer runs
};

}  // namespace sos::proxy
