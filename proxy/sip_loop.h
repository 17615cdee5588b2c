#pragma once
// The SIP thread's event loop. Sofia's su_root_run waits for its next timer in whole
// milliseconds, rounded down: in the last fraction of a millisecond before each timer it polls
// without waiting, over and over. With many transactions there is nearly always a timer that
// close, and on a virtual machine, where each system call is dear, that polling took most of
// the SIP thread's time at a few hundred calls per second. SipLoop runs the same work
// (su_root_step: posted messages, due timers, ready sockets; nothing waited for) and waits
// itself, on the epoll descriptor of the root's port, until the next timer in whole
// milliseconds rounded up (at least kMinWait): a socket or a posted message still wakes it at
// once; a timer fires up to a millisecond late, and the wait that ends is the one that fires
// it. (Rounded down, the wait ended before the timer was due, and one or two more of kMinWait
// followed: two or three sleeps and wake-ups a timer, idle or not.)

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "proxy/sofia.h"

namespace sos::proxy {

class SipLoop {
 public:
  static constexpr std::chrono::microseconds kMinWait{500};

  // The epoll descriptors this process has open: taken before and after su_root_create, the
  // one that is new is the root's (the caller checks there is exactly one).
  static std::vector<int> epollDescriptors();

  // `epollFd` < 0: Sofia's own su_root_run.
  SipLoop(su_root_t* root, int epollFd) : root_(root), epollFd_(epollFd) {}

  // Called before each su_root_step of run()'s own loop (not under Sofia's su_root_run).
  void setBeforeStep(std::function<void()> f) { beforeStep_ = std::move(f); }
  // Runs until stop() (called on the SIP thread, from a posted message).
  void run();
  void stop();
  bool ownWait() const { return epollFd_ >= 0; }
  // Turns of the loop so far (each one su_root_step and, unless stopping, one wait).
  uint64_t rounds() const { return rounds_; }

 private:
  su_root_t* root_;
  int epollFd_;
  bool stopping_ = false;
  uint64_t rounds_ = 0;
  std::function<void()> beforeStep_;
};

}  // namespace sos::proxy
