#pragma once
// The dashboard's live emergency calls (issue 18): the emergency calls in progress and the most
// recent ones, each with its caller, the location sent, the PSAP trunk, its attempts, its alert
// deliveries and its acknowledgement; and the browsers that follow them as they change, over
// Server-Sent Events. Runs on the I/O thread, like the rest of admin/.
//
//   GET /api/v1/events           text/event-stream. First `snapshot` (every call the token may
//                                see and every trunk), then `calls` with the calls that changed
//                                (at most one message per flush, every 100 ms), `trunks` when a
//                                trunk changed, a comment every 15 s; `signed-out` and the end
//                                when the token or the session is no longer in force.
//   GET /api/v1/dashboard/calls  the same snapshot as one JSON answer
// super-admin: every call; site-admin and responder: their sites' calls (trunks: all, as
// /api/v1/trunks shows them); other roles: 403.
//
// What a call's SIP side says reaches this class through the proxy (proxy/live_feed.h: a
// bounded queue the SIP thread never waits on); its alerts from the notifier; its record from
// the store's writer. A browser that does not keep up (EventStream::kMaxBacklog bytes not taken)
// misses the messages it cannot take, counted, and gets a fresh snapshot once it can.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "store/call_record.h"
#include "store/notification_job.h"

namespace sos::admin {

// One moment of an emergency call, as the SIP side saw it (a notify::CallEvent, translated by
// the proxy: admin/ knows nothing of notify/).
struct LiveCallEvent {
  // "started" (routed: its INVITE left toward a PSAP trunk), "answered", "failed_over",
  // "ended", "callback" (a PSAP called an ELIN back), "refused" (an emergency call from an
  // untrusted source, refused at the edge)
  std::string kind;
  std::string callId;
  int64_t atMs = 0;
  bool test = false;
  std::string site;
  std::string dialed;
  std::string callerExtension;
  std::string callerName;
  std::string callbackNumber;
  std::string location;    // its name: "HQ Floor 2"
  std::string address;     // the dispatchable address sent, one line
  std::string locationBy;  // how it was found
  std::string trunk;       // the PSAP trunk tried now
  std::string detail;      // failed_over: why; ended: the outcome; callback: whom it reached
  std::string attempts;    // the trunks tried so far with their results ("il-psap-a:503")
};

// One alert job of a call (one responder, one event), as the notifier last left it.
struct LiveDelivery {
  int64_t job = 0;      // the outbox's id (negative: kept in memory only)
  std::string event{};  // "started", "escalation", ...
  int tier = 1;
  std::string channel{};  // webhook, email, sip
  std::string target{};
  std::string state{};  // "pending", "retrying", "delivered", "given_up"
  int attempts = 0;
  std::string lastError{};
};

struct LiveCounters {
  std::atomic<uint64_t> events{0};  // call events taken
  // Call events the SIP thread could not hand over (its queue was full); set by the proxy.
  std::atomic<uint64_t> eventsLost{0};
  // Messages a browser could not take (its backlog was full): it gets a snapshot instead.
  std::atomic<uint64_t> slowClientDrops{0};
  std::atomic<uint64_t> streamsOpened{0};
  std::atomic<uint64_t> streams{0};  // gauge: open now
};

class LiveCalls {
 public:
  struct Settings {
    size_t keepEnded = 100;       // ended calls kept (the most recent)
    size_t maxInProgress = 5000;  // beyond it, the oldest call still in progress is dropped
    size_t maxStreams = 64;       // open streams at most (503 beyond)
    int64_t keepaliveMs = 15000;  // a comment after this long without a message
  };
  LiveCalls() : LiveCalls(Settings{}) {}
  explicit LiveCalls(Settings settings) : settings_(settings) {}
  LiveCalls(const LiveCalls&) = delete;
  LiveCalls& operator=(const LiveCalls&) = delete;

  static constexpr std::string_view kEventsPath = "/api/v1/events";
  static constexpr std::string_view kCallsPath = "/api/v1/dashboard/calls";

  // The trunks' JSON array as /api/v1/trunks answers it ({"trunks": [...]}'s value), for
  // snapshots and `trunks` messages. Without it, snapshots carry no trunks.
  void setTrunks(std::function<nlohmann::json()> trunks) { trunks_ = std::move(trunks); }

