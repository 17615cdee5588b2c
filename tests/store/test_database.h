#pragma once
// The database a store test runs against: a fresh SQLite file by default, or, when the
// environment names a PostgreSQL server (SOSPROXY_TEST_POSTGRESQL, a libpq URI such as
// scripts/pg-local.sh prints), that server's database emptied before each test. The same tests
// then show the same behaviour on both engines. Tests of what only one engine has (a file
// deleted under the store, SQLite's read-only open) skip themselves on the other.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace sos::store::testing {

// The PostgreSQL URI the store tests use, or "" for SQLite.
inline std::string testPostgresql() {
  const char* url = std::getenv("SOSPROXY_TEST_POSTGRESQL");
  return url != nullptr ? url : "";
}

// Runs `sql` on the database at `target` (a SQLite file or a PostgreSQL URI) through a
// connection of its own, as another process would; returns each row's columns joined by '|'
// (NULL as "NULL"). A failure is a test failure with the engine's message.
inline std::vector<std::string> queryRows(const std::string& target, const std::string& sql) {
  std::vector<std::string> out;
  if (target.rfind("postgres", 0) == 0) {
    PGconn* pg = PQconnectdb(target.c_str());
    EXPECT_EQ(PQstatus(pg), CONNECTION_OK) << PQerrorMessage(pg);
    PGresult* r = PQexec(pg, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        << sql << ": " << PQresultErrorMessage(r);
    for (int row = 0; status == PGRES_TUPLES_OK && row < PQntuples(r); ++row) {
      std::string line;
      for (int i = 0; i < PQnfields(r); ++i) {
        if (i > 0) line += '|';
        line += PQgetisnull(r, row, i) != 0 ? "NULL" : PQgetvalue(r, row, i);
      }
      out.push_back(line);
    }
    PQclear(r);
    PQfinish(pg);
    return out;
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(target.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);  // a running sosproxy may be writing
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      if (i > 0) line += '|';
      line += text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
    }
    out.push_back(line);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Runs statements without results (several allowed) on `target`, as queryRows.
inline void executeSql(const std::string& target, const std::string& sql) {
  if (target.rfind("postgres", 0) == 0) {
    queryRows(target, sql);
    return;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(target.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The PostgreSQL database as a new one: every table of the previous test dropped.
inline void emptyPostgresql(const std::string& url) {
  executeSql(url,
             "SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; "
             "CREATE SCHEMA public");
}

// Skips the rest of a test that only the SQLite engine can run, saying why.
#define SOS_SQLITE_ONLY(why)                                                   \
  do {                                                                         \
    if (!::sos::store::testing::testPostgresql().empty()) GTEST_SKIP() << why; \
  } while (0)

}  // namespace sos::store::testing
