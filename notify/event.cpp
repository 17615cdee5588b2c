#include "notify/event.h"

#include <nlohmann/json.hpp>

#include "notify/json_text.h"

namespace sos::notify {

namespace {
using Json = nlohmann::ordered_json;
}  // namespace

std::string_view toString(EventKind k) {
  switch (k) {
    case EventKind::Started:
      return "started";
    case EventKind::Answered:
      return "answered";
    case EventKind::Ended:
      return "ended";
    case EventKind::FailedOver:
      return "failed_over";
    case EventKind::Callback:
      return "callback";
    case EventKind::TestCallFailed:
      return "test_call_failed";
  }
  return "unknown";  // not reached: every kind is named above (-Wswitch keeps it so)
}

std::string eventToJson(const CallEvent& e) {
  Json j;
  j["kind"] = std::string(toString(e.kind));
  j["call_id"] = e.callId;
  j["at_ms"] = e.atMs;
  j["test"] = e.test;
  j["site"] = e.site;
  j["dialed"] = e.dialed;
  j["caller_extension"] = e.callerExtension;
  j["caller_name"] = e.callerName;
  j["callback_number"] = e.callbackNumber;
  j["location"] = e.location;
  j["address"] = e.address;
  j["location_by"] = e.locationBy;
  j["trunk"] = e.trunk;
  j["detail"] = e.detail;
  return compactJson(j);
}

CallEvent eventFromJson(const std::string& text, const std::string& callId) {
  CallEvent e;
  e.callId = callId;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return e;
  }
  auto str = [&](const char* key, std::string& into) {
    if (auto it = j.find(key); it != j.end() && it->is_string()) {
      into = it->get<std::string>();
    }
  };
  for (EventKind k : {EventKind::Started, EventKind::Answered, EventKind::Ended,
                      EventKind::FailedOver, EventKind::Callback, EventKind::TestCallFailed}) {
    if (j.value("kind", "") == toString(k)) {
      e.kind = k;
    }
  }
  if (auto it = j.find("at_ms"); it != j.end() && it->is_number_integer()) {
    e.atMs = it->get<int64_t>();
  }
  if (auto it = j.find("test"); it != j.end() && it->is_boolean()) {
    e.test = it->get<bool>();
  }
  str("site", e.site);
  str("dialed", e.dialed);
  str("caller_extension", e.callerExtension);
  str("caller_name", e.callerName);
  str("callback_number", e.callbackNumber);
  str("location", e.location);
  str("address", e.address);
  str("location_by", e.locationBy);
  str("trunk", e.trunk);
  str("detail", e.detail);
  return e;
}

CallEvent merged(CallEvent known, const CallEvent& later) {
  known.kind = later.kind;
  known.atMs = later.atMs;
  known.test = known.test || later.test;
  for (auto member :
       {&CallEvent::site, &CallEvent::dialed, &CallEvent::callerExtension, &CallEvent::callerName,
        &CallEvent::callbackNumber, &CallEvent::location, &CallEvent::address,
        &CallEvent::locationBy, &CallEvent::trunk, &CallEvent::detail}) {
    if (!(later.*member).empty()) {
      known.*member = later.*member;
    }
  }
  return known;
}

}  // namespace sos::notify
