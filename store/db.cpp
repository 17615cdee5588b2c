// The SQLite wrappers of db.h. Kept deliberately small: SQLite's C API is the reference, these
// only make cleanup automatic and keep the first error's message.

#include "store/db.h"

#include <cctype>
#include <climits>

#include "model/mac.h"

namespace sos::store {

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  // SQLite takes the length in an int; statement text is ours and short.
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::fail(int rc) {
  if (error_.empty()) {
    error_ = sqlite3_errmsg(db_);
    if (error_.empty()) {
      error_ = sqlite3_errstr(rc);
    }
  }
}

Statement& Statement::text(int index, std::string_view value) {
  if (failed()) {
    return *this;
  }
  if (value.size() > static_cast<size_t>(INT_MAX)) {
    error_ = "value too long";
    return *this;
  }
  // SQLITE_TRANSIENT: SQLite copies, so a temporary string may be bound.
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Statement& Statement::textOrNull(int index, std::string_view value) {
  if (!value.empty() || failed()) {
    return text(index, value);
  }
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Statement& Statement::integer(int index, int64_t value) {
  if (!failed()) {
    if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) {
      fail(rc);
    }
  }
  return *this;
}

Statement& Statement::real(int index, std::optional<double> value) {
  if (!failed()) {
    int rc = value ? sqlite3_bind_double(stmt_, index, *value) : sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK) {
      fail(rc);
    }
  }
  return *this;
}

bool Statement::row() {
  if (failed()) {
    return false;
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc != SQLITE_DONE) {
    fail(rc);
  }
  return false;
}

bool Statement::run() {
  while (row()) {
  }
  return !failed();
}

void Statement::reset() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
  }
}

std::string Statement::columnText(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

int64_t Statement::columnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<double> Statement::columnReal(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) {
    return std::nullopt;
  }
  return sqlite3_column_double(stmt_, column);
}

bool exec(sqlite3* db, const char* sql, std::string* error) {
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK && error != nullptr) {
    *error = message != nullptr ? message : sqlite3_errstr(rc);
  }
  sqlite3_free(message);
  return rc == SQLITE_OK;
}

Transaction::Transaction(sqlite3* db, Kind kind) : db_(db) {
  active_ = exec(db_, kind == Kind::Write ? "BEGIN IMMEDIATE" : "BEGIN", &error_);
}

Transaction::~Transaction() {
  if (active_) {
    // Nothing useful to do if even the rollback fails: SQLite rolls back on close anyway.
    exec(db_, "ROLLBACK", nullptr);
  }
}

bool Transaction::commit() {
  if (!active_) {
    return false;
  }
  if (!exec(db_, "COMMIT", &error_)) {
    return false;  // still active: the destructor rolls back
  }
  active_ = false;
  return true;
}

std::string civicColumns() {
  std::string out;
  for (const auto& f : kCivicFields) {
    out += (out.empty() ? "" : ", ") + std::string(f.column);
  }
  return out;
}

std::optional<std::string> storedMac(std::string_view text, bool wildcard) {
  auto mac = model::parseMac(text, wildcard);
  if (!mac) return std::nullopt;
  return model::colonForm(*mac);
}

std::string placeholders(size_t n) {
  std::string out = "?";
  for (size_t i = 1; i < n; ++i) out += ", ?";
  return out;
}

Result<void> insertAudit(sqlite3* db, const AuditEntry& e, const std::string& path) {
  Statement s(db,
              "INSERT INTO audit_log (at, actor, role, action, object, site, before, after) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  s.integer(1, e.atMs).text(2, e.actor).text(3, e.role).text(4, e.action).text(5, e.object);
  s.textOrNull(6, e.site).textOrNull(7, e.before).textOrNull(8, e.after);
  if (!s.run()) return Error{"store.write", path + ": audit: " + s.error()};
  return {};
}

Result<void> bumpDataVersion(sqlite3* db, const std::string& path) {
  Statement s(db, "UPDATE data_version SET version = version + 1 WHERE id = 1");
  if (!s.run()) return Error{"store.write", path + ": data version: " + s.error()};
  return {};
}

}  // namespace sos::store
