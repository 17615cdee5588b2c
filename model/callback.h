#pragma once
// Who used an ELIN, and until when a PSAP calling it back reaches them (issue 4). Plain values:
// routing/ (ElinAllocator, CallbackMap) decides them, store/ keeps them across restarts.

#include <cstdint>
#include <string>

namespace sos::model {

struct CallerIdentity {
  std::string extension;  // "1001"; empty for an unknown caller
  std::string did;        // "+12175551001"
  std::string contact;    // the Contact URI of the emergency INVITE
  std::string callId;     // of the emergency call, to tie a callback to it in the logs
};

struct CallbackTarget {
  CallerIdentity caller;
  std::string elin;  // as configured, E.164 ("+12175550131")
  int64_t assignedAtMs = 0;
  int64_t expiresAtMs = 0;  // exclusive: the mapping is live while now < expiresAtMs
};

}  // namespace sos::model
