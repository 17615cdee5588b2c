#pragma once
// Internal to store/: thin RAII wrappers over the two database engines' C APIs (SQLite, the
// embedded default; PostgreSQL through libpq, for several nodes on one database) and the
// civic-address column table. Not installed and not included outside store/; same thread rules
// as Store.
//
// The statements are written once, in the SQL both engines accept (ON CONFLICT, COALESCE,
// CASE, window functions). Three things differ and are handled here rather than at each
// statement: placeholders ('?' becomes $1, $2, ... for PostgreSQL), the id of the row just
// inserted (Db::lastInsertId), and insertion order ("rowid" is PostgreSQL's "ctid"). The
// migrations' DDL is adapted by migrate() (pgDdl in migrations.cpp).

#include <libpq-fe.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/location.h"
#include "store/api_token.h"

namespace sos::store {

// libpq's message (PQerrorMessage) without its trailing newline.
std::string pgMessage(const char* message);

// A PostgreSQL connection to `conninfo` (a URI or key=value string) with a 3 s connect timeout
// and TCP keepalives unless the string sets its own, named `applicationName` on the server.
// Returns it even when it failed (PQfinish it), with `error` saying why; `error` is left as it
// was on success.
PGconn* pgConnect(const std::string& conninfo, const char* applicationName, std::string* error);

// One open connection to either engine; owns it (closes it when destroyed).
class Db {
 public:
  enum class Backend { Sqlite, Postgresql };
  explicit Db(sqlite3* lite) : lite_(lite) {}
  explicit Db(PGconn* pg) : pg_(pg) {}
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Backend backend() const { return pg_ != nullptr ? Backend::Postgresql : Backend::Sqlite; }
  bool postgresql() const { return pg_ != nullptr; }
  sqlite3* lite() const { return lite_; }
  PGconn* pg() const { return pg_; }

  // Rows inserted, changed or deleted by the last statement run on this connection.
  int64_t changes() const;
  // The id given to the row this connection inserted last (a table whose id the database
  // assigns); 0 when there is none. PostgreSQL: lastval() of the session, one round trip.
  int64_t lastInsertId();

  // PostgreSQL: connects to `conninfo` (pgConnect), then runs `setup` (session settings), again
  // after each reconnection. `error` is "" when both succeeded. Returns the connection even when it
  // failed (`error` says why): it is tried again before the next statement.
  static std::unique_ptr<Db> connectPostgresql(const std::string& conninfo, std::string setup,
                                               std::string* error);
  // Can a statement be sent? PostgreSQL: a connection the server or the network closed is
  // opened again first (started at most once every kReconnectEvery; `error` says why not). Not
  // inside a transaction: its statements fail until it ends, so none of it lands outside it.
  // SQLite: always.
  bool usable(std::string* error);
  static constexpr auto kReconnectEvery = std::chrono::seconds(1);
  // A reconnection is driven without blocking (PQresetStart, PQresetPoll): each call of
  // usable() waits at most kConnectStep on the socket, and one not done within kConnectTimeout
  // is given up (tried again after kReconnectEvery).
  static constexpr auto kConnectStep = std::chrono::milliseconds(50);
  static constexpr auto kConnectTimeout = std::chrono::seconds(3);
  // PostgreSQL: work for the first time the connection is up (a store opened while the server
  // could not be reached: its migrations), run by usable() before any other statement is sent.
  // It may send statements itself. Until it succeeds every usable() tries it again and fails
  // with its error.
  void setFirstConnect(std::function<bool(std::string* error)> work) {
    firstConnect_ = std::move(work);
  }

