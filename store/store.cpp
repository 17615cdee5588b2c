// Store: opening the database, seeding it, reading the routing data, recording device
// reports and keeping call records. Every value reaches SQLite as a bound parameter; the only
// text spliced into statements is column names from kCivicFields.

#include "store/store.h"

#include "base/text.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <sys/stat.h>

#include "model/mac.h"
#include "store/change_feed.h"
#include "store/db.h"
#include "store/seed.h"

namespace sos::store {
namespace {

constexpr std::chrono::milliseconds kBusyTimeout{2000};
// How often a connection tries again for the write lock another connection holds (the outbox's
// writer and the I/O thread, issue 14). SQLite's own busy timeout sleeps 1, 2, 5, 10 ms and more
// between tries: measured here, a lock held 0.3, 1.5 and 4 ms (a synced commit of the writer)
// kept the other connection waiting 1.1, 3.3 and 8.3 ms.
constexpr std::chrono::microseconds kBusyRetryEvery{200};

// (device, inode) of the file at `path`, or none when there is no file there.
std::optional<std::pair<uint64_t, uint64_t>> fileIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

model::LocationKind kindFromName(std::string_view name) {
  if (name == "site-default") {
    return model::LocationKind::SiteDefault;
  }
  return name == "account-default" ? model::LocationKind::AccountDefault
                                   : model::LocationKind::Company;
}

void readCivic(const Statement& s, int first, model::CivicAddress& civic) {
  for (const auto& field : kCivicFields) {
    civic.*(field.member) = s.columnText(first++);
  }
}

// The psap_route column (migration 3): trunk names separated by single spaces; '' is none.
std::vector<std::string> splitRoute(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    size_t space = std::min(text.find(' '), text.size());
    if (space > 0) {
      names.emplace_back(text.substr(0, space));
    }
    text.remove_prefix(std::min(space + 1, text.size()));
  }
  return names;
}

// What identifies "where the device is" for the new-network question: the most specific
// signal the report has, as a readable string: the key of user_networks (each network a user
// was seen on).
std::string networkIdentity(const std::string& bssid, const std::string& chassis,
                            const std::string& port, const std::string& ip) {
  if (!bssid.empty()) {
    return "bssid " + bssid;
  }
  if (!chassis.empty()) {
    return "switch " + chassis + (port.empty() ? "" : " port " + port);
  }
  return ip.empty() ? "" : "ip " + ip;
}

// The latest report of each device, of each kind (the phone's own and the network's, which
// routing::preferredReport weighs): by MAC, or by extension for reports that name no MAC (a
// softphone that cannot read its own). Ties on time go to the later insert.
constexpr const char* kLatestReportsSql =
    "SELECT extension, mac, ip, bssid, chassis, port, reported_at_ms, network_provided "
    "FROM ("
    "  SELECT *, row_number() OVER ("
    "    PARTITION BY COALESCE('mac ' || mac, 'extension ' || extension), network_provided"
    "    ORDER BY reported_at_ms DESC, id DESC) AS newest"
    "  FROM device_reports) AS reports"
    " WHERE newest = 1 ORDER BY extension, mac, reported_at_ms";

}  // namespace

