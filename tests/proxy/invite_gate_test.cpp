// The INVITE gate (proxy/invite_gate.h): its rule for the share of INVITEs held back, and its
// socket filter attached to a real UDP socket on 127.0.0.1.

#include "proxy/invite_gate.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sos::proxy {
namespace {

constexpr uint64_t kBuffer = 8U << 20U;  // what Sofia's 4 MB request becomes on Linux
constexpr uint64_t kHigh = GateControl::kHighBytes;

TEST(GateControl, ShortQueueDropsNothing) {
  GateControl g;
  EXPECT_EQ(g.next(0, kBuffer), 0U);
  EXPECT_EQ(g.next(kHigh - 1, kBuffer), 0U);
}

TEST(GateControl, LongQueueRaisesTheShareLongerFasterAndNeverPast90Percent) {
  GateControl g;
  EXPECT_EQ(g.next(kHigh, kBuffer), GateControl::kStep);
  EXPECT_EQ(g.next(4 * kHigh, kBuffer), 6 * GateControl::kStep);
  for (int i = 0; i < 100; ++i) g.next(kBuffer, kBuffer);
  EXPECT_EQ(g.share(), GateControl::kMax);
  EXPECT_EQ(GateControl::kMax, 900U);
}

TEST(GateControl, QueueBetweenTheMarksKeepsTheShareThenAShortOneLowersItToNothing) {
  GateControl g;
  g.next(4 * kHigh, kBuffer);  // 100
  EXPECT_EQ(g.next(kHigh / 2, kBuffer), 100U);
  EXPECT_EQ(g.next(kHigh / 4 - 1, kBuffer), 90U);   // under a quarter: half a step
  EXPECT_EQ(g.next(kHigh / 16 - 1, kBuffer), 40U);  // under a sixteenth: two and a half
  EXPECT_EQ(g.next(0, kBuffer), 0U);
  EXPECT_EQ(g.next(0, kBuffer), 0U);
}

TEST(GateControl, SmallBufferUsesAQuarterOfIt) {
  GateControl g;
  const uint64_t small = 425984;  // Linux's default rmem_max, doubled
  EXPECT_EQ(g.next(small / 4 - 1, small), 0U);
  EXPECT_EQ(g.next(small / 4, small), GateControl::kStep);
  EXPECT_EQ(g.next(123, 0), GateControl::kStep) << "no buffer size: nothing to go by";
}

// 127.0.0.1, port 0 (the system chooses).
sockaddr_in loopback() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A UDP socket on 127.0.0.1 with a free port, and a sender.
class Sockets : public ::testing::Test {
 protected:
  void SetUp() override {
    rx_ = socket(AF_INET, SOCK_DGRAM, 0);
    tx_ = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(rx_, 0);
    ASSERT_GE(tx_, 0);
    sockaddr_in a = loopback();
    ASSERT_EQ(bind(rx_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof to_;
    ASSERT_EQ(getsockname(rx_, reinterpret_cast<sockaddr*>(&to_), &len), 0);
  }
  void TearDown() override {
    if (rx_ >= 0) close(rx_);
    if (tx_ >= 0) close(tx_);
  }
  void attach(uint32_t permille) {
    auto code = inviteGateFilter(permille);
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    ASSERT_EQ(setsockopt(rx_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog), 0);
  }
  void send(const std::string& d) {
    ASSERT_EQ(sendto(tx_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to_), sizeof to_),
              static_cast<ssize_t>(d.size()));
  }
  // Sends a marker (which passes every filter) and returns what arrived before it.
  std::vector<std::string> receivedBeforeMarker() {
    const std::string marker = "MARKER sip:end SIP/2.0\r\n\r\n";
    send(marker);
    std::vector<std::string> got;
    for (;;) {
      pollfd p{rx_, POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) {
        ADD_FAILURE() << "the marker did not arrive";
        return got;
      }
      std::string buf(2048, '\0');
      const ssize_t n = recv(rx_, buf.data(), buf.size(), 0);
      if (n < 0) continue;
      buf.resize(static_cast<size_t>(n));
      if (buf == marker) return got;
      got.push_back(buf);
    }
  }

  int rx_ = -1, tx_ = -1;
  sockaddr_in to_{};
};

TEST_F(Sockets, EveryInviteDroppedAndNothingElse) {
  attach(1000);
  const std::vector<std::string> others = {
      "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n",
      "ACK sip:911@127.0.0.1 SIP/2.0\r\n\r\n",
      "BYE sip:911@127.0.0.1 SIP/2.0\r\n\r\n",
      "CANCEL sip:911@127.0.0.1 SIP/2.0\r\n\r\n",
      "INVITEX sip:911@127.0.0.1 SIP/2.0\r\n\r\n",
      "invite sip:911@127.0.0.1 SIP/2.0\r\n\r\n",
      "INVITE",  // too short to be a request: passed on (the B2BUA's parser refuses it)
      "\r\n\r\n",
  };
  send("INVITE sip:911@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n");
  for (const auto& d : others) send(d);
  send("INVITE urn:service:sos SIP/2.0\r\n\r\n");
  EXPECT_EQ(receivedBeforeMarker(), others);
}

TEST_F(Sockets, ShareOfInvitesDroppedIsAboutTheOneAsked) {
  attach(500);
  size_t passed = 0, sent = 0;
  for (int batch = 0; batch < 20; ++batch) {  // batches fit any receive buffer
    for (int i = 0; i < 100; ++i, ++sent) send("INVITE sip:911@127.0.0.1 SIP/2.0\r\n\r\n");
    send("SIP/2.0 180 Ringing\r\n\r\n");
    const auto got = receivedBeforeMarker();
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back(), "SIP/2.0 180 Ringing\r\n\r\n");
    passed += got.size() - 1;
  }
  // 2000 tries at one half: 35 % and 65 % are more than 13 standard deviations away.
  EXPECT_GT(passed, sent * 35 / 100) << passed << " of " << sent;
  EXPECT_LT(passed, sent * 65 / 100) << passed << " of " << sent;
}

TEST_F(Sockets, NoShareDropsNothing) {
  attach(0);
  for (int i = 0; i < 50; ++i) send("INVITE sip:911@127.0.0.1 SIP/2.0\r\n\r\n");
  EXPECT_EQ(receivedBeforeMarker().size(), 50U);
}

// A TCP socket and a UDP one on the same port: the TCP port is taken first (free TCP ports
// are fewer among parallel tests), then a UDP socket on it, tried again on another port if that
// one's UDP side is taken.
TEST(SocketsOfAPort, UdpSocketsOfAPortAreFoundAndATcpOneIsNot) {
  int tcp = -1;
  int udp = -1;
  uint16_t port = 0;
  for (int attempt = 0; attempt < 50 && udp < 0; ++attempt) {
    if (tcp >= 0) close(tcp);
    tcp = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(tcp, 0);
    sockaddr_in a = loopback();
    ASSERT_EQ(bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
    udp = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(udp, 0);
    if (bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(udp);
      udp = -1;
    }
  }
  ASSERT_GE(udp, 0) << "no port free for both TCP and UDP in 50 tries";
  const auto found = InviteGate::udpSockets(port);
  close(tcp);
  close(udp);
  EXPECT_EQ(found, std::vector<int>{udp});
}

}  // namespace
}  // namespace sos::proxy
