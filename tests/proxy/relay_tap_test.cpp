// The look at the head of the SIP port's UDP queue (proxy/relay_tap.h), on a real socket: the
// relay's datagrams at the head are taken and leave the queue; at the first that is not the
// relay's, or that is no SIP, the look stops and the rest stays for Sofia, in order.

#include "proxy/relay_tap.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

namespace sos::proxy {
namespace {

class RelayTapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    peer_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(peer_, 0);
  }
  void TearDown() override {
    ::close(fd_);
    ::close(peer_);
  }
  void sendToTap(const std::string& data) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        ::sendto(peer_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(data.size()));
  }
  // Waits until the socket has something to read (the loopback delivers at once; this only
  // makes sure).
  void waitReadable() {
    pollfd p{fd_, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
  }
  // What is left in the queue, in order.
  std::vector<std::string> left() {
    std::vector<std::string> out;
    char buf[2048];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }
  static std::string request(const std::string& callId) {
    return "BYE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" +
           callId + "\r\nCall-ID: " + callId + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
  }

  int fd_ = -1;
  int peer_ = -1;
  uint16_t port_ = 0;
};

TEST_F(RelayTapTest, TakesTheRelaysDatagramsAtTheHeadAndLeavesTheRestInOrder) {
  std::atomic<uint64_t> taken{0};
  std::vector<std::string> seen;
  RelayTap tap({fd_}, [&](const wire::Message& m, const Peer& from) {
    const std::string id(m.first(wire::Kind::CallId)->value);
    seen.push_back(id + " from " + from.ip);
    const bool relays = id.rfind("relay-", 0) == 0;
    if (relays) ++taken;
    return relays;
  });
  tap.setOn(true);
  sendToTap(request("relay-1"));
  sendToTap(request("relay-2"));
  sendToTap(request("sofia-1"));
  sendToTap(request("relay-3"));
  waitReadable();
  tap.take();
  EXPECT_EQ(seen, (std::vector<std::string>{"relay-1 from 127.0.0.1", "relay-2 from 127.0.0.1",
                                            "sofia-1 from 127.0.0.1"}));
  EXPECT_EQ(taken.load(), 2u);
  const auto rest = left();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], request("sofia-1"));
  EXPECT_EQ(rest[1], request("relay-3"));
}

TEST_F(RelayTapTest, WhatIsNoSipAndEverythingWhileOffStaysForSofia) {
  std::atomic<uint64_t> taken{0};
  int asked = 0;
  RelayTap tap({fd_}, [&](const wire::Message&, const Peer&) {
    ++asked;
    ++taken;
    return true;
  });
  sendToTap(request("relay-1"));
  waitReadable();
  tap.take();  // off: no look
  EXPECT_EQ(asked, 0);
  tap.setOn(true);
  const std::string garbage = "\x01\x02 not SIP\r\n";
  // The queue: relay-1, then the garbage, then relay-2: relay-1 is taken, the look stops at the
  // garbage.
  sendToTap(garbage);
  sendToTap(request("relay-2"));
  tap.take();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(taken.load(), 1u);
  const auto rest = left();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], garbage);
}

TEST_F(RelayTapTest, SendsFromTheSocketToAnAddressOfItsFamilyOnly) {
  RelayTap tap({fd_}, [](const wire::Message&, const Peer&) { return false; });
  int receiver = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(receiver, reinterpret_cast<sockaddr*>(&a), &len), 0);
  EXPECT_TRUE(tap.send("hello", "127.0.0.1", ntohs(a.sin_port)));
  char buf[16];
  sockaddr_in from{};
  socklen_t fromLen = sizeof from;
  const ssize_t n =
      ::recvfrom(receiver, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "hello");
  EXPECT_EQ(ntohs(from.sin_port), port_);             // from the SIP port's socket
  EXPECT_FALSE(tap.send("x", "[::1]", 5060));         // no IPv6 socket
  EXPECT_FALSE(tap.send("x", "host.example", 5060));  // no address
  ::close(receiver);
}

}  // namespace
}  // namespace sos::proxy