bool Store::isPostgresql(const std::string& path) {
  return path.rfind("postgresql://", 0) == 0 || path.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Synchronous synchronous) {
  if (isPostgresql(path)) return openPostgresql(path, synchronous, nullptr);
  auto failure = [&](const std::string& why) { return Error{"store.open", path + ": " + why}; };
  if (path.empty()) {
    return failure("no database path given");
  }
  bool special = path == ":memory:" || path.rfind("file:", 0) == 0;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!special && !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return failure("cannot create directory " + parent.string() + ": " + ec.message());
    }
  }
  sqlite3* lite = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &lite,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  // Owned from here, even when opening failed (SQLite still allocates the handle).
  std::unique_ptr<Store> store(new Store(new Db(lite), path));
  if (rc != SQLITE_OK) {
    return failure(lite != nullptr ? sqlite3_errmsg(lite) : sqlite3_errstr(rc));
  }
  sqlite3_busy_handler(lite, &Store::waitForLock, store.get());
  // WAL lets the snapshot reader run while the I/O thread writes; NORMAL is durable enough in
  // WAL mode for the location data (a power cut may lose the last commits, never corrupt), FULL
  // is for the outbox's writer. These are also the first statements to read the file, so a file
  // that is not a database fails here.
  std::string error;
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL",
        synchronous == Synchronous::Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON"}) {
    if (!exec(store->db_, pragma, &error)) {
      return failure(error);
    }
  }
  auto migrated = migrate(store->db_, path);
  if (!migrated.ok()) {
    return migrated.error();
  }
  if (!special) store->fileId_ = fileIdentity(path);
  return store;
}

namespace {
bool libpqCanRead(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) return false;
  PQconninfoFree(options);
  return true;
}
}  // namespace

// The connection string as messages show it: without a password.
std::string Store::describePostgresql(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "postgresql://(a connection string libpq cannot read)";
  }
  std::string user, host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key = o->keyword;
    if (key == "user") user = o->val;
    if (key == "host") host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  return "postgresql://" + (user.empty() ? "" : user + "@") + host +
         (port.empty() ? "" : ":" + port) + "/" + dbname;
}

Result<std::unique_ptr<Store>> Store::openWhenReachable(const std::string& path,
                                                        Synchronous synchronous,
                                                        std::string* unreachable) {
  if (isPostgresql(path)) return openPostgresql(path, synchronous, unreachable);
  return open(path, synchronous);
}

Result<std::unique_ptr<Store>> Store::openPostgresql(const std::string& conninfo,
                                                     Synchronous synchronous,
                                                     std::string* unreachable) {
  const std::string shown = describePostgresql(conninfo);
  auto failure = [&](const std::string& why) { return Error{"store.open", shown + ": " + why}; };
  // As SQLite's synchronous: Normal may lose the last commits if the server crashes, never
  // corrupts; Full waits for the WAL on disk at each commit (the outbox's writer).
  std::string setup = synchronous == Synchronous::Full
                          ? "SET synchronous_commit = on; SET client_min_messages = warning"
                          : "SET synchronous_commit = off; SET client_min_messages = warning";
  std::string error;
  auto db = Db::connectPostgresql(conninfo, std::move(setup), &error);
  std::unique_ptr<Store> store(new Store(db.release(), shown));
  store->conninfo_ = conninfo;
  if (!error.empty()) {
    // A string libpq cannot read never connects: that is the configuration's error.
    if (unreachable == nullptr || !libpqCanRead(conninfo)) return failure(error);
    *unreachable = shown + ": " + error;
    Db* const db = store->db_;
    db->setFirstConnect([db, shown](std::string* why) {
      auto migrated = migrate(db, shown);
      if (!migrated.ok()) *why = migrated.error().message;
      return migrated.ok();
    });
    return store;
  }
  auto migrated = migrate(store->db_, shown);
  if (!migrated.ok()) {
    return migrated.error();
  }
  return store;
}

Result<bool> Store::checkWritable() {
  auto failure = [&](const std::string& why) {
    return Error{"store.unwritable", path_ + ": " + why};
  };
  if (db_->postgresql()) {
    Statement standby(db_, "SELECT pg_is_in_recovery()");
    if (!standby.row()) return failure(standby.error());
    if (standby.columnInt(0) != 0) return failure("the server is a standby (read-only)");
  } else {
    if (fileId_) {
      auto now = fileIdentity(path_);
      if (!now)
        return failure("the database file is gone (deleted while open): writes would be lost");
      if (*now != *fileId_)
        return failure("the database file was replaced while open: writes go to the old one");
    }
    if (sqlite3_db_readonly(db_->lite(), "main") == 1) {
      return failure("the database is read-only");
    }
  }
  Transaction probe(db_, Transaction::Kind::Write);
  if (!probe.begun()) return failure(probe.error());
  return true;  // the destructor rolls back: nothing was written
}

