#include "proxy/line_writer.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace sos::proxy {

LineWriter::LineWriter(std::FILE* out, bool ownsOut, size_t queueLines,
                       std::chrono::milliseconds flushEvery)
    : out_(out),
      ownsOut_(ownsOut),
      queueLines_(queueLines > 0 ? queueLines : 1),
      flushEvery_(flushEvery),
      writer_([this] { run(); }) {}

LineWriter::~LineWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();  // it writes everything still queued before it returns
  if (ownsOut_) std::fclose(out_);
}

void LineWriter::push(std::string line) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= queueLines_) {
      queue_.pop_front();
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    queue_.push_back(std::move(line));
    // Only a writer asleep is woken, once: a busy one comes round every flushEvery_ on its own.
    wake = std::exchange(asleep_, false);
  }
  if (wake) wake_.notify_one();
}

void LineWriter::reopen(std::string path, ReopenDone done) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reopenPath_ = std::move(path);
    reopenDone_ = std::move(done);
    wake = std::exchange(asleep_, false);
  }
  if (wake) wake_.notify_one();  // the caller does not wait for it
}

bool LineWriter::asleep() {
  std::lock_guard<std::mutex> lock(mutex_);
  return asleep_;
}

void LineWriter::run() {
  std::deque<std::string> batch;
  std::string block;
  bool quiet = false;  // the last round had nothing to do
  for (;;) {
    bool stopping = false;
    std::string reopenPath;
    ReopenDone reopenDone;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (quiet) {
        asleep_ = true;
        wake_.wait(lock, [this] { return stop_ || !queue_.empty() || !reopenPath_.empty(); });
        asleep_ = false;
      }
      // A round: lines that come within flushEvery_ go out together.
      wake_.wait_for(lock, flushEvery_, [this] { return stop_; });
      rounds_.fetch_add(1, std::memory_order_relaxed);
      batch.swap(queue_);
      stopping = stop_;
      reopenPath.swap(reopenPath_);
      reopenDone.swap(reopenDone_);
    }
    quiet = batch.empty() && reopenPath.empty();
    if (!batch.empty()) {
      block.clear();
      for (const auto& l : batch) block += l;
      if (std::fwrite(block.data(), 1, block.size(), out_) != block.size() ||
          std::fflush(out_) != 0) {
        // The file refused them (disk full, pipe gone): counted; the next batch tries again.
        std::clearerr(out_);
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
      }
      batch.clear();
    }
    // After the batch: what was queued before the request went to the old file.
    if (!reopenPath.empty() && ownsOut_) {
      std::FILE* next = std::fopen(reopenPath.c_str(), "ae");
      std::string error;
      if (next == nullptr) {
        error = std::strerror(errno);
      } else {
        std::fclose(out_);
        out_ = next;
      }
      if (reopenDone) reopenDone(error);
    }
    if (stopping) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace sos::proxy
