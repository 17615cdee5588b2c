// Scheduled test calls' results and each site's and trunk's status (store.h, issue 21).

#include "store/db.h"
#include "store/store.h"

namespace sos::store {
namespace {

constexpr const char* kStatusColumns =
    "SELECT site, trunk, last_test_at, last_success_at, last_success_destination, "
    "last_failure_at, last_failure_outcome, last_failure_status, last_failure_reason, "
    "consecutive_failures, tests, failures FROM test_call_status";

TestCallStatus statusFrom(const Statement& s) {
  TestCallStatus t;
  t.site = s.columnText(0);
  t.trunk = s.columnText(1);
  t.lastTestAtMs = s.columnInt(2);
  t.lastSuccessAtMs = s.columnInt(3);
  t.lastSuccessDestination = s.columnText(4);
  t.lastFailureAtMs = s.columnInt(5);
  t.lastFailureOutcome = s.columnText(6);
  t.lastFailureStatus = static_cast<int>(s.columnInt(7));
  t.lastFailureReason = s.columnText(8);
  t.consecutiveFailures = static_cast<int>(s.columnInt(9));
  t.tests = s.columnInt(10);
  t.failures = s.columnInt(11);
  return t;
}

// The status before `r`, with `r` taken into account.
TestCallStatus updated(TestCallStatus t, const TestCallResult& r) {
  t.site = r.site;
  t.trunk = r.trunk;
  t.lastTestAtMs = r.startedAtMs;
  ++t.tests;
  if (r.passed()) {
    t.lastSuccessAtMs = r.startedAtMs;
    t.lastSuccessDestination = r.destination;
    t.consecutiveFailures = 0;
    return t;
  }
  t.lastFailureAtMs = r.startedAtMs;
  t.lastFailureOutcome = r.outcome;
  t.lastFailureStatus = r.status;
  t.lastFailureReason = r.reason;
  ++t.consecutiveFailures;
  ++t.failures;
  return t;
}

Result<void> insertResult(Db* db, const TestCallResult& r, const std::string& path) {
  Statement insert(db,
                   "INSERT INTO test_calls (site, trunk, destination, call_id, location, "
                   "started_at, outcome, status, reason, duration_ms) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.text(1, r.site).text(2, r.trunk).text(3, r.destination).textOrNull(4, r.callId);
  insert.textOrNull(5, r.location).integer(6, r.startedAtMs).text(7, r.outcome);
  insert.integer(8, r.status).textOrNull(9, r.reason).real(10, r.durationMs);
  if (!insert.run()) return Error{"store.write", path + ": test call: " + insert.error()};
  // The oldest results of this site and trunk beyond what is kept (the status keeps the rest).
  Statement prune(db,
                  "DELETE FROM test_calls WHERE site = ? AND trunk = ? AND id <= "
                  "(SELECT id FROM test_calls WHERE site = ? AND trunk = ? "
                  "ORDER BY id DESC LIMIT 1 OFFSET ?)");
  prune.text(1, r.site).text(2, r.trunk).text(3, r.site).text(4, r.trunk);
  prune.integer(5, Store::kTestCallsKept);
  if (!prune.run()) return Error{"store.write", path + ": test calls: " + prune.error()};
  return {};
}

Result<void> writeStatus(Db* db, const TestCallStatus& t, const std::string& path) {
  Statement s(db,
              "INSERT INTO test_call_status (site, trunk, last_test_at, "
              "last_success_at, last_success_destination, last_failure_at, last_failure_outcome, "
              "last_failure_status, last_failure_reason, consecutive_failures, tests, failures) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (site, trunk) DO UPDATE SET last_test_at = excluded.last_test_at, "
              "last_success_at = excluded.last_success_at, "
              "last_success_destination = excluded.last_success_destination, "
              "last_failure_at = excluded.last_failure_at, "
              "last_failure_outcome = excluded.last_failure_outcome, "
              "last_failure_status = excluded.last_failure_status, "
              "last_failure_reason = excluded.last_failure_reason, "
              "consecutive_failures = excluded.consecutive_failures, tests = excluded.tests, "
              "failures = excluded.failures");
  s.text(1, t.site).text(2, t.trunk).integer(3, t.lastTestAtMs);
  if (t.lastSuccessAtMs != 0) s.integer(4, t.lastSuccessAtMs);
  s.textOrNull(5, t.lastSuccessDestination);
  if (t.lastFailureAtMs != 0) s.integer(6, t.lastFailureAtMs);
  s.textOrNull(7, t.lastFailureOutcome);
  if (t.lastFailureAtMs != 0) s.integer(8, t.lastFailureStatus);
  s.textOrNull(9, t.lastFailureReason).integer(10, t.consecutiveFailures);
  s.integer(11, t.tests).integer(12, t.failures);
  if (!s.run()) return Error{"store.write", path + ": test call status: " + s.error()};
  return {};
}

}  // namespace

Result<TestCallStatus> Store::saveTestCall(const TestCallResult& r) {
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return Error{"store.write", path_ + ": " + tx.error()};
  TestCallStatus before;
  {
    Statement s(db_, std::string(kStatusColumns) + " WHERE site = ? AND trunk = ?");
    s.text(1, r.site).text(2, r.trunk);
    if (s.row()) before = statusFrom(s);
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  }
  if (auto inserted = insertResult(db_, r, path_); !inserted.ok()) return inserted.error();
  TestCallStatus after = updated(std::move(before), r);
  if (auto written = writeStatus(db_, after, path_); !written.ok()) return written.error();
  if (!tx.commit()) return Error{"store.write", path_ + ": " + tx.error()};
  return after;
}

Result<std::vector<TestCallStatus>> Store::testCallStatuses(const std::vector<std::string>& sites) {
  std::string sql = kStatusColumns;
  if (!sites.empty()) sql += " WHERE site IN (" + placeholders(sites.size()) + ")";
  sql += " ORDER BY site, trunk";
  Statement s(db_, sql);
  int i = 1;
  for (const auto& site : sites) s.text(i++, site);
  std::vector<TestCallStatus> out;
  while (s.row()) out.push_back(statusFrom(s));
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

Result<std::vector<TestCallResult>> Store::loadTestCalls(size_t limit, const std::string& site,
                                                         const std::string& trunk) {
  std::string sql =
      "SELECT id, site, trunk, destination, call_id, location, started_at, outcome, status, "
      "reason, duration_ms FROM test_calls";
  const bool one = !site.empty() && !trunk.empty();
  if (one) sql += " WHERE site = ? AND trunk = ?";
  sql += " ORDER BY id DESC LIMIT ?";
  Statement s(db_, sql);
  if (one) s.text(1, site).text(2, trunk);
  s.integer(one ? 3 : 1, static_cast<int64_t>(limit));
  std::vector<TestCallResult> out;
  while (s.row()) {
    TestCallResult r;
    r.id = s.columnInt(0);
    r.site = s.columnText(1);
    r.trunk = s.columnText(2);
    r.destination = s.columnText(3);
    r.callId = s.columnText(4);
    r.location = s.columnText(5);
    r.startedAtMs = s.columnInt(6);
    r.outcome = s.columnText(7);
    r.status = static_cast<int>(s.columnInt(8));
    r.reason = s.columnText(9);
    r.durationMs = s.columnReal(10).value_or(0);
    out.push_back(std::move(r));
  }
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

}  // namespace sos::store
