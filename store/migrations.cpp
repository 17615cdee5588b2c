// The schema, as numbered migrations applied in order, each in its own transaction, and
// recorded in schema_migrations. A shipped migration is never edited: a change to the schema
// is a new migration appended to kMigrations, so every database reaches the same schema
// whatever version it started from.

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>
#include <string>
#include <string_view>

#include "store/db.h"

namespace sos::store {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;  // DDL only: no values, so no binding is needed
};

// Child tables cascade when their parent goes away (a deleted location takes its ELINs and
// network map with it), except the defaults: deleting the location a site falls back to must
// fail rather than leave the site without a default. Every foreign key column is indexed so
// that such a delete does not scan the child table. Absent text is NULL, never ''.
constexpr const char* kSchema1 = R"sql(
CREATE TABLE sites (
  name    TEXT PRIMARY KEY,
  country TEXT NOT NULL CHECK (length(country) = 2)
);

CREATE TABLE locations (
  key  TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  site TEXT REFERENCES sites(name) ON UPDATE CASCADE,
  kind TEXT NOT NULL DEFAULT 'company'
       CHECK (kind IN ('company', 'site-default', 'account-default')),
  country TEXT, a1 TEXT, a2 TEXT, a3 TEXT, a4 TEXT, a5 TEXT, a6 TEXT,
  prm TEXT, prd TEXT, rd TEXT, sts TEXT, pod TEXT, pom TEXT, rdsec TEXT, rdbr TEXT, rdsubbr TEXT,
  hno TEXT, hns TEXT, lmk TEXT, loc TEXT, flr TEXT, nam TEXT, pc TEXT, bld TEXT, unit TEXT,
  room TEXT, seat TEXT, plc TEXT, pcn TEXT, pobox TEXT, addcode TEXT,
  latitude  REAL CHECK (latitude BETWEEN -90 AND 90),
  longitude REAL CHECK (longitude BETWEEN -180 AND 180)
);
CREATE INDEX locations_site ON locations(site);

-- An ELIN names one location to the PSAP's ALI database, hence unique.
CREATE TABLE location_elins (
  location_key TEXT NOT NULL REFERENCES locations(key) ON DELETE CASCADE ON UPDATE CASCADE,
  elin         TEXT NOT NULL UNIQUE,
  position     INTEGER NOT NULL,
  PRIMARY KEY (location_key, position)
);

