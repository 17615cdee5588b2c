// The dashboard's live emergency calls (live_calls.h).

#include "admin/live_calls.h"

#include <algorithm>

#include "admin/request_text.h"
#include "base/clock.h"

namespace sos::admin {
namespace {

using nlohmann::json;

// How far a call has come: a later event never takes it back.
int rank(const std::string& state) {
  if (state == "answered") return 2;
  if (state == "ended" || state == "refused") return 3;
  if (state.empty()) return 0;
  return 1;  // ringing, callback
}

bool over(const std::string& state) { return rank(state) == 3; }

// `later`'s fields over `known`'s, except where it has none.
void merge(LiveCallEvent& known, const LiveCallEvent& later) {
  auto take = [](std::string& into, const std::string& from) {
    if (!from.empty()) into = from;
  };
  take(known.site, later.site);
  take(known.dialed, later.dialed);
  take(known.callerExtension, later.callerExtension);
  take(known.callerName, later.callerName);
  take(known.callbackNumber, later.callbackNumber);
  take(known.location, later.location);
  take(known.address, later.address);
  take(known.locationBy, later.locationBy);
  take(known.trunk, later.trunk);
  take(known.attempts, later.attempts);
  known.test = known.test || later.test;
}

bool mayFollow(const Principal& who) {
  return who.role == Role::SuperAdmin || who.role == Role::SiteAdmin || who.role == Role::Responder;
}

std::string message(std::string_view event, const json& data) {
  std::string text = "event: ";
  text += event;
  text += "\ndata: ";
  text += data.dump(-1, ' ', false, json::error_handler_t::replace);
  text += "\n\n";
  return text;
}

}  // namespace

LiveCalls::Call& LiveCalls::find(const std::string& callId, int64_t atMs) {
  auto [it, added] = calls_.try_emplace(callId);
  if (added) {
    it->second.known.callId = callId;
    it->second.startedAtMs = atMs;
    // What was reported of it before it appeared.
    if (auto e = early_.find(callId); e != early_.end()) {
      for (const LiveDelivery& d : e->second.deliveries) addDelivery(it->second, d);
      if (!e->second.acknowledgedBy.empty()) {
        addAcknowledgement(it->second, e->second.acknowledgedBy, e->second.acknowledgedAtMs);
      }
      early_.erase(e);
    }
  }
  return it->second;
}

LiveCalls::Early& LiveCalls::hold(const std::string& callId) {
  auto [it, added] = early_.try_emplace(callId);
  if (added) earlyOrder_.push_back(callId);
  // The oldest go first (a call that never appears); ids whose call appeared are dropped as
  // they reach the front, and the order never holds more than twice the cap.
  while (!earlyOrder_.empty() && earlyOrder_.front() != callId &&
         (early_.size() > kEarlyKept || earlyOrder_.size() > 2 * kEarlyKept ||
          early_.count(earlyOrder_.front()) == 0)) {
    early_.erase(earlyOrder_.front());
    earlyOrder_.pop_front();
  }
  return early_[callId];
}

void LiveCalls::changed(const std::string& callId, Call& c, int64_t atMs) {
  c.updatedAtMs = std::max(c.updatedAtMs, atMs);
  dirty_.insert(callId);
}

void LiveCalls::ended(const std::string& callId) {
  endedOrder_.push_back(callId);
  trim();
}

void LiveCalls::trim() {
  while (endedOrder_.size() > settings_.keepEnded) {
    calls_.erase(endedOrder_.front());
    endedOrder_.pop_front();
  }
  // Calls whose end never came (an event lost): the oldest goes first.
  while (calls_.size() > endedOrder_.size() + settings_.maxInProgress) {
    auto oldest = calls_.end();
    for (auto it = calls_.begin(); it != calls_.end(); ++it) {
      if (!over(it->second.state) &&
          (oldest == calls_.end() || it->second.startedAtMs < oldest->second.startedAtMs)) {
        oldest = it;
      }
    }
    if (oldest == calls_.end()) break;
    calls_.erase(oldest);
  }
}

void LiveCalls::event(const LiveCallEvent& e) {
  counters_.events.fetch_add(1, std::memory_order_relaxed);
  if (e.callId.empty()) return;
  Call& c = find(e.callId, e.atMs);
  const bool wasOver = over(c.state);
  merge(c.known, e);
  std::string state;
  std::string line;
  if (e.kind == "started") {
    state = "ringing";
    line = "routed to " + e.trunk + " (location " + e.location + ", found by " + e.locationBy + ")";
  } else if (e.kind == "callback") {
    state = "callback";
    line = "PSAP callback: " + e.detail;
  } else if (e.kind == "answered") {
    state = "answered";
    if (c.answeredAtMs == 0) c.answeredAtMs = e.atMs;
    line = "answered by " + c.known.trunk;
  } else if (e.kind == "failed_over") {
    line = "failed over: " + e.detail;
  } else if (e.kind == "ended") {
    state = "ended";
    if (c.outcome.empty()) c.outcome = e.detail;
    line = "ended (" + e.detail + ")";
  } else if (e.kind == "refused") {
    state = "refused";
    c.outcome = "refused";
    line = e.detail;
  } else {
    line = e.kind + ": " + e.detail;
  }
  if (!state.empty() && rank(state) >= rank(c.state)) c.state = state;
  if (over(c.state) && c.endedAtMs == 0) c.endedAtMs = e.atMs;
  c.story.push_back(std::to_string(e.atMs) + " " + line);
  changed(e.callId, c, e.atMs);
  if (over(c.state) && !wasOver) ended(e.callId);
}

void LiveCalls::delivery(const std::string& callId, const LiveDelivery& d) {
  auto it = calls_.find(callId);
  if (it == calls_.end()) {
    // Its first event comes with the next pump (every 100 ms); its alerts may go out sooner.
    hold(callId).deliveries.push_back(d);
    return;
  }
  addDelivery(it->second, d);
  changed(callId, it->second, unixMsNow());
}

void LiveCalls::addDelivery(Call& c, const LiveDelivery& d) {
  c.alerted = true;
  auto [slot, added] = c.deliveries.try_emplace(d.job, d);
  if (!added) {
    // A report never takes a delivered job back.
    if (slot->second.state != "delivered") slot->second = d;
  }
  if (d.tier > c.escalatedTier) {
    c.escalatedTier = d.tier;
    c.story.push_back(std::to_string(unixMsNow()) + " not acknowledged: alerting tier " +
                      std::to_string(d.tier));
  }
}

void LiveCalls::acknowledged(const std::string& callId, const std::string& by, int64_t atMs) {
  auto it = calls_.find(callId);
  if (it == calls_.end()) {
    Early& e = hold(callId);
    if (e.acknowledgedBy.empty()) {
      e.acknowledgedBy = by;
      e.acknowledgedAtMs = atMs;
    }
    return;
  }
  if (addAcknowledgement(it->second, by, atMs)) changed(callId, it->second, atMs);
}

bool LiveCalls::addAcknowledgement(Call& c, const std::string& by, int64_t atMs) {
  if (!c.acknowledgedBy.empty()) return false;  // the first acknowledgement is the one kept
  c.alerted = true;
  c.acknowledgedBy = by;
  c.acknowledgedAtMs = atMs;
  c.story.push_back(std::to_string(atMs) + " acknowledged by " + by);
  return true;
}

void LiveCalls::record(const store::CallRecord& r) {
  auto it = calls_.find(r.callId);
  if (it == calls_.end()) {
    if (!r.emergency) return;
    // An emergency call that reached no trunk has no event: its record is all there is.
    LiveCallEvent e;
    e.callId = r.callId;
    e.atMs = r.startedAtMs;
    e.test = r.test;
    e.site = r.site;
    e.dialed = r.dialed;
    e.callerExtension = r.caller;
    e.location = r.location;
    e.locationBy = r.locationBy;
    e.trunk = r.trunk;
    Call& c = find(r.callId, r.startedAtMs);
    c.known = e;
    it = calls_.find(r.callId);
  }
  Call& c = it->second;
  const bool wasOver = over(c.state);
  if (!r.attempts.empty()) c.known.attempts = r.attempts;
  if (!r.trunk.empty()) c.known.trunk = r.trunk;
  c.outcome = r.outcome;
  c.status = r.status;
  if (r.outcome == "answered") {
    if (rank(c.state) < 2) c.state = "answered";
    if (c.answeredAtMs == 0) c.answeredAtMs = r.endedAtMs;
  } else if (!wasOver) {
    c.state = "ended";
    c.endedAtMs = r.endedAtMs;
  }
  c.story.push_back(std::to_string(r.endedAtMs) + " INVITE " + r.outcome + " " +
                    std::to_string(r.status) + (r.reason.empty() ? "" : " (" + r.reason + ")") +
                    "; attempts: " + r.attempts);
  changed(r.callId, c, r.endedAtMs);
  if (over(c.state) && !wasOver) ended(r.callId);
}

void LiveCalls::seed(const LiveCallEvent& e, const store::CallRecord& r,
                     const std::optional<store::CallAlert>& alert,
                     const std::vector<store::NotificationJob>& jobs) {
  if (calls_.count(r.callId) != 0) return;
  Call& c = find(r.callId, r.startedAtMs);
  c.known = e;
  c.known.callId = r.callId;
  if (c.known.attempts.empty()) c.known.attempts = r.attempts;
  if (c.known.trunk.empty()) c.known.trunk = r.trunk;
  // A call of an earlier run is over: the process that carried it has gone.
  c.state = "ended";
  c.outcome = r.outcome;
  c.status = r.status;
  c.endedAtMs = r.endedAtMs;
  c.updatedAtMs = r.endedAtMs;
  c.story.push_back(std::to_string(r.endedAtMs) + " INVITE " + r.outcome + " " +
                    std::to_string(r.status) + "; attempts: " + r.attempts +
                    " (before sosproxy last started)");
  if (alert) {
    c.alerted = true;
    c.escalatedTier = alert->escalatedTier;
    c.acknowledgedBy = alert->acknowledgedBy;
    c.acknowledgedAtMs = alert->acknowledgedAtMs;
  }
  for (const auto& j : jobs) {
    c.alerted = true;
    c.deliveries[j.id] = LiveDelivery{
        j.id,       j.event,    j.tier,
        j.channel,  j.target,   j.state == "pending" && j.attempts > 0 ? "retrying" : j.state,
        j.attempts, j.lastError};
  }
  ended(r.callId);
}

json LiveCalls::callJson(const std::string& callId, const Call& c) const {
  const LiveCallEvent& k = c.known;
  json alerts{{"pending", 0}, {"retrying", 0}, {"delivered", 0}, {"given_up", 0}};
  json deliveries = json::array();
  for (const auto& [job, d] : c.deliveries) {
    if (alerts.contains(d.state)) alerts[d.state] = alerts[d.state].get<int>() + 1;
    deliveries.push_back({{"event", d.event},
                          {"tier", d.tier},
                          {"channel", d.channel},
                          {"target", d.target},
                          {"state", d.state},
                          {"attempts", d.attempts},
                          {"last_error", d.lastError}});
  }
  return json{
      {"call_id", callId},
      {"site", k.site},
      {"dialed", k.dialed},
      {"test", k.test},
      {"caller", {{"extension", k.callerExtension}, {"name", k.callerName}}},
      {"callback_number", k.callbackNumber},
      {"location", {{"name", k.location}, {"address", k.address}, {"found_by", k.locationBy}}},
      {"trunk", k.trunk},
      {"attempts", k.attempts},
      {"state", c.state},
      {"in_progress", !over(c.state)},
      {"outcome", c.outcome},
      {"status", c.status},
      {"started_at_ms", c.startedAtMs},
      {"answered_at_ms", msOrNull(c.answeredAtMs)},
      {"ended_at_ms", msOrNull(c.endedAtMs)},
      {"updated_at_ms", c.updatedAtMs},
      {"story", c.story},
      {"alerted", c.alerted},
      {"alerts", alerts},
      {"deliveries", deliveries},
      {"escalated_tier", c.escalatedTier},
      {"acknowledged_by", c.acknowledgedBy.empty() ? json(nullptr) : json(c.acknowledgedBy)},
      {"acknowledged_at_ms", msOrNull(c.acknowledgedAtMs)}};
}

json LiveCalls::snapshotJson(const Principal& who, int64_t nowMs) const {
  std::vector<std::pair<const std::string*, const Call*>> shown;
  for (const auto& [id, c] : calls_) {
    if (who.coversSite(c.known.site)) shown.emplace_back(&id, &c);
  }
  // Newest first.
  std::sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) {
    return a.second->startedAtMs > b.second->startedAtMs;
  });
  json calls = json::array();
  for (const auto& [id, c] : shown) calls.push_back(callJson(*id, *c));
  return json{{"at_ms", nowMs},
              {"calls", calls},
              {"trunks", trunks_ ? trunks_() : json::array()},
              {"events_lost", counters_.eventsLost.load(std::memory_order_relaxed)},
              {"slow_client_drops", counters_.slowClientDrops.load(std::memory_order_relaxed)}};
}

