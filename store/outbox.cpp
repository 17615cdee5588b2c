// Store: the outbox of responder alerts (migration 5). Jobs and call alerts are plain rows here;
// what they say and when they are tried is notify/'s business. Every value is bound.

#include "store/store.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/db.h"

namespace sos::store {
namespace {

constexpr const char* kJobColumns =
    "id, delivery_id, call_id, event, tier, channel, target, payload, state, attempts, "
    "next_attempt_at, created_at, delivered_at, last_error, test, claimed_by, lease_until";

NotificationJob readJob(const Statement& s) {
  NotificationJob j;
  j.id = s.columnInt(0);
  j.deliveryId = s.columnText(1);
  j.callId = s.columnText(2);
  j.event = s.columnText(3);
  j.tier = static_cast<int>(s.columnInt(4));
  j.channel = s.columnText(5);
  j.target = s.columnText(6);
  j.payload = s.columnText(7);
  j.state = s.columnText(8);
  j.attempts = static_cast<int>(s.columnInt(9));
  j.nextAttemptAtMs = s.columnInt(10);
  j.createdAtMs = s.columnInt(11);
  j.deliveredAtMs = s.columnInt(12);
  j.lastError = s.columnText(13);
  j.test = s.columnInt(14) != 0;
  j.claimedBy = s.columnText(15);
  j.leaseUntilMs = s.columnInt(16);
  return j;
}

constexpr const char* kAlertColumns =
    "call_id, site, first_event_at, escalate_at, escalated_tier, acknowledged_by, "
    "acknowledged_at, details, claimed_by, lease_until";

CallAlert readAlert(const Statement& s) {
  CallAlert a;
  a.callId = s.columnText(0);
  a.site = s.columnText(1);
  a.firstEventAtMs = s.columnInt(2);
  a.escalateAtMs = s.columnInt(3);
  a.escalatedTier = static_cast<int>(s.columnInt(4));
  a.acknowledgedBy = s.columnText(5);
  a.acknowledgedAtMs = s.columnInt(6);
  a.details = s.columnText(7);
  a.claimedBy = s.columnText(8);
  a.leaseUntilMs = s.columnInt(9);
  return a;
}

// Times of 0 mean "none" in the value types and NULL in the table.
// A new call's alert, or the details of one alerted before (a later event of the call): its
// tier, escalation and acknowledgement are written by the I/O thread, perhaps on another
// connection at the same moment, and are not this statement's to overwrite.
// Its claim too: the node that escalates it is the one that wrote it first.
constexpr const char* kInsertAlert =
    "INSERT INTO call_alerts (call_id, site, first_event_at, escalate_at, escalated_tier, "
    "details, claimed_by, lease_until) "
    "VALUES (?, ?, ?, NULLIF(CAST(? AS BIGINT), 0), ?, ?, ?, NULLIF(CAST(? AS BIGINT), 0)) "
    "ON CONFLICT (call_id) DO UPDATE SET details = excluded.details";

constexpr const char* kUpsertAlert =
    "INSERT INTO call_alerts (call_id, site, first_event_at, escalate_at, escalated_tier, "
    "details, claimed_by, lease_until) "
    "VALUES (?, ?, ?, NULLIF(CAST(? AS BIGINT), 0), ?, ?, ?, NULLIF(CAST(? AS BIGINT), 0)) "
    "ON CONFLICT (call_id) DO UPDATE SET site = excluded.site, "
    "first_event_at = CASE WHEN excluded.first_event_at < call_alerts.first_event_at "
    "THEN excluded.first_event_at ELSE call_alerts.first_event_at END, "
    "escalate_at = excluded.escalate_at, escalated_tier = excluded.escalated_tier, "
    "details = excluded.details, claimed_by = excluded.claimed_by, "
    "lease_until = excluded.lease_until";

void bindAlert(Statement& s, const CallAlert& a) {
  s.text(1, a.callId)
      .textOrNull(2, a.site)
      .integer(3, a.firstEventAtMs)
      .integer(4, a.escalateAtMs)
      .integer(5, a.escalatedTier)
      .text(6, a.details)
      .textOrNull(7, a.claimedBy)
      .integer(8, a.leaseUntilMs);
}

// The rows of a claim (see ClaimScope): ?1 the node, ?3 now. PostgreSQL locks the rows it
// takes and skips those another node's claim is taking at the same moment (a SQLite database
// has one writer at a time).
std::string claimCondition(ClaimScope scope) {
  switch (scope) {
    case ClaimScope::Everything:
      return "CAST(?3 AS BIGINT) IS NOT NULL";  // always true; names ?3 for PostgreSQL
    case ClaimScope::OwnOrExpired:
      return "(claimed_by IS NULL OR claimed_by = ?1 OR lease_until IS NULL OR "
             "lease_until <= ?3)";
    case ClaimScope::Expired:
      break;
  }
  return "(claimed_by IS NULL OR lease_until IS NULL OR lease_until <= ?3)";
}

std::string claimStatement(const Db* db, const char* table, const char* key, const char* pending,
                           const char* columns, ClaimScope scope) {
  return std::string("UPDATE ") + table + " SET claimed_by = ?1, lease_until = ?2 WHERE " + key +
         " IN (SELECT " + key + " FROM " + table + " WHERE " + pending + " AND " +
         claimCondition(scope) + " ORDER BY " + key + " LIMIT ?4" +
         (db->postgresql() ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING " + columns;
}

// Inserts `jobs` (filling in their ids) inside the caller's transaction; the error when one
// could not be.
std::optional<std::string> insertJobs(Db* db, std::vector<NotificationJob>& jobs) {
  Statement insert(db,
                   "INSERT INTO notification_jobs (delivery_id, call_id, event, tier, channel, "
                   "target, payload, state, attempts, next_attempt_at, created_at, "
                   "delivered_at, last_error, test, claimed_by, lease_until) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(CAST(? AS BIGINT), 0), ?, ?, "
                   "?, NULLIF(CAST(? AS BIGINT), 0))");
  for (auto& j : jobs) {
    insert.reset();
    insert.text(1, j.deliveryId)
        .text(2, j.callId)
        .text(3, j.event)
        .integer(4, j.tier)
        .text(5, j.channel)
        .text(6, j.target)
        .text(7, j.payload)
        .text(8, j.state)
        .integer(9, j.attempts)
        .integer(10, j.nextAttemptAtMs)
        .integer(11, j.createdAtMs)
        .integer(12, j.deliveredAtMs)
        .textOrNull(13, j.lastError)
        .integer(14, j.test ? 1 : 0)
        .textOrNull(15, j.claimedBy)
        .integer(16, j.leaseUntilMs);
    if (!insert.run()) {
      return "job for " + j.target + ": " + insert.error();
    }
    j.id = db->lastInsertId();
  }
  return std::nullopt;
}

}  // namespace

Result<void> Store::insertNotificationJobs(std::vector<NotificationJob>& jobs,
                                           const CallAlert* alert) {
  auto failure = [&](const std::string& why) {
    // The ids handed out are void with the transaction.
    for (auto& j : jobs) {
      j.id = 0;
    }
    return Error{"store.write", path_ + ": responder alerts: " + why};
  };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return failure(tx.error());
  }
  if (auto failed = insertJobs(db_, jobs)) {
    return failure(*failed);
  }
  if (alert != nullptr) {
    Statement insert(db_, kInsertAlert);
    bindAlert(insert, *alert);
    if (!insert.run()) {
      return failure("call " + alert->callId + ": " + insert.error());
    }
  }
  if (!tx.commit()) {
    return failure(tx.error());
  }
  return {};
}

Result<bool> Store::recordEscalation(std::vector<NotificationJob>& jobs, const std::string& callId,
                                     int tier, int64_t escalateAtMs, const std::string& node) {
  auto failure = [&](const std::string& why) {
    for (auto& j : jobs) {
      j.id = 0;
    }
    return Error{"store.write", path_ + ": escalation of call " + callId + ": " + why};
  };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return failure(tx.error());
  }
  if (auto failed = insertJobs(db_, jobs)) {
    return failure(*failed);
  }
  Statement update(db_,
                   "UPDATE call_alerts SET escalated_tier = ?1, "
                   "escalate_at = NULLIF(CAST(?2 AS BIGINT), 0) WHERE call_id = ?3 AND "
                   "(?4 = '' OR claimed_by IS NULL OR claimed_by = ?4)");
  update.integer(1, tier).integer(2, escalateAtMs).text(3, callId).text(4, node);
  if (!update.run()) {
    return failure(update.error());
  }
  if (db_->changes() == 0) {
    // Another node's now (or no such call): its jobs are not written either.
    for (auto& j : jobs) {
      j.id = 0;
    }
    return false;  // the transaction rolls back
  }
  if (!tx.commit()) {
    return failure(tx.error());
  }
  return true;
}

