// The wrappers of db.h. Kept deliberately small: SQLite's C API and libpq are the reference,
// these only make cleanup automatic, keep the first error's message and hide which engine runs
// the statement.

#include "store/db.h"

#include <poll.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "model/mac.h"
#include "store/change_feed.h"

namespace sos::store {

std::string pgMessage(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "PostgreSQL gave no message" : out;
}

namespace {

// A command's result: true when it ran; the rows it changed into `changes`.
bool pgResultOk(PGresult* result, std::string* error, int64_t* changes) {
  ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    const char* n = PQcmdTuples(result);
    *changes = (n != nullptr && *n != '\0') ? std::strtoll(n, nullptr, 10) : 0;
    return true;
  }
  if (error != nullptr) {
    // The primary message and its detail ("Key (cidr)=(10.1.5.0/24) already exists."), without
    // the "ERROR:" severity and the line breaks of PQresultErrorMessage.
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    *error = primary != nullptr ? primary : pgMessage(PQresultErrorMessage(result));
    if (detail != nullptr) *error += std::string(": ") + detail;
  }
  return false;
}

}  // namespace

Db::~Db() {
  if (pg_ != nullptr) {
    PQfinish(pg_);
  }
  sqlite3_close_v2(lite_);
}

int64_t Db::changes() const { return pg_ != nullptr ? pgChanges_ : sqlite3_changes64(lite_); }

int64_t Db::lastInsertId() {
  if (pg_ == nullptr) {
    return sqlite3_last_insert_rowid(lite_);
  }
  // lastval() is the session's: the sequence of the identity column this connection's last
  // INSERT drew from. It fails (no value yet) in a session that inserted nothing.
  Statement s(this, "SELECT lastval()");
  return s.row() ? s.columnInt(0) : 0;
}

PGconn* pgConnect(const std::string& conninfo, const char* applicationName, std::string* error) {
  // Defaults first; the connection string (expanded from "dbname") overrides any of them. A
  // server that does not answer costs 3 s at most per try; a dead peer is noticed within about
  // 25 s of silence rather than the system's two hours.
  // tcp_user_timeout: a statement sent to a host that stopped answering fails after 5 s
  // instead of waiting for the keepalives.
  const std::array<const char*, 8> keywords{"connect_timeout",
                                            "keepalives_idle",
                                            "keepalives_interval",
                                            "keepalives_count",
                                            "tcp_user_timeout",
                                            "application_name",
                                            "dbname",
                                            nullptr};
  const std::array<const char*, 8> values{
      "3", "10", "5", "3", "5000", applicationName, conninfo.c_str(), nullptr};
  PGconn* pg = PQconnectdbParams(keywords.data(), values.data(), 1);
  if (pg == nullptr) {
    *error = "out of memory";
  } else if (PQstatus(pg) != CONNECTION_OK) {
    *error = pgMessage(PQerrorMessage(pg));
  }
  return pg;
}

std::unique_ptr<Db> Db::connectPostgresql(const std::string& conninfo, std::string setup,
                                          std::string* error) {
  std::string failed;
  auto db = std::make_unique<Db>(pgConnect(conninfo, "sosproxy", &failed));
  db->pgSetup_ = std::move(setup);
  db->lastReconnect_ = std::chrono::steady_clock::now();
  if (failed.empty()) db->runSetup(&failed);
  *error = failed;
  return db;
}

bool Db::runSetup(std::string* error) {
  if (pgSetup_.empty()) return true;
  PGresult* result = PQexec(pg_, pgSetup_.c_str());
  const bool ok = pgResultOk(result, error, &pgChanges_);
  PQclear(result);
  return ok;
}