CREATE TABLE subnets (
  cidr         TEXT PRIMARY KEY,
  location_key TEXT NOT NULL REFERENCES locations(key) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX subnets_location ON subnets(location_key);

-- Lower case with ':' separators ("00:11:22:33:44:5*"), so equal BSSIDs are equal keys.
CREATE TABLE bssids (
  bssid        TEXT PRIMARY KEY,
  location_key TEXT NOT NULL REFERENCES locations(key) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX bssids_location ON bssids(location_key);

-- port '' is the whole chassis ('' rather than NULL: NULLs would never collide in the key).
CREATE TABLE switches (
  chassis      TEXT NOT NULL,
  port         TEXT NOT NULL DEFAULT '',
  location_key TEXT NOT NULL REFERENCES locations(key) ON DELETE CASCADE ON UPDATE CASCADE,
  PRIMARY KEY (chassis, port)
);
CREATE INDEX switches_location ON switches(location_key);

CREATE TABLE users (
  extension           TEXT PRIMARY KEY,
  did                 TEXT UNIQUE,
  name                TEXT NOT NULL DEFAULT '',
  site                TEXT REFERENCES sites(name) ON UPDATE CASCADE,
  nomadic             INTEGER NOT NULL DEFAULT 0 CHECK (nomadic IN (0, 1)),
  location_permission INTEGER NOT NULL DEFAULT 1 CHECK (location_permission IN (0, 1))
);
CREATE INDEX users_site ON users(site);

CREATE TABLE devices (
  mac       TEXT PRIMARY KEY,
  extension TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX devices_extension ON devices(extension);

CREATE TABLE personal_locations (
  key       TEXT PRIMARY KEY,
  extension TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE ON UPDATE CASCADE,
  name      TEXT NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
  country TEXT, a1 TEXT, a2 TEXT, a3 TEXT, a4 TEXT, a5 TEXT, a6 TEXT,
  prm TEXT, prd TEXT, rd TEXT, sts TEXT, pod TEXT, pom TEXT, rdsec TEXT, rdbr TEXT, rdsubbr TEXT,
  hno TEXT, hns TEXT, lmk TEXT, loc TEXT, flr TEXT, nam TEXT, pc TEXT, bld TEXT, unit TEXT,
  room TEXT, seat TEXT, plc TEXT, pcn TEXT, pobox TEXT, addcode TEXT,
  latitude  REAL CHECK (latitude BETWEEN -90 AND 90),
  longitude REAL CHECK (longitude BETWEEN -180 AND 180),
  elin      TEXT
);
CREATE INDEX personal_locations_extension ON personal_locations(extension);

CREATE TABLE personal_location_networks (
  personal_key TEXT NOT NULL
               REFERENCES personal_locations(key) ON DELETE CASCADE ON UPDATE CASCADE,
  network      TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('ip', 'bssid')),
  PRIMARY KEY (personal_key, network)
);

CREATE TABLE site_defaults (
  site         TEXT PRIMARY KEY REFERENCES sites(name) ON DELETE CASCADE ON UPDATE CASCADE,
  location_key TEXT NOT NULL REFERENCES locations(key) ON UPDATE CASCADE
);
CREATE INDEX site_defaults_location ON site_defaults(location_key);

CREATE TABLE account (
  id                   INTEGER PRIMARY KEY CHECK (id = 1),
  default_location_key TEXT REFERENCES locations(key) ON UPDATE CASCADE
);
CREATE INDEX account_location ON account(default_location_key);

-- A history, kept when a user is deleted (no foreign key): call records may point at it.
CREATE TABLE device_reports (
  id             INTEGER PRIMARY KEY,
  extension      TEXT NOT NULL,
  mac            TEXT,
  ip             TEXT,
  bssid          TEXT,
  chassis        TEXT,
  port           TEXT,
  reported_at_ms INTEGER NOT NULL
);
CREATE INDEX device_reports_mac ON device_reports(mac, reported_at_ms);
CREATE INDEX device_reports_extension ON device_reports(extension, reported_at_ms);

-- Networks each user has reported from, to tell a new one (the user is asked to confirm where
-- they are) from a known one.
CREATE TABLE user_networks (
  extension     TEXT NOT NULL REFERENCES users(extension) ON DELETE CASCADE ON UPDATE CASCADE,
  network       TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (extension, network)
);
)sql";

// ELIN -> caller mappings of emergency calls (issue 4), so a PSAP's callback reaches the caller
// after a restart too. One row per ELIN: the latest caller holds it.
constexpr const char* kSchema2 = R"sql(
CREATE TABLE elin_mappings (
  elin          TEXT PRIMARY KEY,
  extension     TEXT NOT NULL,
  did           TEXT NOT NULL,
  contact       TEXT NOT NULL,
  call_id       TEXT NOT NULL,
  assigned_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
)sql";

// A location's own PSAP route (issue 5): trunk names in the order they are tried, separated by
// single spaces (trunk names hold no spaces). '' rather than NULL for none, because a column
// added to a table with rows needs a default, and no override is what those rows have.
constexpr const char* kSchema3 = R"sql(
ALTER TABLE locations ADD COLUMN psap_route TEXT NOT NULL DEFAULT '';
)sql";

// One row per call whose INVITE had its outcome: the routing log's final line, every trunk
// attempt included, for audits and the admin API. A history like device_reports: no foreign
// keys, names as they were at the time of the call. Times are Unix milliseconds; started_at is
// what the records are listed by, call_id what a routing-log line is matched with (not unique:
// a Call-ID is the caller's choice).
constexpr const char* kSchema4 = R"sql(
CREATE TABLE call_records (
  id          INTEGER PRIMARY KEY,
  call_id     TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER NOT NULL,
  caller      TEXT,
  dialed      TEXT,
  emergency   INTEGER NOT NULL CHECK (emergency IN (0, 1)),
  test        INTEGER NOT NULL CHECK (test IN (0, 1)),
  site        TEXT,
  location    TEXT,
  location_by TEXT,
  elin        TEXT,
  pidf        TEXT,
  trunk       TEXT,
  route       TEXT,
  attempts    TEXT,
  outcome     TEXT NOT NULL,
  status      INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  reason      TEXT
);
CREATE INDEX call_records_started_at ON call_records(started_at);
CREATE INDEX call_records_call_id ON call_records(call_id);
)sql";

