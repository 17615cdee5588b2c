#include "proxy/location_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/clock.h"
#include "routing/call_planner.h"

namespace sos::proxy {

namespace {

// store.spool, or where it is when not set (config/config.h).
std::string spoolPath(const config::Config& c) {
  if (!c.store.spool.empty()) return c.store.spool;
  if (c.store.backend == config::StoreBackend::Postgresql) {
    return c.store.postgresql.empty() ? "" : "sosproxy-" + std::to_string(c.listen.port) + ".spool";
  }
  return c.store.path.empty() ? "" : c.store.path + ".spool";
}

}  // namespace

LocationService::LocationService(std::shared_ptr<const config::Config> config, Publish publish)
    : config_(std::move(config)), publish_(std::move(publish)), spool_(spoolPath(*config_)) {}

LocationService::~LocationService() = default;

routing::ResolverSettings LocationService::settingsFrom(const config::Config& config) {
  return routing::resolverSettings(config);
}

// The store as the log shows it: the file, or the PostgreSQL server without a password.
static std::string shownStore(const std::string& path) {
  return store::Store::isPostgresql(path) ? store::Store::describePostgresql(path) : path;
}

bool LocationService::openStore(const std::string& path) {
  std::string unreachable;
  auto opened =
      store::Store::openWhenReachable(path, store::Store::Synchronous::Normal, &unreachable);
  if (!opened.ok()) {
    // The error names the store already (without a password).
    spdlog::warn("location store: {}", opened.error().message);
    openError_ = opened.error().message;
    return false;
  }
  store_ = std::move(opened).value();
  if (!unreachable.empty()) {
    awaiting_ = unreachable;
    spdlog::warn(
        "location store: {}; calls are routed on the seed data until the database answers "
        "(tried each second)",
        unreachable);
    return true;
  }
  seedStore(*store_, path);
  return true;
}

void LocationService::seedStore(store::Store& store, const std::string& path) {
  if (config_->store.seed.empty()) return;
  auto seeded = store.seedIfEmpty(config_->store.seed);
  if (!seeded.ok()) {
    spdlog::error("location seed {} not loaded:\n{}", config_->store.seed, seeded.error().message);
  } else if (seeded.value()) {
    spdlog::info("location store {} seeded from {}", shownStore(path), config_->store.seed);
  }
}

void LocationService::start() {
  const std::string& path = config_->store.database();
  bool ok = !path.empty() && openStore(path);
  if (!ok) {
    if (!path.empty()) {
      ++counters_.storeFallbacks;
      spdlog::warn("location store unusable: running on the seed data in memory");
    }
    ok = openStore(":memory:");
    inMemory_ = true;
  }
  loadSpool();
  if (awaiting_.empty()) {
    rebuild();
    return;
  }
  // The database did not answer: the seed's data, read through a store in memory that is
  // dropped at once, until it does (rebuildIfChanged).
  ++counters_.storeFallbacks;
  model::LocationData data;
  if (auto memory = store::Store::open(":memory:"); memory.ok()) {
    seedStore(*memory.value(), ":memory:");
    if (auto loaded = memory.value()->loadLocationData(); loaded.ok()) {
      data = std::move(loaded).value();
    }
  }
  data.version = 0;  // not the database's
  publishData(std::move(data));
}

std::optional<std::string> LocationService::storeProblem() {
  const std::string& path = config_->store.database();
  if (path.empty()) return std::nullopt;
  if (inMemory_ || !store_) {
    return "the database " + shownStore(path) +
           " could not be opened at start: running on the seed data in memory";
  }
  auto writable = store_->checkWritable();
  if (writable.ok()) return std::nullopt;
  if (!awaiting_.empty()) {
    return "not reached since the start, calls routed on the seed data: " +
           writable.error().message;
  }
  return writable.error().message;
}

void LocationService::checkStore() {
  // A SQLite file is looked at by /readyz only: probing its write lock each second would wait
  // on an import or the outbox writer holding it, and call that an outage.
  if (config_->store.backend != config::StoreBackend::Postgresql && !inMemory_) return;
  const auto problem = storeProblem();
  const auto now = std::chrono::steady_clock::now();
  if (!problem) {
    if (storeDownSince_) {
      spdlog::info(
          "store: the database takes writes again after {} s away",
          std::chrono::duration_cast<std::chrono::seconds>(now - *storeDownSince_).count());
      storeDownSince_.reset();
      counters_.storeUp = 1;
    }
    return;
  }
  if (!storeDownSince_) {
    storeDownSince_ = now;
    counters_.storeUp = 0;
    ++counters_.storeOutages;
  } else if (now - lastAlarm_ < kAlarmEvery) {
    return;
  }
  lastAlarm_ = now;
  spdlog::error(
      "ALARM: store: {} (for {} s); calls are routed on the location snapshot in force; device "
      "reports, call records and ELIN mappings not written are kept in memory ({} waiting) "
      "until it takes writes again",
      *problem, std::chrono::duration_cast<std::chrono::seconds>(now - *storeDownSince_).count(),
      waiting());
}

void LocationService::rebuild() {
  model::LocationData data;
  if (store_) {
    auto loaded = store_->loadLocationData();
    if (!loaded.ok()) {
      ++counters_.rebuildFailures;
      spdlog::warn("location data not reloaded ({}); the snapshot in force stays",
                   loaded.error().message);
      if (snapshot()) return;
    } else {
      data = std::move(loaded).value();
    }
  }
  publishData(std::move(data));
}

void LocationService::publishData(model::LocationData data) {
  auto snap = routing::LocationSnapshot::build(std::move(data), settingsFrom(*config_));
  for (const auto& w : snap->warnings()) spdlog::warn("location data: {}", w);
  spdlog::info("location snapshot: {} locations, {} subnets, {} BSSIDs, {} switch ports, {} users",
               snap->data().locations.size(), snap->data().subnets.size(),
               snap->data().bssids.size(), snap->data().switches.size(), snap->data().users.size());
  publish(std::move(snap));
}

void LocationService::rebuildIfChanged() {
  if (!store_) return;
  auto version = store_->dataVersion();
  if (!version.ok()) return;
  if (!awaiting_.empty()) {
    // The first answer of a database that did not answer at the start: its data replaces the
    // seed's (seeded first if it has none, as at a start).
    awaiting_.clear();
    const std::string& path = config_->store.database();
    spdlog::info("location store {} reached: its data replaces the seed's", shownStore(path));
    seedStore(*store_, path);
    rebuild();
    return;
  }
  const auto current = snapshot();
  if (current && current->data().version == version.value()) return;
  spdlog::info("location data changed in the store (version {}); rebuilding the snapshot",
               version.value());
  rebuild();
}

void LocationService::reload(std::shared_ptr<const config::Config> config) {
  if (config) config_ = std::move(config);
  rebuild();
}

void LocationService::publish(std::shared_ptr<const routing::LocationSnapshot> snap) {
  {
    std::lock_guard lock(mutex_);
    snapshot_ = snap;
  }
  if (publish_) publish_(std::move(snap));
}

std::shared_ptr<const routing::LocationSnapshot> LocationService::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

Result<store::Store::ReportOutcome> LocationService::saveReport(model::DeviceReport& report) {
  if (!store_) {
    ++counters_.reportsNotSaved;
    return Error{"store.unavailable", "no location store"};
  }
  const model::DeviceReport given = report;
  auto r = store_->saveReport(report);
  if (r.ok()) {
    ++counters_.reportsSaved;
    if (inMemory_) spool_.append(given);  // the store in memory goes with the process
  } else {
    ++counters_.reportsNotSaved;
    if (r.error().code == "store.write") keep(unsavedReports_, given, "device report");
  }
  return r;
}

void LocationService::loadSpool() {
  if (spool_.path().empty()) return;
  StoreSpool::Kept kept = spool_.load();
  if (kept.unreadable > 0) {
    spdlog::warn(
        "store: {} line(s) of the spool file {} could not be read (cut short by a "
        "crash?): skipped",
        kept.unreadable, spool_.path());
  }
  const size_t total = kept.reports.size() + kept.records.size() + (kept.elins ? 1 : 0);
  if (total == 0) return;
  while (kept.reports.size() > kMaxUnsaved) kept.reports.pop_front();
  while (kept.records.size() > kMaxUnsaved) kept.records.pop_front();
  if (inMemory_) {
    // Into this run's store in memory, for its calls and pages; the file stays as it is, this
    // run's own writes appended to it, for a start that opens the database.
    for (auto& report : kept.reports) (void)store_->saveReport(report);
    if (!kept.records.empty())
      (void)store_->saveCallRecords({kept.records.begin(), kept.records.end()});
    if (kept.elins) (void)store_->saveElinMappings(*kept.elins, unixMsNow());
    spdlog::warn(
        "store: {} device report(s), {} call record(s) and {} ELIN mapping set(s) that a previous "
        "run could not write read from the spool file {}: in the store in memory, and kept in the "
        "file with this run's writes until a start that opens the database",
        kept.reports.size(), kept.records.size(), kept.elins ? 1 : 0, spool_.path());
    return;
  }
  unsavedReports_ = std::move(kept.reports);
  unsavedRecords_ = std::move(kept.records);
  unsavedElins_ = std::move(kept.elins);
  counters_.unsavedWaiting = waiting();
  spdlog::warn(
      "store: {} device report(s), {} call record(s) and {} ELIN mapping set(s) that a previous "
      "run could not write read from the spool file {}: written once the store takes writes",
      unsavedReports_.size(), unsavedRecords_.size(), unsavedElins_ ? 1 : 0, spool_.path());
}

template <class T>
void LocationService::keep(std::deque<T>& queue, const T& item, const char* what) {
  spool_.append(item);
  if (queue.size() >= kMaxUnsaved) {
    queue.pop_front();
    ++counters_.unsavedDropped;
    spdlog::warn("store: more than {} unsaved of one kind; the oldest {} dropped", kMaxUnsaved,
                 what);
  }
  queue.push_back(item);
  counters_.unsavedWaiting = waiting();
}

void LocationService::retryUnsaved() {
  spool_.sync();  // on the seed data in memory, its writes are appended without waiting
  const size_t before = waiting();
  if (before == 0) return;
  if (!store_ || !store_->checkWritable().ok()) return;  // not yet: the next second
  if (unsavedElins_) {
    if (store_->saveElinMappings(*unsavedElins_, unixMsNow()).ok()) {
      unsavedElins_.reset();
      ++counters_.writesReplayed;
    }
  }
  // Each in order; a refusal with the store writable is the item's own (dropped), without it
  // the store went away again (kept for the next try).
  auto drain = [&](auto& queue, auto save, std::atomic<uint64_t>& replayed, const char* what) {
    while (!queue.empty()) {
      auto item = queue.front();
      if (auto r = save(item); !r.ok()) {
        if (!store_->checkWritable().ok()) return false;
        spdlog::warn("store: a kept {} refused, dropped: {}", what, r.error().message);
        ++counters_.unsavedDropped;
      } else {
        ++replayed;
      }
      queue.pop_front();
    }
    return true;
  };
  const bool reports = drain(
      unsavedReports_, [&](model::DeviceReport& r) { return store_->saveReport(r); },
      counters_.writesReplayed, "device report");
  if (reports) {
    drain(
        unsavedRecords_, [&](const store::CallRecord& c) { return store_->saveCallRecord(c); },
        counters_.writesReplayed, "call record");
  }
  counters_.unsavedWaiting = waiting();
  if (counters_.unsavedWaiting != before)
    spool_.rewrite(unsavedReports_, unsavedRecords_, unsavedElins_);
  spdlog::info(
      "store takes writes again: {} of {} kept device reports, call records and ELIN mapping "
      "sets written",
      before - counters_.unsavedWaiting, before);
}

void LocationService::stopping() {
  retryUnsaved();
  if (inMemory_ && !spool_.path().empty() && std::filesystem::exists(spool_.path())) {
    spdlog::warn(
        "store: stopping on the seed data in memory: the device reports, call records and ELIN "
        "mappings written meanwhile are kept in the spool file {}, written to the database by a "
        "start that opens it",
        spool_.path());
    return;
  }
  if (waiting() == 0) return;
  spool_.sync();
  if (!spool_.path().empty()) {
    spdlog::warn(
        "store: stopping with {} device report(s), {} call record(s) and {} ELIN mapping set(s) "
        "the database did not take: kept in the spool file {}, written after the next start",
        unsavedReports_.size(), unsavedRecords_.size(), unsavedElins_ ? 1 : 0, spool_.path());
    return;
  }
  spdlog::error(
      "store: stopping with {} device report(s), {} call record(s) and {} ELIN mapping set(s) "
      "the database did not take: they are lost (the call records are in the routing log)",
      unsavedReports_.size(), unsavedRecords_.size(), unsavedElins_ ? 1 : 0);
}

Result<void> LocationService::saveElinMappings(const std::vector<model::CallbackTarget>& mappings) {
  if (!store_) return Error{"store.unavailable", "no location store"};
  auto r = store_->saveElinMappings(mappings, unixMsNow());
  // Each set is the whole of this node's: the newest one not written is the one to write later.
  if (r.ok()) {
    if (inMemory_) spool_.append(mappings);
    if (unsavedElins_) {
      unsavedElins_.reset();
      spool_.rewrite(unsavedReports_, unsavedRecords_, unsavedElins_);
    }
  } else if (!inMemory_) {
    unsavedElins_ = mappings;
    spool_.append(mappings);
  }
  counters_.unsavedWaiting = waiting();
  return r;
}

size_t LocationService::waiting() const {
  return unsavedReports_.size() + unsavedRecords_.size() + (unsavedElins_ ? 1 : 0);
}

std::vector<model::CallbackTarget> LocationService::loadElinMappings() {
  if (!store_) return {};
  auto loaded = store_->loadElinMappings();
  if (!loaded.ok()) {
    spdlog::warn(
        "ELIN callback mappings not loaded ({}); PSAP callbacks go to the security desk "
        "until new calls are made",
        loaded.error().message);
    return {};
  }
  return std::move(loaded).value();
}

store::CallRecord callRecordFrom(const RoutingLogEntry& e, int64_t endedAtMs) {
  store::CallRecord r;
  r.callId = e.callId;
  // A duration below 0 is "not measured": the record then starts and ends at once.
  r.durationMs = std::max(e.durationMs, 0.0);
  r.endedAtMs = endedAtMs;
  r.startedAtMs = endedAtMs - std::llround(r.durationMs);
  r.caller = e.caller;
  r.dialed = e.dialed;
  r.emergency = e.emergency;
  r.test = e.test;
  r.site = e.site;
  r.location = e.location;
  r.locationBy = e.locationBy;
  r.elin = e.elin;
  r.pidf = e.pidf;
  r.trunk = e.trunk;
  r.route = e.route;
  r.attempts = e.attempts;
  r.outcome = e.outcome;
  r.status = e.status;
  r.reason = e.reason;
  return r;
}

Result<int64_t> LocationService::saveCallRecord(const store::CallRecord& record) {
  if (!store_) {
    ++counters_.callRecordsNotSaved;
    return Error{"store.unavailable", "no location store"};
  }
  auto r = store_->saveCallRecord(record);
  if (r.ok()) {
    ++counters_.callRecordsSaved;
    if (inMemory_) spool_.append(record);
  } else {
    ++counters_.callRecordsNotSaved;
  }
  if (r.ok()) pruneAfter(r.value(), 1);
  return r;
}

size_t LocationService::saveCallRecords(const std::vector<store::CallRecord>& records) {
  if (records.empty()) return 0;
  if (store_) {
    if (auto r = store_->saveCallRecords(records); r.ok()) {
      counters_.callRecordsSaved += records.size();
      if (inMemory_) spool_.append(records);
      pruneAfter(r.value(), static_cast<int64_t>(records.size()));
      return records.size();
    }
  }
  size_t saved = 0;
  for (const auto& record : records) {
    if (auto r = saveCallRecord(record); r.ok()) {
      ++saved;
    } else if (!inMemory_) {
      spdlog::warn("call record of call {} ({} {}) not saved now, kept to be written later: {}",
                   record.callId, record.outcome, record.status, r.error().message);
      keep(unsavedRecords_, record, "call record");
    } else {
      spdlog::warn("call record of call {} ({} {}) not saved: {}", record.callId, record.outcome,
                   record.status, r.error().message);
    }
  }
  return saved;
}

// Without a database file the records live in memory: only the newest are kept, pruned each
// time the row ids pass a multiple of kPruneEvery.
void LocationService::pruneAfter(int64_t lastId, int64_t written) {
  if (!inMemory_ || lastId / kPruneEvery == (lastId - written) / kPruneEvery) return;
  if (auto p = store_->pruneCallRecords(kRecordsInMemory); !p.ok())
    spdlog::warn("call records in memory not pruned: {}", p.error().message);
}

Result<std::vector<store::CallRecord>> LocationService::loadCallRecords(size_t limit) {
  if (!store_) return Error{"store.unavailable", "no location store"};
  return store_->loadCallRecords(limit);
}

}  // namespace sos::proxy
