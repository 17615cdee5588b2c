#pragma once
// What an alert says: the texts a responder receives for a call event, one function per
// channel's form. Pure, no I/O, callable from any thread; the notifier (notifier.h) only
// delivers them. Tier 1 is alerted of the event itself; a higher tier only by escalation, so
// its texts say that nobody has acknowledged the call yet (webhook "event": "escalation"), with
// the call's last known details. Caller-supplied text is kept on one line (no forged headers or
// alert lines) and invalid UTF-8 is replaced, never an exception.

#include <string>
#include <string_view>

#include "config/config.h"
#include "notify/event.h"

namespace sos::notify {

// The event name of an escalation, in webhook bodies and in the outbox's jobs.
inline constexpr std::string_view kEscalationEvent = "escalation";

std::string webhookJson(const CallEvent& e, int tier, const std::string& deliveryId);
std::string mailSubject(const CallEvent& e, int tier = 1);  // one line
std::string plainText(const CallEvent& e, int tier = 1);    // email body and SIP MESSAGE body

// The exact text a responder of `channel` receives: the webhook's JSON; an e-mail's subject
// line, a line feed, then its body; a SIP MESSAGE's body.
std::string alertText(config::Responder::Channel channel, const CallEvent& e, int tier,
                      const std::string& deliveryId);

}  // namespace sos::notify
