#pragma once
// The SQLite store (WAL mode, versioned migrations): sites' locations, the network map, users
// and devices, device network reports, personal locations, ELIN mappings and call records.
// Reads the whole LocationData for a routing snapshot and writes what the admin API receives,
// and keeps the outbox of responder alerts.
// Lives on the I/O thread: one Store object is used from one thread at a time. The SIP thread
// never touches it (it reads the in-memory snapshot only). The outbox's writer thread has a
// Store of its own, a second connection to the same database file (issue 14); SQLite's locks
// and the busy timeout keep the two connections' writes apart.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/callback.h"
#include "model/location.h"
#include "store/api_token.h"
#include "store/call_record.h"
#include "store/data_import.h"
#include "store/location_request.h"
#include "store/notification_job.h"
#include "store/test_call.h"

namespace sos::store {

class Db;

class Store {
 public:
  // When a commit is on the disk (SQLite's PRAGMA synchronous, per connection). Normal: in WAL
  // mode a power cut may lose the last commits, never corrupt the file (a crash of the process
  // loses nothing). Full: the WAL is synced at every commit, so a commit that returned survives a
  // power cut too; the outbox's own writer (notify/outbox_writer.h) uses it.
  enum class Synchronous { Normal, Full };

  // Opens (creating if needed) the database at `path`, sets WAL and a busy timeout, and applies
  // pending migrations in one transaction each. Errors name the path and SQLite's message.
  // A `path` that begins postgresql:// or postgres:// is a libpq connection URI instead: the
  // store is then that PostgreSQL database (the same tables, migrations and behaviour; several
  // sosproxy nodes may share it). Its messages show the server without the password.
  static Result<std::unique_ptr<Store>> open(const std::string& path,
                                             Synchronous synchronous = Synchronous::Normal);
  // The same, but a PostgreSQL server that cannot be reached now (down, the network away, the
  // login refused) is no error: the store is returned with `unreachable` saying why, and
  // connects at a statement once the server answers (a try at most once a second, never
  // waiting long), applying the pending migrations before anything else. Its statements fail
  // until then. `unreachable` is left empty when the store is connected, or not PostgreSQL.
  static Result<std::unique_ptr<Store>> openWhenReachable(const std::string& path,
                                                          Synchronous synchronous,
                                                          std::string* unreachable);
  static bool isPostgresql(const std::string& path);
  // "postgresql://user@host:port/dbname" of a connection string, for messages.
  static std::string describePostgresql(const std::string& conninfo);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schemaVersion() const;
  // What this connection does at a commit (read back from SQLite).
  Synchronous synchronous() const;
  // The database file's absolute name, for a second connection to the same database; "" for a
  // store in memory, which no other connection can see.
  std::string fileName() const;

  // Could a write be made now (for /readyz, issue 21)? Checked without writing anything: the
  // file at the path is still the one opened (not deleted or replaced underneath), the
  // connection is not read-only, and the write lock can be taken (BEGIN IMMEDIATE, then
  // ROLLBACK; another writer holding it is waited for up to the busy timeout). The Error says
  // which of these failed. A store in memory is always writable.
  Result<bool> checkWritable();

  // Loads the seed file (YAML, format in config/examples/demo-locations.yaml) when the store
  // holds no locations yet; returns true if it seeded. All or nothing (one transaction).
  // Errors are "FILE:LINE:COLUMN: KEY: message" like the configuration's.
  Result<bool> seedIfEmpty(const std::string& seedPath);

  // Reads and checks the seed file as seedIfEmpty would, writing nothing anywhere (for
  // check-config). Errors as seedIfEmpty's.
  static Result<void> checkSeed(const std::string& seedPath);

  // Everything a routing snapshot is built from, including each device's latest report, and
  // the data version it was read at.
  Result<model::LocationData> loadLocationData();
  // The count of committed changes to what loadLocationData reads (migration 7), by this or any
  // other connection: one cheap read, for a reader that polls for changes.
  Result<int64_t> dataVersion();

  struct ReportOutcome {
    bool newNetwork = false;  // this user has not reported from this network before
  };
  // Records a device report (all or nothing). The user is found by extension, or by the MAC
  // of one of their devices when the extension is empty; the report's extension is filled in.
  Result<ReportOutcome> saveReport(model::DeviceReport& report);