PGresult* Db::pgSend(const char* sql, const std::vector<const char*>* values, std::string* error) {
  auto send = [&] {
    // Untyped values (no paramTypes): the server infers each from where it is used, as SQLite
    // converts by column affinity; all are sent and read as text.
    return values == nullptr ? PQexec(pg_, sql)
                             : PQexecParams(pg_, sql, static_cast<int>(values->size()), nullptr,
                                            values->data(), nullptr, nullptr, 0);
  };
  if (!usable(error)) return nullptr;
  PGresult* result = send();
  // The connection was found closed by this statement (a server restart, a failover): once
  // more on a new one, outside a transaction only (inside it, the transaction is gone).
  if (PQstatus(pg_) == CONNECTION_BAD && !inTransaction_) {
    PQclear(result);
    lastReconnect_ = {};
    reconnectError_.clear();
    // The server answered a moment ago: worth waiting for, up to the connect timeout.
    if (!usable(error, kConnectTimeout)) return nullptr;
    result = send();
  }
  return result;
}

bool Db::usable(std::string* error) { return usable(error, kConnectStep); }

bool Db::runFirstConnect(std::string* error) {
  if (!firstConnect_) return true;
  // Taken out while it runs: its own statements find the connection up and nothing to do.
  auto work = std::move(firstConnect_);
  firstConnect_ = nullptr;
  if (work(error)) return true;
  firstConnect_ = std::move(work);
  return false;
}

bool Db::usable(std::string* error, std::chrono::milliseconds wait) {
  if (pg_ == nullptr) return true;
  if (!resetting_ && PQstatus(pg_) == CONNECTION_OK) return runFirstConnect(error);
  if (inTransaction_) {
    *error = "the connection to the database was lost during a transaction";
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!resetting_) {
    if (now - lastReconnect_ < kReconnectEvery && !reconnectError_.empty()) {
      *error = reconnectError_;
      return false;
    }
    lastReconnect_ = now;
    if (PQresetStart(pg_) == 0) {
      reconnectError_ = "no connection to the database: " + pgMessage(PQerrorMessage(pg_));
      *error = reconnectError_;
      return false;
    }
    resetting_ = true;
    resetStatus_ = PGRES_POLLING_WRITING;  // libpq: wait for writing first
  }
  // Driven without blocking: at most `wait` on the socket per call (kConnectStep, but for a
  // statement that found the connection closed), so that a host that does not answer never
  // holds the calling thread (the I/O thread) for long; each later statement takes it
  // further, until it is up, refused or past kConnectTimeout.
  const auto stepEnd = now + wait;
  while (resetStatus_ != PGRES_POLLING_OK && resetStatus_ != PGRES_POLLING_FAILED) {
    pollfd p{PQsocket(pg_),
             static_cast<short>(resetStatus_ == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        stepEnd - std::chrono::steady_clock::now());
    if (p.fd < 0 || left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) break;
    resetStatus_ = PQresetPoll(pg_);
  }
  if (resetStatus_ == PGRES_POLLING_OK) {
    resetting_ = false;
    reconnectError_.clear();
    return runSetup(error) && runFirstConnect(error);
  }
  if (resetStatus_ == PGRES_POLLING_FAILED) {
    resetting_ = false;
    reconnectError_ = "no connection to the database: " + pgMessage(PQerrorMessage(pg_));
  } else if (std::chrono::steady_clock::now() - lastReconnect_ >= kConnectTimeout) {
    resetting_ = false;  // the next try starts over (PQresetStart closes this one)
    reconnectError_ = "no connection to the database: no answer within " +
                      std::to_string(kConnectTimeout.count()) + " s";
  } else {
    *error = "connecting to the database again";
    return false;
  }
  *error = reconnectError_;
  return false;
}

std::string pgStatementText(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  char quote = 0;  // inside '...' or "..."
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?' && i + 1 < sql.size() && std::isdigit(sql[i + 1])) {
      out += '$';  // ?NNN, numbered: the same number
    } else if (c == '?') {
      out += '$' + std::to_string(next++);
    } else if (sql.substr(i, 5) == "rowid" && (i == 0 || !std::isalnum(sql[i - 1])) &&
               (i + 5 == sql.size() || !std::isalnum(sql[i + 5]))) {
      out += "ctid";
      i += 4;
    } else {
      out += c;
    }
  }
  return out;
}

