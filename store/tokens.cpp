// API tokens and the audit trail (store.h, issue 16).

#include "store/db.h"
#include "store/store.h"

namespace sos::store {
namespace {

// The sites of every token, read in one pass.
Result<void> fillSites(Db* db, std::vector<ApiToken>& tokens, const std::string& path) {
  for (auto& t : tokens) {
    Statement s(db, "SELECT site FROM api_token_sites WHERE token_id = ? ORDER BY site");
    s.integer(1, t.id);
    while (s.row()) t.sites.push_back(s.columnText(0));
    if (s.failed()) return Error{"store.read", path + ": " + s.error()};
  }
  return {};
}

constexpr const char* kTokenColumns = "id, name, role, subject, hash, created_at, revoked_at";

ApiToken tokenFrom(const Statement& s) {
  ApiToken t;
  t.id = s.columnInt(0);
  t.name = s.columnText(1);
  t.role = s.columnText(2);
  t.subject = s.columnText(3);
  t.hash = s.columnText(4);
  t.createdAtMs = s.columnInt(5);
  t.revokedAtMs = s.columnInt(6);
  return t;
}

}  // namespace

Result<void> Store::createToken(ApiToken& token, const AuditEntry* audit) {
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return Error{"store.write", path_ + ": " + tx.error()};
  {
    Statement used(db_, "SELECT 1 FROM api_tokens WHERE name = ?");
    if (used.text(1, token.name).row()) {
      return Error{"store.conflict", "a token named \"" + token.name + "\" exists already"};
    }
  }
  Statement insert(db_,
                   "INSERT INTO api_tokens (name, role, subject, hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?)");
  insert.text(1, token.name).text(2, token.role).textOrNull(3, token.subject);
  insert.text(4, token.hash).integer(5, token.createdAtMs);
  if (!insert.run()) return Error{"store.write", path_ + ": token: " + insert.error()};
  token.id = db_->lastInsertId();
  for (const auto& site : token.sites) {
    Statement s(db_,
                "INSERT INTO api_token_sites (token_id, site) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING");
    if (!s.integer(1, token.id).text(2, site).run()) {
      return Error{"store.write", path_ + ": token site: " + s.error()};
    }
  }
  if (audit != nullptr) {
    if (auto r = insertAudit(db_, *audit, path_); !r.ok()) return r;
  }
  if (!tx.commit()) return Error{"store.write", path_ + ": " + tx.error()};
  return {};
}

Result<std::optional<ApiToken>> Store::findTokenByHash(const std::string& hash) {
  std::vector<ApiToken> found;
  {
    Statement s(db_, std::string("SELECT ") + kTokenColumns +
                         " FROM api_tokens WHERE hash = ? AND revoked_at IS NULL");
    s.text(1, hash);
    if (s.row()) found.push_back(tokenFrom(s));
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  }
  if (found.empty()) return std::optional<ApiToken>{};
  if (auto r = fillSites(db_, found, path_); !r.ok()) return r.error();
  return std::optional<ApiToken>{std::move(found.front())};
}

Result<std::vector<ApiToken>> Store::listTokens() {
  std::vector<ApiToken> out;
  Transaction tx(db_, Transaction::Kind::Read);
  {
    Statement s(db_, std::string("SELECT ") + kTokenColumns + " FROM api_tokens ORDER BY id");
    while (s.row()) out.push_back(tokenFrom(s));
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  }
  if (auto r = fillSites(db_, out, path_); !r.ok()) return r.error();
  return out;
}

Result<bool> Store::revokeToken(const std::string& name, int64_t atMs, const AuditEntry* audit) {
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return Error{"store.write", path_ + ": " + tx.error()};
  Statement s(db_, "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL");
  if (!s.integer(1, atMs).text(2, name).run()) {
    return Error{"store.write", path_ + ": " + s.error()};
  }
  if (db_->changes() == 0) return false;
  if (audit != nullptr) {
    if (auto r = insertAudit(db_, *audit, path_); !r.ok()) return r.error();
  }
  if (!tx.commit()) return Error{"store.write", path_ + ": " + tx.error()};
  return true;
}

Result<bool> Store::setTokenPassword(const std::string& name, const PasswordHash* password,
                                     int64_t atMs, const AuditEntry* audit) {
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return Error{"store.write", path_ + ": " + tx.error()};
  int64_t id = 0;
  {
    Statement s(db_, "SELECT id FROM api_tokens WHERE name = ? AND revoked_at IS NULL");
    if (!s.text(1, name).row()) {
      if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
      return false;
    }
    id = s.columnInt(0);
  }
  Statement write(db_, password == nullptr
                           ? "DELETE FROM api_token_passwords WHERE token_id = ?"
                           : "INSERT INTO api_token_passwords "
                             "(token_id, salt, hash, iterations, set_at) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT (token_id) DO UPDATE SET salt = excluded.salt, "
                             "hash = excluded.hash, iterations = excluded.iterations, "
                             "set_at = excluded.set_at");
  write.integer(1, id);
  if (password != nullptr) {
    write.text(2, password->salt).text(3, password->hash).integer(4, password->iterations);
    write.integer(5, atMs);
  }
  if (!write.run()) return Error{"store.write", path_ + ": token password: " + write.error()};
  if (audit != nullptr) {
    if (auto r = insertAudit(db_, *audit, path_); !r.ok()) return r.error();
  }
  if (!tx.commit()) return Error{"store.write", path_ + ": " + tx.error()};
  return true;
}

Result<std::optional<PasswordLogin>> Store::findPasswordLogin(const std::string& name) {
  std::vector<ApiToken> found;
  PasswordHash password;
  {
    Statement s(db_,
                "SELECT t.id, t.name, t.role, t.subject, t.hash, t.created_at, t.revoked_at, "
                "p.salt, p.hash, p.iterations FROM api_tokens t JOIN api_token_passwords p ON "
                "p.token_id = t.id WHERE t.name = ? AND t.revoked_at IS NULL");
    s.text(1, name);
    if (s.row()) {
      found.push_back(tokenFrom(s));
      password.salt = s.columnText(7);
      password.hash = s.columnText(8);
      password.iterations = static_cast<int>(s.columnInt(9));
    }
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  }
  if (found.empty()) return std::optional<PasswordLogin>{};
  if (auto r = fillSites(db_, found, path_); !r.ok()) return r.error();
  return std::optional<PasswordLogin>{PasswordLogin{std::move(found.front()), password}};
}

Result<int64_t> Store::appendAudit(const AuditEntry& entry) {
  if (auto r = insertAudit(db_, entry, path_); !r.ok()) return r.error();
  return db_->lastInsertId();
}

Result<std::vector<AuditEntry>> Store::loadAudit(const AuditQuery& q) {
  // The site filter as a bound list: "site IN (?, ?, ...)".
  std::string sql =
      "SELECT id, at, actor, role, action, object, site, before, after FROM audit_log WHERE "
      "(? = 0 OR id < ?)";
  if (!q.sites.empty()) sql += " AND site IN (" + placeholders(q.sites.size()) + ")";
  sql += " ORDER BY id DESC LIMIT ?";
  Statement s(db_, sql);
  s.integer(1, q.beforeId).integer(2, q.beforeId);
  int i = 3;
  for (const auto& site : q.sites) s.text(i++, site);
  s.integer(i, static_cast<int64_t>(q.limit));
  std::vector<AuditEntry> out;
  while (s.row()) {
    AuditEntry e;
    e.id = s.columnInt(0);
    e.atMs = s.columnInt(1);
    e.actor = s.columnText(2);
    e.role = s.columnText(3);
    e.action = s.columnText(4);
    e.object = s.columnText(5);
    e.site = s.columnText(6);
    e.before = s.columnText(7);
    e.after = s.columnText(8);
    out.push_back(std::move(e));
  }
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

}  // namespace sos::store
