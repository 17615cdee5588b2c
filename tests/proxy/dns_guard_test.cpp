// No DNS on the SIP thread (issue 14): on the thread marked as the SIP thread a host name is
// refused at once, however the C library is asked, while numeric addresses and every other
// thread resolve as usual. "localhost" is in /etc/hosts, so the unmarked thread needs no DNS
// server to resolve it either.

#include "proxy/dns_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>

#include <thread>

namespace sos::proxy {
namespace {

int lookup(const char* host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host, "5060", &hints, &res);
  if (res) freeaddrinfo(res);
  return rc;
}

TEST(DnsGuard, TheSipThreadResolvesNoNameOtherThreadsDo) {
  int elsewhere = -1;
  std::thread other([&] { elsewhere = lookup("localhost"); });
  other.join();
  ASSERT_EQ(elsewhere, 0) << gai_strerror(elsewhere);

  int numeric = -1, named = -1, byName = -1;
  bool hostent = true;
  char reverse[NI_MAXHOST] = "";
  uint64_t before = 0, after = 0;
  std::thread sip([&] {
    dns_guard::markSipThread();
    before = dns_guard::refused();
    numeric = lookup("127.0.0.1");
    named = lookup("localhost");
    byName = lookup("c.example.com");
    hostent = gethostbyname("localhost") != nullptr;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, reverse, sizeof reverse, nullptr, 0, 0);
    after = dns_guard::refused();
  });
  sip.join();
  EXPECT_EQ(numeric, 0) << gai_strerror(numeric);
  EXPECT_EQ(named, EAI_NONAME);
  EXPECT_EQ(byName, EAI_NONAME);
  EXPECT_FALSE(hostent);
  EXPECT_STREQ(reverse, "127.0.0.1") << "a reverse lookup gives the address as text";
  EXPECT_EQ(after - before, 3u);
}

}  // namespace
}  // namespace sos::proxy
