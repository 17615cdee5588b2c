#pragma once
// Where a call is, and what it does with a request inside its dialogs: the one transition
// function of a call's state (RFC 3261 13 and 15, from the caller's side) and the one answer to
// an in-dialog request, both pure and table-tested (tests/proxy/call_state_test.cpp). The
// B2BUA feeds them what happened; nothing else changes a call's state.

#include <string_view>

namespace sos::proxy {

enum class CallState {
  Proceeding,  // INVITE sent on leg B; no final response yet
  Answered,    // 2xx relayed to A; waiting for A's ACK (RFC 3261 13.3.1.4)
  Confirmed,   // ACKed on both legs: the session is up
  Ending,      // a BYE is being relayed or sent
  Ended,       // nothing left to do; freed on the next reap
};
std::string_view toString(CallState s);

enum class CallEvent {
  AnswerRelayed,  // a 2xx to the INVITE went to the caller
  CallerAcked,    // the caller's ACK to that 2xx
  Bye,            // a BYE relayed from either side, or one of sosproxy's own
  Over,           // nothing is left to do: the call is freed on the next reap
};

// The state after `event`. What a state does not expect leaves it as it is: a late ACK, a second
// answer; an Ended call stays Ended whatever comes.
CallState transition(CallState state, CallEvent event);

// A request inside one of the call's dialogs, and what is done with it.
enum class InDialogMethod { Bye, Invite, Other };
enum class InDialogAction {
  Relay,          // to the other leg
  NoDialog,       // 481: the call is over
  CancelInvite,   // the caller's BYE before any answer: the INVITE ends 487, the branches
                  // are cancelled, the BYE gets 200 (RFC 3261 15: a BYE in an early dialog)
  AlreadyEnding,  // 200 at once: the other side's BYE is already on its way
  Glare,          // 491: one INVITE at a time on a dialog (RFC 3261 14.2)
};
// `fromCaller`: the request came on leg A. `reinviteOpen`: a re-INVITE of this call has no
// final response yet.
InDialogAction inDialog(CallState state, InDialogMethod method, bool fromCaller, bool reinviteOpen);

}  // namespace sos::proxy
