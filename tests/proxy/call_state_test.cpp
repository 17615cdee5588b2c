// A call's state and its answer to in-dialog requests (proxy/call_state.h): every state against
// every event and every request, as tables a reader can check against RFC 3261 13 to 15.

#include "proxy/call_state.h"

#include <gtest/gtest.h>

#include <string>

namespace sos::proxy {
namespace {

using S = CallState;
using E = CallEvent;

TEST(CallState, EveryStateAgainstEveryEvent) {
  struct Row {
    S from;
    E event;
    S to;
  };
  const Row rows[] = {
      // The answer goes to the caller; its ACK confirms the session.
      {S::Proceeding, E::AnswerRelayed, S::Answered},
      {S::Answered, E::CallerAcked, S::Confirmed},
      // What a state does not expect changes nothing.
      {S::Proceeding, E::CallerAcked, S::Proceeding},  // an ACK to a failure is nta's
      {S::Answered, E::AnswerRelayed, S::Answered},    // a retransmitted 2xx
      {S::Confirmed, E::AnswerRelayed, S::Confirmed},
      {S::Confirmed, E::CallerAcked, S::Confirmed},  // a retransmitted ACK
      {S::Ending, E::AnswerRelayed, S::Ending},
      {S::Ending, E::CallerAcked, S::Ending},
      // A BYE, from any side or of sosproxy's own, ends the session from any live state.
      {S::Proceeding, E::Bye, S::Ending},  // a late answer hung up after a cancel
      {S::Answered, E::Bye, S::Ending},    // the caller never ACKed (Timer H)
      {S::Confirmed, E::Bye, S::Ending},
      {S::Ending, E::Bye, S::Ending},
      // Over is over, from anywhere; and an ended call stays ended.
      {S::Proceeding, E::Over, S::Ended},
      {S::Answered, E::Over, S::Ended},
      {S::Confirmed, E::Over, S::Ended},
      {S::Ending, E::Over, S::Ended},
      {S::Ended, E::AnswerRelayed, S::Ended},
      {S::Ended, E::CallerAcked, S::Ended},
      {S::Ended, E::Bye, S::Ended},
      {S::Ended, E::Over, S::Ended},
  };
  for (const Row& r : rows)
    EXPECT_EQ(toString(transition(r.from, r.event)), toString(r.to))
        << toString(r.from) << " + event " << static_cast<int>(r.event);
}

TEST(CallState, WhatARequestInsideTheDialogGets) {
  using M = InDialogMethod;
  using A = InDialogAction;
  struct Row {
    S state;
    M method;
    bool fromCaller;
    bool reinviteOpen;
    A action;
  };
  const Row rows[] = {
      // A BYE: before the answer, the caller's is a cancel; the trunk's is relayed.
      {S::Proceeding, M::Bye, true, false, A::CancelInvite},
      {S::Proceeding, M::Bye, false, false, A::Relay},
      {S::Answered, M::Bye, true, false, A::Relay},
      {S::Confirmed, M::Bye, true, false, A::Relay},
      {S::Confirmed, M::Bye, false, false, A::Relay},
      {S::Ending, M::Bye, false, false, A::AlreadyEnding},  // both hung up at once
      {S::Ended, M::Bye, true, false, A::NoDialog},
      // A re-INVITE: one at a time, and none before the session is up.
      {S::Proceeding, M::Invite, true, false, A::Glare},
      {S::Answered, M::Invite, false, false, A::Glare},
      {S::Confirmed, M::Invite, true, false, A::Relay},
      {S::Confirmed, M::Invite, false, true, A::Glare},
      {S::Ending, M::Invite, true, false, A::Relay},
      {S::Ended, M::Invite, true, false, A::NoDialog},
      // Anything else (UPDATE, INFO, a stray ACK once the call is over) is relayed while the
      // call lives.
      {S::Proceeding, M::Other, true, false, A::Relay},
      {S::Confirmed, M::Other, false, true, A::Relay},
      {S::Ended, M::Other, false, false, A::NoDialog},
  };
  for (const Row& r : rows)
    EXPECT_EQ(static_cast<int>(inDialog(r.state, r.method, r.fromCaller, r.reinviteOpen)),
              static_cast<int>(r.action))
        << toString(r.state) << " method " << static_cast<int>(r.method) << " from "
        << (r.fromCaller ? "caller" : "trunk") << (r.reinviteOpen ? ", re-INVITE open" : "");
}

}  // namespace
}  // namespace sos::proxy
