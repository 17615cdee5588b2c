// The SIP thread's two arenas: what a call keeps and what its transactions keep come from
// different jemalloc arenas, chosen by allocator::Scope; other threads are left alone. Built with
// jemalloc as the allocator (as sosproxy is), except in sanitizer builds, where the test checks
// that nothing changes.

#include "proxy/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

namespace sos::proxy::allocator {
namespace {

// Runs `body` on a thread of its own (the prepared thread keeps its arenas until it ends).
template <class Body>
void onNewThread(Body body) {
  std::thread t(body);
  t.join();
}

// A heap block of `size` zeroed bytes that frees itself.
struct Block {
  explicit Block(size_t size) : p(std::calloc(1, size)) {}
  ~Block() { std::free(p); }
  void* p;
};

#ifdef SOS_WITH_JEMALLOC

TEST(Allocator, PreparedThreadAllocatesEachLifetimeFromItsOwnArena) {
  onNewThread([] {
    ASSERT_TRUE(prepareSipThread());
    const int call = arenaIndex(Lifetime::Call);
    const int transaction = arenaIndex(Lifetime::Transaction);
    ASSERT_GE(call, 0);
    ASSERT_GE(transaction, 0);
    ASSERT_NE(call, transaction);

    Block before(200);
    EXPECT_EQ(arenaOf(before.p), transaction) << "the prepared thread's default";
    {
      const Scope keep(Lifetime::Call);
      Block kept(200);
      EXPECT_EQ(arenaOf(kept.p), call);
      auto object = std::make_unique<std::string>(300, 'x');  // operator new as well as malloc
      EXPECT_EQ(arenaOf(object.get()), call);
      EXPECT_EQ(arenaOf(object->data()), call);
      {
        const Scope message(Lifetime::Transaction);
        Block sent(200);
        EXPECT_EQ(arenaOf(sent.p), transaction) << "a nested scope";
      }
      Block after(200);
      EXPECT_EQ(arenaOf(after.p), call) << "the outer scope again once the inner one ends";
    }
    Block last(200);
    EXPECT_EQ(arenaOf(last.p), transaction);
  });
}

// With the thread cache on, memory the transactions freed is not handed to a call's state: each
// switch of arena flushes the cache first.
TEST(Allocator, WithTheThreadCacheEachLifetimeStillHasItsOwnArena) {
  onNewThread([] {
    ASSERT_TRUE(prepareSipThread());
    EXPECT_FALSE(threadCache()) << "prepared without one";
    setThreadCache(true);
    ASSERT_TRUE(threadCache());
    const int call = arenaIndex(Lifetime::Call);
    const int transaction = arenaIndex(Lifetime::Transaction);
    {
      Block freed(200);  // freed into the cache
      EXPECT_EQ(arenaOf(freed.p), transaction);
    }
    {
      const Scope keep(Lifetime::Call);
      Block kept(200);
      EXPECT_EQ(arenaOf(kept.p), call);
      {
        Block freedToo(300);
        EXPECT_EQ(arenaOf(freedToo.p), call);
      }
      const Scope message(Lifetime::Transaction);
      Block sent(300);
      EXPECT_EQ(arenaOf(sent.p), transaction);
    }
    Block last(200);
    EXPECT_EQ(arenaOf(last.p), transaction);
    setThreadCache(false);
    EXPECT_FALSE(threadCache());
  });
}

TEST(Allocator, TheThreadCacheIsLeftAloneOnAThreadThatWasNotPrepared) {
  onNewThread([] {
    const bool before = threadCache();
    setThreadCache(!before);
    EXPECT_EQ(threadCache(), before);
  });
}

TEST(Allocator, ArenasAreMadeOnceForTheProcess) {
  int first = -1, second = -1;
  onNewThread([&] {
    ASSERT_TRUE(prepareSipThread());
    ASSERT_TRUE(prepareSipThread());  // twice on one thread: no harm
    first = arenaIndex(Lifetime::Call);
  });
  onNewThread([&] {
    ASSERT_TRUE(prepareSipThread());
    second = arenaIndex(Lifetime::Call);
  });
  EXPECT_GE(first, 0);
  EXPECT_EQ(first, second);
}

TEST(Allocator, ScopeDoesNothingOnAThreadThatWasNotPrepared) {
  onNewThread([] {
    Block before(200);
    const int usual = arenaOf(before.p);
    ASSERT_GE(usual, 0);
    const Scope keep(Lifetime::Call);
    Block inside(200);
    EXPECT_EQ(arenaOf(inside.p), usual);
    EXPECT_NE(arenaOf(inside.p), arenaIndex(Lifetime::Call));
  });
}

TEST(Allocator, MemoryOfOneLifetimeMayBeFreedAnywhere) {
  void* kept = nullptr;
  onNewThread([&] {
    ASSERT_TRUE(prepareSipThread());
    const Scope keep(Lifetime::Call);
    kept = std::malloc(500);
  });
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(arenaOf(kept), arenaIndex(Lifetime::Call));
  std::free(kept);  // on this (unprepared) thread
  Block reused(500);
  EXPECT_GE(arenaOf(reused.p), 0);
}

TEST(Allocator, HeapInUseCountsWhatIsAllocated) {
  const uint64_t before = heapInUse();
  auto block = std::make_unique<char[]>(8 << 20);
  block[0] = 1;
  EXPECT_GE(heapInUse(), before + (8 << 20) - 4096);
}

#else

TEST(Allocator, WithoutJemallocNothingChanges) {
  onNewThread([] {
    EXPECT_FALSE(prepareSipThread());
    EXPECT_EQ(arenaIndex(Lifetime::Call), -1);
    Block before(200);
    EXPECT_EQ(arenaOf(before.p), -1);
    setThreadCache(true);  // harmless
    EXPECT_FALSE(threadCache());
    const Scope keep(Lifetime::Call);  // harmless
    Block inside(200);
    EXPECT_NE(inside.p, nullptr);
  });
}

#endif

}  // namespace
}  // namespace sos::proxy::allocator
