#pragma once
// Keeps the location data: opens the store, seeds it, builds routing snapshots off the SIP
// thread and hands each new one over (publish), records device reports and call records. Runs on
// the I/O thread (start() on the main thread before any other thread uses it).
//
// Fallbacks (the emergency path never depends on the database):
// - a PostgreSQL server that does not answer at the start: the seed file's data until it does
//   (the store connects then; what could not be written meanwhile is written then);
// - the database cannot be opened or read: an in-memory store seeded from the seed file;
// - that fails too: a snapshot with no data, whose account default is "unknown location";
// - a rebuild fails: the previous snapshot stays in force.
// Each logs a warning and bumps a counter.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/counters.h"
#include "config/config.h"
#include "proxy/routing_log.h"
#include "proxy/store_spool.h"
#include "routing/location_resolver.h"
#include "store/store.h"

namespace sos::proxy {

struct LocationCounters {
  std::atomic<uint64_t> storeFallbacks{0};   // database unusable at start: ran on seed data
  std::atomic<uint64_t> rebuildFailures{0};  // snapshot rebuilds that kept the old one
  std::atomic<uint64_t> reportsSaved{0};
  std::atomic<uint64_t> reportsNotSaved{0};  // store write failed; report used in memory only
  std::atomic<uint64_t> callRecordsSaved{0};
  std::atomic<uint64_t> callRecordsNotSaved{0};  // store write failed; the routing log has it
  // SIP MESSAGEs to desk phones on a new network (issue 17): handed to the SIP thread, and
  // those not sent by reason ("reported-ip-not-sender": the report named another address than
  // the one it came from; "no-address": it named none).
  std::atomic<uint64_t> deskPhoneMessagesSent{0};
  LabelledCounts deskPhoneMessagesWithheld;
  // PostgreSQL's change feed (proxy/store_watch.h, issue 22): notifications heard (a node hears
  // its own writes too), device reports read from it, feeds lost.
  std::atomic<uint64_t> storeChangesHeard{0};
  std::atomic<uint64_t> storeReportsHeard{0};
  std::atomic<uint64_t> storeElinReads{0};  // ELIN mappings read because the feed said so
  std::atomic<uint64_t> storeFeedLosses{0};
  // Heartbeats that found another process speaking for this node's store.node_name.
  std::atomic<uint64_t> nodeNameClashes{0};
  // How far the database server's clock is ahead of this host's, ms (negative: behind), as
  // the last heartbeat measured it (PostgreSQL).
  std::atomic<int64_t> clockOffsetMs{0};
  // Writes the store could not take, kept and written later (LocationService::retryUnsaved):
  // written then, dropped (over the cap, or refused once the store took writes again), waiting
  // (reports and records each, and an ELIN mapping set as one).
  std::atomic<uint64_t> writesReplayed{0};
  std::atomic<uint64_t> unsavedDropped{0};
  std::atomic<uint64_t> unsavedWaiting{0};
  // The store's availability as the once-a-second check saw it (LocationService::checkStore):
  // 1 while it takes writes, 0 while it does not (ALARM); how many times it went away.
  std::atomic<uint64_t> storeUp{1};
  std::atomic<uint64_t> storeOutages{0};
};

// A call's record from its final routing-log entry. `endedAtMs` (Unix ms) is when the outcome
// was known; the start is that minus the entry's duration, so both come from one clock reading.
store::CallRecord callRecordFrom(const RoutingLogEntry& e, int64_t endedAtMs);

class LocationService {
 public:
  using Publish = std::function<void(std::shared_ptr<const routing::LocationSnapshot>)>;

  LocationService(std::shared_ptr<const config::Config> config, Publish publish);
  ~LocationService();

  void start();
  void rebuild();
  // Rebuilds when the store's data version differs from the snapshot's: another process (the
  // CLI's import) or connection committed a change. Cheap when nothing changed (one read);
  // called about once a second by the I/O thread. A store that cannot be read is left alone
  // (the snapshot in force stays; the next poll tries again).
  void rebuildIfChanged();
  // A reloaded configuration: its location settings (precedence, staleness) apply from the
  // snapshot rebuilt now. The store stays the one opened at start. A failed rebuild keeps the
  // snapshot in force.
  void reload(std::shared_ptr<const config::Config> config);

