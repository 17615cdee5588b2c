// The user loop's writes (store.h, issue 17): company locations submitted for approval, prompts
// re-triggered, users' e-mail addresses, their answer to the location sharing question.

#include "store/db.h"
#include "store/store.h"

namespace sos::store {
namespace {

constexpr const char* kColumns =
    "id, site, extension, name, fields, state, submitted_at_ms, decided_at_ms, decided_by, "
    "reason, location_key";

LocationRequest requestFrom(const Statement& s) {
  LocationRequest r;
  r.id = s.columnInt(0);
  r.site = s.columnText(1);
  r.extension = s.columnText(2);
  r.name = s.columnText(3);
  r.fields = s.columnText(4);
  r.state = s.columnText(5);
  r.submittedAtMs = s.columnInt(6);
  r.decidedAtMs = s.columnInt(7);
  r.decidedBy = s.columnText(8);
  r.reason = s.columnText(9);
  r.locationKey = s.columnText(10);
  return r;
}

}  // namespace

Result<void> Store::submitLocationRequest(LocationRequest& request, const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());
  Statement insert(db_,
                   "INSERT INTO location_requests (site, extension, name, fields, state, "
                   "submitted_at_ms) VALUES (?, ?, ?, ?, 'pending', ?)");
  insert.text(1, request.site).text(2, request.extension).text(3, request.name);
  insert.text(4, request.fields).integer(5, request.submittedAtMs);
  if (!insert.run()) return failure(insert.error());
  request.id = db_->lastInsertId();
  request.state = "pending";
  AuditEntry entry = audit;
  entry.object = "location-request:" + std::to_string(request.id);
  if (auto logged = insertAudit(db_, entry, path_); !logged.ok()) return logged.error();
  if (!tx.commit()) return failure(tx.error());
  return {};
}

Result<std::vector<LocationRequest>> Store::loadLocationRequests(
    const LocationRequestQuery& query) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM location_requests WHERE 1 = 1";
  if (!query.sites.empty()) sql += " AND site IN (" + placeholders(query.sites.size()) + ")";
  if (!query.state.empty()) sql += " AND state = ?";
  if (!query.extension.empty()) sql += " AND extension = ?";
  sql += " ORDER BY id DESC";
  Statement s(db_, sql);
  int i = 1;
  for (const auto& site : query.sites) s.text(i++, site);
  if (!query.state.empty()) s.text(i++, query.state);
  if (!query.extension.empty()) s.text(i++, query.extension);
  std::vector<LocationRequest> out;
  while (s.row()) out.push_back(requestFrom(s));
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

Result<std::optional<LocationRequest>> Store::loadLocationRequest(int64_t id) {
  Statement s(db_, std::string("SELECT ") + kColumns + " FROM location_requests WHERE id = ?");
  s.integer(1, id);
  if (s.row()) return std::optional<LocationRequest>{requestFrom(s)};
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return std::optional<LocationRequest>{};
}

Result<bool> Store::rejectLocationRequest(int64_t id, const std::string& reason,
                                          const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());
  Statement reject(db_,
                   "UPDATE location_requests SET state = 'rejected', decided_at_ms = ?, "
                   "decided_by = ?, reason = ? WHERE id = ? AND state = 'pending'");
  reject.integer(1, audit.atMs).text(2, audit.actor).text(3, reason).integer(4, id);
  if (!reject.run()) return failure(reject.error());
  if (db_->changes() == 0) return false;
  if (auto logged = insertAudit(db_, audit, path_); !logged.ok()) return logged.error();
  if (!tx.commit()) return failure(tx.error());
  return true;
}

Result<std::vector<std::pair<std::string, std::string>>> Store::resetPrompts(
    const std::vector<std::string>& extensions, const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());
  Statement user(db_, "SELECT email FROM users WHERE extension = ?");
  Statement forget(db_, "DELETE FROM user_networks WHERE extension = ?");
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& extension : extensions) {
    user.text(1, extension);
    if (user.row()) {
      found.emplace_back(extension, user.columnText(0));
      if (!forget.text(1, extension).run()) return failure(forget.error());
      forget.reset();
    }
    if (user.failed()) return failure(user.error());
    user.reset();
  }
  if (auto logged = insertAudit(db_, audit, path_); !logged.ok()) return logged.error();
  if (!tx.commit()) return failure(tx.error());
  return found;
}

Result<bool> Store::answerLocationPermission(const std::string& extension, bool allowed,
                                             int64_t atMs, const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());
  Statement set(db_,
                "UPDATE users SET location_permission = ?, location_permission_at_ms = ? "
                "WHERE extension = ?");
  if (!set.integer(1, allowed ? 1 : 0).integer(2, atMs).text(3, extension).run()) {
    return failure(set.error());
  }
  if (db_->changes() == 0) return false;
  if (auto logged = insertAudit(db_, audit, path_); !logged.ok()) return logged.error();
  if (auto bumped = bumpDataVersion(db_, path_); !bumped.ok()) return bumped.error();
  if (!tx.commit()) return failure(tx.error());
  return true;
}

Result<std::string> Store::userEmail(const std::string& extension) {
  Statement s(db_, "SELECT email FROM users WHERE extension = ?");
  s.text(1, extension);
  if (s.row()) return s.columnText(0);
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return std::string();
}

}  // namespace sos::store