  // The latest report of each device, of each kind (the phone's and the network's), as
  // loadLocationData reads them: for a reader that needs them newer than a snapshot's (device
  // reports do not move the data version).
  Result<std::vector<model::DeviceReport>> latestReports();
  // The report stored with this id, or none (issue 22: another node saved it and its change
  // feed named it).
  Result<std::optional<model::DeviceReport>> reportById(int64_t id);
  // The reports stored after the one with id `afterId`, oldest first, at most `limit`, each
  // with its id (a node whose change feed was away catches up with them); and the newest id
  // (0 for none).
  Result<std::vector<std::pair<int64_t, model::DeviceReport>>> reportsAfter(int64_t afterId,
                                                                            size_t limit);
  Result<int64_t> lastReportId();
  // The latest report of any of this user's devices (the network's or the phone's), or none.
  Result<std::optional<model::DeviceReport>> latestReport(const std::string& extension);

  // Re-trigger (issue 17): these users are asked where they are again, at their next report
  // from any network (the networks they reported from are forgotten), in one transaction with
  // `audit`. Returns each user found with their e-mail address ("" for none); unknown
  // extensions are left out.
  Result<std::vector<std::pair<std::string, std::string>>> resetPrompts(
      const std::vector<std::string>& extensions, const AuditEntry& audit);
  // The user's e-mail address ("" for none or no such user).
  Result<std::string> userEmail(const std::string& extension);
  // The user's own answer to "may sosproxy use your device's network data?" (issue 17): their
  // location_permission and when they gave it (model::UserRow::permissionAnsweredAtMs), with
  // `audit`, in one transaction; the routing data's version moves. False when there is no such
  // user (nothing written).
  Result<bool> answerLocationPermission(const std::string& extension, bool allowed, int64_t atMs,
                                        const AuditEntry& audit);

  // The ELIN -> caller mappings (issue 4), one row per ELIN, read back at start-up. In one
  // transaction: each mapping given is written unless the row holds a later assignment of its
  // ELIN, and every row whose window has ended by `nowMs` is deleted. So several nodes on one
  // database (issue 22) each write the mappings they hold without removing one another's; with
  // PostgreSQL the other nodes hear of it at the commit (kElinChannel) and read them.
  Result<void> saveElinMappings(const std::vector<model::CallbackTarget>& mappings, int64_t nowMs);
  Result<std::vector<model::CallbackTarget>> loadElinMappings();

  // Call records: one row per call, appended when its INVITE has its outcome. Returns the new
  // row's id (also the insertion order, which breaks ties on started_at).
  Result<int64_t> saveCallRecord(const CallRecord& record);
  // Several records in one transaction, in their order: all land or none. Returns the last
  // row's id (0 for none).
  Result<int64_t> saveCallRecords(const std::vector<CallRecord>& records);
  // The `limit` most recent records, newest (latest started_at) first.
  Result<std::vector<CallRecord>> loadCallRecords(size_t limit);
  // The records `query` selects, newest first (by id, the order they were written).
  Result<std::vector<CallRecord>> findCallRecords(const CallQuery& query);
  // Deletes all but the newest `keep` call records (a store in memory must not grow for ever).
  Result<void> pruneCallRecords(size_t keep);

  // The outbox of responder alerts (issue 6). Writes `jobs` (their ids filled in) and, when
  // given, `alert`, in one transaction: all or nothing. A call that has its alert already keeps
  // it; only its details are replaced by `alert`'s (its tier, escalation time and
  // acknowledgement are recordEscalation's and acknowledgeCallAlert's to write, on another
  // connection perhaps).
  Result<void> insertNotificationJobs(std::vector<NotificationJob>& jobs,
                                      const CallAlert* alert = nullptr);
  // Writes an escalation's `jobs` (their ids filled in) and the call's new tier and next
  // escalation time (0: none) in one transaction; the alert's details are left as they are.
  // With a `node`, only while the alert is that node's (or nobody's): false, and nothing
  // written, when another node has claimed it since (or no alert has that call id).
  Result<bool> recordEscalation(std::vector<NotificationJob>& jobs, const std::string& callId,
                                int tier, int64_t escalateAtMs, const std::string& node = "");
  // Pending jobs whose next attempt is due by `untilMs`, earliest first (INT64_MAX: all).
  Result<std::vector<NotificationJob>> loadDueNotificationJobs(int64_t untilMs);
  // Every job of a call, in the order written.
  Result<std::vector<NotificationJob>> loadNotificationJobs(const std::string& callId);
  // Each records the outcome of one attempt (attempts + 1). False when no pending job has
  // that id (delivered or given up already, or never written). Only a test call's alert is
  // ever given up (issue 14): an emergency call's is retried until delivered.
  Result<bool> markNotificationDelivered(int64_t id, int64_t atMs);
  // With a `node`, a retry is written only while the job is that node's (or nobody's).
  Result<bool> markNotificationRetry(int64_t id, int64_t nextAttemptAtMs, const std::string& error,
                                     const std::string& node = "");
  Result<bool> markNotificationGivenUp(int64_t id, const std::string& error);

