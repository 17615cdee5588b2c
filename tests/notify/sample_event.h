#pragma once
// The emergency call event the notify tests alert about: 1001 on HQ Floor 2 dials 911.

#include <string>

#include "notify/event.h"

namespace sos::notify::test {

inline CallEvent started(const std::string& callId = "1-4242@127.0.0.1") {
  CallEvent e;
  e.kind = EventKind::Started;
  e.callId = callId;
  e.atMs = 1700000000123;  // 2023-11-14T22:13:20.123Z
  e.site = "HQ";
  e.dialed = "911";
  e.callerExtension = "1001";
  e.callerName = "Alice Smith";
  e.callbackNumber = "+12175550102";
  e.location = "HQ Floor 2";
  e.address = "100 Main St, FLR 2, ROOM 210, Springfield, IL 62701, US";
  e.locationBy = "subnet 10.1.2.0/24 (Contact 10.1.2.45)";
  e.trunk = "il-psap-a";
  return e;
}

}  // namespace sos::notify::test