 private:
  friend class Statement;
  friend class Transaction;
  friend bool exec(Db* db, const char* sql, std::string* error);
  bool runSetup(std::string* error);
  bool runFirstConnect(std::string* error);
  // usable(), waiting at most `wait` on a reconnection's socket in this call.
  bool usable(std::string* error, std::chrono::milliseconds wait);
  // PostgreSQL: sends a statement (with `values` when not null, as text) on a usable
  // connection; null when there is none (`error` says why).
  PGresult* pgSend(const char* sql, const std::vector<const char*>* values, std::string* error);
  sqlite3* lite_ = nullptr;
  PGconn* pg_ = nullptr;
  int64_t pgChanges_ = 0;
  std::string pgSetup_;
  std::function<bool(std::string*)> firstConnect_;
  bool inTransaction_ = false;
  std::chrono::steady_clock::time_point lastReconnect_{};  // the last reconnection's start
  std::string reconnectError_;
  bool resetting_ = false;  // a reconnection under way
  PostgresPollingStatusType resetStatus_ = PGRES_POLLING_FAILED;
};

// One prepared statement. Values are always bound, never spliced into the SQL text.
// The first failure (prepare, bind or step) is kept with SQLite's message of that moment,
// because a later ROLLBACK would overwrite sqlite3_errmsg().
class Statement {
 public:
  Statement(Db* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& text(int index, std::string_view value);
  Statement& textOrNull(int index, std::string_view value);  // "" stored as NULL (absent)
  Statement& integer(int index, int64_t value);
  Statement& real(int index, std::optional<double> value);  // nullopt stored as NULL

  bool row();    // steps; true while a row is available, false when done or failed
  bool run();    // steps to completion; true on success
  void reset();  // ready to bind and run again (bindings are kept until rebound)

  // Columns are 0-based, as in SQLite. NULL reads as "", 0 or nullopt.
  std::string columnText(int column) const;
  int64_t columnInt(int column) const;
  std::optional<double> columnReal(int column) const;

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void fail(int rc);
  void failPg(const std::string& message);
  Statement& bindPg(int index, std::optional<std::string> value);
  bool rowPg();
  Db* db_;
  sqlite3_stmt* stmt_ = nullptr;
  // PostgreSQL: the text with $n placeholders, the values bound (nullopt for NULL), the result
  // once run and the row read last (-1 before the first).
  std::string pgSql_;
  std::vector<std::optional<std::string>> pgValues_;
  PGresult* pgResult_ = nullptr;
  int pgRow_ = -1;
  std::string error_;
};

// SQLite's statement text for PostgreSQL: '?' (outside quoted literals and names) becomes $1,
// $2, ... in order, '?N' becomes $N, and the word rowid ctid.
std::string pgStatementText(std::string_view sql);

// Runs SQL without values (DDL, PRAGMA, BEGIN/COMMIT). On failure `error` gets the engine's
// message.
bool exec(Db* db, const char* sql, std::string* error);

// Foreign keys checked at the commit rather than at each statement, for the rest of the
// caller's transaction (an import that replaces rows other rows refer to).
bool deferForeignKeys(Db* db, std::string* error);

// BEGIN (IMMEDIATE for writers, so two writers queue on the busy timeout instead of one failing
// with SQLITE_BUSY at its first write) and ROLLBACK unless commit() succeeded.
class Transaction {
 public:
  enum class Kind { Read, Write };
  Transaction(Db* db, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  bool begun() const { return active_; }
  bool commit();
  const std::string& error() const { return error_; }

 private:
  Db* db_;
  bool active_ = false;
  std::string error_;
};

// Is this an engine's message for a duplicate key (SQLite's "UNIQUE constraint failed",
// PostgreSQL's "violates unique constraint")?
bool uniqueViolation(std::string_view message);

// "?, ?, ?": `n` bound values, for an IN list or a VALUES row (n >= 1).
std::string placeholders(size_t n);

// Appends one audit-trail row in the caller's transaction (tokens, location edits).
Result<void> insertAudit(Db* db, const AuditEntry& entry, const std::string& path);

// Counts one more change of the routing data (migration 7: data_version), in the caller's
// transaction. Every writer of locations, networks, users, devices or sites calls it.
Result<void> bumpDataVersion(Db* db, const std::string& path);

// Applies pending migrations, each in its own transaction; returns the schema version reached.
// `path` is for messages only.
Result<int> migrate(Db* db, const std::string& path);
int currentSchemaVersion(Db* db);

// RFC 5139 civic address elements: the name a seed file uses (the RFC's own spelling), the
// column that stores it, and the member that holds it. Migration 1 has one column for each;
// a new element needs a migration that adds its column.
struct CivicField {
  std::string_view name;
  std::string_view column;
  std::string model::CivicAddress::*member;
};
using Civic = model::CivicAddress;
inline constexpr std::array<CivicField, 31> kCivicFields{{
    {"country", "country", &Civic::country},
    {"A1", "a1", &Civic::a1},
    {"A2", "a2", &Civic::a2},
    {"A3", "a3", &Civic::a3},
    {"A4", "a4", &Civic::a4},
    {"A5", "a5", &Civic::a5},
    {"A6", "a6", &Civic::a6},
    {"PRM", "prm", &Civic::prm},
    {"PRD", "prd", &Civic::prd},
    {"RD", "rd", &Civic::rd},
    {"STS", "sts", &Civic::sts},
    {"POD", "pod", &Civic::pod},
    {"POM", "pom", &Civic::pom},
    {"RDSEC", "rdsec", &Civic::rdsec},
    {"RDBR", "rdbr", &Civic::rdbr},
    {"RDSUBBR", "rdsubbr", &Civic::rdsubbr},
    {"HNO", "hno", &Civic::hno},
    {"HNS", "hns", &Civic::hns},
    {"LMK", "lmk", &Civic::lmk},
    {"LOC", "loc", &Civic::loc},
    {"FLR", "flr", &Civic::flr},
    {"NAM", "nam", &Civic::nam},
    {"PC", "pc", &Civic::pc},
    {"BLD", "bld", &Civic::bld},
    {"UNIT", "unit", &Civic::unit},
    {"ROOM", "room", &Civic::room},
    {"SEAT", "seat", &Civic::seat},
    {"PLC", "plc", &Civic::plc},
    {"PCN", "pcn", &Civic::pcn},
    {"POBOX", "pobox", &Civic::pobox},
    {"ADDCODE", "addcode", &Civic::addcode},
}};

// "country, a1, ..., addcode": column names only (constants), for building statement text.
std::string civicColumns();

// The form every table that holds a MAC or BSSID keeps it in (model::colonForm:
// "00:11:22:33:44:55", "00:11:22:33:44:5*"); nullopt when `text` is no such address. With
// `wildcard`, a '*' may stand for the last hex digit.
std::optional<std::string> storedMac(std::string_view text, bool wildcard);

}  // namespace sos::store