  // ---- What happens to calls ----
  void event(const LiveCallEvent& e);
  // A call's alert job was written or changed state.
  void delivery(const std::string& callId, const LiveDelivery& d);
  void acknowledged(const std::string& callId, const std::string& by, int64_t atMs);
  // The call's record, once its INVITE had an outcome: its attempts and outcome. Only an
  // emergency call's counts; one not seen before (it failed before reaching a trunk) is added.
  void record(const store::CallRecord& r);
  // A call of an earlier run (from the store), shown among the recent ones.
  void seed(const LiveCallEvent& e, const store::CallRecord& r,
            const std::optional<store::CallAlert>& alert,
            const std::vector<store::NotificationJob>& jobs);
  // A trunk changed: every stream gets the trunks again at the next flush.
  void trunksChanged() { trunksDirty_ = true; }
  // The SIP thread dropped call events (counted in eventsLost): every stream gets a fresh
  // snapshot, which says how many were lost.
  void eventsLost() { resyncAll_ = true; }

  // ---- Who follows them ----
  // GET /api/v1/events for `who`. `stillSignedIn` is asked at each keepalive: false ends the
  // stream (a revoked token, a session signed out or ended).
  HttpResponse openStream(const Principal& who, std::function<bool()> stillSignedIn);
  // GET /api/v1/dashboard/calls.
  HttpResponse snapshot(const Principal& who, int64_t nowMs) const;
  // Sends what changed since the last flush to every stream that may see it; keepalives; drops
  // the streams that have ended. Called every 100 ms by the proxy.
  void flush(int64_t nowMs);

  const LiveCounters& counters() const { return counters_; }
  LiveCounters& counters() { return counters_; }
  size_t calls() const { return calls_.size(); }

 private:
  struct Call {
    LiveCallEvent known;  // the last known details (a later event's fields over earlier ones)
    std::string state;    // "ringing", "answered", "ended", "refused", "callback"
    std::string outcome;  // the INVITE's outcome (the record's), or how it ended
    int status = 0;
    int64_t startedAtMs = 0;
    int64_t answeredAtMs = 0;
    int64_t endedAtMs = 0;
    int64_t updatedAtMs = 0;
    std::vector<std::string> story;  // "12:00:01 failed over: il-psap-a: 503; trying il-psap-b"
    std::map<int64_t, LiveDelivery> deliveries;
    bool alerted = false;
    int escalatedTier = 1;
    std::string acknowledgedBy;
    int64_t acknowledgedAtMs = 0;
  };
  struct Stream {
    Principal who;
    std::shared_ptr<EventStream> out;
    std::function<bool()> stillSignedIn;
    int64_t lastSentMs = 0;
    int64_t lastCheckedMs = 0;  // when stillSignedIn was last asked
    bool needsSnapshot = true;  // after a message it could not take
  };

  // Alert deliveries and an acknowledgement reported for a call not seen yet: its first event
  // reaches LiveCalls with the next pump, every 100 ms, and its alerts may be delivered sooner.
  // Applied when the call appears; at most kEarlyKept calls' worth, the oldest dropped first.
  struct Early {
    std::vector<LiveDelivery> deliveries;
    std::string acknowledgedBy;
    int64_t acknowledgedAtMs = 0;
  };
  static constexpr size_t kEarlyKept = 256;

  Call& find(const std::string& callId, int64_t atMs);
  Early& hold(const std::string& callId);
  static void addDelivery(Call& c, const LiveDelivery& d);
  static bool addAcknowledgement(Call& c, const std::string& by, int64_t atMs);
  void changed(const std::string& callId, Call& c, int64_t atMs);
  void ended(const std::string& callId);
  void trim();
  nlohmann::json callJson(const std::string& callId, const Call& c) const;
  nlohmann::json snapshotJson(const Principal& who, int64_t nowMs) const;
  // Sends `text` to `s`; on a full backlog, counts it and asks for a snapshot later.
  bool sendTo(Stream& s, std::string text, int64_t nowMs);

  Settings settings_;
  LiveCounters counters_;
  std::function<nlohmann::json()> trunks_;
  std::map<std::string, Call> calls_;   // by the caller's Call-ID
  std::deque<std::string> endedOrder_;  // oldest first
  std::set<std::string> dirty_;         // changed since the last flush
  std::map<std::string, Early> early_;  // by Call-ID, of calls not seen yet
  std::deque<std::string> earlyOrder_;  // early_'s ids, oldest first (some already applied)
  bool trunksDirty_ = false;
  bool resyncAll_ = false;
  std::vector<Stream> streams_;
};

}  // namespace sos::admin