Result<std::vector<NotificationJob>> Store::loadDueNotificationJobs(int64_t untilMs) {
  std::vector<NotificationJob> out;
  Statement s(db_, std::string("SELECT ") + kJobColumns +
                       " FROM notification_jobs WHERE state = 'pending' AND next_attempt_at <= ? "
                       "ORDER BY next_attempt_at, id");
  s.integer(1, untilMs);
  while (s.row()) {
    out.push_back(readJob(s));
  }
  if (s.failed()) {
    return Error{"store.read", path_ + ": responder alerts: " + s.error()};
  }
  return out;
}

Result<std::vector<NotificationJob>> Store::loadNotificationJobs(const std::string& callId) {
  std::vector<NotificationJob> out;
  Statement s(db_, std::string("SELECT ") + kJobColumns +
                       " FROM notification_jobs WHERE call_id = ? ORDER BY id");
  s.text(1, callId);
  while (s.row()) {
    out.push_back(readJob(s));
  }
  if (s.failed()) {
    return Error{"store.read", path_ + ": responder alerts: " + s.error()};
  }
  return out;
}

Result<bool> Store::markNotificationDelivered(int64_t id, int64_t atMs) {
  Statement s(db_,
              "UPDATE notification_jobs SET state = 'delivered', attempts = attempts + 1, "
              "delivered_at = ? WHERE id = ? AND state = 'pending'");
  s.integer(1, atMs).integer(2, id);
  if (!s.run()) {
    return Error{"store.write",
                 path_ + ": responder alert " + std::to_string(id) + ": " + s.error()};
  }
  return db_->changes() > 0;
}

