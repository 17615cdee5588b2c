// The SIP thread's resolver guard: see dns_guard.h for why these libc functions are defined
// here. Each one forwards to the C library's own (the next definition in the lookup order,
// which is the sanitizer's interceptor in sanitizer builds) and only changes what happens on
// the SIP thread.

#include "proxy/dns_guard.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>

namespace sos::proxy::dns_guard {
namespace {

thread_local bool tSipThread = false;
std::atomic<uint64_t> gRefused{0};
// Refusals since the last warning, and when it was written (steady clock, ms): one warning per
// 10 s at most, however many datagrams ask.
std::atomic<uint64_t> gUnlogged{0};
std::atomic<int64_t> gLastLogMs{-1000000};
constexpr int64_t kLogEveryMs = 10000;

bool numeric(const char* host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

void noteRefused(const char* what, const char* name) {
  gRefused.fetch_add(1, std::memory_order_relaxed);
  gUnlogged.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = gLastLogMs.load(std::memory_order_relaxed);
  if (now - last < kLogEveryMs || !gLastLogMs.compare_exchange_strong(last, now)) return;
  const uint64_t n = gUnlogged.exchange(0, std::memory_order_relaxed);
  try {
    spdlog::warn(
        "no DNS on the SIP thread: {} of \"{}\" refused, the message addressed to it not sent "
        "(usually the answer to a malformed request whose Via names a host); {} such lookup{} "
        "in the last {} s",
        what, name ? name : "", n, n == 1 ? "" : "s", kLogEveryMs / 1000);
  } catch (...) {
  }
}

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void markSipThread() { tSipThread = true; }

uint64_t refused() { return gRefused.load(std::memory_order_relaxed); }

}  // namespace sos::proxy::dns_guard

using sos::proxy::dns_guard::tSipThread;

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
  static const Fn real = sos::proxy::dns_guard::next<Fn>("getaddrinfo");
  if (real == nullptr) return EAI_SYSTEM;
  if (!tSipThread || node == nullptr) return real(node, service, hints, res);
  addrinfo numericOnly{};
  if (hints) numericOnly = *hints;
  numericOnly.ai_flags |= AI_NUMERICHOST;
  const int rc = real(node, service, &numericOnly, res);
  if (rc == EAI_NONAME) sos::proxy::dns_guard::noteRefused("getaddrinfo", node);
  return rc;
}

int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                socklen_t servlen, int flags) {
  using Fn = int (*)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
  static const Fn real = sos::proxy::dns_guard::next<Fn>("getnameinfo");
  if (real == nullptr) return EAI_SYSTEM;
  // A reverse lookup waits on DNS just the same: the SIP thread gets the address as text.
  if (tSipThread) flags |= NI_NUMERICHOST | NI_NUMERICSERV;
  return real(sa, salen, host, hostlen, serv, servlen, flags);
}

hostent* gethostbyname(const char* name) {
  using Fn = hostent* (*)(const char*);
  static const Fn real = sos::proxy::dns_guard::next<Fn>("gethostbyname");
  if (real == nullptr) return nullptr;
  if (tSipThread && name != nullptr && !sos::proxy::dns_guard::numeric(name)) {
    sos::proxy::dns_guard::noteRefused("gethostbyname", name);
    h_errno = HOST_NOT_FOUND;
    return nullptr;
  }
  return real(name);
}

}  // extern "C"
