#include "proxy/call_state.h"

namespace sos::proxy {

std::string_view toString(CallState s) {
  switch (s) {
    case CallState::Proceeding:
      return "proceeding";
    case CallState::Answered:
      return "answered";
    case CallState::Confirmed:
      return "confirmed";
    case CallState::Ending:
      return "ending";
    case CallState::Ended:
      return "ended";
  }
  return "?";
}

CallState transition(CallState state, CallEvent event) {
  if (state == CallState::Ended) return state;
  switch (event) {
    case CallEvent::AnswerRelayed:
      return state == CallState::Proceeding ? CallState::Answered : state;
    case CallEvent::CallerAcked:
      return state == CallState::Answered ? CallState::Confirmed : state;
    case CallEvent::Bye:
      return CallState::Ending;
    case CallEvent::Over:
      return CallState::Ended;
  }
  return state;
}

InDialogAction inDialog(CallState state, InDialogMethod method, bool fromCaller,
                        bool reinviteOpen) {
  if (state == CallState::Ended) return InDialogAction::NoDialog;
  switch (method) {
    case InDialogMethod::Bye:
      if (state == CallState::Proceeding && fromCaller) return InDialogAction::CancelInvite;
      if (state == CallState::Ending) return InDialogAction::AlreadyEnding;
      return InDialogAction::Relay;
    case InDialogMethod::Invite:
      if (state == CallState::Proceeding || state == CallState::Answered || reinviteOpen)
        return InDialogAction::Glare;
      return InDialogAction::Relay;
    case InDialogMethod::Other:
      return InDialogAction::Relay;
  }
  return InDialogAction::Relay;
}

}  // namespace sos::proxy