Store::~Store() { delete db_; }

// SQLite's busy handler: true (try again) until kBusyTimeout has passed since the first try.
int Store::waitForLock(void* store, int tries) {
  auto* self = static_cast<Store*>(store);
  const auto now = std::chrono::steady_clock::now();
  if (tries == 0) self->waitingSince_ = now;
  if (now - self->waitingSince_ >= kBusyTimeout) return 0;
  std::this_thread::sleep_for(kBusyRetryEvery);
  return 1;
}

int Store::schemaVersion() const { return currentSchemaVersion(db_); }

Store::Synchronous Store::synchronous() const {
  if (db_->postgresql()) {
    Statement s(db_, "SHOW synchronous_commit");
    return s.row() && s.columnText(0) == "on" ? Synchronous::Full : Synchronous::Normal;
  }
  Statement s(db_, "PRAGMA synchronous");
  // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA: this store sets only the two, FULL and above sync commits.
  return s.row() && s.columnInt(0) >= 2 ? Synchronous::Full : Synchronous::Normal;
}

std::string Store::fileName() const {
  if (db_->postgresql()) return conninfo_;
  // SQLite gives "" (or null) for a database in memory or a temporary one.
  const char* name = sqlite3_db_filename(db_->lite(), "main");
  return name != nullptr ? name : "";
}

