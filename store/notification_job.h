#pragma once
// The outbox of responder alerts (issue 6) as plain values: one job per responder and event,
// and one alert per emergency call for its escalation and acknowledgement. store/ only keeps
// them; notify/ decides what they say and when they are tried.

#include <cstdint>
#include <string>

namespace sos::store {

// One delivery to one responder: everything needed to send it again after a restart, without
// the event it came from.
struct NotificationJob {
  int64_t id = 0;          // given by the store when the job is written
  std::string deliveryId;  // unique, the same on every attempt: receivers drop repeats by it
  std::string callId;
  std::string event;    // "started", "answered", "ended", "failed_over", "callback", "escalation"
  int tier = 1;         // the responders' tier it went to
  std::string channel;  // "webhook", "email", "sip"
  std::string target;   // URL, e-mail address or SIP URI
  // The exact text to deliver: the JSON of a webhook, the SIP MESSAGE body, or an e-mail's
  // subject line, a line feed, then its body.
  std::string payload;
  std::string state = "pending";  // "pending", "delivered", "given_up"
  int attempts = 0;               // attempts that have had their outcome
  int64_t nextAttemptAtMs = 0;    // Unix ms; a pending job is tried from then on
  int64_t createdAtMs = 0;
  int64_t deliveredAtMs = 0;  // 0 until delivered
  std::string lastError;      // why the latest failed attempt failed
  bool test = false;          // a test call's
  // The node working the job (store.node_name) and until when its claim holds unless renewed
  // (Unix ms): past it, another node sharing the database takes the job over. "" and 0: none.
  std::string claimedBy;
  int64_t leaseUntilMs = 0;
};

// One emergency call whose responders were alerted: when its next tier is due, which tier was
// alerted last, and who acknowledged it.
struct CallAlert {
  std::string callId;
  std::string site;
  int64_t firstEventAtMs = 0;
  int64_t escalateAtMs = 0;  // Unix ms; 0: no further escalation
  int escalatedTier = 1;     // the highest tier alerted so far
  std::string acknowledgedBy;
  int64_t acknowledgedAtMs = 0;  // 0: not acknowledged
  // The call's last known details, opaque to the store (the notifier's JSON of its event), so
  // that an escalation after a restart says what the first alerts said.
  std::string details;
  // The node that escalates the call (store.node_name) and until when its claim holds, as for
  // a job.
  std::string claimedBy;
  int64_t leaseUntilMs = 0;
};

// Which pending jobs, and unacknowledged alerts with a tier still to alert, a claim takes for
// `node` (Store::claimNotificationJobs, Store::claimEscalations).
enum class ClaimScope {
  Everything,    // all of them: a node alone on its database (SQLite), at start
  OwnOrExpired,  // its own, those nobody claimed, and those whose lease has run out: a node
                 // starting among others
  Expired,       // those nobody claimed or whose lease has run out: a node that died
};
struct OutboxClaim {
  std::string node;
  int64_t nowMs = 0;         // leases that end by now have run out
  int64_t leaseUntilMs = 0;  // the lease of what is claimed
  ClaimScope scope = ClaimScope::Expired;
};

}  // namespace sos::store