Result<bool> Store::markNotificationRetry(int64_t id, int64_t nextAttemptAtMs,
                                          const std::string& error, const std::string& node) {
  Statement s(db_,
              "UPDATE notification_jobs SET attempts = attempts + 1, next_attempt_at = ?1, "
              "last_error = ?2 WHERE id = ?3 AND state = 'pending' AND "
              "(?4 = '' OR claimed_by IS NULL OR claimed_by = ?4)");
  s.integer(1, nextAttemptAtMs).textOrNull(2, error).integer(3, id).text(4, node);
  if (!s.run()) {
    return Error{"store.write",
                 path_ + ": responder alert " + std::to_string(id) + ": " + s.error()};
  }
  return db_->changes() > 0;
}

Result<bool> Store::markNotificationGivenUp(int64_t id, const std::string& error) {
  Statement s(db_,
              "UPDATE notification_jobs SET state = 'given_up', attempts = attempts + 1, "
              "last_error = ? WHERE id = ? AND state = 'pending'");
  s.textOrNull(1, error).integer(2, id);
  if (!s.run()) {
    return Error{"store.write",
                 path_ + ": responder alert " + std::to_string(id) + ": " + s.error()};
  }
  return db_->changes() > 0;
}

Result<void> Store::upsertCallAlert(const CallAlert& alert) {
  Statement s(db_, kUpsertAlert);
  bindAlert(s, alert);
  if (!s.run()) {
    return Error{"store.write", path_ + ": alert of call " + alert.callId + ": " + s.error()};
  }
  return {};
}

Result<std::optional<CallAlert>> Store::loadCallAlert(const std::string& callId) {
  Statement s(db_, std::string("SELECT ") + kAlertColumns + " FROM call_alerts WHERE call_id = ?");
  s.text(1, callId);
  if (s.row()) {
    return std::optional<CallAlert>(readAlert(s));
  }
  if (s.failed()) {
    return Error{"store.read", path_ + ": alert of call " + callId + ": " + s.error()};
  }
  return std::optional<CallAlert>();
}

Result<bool> Store::acknowledgeCallAlert(const std::string& callId, const std::string& by,
                                         int64_t atMs) {
  auto failure = [&](const std::string& why) {
    return Error{"store.write", path_ + ": acknowledgement of call " + callId + ": " + why};
  };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return failure(tx.error());
  }
  // The first acknowledgement is the one that counts: a second one neither moves its time nor
  // changes who it was.
  Statement ack(db_,
                "UPDATE call_alerts SET acknowledged_by = ?, acknowledged_at = ?, "
                "escalate_at = NULL WHERE call_id = ? AND acknowledged_at IS NULL");
  ack.text(1, by).integer(2, atMs).text(3, callId);
  if (!ack.run()) {
    return failure(ack.error());
  }
  bool known = db_->changes() > 0;
  if (!known) {
    Statement exists(db_, "SELECT EXISTS (SELECT 1 FROM call_alerts WHERE call_id = ?)");
    exists.text(1, callId);
    if (!exists.row()) {
      return failure(exists.error());
    }
    known = exists.columnInt(0) != 0;
  }
  if (!tx.commit()) {
    return failure(tx.error());
  }
  return known;
}

Result<std::vector<CallAlert>> Store::loadEscalationsDue(int64_t untilMs) {
  std::vector<CallAlert> out;
  Statement s(db_, std::string("SELECT ") + kAlertColumns +
                       " FROM call_alerts WHERE acknowledged_at IS NULL AND escalate_at IS NOT "
                       "NULL AND escalate_at <= ? ORDER BY escalate_at, call_id");
  s.integer(1, untilMs);
  while (s.row()) {
    out.push_back(readAlert(s));
  }
  if (s.failed()) {
    return Error{"store.read", path_ + ": call alerts: " + s.error()};
  }
  return out;
}

