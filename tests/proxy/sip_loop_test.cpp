// The SIP thread's event loop (proxy/sip_loop.h) on a real Sofia root: it finds the root's
// epoll descriptor, fires timers, wakes for a posted message, stops when asked, and does not
// poll over and over in the last millisecond before a timer as su_root_run does.
#include "proxy/sip_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace sos::proxy {
namespace {

using namespace std::chrono_literals;

struct Root {
  Root() {
    EXPECT_EQ(su_init(), 0);
    const std::vector<int> before = SipLoop::epollDescriptors();
    root = su_root_create(nullptr);
    for (int fd : SipLoop::epollDescriptors())
      if (std::find(before.begin(), before.end(), fd) == before.end()) added.push_back(fd);
  }
  ~Root() {
    if (root) su_root_destroy(root);
    su_deinit();
  }
  su_root_t* root = nullptr;
  std::vector<int> added;  // epoll descriptors su_root_create opened
};

// What the timers of a test see: when each fired, and the loop to stop after the last.
struct Timers {
  SipLoop* loop = nullptr;
  int left = 0;
  std::chrono::steady_clock::time_point lastFired;
};

void onTimer(su_root_magic_t*, su_timer_t* timer, su_timer_arg_t* arg) {
  auto* t = reinterpret_cast<Timers*>(arg);
  t->lastFired = std::chrono::steady_clock::now();
  if (--t->left == 0) {
    t->loop->stop();
  } else {
    su_timer_set(timer, onTimer, arg);
  }
}

TEST(SipLoop, FindsTheEpollDescriptorOfTheRoot) {
  Root r;
  ASSERT_NE(r.root, nullptr);
  ASSERT_EQ(r.added.size(), 1u);
  EXPECT_TRUE(SipLoop(r.root, r.added[0]).ownWait());
  EXPECT_FALSE(SipLoop(r.root, -1).ownWait());
}

// Ten timers of 20 ms one after the other: each fires no earlier than due, and the loop turns
// about once per timer (a wait until the whole milliseconds left, rounded up, then the step
// that fires it), where su_root_run polls without waiting for the last fraction of a
// millisecond, hundreds of times on a slow machine. (Rounded down, it turned two or three times
// a timer.)
TEST(SipLoop, FiresTimersWithoutPollingOverAndOver) {
  Root r;
  ASSERT_EQ(r.added.size(), 1u);
  SipLoop loop(r.root, r.added[0]);
  Timers t{&loop, 10, {}};
  su_timer_t* timer = su_timer_create(su_root_task(r.root), 20);
  ASSERT_NE(timer, nullptr);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(su_timer_set(timer, onTimer, reinterpret_cast<su_timer_arg_t*>(&t)), 0);
  loop.run();
  EXPECT_EQ(t.left, 0);
  EXPECT_GE(t.lastFired - started, 200ms);
  EXPECT_LE(loop.rounds(), 10u + 3) << "rounds: " << loop.rounds();
  su_timer_destroy(timer);
}

// A message from another thread wakes the loop at once, and stop() from it ends run().
TEST(SipLoop, APostedMessageWakesItAndStopsIt) {
  Root r;
  ASSERT_EQ(r.added.size(), 1u);
  SipLoop loop(r.root, r.added[0]);
  std::thread poster([&] {
    su_msg_r m = SU_MSG_R_INIT;
    ASSERT_EQ(su_msg_create(
                  m, su_root_task(r.root), su_task_null,
                  [](su_root_magic_t*, su_msg_r, su_msg_arg_t* arg) {
                    (*reinterpret_cast<SipLoop**>(arg))->stop();
                  },
                  sizeof(SipLoop*)),
              0);
    *reinterpret_cast<SipLoop**>(su_msg_data(m)) = &loop;
    su_msg_send(m);
  });
  const auto started = std::chrono::steady_clock::now();
  loop.run();  // no timer at all: only the message can end it
  poster.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  EXPECT_LE(loop.rounds(), 3u);
}

}  // namespace
}  // namespace sos::proxy