Statement::Statement(Db* db, std::string_view sql) : db_(db) {
  if (db_->postgresql()) {
    pgSql_ = pgStatementText(sql);
    return;  // sent with its values at the first row()
  }
  // SQLite takes the length in an int; statement text is ours and short.
  int rc =
      sqlite3_prepare_v2(db_->lite(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    fail(rc);
  }
}

Statement::~Statement() {
  PQclear(pgResult_);
  sqlite3_finalize(stmt_);
}

void Statement::fail(int rc) {
  if (error_.empty()) {
    error_ = sqlite3_errmsg(db_->lite());
    if (error_.empty()) {
      error_ = sqlite3_errstr(rc);
    }
  }
}

void Statement::failPg(const std::string& message) {
  if (error_.empty()) {
    error_ = message;
  }
}

Statement& Statement::bindPg(int index, std::optional<std::string> value) {
  if (index < 1) {
    failPg("parameter index " + std::to_string(index) + " out of range");
    return *this;
  }
  if (pgValues_.size() < static_cast<size_t>(index)) {
    pgValues_.resize(static_cast<size_t>(index));
  }
  pgValues_[static_cast<size_t>(index) - 1] = std::move(value);
  return *this;
}

bool Statement::rowPg() {
  if (pgResult_ == nullptr) {
    std::vector<const char*> values;
    values.reserve(pgValues_.size());
    for (const auto& v : pgValues_) values.push_back(v ? v->c_str() : nullptr);
    std::string error;
    pgResult_ = db_->pgSend(pgSql_.c_str(), &values, &error);
    if (pgResult_ == nullptr || !pgResultOk(pgResult_, &error, &db_->pgChanges_)) {
      failPg(error);
      return false;
    }
    pgRow_ = -1;
  }
  ++pgRow_;
  return pgRow_ < PQntuples(pgResult_);
}

Statement& Statement::text(int index, std::string_view value) {
  if (failed()) {
    return *this;
  }
  if (db_->postgresql()) {
    return bindPg(index, std::string(value));
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
  if (db_->postgresql()) {
    return bindPg(index, std::nullopt);
  }
  if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) {
    fail(rc);
  }
  return *this;
}

Statement& Statement::integer(int index, int64_t value) {
  if (db_->postgresql()) {
    return failed() ? *this : bindPg(index, std::to_string(value));
  }
  if (!failed()) {
    if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) {
      fail(rc);
    }
  }
  return *this;
}

Statement& Statement::real(int index, std::optional<double> value) {
  if (db_->postgresql()) {
    if (failed()) return *this;
    // NaN as NULL, as SQLite binds it.
    if (!value || std::isnan(*value)) return bindPg(index, std::nullopt);
    // Shortest text that reads back as the same double.
    std::array<char, 32> text{};
    auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), *value);
    return bindPg(index, std::string(text.data(), end));
  }
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
  if (db_->postgresql()) {
    return rowPg();
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
  PQclear(pgResult_);
  pgResult_ = nullptr;
  pgRow_ = -1;
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
  }
}