// The outbox of responder alerts (issue 6). A job is written before it is tried, so a crash
// loses none: every 'pending' row is tried again at start-up (at least once; receivers drop
// repeats by delivery_id). payload is the exact text to deliver, so a resend needs no event.
// call_alerts holds one row per alerted emergency call: when its next tier is due (escalate_at,
// NULL when no tier is left), and who acknowledged it (which stops the escalation). A history
// like call_records: no foreign keys. Times are Unix milliseconds. Since issue 14 only a test
// call's job becomes 'given_up' (after notifications.max_attempts); an emergency call's stays
// 'pending' and is retried until it is delivered.
constexpr const char* kSchema5 = R"sql(
CREATE TABLE notification_jobs (
  id              INTEGER PRIMARY KEY,
  delivery_id     TEXT NOT NULL UNIQUE,
  call_id         TEXT NOT NULL,
  event           TEXT NOT NULL CHECK (event IN ('started', 'answered', 'ended', 'failed_over',
                                                 'callback', 'escalation')),
  tier            INTEGER NOT NULL CHECK (tier >= 1),
  channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'sip')),
  target          TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'delivered', 'given_up')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER,
  last_error      TEXT,
  test            INTEGER NOT NULL CHECK (test IN (0, 1))
);
-- Start-up reads the pending jobs only; delivered ones are history.
CREATE INDEX notification_jobs_pending ON notification_jobs(next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX notification_jobs_call_id ON notification_jobs(call_id);

CREATE TABLE call_alerts (
  call_id         TEXT PRIMARY KEY,
  site            TEXT,
  first_event_at  INTEGER NOT NULL,
  escalate_at     INTEGER,
  escalated_tier  INTEGER NOT NULL DEFAULT 1,
  acknowledged_by TEXT,
  acknowledged_at INTEGER,
  details         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX call_alerts_escalate_at ON call_alerts(escalate_at)
  WHERE acknowledged_at IS NULL AND escalate_at IS NOT NULL;
)sql";

// The management API (issue 16). api_tokens: who may call it; only a token's SHA-256 is kept
// (the token itself is shown once, at creation). A site-admin or responder token is scoped to
// the sites of api_token_sites; a device token to one subject (an extension or a MAC). A revoked
// token keeps its row (revoked_at set), so the audit trail can still name it. audit_log: every
// change made through the API or the CLI, with the token that made it and the object's JSON
// before and after. A history: no foreign keys. Times are Unix milliseconds.
constexpr const char* kSchema6 = R"sql(
CREATE TABLE api_tokens (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL CHECK (role IN ('super-admin', 'site-admin', 'responder', 'device',
                                           'network-reporter')),
  subject    TEXT,
  hash       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE api_token_sites (
  token_id INTEGER NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
  site     TEXT NOT NULL,
  PRIMARY KEY (token_id, site)
);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  role      TEXT NOT NULL,
  action    TEXT NOT NULL,
  object    TEXT NOT NULL,
  site      TEXT,
  before    TEXT,
  after     TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_site ON audit_log(site, at);

ALTER TABLE device_reports ADD COLUMN network_provided INTEGER NOT NULL DEFAULT 0
  CHECK (network_provided IN (0, 1));
)sql";

// Desk phones and the routing data's version (issue 16). A device gains the brand and model an
// operator inventories it by, and whether it is a common-area phone (a lobby or a hallway
// phone: its extension is a line, not a person). data_version counts the commits that changed
// what a routing snapshot is built from (locations, networks, users, devices, personal
// locations, sites); every writer of those tables adds one in its transaction, and a running
// sosproxy rebuilds its snapshot when it sees a new number, whichever process wrote it (the
// CLI's import, another node).
constexpr const char* kSchema7 = R"sql(
ALTER TABLE devices ADD COLUMN brand TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN common_area INTEGER NOT NULL DEFAULT 0
  CHECK (common_area IN (0, 1));

CREATE TABLE data_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 1);
)sql";