  // Writes a call's alert whole; a call alerted before keeps its first_event_at and
  // acknowledgement (only acknowledgeCallAlert writes those).
  Result<void> upsertCallAlert(const CallAlert& alert);
  Result<std::optional<CallAlert>> loadCallAlert(const std::string& callId);
  // Records who acknowledged the call and stops its escalation. False when no call has that
  // id; true, keeping the first one, when it was acknowledged before.
  Result<bool> acknowledgeCallAlert(const std::string& callId, const std::string& by, int64_t atMs);
  // Unacknowledged alerts whose next tier is due by `untilMs`, earliest first (INT64_MAX: all
  // that still have a tier to escalate to).
  Result<std::vector<CallAlert>> loadEscalationsDue(int64_t untilMs);

  // Several nodes on one database (issue 22): each pending job and each alert with a tier to
  // come is worked by the node that claimed it, for as long as its lease lasts. A claim takes
  // at most `limit` of them (see ClaimScope) for claim.node until claim.leaseUntilMs and
  // returns them (jobs earliest due first, alerts earliest escalation first); on PostgreSQL
  // rows another node is claiming at the same moment are skipped (FOR UPDATE SKIP LOCKED).
  Result<std::vector<NotificationJob>> claimNotificationJobs(const OutboxClaim& claim,
                                                             int limit = 1000);
  Result<std::vector<CallAlert>> claimEscalations(const OutboxClaim& claim, int limit = 1000);
  // Moves the lease of everything `node` has claimed and still works on to `leaseUntilMs`.
  Result<void> renewOutboxClaims(const std::string& node, int64_t leaseUntilMs);
  // Says that `node` is alive at nowMs, spoken for by `instance` (this process: host, pid and
  // a random part), and returns the names of the nodes heard from since nowMs - aliveWithinMs
  // (this one included), in the database's order of names: every node reads the same list, and
  // so the same share of each ELIN pool (routing::ElinShare). When another instance spoke for
  // `node` within that window, `otherInstance` names it: two processes with one
  // store.node_name.
  // The database's own clock, Unix milliseconds (PostgreSQL: the server's; SQLite: this
  // host's): what the nodes sharing it measure their clocks against (base/clock.h).
  Result<int64_t> databaseClockMs();
  struct NodeHeartbeat {
    std::vector<std::string> alive;
    std::string otherInstance;  // "" when none
    int64_t otherSeenAtMs = 0;
  };
  Result<NodeHeartbeat> heartbeatNode(const std::string& node, const std::string& instance,
                                      int64_t nowMs, int64_t aliveWithinMs);

  // API tokens (issue 16). createToken fills in the id; a name already used (even by a revoked
  // token) is refused ("store.conflict"). `audit`, when given, is written in the same
  // transaction.
  Result<void> createToken(ApiToken& token, const AuditEntry* audit = nullptr);
  // The token in force with that hash, or none (unknown or revoked).
  Result<std::optional<ApiToken>> findTokenByHash(const std::string& hash);
  // Every token, revoked ones included, in creation order.
  Result<std::vector<ApiToken>> listTokens();
  // False when no token in force has that name.
  Result<bool> revokeToken(const std::string& name, int64_t atMs,
                           const AuditEntry* audit = nullptr);
  // The dashboard password of the token in force named `name` (issue 18): set (replacing any),
  // or cleared when `password` is null. False when no token in force has that name.
  Result<bool> setTokenPassword(const std::string& name, const PasswordHash* password, int64_t atMs,
                                const AuditEntry* audit = nullptr);
  // The token in force named `name` and its password, or none (no such token, or it has none).
  Result<std::optional<PasswordLogin>> findPasswordLogin(const std::string& name);

