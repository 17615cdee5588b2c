#pragma once
// What happened to an emergency call, as plain values: the B2BUA (SIP thread) builds one per
// event and hands it to the notifier on the I/O thread, which keeps its stored form with the
// call's alert. Nothing here knows Sofia or SQLite.

#include <cstdint>
#include <string>
#include <string_view>

namespace sos::notify {

enum class EventKind {
  Started,     // the emergency call was routed: its INVITE left toward a PSAP trunk
  Answered,    // the PSAP answered
  Ended,       // the call is over (hung up, failed or cancelled)
  FailedOver,  // the call moved to the next trunk of its route
  Callback,    // a PSAP called an ELIN back
  // Not a call of anybody's (issue 21): a PSAP trunk failed the site's scheduled test call twice
  // in a row. `trunk` is the trunk, `dialed` its test destination, `detail` the last failure;
  // the event is flagged `test`.
  TestCallFailed,
};

std::string_view toString(EventKind k);  // "started", "answered", "ended", "failed_over",
                                         // "callback", "test_call_failed"

struct CallEvent {
  EventKind kind = EventKind::Started;
  std::string callId;           // the caller's Call-ID: one call, many events
  int64_t atMs = 0;             // Unix time, milliseconds
  bool test = false;            // a test call (933, urn:service:test.sos): flagged everywhere
  std::string site;             // the caller's site: its responders are alerted
  std::string dialed;           // "911", "urn:service:sos"
  std::string callerExtension;  // "1001"
  std::string callerName;       // "Alice Smith", may be empty
  std::string callbackNumber;   // what the PSAP calls back: the ELIN sent, else the caller's DID
  std::string location;         // "HQ Floor 2"
  std::string address;          // the dispatchable location sent to the PSAP, one line with
                                // floor and room: "100 Main St, FLR 2, Springfield, IL 62701, US"
  std::string locationBy;       // how it was found: "subnet 10.1.2.0/24 (Contact 10.1.2.45)"
  std::string trunk;            // the PSAP trunk (for FailedOver: the one the call moved to)
  std::string detail;           // FailedOver: why; Ended: outcome; Callback: who it reached
  std::string attempts;         // the trunks tried so far with their results ("il-psap-a:503"), for
                                // the dashboard; not kept with the alert
};

// The event as stored with its call's alert (call_alerts.details), so that an escalation, even
// after a restart, carries the call's last known details. eventFromJson never throws: details
// that cannot be read leave the fields empty ("unknown" in the texts).
std::string eventToJson(const CallEvent& e);
CallEvent eventFromJson(const std::string& text, const std::string& callId);

// The call's last known details: a later event's fields over the earlier ones, except where it
// has none (an Ended event may not repeat the location).
CallEvent merged(CallEvent known, const CallEvent& later);

}  // namespace sos::notify
