// Ordinary calls through sosproxy: a SIPp caller on 127.0.0.1 (trusted), a SIPp UAS as the
// carrier trunk. Each scenario checks what its side received (see sipp-scenarios/README.md);
// the tests add what only both sides together show (separate Call-IDs) and the routing log.

#include <gtest/gtest.h>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

constexpr const char* kDialed = "5551234";

class OrdinaryCall : public B2buaTest {
 protected:
  // Runs caller and carrier scenarios to the end; both must exit 0.
  void runCall(const std::string& uacScenario, const std::string& uasScenario,
               const std::string& transport = "u1") {
    carrier_ =
        startTrunk(uasScenario, ports_.carrier, "carrier", transport, {{"expect_user", kDialed}});
    ASSERT_FALSE(HasFailure());
    caller_ = startCaller(uacScenario, "caller", kDialed, transport);
    const int uacRc = caller_->wait();
    const int uasRc = carrier_->wait();
    EXPECT_EQ(uacRc, 0) << report({caller_.get(), carrier_.get()});
    EXPECT_EQ(uasRc, 0) << report({caller_.get(), carrier_.get()});
  }

  // The B2BUA contract visible from both ends of one call.
  void expectSeparateLegs() {
    const std::string callerCid = inviteCallId(*caller_, false);
    const std::string trunkCid = inviteCallId(*carrier_, true);
    ASSERT_FALSE(callerCid.empty()) << report({caller_.get()});
    ASSERT_FALSE(trunkCid.empty()) << report({carrier_.get()});
    EXPECT_NE(callerCid, trunkCid) << "the trunk leg reused the caller's Call-ID";
    const std::string ruri = findMessage(*carrier_, true, "INVITE ");
    EXPECT_EQ(ruri.substr(0, ruri.find('\n'))
                  .rfind("INVITE sip:" + std::string(kDialed) +
                             "@127.0.0.1:" + std::to_string(ports_.carrier),
                         0),
              0u)
        << ruri;
  }

  void expectRouted(const std::string& outcome) {
    const std::string cid = inviteCallId(*caller_, false);
    const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
    ASSERT_FALSE(route.raw.empty()) << "no route line for " << cid << "\n" << routingLogText();
    EXPECT_EQ(route.get("emergency"), "no") << route.raw;
    EXPECT_EQ(route.get("trunk"), "carrier") << route.raw;
    EXPECT_EQ(route.get("outcome"), "routed") << route.raw;
    EXPECT_EQ(route.get("caller"), "1001") << route.raw;
    EXPECT_EQ(route.get("dialed"), kDialed) << route.raw;
    const auto final = waitForLogLine({{"event", "final"}, {"call_id", cid}});
    ASSERT_FALSE(final.raw.empty()) << "no final line for " << cid << "\n" << routingLogText();
    EXPECT_EQ(final.get("outcome"), outcome) << final.raw;
  }

  std::unique_ptr<Sipp> caller_;
  std::unique_ptr<Sipp> carrier_;
};

TEST_F(OrdinaryCall, AnsweredAndHungUpByCaller) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(runCall("uac-call-caller-hangs-up.xml", "uas-answer-expect-bye.xml"));
  // 100 Trying comes from sosproxy itself (the trunk scenario sends none).
  EXPECT_GE(countMessages(*caller_, true, "SIP/2.0 100"), 1) << report({caller_.get()});
  EXPECT_GE(countMessages(*caller_, true, "SIP/2.0 180"), 1) << report({caller_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "BYE "), 1) << report({carrier_.get()});
  expectSeparateLegs();
  expectRouted("answered");
}

TEST_F(OrdinaryCall, AnsweredAndHungUpByCallee) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(runCall("uac-call-expect-bye.xml", "uas-answer-then-hangup.xml"));
  EXPECT_EQ(countMessages(*caller_, true, "BYE "), 1) << report({caller_.get()});
  expectSeparateLegs();
  expectRouted("answered");
}

TEST_F(OrdinaryCall, CallerCancelsWhileRinging) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(runCall("uac-cancel-while-ringing.xml", "uas-ring-expect-cancel.xml"));
  EXPECT_EQ(countMessages(*caller_, true, "SIP/2.0 487"), 1) << report({caller_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "CANCEL "), 1) << report({carrier_.get()});
  // The caller's ACK of its 487 ends at sosproxy (hop by hop): the carrier gets nta's ACK of
  // its own 487 only, and no ACK goes anywhere else (once one went to the trunk leg's To, here
  // sosproxy itself, and came back a stray).
  EXPECT_EQ(countMessages(*carrier_, true, "ACK "), 1) << report({carrier_.get()});
  EXPECT_EQ(metric("sosproxy_edge_stray_acks_total"), 0) << metrics();
  expectSeparateLegs();
  expectRouted("cancelled");
}

