// Emergency calls from HQ through sosproxy: they must reach the first PSAP trunk of HQ's route
// (il-psap-a, by the civic rule for Illinois) and never the carrier; without any location data
// they go to the emergency response centre. The carrier trunk is a live SIPp UAS during these
// tests, so a misrouted INVITE would show in its trace.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

// A process's state letter in /proc/PID/stat ('T' once SIGSTOP has taken it), or 0.
char processState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(") ");
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

class EmergencyCall : public B2buaTest {
 protected:
  // Starts PSAP-A and the carrier, places the call, and checks that it reached PSAP-A only.
  void runEmergency(const std::string& uacScenario, const std::string& service,
                    const std::string& transport = "u1") {
    psap_ = startTrunk("uas-psap-answer.xml", ports_.psapA, "il-psap-a", transport);
    // The carrier must stay silent; it would time out long after this test.
    carrier_ =
        startTrunk("uas-answer-expect-bye.xml", ports_.carrier, "carrier", transport, {}, 120);
    ASSERT_FALSE(HasFailure());
    caller_ = startCaller(uacScenario, "caller", service, transport);
    const int uacRc = caller_->wait();
    const int psapRc = psap_->wait();
    EXPECT_EQ(uacRc, 0) << report({caller_.get(), psap_.get()});
    EXPECT_EQ(psapRc, 0) << report({caller_.get(), psap_.get()});
    carrier_->process()->stop();
    EXPECT_EQ(countMessages(*carrier_, true, "INVITE "), 0)
        << "the emergency call reached the carrier\n"
        << report({carrier_.get()});
    EXPECT_NE(inviteCallId(*caller_, false), inviteCallId(*psap_, true));
  }

  RoutingLogLine expectRoutedToPsapA(const std::string& dialed) {
    const std::string cid = inviteCallId(*caller_, false);
    const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
    EXPECT_FALSE(route.raw.empty()) << "no route line for " << cid << "\n" << routingLogText();
    EXPECT_EQ(route.get("emergency"), "yes") << route.raw;
    EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
    EXPECT_EQ(route.get("outcome"), "routed") << route.raw;
    EXPECT_EQ(route.get("site"), "HQ") << route.raw;
    EXPECT_EQ(route.get("caller"), "1001") << route.raw;
    EXPECT_EQ(route.get("dialed"), dialed) << route.raw;
    const auto final = waitForLogLine({{"event", "final"}, {"call_id", cid}});
    EXPECT_EQ(final.get("outcome"), "answered") << final.raw << "\n" << routingLogText();
    return route;
  }

  std::string psapRequestLine() const {
    const std::string invite = findMessage(*psap_, true, "INVITE ");
    return invite.substr(0, invite.find('\n'));
  }

  std::unique_ptr<Sipp> caller_;
  std::unique_ptr<Sipp> psap_;
  std::unique_ptr<Sipp> carrier_;
};

TEST_F(EmergencyCall, Dial911ReachesPsapA) {
  startProxy("udp", /*withLocations=*/true);
  ASSERT_NO_FATAL_FAILURE(runEmergency("uac-911-expect-200.xml", ""));
  EXPECT_EQ(psapRequestLine().rfind("INVITE sip:911@127.0.0.1:" + std::to_string(ports_.psapA), 0),
            0u)
      << psapRequestLine();
  expectRoutedToPsapA("911");
}