Result<std::vector<NotificationJob>> Store::claimNotificationJobs(const OutboxClaim& claim,
                                                                  int limit) {
  std::vector<NotificationJob> out;
  Statement s(db_, claimStatement(db_, "notification_jobs", "id", "state = 'pending'", kJobColumns,
                                  claim.scope));
  s.textOrNull(1, claim.node)
      .integer(2, claim.leaseUntilMs)
      .integer(3, claim.nowMs)
      .integer(4, limit);
  while (s.row()) {
    out.push_back(readJob(s));
  }
  if (s.failed()) {
    return Error{"store.write", path_ + ": claiming responder alerts: " + s.error()};
  }
  std::sort(out.begin(), out.end(), [](const NotificationJob& a, const NotificationJob& b) {
    return a.nextAttemptAtMs != b.nextAttemptAtMs ? a.nextAttemptAtMs < b.nextAttemptAtMs
                                                  : a.id < b.id;
  });
  return out;
}

Result<std::vector<CallAlert>> Store::claimEscalations(const OutboxClaim& claim, int limit) {
  std::vector<CallAlert> out;
  Statement s(db_, claimStatement(db_, "call_alerts", "call_id",
                                  "acknowledged_at IS NULL AND escalate_at IS NOT NULL",
                                  kAlertColumns, claim.scope));
  s.textOrNull(1, claim.node)
      .integer(2, claim.leaseUntilMs)
      .integer(3, claim.nowMs)
      .integer(4, limit);
  while (s.row()) {
    out.push_back(readAlert(s));
  }
  if (s.failed()) {
    return Error{"store.write", path_ + ": claiming call alerts: " + s.error()};
  }
  std::sort(out.begin(), out.end(), [](const CallAlert& a, const CallAlert& b) {
    return a.escalateAtMs != b.escalateAtMs ? a.escalateAtMs < b.escalateAtMs : a.callId < b.callId;
  });
  return out;
}

Result<void> Store::renewOutboxClaims(const std::string& node, int64_t leaseUntilMs) {
  Statement jobs(db_,
                 "UPDATE notification_jobs SET lease_until = ?1 WHERE claimed_by = ?2 AND "
                 "state = 'pending'");
  jobs.integer(1, leaseUntilMs).text(2, node);
  if (!jobs.run()) {
    return Error{"store.write", path_ + ": renewing the claims of " + node + ": " + jobs.error()};
  }
  Statement alerts(db_,
                   "UPDATE call_alerts SET lease_until = ?1 WHERE claimed_by = ?2 AND "
                   "acknowledged_at IS NULL AND escalate_at IS NOT NULL");
  alerts.integer(1, leaseUntilMs).text(2, node);
  if (!alerts.run()) {
    return Error{"store.write", path_ + ": renewing the claims of " + node + ": " + alerts.error()};
  }
  return {};
}

Result<int64_t> Store::databaseClockMs() {
  Statement now(db_, db_->postgresql()
                         ? "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
                         : "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)");
  if (!now.row()) {
    return Error{"store.read", path_ + ": reading the database's clock: " + now.error()};
  }
  return now.columnInt(0);
}

Result<Store::NodeHeartbeat> Store::heartbeatNode(const std::string& node,
                                                  const std::string& instance, int64_t nowMs,
                                                  int64_t aliveWithinMs) {
  NodeHeartbeat out;
  {
    // Rows from before migration 16 have no instance (read as ""): nobody to tell apart.
    Statement last(db_, "SELECT instance, seen_at_ms FROM nodes WHERE name = ?1");
    last.text(1, node);
    if (last.row()) {
      std::string other = last.columnText(0);
      if (!other.empty() && other != instance && last.columnInt(1) >= nowMs - aliveWithinMs) {
        out.otherInstance = std::move(other);
        out.otherSeenAtMs = last.columnInt(1);
      }
    }
    if (last.failed()) {
      return Error{"store.read",
                   path_ + ": reading who spoke for node " + node + ": " + last.error()};
    }
  }
  Statement seen(db_,
                 "INSERT INTO nodes (name, seen_at_ms, instance) VALUES (?1, ?2, ?3) ON CONFLICT "
                 "(name) DO UPDATE SET seen_at_ms = excluded.seen_at_ms, instance = "
                 "excluded.instance");
  seen.text(1, node).integer(2, nowMs).text(3, instance);
  if (!seen.run()) {
    return Error{"store.write", path_ + ": saying node " + node + " is alive: " + seen.error()};
  }
  Statement alive(db_, "SELECT name FROM nodes WHERE seen_at_ms >= ?1 ORDER BY name");
  alive.integer(1, nowMs - aliveWithinMs);
  while (alive.row()) out.alive.push_back(alive.columnText(0));
  if (alive.failed()) {
    return Error{"store.read", path_ + ": reading the nodes alive: " + alive.error()};
  }
  return out;
}

}  // namespace sos::store