TEST_F(OrdinaryCall, TrunkBusyIsRelayed) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(runCall("uac-call-expect-486.xml", "uas-busy-486.xml"));
  EXPECT_EQ(countMessages(*caller_, true, "SIP/2.0 486"), 1) << report({caller_.get()});
  // The trunk's 486 is ACKed by sosproxy, hop by hop.
  EXPECT_EQ(countMessages(*carrier_, true, "ACK "), 1) << report({carrier_.get()});
  expectSeparateLegs();
  expectRouted("failed");
  const auto final =
      waitForLogLine({{"event", "final"}, {"call_id", inviteCallId(*caller_, false)}});
  EXPECT_EQ(final.get("status"), "486") << final.raw;
}

TEST_F(OrdinaryCall, ReInviteFromCaller) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(
      runCall("uac-reinvite-after-answer.xml", "uas-answer-accept-reinvite.xml"));
  EXPECT_EQ(countMessages(*carrier_, true, "INVITE "), 2) << report({carrier_.get()});
  expectSeparateLegs();
}

TEST_F(OrdinaryCall, ReInviteFromCallee) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(runCall("uac-call-accept-reinvite.xml", "uas-answer-then-reinvite.xml"));
  EXPECT_EQ(countMessages(*caller_, true, "INVITE "), 1) << report({caller_.get()});
  // The re-INVITE that reached the caller is in the caller's dialog: the caller's Call-ID.
  EXPECT_EQ(headerValue(findMessage(*caller_, true, "INVITE "), "Call-ID"),
            inviteCallId(*caller_, false));
  expectSeparateLegs();
}

TEST_F(OrdinaryCall, UpdateInfoOptionsInDialog) {
  startProxy();
  ASSERT_NO_FATAL_FAILURE(
      runCall("uac-update-info-options.xml", "uas-answer-accept-update-info-options.xml"));
  EXPECT_EQ(countMessages(*carrier_, true, "UPDATE "), 1) << report({carrier_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "INFO "), 1) << report({carrier_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "OPTIONS "), 1) << report({carrier_.get()});
  expectSeparateLegs();
}

// A call up longer than 64*T1 (32 s) lets go of what set it up (the caller's INVITE and our
// answer, our INVITE and the trunk's answer: no retransmission of them can come any more); its
// two dialogs carry on: a re-INVITE and then the BYE still cross both legs.
TEST_F(OrdinaryCall, HeldPastItsSetUp) {
  startProxy();
  carrier_ = startTrunk("uas-answer-accept-reinvite.xml", ports_.carrier, "carrier", "u1",
                        {{"expect_user", kDialed}}, 90);
  ASSERT_FALSE(HasFailure());
  SippOptions o;
  o.scenario = "uac-reinvite-after-answer.xml";
  o.name = "caller";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = kDialed;
  o.timeoutSeconds = 80;
  o.extraArgs = {"-d", "36000"};  // the re-INVITE comes 36 s after the ACK
  caller_ = std::make_unique<Sipp>(o, dir_.path());
  ASSERT_TRUE(caller_->start());

  EXPECT_EQ(metric("sosproxy_calls_settled_total"), 0) << metrics();
  EXPECT_TRUE(
      waitFor([&] { return metric("sosproxy_calls_settled_total") == 1; }, milliseconds(45000)))
      << metrics() << report({caller_.get(), carrier_.get()});
  EXPECT_EQ(metric("sosproxy_active_calls"), 1) << "the call ended before it settled\n"
                                                << report({caller_.get(), carrier_.get()});

  const int uacRc = caller_->wait();
  const int uasRc = carrier_->wait();
  EXPECT_EQ(uacRc, 0) << report({caller_.get(), carrier_.get()});
  EXPECT_EQ(uasRc, 0) << report({caller_.get(), carrier_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "INVITE "), 2) << report({carrier_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "BYE "), 1) << report({carrier_.get()});
  expectSeparateLegs();
  expectRouted("answered");
  EXPECT_TRUE(waitFor([&] { return metric("sosproxy_active_calls") == 0; }, milliseconds(10000)))
      << metrics();
}

// Over TCP: the caller, sosproxy and the carrier trunk all on TCP.
TEST_F(OrdinaryCall, AnsweredAndHungUpByCallerOverTcp) {
  startProxy("tcp");
  ASSERT_NO_FATAL_FAILURE(
      runCall("uac-call-caller-hangs-up.xml", "uas-answer-expect-bye.xml", "t1"));
  EXPECT_NE(findMessage(*carrier_, true, "INVITE ").find("SIP/2.0/TCP"), std::string::npos)
      << "the trunk leg did not use TCP\n"
      << report({carrier_.get()});
  expectSeparateLegs();
  expectRouted("answered");
}

TEST_F(OrdinaryCall, CallerCancelsWhileRingingOverTcp) {
  startProxy("tcp");
  ASSERT_NO_FATAL_FAILURE(
      runCall("uac-cancel-while-ringing.xml", "uas-ring-expect-cancel.xml", "t1"));
  EXPECT_EQ(countMessages(*caller_, true, "SIP/2.0 487"), 1) << report({caller_.get()});
  EXPECT_EQ(countMessages(*carrier_, true, "CANCEL "), 1) << report({carrier_.get()});
  expectRouted("cancelled");
}

}  // namespace
}  // namespace sos::itest