Result<bool> Store::seedIfEmpty(const std::string& seedPath) {
  {
    Statement any(db_, "SELECT EXISTS (SELECT 1 FROM locations)");
    if (!any.row()) {
      return Error{"store.read", path_ + ": " + any.error()};
    }
    if (any.columnInt(0) != 0) {
      return false;  // seeded before, or edited since: the seed never overwrites
    }
  }
  auto text = readWholeFile(seedPath);
  if (!text.ok()) {
    return Error{"store.seed-unreadable", seedPath + ": cannot read: " + text.error().message};
  }
  auto seed = parseSeed(text.value(), seedPath);
  if (!seed.ok()) {
    return seed.error();
  }
  // One transaction: a seed either lands whole or not at all.
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  if (auto failed = writeSeed(db_, seed.value(), seedPath)) {
    return *failed;
  }
  if (auto bumped = bumpDataVersion(db_, path_); !bumped.ok()) return bumped.error();
  if (!tx.commit()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  return true;
}

Result<void> Store::checkSeed(const std::string& seedPath) {
  auto text = readWholeFile(seedPath);
  if (!text.ok()) {
    return Error{"store.seed-unreadable", seedPath + ": cannot read: " + text.error().message};
  }
  auto seed = parseSeed(text.value(), seedPath);
  if (!seed.ok()) return seed.error();
  return {};
}

Result<int64_t> Store::dataVersion() {
  Statement version(db_, "SELECT version FROM data_version WHERE id = 1");
  if (!version.row()) {
    return Error{"store.read",
                 path_ + ": data version: " + (version.failed() ? version.error() : "no row")};
  }
  return version.columnInt(0);
}

Result<model::LocationData> Store::loadLocationData() {
  // One read transaction: the snapshot sees a single state even while the writer commits.
  Transaction tx(db_, Transaction::Kind::Read);
  if (!tx.begun()) {
    return Error{"store.read", path_ + ": " + tx.error()};
  }
  model::LocationData data;
  std::string firstError;
  auto check = [&](const Statement& s) {
    if (s.failed() && firstError.empty()) {
      firstError = s.error();
    }
  };
  const std::string civic = civicColumns();
  {
    Statement version(db_, "SELECT version FROM data_version WHERE id = 1");
    if (version.row()) data.version = version.columnInt(0);
    check(version);
  }

  std::unordered_map<std::string, size_t> locationIndex;
  Statement locations(db_, "SELECT key, name, site, kind, latitude, longitude, psap_route, " +
                               civic + " FROM locations ORDER BY key");
  while (locations.row()) {
    model::Location l;
    l.key = locations.columnText(0);
    l.name = locations.columnText(1);
    l.site = locations.columnText(2);
    l.kind = kindFromName(locations.columnText(3));
    l.latitude = locations.columnReal(4);
    l.longitude = locations.columnReal(5);
    l.psapRoute = splitRoute(locations.columnText(6));
    readCivic(locations, 7, l.civic);
    locationIndex.emplace(l.key, data.locations.size());
    data.locations.push_back(std::move(l));
  }
  check(locations);
  Statement elins(db_,
                  "SELECT location_key, elin FROM location_elins ORDER BY location_key, position");
  while (elins.row()) {
    if (auto it = locationIndex.find(elins.columnText(0)); it != locationIndex.end()) {
      data.locations[it->second].elins.push_back(elins.columnText(1));
    }
  }
  check(elins);

  Statement subnets(db_, "SELECT cidr, location_key FROM subnets ORDER BY cidr");
  while (subnets.row()) {
    data.subnets.push_back({subnets.columnText(0), subnets.columnText(1)});
  }
  check(subnets);
  Statement bssids(db_, "SELECT bssid, location_key FROM bssids ORDER BY bssid");
  while (bssids.row()) {
    data.bssids.push_back({bssids.columnText(0), bssids.columnText(1)});
  }
  check(bssids);
  Statement switches(db_,
                     "SELECT chassis, port, location_key FROM switches ORDER BY chassis, port");
  while (switches.row()) {
    data.switches.push_back(
        {switches.columnText(0), switches.columnText(1), switches.columnText(2)});
  }
  check(switches);

  std::unordered_map<std::string, size_t> userIndex;
  Statement users(db_,
                  "SELECT extension, did, name, site, nomadic, location_permission, "
                  "COALESCE(location_permission_at_ms, 0) FROM users ORDER BY extension");
  while (users.row()) {
    model::UserRow u;
    u.extension = users.columnText(0);
    u.did = users.columnText(1);
    u.name = users.columnText(2);
    u.site = users.columnText(3);
    u.nomadic = users.columnInt(4) != 0;
    u.locationPermission = users.columnInt(5) != 0;
    u.permissionAnsweredAtMs = users.columnInt(6);
    userIndex.emplace(u.extension, data.users.size());
    data.users.push_back(std::move(u));
  }
  check(users);
  Statement devices(db_, "SELECT extension, mac FROM devices ORDER BY extension, mac");
  while (devices.row()) {
    if (auto it = userIndex.find(devices.columnText(0)); it != userIndex.end()) {
      data.users[it->second].macs.push_back(devices.columnText(1));
    }
  }
  check(devices);

  std::unordered_map<std::string, size_t> personalIndex;
  Statement personal(db_, "SELECT key, extension, name, confirmed, latitude, longitude, elin, " +
                              civic +
                              ", COALESCE(hold_until_ms, 0) FROM personal_locations "
                              "ORDER BY extension, key");
  while (personal.row()) {
    model::PersonalLocationRow p;
    p.location.key = personal.columnText(0);
    p.extension = personal.columnText(1);
    p.location.name = personal.columnText(2);
    p.location.kind = model::LocationKind::Personal;
    p.location.confirmed = personal.columnInt(3) != 0;
    p.location.latitude = personal.columnReal(4);
    p.location.longitude = personal.columnReal(5);
    if (std::string elin = personal.columnText(6); !elin.empty()) {
      p.location.elins.push_back(std::move(elin));
    }
    readCivic(personal, 7, p.location.civic);
    p.holdUntilMs = personal.columnInt(7 + static_cast<int>(kCivicFields.size()));
    personalIndex.emplace(p.location.key, data.personal.size());
    data.personal.push_back(std::move(p));
  }
  check(personal);
  Statement networks(db_,
                     "SELECT personal_key, network, kind FROM personal_location_networks "
                     "ORDER BY personal_key, network");
  while (networks.row()) {
    if (auto it = personalIndex.find(networks.columnText(0)); it != personalIndex.end()) {
      auto& row = data.personal[it->second];
      (networks.columnText(2) == "bssid" ? row.matchBssids : row.matchNetworks)
          .push_back(networks.columnText(1));
    }
  }
  check(networks);

  Statement defaults(db_, "SELECT site, location_key FROM site_defaults ORDER BY site");
  while (defaults.row()) {
    data.siteDefaults.push_back({defaults.columnText(0), defaults.columnText(1)});
  }
  check(defaults);
  Statement account(db_, "SELECT default_location_key FROM account WHERE id = 1");
  if (account.row()) {
    data.accountDefaultKey = account.columnText(0);
  }
  check(account);

  // The latest report of each device, of each kind (kLatestReportsSql).
  Statement reports(db_, kLatestReportsSql);
  while (reports.row()) {
    data.reports.push_back({reports.columnText(0), reports.columnText(1), reports.columnText(2),
                            reports.columnText(3), reports.columnText(4), reports.columnText(5),
                            reports.columnInt(6), reports.columnInt(7) != 0});
  }
  check(reports);

  if (!firstError.empty()) {
    return Error{"store.read", path_ + ": " + firstError};
  }
  return data;
}

Result<std::vector<model::DeviceReport>> Store::latestReports() {
  std::vector<model::DeviceReport> out;
  Statement s(db_, kLatestReportsSql);
  while (s.row()) {
    out.push_back({s.columnText(0), s.columnText(1), s.columnText(2), s.columnText(3),
                   s.columnText(4), s.columnText(5), s.columnInt(6), s.columnInt(7) != 0});
  }
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

Result<std::optional<model::DeviceReport>> Store::reportById(int64_t id) {
  Statement s(db_,
              "SELECT extension, mac, ip, bssid, chassis, port, reported_at_ms, network_provided "
              "FROM device_reports WHERE id = ?");
  if (!s.integer(1, id).row()) {
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
    return std::optional<model::DeviceReport>{};
  }
  return std::optional<model::DeviceReport>{
      model::DeviceReport{s.columnText(0), s.columnText(1), s.columnText(2), s.columnText(3),
                          s.columnText(4), s.columnText(5), s.columnInt(6), s.columnInt(7) != 0}};
}

Result<std::vector<std::pair<int64_t, model::DeviceReport>>> Store::reportsAfter(int64_t afterId,
                                                                                 size_t limit) {
  Statement s(db_,
              "SELECT id, extension, mac, ip, bssid, chassis, port, reported_at_ms, "
              "network_provided FROM device_reports WHERE id > ? ORDER BY id LIMIT ?");
  s.integer(1, afterId)
      .integer(2,
               static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  std::vector<std::pair<int64_t, model::DeviceReport>> out;
  while (s.row()) {
    out.emplace_back(
        s.columnInt(0),
        model::DeviceReport{s.columnText(1), s.columnText(2), s.columnText(3), s.columnText(4),
                            s.columnText(5), s.columnText(6), s.columnInt(7), s.columnInt(8) != 0});
  }
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

Result<int64_t> Store::lastReportId() {
  Statement s(db_, "SELECT COALESCE(MAX(id), 0) FROM device_reports");
  if (!s.row()) return Error{"store.read", path_ + ": " + s.error()};
  return s.columnInt(0);
}

Result<std::optional<model::DeviceReport>> Store::latestReport(const std::string& extension) {
  Statement s(db_,
              "SELECT extension, mac, ip, bssid, chassis, port, reported_at_ms, network_provided "
              "FROM device_reports WHERE extension = ? ORDER BY reported_at_ms DESC, id DESC "
              "LIMIT 1");
  s.text(1, extension);
  if (!s.row()) {
    if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
    return std::optional<model::DeviceReport>{};
  }
  return std::optional<model::DeviceReport>{
      model::DeviceReport{s.columnText(0), s.columnText(1), s.columnText(2), s.columnText(3),
                          s.columnText(4), s.columnText(5), s.columnInt(6), s.columnInt(7) != 0}};
}

Result<Store::ReportOutcome> Store::saveReport(model::DeviceReport& report) {
  // Stored normalized so the same device and access point are one key however they were
  // written; the caller's report keeps its own spelling.
  std::string mac, bssid;
  for (auto [given, normal, what] :
       {std::tuple{&report.mac, &mac, "mac"}, std::tuple{&report.bssid, &bssid, "bssid"}}) {
    if (!given->empty()) {
      auto n = storedMac(*given, false);
      if (!n) {
        return Error{"store.invalid-report",
                     std::string(what) + " \"" + *given + "\" is not a MAC address"};
      }
      *normal = *n;
    }
  }
  std::string chassis = model::normalizeChassis(report.chassis);
  if (report.extension.empty() && mac.empty()) {
    return Error{"store.invalid-report", "a report names no extension and no MAC"};
  }

  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  auto dbError = [&](const Statement& s) { return Error{"store.write", path_ + ": " + s.error()}; };
  std::string extension = report.extension;
  if (extension.empty()) {
    Statement owner(db_, "SELECT extension FROM devices WHERE mac = ?");
    if (owner.text(1, mac).row()) {
      extension = owner.columnText(0);
    } else if (owner.failed()) {
      return dbError(owner);
    } else {
      return Error{"store.unknown-device", "no user has a device with MAC " + mac};
    }
  } else {
    Statement user(db_, "SELECT 1 FROM users WHERE extension = ?");
    if (!user.text(1, extension).row()) {
      return user.failed() ? dbError(user)
                           : Error{"store.unknown-user", "no user with extension " + extension};
    }
  }

  Statement insert(db_,
                   "INSERT INTO device_reports (extension, mac, ip, bssid, chassis, port, "
                   "reported_at_ms, network_provided) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  insert.text(1, extension).textOrNull(2, mac).textOrNull(3, report.ip).textOrNull(4, bssid);
  insert.textOrNull(5, chassis).textOrNull(6, report.port).integer(7, report.reportedAtMs);
  insert.integer(8, report.networkProvided ? 1 : 0);
  if (!insert.run()) {
    return dbError(insert);
  }
  const int64_t reportId = db_->postgresql() ? db_->lastInsertId() : 0;
  ReportOutcome outcome;
  if (std::string network = networkIdentity(bssid, chassis, report.port, report.ip);
      !network.empty()) {
    Statement seen(db_,
                   "INSERT INTO user_networks (extension, network, first_seen_ms) "
                   "VALUES (?, ?, ?) ON CONFLICT (extension, network) DO NOTHING");
    if (!seen.text(1, extension).text(2, network).integer(3, report.reportedAtMs).run()) {
      return dbError(seen);
    }
    outcome.newNetwork = db_->changes() == 1;
  }
  if (db_->postgresql()) {
    // The other nodes read it by its id when their change feeds hear of it at the commit.
    Statement notify(db_, "SELECT pg_notify(?, ?)");
    if (!notify.text(1, kReportsChannel).text(2, std::to_string(reportId)).run()) {
      return dbError(notify);
    }
  }
  if (!tx.commit()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  report.extension = extension;
  return outcome;
}

Result<void> Store::saveElinMappings(const std::vector<model::CallbackTarget>& mappings,
                                     int64_t nowMs) {
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  Statement ended(db_, "DELETE FROM elin_mappings WHERE expires_at_ms <= ?");
  if (!ended.integer(1, nowMs).run()) {
    return Error{"store.write", path_ + ": " + ended.error()};
  }
  Statement insert(db_,
                   "INSERT INTO elin_mappings (elin, extension, did, contact, call_id, "
                   "assigned_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (elin) DO UPDATE SET extension = excluded.extension, "
                   "did = excluded.did, contact = excluded.contact, call_id = excluded.call_id, "
                   "assigned_at_ms = excluded.assigned_at_ms, "
                   "expires_at_ms = excluded.expires_at_ms "
                   "WHERE excluded.assigned_at_ms >= elin_mappings.assigned_at_ms");
  for (const auto& m : mappings) {
    insert.reset();
    insert.text(1, m.elin)
        .text(2, m.caller.extension)
        .text(3, m.caller.did)
        .text(4, m.caller.contact)
        .text(5, m.caller.callId)
        .integer(6, m.assignedAtMs)
        .integer(7, m.expiresAtMs);
    if (!insert.run()) {
      return Error{"store.write", path_ + ": " + insert.error()};
    }
  }
  if (db_->postgresql()) {
    if (std::string error; !exec(db_, (std::string("NOTIFY ") + kElinChannel).c_str(), &error)) {
      return Error{"store.write", path_ + ": " + error};
    }
  }
  if (!tx.commit()) {
    return Error{"store.write", path_ + ": " + tx.error()};
  }
  return {};
}

Result<std::vector<model::CallbackTarget>> Store::loadElinMappings() {
  std::vector<model::CallbackTarget> out;
  Statement s(db_,
              "SELECT elin, extension, did, contact, call_id, assigned_at_ms, expires_at_ms "
              "FROM elin_mappings ORDER BY elin");
  while (s.row()) {
    model::CallbackTarget t;
    t.elin = s.columnText(0);
    t.caller.extension = s.columnText(1);
    t.caller.did = s.columnText(2);
    t.caller.contact = s.columnText(3);
    t.caller.callId = s.columnText(4);
    t.assignedAtMs = s.columnInt(5);
    t.expiresAtMs = s.columnInt(6);
    out.push_back(std::move(t));
  }
  if (s.failed()) {
    return Error{"store.read", path_ + ": " + s.error()};
  }
  return out;
}

Result<void> Store::pruneCallRecords(size_t keep) {
  Statement prune(db_,
                  "DELETE FROM call_records WHERE id <= (SELECT max(id) FROM call_records) - ?");
  prune.integer(1, static_cast<int64_t>(keep));
  if (!prune.run()) return Error{"store.write", path_ + ": pruning call records: " + prune.error()};
  return {};
}

namespace {

constexpr const char* kInsertCallRecord =
    "INSERT INTO call_records (call_id, started_at, ended_at, caller, dialed, emergency, test, "
    "site, location, location_by, elin, pidf, trunk, route, attempts, outcome, status, "
    "duration_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

void bindCallRecord(Statement& insert, const CallRecord& r) {
  insert.text(1, r.callId)
      .integer(2, r.startedAtMs)
      .integer(3, r.endedAtMs)
      .textOrNull(4, r.caller)
      .textOrNull(5, r.dialed)
      .integer(6, r.emergency ? 1 : 0)
      .integer(7, r.test ? 1 : 0)
      .textOrNull(8, r.site)
      .textOrNull(9, r.location)
      .textOrNull(10, r.locationBy)
      .textOrNull(11, r.elin)
      .textOrNull(12, r.pidf)
      .textOrNull(13, r.trunk)
      .textOrNull(14, r.route)
      .textOrNull(15, r.attempts)
      .text(16, r.outcome)
      .integer(17, r.status)
      .real(18, r.durationMs)
      .textOrNull(19, r.reason);
}

}  // namespace

Result<int64_t> Store::saveCallRecord(const CallRecord& r) {
  // One statement, so its own transaction: a record lands whole or not at all.
  Statement insert(db_, kInsertCallRecord);
  bindCallRecord(insert, r);
  if (!insert.run()) {
    return Error{"store.write", path_ + ": call record " + r.callId + ": " + insert.error()};
  }
  return db_->lastInsertId();
}

Result<int64_t> Store::saveCallRecords(const std::vector<CallRecord>& records) {
  if (records.empty()) return int64_t{0};
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return Error{"store.write", path_ + ": " + tx.error()};
  Statement insert(db_, kInsertCallRecord);
  for (const CallRecord& r : records) {
    bindCallRecord(insert, r);
    if (!insert.run()) {
      return Error{"store.write", path_ + ": call record " + r.callId + ": " + insert.error()};
    }
    insert.reset();
  }
  if (!tx.commit()) return Error{"store.write", path_ + ": " + tx.error()};
  return db_->lastInsertId();
}

namespace {

constexpr const char* kCallColumns =
    "SELECT id, call_id, started_at, ended_at, caller, dialed, emergency, test, site, location, "
    "location_by, elin, pidf, trunk, route, attempts, outcome, status, duration_ms, reason "
    "FROM call_records";

CallRecord callRecordFrom(const Statement& s) {
  CallRecord r;
  r.id = s.columnInt(0);
  r.callId = s.columnText(1);
  r.startedAtMs = s.columnInt(2);
  r.endedAtMs = s.columnInt(3);
  r.caller = s.columnText(4);
  r.dialed = s.columnText(5);
  r.emergency = s.columnInt(6) != 0;
  r.test = s.columnInt(7) != 0;
  r.site = s.columnText(8);
  r.location = s.columnText(9);
  r.locationBy = s.columnText(10);
  r.elin = s.columnText(11);
  r.pidf = s.columnText(12);
  r.trunk = s.columnText(13);
  r.route = s.columnText(14);
  r.attempts = s.columnText(15);
  r.outcome = s.columnText(16);
  r.status = static_cast<int>(s.columnInt(17));
  r.durationMs = s.columnReal(18).value_or(0);
  r.reason = s.columnText(19);
  return r;
}

int64_t asLimit(size_t limit) {
  return static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max()));
}

}  // namespace

Result<std::vector<CallRecord>> Store::loadCallRecords(size_t limit) {
  std::vector<CallRecord> out;
  Statement s(db_, std::string(kCallColumns) + " ORDER BY started_at DESC, id DESC LIMIT ?");
  s.integer(1, asLimit(limit));
  while (s.row()) out.push_back(callRecordFrom(s));
  if (s.failed()) {
    return Error{"store.read", path_ + ": " + s.error()};
  }
  return out;
}

Result<std::vector<CallRecord>> Store::findCallRecords(const CallQuery& q) {
  // Every filter is bound, never spliced: "? = 0 OR ..." switches one off.
  std::string sql = std::string(kCallColumns) +
                    " WHERE started_at >= ? AND (? = 0 OR started_at < ?)"
                    " AND (? = 0 OR id < ?) AND (? = '' OR outcome = ?) AND (? = '' OR call_id = ?)"
                    " AND (? = -1 OR emergency = ?)";
  if (!q.sites.empty()) sql += " AND site IN (" + placeholders(q.sites.size()) + ")";
  sql += " ORDER BY id DESC LIMIT ?";
  Statement s(db_, sql);
  const int64_t emergency = q.emergency ? (*q.emergency ? 1 : 0) : -1;
  s.integer(1, q.sinceMs).integer(2, q.untilMs).integer(3, q.untilMs);
  s.integer(4, q.beforeId).integer(5, q.beforeId).text(6, q.outcome).text(7, q.outcome);
  s.text(8, q.callId).text(9, q.callId).integer(10, emergency).integer(11, emergency);
  int i = 12;
  for (const auto& site : q.sites) s.text(i++, site);
  s.integer(i, asLimit(q.limit));
  std::vector<CallRecord> out;
  while (s.row()) out.push_back(callRecordFrom(s));
  if (s.failed()) return Error{"store.read", path_ + ": " + s.error()};
  return out;
}

}  // namespace sos::store