  std::shared_ptr<const routing::LocationSnapshot> snapshot() const;
  Result<store::Store::ReportOutcome> saveReport(model::DeviceReport& report);
  // ELIN -> caller mappings (issue 4): written after every assignment (a set not written is
  // kept for retryUnsaved), read at start-up.
  Result<void> saveElinMappings(const std::vector<model::CallbackTarget>& mappings);
  std::vector<model::CallbackTarget> loadElinMappings();
  // Call records: one per call whose INVITE had its outcome, written to the store in force (the
  // in-memory one when there is no database file), counted saved or not saved.
  Result<int64_t> saveCallRecord(const store::CallRecord& record);
  // Several at once, in one transaction; if that fails, one by one, so that one bad record does
  // not cost the others. Returns how many were saved.
  size_t saveCallRecords(const std::vector<store::CallRecord>& records);
  Result<std::vector<store::CallRecord>> loadCallRecords(size_t limit);
  // Device reports and call records the store could not take (a write error: the database
  // down, unreachable or locked; not a report naming nobody) are kept in memory, oldest first,
  // at most kMaxUnsaved of each (the oldest dropped beyond, counted), and in the spool file
  // (proxy/store_spool.h), and written here, in order, once the store takes writes again
  // (Store::checkWritable); so is the newest set of ELIN mappings not written (the first,
  // before them). The spool file is then written anew with what is left. Called once a second by
  // the I/O thread (StoreWatch). One the writable store still refuses is dropped with a warning.
  void retryUnsaved();
  static constexpr size_t kMaxUnsaved = 10000;
  // At a stop, after the last call records were handed over: one more try of what is kept,
  // then a line naming what the spool file keeps for the next start (an error line naming what
  // is lost with the process when there is no spool file).
  void stopping();
  // The spool file's path (store.spool, or its default); empty: none.
  const std::string& spoolFile() const { return spool_.path(); }
  const LocationCounters& counters() const { return counters_; }
  LocationCounters& counters() { return counters_; }  // the I/O thread's own counts
  // Why the store cannot take a write now (for /readyz), or none when it can: the database of
  // store.path could not be opened at start (running on the seed data in memory), the
  // PostgreSQL server has not answered since the start (routing on the seed's data), or
  // Store::checkWritable() failed. A configuration without store.path keeps its data in memory
  // by choice: nothing to report.
  std::optional<std::string> storeProblem();
  // Once a second (StoreWatch), I/O thread: a PostgreSQL store that stops taking writes (or has
  // not answered since the start), or a database that could not be opened at start (running on
  // the seed in memory), is an ALARM
  // line at once and every kAlarmEvery while it lasts, and the storeUp gauge at 0; its return
  // is an info line with how long it was away. A configuration without a database has nothing
  // to say.
  void checkStore();
  static constexpr std::chrono::seconds kAlarmEvery{60};
  // Why the database of store.path could not be opened at start (its path and SQLite's
  // message), so that the data lives in memory; "" when it was opened, or there is none.
  const std::string& openError() const { return openError_; }
  // The open store (a database file, or memory), for the other I/O-thread users of it: the
  // responder-alert outbox. Null only before start().
  store::Store* store() { return store_.get(); }

  static routing::ResolverSettings settingsFrom(const config::Config& config);

 private:
  bool openStore(const std::string& path);
  void seedStore(store::Store& store, const std::string& path);
  void publishData(model::LocationData data);
  void publish(std::shared_ptr<const routing::LocationSnapshot> snap);
  void pruneAfter(int64_t lastId, int64_t written);
  template <class T>
  void keep(std::deque<T>& queue, const T& item, const char* what);
  // The kept writes a previous run left in the spool file (start()).
  void loadSpool();

  std::shared_ptr<const config::Config> config_;
  Publish publish_;
  std::unique_ptr<store::Store> store_;
  mutable std::mutex mutex_;  // guards snapshot_ (read by the admin API, written by rebuilds)
  std::shared_ptr<const routing::LocationSnapshot> snapshot_;
  bool inMemory_ = false;  // no database file: call records are pruned to the newest
  std::deque<model::DeviceReport> unsavedReports_;
  std::deque<store::CallRecord> unsavedRecords_;
  std::optional<std::vector<model::CallbackTarget>> unsavedElins_;  // the newest set not written
  StoreSpool spool_;  // the kept writes on disk (store.spool)
  size_t waiting() const;
  std::string openError_;
  // Why the PostgreSQL database did not answer at the start (the snapshot is the seed's until
  // it does); "" once it has, or when it did.
  std::string awaiting_;
  std::optional<std::chrono::steady_clock::time_point> storeDownSince_;  // checkStore's
  std::chrono::steady_clock::time_point lastAlarm_{};
  static constexpr size_t kRecordsInMemory = 10000;
  static constexpr int64_t kPruneEvery = 1000;
  LocationCounters counters_;
};

}  // namespace sos::proxy