// Company locations users submitted for approval (issue 17): pending until a site-admin of the
// site approves (the location is created in the same transaction) or rejects them with a reason.
// A history: no foreign keys (the user may be deleted; the request stays in the trail).
constexpr const char* kSchema8 = R"sql(
CREATE TABLE location_requests (
  id              INTEGER PRIMARY KEY,
  site            TEXT NOT NULL,
  extension       TEXT NOT NULL,
  name            TEXT NOT NULL,
  fields          TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'approved', 'rejected')),
  submitted_at_ms INTEGER NOT NULL,
  decided_at_ms   INTEGER,
  decided_by      TEXT,
  reason          TEXT,
  location_key    TEXT
);
CREATE INDEX location_requests_site ON location_requests(site, state);
)sql";

// A user's e-mail address (issue 17): where a re-trigger and a desk phone's move are told.
constexpr const char* kSchema9 = R"sql(
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
)sql";

// "Use this address for this emergency only" (issue 17): a personal location held until a time
// (Unix ms) and only while the device reports from its network; NULL: kept. The data version
// moves so that a running sosproxy rebuilds its snapshot.
constexpr const char* kSchema10 = R"sql(
ALTER TABLE personal_locations ADD COLUMN hold_until_ms INTEGER;
UPDATE data_version SET version = version + 1 WHERE id = 1;
)sql";

// The user's own answer to "may sosproxy use your device's network data?" (issue 17): when they
// gave it (Unix ms); NULL: never asked, the user record's location_permission stands as an admin
// set it, and the self-service page asks at first use.
constexpr const char* kSchema11 = R"sql(
ALTER TABLE users ADD COLUMN location_permission_at_ms INTEGER;
)sql";

// Scheduled test calls (issue 21): every result, and per site and trunk where it stands (the last
// success and failure survive the results' pruning). The outbox takes a new event, a trunk that
// failed its test calls: SQLite cannot change a CHECK constraint in place, so notification_jobs is
// rebuilt with its rows (the way SQLite's ALTER TABLE documentation gives), in this migration's
// transaction.
constexpr const char* kSchema12 = R"sql(
CREATE TABLE notification_jobs_12 (
  id              INTEGER PRIMARY KEY,
  delivery_id     TEXT NOT NULL UNIQUE,
  call_id         TEXT NOT NULL,
  event           TEXT NOT NULL CHECK (event IN ('started', 'answered', 'ended', 'failed_over',
                                                 'callback', 'escalation', 'test_call_failed')),
  tier            INTEGER NOT NULL CHECK (tier >= 1),
  channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'sip')),
  target          TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'delivered', 'given_up')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER,
  last_error      TEXT,
  test            INTEGER NOT NULL CHECK (test IN (0, 1))
);
INSERT INTO notification_jobs_12 (id, delivery_id, call_id, event, tier, channel, target, payload,
                                  state, attempts, next_attempt_at, created_at, delivered_at,
                                  last_error, test)
  SELECT id, delivery_id, call_id, event, tier, channel, target, payload, state, attempts,
         next_attempt_at, created_at, delivered_at, last_error, test FROM notification_jobs;