  // A company location written through the API (issue 16): `text` is one location as the seed
  // file writes one under `locations:` (JSON is YAML too), checked by the seed's own rules
  // against the sites in the store, then written with its ELINs, subnets, BSSIDs and switch
  // ports replacing whatever it had, in one transaction with `audit`. `key` "" creates (an
  // existing key is "store.conflict"); else the location keyed `key` is replaced (absent:
  // "store.not-found", a body with another key: "store.invalid-location"). Problems in the
  // text: "store.invalid-location", one per line, "LINE:COLUMN: FIELD: what" in the text. An
  // ELIN, subnet, BSSID or switch port another location has: "store.conflict".
  struct LocationWrite {
    std::string key;
    std::string site;
    bool created = false;
  };
  Result<LocationWrite> putLocation(const std::string& text, const std::string& key,
                                    const AuditEntry& audit);
  // Deletes the location with its ELINs and networks. False when no location has that key;
  // "store.conflict" when it is a site's or the account's default.
  Result<bool> deleteLocation(const std::string& key, const AuditEntry& audit);

  // Users, desk phones, company or personal locations or sites added, changed or deleted
  // (issue 16: a CSV import, an API edit). The records are checked by the seed's rules and against
  // each other and the store (sites, users, unique DIDs, ELINs and networks, defaults that stay);
  // any problem writes nothing: "import.invalid" with one line per problem at its place
  // ("SOURCE:LINE: COLUMN: FIELD: what"), "import.forbidden" when a record's site is outside
  // request.sites, "store.not-found" for a key to delete that is not there. Otherwise the
  // difference from the stored records is returned and, unless a dry run, written in one
  // transaction with one audit entry per record changed and the data version counted.
  Result<ImportResult> applyRecords(const ImportRequest& request);
  // Every stored record of a kind, in key order, values as an export writes them.
  Result<std::vector<DataRecord>> loadRecords(DataKind kind);
  // A kind as a CSV file (a header row, then a row per record in key order): of the given sites
  // only, or of all when `sites` is empty. Imported back, it changes nothing.
  Result<std::string> exportCsv(DataKind kind, const std::vector<std::string>& sites = {});

  // Company locations submitted for approval (issue 17). submit fills in the id and writes the
  // request pending, with `audit`, in one transaction.
  Result<void> submitLocationRequest(LocationRequest& request, const AuditEntry& audit);
  // Newest first.
  Result<std::vector<LocationRequest>> loadLocationRequests(const LocationRequestQuery& query);
  Result<std::optional<LocationRequest>> loadLocationRequest(int64_t id);
  // False when no pending request has that id. An approval is applyRecords with
  // ImportRequest::approvesRequest.
  Result<bool> rejectLocationRequest(int64_t id, const std::string& reason,
                                     const AuditEntry& audit);

  // Scheduled test calls (issue 21). Saves one result and brings its site's and trunk's status
  // up to date in one transaction; returns that status (consecutiveFailures counts this result,
  // 0 once a test passed). Only the newest kTestCallsKept results of a site and trunk are kept;
  // the status keeps the last success and failure whatever their age.
  static constexpr int64_t kTestCallsKept = 1000;
  Result<TestCallStatus> saveTestCall(const TestCallResult& result);
  // Every site's and trunk's status (of the given sites only, unless `sites` is empty), by site
  // and trunk.
  Result<std::vector<TestCallStatus>> testCallStatuses(const std::vector<std::string>& sites = {});
  // The newest `limit` results, newest first (of one site and trunk when both are given).
  Result<std::vector<TestCallResult>> loadTestCalls(size_t limit, const std::string& site = "",
                                                    const std::string& trunk = "");

  // The audit trail: appended to, read newest first.
  Result<int64_t> appendAudit(const AuditEntry& entry);
  Result<std::vector<AuditEntry>> loadAudit(const AuditQuery& query);

 private:
  explicit Store(Db* db, std::string path) : db_(db), path_(std::move(path)) {}
  // `unreachable` null: a connection that fails is an error; else see openWhenReachable.
  static Result<std::unique_ptr<Store>> openPostgresql(const std::string& conninfo,
                                                       Synchronous synchronous,
                                                       std::string* unreachable);
  static int waitForLock(void* store, int tries);
  Db* db_;                // owned
  std::string path_;      // for messages: the file, or the PostgreSQL server without a password
  std::string conninfo_;  // PostgreSQL: the connection string as given
  std::chrono::steady_clock::time_point waitingSince_;  // of the lock waitForLock waits for
  // The database file's identity once opened (device, inode); none for a store in memory.
  std::optional<std::pair<uint64_t, uint64_t>> fileId_;
};

}  // namespace sos::store
