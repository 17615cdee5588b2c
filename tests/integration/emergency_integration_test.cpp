// Emergency calls from HQ through sosproxy: they must reach the first PSAP trunk of HQ's route
// (il-psap-a, by the civic rule for Illinois) and never the carrier; without any location data
// they go to the emergency response centre. The carrier trunk is a live SIPp UAS during these
// tests, so a misrouted INVITE would show in its trace.

#include <gtest/gtest.h>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

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