DROP TABLE notification_jobs;
ALTER TABLE notification_jobs_12 RENAME TO notification_jobs;
CREATE INDEX notification_jobs_pending ON notification_jobs(next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX notification_jobs_call_id ON notification_jobs(call_id);

CREATE TABLE test_calls (
  id          INTEGER PRIMARY KEY,
  site        TEXT NOT NULL,
  trunk       TEXT NOT NULL,
  destination TEXT NOT NULL,
  call_id     TEXT,
  location    TEXT,
  started_at  INTEGER NOT NULL,
  outcome     TEXT NOT NULL
              CHECK (outcome IN ('answered', 'rejected', 'timeout', 'transport-error')),
  status      INTEGER NOT NULL DEFAULT 0,
  reason      TEXT,
  duration_ms REAL NOT NULL DEFAULT 0
);
CREATE INDEX test_calls_site_trunk ON test_calls(site, trunk, id);

CREATE TABLE test_call_status (
  site                     TEXT NOT NULL,
  trunk                    TEXT NOT NULL,
  last_test_at             INTEGER NOT NULL,
  last_success_at          INTEGER,
  last_success_destination TEXT,
  last_failure_at          INTEGER,
  last_failure_outcome     TEXT,
  last_failure_status      INTEGER,
  last_failure_reason      TEXT,
  consecutive_failures     INTEGER NOT NULL DEFAULT 0,
  tests                    INTEGER NOT NULL DEFAULT 0,
  failures                 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, trunk)
);
)sql";

// Passwords for the dashboard's sign-in (issue 18): a token of a super-admin, site-admin or
// responder may have one, set by `sosproxy token password`; its name is the user name. Only a
// salted PBKDF2-HMAC-SHA256 of the password is kept (admin/password.h), with its iteration count
// so that a later count can be chosen without locking out the passwords set before. A revoked
// token's password signs in nobody (the sign-in reads tokens in force only).
constexpr const char* kSchema13 = R"sql(
CREATE TABLE api_token_passwords (
  token_id   INTEGER PRIMARY KEY REFERENCES api_tokens(id) ON DELETE CASCADE,
  salt       TEXT NOT NULL,
  hash       TEXT NOT NULL,
  iterations INTEGER NOT NULL CHECK (iterations > 0),
  set_at     INTEGER NOT NULL
);
)sql";

// Several nodes on one database (issue 22): each pending job and each alert with a tier to come
// is worked by the node that claimed it (claimed_by: its store.node_name) until lease_until
// (Unix ms), which that node keeps moving forward while it runs; past it, another node takes
// the row over. Rows written before have no claim: the first node to start takes them.
constexpr const char* kSchema14 = R"sql(
ALTER TABLE notification_jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE notification_jobs ADD COLUMN lease_until INTEGER;
ALTER TABLE call_alerts ADD COLUMN claimed_by TEXT;
ALTER TABLE call_alerts ADD COLUMN lease_until INTEGER;
CREATE INDEX notification_jobs_claimed ON notification_jobs(claimed_by) WHERE state = 'pending';
)sql";

// The nodes on one database (issue 22): each says it is alive once a second; those heard from
// lately share out the ELINs of each pool (routing::ElinShare), so that two nodes routing
// emergency calls from one place at once hand out different ELINs.
constexpr const char* kSchema15 = R"sql(
CREATE TABLE nodes (
  name       TEXT PRIMARY KEY,
  seen_at_ms INTEGER NOT NULL
);
)sql";

// Which process says a node is alive (issue 22): two nodes given the same store.node_name would
// share each other's claims and ELIN share; the heartbeat reads the instance that spoke last
// under its name and tells the node when it was another one.
constexpr const char* kSchema16 = R"sql(
ALTER TABLE nodes ADD COLUMN instance TEXT;
)sql";

constexpr std::array<Migration, 16> kMigrations{{
    {1, "locations, network map, users, devices and reports", kSchema1},
    {2, "ELIN callback mappings", kSchema2},
    {3, "PSAP route override of a location", kSchema3},
    {4, "call records", kSchema4},
    {5, "responder alert outbox and call alerts", kSchema5},
    {6, "API tokens, their sites, audit log; network-provided device reports", kSchema6},
    {7, "desk phone brand, model and common area; routing data version", kSchema7},
    {8, "company locations submitted for approval", kSchema8},
    {9, "users' e-mail addresses", kSchema9},
    {10, "personal locations held for one emergency", kSchema10},
    {11, "when users answered the location sharing question", kSchema11},
    {12, "scheduled test calls, where each trunk stands, and their alerts in the outbox",
     kSchema12},
    {13, "dashboard sign-in passwords of API tokens", kSchema13},
    {14, "claims and leases of pending alerts, for several nodes", kSchema14},
    {15, "the nodes sharing the database", kSchema15},
    {16, "which process speaks for each node", kSchema16},
}};

