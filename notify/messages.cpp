// The texts a responder receives (messages.h): pure functions of the event, no I/O.

#include "notify/messages.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/text.h"
#include "notify/json_text.h"

namespace sos::notify {
namespace {

using Json = nlohmann::ordered_json;

std::tm utc(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

// For people: "2023-11-14 22:13:20 UTC".
std::string readableTime(int64_t ms) {
  std::tm tm = utc(ms);
  char buffer[80];  // room for any int the compiler can imagine in each field
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

// Caller-supplied text on one line: a line break in a display name must not split a mail header
// or forge a line of the alert.
std::string oneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

std::string orUnknown(std::string_view s) { return s.empty() ? "unknown" : oneLine(s); }

// "Alice Smith (extension 1001)", "extension 1001" or "an unknown caller".
std::string callerOf(const CallEvent& e) {
  if (!e.callerName.empty() && !e.callerExtension.empty()) {
    return oneLine(e.callerName) + " (extension " + oneLine(e.callerExtension) + ")";
  }
  if (!e.callerName.empty()) {
    return oneLine(e.callerName);
  }
  return e.callerExtension.empty() ? "an unknown caller"
                                   : "extension " + oneLine(e.callerExtension);
}

// "the emergency call (911) of Alice Smith (extension 1001)"
std::string theCall(const CallEvent& e) {
  return "the emergency call" + (e.dialed.empty() ? "" : " (" + oneLine(e.dialed) + ")") + " of " +
         callerOf(e);
}

// A trunk that failed its scheduled test calls (issue 21): not a call of anybody's, so the
// lines say what failed, where and how to go on, not who called.
std::string testCallText(const CallEvent& e) {
  std::vector<std::string> lines{
      "TEST CALL - not a real emergency.",
      "PSAP TRUNK FAILING: trunk " + orUnknown(e.trunk) + " failed the scheduled test call of " +
          "site " + orUnknown(e.site) + " twice in a row.",
      std::string("Emergency calls routed to it move on to the next trunk of their route; ") +
          "have the trunk checked with its carrier or PSAP.",
      "Last failure: " + orUnknown(e.detail),
      "Test destination: " + orUnknown(e.dialed),
      "Location sent: " + orUnknown(e.location),
      "Site: " + orUnknown(e.site),
      "Time: " + readableTime(e.atMs),
      "Call-ID: " + orUnknown(e.callId)};
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

}  // namespace

std::string webhookJson(const CallEvent& e, int tier, const std::string& deliveryId) {
  Json j;
  j["event"] = tier > 1 ? std::string(kEscalationEvent) : std::string(toString(e.kind));
  j["call_id"] = e.callId;
  j["test"] = e.test;
  j["time"] = rfc3339(e.atMs);
  j["site"] = e.site;
  j["dialed"] = e.dialed;
  j["caller"] = {{"extension", e.callerExtension}, {"name", e.callerName}};
  j["callback_number"] = e.callbackNumber;
  j["location"] = {{"name", e.location}, {"address", e.address}, {"found_by", e.locationBy}};
  j["psap_trunk"] = e.trunk;
  j["detail"] = e.detail;
  j["tier"] = tier;
  j["delivery_id"] = deliveryId;
  return compactJson(j);
}

std::string mailSubject(const CallEvent& e, int tier) {
  std::string subject = e.test ? "[TEST] " : "";
  std::string call =
      "mergency call" + (e.dialed.empty() ? "" : " " + oneLine(e.dialed)) + " from " +
      (e.callerExtension.empty() ? orUnknown(e.callerName) : oneLine(e.callerExtension)) +
      (e.location.empty() ? "" : " (" + oneLine(e.location) + ")");
  if (tier > 1) {
    return subject + "NOT ACKNOWLEDGED: e" + call + " (tier " + std::to_string(tier) + ")";
  }
  switch (e.kind) {
    case EventKind::Started:
      return subject + "E" + call;
    case EventKind::Answered:
      return subject + "E" + call + ": answered by the PSAP";
    case EventKind::Ended:
      return subject + "E" + call + ": ended" +
             (e.detail.empty() ? "" : " (" + oneLine(e.detail) + ")");
    case EventKind::FailedOver:
      return subject + "E" + call + ": moved to PSAP trunk " + orUnknown(e.trunk);
    case EventKind::Callback:
      return subject + "PSAP callback" + (e.dialed.empty() ? "" : " to " + oneLine(e.dialed)) +
             (e.detail.empty() ? "" : ": " + oneLine(e.detail));
    case EventKind::TestCallFailed:
      return subject + "PSAP trunk " + orUnknown(e.trunk) +
             " failed its scheduled test call twice in a row (site " + orUnknown(e.site) + ")";
  }
  return subject + "E" + call;
}

std::string plainText(const CallEvent& e, int tier) {
  if (e.kind == EventKind::TestCallFailed) return testCallText(e);
  std::vector<std::string> lines;
  if (e.test) {
    lines.push_back("TEST CALL - not a real emergency.");
  }
  // The first line says what happened, so a glance is enough; Kari's Law wants that a 911 call
  // was made, the callback number and the location, which are the lines right after it.
  bool detailSaid = false;
  if (tier > 1) {
    lines.push_back("ESCALATION (tier " + std::to_string(tier) + "): nobody has acknowledged " +
                    theCall(e) + " yet.");
  } else {
    switch (e.kind) {
      case EventKind::Started:
        lines.push_back("EMERGENCY CALL: " + callerOf(e) + " dialed " + orUnknown(e.dialed) + ".");
        break;
      case EventKind::Answered:
        lines.push_back("The PSAP answered " + theCall(e) + ".");
        break;
      case EventKind::Ended:
        lines.push_back("Ended: " + theCall(e) +
                        (e.detail.empty() ? "." : " (" + oneLine(e.detail) + ")."));
        detailSaid = true;
        break;
      case EventKind::FailedOver:
        lines.push_back("Moved to PSAP trunk " + orUnknown(e.trunk) + ": " + theCall(e) +
                        (e.detail.empty() ? "." : " (" + oneLine(e.detail) + ")."));
        detailSaid = true;
        break;
      case EventKind::Callback:
        lines.push_back("PSAP CALLBACK" + (e.dialed.empty() ? "" : " to " + oneLine(e.dialed)) +
                        (e.detail.empty() ? "." : ": " + oneLine(e.detail)));
        detailSaid = true;
        break;
      case EventKind::TestCallFailed:  // testCallText(), above
        break;
    }
  }
  lines.push_back("Caller: " + (e.callerName.empty() ? "" : oneLine(e.callerName) + ", ") +
                  "extension " + orUnknown(e.callerExtension));
  lines.push_back("Callback number: " + orUnknown(e.callbackNumber));
  lines.push_back("Location: " + orUnknown(e.location));
  lines.push_back("Address: " + orUnknown(e.address));
  lines.push_back("Found by: " + orUnknown(e.locationBy));
  lines.push_back("PSAP trunk: " + orUnknown(e.trunk));
  if (!detailSaid && !e.detail.empty()) {
    lines.push_back("Detail: " + oneLine(e.detail));
  }
  lines.push_back("Site: " + orUnknown(e.site));
  lines.push_back("Time: " + readableTime(e.atMs));
  lines.push_back("Call-ID: " + orUnknown(e.callId));
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

std::string alertText(config::Responder::Channel channel, const CallEvent& e, int tier,
                      const std::string& deliveryId) {
  switch (channel) {
    case config::Responder::Channel::Webhook:
      return webhookJson(e, tier, deliveryId);
    case config::Responder::Channel::Email:
      return mailSubject(e, tier) + "\n" + plainText(e, tier);
    case config::Responder::Channel::Sip:
      return plainText(e, tier);
  }
  return plainText(e, tier);
}

}  // namespace sos::notify
