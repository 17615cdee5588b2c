#include "proxy/allocator.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <string>
#include <utility>

namespace sos::proxy::allocator {

namespace {

// jemalloc's control interface, found at run time: the proxy library is linked into binaries
// that run on other allocators.
using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
using NameToMib = int (*)(const char*, size_t*, size_t*);
using ByMib = int (*)(const size_t*, size_t, void*, size_t*, void*, size_t);

struct Jemalloc {
  Mallctl ctl = nullptr;
  NameToMib nameToMib = nullptr;
  ByMib byMib = nullptr;
};

const Jemalloc& jemalloc() {
  static const Jemalloc j{reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl")),
                          reinterpret_cast<NameToMib>(dlsym(RTLD_DEFAULT, "mallctlnametomib")),
                          reinterpret_cast<ByMib>(dlsym(RTLD_DEFAULT, "mallctlbymib"))};
  return j;
}

// Freed transaction memory goes back to the system after about this long unused (jemalloc's
// default is 10 s); under load it is reused long before.
constexpr long kTransactionDecayMs = 1000;

// The SIP thread's two arenas, made once for the process (a test may start several servers).
struct Arenas {
  bool ok = false;
  std::array<unsigned, 2> index{};  // by Lifetime
  std::array<size_t, 2> threadArenaMib{};
  size_t threadArenaMibLength = 0;
  std::array<size_t, 3> flushMib{};  // thread.tcache.flush
  size_t flushMibLength = 0;
};

// Set on the thread prepareSipThread() ran on; read only there.
thread_local bool prepared = false;
// Set by setThreadCache() on that thread: its cache is on and flushed at each switch of arena.
thread_local bool cached = false;

// jemalloc purges an arena outright when the last thread bound to it moves to another one: at
// every Scope, with only the SIP thread on them. So each arena also has a thread of its own that
// stays bound to it and otherwise sleeps, with every signal blocked, until the process exits.
void* holdArena(void* arg) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, nullptr);
  auto* bound = static_cast<std::pair<unsigned, sem_t*>*>(arg);
  unsigned arena = bound->first;
  jemalloc().ctl("thread.arena", nullptr, nullptr, &arena, sizeof arena);
  sem_post(bound->second);
  for (;;) pause();
  return nullptr;
}

bool startHolder(unsigned arena) {
  sem_t ready;
  if (sem_init(&ready, 0, 0) != 0) return false;
  std::pair<unsigned, sem_t*> bound{arena, &ready};
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, size_t{64} * 1024);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const bool started = pthread_create(&thread, &attributes, holdArena, &bound) == 0;
  pthread_attr_destroy(&attributes);
  if (started) {
    pthread_setname_np(thread, "sos-arena");
    while (sem_wait(&ready) != 0) {
    }
  }
  sem_destroy(&ready);
  return started;
}

Arenas makeArenas() {
  const Jemalloc& j = jemalloc();
  Arenas made;
  if (j.ctl == nullptr || j.nameToMib == nullptr || j.byMib == nullptr) return made;
  for (unsigned& arena : made.index) {
    size_t size = sizeof arena;
    if (j.ctl("arenas.create", &arena, &size, nullptr, 0) != 0 || !startHolder(arena)) return made;
  }
  long decay = kTransactionDecayMs;
  const std::string decayName = "arena." + std::to_string(made.index[1]) + ".dirty_decay_ms";
  j.ctl(decayName.c_str(), nullptr, nullptr, &decay, sizeof decay);
  bool on = true;
  j.ctl("background_thread", nullptr, nullptr, &on, sizeof on);  // best effort
  size_t length = made.threadArenaMib.size();
  if (j.nameToMib("thread.arena", made.threadArenaMib.data(), &length) != 0) return made;
  made.threadArenaMibLength = length;
  length = made.flushMib.size();
  if (j.nameToMib("thread.tcache.flush", made.flushMib.data(), &length) != 0) return made;
  made.flushMibLength = length;
  made.ok = true;
  return made;
}

const Arenas& arenas() {
  static const Arenas made = makeArenas();
  return made;
}

unsigned arenaFor(Lifetime lifetime) { return arenas().index[lifetime == Lifetime::Call ? 0 : 1]; }

// Swaps the calling thread's arena; returns the previous one through `previous`.
bool switchArena(unsigned next, unsigned* previous) {
  const Arenas& a = arenas();
  size_t size = sizeof *previous;
  if (cached) jemalloc().byMib(a.flushMib.data(), a.flushMibLength, nullptr, nullptr, nullptr, 0);
  return jemalloc().byMib(a.threadArenaMib.data(), a.threadArenaMibLength, previous, &size, &next,
                          sizeof next) == 0;
}

}  // namespace

uint64_t heapInUse() {
  if (const Mallctl ctl = jemalloc().ctl) {
    uint64_t epoch = 1;
    size_t size = sizeof epoch;
    ctl("epoch", &epoch, &size, &epoch, size);  // refreshes the statistics below
    size_t allocated = 0;
    size = sizeof allocated;
    if (ctl("stats.allocated", &allocated, &size, nullptr, 0) == 0) return allocated;
  }
  const struct mallinfo2 heap = mallinfo2();
  return heap.uordblks + heap.hblkhd;
}

bool prepareSipThread() {
  if (prepared) return true;
  if (!arenas().ok) return false;
  bool off = false;
  if (jemalloc().ctl("thread.tcache.enabled", nullptr, nullptr, &off, sizeof off) != 0)
    return false;
  unsigned previous = 0;
  if (!switchArena(arenaFor(Lifetime::Transaction), &previous)) return false;
  prepared = true;
  return true;
}

void setThreadCache(bool on) {
  if (!prepared || on == cached) return;
  if (jemalloc().ctl("thread.tcache.enabled", nullptr, nullptr, &on, sizeof on) == 0) cached = on;
}

bool threadCache() {
  if (!prepared) return false;
  bool on = false;
  size_t size = sizeof on;
  return jemalloc().ctl("thread.tcache.enabled", &on, &size, nullptr, 0) == 0 && on;
}

int arenaOf(const void* p) {
  const Mallctl ctl = jemalloc().ctl;
  if (ctl == nullptr || p == nullptr) return -1;
  unsigned arena = 0;
  size_t size = sizeof arena;
  return ctl("arenas.lookup", &arena, &size, &p, sizeof p) == 0 ? static_cast<int>(arena) : -1;
}

int arenaIndex(Lifetime lifetime) {
  return arenas().ok ? static_cast<int>(arenaFor(lifetime)) : -1;
}

Scope::Scope(Lifetime lifetime) {
  if (prepared) switched_ = switchArena(arenaFor(lifetime), &previous_);
}

Scope::~Scope() {
  unsigned ignored = 0;
  if (switched_) switchArena(previous_, &ignored);
}

}  // namespace sos::proxy::allocator