// The migrations' DDL as PostgreSQL takes it. Written for SQLite, it differs in types only:
// INTEGER is 64 bits in SQLite (times in ms need that), REAL a double; an "id INTEGER PRIMARY
// KEY" is assigned by the database when not given (SQLite's rowid, an identity column here).
// Foreign keys are DEFERRABLE so that an import may check them at its commit
// (deferForeignKeys).
std::string pgDdl(std::string_view sqliteDdl) {
  std::string out(sqliteDdl);
  out = std::regex_replace(out, std::regex(R"(\bid(\s+)INTEGER PRIMARY KEY\b)"),
                           "id$1BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  out = std::regex_replace(out, std::regex(R"(\bINTEGER\b)"), "BIGINT");
  out = std::regex_replace(out, std::regex(R"(\bREAL\b)"), "DOUBLE PRECISION");
  out = std::regex_replace(out,
                           std::regex(R"((REFERENCES \w+\(\w+\)(\s+ON (DELETE|UPDATE) CASCADE)*))"),
                           "$1 DEFERRABLE");
  return out;
}

// PostgreSQL: each identity column's next value past the largest id its table holds. Run after
// each migration: one that copies a table (12: notification_jobs) inserts ids the identity did
// not give, and the next insert would collide with them.
constexpr const char* kPgIdentitiesPastRows = R"sql(
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), '
                   'COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',
                   c.table_name, c.column_name, c.column_name, c.table_name);
  END LOOP;
END $$
)sql";

// "2026-12-06T01:40:00.123Z": when a migration was applied, as recorded with it.
std::string utcNowIso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::array<char, 8> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%03dZ", static_cast<int>(ms.count() % 1000));
  return std::string(text.data(), n) + fraction.data();
}

}  // namespace

int currentSchemaVersion(Db* db) {
  Statement s(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return s.row() ? static_cast<int>(s.columnInt(0)) : 0;
}

Result<int> migrate(Db* db, const std::string& path) {
  auto failure = [&](const std::string& what, const std::string& why) {
    return Error{"store.migration", path + ": " + what + ": " + why};
  };
  std::string error;
  // PostgreSQL: several nodes may start at once; one migrates while the others wait here (a
  // lock of the session, released when it ends or below).
  if (db->postgresql() && !exec(db, "SELECT pg_advisory_lock(5671)", &error)) {
    return failure("cannot take the migration lock", error);
  }
  struct Unlock {
    Db* db;
    ~Unlock() {
      if (db->postgresql()) exec(db, "SELECT pg_advisory_unlock(5671)", nullptr);
    }
  } unlock{db};
  if (!exec(db,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
            &error)) {
    return failure("cannot create schema_migrations", error);
  }
  int latest = kMigrations.back().version;
  if (int current = currentSchemaVersion(db); current > latest) {
    // An older sosproxy must not write to a schema it does not know.
    return failure(
        "schema version " + std::to_string(current),
        "newer than this program knows (" + std::to_string(latest) + "); run a newer sosproxy");
  }
  for (const Migration& m : kMigrations) {
    const std::string what = "migration " + std::to_string(m.version) + " (" + m.description + ")";
    Transaction tx(db, Transaction::Kind::Write);
    if (!tx.begun()) {
      return failure(what, tx.error());
    }
    // Read inside the write transaction: another process opening the same file may have
    // applied it while this one waited for the lock.
    if (currentSchemaVersion(db) >= m.version) {
      continue;
    }
    const std::string sql = db->postgresql() ? pgDdl(m.sql) : std::string(m.sql);
    if (!exec(db, sql.c_str(), &error)) {
      return failure(what, error);
    }
    if (db->postgresql() && !exec(db, kPgIdentitiesPastRows, &error)) {
      return failure(what, error);
    }
    Statement record(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    if (!record.integer(1, m.version).text(2, utcNowIso8601()).run()) {
      return failure(what, record.error());
    }
    if (!tx.commit()) {
      return failure(what, tx.error());
    }
  }
  return currentSchemaVersion(db);
}

}  // namespace sos::store
