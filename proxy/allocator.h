// What sosproxy asks of its memory allocator.
//
// sosproxy runs on jemalloc (linked into the executable; sanitizer builds and the test binaries
// keep their own allocator, and then everything here does nothing). Memory on the SIP thread
// has two lifetimes: what a call keeps while it is up (its dialogs, its plan, its log entry)
// and what its transactions keep for 64*T1 after the set-up (the messages). Allocated from the
// same pages, the second pins the first's pages long after it is freed: 10,000 held calls kept
// 22 KB of resident memory each for 8 KB in use. So the SIP thread allocates from two arenas of
// its own, one per lifetime, and switches with a Scope where a call's own state is built.
#pragma once

#include <cstdint>

namespace sos::proxy::allocator {

// Bytes the process has allocated and not freed: jemalloc's statistics when it is the
// allocator (linked or preloaded), glibc's mallinfo2 otherwise.
uint64_t heapInUse();

// On the SIP thread, once, before it handles a message: the two arenas, no thread cache (it
// would hand one arena's memory to the other) and jemalloc's background thread to return freed
// pages. Returns false, changing nothing, when the allocator is not jemalloc.
bool prepareSipThread();

// On the thread prepareSipThread() prepared: a thread cache in front of the arenas (on) or none
// (off, as prepared). With the cache, each switch of arena (a Scope) flushes it first, so that
// a call's state never takes memory cached from the transactions' arena. Those flushes cost more
// than the arena locks the cache saves where scopes switch several times a call (the B2BUA's
// calls), and the cache saves without them where they do not (the relays' messages). Does nothing
// on another thread.
void setThreadCache(bool on);
// Whether the calling thread has the cache setThreadCache() gives (for tests and diagnosis).
bool threadCache();

enum class Lifetime {
  Call,         // kept until the call ends
  Transaction,  // messages and transactions: freed within 64*T1 (the SIP thread's default)
};

// The jemalloc arena `p` was allocated from, or -1 (another allocator). For tests and diagnosis.
int arenaOf(const void* p);

// The arena prepareSipThread() gives `lifetime`, or -1 when it has none (another allocator).
int arenaIndex(Lifetime lifetime);

// While alive, the calling thread allocates for `lifetime`; the previous choice comes back at
// destruction. Nests. Does nothing on a thread prepareSipThread() did not prepare.
class Scope {
 public:
  explicit Scope(Lifetime lifetime);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  unsigned previous_ = 0;
  bool switched_ = false;
};

}  // namespace sos::proxy::allocator