std::string Statement::columnText(int column) const {
  if (db_->postgresql()) {
    if (pgResult_ == nullptr || PQgetisnull(pgResult_, pgRow_, column) != 0) return {};
    return {PQgetvalue(pgResult_, pgRow_, column),
            static_cast<size_t>(PQgetlength(pgResult_, pgRow_, column))};
  }
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

int64_t Statement::columnInt(int column) const {
  if (!db_->postgresql()) {
    return sqlite3_column_int64(stmt_, column);
  }
  const std::string text = columnText(column);
  // A boolean expression (EXISTS, a comparison) reads as 't' or 'f' in PostgreSQL, 1 or 0 in
  // SQLite; a number as its digits (a numeric one may have a fraction: truncated, as SQLite).
  if (text == "t") return 1;
  if (text == "f") return 0;
  return std::strtoll(text.c_str(), nullptr, 10);
}

std::optional<double> Statement::columnReal(int column) const {
  if (db_->postgresql()) {
    if (pgResult_ == nullptr || PQgetisnull(pgResult_, pgRow_, column) != 0) return std::nullopt;
    return std::strtod(PQgetvalue(pgResult_, pgRow_, column), nullptr);
  }
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) {
    return std::nullopt;
  }
  return sqlite3_column_double(stmt_, column);
}

bool exec(Db* db, const char* sql, std::string* error) {
  if (db->postgresql()) {
    std::string why;
    PGresult* result = db->pgSend(sql, nullptr, &why);
    if (result == nullptr) {
      if (error != nullptr) *error = why;
      return false;
    }
    const bool ok = pgResultOk(result, error, &db->pgChanges_);
    PQclear(result);
    return ok;
  }
  char* message = nullptr;
  int rc = sqlite3_exec(db->lite(), sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK && error != nullptr) {
    *error = message != nullptr ? message : sqlite3_errstr(rc);
  }
  sqlite3_free(message);
  return rc == SQLITE_OK;
}

Transaction::Transaction(Db* db, Kind kind) : db_(db) {
  // PostgreSQL has no IMMEDIATE: its writers take row locks as they go.
  const bool immediate = kind == Kind::Write && !db_->postgresql();
  active_ = exec(db_, immediate ? "BEGIN IMMEDIATE" : "BEGIN", &error_);
  db_->inTransaction_ = active_;
}

Transaction::~Transaction() {
  if (active_) {
    // Nothing useful to do if even the rollback fails: both engines roll back on close anyway.
    exec(db_, "ROLLBACK", nullptr);
  }
  // Over either way (a lost connection rolled it back at the server): the next statement may
  // reconnect.
  db_->inTransaction_ = false;
}

bool Transaction::commit() {
  if (!active_) {
    return false;
  }
  if (!exec(db_, "COMMIT", &error_)) {
    return false;  // still active: the destructor rolls back
  }
  active_ = false;
  db_->inTransaction_ = false;
  return true;
}

bool deferForeignKeys(Db* db, std::string* error) {
  // PostgreSQL: the migrations make every foreign key DEFERRABLE (pgDdl).
  return exec(db,
              db->postgresql() ? "SET CONSTRAINTS ALL DEFERRED" : "PRAGMA defer_foreign_keys = ON",
              error);
}

bool uniqueViolation(std::string_view message) {
  return message.find("UNIQUE constraint failed") != std::string_view::npos ||
         message.find("violates unique constraint") != std::string_view::npos;
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

Result<void> insertAudit(Db* db, const AuditEntry& e, const std::string& path) {
  Statement s(db,
              "INSERT INTO audit_log (at, actor, role, action, object, site, before, after) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  s.integer(1, e.atMs).text(2, e.actor).text(3, e.role).text(4, e.action).text(5, e.object);
  s.textOrNull(6, e.site).textOrNull(7, e.before).textOrNull(8, e.after);
  if (!s.run()) return Error{"store.write", path + ": audit: " + s.error()};
  return {};
}

Result<void> bumpDataVersion(Db* db, const std::string& path) {
  Statement s(db, "UPDATE data_version SET version = version + 1 WHERE id = 1");
  if (!s.run()) return Error{"store.write", path + ": data version: " + s.error()};
  // PostgreSQL: the other nodes' change feeds hear of it at the commit (change_feed.h).
  std::string error;
  if (db->postgresql() && !exec(db, (std::string("NOTIFY ") + kDataChannel).c_str(), &error)) {
    return Error{"store.write", path + ": data version: " + error};
  }
  return {};
}

}  // namespace sos::store
