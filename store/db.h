#pragma once
// Internal to store/: thin RAII wrappers over the SQLite C API and the civic-address column table.
// Not installed and not included outside store/; same thread rules as Store.

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "model/location.h"
#include "store/api_token.h"

namespace sos::store {

// One prepared statement. Values are always bound, never spliced into the SQL text.
// The first failure (prepare, bind or step) is kept with SQLite's message of that moment,
// because a later ROLLBACK would overwrite sqlite3_errmsg().
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
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
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
};

// Runs SQL without values (DDL, PRAGMA, BEGIN/COMMIT). On failure `error` gets SQLite's message.
bool exec(sqlite3* db, const char* sql, std::string* error);

// BEGIN (IMMEDIATE for writers, so two writers queue on the busy timeout instead of one failing
// with SQLITE_BUSY at its first write) and ROLLBACK unless commit() succeeded.
class Transaction {
 public:
  enum class Kind { Read, Write };
  Transaction(sqlite3* db, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  bool begun() const { return active_; }
  bool commit();
  const std::string& error() const { return error_; }

 private:
  sqlite3* db_;
  bool active_ = false;
  std::string error_;
};

// "?, ?, ?": `n` bound values, for an IN list or a VALUES row (n >= 1).
std::string placeholders(size_t n);

// Appends one audit-trail row in the caller's transaction (tokens, location edits).
Result<void> insertAudit(sqlite3* db, const AuditEntry& entry, const std::string& path);

// Counts one more change of the routing data (migration 7: data_version), in the caller's
// transaction. Every writer of locations, networks, users, devices or sites calls it.
Result<void> bumpDataVersion(sqlite3* db, const std::string& path);

// Applies pending migrations, each in its own transaction; returns the schema version reached.
// `path` is for messages only.
Result<int> migrate(sqlite3* db, const std::string& path);
int currentSchemaVersion(sqlite3* db);

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
