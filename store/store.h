#pragma once
// The SQLite store (WAL mode, versioned migrations): sites' locations, the network map, users
// and devices, device network reports, personal locations, ELIN mappings and call records.
// Reads the whole LocationData for a routing snapshot and writes what the admin API receives.
// Lives on the I/O thread: one Store object is used from one thread at a time. The SIP thread
// never touches it (it reads the in-memory snapshot only).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "routing/elin.h"
#include "routing/location.h"
#include "store/call_record.h"

struct sqlite3;

namespace sos::store {

class Store {
 public:
  // Opens (creating if needed) the database at `path`, sets WAL and a busy timeout, and applies
  // pending migrations in one transaction each. Errors name the path and SQLite's message.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schemaVersion() const;

  // Loads the seed file (YAML, format in config/examples/demo-locations.yaml) when the store
  // holds no locations yet; returns true if it seeded. All or nothing (one transaction).
  // Errors are "FILE:LINE:COLUMN: KEY: message" like the configuration's.
  Result<bool> seedIfEmpty(const std::string& seedPath);

  // Everything a routing snapshot is built from, including each device's latest report.
  Result<routing::LocationData> loadLocationData();

  struct ReportOutcome {
    bool newNetwork = false;  // this user has not reported from this network before
  };
  // Records a device report (all or nothing). The user is found by extension, or by the MAC
  // of one of their devices when the extension is empty; the report's extension is filled in.
  Result<ReportOutcome> saveReport(routing::DeviceReport& report);

  // The ELIN -> caller mappings (issue 4): replaced as a whole in one transaction (there is one
  // row per ELIN, so the set is small), and read back at start-up.
  Result<bool> saveElinMappings(const std::vector<routing::CallbackTarget>& mappings);
  Result<std::vector<routing::CallbackTarget>> loadElinMappings();

  // Call records: one row per call, appended when its INVITE has its outcome. Returns the new
  // row's id (also the insertion order, which breaks ties on started_at).
  Result<int64_t> saveCallRecord(const CallRecord& record);
  // The `limit` most recent records, newest (latest started_at) first.
  Result<std::vector<CallRecord>> loadCallRecords(size_t limit);
  // Deletes all but the newest `keep` call records (a store in memory must not grow for ever).
  Result<bool> pruneCallRecords(size_t keep);

 private:
  explicit Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace sos::store
