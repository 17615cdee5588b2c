#include "proxy/sip_loop.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace sos::proxy {

std::vector<int> SipLoop::epollDescriptors() {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::array<char, 64> target{};
    const std::string path = entry.path().string();
    const ssize_t n = readlink(path.c_str(), target.data(), target.size() - 1);
    if (n <= 0) continue;
    if (std::string_view(target.data(), static_cast<size_t>(n)) != "anon_inode:[eventpoll]")
      continue;
    try {
      out.push_back(std::stoi(entry.path().filename().string()));
    } catch (const std::exception&) {
      // not a descriptor number: not one of ours
    }
  }
  return out;
}

void SipLoop::run() {
  spdlog::info("SIP thread: {}", ownWait() ? "waits for timers in whole milliseconds, rounded up"
                                           : "Sofia's own event loop (no epoll descriptor of "
                                             "its own found)");
  if (epollFd_ < 0) {
    su_root_run(root_);
    return;
  }
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  while (!stopping_) {
    // Everything due now, without waiting; then how long until the next timer (whole ms,
    // rounded down; SU_WAIT_FOREVER for none), which is less than a millisecond more.
    ++rounds_;
    if (beforeStep_) beforeStep_();
    const su_duration_t next = su_root_step(root_, 0);
    if (stopping_) break;
    timespec wait{};
    timespec* waitFor = nullptr;  // none: until a socket or a posted message
    if (next != SU_WAIT_FOREVER) {
      microseconds us = std::max<microseconds>(milliseconds(next) + milliseconds(1), kMinWait);
      wait.tv_sec = static_cast<time_t>(us.count() / 1000000);
      wait.tv_nsec = static_cast<long>(us.count() % 1000000) * 1000;
      waitFor = &wait;
    }
    pollfd fd{epollFd_, POLLIN, 0};
    if (ppoll(&fd, 1, waitFor, nullptr) < 0 && errno != EINTR) {
      // The descriptor is unusable: Sofia's own loop from here on.
      epollFd_ = -1;
      su_root_run(root_);
      return;
    }
  }
}

void SipLoop::stop() {
  stopping_ = true;
  su_root_break(root_);
}

}  // namespace sos::proxy