// Issue 19, past capacity over UDP. While sosproxy is stopped (SIGSTOP) its UDP socket's queue
// fills and overflows; once it runs again it drops INVITEs in the kernel while the queue is long,
// says so, counts it, and reads every INVITE again once the queue is short; a 911 placed then
// reaches PSAP-A with its PIDF-LO as any other.
TEST_F(EmergencyCall, AFullUdpQueueHoldsInvitesBackUntilItIsShortThenA911GoesThrough) {
  startProxy("udp", /*withLocations=*/true);
  const pid_t pid = proxy_->process()->pid();
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(ports_.proxy);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  const auto stoppedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return processState(pid) == 'T'; }, milliseconds(5000)));
  // 8000 datagrams of 1200 bytes: more than the 8 MB the kernel gives the socket at most. Not
  // SIP: the B2BUA drops each after a look.
  const std::string junk(1200, 'x');
  for (int i = 0; i < 8000; ++i)
    sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
  // Stopped for longer than the gate's 100 ms between checks, so that a check is due before the
  // queue is read: the B2BUA would read this junk in less time than that.
  std::this_thread::sleep_until(stoppedAt + milliseconds(300));
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("of INVITE requests now dropped before they are read") !=
               std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();
  EXPECT_TRUE(waitFor(
      [&] { return proxy_->output().find("receive queue short again") != std::string::npos; },
      milliseconds(20000)))
      << proxy_->output();
  EXPECT_GE(metric("sosproxy_invite_gate_closings_total"), 1);
  EXPECT_GT(metric("sosproxy_sip_udp_kernel_drops_total"), 0);
  EXPECT_EQ(metric("sosproxy_invite_gate_drop_per_mille"), 0);
  ASSERT_NO_FATAL_FAILURE(runEmergency("uac-911-expect-200.xml", ""));
  expectRoutedToPsapA("911");
  const std::string invite = findMessage(*psap_, true, "INVITE ");
  EXPECT_NE(invite.find("application/pidf+xml"), std::string::npos) << invite;
  EXPECT_NE(invite.find("<gp:geopriv>"), std::string::npos) << invite;
}

TEST_F(EmergencyCall, ServiceUrnSosFireIsEmergency) {
  startProxy("udp", /*withLocations=*/true);
  ASSERT_NO_FATAL_FAILURE(runEmergency("uac-sos-fire-expect-200.xml", ""));
  EXPECT_EQ(psapRequestLine().rfind("INVITE urn:service:sos.fire ", 0), 0u) << psapRequestLine();
  expectRoutedToPsapA("urn:service:sos.fire");
}

TEST_F(EmergencyCall, OutsideLinePrefix9911ReachesPsapAs911) {
  startProxy("udp", /*withLocations=*/true);
  ASSERT_NO_FATAL_FAILURE(runEmergency("uac-call-caller-hangs-up.xml", "9911"));
  EXPECT_EQ(psapRequestLine().rfind("INVITE sip:911@127.0.0.1:" + std::to_string(ports_.psapA), 0),
            0u)
      << psapRequestLine();
  expectRoutedToPsapA("9911");
}

TEST_F(EmergencyCall, Dial911ReachesPsapAOverTcp) {
  startProxy("tcp", /*withLocations=*/true);
  ASSERT_NO_FATAL_FAILURE(runEmergency("uac-911-expect-200.xml", "", "t1"));
  EXPECT_NE(findMessage(*psap_, true, "INVITE ").find("SIP/2.0/TCP"), std::string::npos)
      << "the PSAP leg did not use TCP\n"
      << report({psap_.get()});
  expectRoutedToPsapA("911");
}

// No location data at all (no store, no seed): the caller's location is unknown, so the call goes
// to the ERC, whose call takers can ask where the caller is (and never to nowhere).
TEST_F(EmergencyCall, WithoutLocationDataTheErcTakesTheCall) {
  startProxy();
  psap_ = startTrunk("uas-psap-answer.xml", ports_.erc, "erc");
  ASSERT_FALSE(HasFailure());
  caller_ = startCaller("uac-911-expect-200.xml", "caller", "");
  EXPECT_EQ(caller_->wait(), 0) << report({caller_.get(), psap_.get()});
  EXPECT_EQ(psap_->wait(), 0) << report({caller_.get(), psap_.get()});
  const std::string cid = inviteCallId(*caller_, false);
  const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
  EXPECT_EQ(route.get("trunk"), "erc") << route.raw;
  EXPECT_EQ(route.get("location"), "Unknown location") << route.raw;
  EXPECT_EQ(route.get("route").rfind("ERC: location unknown: erc il-psap-a il-psap-b", 0), 0u)
      << route.raw;
  // The operational log is written by its own thread: wait for the line, do not race it.
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("routed to the emergency response centre") !=
               std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();
}

}  // namespace
}  // namespace sos::itest