HttpResponse LiveCalls::snapshot(const Principal& who, int64_t nowMs) const {
  if (!mayFollow(who)) return jsonError(403, "the live calls are for admins and responders");
  return HttpResponse{200, "application/json", jsonText(snapshotJson(who, nowMs)), {}};
}

HttpResponse LiveCalls::openStream(const Principal& who, std::function<bool()> stillSignedIn) {
  if (!mayFollow(who)) return jsonError(403, "the live calls are for admins and responders");
  if (streams_.size() >= settings_.maxStreams) {
    return jsonError(503, "too many dashboards follow the calls now (" +
                              std::to_string(settings_.maxStreams) + ")");
  }
  HttpResponse out{200, "text/event-stream", "", {}};
  out.headers = {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  out.stream = [this, who, check = std::move(stillSignedIn)](std::shared_ptr<EventStream> s) {
    counters_.streamsOpened.fetch_add(1, std::memory_order_relaxed);
    streams_.push_back(Stream{who, std::move(s), check, 0, 0, true});
    counters_.streams.store(streams_.size(), std::memory_order_relaxed);
    // The browser reconnects by itself 1 s after the connection breaks (sosproxy restarted, a
    // proxy in between timed it out): the safety desk's page is back within a second or two.
    Stream& added = streams_.back();
    const int64_t now = unixMsNow();
    if (added.out->send("retry: 1000\n\n")) added.lastSentMs = now;
    added.lastCheckedMs = now;
    if (sendTo(added, message("snapshot", snapshotJson(who, now)), now)) {
      added.needsSnapshot = false;
    }
  };
  return out;
}

bool LiveCalls::sendTo(Stream& s, std::string text, int64_t nowMs) {
  if (s.out->send(std::move(text))) {
    s.lastSentMs = nowMs;
    return true;
  }
  if (!s.out->ended()) {
    counters_.slowClientDrops.fetch_add(1, std::memory_order_relaxed);
    s.needsSnapshot = true;
  }
  return false;
}

void LiveCalls::flush(int64_t nowMs) {
  std::erase_if(streams_, [](const Stream& s) { return s.out->ended(); });
  counters_.streams.store(streams_.size(), std::memory_order_relaxed);
  if (resyncAll_) {
    for (auto& s : streams_) s.needsSnapshot = true;
    resyncAll_ = false;
  }
  if (streams_.empty()) {  // nobody watching: a stream that comes starts with a snapshot
    dirty_.clear();
    trunksDirty_ = false;
    return;
  }
  // Each changed call's JSON once, with the site that decides who sees it.
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& id : dirty_) {
    auto it = calls_.find(id);
    if (it == calls_.end()) continue;
    rows.emplace_back(
        it->second.known.site,
        callJson(id, it->second).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  dirty_.clear();
  std::string trunks;
  if (trunksDirty_ && trunks_) trunks = message("trunks", json{{"trunks", trunks_()}});
  trunksDirty_ = false;

  for (auto& s : streams_) {
    if (nowMs - s.lastCheckedMs >= settings_.keepaliveMs) {
      s.lastCheckedMs = nowMs;
      if (s.stillSignedIn && !s.stillSignedIn()) {
        s.out->send(message("signed-out", json::object()));
        s.out->end();
        continue;
      }
    }
    if (s.needsSnapshot) {
      if (sendTo(s, message("snapshot", snapshotJson(s.who, nowMs)), nowMs)) {
        s.needsSnapshot = false;
      }
      continue;  // the snapshot holds the changes
    }
    std::string calls;
    for (const auto& [site, row] : rows) {
      if (!s.who.coversSite(site)) continue;
      calls += calls.empty() ? "" : ",";
      calls += row;
    }
    if (!calls.empty()) {
      sendTo(s,
             "event: calls\ndata: {\"at_ms\":" + std::to_string(nowMs) + ",\"calls\":[" + calls +
                 "]}\n\n",
             nowMs);
    }
    if (!trunks.empty()) sendTo(s, trunks, nowMs);
    if (nowMs - s.lastSentMs >= settings_.keepaliveMs) sendTo(s, ": keepalive\n\n", nowMs);
  }
  std::erase_if(streams_, [](const Stream& s) { return s.out->ended(); });
  counters_.streams.store(streams_.size(), std::memory_order_relaxed);
}

}  // namespace sos::admin
