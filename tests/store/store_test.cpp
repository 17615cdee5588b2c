// The store: migrations, seeding from YAML (all or nothing, errors at file:line:column), device
// reports, call records and the data a routing snapshot is built from. Each test works in its
// own temporary directory and checks the rows through a second, plain connection. The same tests
// run against PostgreSQL when SOSPROXY_TEST_POSTGRESQL names a server (test_database.h).

#include "store/store.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "store/change_feed.h"
#include "tests/store/tcp_relay.h"
#include "tests/store/test_database.h"

namespace sos::store {
namespace {

using testing::emptyPostgresql;
using testing::executeSql;
using testing::queryRows;
using testing::TcpRelay;
using testing::testPostgresql;

namespace fs = std::filesystem;

const std::string kDemoSeed = std::string(SOS_SOURCE_DIR) + "/config/examples/demo-locations.yaml";

// A small valid seed; tests replace one numbered line to make it wrong in one place.
const std::vector<std::string> kSmallSeed = {
    "sites:",                                // 1
    "  - name: HQ",                          // 2
    "    country: US",                       // 3
    "locations:",                            // 4
    "  - key: hq-lobby",                     // 5
    "    name: HQ Lobby",                    // 6
    "    site: HQ",                          // 7
    "    civic: {country: US, FLR: \"1\"}",  // 8
    "    elins: [\"+12175550100\"]",         // 9
    "site_defaults:",                        // 10
    "  HQ: hq-lobby",                        // 11
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "store_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "var" / "sos.db").string();  // var/ does not exist yet: open() creates it
    if (const std::string pg = testPostgresql(); !pg.empty()) {
      emptyPostgresql(pg);
      path_ = pg;
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto r = Store::open(path_);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(r).value() : nullptr;
  }

  std::unique_ptr<Store> openSeeded() {
    auto store = open();
    auto seeded = store->seedIfEmpty(kDemoSeed);
    EXPECT_TRUE(seeded.ok()) << seeded.error().message;
    return store;
  }

  std::string writeFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::string seedWithLine(size_t number, const std::string& replacement) {
    auto lines = kSmallSeed;
    lines.at(number - 1) = replacement;
    return writeFile("seed.yaml", joinLines(lines));
  }

  static std::string joinLines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
      out += l + "\n";
    }
    return out;
  }

  // Each row of `sql`'s result as its columns joined by '|' (NULL as "NULL"), through a second
  // connection, as another process would see the database.
  std::vector<std::string> rows(const std::string& sql) { return queryRows(path_, sql); }

  std::string one(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() ? "(no row)" : r.front();
  }

  void execute(const std::string& sql) { executeSql(path_, sql); }

  // Nothing of a refused seed may remain.
  void expectNoSeedRows() {
    for (const char* table : {"sites", "locations", "location_elins", "subnets", "bssids",
                              "switches", "users", "devices", "personal_locations",
                              "personal_location_networks", "site_defaults", "account"}) {
      EXPECT_EQ(one(std::string("SELECT COUNT(*) FROM ") + table), "0") << table;
    }
  }

  fs::path dir_;
  std::string path_;
};

std::string lowerCase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

const model::Location* findLocation(const model::LocationData& d, const std::string& key) {
  auto it = std::find_if(d.locations.begin(), d.locations.end(),
                         [&](const model::Location& l) { return l.key == key; });
  return it == d.locations.end() ? nullptr : &*it;
}

const model::PersonalLocationRow* findPersonal(const model::LocationData& d,
                                               const std::string& extension) {
  auto it = std::find_if(d.personal.begin(), d.personal.end(),
                         [&](const auto& p) { return p.extension == extension; });
  return it == d.personal.end() ? nullptr : &*it;
}

TEST_F(StoreTest, MigrationsApplyOnceAndReopeningKeepsTheSchema) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schemaVersion(), 16);
  }
  if (testPostgresql().empty()) {
    EXPECT_TRUE(fs::exists(path_));
    EXPECT_EQ(one("PRAGMA journal_mode"), "wal");
  }
  auto applied = rows("SELECT version FROM schema_migrations");
  EXPECT_EQ(applied, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                                               "11", "12", "13", "14", "15", "16"}));

  auto again = open();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->schemaVersion(), 16);
  EXPECT_EQ(rows("SELECT version FROM schema_migrations"), applied);
}

// ELIN -> caller mappings survive a restart (issue 4), read back as saved; a set saved keeps
// the rows it does not hold until their window ends (several nodes, issue 22).
TEST_F(StoreTest, ElinMappingsAreKeptWhileTheirWindowLastsNewestAssignmentFirst) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  model::CallbackTarget a;
  a.elin = "+12175550131";
  a.caller = {"1001", "+12175551001", "sip:1001@10.1.3.20:5060", "call-1"};
  a.assignedAtMs = 1000;
  a.expiresAtMs = 1000 + 10800000;
  model::CallbackTarget b = a;
  b.elin = "+12175550102";
  b.caller.extension = "1002";
  b.expiresAtMs = 1000 + 60000;
  ASSERT_TRUE(store->saveElinMappings({a, b}, 2000).ok());
  // A set without b (another node's, issue 22) leaves b alone while its window lasts.
  ASSERT_TRUE(store->saveElinMappings({a}, 3000).ok());
  auto loaded = store->loadElinMappings();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value().size(), 2u);
  // An older assignment of an ELIN does not replace a later one; a later one does.
  model::CallbackTarget older = a;
  older.caller.extension = "1003";
  older.assignedAtMs = 500;
  ASSERT_TRUE(store->saveElinMappings({older}, 3000).ok());
  EXPECT_EQ(one("SELECT extension FROM elin_mappings WHERE elin = '+12175550131'"), "1001");
  model::CallbackTarget later = older;
  later.assignedAtMs = 4000;
  later.expiresAtMs = 4000 + 10800000;
  ASSERT_TRUE(store->saveElinMappings({later}, 4000).ok());
  EXPECT_EQ(one("SELECT extension FROM elin_mappings WHERE elin = '+12175550131'"), "1003");
  // b's window ended: gone from the table at the next save.
  ASSERT_TRUE(store->saveElinMappings({later}, b.expiresAtMs).ok());
  loaded = store->loadElinMappings();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 1u);
  EXPECT_EQ(loaded.value()[0].elin, "+12175550131");
  EXPECT_EQ(loaded.value()[0].caller.extension, "1003");
  EXPECT_EQ(loaded.value()[0].caller.contact, "sip:1001@10.1.3.20:5060");
  EXPECT_EQ(loaded.value()[0].expiresAtMs, later.expiresAtMs);
}

TEST_F(StoreTest, ASchemaNewerThanTheProgramIsRefused) {
  open().reset();
  execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
  auto r = Store::open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.migration");
  EXPECT_NE(r.error().message.find("schema version 99"), std::string::npos) << r.error().message;
}

TEST_F(StoreTest, AFileThatIsNotADatabaseIsAnErrorNotACrash) {
  SOS_SQLITE_ONLY("a file that is not a database: SQLite only");
  fs::create_directories(fs::path(path_).parent_path());
  std::ofstream(path_) << std::string(8192, 'x') << "this is not SQLite";
  auto r = Store::open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.open");
  EXPECT_EQ(r.error().message, path_ + ": file is not a database");
}

TEST_F(StoreTest, AParentThatCannotBeADirectoryIsAnError) {
  std::string blocker = writeFile("plain-file", "x");
  auto r = Store::open(blocker + "/sos.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.open");
  EXPECT_EQ(r.error().message.rfind(blocker + "/sos.db: cannot create directory", 0), 0u)
      << r.error().message;
}

// /readyz asks whether a write could be made now (issue 21), without writing anything.
TEST_F(StoreTest, AnOpenStoreIsWritableAndTheCheckWritesNothing) {
  auto store = openSeeded();
  ASSERT_NE(store, nullptr);
  const std::string before = one("SELECT count(*) FROM call_records");
  auto r = store->checkWritable();
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(one("SELECT count(*) FROM call_records"), before);
  auto memory = Store::open(":memory:");
  ASSERT_TRUE(memory.ok());
  EXPECT_TRUE(memory.value()->checkWritable().ok());
}

TEST_F(StoreTest, ADatabaseDeletedOrReplacedWhileOpenIsNotWritable) {
  SOS_SQLITE_ONLY("the database file under the store: SQLite only");
  auto store = open();
  ASSERT_NE(store, nullptr);
  fs::remove(path_);
  auto gone = store->checkWritable();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "store.unwritable");
  EXPECT_EQ(gone.error().message,
            path_ + ": the database file is gone (deleted while open): writes would be lost");
  open().reset();  // another database now at the path
  auto replaced = store->checkWritable();
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().message,
            path_ + ": the database file was replaced while open: writes go to the old one");
}

TEST_F(StoreTest, ADatabaseAnotherWriterHoldsIsNotWritable) {
  SOS_SQLITE_ONLY("SQLite's one writer at a time; PostgreSQL's writers lock rows");
  auto store = open();
  ASSERT_NE(store, nullptr);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto locked = store->checkWritable();  // after the store's busy timeout
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().message, path_ + ": database is locked");
  EXPECT_TRUE(store->checkWritable().ok()) << "writable again once the other writer is done";
}

TEST_F(StoreTest, AReadOnlyDatabaseIsNotWritable) {
  SOS_SQLITE_ONLY("SQLite's read-only open");
  open().reset();
  auto ro = Store::open("file:" + path_ + "?mode=ro");
  ASSERT_TRUE(ro.ok()) << ro.error().message;
  auto r = ro.value()->checkWritable();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "file:" + path_ + "?mode=ro: the database is read-only");
}

TEST_F(StoreTest, DemoSeedWritesTheDemoRows) {
  auto store = open();
  auto seeded = store->seedIfEmpty(kDemoSeed);
  ASSERT_TRUE(seeded.ok()) << seeded.error().message;
  EXPECT_TRUE(seeded.value());

  EXPECT_EQ(rows("SELECT name, country FROM sites ORDER BY name"),
            (std::vector<std::string>{"HQ|US", "London|GB"}));
  EXPECT_EQ(rows("SELECT key, kind, site FROM locations ORDER BY key"),
            (std::vector<std::string>{"hq-floor-2|company|HQ", "hq-floor-3|company|HQ",
                                      "hq-lobby|site-default|HQ", "hq-room-301|company|HQ",
                                      "london-office|site-default|London"}));
  EXPECT_EQ(rows("SELECT cidr, location_key FROM subnets ORDER BY cidr"),
            (std::vector<std::string>{"10.1.2.0/24|hq-floor-2", "10.1.3.0/24|hq-floor-3",
                                      "10.44.0.0/16|london-office"}));
  EXPECT_EQ(rows("SELECT bssid, location_key FROM bssids"),
            std::vector<std::string>{"00:11:22:33:44:55|hq-room-301"});
  EXPECT_EQ(rows("SELECT chassis, port, location_key FROM switches"),
            std::vector<std::string>{"00:aa:bb:cc:dd:ee|7|hq-floor-2"});
  EXPECT_EQ(rows("SELECT elin FROM location_elins WHERE location_key = 'hq-floor-2' "
                 "ORDER BY position"),
            (std::vector<std::string>{"+12175550102", "+12175550112"}));
  EXPECT_EQ(one("SELECT country, a1, a2, a3, hno, rd, sts, pc, flr, room FROM locations "
                "WHERE key = 'hq-lobby'"),
            "US|IL|Sangamon|Springfield|100|Main|St|62701|1|NULL");
  EXPECT_EQ(rows("SELECT DISTINCT psap_route FROM locations"), std::vector<std::string>{""});
  EXPECT_EQ(rows("SELECT extension, did, site, nomadic FROM users ORDER BY extension"),
            (std::vector<std::string>{"1001|+12175551001|HQ|0", "1002|+12175551002|HQ|1",
                                      "1003|+12175551003|HQ|0", "2001|+442079460001|London|0"}));
  EXPECT_EQ(rows("SELECT mac, extension FROM devices"),
            std::vector<std::string>{"00:04:f2:00:10:01|1001"});
  EXPECT_EQ(rows("SELECT site, location_key FROM site_defaults ORDER BY site"),
            (std::vector<std::string>{"HQ|hq-lobby", "London|london-office"}));
  EXPECT_EQ(one("SELECT default_location_key FROM account"), "hq-lobby");
  EXPECT_EQ(one("SELECT extension, confirmed, hno, rd, sts, a3, pc, elin FROM personal_locations "
                "WHERE extension = '1003'"),
            "1003|1|742|Evergreen|Terrace|Springfield|62704|NULL");
  EXPECT_EQ(rows("SELECT n.network, n.kind FROM personal_location_networks n "
                 "JOIN personal_locations p ON p.key = n.personal_key WHERE p.extension = '1003'"),
            std::vector<std::string>{"203.0.113.7|ip"});
  EXPECT_EQ(one("SELECT a3, elin, confirmed FROM personal_locations WHERE extension = '2001'"),
            "Manchester|+441619460001|1");

  // The same data as routing sees it.
  auto loaded = store->loadLocationData();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const model::LocationData& d = loaded.value();
  EXPECT_EQ(d.locations.size(), 5u);
  const model::Location* lobby = findLocation(d, "hq-lobby");
  ASSERT_NE(lobby, nullptr);
  EXPECT_EQ(lobby->kind, model::LocationKind::SiteDefault);
  EXPECT_EQ(lobby->name, "HQ Lobby");
  EXPECT_EQ(lobby->civic.a2, "Sangamon");
  EXPECT_EQ(lobby->elins, std::vector<std::string>{"+12175550100"});
  EXPECT_FALSE(lobby->latitude.has_value());
  const model::Location* floor2 = findLocation(d, "hq-floor-2");
  ASSERT_NE(floor2, nullptr);
  EXPECT_EQ(floor2->kind, model::LocationKind::Company);
  EXPECT_EQ(floor2->elins, (std::vector<std::string>{"+12175550102", "+12175550112"}));
  const model::Location* room = findLocation(d, "hq-room-301");
  ASSERT_NE(room, nullptr);
  EXPECT_EQ(room->civic.room, "301");
  EXPECT_EQ(room->civic.flr, "3");
  const model::Location* london = findLocation(d, "london-office");
  ASSERT_NE(london, nullptr);
  EXPECT_EQ(london->civic.pc, "EC1A 1AA");
  EXPECT_EQ(london->civic.country, "GB");

  EXPECT_EQ(d.subnets.size(), 3u);
  ASSERT_EQ(d.bssids.size(), 1u);
  EXPECT_EQ(d.bssids[0].bssid, "00:11:22:33:44:55");
  ASSERT_EQ(d.switches.size(), 1u);
  EXPECT_EQ(d.switches[0].port, "7");
  ASSERT_EQ(d.users.size(), 4u);
  EXPECT_EQ(d.users[0].macs, std::vector<std::string>{"00:04:f2:00:10:01"});
  EXPECT_TRUE(d.users[1].nomadic);
  EXPECT_TRUE(d.users[1].locationPermission);
  EXPECT_EQ(d.users[3].site, "London");

  const auto* home = findPersonal(d, "1003");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->location.kind, model::LocationKind::Personal);
  EXPECT_TRUE(home->location.confirmed);
  EXPECT_EQ(home->location.civic.hno, "742");
  EXPECT_EQ(home->matchNetworks, std::vector<std::string>{"203.0.113.7"});
  EXPECT_TRUE(home->matchBssids.empty());
  EXPECT_TRUE(home->location.elins.empty());
  const auto* manchester = findPersonal(d, "2001");
  ASSERT_NE(manchester, nullptr);
  EXPECT_EQ(manchester->location.elins, std::vector<std::string>{"+441619460001"});
  EXPECT_EQ(manchester->location.civic.a3, "Manchester");

  ASSERT_EQ(d.siteDefaults.size(), 2u);
  EXPECT_EQ(d.siteDefaults[0].site, "HQ");
  EXPECT_EQ(d.siteDefaults[0].locationKey, "hq-lobby");
  EXPECT_EQ(d.accountDefaultKey, "hq-lobby");
  EXPECT_TRUE(d.reports.empty());
}

TEST_F(StoreTest, SeedingTwiceDoesNothingTheSecondTime) {
  auto store = openSeeded();
  auto before = rows("SELECT key, name FROM locations ORDER BY key");
  auto again = store->seedIfEmpty(kDemoSeed);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again.value());
  EXPECT_EQ(rows("SELECT key, name FROM locations ORDER BY key"), before);
  EXPECT_EQ(one("SELECT COUNT(*) FROM subnets"), "3");

  // Once seeded the file is not even read: a broken or missing seed cannot stop a start.
  auto missing = store->seedIfEmpty((dir_ / "no-such-seed.yaml").string());
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_FALSE(missing.value());
}

TEST_F(StoreTest, AMissingSeedFileIsAnError) {
  auto store = open();
  std::string missing = (dir_ / "no-such-seed.yaml").string();
  auto r = store->seedIfEmpty(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.seed-unreadable");
  EXPECT_EQ(r.error().message, missing + ": cannot read: No such file or directory");
}

TEST_F(StoreTest, SeedWithAnUnknownKeyIsRefusedAtItsPlace) {
  auto store = open();
  std::string seed = seedWithLine(9, "    elinss: [\"+12175550100\"]");
  auto r = store->seedIfEmpty(seed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.seed-invalid");
  EXPECT_EQ(r.error().message,
            seed + ":9:5: locations[0].elinss: unknown key; did you mean \"elins\"?");
  expectNoSeedRows();
}

TEST_F(StoreTest, SeedWithAnUnknownLocationReferenceIsRefusedAtItsPlace) {
  auto store = open();
  std::string seed = seedWithLine(11, "  HQ: hq-lobbby");
  auto r = store->seedIfEmpty(seed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, seed +
                                   ":11:7: site_defaults.HQ: no location is keyed "
                                   "\"hq-lobbby\"; did you mean \"hq-lobby\"?");
  expectNoSeedRows();

  // The refused seed left nothing behind that would stop the corrected one.
  auto fixed = store->seedIfEmpty(writeFile("fixed.yaml", joinLines(kSmallSeed)));
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_TRUE(fixed.value());
  EXPECT_EQ(one("SELECT location_key FROM site_defaults WHERE site = 'HQ'"), "hq-lobby");
}

TEST_F(StoreTest, SeedProblemsAreAllReportedInFileOrder) {
  auto lines = kSmallSeed;
  lines[7] = "    civic: {FLR: \"1\"}";
  lines[8] = "    elins: [\"2175550100\"]";
  lines.insert(lines.end(), {"users:", "  - extension: \"1001\"", "    site: HQQ",
                             "    macs: [\"00:04:f2:00:10\"]", "    nomadic: yes"});
  std::string seed = writeFile("seed.yaml", joinLines(lines));
  auto store = open();
  auto r = store->seedIfEmpty(seed);
  ASSERT_FALSE(r.ok());
  std::vector<std::string> found;
  std::istringstream in(r.error().message);
  for (std::string line; std::getline(in, line);) {
    found.push_back(line);
  }
  std::vector<std::string> expected = {
      seed + ":8:12: locations[0].civic: country is missing",
      seed + ":9:13: locations[0].elins[0]: \"2175550100\" is not valid; expected an E.164",
      seed + ":14:11: users[0].site: no site is named \"HQQ\" under sites; did you mean \"HQ\"?",
      seed + ":15:12: users[0].macs[0]: \"00:04:f2:00:10\" is not valid; expected a MAC",
      seed + ":16:14: users[0].nomadic: \"yes\" is not valid; expected true or false",
  };
  ASSERT_EQ(found.size(), expected.size()) << r.error().message;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(found[i].rfind(expected[i], 0), 0u) << found[i];
  }
  expectNoSeedRows();
}

TEST_F(StoreTest, DuplicatesAcrossTheSeedAreRefused) {
  auto lines = kSmallSeed;
  lines.insert(lines.end() - 2,
               {"  - key: hq-floor-2", "    name: HQ Floor 2", "    site: HQ",
                "    civic: {country: US, FLR: \"2\"}", "    elins: [\"+12175550100\"]",
                "    bssids: [\"00-11-22-33-44-55\"]", "  - key: hq-lobby", "    name: Again",
                "    site: HQ", "    civic: {country: US}", "    bssids: [\"001122334455\"]"});
  std::string seed = writeFile("seed.yaml", joinLines(lines));
  auto store = open();
  auto r = store->seedIfEmpty(seed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            seed +
                ":14:13: locations[1].elins[0]: duplicate ELIN \"+12175550100\" (also "
                "locations[0].elins[0], line 9)\n" +
                seed +
                ":16:10: locations[2].key: duplicate location key \"hq-lobby\" (also "
                "locations[0].key, line 5)\n" +
                seed +
                ":20:14: locations[2].bssids[0]: duplicate BSSID \"00:11:22:33:44:55\" "
                "(also locations[1].bssids[0], line 15)");
  expectNoSeedRows();
}

TEST_F(StoreTest, ASeedTheDatabaseRefusesHalfwayLeavesNothingBehind) {
  auto store = open();
  // Stands for any failure after the first rows are in (a full disk, a constraint).
  if (testPostgresql().empty()) {
    execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON users WHEN NEW.extension = '2001' "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END");
  } else {
    execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.extension = '2001' THEN RAISE EXCEPTION 'disk trouble'; END IF; RETURN NEW; "
        "END $$; CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW "
        "EXECUTE FUNCTION refuse()");
  }
  auto r = store->seedIfEmpty(kDemoSeed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.seed-failed");
  // Blamed on the user's entry in the file.
  std::ifstream file(kDemoSeed);
  int line = 0, at = 0;
  for (std::string text; std::getline(file, text) && at == 0;) {
    ++line;
    at = text.find("- extension: \"2001\"") != std::string::npos ? line : 0;
  }
  EXPECT_EQ(r.error().message,
            kDemoSeed + ":" + std::to_string(at) + ":5: users[3]: cannot store: disk trouble");
  expectNoSeedRows();
}

TEST_F(StoreTest, ReportsTellANewNetworkFromAKnownOne) {
  auto store = openSeeded();
  model::DeviceReport home{"1003", "", "203.0.113.7", "", "", "", 1000};
  auto first = store->saveReport(home);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first.value().newNetwork);
  home.reportedAtMs = 2000;
  auto second = store->saveReport(home);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second.value().newNetwork);
  model::DeviceReport cafe{"1003", "", "198.51.100.9", "", "", "", 3000};
  EXPECT_TRUE(store->saveReport(cafe).value().newNetwork);

  // A switch port is the network, whatever address the phone has on it.
  model::DeviceReport desk{"1002", "", "10.1.2.45", "", "00:AA:BB:CC:DD:EE", "7", 4000};
  EXPECT_TRUE(store->saveReport(desk).value().newNetwork);
  desk.ip = "10.1.2.46";
  EXPECT_FALSE(store->saveReport(desk).value().newNetwork);
  // The same network is new for another user.
  desk.extension = "1001";
  EXPECT_TRUE(store->saveReport(desk).value().newNetwork);

  EXPECT_EQ(one("SELECT COUNT(*) FROM device_reports"), "6");
  EXPECT_EQ(one("SELECT extension, mac, ip, bssid, chassis, port, reported_at_ms "
                "FROM device_reports ORDER BY id LIMIT 1"),
            "1003|NULL|203.0.113.7|NULL|NULL|NULL|1000");
  EXPECT_EQ(one("SELECT chassis FROM device_reports WHERE extension = '1002' LIMIT 1"),
            "00:aa:bb:cc:dd:ee");
}

// Issue 22: a node whose change feed was away reads the reports saved meanwhile, by id.
TEST_F(StoreTest, ReportsAfterAnIdAreReadOldestFirstUpToALimit) {
  auto store = openSeeded();
  auto none = store->lastReportId();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(none.value(), 0);
  for (int64_t at : {1000, 2000, 3000}) {
    model::DeviceReport r{"1003", "", "203.0.113." + std::to_string(at / 1000), "", "", "", at};
    ASSERT_TRUE(store->saveReport(r).ok());
  }
  auto last = store->lastReportId();
  ASSERT_TRUE(last.ok()) << last.error().message;
  const int64_t first = last.value() - 2;
  auto after = store->reportsAfter(first, 10);
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after.value().size(), 2u);
  EXPECT_EQ(after.value()[0].first, first + 1);
  EXPECT_EQ(after.value()[0].second.ip, "203.0.113.2");
  EXPECT_EQ(after.value()[1].second.reportedAtMs, 3000);
  auto limited = store->reportsAfter(0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited.value().size(), 1u);
  EXPECT_EQ(limited.value()[0].first, first);
  EXPECT_EQ(limited.value()[0].second.extension, "1003");
}

// Issue 22: another node hears of a change in the routing data, of each device report and of
// ELIN mappings saved, by PostgreSQL's NOTIFY at the writer's commit, and reads a report by the
// id it names.
TEST_F(StoreTest, AChangeFeedHearsOfDataChangesAndReportsAtTheirCommit) {
  if (testPostgresql().empty()) GTEST_SKIP() << "PostgreSQL only: LISTEN/NOTIFY";
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::string error;
  auto feed = ChangeFeed::open(path_, &error);
  ASSERT_NE(feed, nullptr) << error;
  // Waits (5 s at most) until the feed has heard `count` notifications.
  auto hear = [&](size_t count) {
    std::vector<ChangeFeed::Change> heard;
    for (int i = 0; i < 50 && heard.size() < count; ++i) {
      pollfd p{feed->socket(), POLLIN, 0};
      poll(&p, 1, 100);
      EXPECT_TRUE(feed->take(heard, &error)) << error;
    }
    return heard;
  };
  ASSERT_TRUE(store->seedIfEmpty(kDemoSeed).ok());
  auto heard = hear(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].channel, "sosproxy_data");

  model::DeviceReport cafe{"1003", "", "198.51.100.9", "", "", "", 3000};
  ASSERT_TRUE(store->saveReport(cafe).ok());
  heard = hear(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].channel, "sosproxy_reports");
  EXPECT_EQ(heard[0].payload, one("SELECT max(id) FROM device_reports"));
  auto read = store->reportById(std::stoll(heard[0].payload));
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->extension, "1003");
  EXPECT_EQ(read.value()->ip, "198.51.100.9");
  EXPECT_EQ(read.value()->reportedAtMs, 3000);
  auto none = store->reportById(-1);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().has_value());

  model::CallbackTarget mapping;
  mapping.elin = "+12175550131";
  mapping.caller = {"1001", "+12175551001", "sip:1001@10.1.3.20:5060", "call-1"};
  mapping.assignedAtMs = 1000;
  mapping.expiresAtMs = 1000 + 10800000;
  ASSERT_TRUE(store->saveElinMappings({mapping}, 2000).ok());
  heard = hear(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].channel, "sosproxy_elins");

  // A write that fails notifies nobody: the notification belongs to the rolled-back transaction,
  // so the next one heard is the next report's (notifications arrive in commit order).
  model::DeviceReport nobody{"9999", "", "198.51.100.9", "", "", "", 4000};
  EXPECT_FALSE(store->saveReport(nobody).ok());
  cafe.reportedAtMs = 5000;
  ASSERT_TRUE(store->saveReport(cafe).ok());
  heard = hear(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].payload, one("SELECT max(id) FROM device_reports"));
  EXPECT_EQ(one("SELECT reported_at_ms FROM device_reports WHERE id = " + heard[0].payload),
            "5000");
}

TEST_F(StoreTest, AReportByMacFindsItsUser) {
  auto store = openSeeded();
  model::DeviceReport report{"", "00-04-F2-00-10-01", "10.1.3.20", "001122334455", "", "", 5000};
  auto r = store->saveReport(report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().newNetwork);
  EXPECT_EQ(report.extension, "1001");
  EXPECT_EQ(report.mac, "00-04-F2-00-10-01");  // the caller's spelling is left alone
  EXPECT_EQ(one("SELECT extension, mac, ip, bssid FROM device_reports"),
            "1001|00:04:f2:00:10:01|10.1.3.20|00:11:22:33:44:55");
  // Same access point, different address: a known network.
  report.ip = "10.1.3.21";
  EXPECT_FALSE(store->saveReport(report).value().newNetwork);
}

TEST_F(StoreTest, AReportFromNobodyKnownIsRefusedAndNotWritten) {
  auto store = openSeeded();
  model::DeviceReport stranger{"", "00:04:f2:99:99:99", "10.1.2.9", "", "", "", 1000};
  auto r = store->saveReport(stranger);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.unknown-device");
  EXPECT_EQ(r.error().message, "no user has a device with MAC 00:04:f2:99:99:99");
  EXPECT_EQ(stranger.extension, "");

  model::DeviceReport ghost{"9999", "", "10.1.2.9", "", "", "", 1000};
  auto g = store->saveReport(ghost);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, "store.unknown-user");

  model::DeviceReport garbled{"1001", "not-a-mac", "10.1.2.9", "", "", "", 1000};
  auto b = store->saveReport(garbled);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "store.invalid-report");

  EXPECT_EQ(one("SELECT COUNT(*) FROM device_reports"), "0");
  EXPECT_EQ(one("SELECT COUNT(*) FROM user_networks"), "0");
}

TEST_F(StoreTest, LoadedDataHoldsTheLatestReportOfEachDevice) {
  auto store = openSeeded();
  // Out of order on purpose: the latest by report time wins, not the last written.
  using Sent = std::vector<std::pair<std::string, int64_t>>;
  for (const auto& [ip, at] : Sent{{"10.1.2.45", 1000}, {"10.1.3.9", 3000}, {"10.1.2.46", 2000}}) {
    model::DeviceReport r{"", "00:04:f2:00:10:01", ip, "", "", "", at};
    ASSERT_TRUE(store->saveReport(r).ok());
  }
  // A softphone that names no MAC: its reports are kept per extension.
  for (const auto& [ip, at] : Sent{{"192.0.2.1", 500}, {"192.0.2.2", 700}}) {
    model::DeviceReport r{"1002", "", ip, "", "", "", at};
    ASSERT_TRUE(store->saveReport(r).ok());
  }
  auto loaded = store->loadLocationData();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const auto& reports = loaded.value().reports;
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].extension, "1001");
  EXPECT_EQ(reports[0].mac, "00:04:f2:00:10:01");
  EXPECT_EQ(reports[0].ip, "10.1.3.9");
  EXPECT_EQ(reports[0].reportedAtMs, 3000);
  EXPECT_EQ(reports[1].extension, "1002");
  EXPECT_EQ(reports[1].mac, "");
  EXPECT_EQ(reports[1].ip, "192.0.2.2");
  EXPECT_EQ(reports[1].reportedAtMs, 700);
}

// Issue 5: a location's own PSAP route, from the seed to the database and back.
TEST_F(StoreTest, ALocationsPsapRouteRoundTripsThroughTheDatabase) {
  auto lines = kSmallSeed;
  lines.insert(lines.begin() + 9,
               {"    psap_route: [il-psap-a, erc]", "  - key: hq-floor-2", "    name: HQ Floor 2",
                "    site: HQ", "    civic: {country: US, FLR: \"2\"}"});
  auto store = open();
  auto seeded = store->seedIfEmpty(writeFile("seed.yaml", joinLines(lines)));
  ASSERT_TRUE(seeded.ok()) << seeded.error().message;
  // Trunk names separated by single spaces; '' for no override.
  EXPECT_EQ(rows("SELECT key, psap_route FROM locations ORDER BY key"),
            (std::vector<std::string>{"hq-floor-2|", "hq-lobby|il-psap-a erc"}));

  auto loaded = store->loadLocationData();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const model::Location* lobby = findLocation(loaded.value(), "hq-lobby");
  ASSERT_NE(lobby, nullptr);
  EXPECT_EQ(lobby->psapRoute, (std::vector<std::string>{"il-psap-a", "erc"}));
  const model::Location* floor2 = findLocation(loaded.value(), "hq-floor-2");
  ASSERT_NE(floor2, nullptr);
  EXPECT_TRUE(floor2->psapRoute.empty());
}

TEST_F(StoreTest, ADatabaseAtMigration2IsUpgradedKeepingItsRows) {
  SOS_SQLITE_ONLY("an old SQLite file upgraded; a PostgreSQL database starts at the latest schema");
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->seedIfEmpty(writeFile("seed.yaml", joinLines(kSmallSeed))).ok());
  }
  // Back to the schema version 2 wrote, rows and all, as an older sosproxy left it.
  execute(
      "DROP TABLE nodes; DROP TABLE test_calls; DROP TABLE test_call_status;"
      "ALTER TABLE users DROP COLUMN location_permission_at_ms;"
      "ALTER TABLE personal_locations DROP COLUMN hold_until_ms;"
      "DROP TABLE location_requests; ALTER TABLE users DROP COLUMN email;"
      "DROP TABLE data_version; ALTER TABLE devices DROP COLUMN brand;"
      "ALTER TABLE devices DROP COLUMN model; ALTER TABLE devices DROP COLUMN common_area;"
      "DROP TABLE api_token_passwords;"
      "DROP TABLE api_token_sites; DROP TABLE api_tokens; DROP TABLE audit_log;"
      "ALTER TABLE device_reports DROP COLUMN network_provided;"
      "DROP TABLE notification_jobs;"
      "DROP TABLE call_alerts;"
      "DROP TABLE call_records;"
      "ALTER TABLE locations DROP COLUMN psap_route;"
      "DELETE FROM schema_migrations WHERE version >= 3");
  ASSERT_EQ(one("SELECT MAX(version) FROM schema_migrations"), "2");
  ASSERT_EQ(one("SELECT COUNT(*) FROM pragma_table_info('locations') WHERE name = 'psap_route'"),
            "0");

  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schemaVersion(), 16);
  EXPECT_EQ(rows("SELECT version FROM schema_migrations"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
                                      "13", "14", "15", "16"}));
  EXPECT_EQ(one("SELECT key, name, psap_route FROM locations"), "hq-lobby|HQ Lobby|");
  auto loaded = store->loadLocationData();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().locations.size(), 1u);
  EXPECT_TRUE(loaded.value().locations[0].psapRoute.empty());
  EXPECT_EQ(loaded.value().locations[0].elins, std::vector<std::string>{"+12175550100"});

  // The new column is used at once.
  execute("UPDATE locations SET psap_route = 'uk-999 erc' WHERE key = 'hq-lobby'");
  loaded = store->loadLocationData();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value().locations[0].psapRoute, (std::vector<std::string>{"uk-999", "erc"}));
}

// A failed-over emergency call as the proxy records it.
CallRecord failedOverCall() {
  CallRecord r;
  r.callId = "1-4242@127.0.0.1";
  r.startedAtMs = 1700000000000;
  r.endedAtMs = 1700000000212;
  r.caller = "1001";
  r.dialed = "911";
  r.emergency = true;
  r.site = "HQ";
  r.location = "HQ Floor 2";
  r.locationBy = "subnet 10.1.2.0/24 (Contact 10.1.2.45)";
  r.elin = "+12175550102";
  r.pidf = "added";
  r.trunk = "il-psap-b";
  r.route = "civic rule US/IL: il-psap-a il-psap-b erc";
  r.attempts = "il-psap-a:503 il-psap-b:200";
  r.outcome = "answered";
  r.status = 200;
  r.durationMs = 211.5;
  return r;
}

TEST_F(StoreTest, ACallRecordRoundTripsThroughTheDatabase) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  const CallRecord saved = failedOverCall();
  auto id = store->saveCallRecord(saved);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_GT(id.value(), 0);
  // As another process sees it: booleans as 0/1, times as Unix ms, absent text as NULL.
  EXPECT_EQ(one("SELECT call_id, started_at, ended_at, emergency, test, trunk, attempts, "
                "outcome, status, duration_ms, reason FROM call_records"),
            "1-4242@127.0.0.1|1700000000000|1700000000212|1|0|il-psap-b|"
            "il-psap-a:503 il-psap-b:200|answered|200|211.5|NULL");

  auto loaded = store->loadCallRecords(10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 1u);
  const CallRecord& r = loaded.value()[0];
  EXPECT_EQ(r.id, id.value());
  EXPECT_EQ(r.callId, saved.callId);
  EXPECT_EQ(r.startedAtMs, saved.startedAtMs);
  EXPECT_EQ(r.endedAtMs, saved.endedAtMs);
  EXPECT_EQ(r.caller, saved.caller);
  EXPECT_EQ(r.dialed, saved.dialed);
  EXPECT_TRUE(r.emergency);
  EXPECT_FALSE(r.test);
  EXPECT_EQ(r.site, saved.site);
  EXPECT_EQ(r.location, saved.location);
  EXPECT_EQ(r.locationBy, saved.locationBy);
  EXPECT_EQ(r.elin, saved.elin);
  EXPECT_EQ(r.pidf, saved.pidf);
  EXPECT_EQ(r.trunk, saved.trunk);
  EXPECT_EQ(r.route, saved.route);
  EXPECT_EQ(r.attempts, saved.attempts);
  EXPECT_EQ(r.outcome, saved.outcome);
  EXPECT_EQ(r.status, 200);
  EXPECT_DOUBLE_EQ(r.durationMs, 211.5);
  EXPECT_EQ(r.reason, "");
}

// Issue 19: a batch of records in one transaction, in order; a record the database refuses (a
// NaN duration is bound as NULL, which duration_ms does not take) leaves none of its batch behind.
TEST_F(StoreTest, ABatchOfCallRecordsLandsWholeOrNotAtAll) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::vector<CallRecord> batch;
  for (const char* id : {"x1", "x2", "x3"}) {
    CallRecord r = failedOverCall();
    r.callId = id;
    batch.push_back(r);
  }
  auto last = store->saveCallRecords(batch);
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(rows("SELECT call_id FROM call_records ORDER BY id"),
            (std::vector<std::string>{"x1", "x2", "x3"}));
  EXPECT_EQ(one("SELECT max(id) FROM call_records"), std::to_string(last.value()));
  batch[0].callId = "y1";
  batch[1].callId = "y2";
  batch[1].durationMs = std::numeric_limits<double>::quiet_NaN();
  auto refused = store->saveCallRecords(batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("call record y2"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(one("SELECT count(*) FROM call_records"), "3");
  auto none = store->saveCallRecords({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value(), 0);
}

// Issue 22: the server closes the store's connection (a restart, a failover, an administrator's
// pg_terminate_backend): the next statement runs on a new connection, the write lands.
TEST_F(StoreTest, APostgresqlConnectionTheServerClosedIsOpenedAgain) {
  if (testPostgresql().empty()) GTEST_SKIP() << "PostgreSQL only: SQLite has no server";
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->saveCallRecord(failedOverCall()).ok());
  EXPECT_EQ(one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sosproxy'"), "1");
  EXPECT_EQ(one("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'sosproxy') AS ended"),
            "1");
  CallRecord second = failedOverCall();
  second.callId = "after-the-restart";
  auto saved = store->saveCallRecord(second);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(rows("SELECT call_id FROM call_records ORDER BY id"),
            (std::vector<std::string>{"1-4242@127.0.0.1", "after-the-restart"}));
  auto loaded = store->loadCallRecords(10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value().size(), 2u);
}

// A database host that stops answering (tests/store/tcp_relay.h: the connection closed, and a
// new one completes in the kernel and then hears nothing). The statement that finds the
// connection closed waits for a new one up to the 3 s connect timeout, once; every later one
// drives the reconnection for at most 50 ms and fails at once, so the I/O thread that makes
// them is never held long. Once the host answers again, the store is back by itself. The
// longest of those later calls is printed (the test does not fail on a time).
// The test server's URL through a TcpRelay to its port, made into `relay`; "" when there is
// none (the test then skips: SQLite has no server).
std::string throughRelay(std::unique_ptr<TcpRelay>* relay) {
  const std::string url = testPostgresql();
  std::smatch port;
  if (url.empty() || !std::regex_search(url, port, std::regex(":([0-9]+)/"))) return "";
  *relay = std::make_unique<TcpRelay>(static_cast<uint16_t>(std::stoi(port[1])));
  if ((*relay)->port() == 0) return "";
  return std::regex_replace(url, std::regex(":[0-9]+/"),
                            ":" + std::to_string((*relay)->port()) + "/");
}

TEST_F(StoreTest, AReconnectionToADatabaseThatStoppedAnsweringNeverHoldsTheCallerLong) {
  std::unique_ptr<TcpRelay> relayMade;
  const std::string viaRelay = throughRelay(&relayMade);
  if (viaRelay.empty()) GTEST_SKIP() << "PostgreSQL only: SQLite has no server";
  TcpRelay& relay = *relayMade;
  auto opened = Store::open(viaRelay);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto store = std::move(opened).value();
  ASSERT_TRUE(store->checkWritable().ok());

  relay.freeze();
  const auto frozenAt = std::chrono::steady_clock::now();
  // The first statements after the freeze: until one finds the connection closed.
  Result<bool> r = store->checkWritable();
  while (r.ok() && std::chrono::steady_clock::now() - frozenAt < std::chrono::seconds(10)) {
    r = store->checkWritable();
  }
  ASSERT_FALSE(r.ok());
  bool driven = false;   // a call that found a reconnection under way and left it so
  bool givenUp = false;  // one that gave a reconnection up after 3 s
  std::chrono::steady_clock::duration longest{};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!(driven && givenUp) && std::chrono::steady_clock::now() < until) {
    const auto before = std::chrono::steady_clock::now();
    r = store->checkWritable();
    longest = std::max(longest, std::chrono::steady_clock::now() - before);
    ASSERT_FALSE(r.ok());
    const std::string& why = r.error().message;
    driven = driven || why.find("connecting to the database again") != std::string::npos;
    givenUp = givenUp || why.find("no answer within 3 s") != std::string::npos;
    ::poll(nullptr, 0, 20);  // a statement every 20 ms, as a busy I/O thread would
  }
  EXPECT_TRUE(driven);
  EXPECT_TRUE(givenUp);
  std::printf(
      "[ measured ] a database host that does not answer: the longest statement after the "
      "first took %.1f ms\n",
      std::chrono::duration<double, std::milli>(longest).count());

  relay.thaw();
  const auto thawed = std::chrono::steady_clock::now();
  while (!store->checkWritable().ok() &&
         std::chrono::steady_clock::now() - thawed < std::chrono::seconds(15)) {
    ::poll(nullptr, 0, 20);
  }
  auto saved = store->saveCallRecord(failedOverCall());
  EXPECT_TRUE(saved.ok()) << saved.error().message;
}

// A store opened while its server does not answer (a node started during an outage):
// openWhenReachable() gives the store and says why; its statements fail until the server
// answers, and then the first one connects and applies the migrations (the database here is a
// new one, with no tables) before it runs.
TEST_F(StoreTest, AStoreOpenedWhileItsServerDoesNotAnswerConnectsAndMigratesOnceItDoes) {
  std::unique_ptr<TcpRelay> relayMade;
  const std::string viaRelay = throughRelay(&relayMade);
  if (viaRelay.empty()) GTEST_SKIP() << "PostgreSQL only: SQLite has no server";
  TcpRelay& relay = *relayMade;
  const std::string url = testPostgresql();
  relay.freeze();
  std::string unreachable;
  auto opened = Store::openWhenReachable(viaRelay, Store::Synchronous::Normal, &unreachable);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  // libpq's words depend on when the relay turned it away (a timeout, a closed connection).
  EXPECT_EQ(unreachable.rfind("postgresql://", 0), 0u) << unreachable;
  EXPECT_NE(unreachable.find(": connection to server at \"127.0.0.1\""), std::string::npos)
      << unreachable;
  auto store = std::move(opened).value();
  auto version = store->dataVersion();
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().message.find("database"), std::string::npos) << version.error().message;
  EXPECT_TRUE(queryRows(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") ==
              std::vector<std::string>{"0"});

  relay.thaw();
  const auto thawed = std::chrono::steady_clock::now();
  while (!store->checkWritable().ok() &&
         std::chrono::steady_clock::now() - thawed < std::chrono::seconds(15)) {
    ::poll(nullptr, 0, 20);
  }
  version = store->dataVersion();
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(queryRows(url, "SELECT max(version) FROM schema_migrations"),
            std::vector<std::string>{std::to_string(store->schemaVersion())});
  EXPECT_GE(store->schemaVersion(), 16);
  auto saved = store->saveCallRecord(failedOverCall());
  EXPECT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(rows("SELECT call_id FROM call_records"),
            std::vector<std::string>{failedOverCall().callId});
}

// A PostgreSQL connection string that libpq cannot read is the configuration's error, with or
// without waiting for the server; a SQLite path opens as with open().
TEST_F(StoreTest, OpenWhenReachableStillRefusesAConnectionStringLibpqCannotRead) {
  std::string unreachable;
  auto opened = Store::openWhenReachable("postgresql://[::1/nowhere", Store::Synchronous::Normal,
                                         &unreachable);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "store.open");
  EXPECT_TRUE(unreachable.empty()) << unreachable;
  auto memory = Store::openWhenReachable(":memory:", Store::Synchronous::Normal, &unreachable);
  ASSERT_TRUE(memory.ok()) << memory.error().message;
  EXPECT_TRUE(unreachable.empty()) << unreachable;
}

// The database's clock, which the nodes sharing it measure theirs against: the server's (here
// on this host, so within a second of this host's clock), or SQLite's, which is this host's.
TEST_F(StoreTest, TheDatabasesClockIsReadInUnixMilliseconds) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  const int64_t before = unixMsNow();
  auto clock = store->databaseClockMs();
  const int64_t after = unixMsNow();
  ASSERT_TRUE(clock.ok()) << clock.error().message;
  EXPECT_GE(clock.value(), before - 1000);
  EXPECT_LE(clock.value(), after + 1000);
}

TEST_F(StoreTest, CallRecordsAreListedNewestFirstUpToTheLimit) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  // Saved out of order (a long call ends after a short one that started later); the tie on
  // started_at goes to the later insert.
  for (auto [callId, startedAtMs] :
       {std::pair{"b", 2000}, std::pair{"a", 1000}, std::pair{"c", 3000}, std::pair{"c2", 3000}}) {
    CallRecord r = failedOverCall();
    r.callId = callId;
    r.startedAtMs = startedAtMs;
    r.endedAtMs = startedAtMs + 100;
    ASSERT_TRUE(store->saveCallRecord(r).ok());
  }
  auto callIds = [&](size_t limit) {
    std::vector<std::string> out;
    auto loaded = store->loadCallRecords(limit);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    if (loaded.ok()) {
      for (const auto& r : loaded.value()) {
        out.push_back(r.callId);
      }
    }
    return out;
  };
  EXPECT_EQ(callIds(10), (std::vector<std::string>{"c2", "c", "b", "a"}));
  EXPECT_EQ(callIds(2), (std::vector<std::string>{"c2", "c"}));
  EXPECT_TRUE(callIds(0).empty());

  // Pruning keeps the newest records by insertion order: "c" and "c2" were saved last.
  ASSERT_TRUE(store->pruneCallRecords(2).ok());
  EXPECT_EQ(callIds(10), (std::vector<std::string>{"c2", "c"}));
  ASSERT_TRUE(store->pruneCallRecords(5).ok());
  EXPECT_EQ(callIds(10).size(), 2u);
}

TEST_F(StoreTest, ADatabaseAtMigration3IsUpgradedWithCallRecords) {
  SOS_SQLITE_ONLY("an old SQLite file upgraded; a PostgreSQL database starts at the latest schema");
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->seedIfEmpty(writeFile("seed.yaml", joinLines(kSmallSeed))).ok());
    CallRecord r = failedOverCall();
    ASSERT_TRUE(store->saveCallRecord(r).ok());
  }
  // Back to the schema version 3 wrote, as an older sosproxy left it.
  execute(
      "DROP TABLE nodes; DROP TABLE test_calls; DROP TABLE test_call_status;"
      "ALTER TABLE users DROP COLUMN location_permission_at_ms;"
      "ALTER TABLE personal_locations DROP COLUMN hold_until_ms;"
      "DROP TABLE location_requests; ALTER TABLE users DROP COLUMN email;"
      "DROP TABLE data_version; ALTER TABLE devices DROP COLUMN brand;"
      "ALTER TABLE devices DROP COLUMN model; ALTER TABLE devices DROP COLUMN common_area;"
      "DROP TABLE api_token_passwords;"
      "DROP TABLE api_token_sites; DROP TABLE api_tokens; DROP TABLE audit_log;"
      "ALTER TABLE device_reports DROP COLUMN network_provided;"
      "DROP TABLE notification_jobs;"
      "DROP TABLE call_alerts;"
      "DROP TABLE call_records;"
      "DELETE FROM schema_migrations WHERE version >= 4");
  ASSERT_EQ(one("SELECT MAX(version) FROM schema_migrations"), "3");
  ASSERT_EQ(one("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'call_records%'"), "0");

  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schemaVersion(), 16);
  EXPECT_EQ(rows("SELECT version FROM schema_migrations"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
                                      "13", "14", "15", "16"}));
  EXPECT_EQ(rows("SELECT name FROM sqlite_master WHERE tbl_name = 'call_records' ORDER BY name"),
            (std::vector<std::string>{"call_records", "call_records_call_id",
                                      "call_records_started_at"}));
  // The rows of version 3 are kept, and the new table is empty and usable at once.
  EXPECT_EQ(one("SELECT key, name FROM locations"), "hq-lobby|HQ Lobby");
  auto none = store->loadCallRecords(10);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none.value().empty());
  ASSERT_TRUE(store->saveCallRecord(failedOverCall()).ok());
  auto saved = store->loadCallRecords(10);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  ASSERT_EQ(saved.value().size(), 1u);
  EXPECT_EQ(saved.value()[0].attempts, "il-psap-a:503 il-psap-b:200");
}

TEST_F(StoreTest, ADatabaseAtMigration4IsUpgradedWithTheAlertOutbox) {
  SOS_SQLITE_ONLY("an old SQLite file upgraded; a PostgreSQL database starts at the latest schema");
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->saveCallRecord(failedOverCall()).ok());
  }
  // Back to the schema version 4 wrote, as an older sosproxy left it.
  execute(
      "DROP TABLE nodes; DROP TABLE test_calls; DROP TABLE test_call_status;"
      "ALTER TABLE users DROP COLUMN location_permission_at_ms;"
      "ALTER TABLE personal_locations DROP COLUMN hold_until_ms;"
      "DROP TABLE location_requests; ALTER TABLE users DROP COLUMN email;"
      "DROP TABLE data_version; ALTER TABLE devices DROP COLUMN brand;"
      "ALTER TABLE devices DROP COLUMN model; ALTER TABLE devices DROP COLUMN common_area;"
      "DROP TABLE api_token_passwords;"
      "DROP TABLE api_token_sites; DROP TABLE api_tokens; DROP TABLE audit_log;"
      "ALTER TABLE device_reports DROP COLUMN network_provided;"
      "DROP TABLE notification_jobs;"
      "DROP TABLE call_alerts;"
      "DELETE FROM schema_migrations WHERE version >= 5");
  ASSERT_EQ(one("SELECT MAX(version) FROM schema_migrations"), "4");

  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schemaVersion(), 16);
  EXPECT_EQ(rows("SELECT version FROM schema_migrations"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
                                      "13", "14", "15", "16"}));
  EXPECT_EQ(rows("SELECT name FROM sqlite_master WHERE tbl_name IN ('notification_jobs', "
                 "'call_alerts') AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name"),
            (std::vector<std::string>{"call_alerts", "call_alerts_escalate_at", "notification_jobs",
                                      "notification_jobs_call_id", "notification_jobs_claimed",
                                      "notification_jobs_pending"}));
  // The rows of version 4 are kept, and the outbox is empty and usable at once.
  EXPECT_EQ(one("SELECT call_id, outcome FROM call_records"), "1-4242@127.0.0.1|answered");
  auto due = store->loadDueNotificationJobs(INT64_MAX);
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_TRUE(due.value().empty());
  std::vector<NotificationJob> jobs(1);
  jobs[0].deliveryId = "d-1";
  jobs[0].callId = "c-1";
  jobs[0].event = "started";
  jobs[0].channel = "sip";
  jobs[0].target = "sip:security-desk@127.0.0.1:5094";
  jobs[0].payload = "911 call";
  auto written = store->insertNotificationJobs(jobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_GT(jobs[0].id, 0);
}

// Three jobs of a started 911 call, as the notifier writes them.
std::vector<NotificationJob> startedJobs() {
  std::vector<NotificationJob> jobs;
  const std::vector<std::pair<std::string, std::string>> responders = {
      {"webhook", "http://127.0.0.1:8089/alerts"},
      {"email", "guard@example.com"},
      {"sip", "sip:security-desk@127.0.0.1:5094"}};
  for (const auto& [channel, target] : responders) {
    NotificationJob j;
    j.deliveryId = "d-" + channel;
    j.callId = "1-4242@127.0.0.1";
    j.event = "started";
    j.channel = channel;
    j.target = target;
    j.payload = channel == "webhook" ? R"({"event":"started","call_id":"1-4242@127.0.0.1"})"
                                     : "Emergency call 911 from 1001\nFLR 2";
    j.nextAttemptAtMs = 1700000000000;
    j.createdAtMs = 1700000000000;
    jobs.push_back(std::move(j));
  }
  return jobs;
}

// The tier-2 job of an escalation of `callId`.
std::vector<NotificationJob> tier2Job(const std::string& callId, const std::string& target,
                                      const std::string& payload) {
  std::vector<NotificationJob> jobs(1);
  jobs[0].deliveryId = "d-tier-2";
  jobs[0].callId = callId;
  jobs[0].event = "escalation";
  jobs[0].tier = 2;
  jobs[0].channel = "email";
  jobs[0].target = target;
  jobs[0].payload = payload;
  return jobs;
}

CallAlert startedAlert() {
  CallAlert a;
  a.callId = "1-4242@127.0.0.1";
  a.site = "HQ";
  a.firstEventAtMs = 1700000000000;
  a.escalateAtMs = 1700000120000;
  a.details = R"({"dialed":"911"})";
  return a;
}

TEST_F(StoreTest, NotificationJobsRoundTripWithTheirCallAlert) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto jobs = startedJobs();
  jobs[1].test = true;
  const CallAlert alert = startedAlert();
  auto written = store->insertNotificationJobs(jobs, &alert);
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_GT(jobs[0].id, 0);
  EXPECT_LT(jobs[0].id, jobs[1].id);
  EXPECT_LT(jobs[1].id, jobs[2].id);
  // As another process sees them: pending, no attempt yet, absent times and errors as NULL.
  EXPECT_EQ(
      rows("SELECT delivery_id, event, tier, channel, state, attempts, next_attempt_at, "
           "delivered_at, last_error, test FROM notification_jobs ORDER BY id"),
      (std::vector<std::string>{"d-webhook|started|1|webhook|pending|0|1700000000000|NULL|NULL|0",
                                "d-email|started|1|email|pending|0|1700000000000|NULL|NULL|1",
                                "d-sip|started|1|sip|pending|0|1700000000000|NULL|NULL|0"}));
  EXPECT_EQ(one("SELECT call_id, site, first_event_at, escalate_at, escalated_tier, "
                "acknowledged_by, acknowledged_at, details FROM call_alerts"),
            "1-4242@127.0.0.1|HQ|1700000000000|1700000120000|1|NULL|NULL|{\"dialed\":\"911\"}");

  auto loaded = store->loadNotificationJobs("1-4242@127.0.0.1");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 3u);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const NotificationJob& r = loaded.value()[i];
    SCOPED_TRACE(jobs[i].channel);
    EXPECT_EQ(r.id, jobs[i].id);
    EXPECT_EQ(r.deliveryId, jobs[i].deliveryId);
    EXPECT_EQ(r.callId, jobs[i].callId);
    EXPECT_EQ(r.event, "started");
    EXPECT_EQ(r.tier, 1);
    EXPECT_EQ(r.channel, jobs[i].channel);
    EXPECT_EQ(r.target, jobs[i].target);
    EXPECT_EQ(r.payload, jobs[i].payload);
    EXPECT_EQ(r.state, "pending");
    EXPECT_EQ(r.attempts, 0);
    EXPECT_EQ(r.nextAttemptAtMs, 1700000000000);
    EXPECT_EQ(r.createdAtMs, 1700000000000);
    EXPECT_EQ(r.deliveredAtMs, 0);
    EXPECT_EQ(r.lastError, "");
    EXPECT_EQ(r.test, i == 1);
  }
  auto other = store->loadNotificationJobs("another call");
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(other.value().empty());

  auto read = store->loadCallAlert(alert.callId);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->site, "HQ");
  EXPECT_EQ(read.value()->firstEventAtMs, alert.firstEventAtMs);
  EXPECT_EQ(read.value()->escalateAtMs, alert.escalateAtMs);
  EXPECT_EQ(read.value()->escalatedTier, 1);
  EXPECT_EQ(read.value()->acknowledgedAtMs, 0);
  EXPECT_EQ(read.value()->details, alert.details);
  auto unknown = store->loadCallAlert("another call");
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  EXPECT_FALSE(unknown.value().has_value());
}

// Issue 22: several nodes on one database. A job or an alert is worked by the node that
// claimed it while its lease lasts: another node's claim takes only what nobody claimed or what
// ran out; the owner's renewal keeps its own; a node that lost a claim can neither record a
// retry nor escalate.
// Issue 22: each node says it is alive once a second and reads who else is; those heard from
// within the window, in the database's order of names, share out the ELIN pools.
TEST_F(StoreTest, NodesSayTheyAreAliveAndReadWhoElseIs) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto alone = store->heartbeatNode("node-b", "host-b pid 2", 10'000, 5000);
  ASSERT_TRUE(alone.ok()) << alone.error().message;
  EXPECT_EQ(alone.value().alive, std::vector<std::string>{"node-b"});
  EXPECT_EQ(alone.value().otherInstance, "");
  ASSERT_TRUE(store->heartbeatNode("node-a", "host-a pid 1", 11'000, 5000).ok());
  auto both = store->heartbeatNode("node-b", "host-b pid 2", 12'000, 5000);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both.value().alive, (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(both.value().otherInstance, "");
  // node-a is not heard from again: 5 s after its last word it is no longer counted; its row
  // stays, one per name, and comes back to life with its next word.
  auto later = store->heartbeatNode("node-b", "host-b pid 2", 16'001, 5000);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later.value().alive, std::vector<std::string>{"node-b"});
  EXPECT_EQ(one("SELECT COUNT(*) FROM nodes"), "2");
  EXPECT_EQ(one("SELECT seen_at_ms FROM nodes WHERE name = 'node-b'"), "16001");
  EXPECT_EQ(one("SELECT instance FROM nodes WHERE name = 'node-b'"), "host-b pid 2");
}

// Two processes given one store.node_name: each heartbeat reads who spoke for the name last,
// and tells the node when it was another process within the window. One that went quiet
// longer ago (a node restarted under its name: a new pid) is no clash.
TEST_F(StoreTest, TwoProcessesUnderOneNodeNameAreTold) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->heartbeatNode("node-a", "host-1 pid 10", 10'000, 5000).ok());
  auto second = store->heartbeatNode("node-a", "host-2 pid 20", 10'400, 5000);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second.value().otherInstance, "host-1 pid 10");
  EXPECT_EQ(second.value().otherSeenAtMs, 10'000);
  EXPECT_EQ(second.value().alive, std::vector<std::string>{"node-a"});
  auto first = store->heartbeatNode("node-a", "host-1 pid 10", 11'000, 5000);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().otherInstance, "host-2 pid 20");
  // The same process again: no clash.
  auto again = store->heartbeatNode("node-a", "host-1 pid 10", 12'000, 5000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().otherInstance, "");
  // A restart under the same name after the last word is older than the window: no clash.
  auto restarted = store->heartbeatNode("node-a", "host-1 pid 11", 17'001, 5000);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ(restarted.value().otherInstance, "");
  // A row from before migration 16 has no instance: nobody to tell apart.
  execute("UPDATE nodes SET instance = NULL");
  auto old = store->heartbeatNode("node-a", "host-1 pid 12", 17'500, 5000);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old.value().otherInstance, "");
}

TEST_F(StoreTest, ClaimsTakeWhatNobodyHoldsAndLeasesThatRanOut) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto jobs = startedJobs();
  for (auto& j : jobs) {
    j.claimedBy = "node-a";
    j.leaseUntilMs = 1000;
  }
  CallAlert alert = startedAlert();
  alert.claimedBy = "node-a";
  alert.leaseUntilMs = 1000;
  ASSERT_TRUE(store->insertNotificationJobs(jobs, &alert).ok());
  EXPECT_EQ(one("SELECT claimed_by, lease_until FROM call_alerts"), "node-a|1000");

  auto claim = [&](const std::string& node, int64_t now, ClaimScope scope) {
    OutboxClaim c;
    c.node = node;
    c.nowMs = now;
    c.leaseUntilMs = now + 1000;
    c.scope = scope;
    auto taken = store->claimNotificationJobs(c);
    EXPECT_TRUE(taken.ok()) << taken.error().message;
    auto escalations = store->claimEscalations(c);
    EXPECT_TRUE(escalations.ok()) << escalations.error().message;
    return std::make_pair(taken.ok() ? taken.value().size() : 99,
                          escalations.ok() ? escalations.value().size() : 99);
  };
  // Node A's lease holds until 1000: node B takes nothing, node A restarting takes its own.
  EXPECT_EQ(claim("node-b", 500, ClaimScope::Expired), std::make_pair(size_t{0}, size_t{0}));
  EXPECT_EQ(claim("node-a", 500, ClaimScope::OwnOrExpired), std::make_pair(size_t{3}, size_t{1}));
  EXPECT_EQ(one("SELECT DISTINCT claimed_by || '|' || lease_until FROM notification_jobs"),
            "node-a|1500");
  ASSERT_TRUE(store->renewOutboxClaims("node-a", 2000).ok());
  EXPECT_EQ(claim("node-b", 1999, ClaimScope::Expired), std::make_pair(size_t{0}, size_t{0}));
  EXPECT_EQ(claim("node-c", 1999, ClaimScope::OwnOrExpired), std::make_pair(size_t{0}, size_t{0}));

  // Node A stops renewing: past 2000 node B takes the three jobs and the escalation over.
  EXPECT_EQ(claim("node-b", 2000, ClaimScope::Expired), std::make_pair(size_t{3}, size_t{1}));
  EXPECT_EQ(rows("SELECT claimed_by, lease_until FROM notification_jobs ORDER BY id"),
            (std::vector<std::string>{"node-b|3000", "node-b|3000", "node-b|3000"}));
  EXPECT_EQ(one("SELECT claimed_by, lease_until FROM call_alerts"), "node-b|3000");
  // Node A, late, may not record a retry or escalate; node B may.
  auto lateRetry = store->markNotificationRetry(jobs[0].id, 5000, "timeout", "node-a");
  ASSERT_TRUE(lateRetry.ok()) << lateRetry.error().message;
  EXPECT_FALSE(lateRetry.value());
  auto retry = store->markNotificationRetry(jobs[0].id, 5000, "timeout", "node-b");
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry.value());
  auto tier2 = tier2Job(alert.callId, "facilities@example.com", "Not acknowledged\n911 from 1001");
  tier2[0].claimedBy = "node-a";
  auto lateEscalation = store->recordEscalation(tier2, alert.callId, 2, 0, "node-a");
  ASSERT_TRUE(lateEscalation.ok()) << lateEscalation.error().message;
  EXPECT_FALSE(lateEscalation.value());
  EXPECT_EQ(tier2[0].id, 0);
  EXPECT_EQ(one("SELECT count(*), max(tier) FROM notification_jobs"), "3|1");
  tier2[0].claimedBy = "node-b";
  auto escalated = store->recordEscalation(tier2, alert.callId, 2, 0, "node-b");
  ASSERT_TRUE(escalated.ok()) << escalated.error().message;
  EXPECT_TRUE(escalated.value());
  EXPECT_GT(tier2[0].id, 0);
  EXPECT_EQ(one("SELECT escalated_tier, escalate_at FROM call_alerts"), "2|NULL");

  // A node alone on its database takes everything pending, whoever claimed it; a delivered job
  // is nobody's to claim, nor is an alert with no tier left.
  ASSERT_TRUE(store->markNotificationDelivered(jobs[1].id, 5000).value());
  EXPECT_EQ(claim("node-c", 0, ClaimScope::Everything), std::make_pair(size_t{3}, size_t{0}));
  EXPECT_EQ(rows("SELECT delivery_id, claimed_by FROM notification_jobs ORDER BY id"),
            (std::vector<std::string>{"d-webhook|node-c", "d-email|node-b", "d-sip|node-c",
                                      "d-tier-2|node-c"}));
}

TEST_F(StoreTest, JobsAreWrittenAllOrNothing) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto first = startedJobs();
  ASSERT_TRUE(store->insertNotificationJobs(first).ok());
  // The second batch repeats a delivery id in its last job: none of it lands, the alert neither.
  auto second = startedJobs();
  second[0].deliveryId = "d-new-1";
  second[1].deliveryId = "d-new-2";
  const CallAlert alert = startedAlert();
  auto refused = store->insertNotificationJobs(second, &alert);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store.write");
  // SQLite: "UNIQUE constraint failed"; PostgreSQL: "violates unique constraint".
  EXPECT_NE(lowerCase(refused.error().message).find("unique constraint"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(one("SELECT COUNT(*) FROM notification_jobs"), "3");
  EXPECT_EQ(one("SELECT COUNT(*) FROM call_alerts"), "0");
  for (const auto& j : second) {
    EXPECT_EQ(j.id, 0);
  }
}

TEST_F(StoreTest, AJobsAttemptsAreRecordedUntilItIsDeliveredOrGivenUp) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto jobs = startedJobs();
  ASSERT_TRUE(store->insertNotificationJobs(jobs).ok());
  auto dueIds = [&](int64_t untilMs) {
    std::vector<int64_t> ids;
    auto due = store->loadDueNotificationJobs(untilMs);
    EXPECT_TRUE(due.ok()) << due.error().message;
    if (due.ok()) {
      for (const auto& j : due.value()) {
        ids.push_back(j.id);
      }
    }
    return ids;
  };
  const int64_t t0 = 1700000000000;
  EXPECT_TRUE(dueIds(t0 - 1).empty());
  EXPECT_EQ(dueIds(t0), (std::vector<int64_t>{jobs[0].id, jobs[1].id, jobs[2].id}));

  // The webhook fails once and is due again 1 s later; the others are delivered or given up.
  auto retry = store->markNotificationRetry(jobs[0].id, t0 + 1000, "webhook.status: HTTP 500");
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry.value());
  ASSERT_TRUE(store->markNotificationDelivered(jobs[1].id, t0 + 40).ok());
  ASSERT_TRUE(store->markNotificationGivenUp(jobs[2].id, "timeout: no answer").ok());
  EXPECT_TRUE(dueIds(t0 + 999).empty());
  EXPECT_EQ(dueIds(INT64_MAX), std::vector<int64_t>{jobs[0].id});
  EXPECT_EQ(rows("SELECT state, attempts, next_attempt_at, delivered_at, last_error "
                 "FROM notification_jobs ORDER BY id"),
            (std::vector<std::string>{"pending|1|1700000001000|NULL|webhook.status: HTTP 500",
                                      "delivered|1|1700000000000|1700000000040|NULL",
                                      "given_up|1|1700000000000|NULL|timeout: no answer"}));

  // A second attempt delivers it; a late report on a finished job changes nothing.
  ASSERT_TRUE(store->markNotificationDelivered(jobs[0].id, t0 + 1050).ok());
  auto late = store->markNotificationRetry(jobs[1].id, t0 + 2000, "late");
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_FALSE(late.value());
  auto again = store->markNotificationDelivered(jobs[0].id, t0 + 3000);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again.value());
  auto none = store->markNotificationGivenUp(12345, "no such job");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none.value());
  EXPECT_TRUE(dueIds(INT64_MAX).empty());
  auto loaded = store->loadNotificationJobs(jobs[0].callId);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 3u);
  EXPECT_EQ(loaded.value()[0].state, "delivered");
  EXPECT_EQ(loaded.value()[0].attempts, 2);
  EXPECT_EQ(loaded.value()[0].deliveredAtMs, t0 + 1050);
  EXPECT_EQ(loaded.value()[0].lastError, "webhook.status: HTTP 500");
  EXPECT_EQ(loaded.value()[2].state, "given_up");
}

TEST_F(StoreTest, ACallAlertEscalatesUntilAcknowledged) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  CallAlert alert = startedAlert();
  ASSERT_TRUE(store->upsertCallAlert(alert).ok());
  CallAlert other = startedAlert();
  other.callId = "later";
  other.firstEventAtMs += 5000;
  other.escalateAtMs += 5000;
  ASSERT_TRUE(store->upsertCallAlert(other).ok());
  auto dueCalls = [&](int64_t untilMs) {
    std::vector<std::string> out;
    auto due = store->loadEscalationsDue(untilMs);
    EXPECT_TRUE(due.ok()) << due.error().message;
    if (due.ok()) {
      for (const auto& a : due.value()) {
        out.push_back(a.callId + ":" + std::to_string(a.escalatedTier));
      }
    }
    return out;
  };
  EXPECT_TRUE(dueCalls(alert.escalateAtMs - 1).empty());
  EXPECT_EQ(dueCalls(alert.escalateAtMs), std::vector<std::string>{"1-4242@127.0.0.1:1"});
  EXPECT_EQ(dueCalls(INT64_MAX), (std::vector<std::string>{"1-4242@127.0.0.1:1", "later:1"}));

  // Tier 2 alerted; the upsert keeps the first event's time.
  alert.escalatedTier = 2;
  alert.escalateAtMs += 120000;
  alert.firstEventAtMs += 99;
  alert.details = R"({"dialed":"911","trunk":"il-psap-b"})";
  ASSERT_TRUE(store->upsertCallAlert(alert).ok());
  EXPECT_EQ(one("SELECT first_event_at, escalate_at, escalated_tier, details FROM call_alerts "
                "WHERE call_id = '1-4242@127.0.0.1'"),
            "1700000000000|1700000240000|2|{\"dialed\":\"911\",\"trunk\":\"il-psap-b\"}");

  // Acknowledged: never due again, and the first acknowledgement is the one kept.
  auto ack = store->acknowledgeCallAlert("1-4242@127.0.0.1", "guard-1", 1700000030000);
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_TRUE(ack.value());
  auto twice = store->acknowledgeCallAlert("1-4242@127.0.0.1", "guard-2", 1700000040000);
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  EXPECT_TRUE(twice.value());
  auto unknown = store->acknowledgeCallAlert("no such call", "guard-1", 1700000040000);
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  EXPECT_FALSE(unknown.value());
  EXPECT_EQ(dueCalls(INT64_MAX), std::vector<std::string>{"later:1"});
  // A later upsert (another event of the call) does not undo the acknowledgement.
  ASSERT_TRUE(store->upsertCallAlert(alert).ok());
  EXPECT_EQ(dueCalls(INT64_MAX), std::vector<std::string>{"later:1"});
  auto read = store->loadCallAlert("1-4242@127.0.0.1");
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->acknowledgedBy, "guard-1");
  EXPECT_EQ(read.value()->acknowledgedAtMs, 1700000030000);
  EXPECT_EQ(read.value()->escalatedTier, 2);

  // No tier left: escalate_at 0 is stored as NULL and the alert is no longer due.
  other.escalatedTier = 3;
  other.escalateAtMs = 0;
  ASSERT_TRUE(store->upsertCallAlert(other).ok());
  EXPECT_EQ(one("SELECT escalate_at FROM call_alerts WHERE call_id = 'later'"), "NULL");
  EXPECT_TRUE(dueCalls(INT64_MAX).empty());
}

// Issue 14: the outbox's writer and the I/O thread write the same alert on two connections. A
// later event brings only the details up to date; an escalation only the tier and the next
// escalation time; neither undoes what the other (or an acknowledgement) wrote.
TEST_F(StoreTest, EventsAndEscalationsWriteTheirOwnPartsOfACallAlert) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto jobs = startedJobs();
  const CallAlert alert = startedAlert();
  ASSERT_TRUE(store->insertNotificationJobs(jobs, &alert).ok());

  auto tier2 = tier2Job(alert.callId, "facilities@hq.example", "NOT ACKNOWLEDGED");
  auto escalated = store->recordEscalation(tier2, alert.callId, 2, 1700000240000);
  ASSERT_TRUE(escalated.ok()) << escalated.error().message;
  EXPECT_GT(tier2[0].id, jobs[2].id);

  // A later event of the call, written with the alert as its writer knew it at first.
  auto answered = startedJobs();
  for (auto& j : answered) {
    j.deliveryId += "-answered";
    j.event = "answered";
  }
  CallAlert later = alert;
  later.firstEventAtMs += 500;
  later.details = R"({"dialed":"911","trunk":"il-psap-b"})";
  ASSERT_TRUE(store->insertNotificationJobs(answered, &later).ok());
  EXPECT_EQ(one("SELECT first_event_at, escalate_at, escalated_tier, details FROM call_alerts"),
            "1700000000000|1700000240000|2|{\"dialed\":\"911\",\"trunk\":\"il-psap-b\"}");

  // The last tier: no further escalation (NULL), and the details stay.
  ASSERT_TRUE(store->acknowledgeCallAlert(alert.callId, "guard-1", 1700000250000).ok());
  std::vector<NotificationJob> none;
  ASSERT_TRUE(store->recordEscalation(none, alert.callId, 3, 0).ok());
  EXPECT_EQ(one("SELECT escalate_at, escalated_tier, acknowledged_by, details FROM call_alerts"),
            "NULL|3|guard-1|{\"dialed\":\"911\",\"trunk\":\"il-psap-b\"}");
  EXPECT_EQ(one("SELECT COUNT(*) FROM notification_jobs"), "7");
}

TEST_F(StoreTest, AnEscalationIsWrittenAllOrNothing) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto jobs = startedJobs();
  const CallAlert alert = startedAlert();
  ASSERT_TRUE(store->insertNotificationJobs(jobs, &alert).ok());
  auto again = startedJobs();  // the same delivery ids: refused
  auto refused = store->recordEscalation(again, alert.callId, 2, 1700000240000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store.write");
  EXPECT_EQ(one("SELECT escalate_at, escalated_tier FROM call_alerts"), "1700000120000|1");
  EXPECT_EQ(one("SELECT COUNT(*) FROM notification_jobs"), "3");
  for (const auto& j : again) {
    EXPECT_EQ(j.id, 0);
  }

  // Written: the jobs, the tier and the next escalation time; the details stay as they were.
  auto tier2 = tier2Job(alert.callId, "facilities@hq.example", "NOT ACKNOWLEDGED");
  auto escalated = store->recordEscalation(tier2, alert.callId, 2, 1700000240000);
  ASSERT_TRUE(escalated.ok()) << escalated.error().message;
  EXPECT_GT(tier2[0].id, jobs[2].id);
  EXPECT_EQ(one("SELECT escalate_at, escalated_tier, details FROM call_alerts"),
            "1700000240000|2|{\"dialed\":\"911\"}");
}

// The outbox's writer opens a second connection to the file (by the name the first one gives)
// whose commits are synced to the disk (synchronous=FULL); the first keeps NORMAL. A store in
// memory has no file another connection could open.
TEST_F(StoreTest, ASecondConnectionForTheOutboxSyncsEveryCommit) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->synchronous(), Store::Synchronous::Normal);
  if (testPostgresql().empty()) {
    EXPECT_TRUE(fs::equivalent(store->fileName(), path_)) << store->fileName();
  } else {
    EXPECT_EQ(store->fileName(), path_);  // the connection string, for a second connection
  }
  auto writer = Store::open(store->fileName(), Store::Synchronous::Full);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  EXPECT_EQ(writer.value()->synchronous(), Store::Synchronous::Full);
  EXPECT_EQ(store->synchronous(), Store::Synchronous::Normal);
  auto jobs = startedJobs();
  ASSERT_TRUE(writer.value()->insertNotificationJobs(jobs).ok());
  auto seen = store->loadNotificationJobs(jobs[0].callId);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen.value().size(), 3u);

  auto memory = Store::open(":memory:");
  ASSERT_TRUE(memory.ok()) << memory.error().message;
  EXPECT_EQ(memory.value()->fileName(), "");
}

TEST_F(StoreTest, PsapRouteMistakesInTheSeedAreRefusedAtTheirPlace) {
  struct Case {
    std::vector<std::string> extra;  // inserted after line 9 of the small seed
    std::string problem;             // after "SEED:"
  };
  // clang-format off: one row per case reads as a table
  const std::vector<Case> cases = {
      {{"    psap_route: []"},
       "10:17: locations[0].psap_route: must not be empty; leave psap_route out for no override"},
      {{"    psap_route: il-psap-a"}, "10:17: locations[0].psap_route: expected a list"},
      {{"    psap_route: [il-psap-a, \"il psap b\"]"},
       "10:29: locations[0].psap_route[1]: \"il psap b\" is not valid; expected a trunk name "
       "without spaces, e.g. \"il-psap-a\""},
      {{"    psap_route: [il-psap-a, \"\"]"},
       "10:29: locations[0].psap_route[1]: \"\" is not valid; expected a non-empty string"},
      {{"    psap_rout: [il-psap-a]"},
       "10:5: locations[0].psap_rout: unknown key; did you mean \"psap_route\"?"},
      {{"    psap_route: [il-psap-a]", "  - key: everywhere", "    name: Everywhere",
        "    kind: account-default", "    civic: {country: US}", "    psap_route: [erc]"},
       "15:17: locations[1].psap_route: an account-default location stands for an unknown "
       "location, which is routed to the ERC; give the override to a company or site-default "
       "location"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.extra.back());
    auto lines = kSmallSeed;
    lines.insert(lines.begin() + 9, c.extra.begin(), c.extra.end());
    std::string seed = writeFile("seed.yaml", joinLines(lines));
    auto store = open();
    auto r = store->seedIfEmpty(seed);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store.seed-invalid");
    EXPECT_EQ(r.error().message, seed + ":" + c.problem);
    expectNoSeedRows();
  }
}

// Dashboard passwords (issue 18): kept for a token in force by its name, replaced, cleared,
// audited in the same transaction, and found no more once the token is revoked.
TEST_F(StoreTest, ATokensPasswordIsFoundByItsNameUntilClearedOrRevoked) {
  auto store = open();
  ApiToken t;
  t.name = "london-desk";
  t.role = "site-admin";
  t.sites = {"London"};
  t.hash = std::string(64, 'a');
  t.createdAtMs = 1000;
  ASSERT_TRUE(store->createToken(t).ok());
  EXPECT_FALSE(store->findPasswordLogin("london-desk").value().has_value());
  const PasswordHash kept{"00112233", "aabbccdd", 600000};
  AuditEntry set{0, 2000, "cli:ops", "cli", "token.password-set", "token:london-desk", "", "", ""};
  EXPECT_TRUE(store->setTokenPassword("london-desk", &kept, 2000, &set).value());
  EXPECT_FALSE(store->setTokenPassword("nobody", &kept, 2000).value());
  auto found = store->findPasswordLogin("london-desk");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found.value().has_value());
  EXPECT_EQ(found.value()->token.name, "london-desk");
  EXPECT_EQ(found.value()->token.hash, std::string(64, 'a'));
  EXPECT_EQ(found.value()->token.sites, std::vector<std::string>{"London"});
  EXPECT_EQ(found.value()->password.salt, "00112233");
  EXPECT_EQ(found.value()->password.hash, "aabbccdd");
  EXPECT_EQ(found.value()->password.iterations, 600000);
  EXPECT_FALSE(store->findPasswordLogin("nobody").value().has_value());
  // Set again: replaced, one row.
  const PasswordHash other{"44556677", "eeff0011", 1000};
  EXPECT_TRUE(store->setTokenPassword("london-desk", &other, 3000).value());
  EXPECT_EQ(store->findPasswordLogin("london-desk").value()->password.salt, "44556677");
  EXPECT_EQ(one("SELECT COUNT(*) FROM api_token_passwords"), "1");
  // Cleared, then set and revoked: found no more either way.
  EXPECT_TRUE(store->setTokenPassword("london-desk", nullptr, 4000).value());
  EXPECT_FALSE(store->findPasswordLogin("london-desk").value().has_value());
  EXPECT_TRUE(store->setTokenPassword("london-desk", &kept, 5000).value());
  EXPECT_TRUE(store->revokeToken("london-desk", 6000).value());
  EXPECT_FALSE(store->findPasswordLogin("london-desk").value().has_value());
  EXPECT_FALSE(store->setTokenPassword("london-desk", &kept, 7000).value());
  auto trail = store->loadAudit({});
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail.value().size(), 1u);
  EXPECT_EQ(trail.value()[0].action, "token.password-set");
}

// API tokens (issue 16): only the hash is kept, a name is used once, a revoked token is found
// no more but stays listed, and each change is in the audit trail of the same transaction.
TEST_F(StoreTest, TokensAreFoundByHashUntilRevokedAndEveryChangeIsAudited) {
  auto store = open();
  ApiToken t;
  t.name = "hq-it";
  t.role = "site-admin";
  t.sites = {"HQ", "London"};
  t.hash = std::string(64, 'a');
  t.createdAtMs = 1000;
  AuditEntry made{0, 1000, "cli:ops", "cli", "token.create", "token:hq-it", "", "", "site-admin"};
  ASSERT_TRUE(store->createToken(t, &made).ok());
  EXPECT_GT(t.id, 0);

  auto found = store->findTokenByHash(std::string(64, 'a'));
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found.value().has_value());
  EXPECT_EQ(found.value()->name, "hq-it");
  EXPECT_EQ(found.value()->sites, (std::vector<std::string>{"HQ", "London"}));
  EXPECT_FALSE(store->findTokenByHash(std::string(64, 'b')).value().has_value());

  ApiToken again = t;
  again.hash = std::string(64, 'c');
  auto dup = store->createToken(again);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "store.conflict");

  AuditEntry gone{0, 2000, "ops", "super-admin", "token.revoke", "token:hq-it", "", "", ""};
  EXPECT_TRUE(store->revokeToken("hq-it", 2000, &gone).value());
  EXPECT_FALSE(store->revokeToken("hq-it", 3000).value());
  EXPECT_FALSE(store->findTokenByHash(std::string(64, 'a')).value().has_value());
  auto all = store->listTokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 1u);
  EXPECT_EQ(all.value()[0].revokedAtMs, 2000);

  auto trail = store->loadAudit({});
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail.value().size(), 2u);
  EXPECT_EQ(trail.value()[0].action, "token.revoke");  // newest first
  EXPECT_EQ(trail.value()[1].actor, "cli:ops");
}

TEST_F(StoreTest, TheAuditTrailPagesBackwardsAndFiltersBySite) {
  auto store = open();
  for (int i = 1; i <= 5; ++i) {
    AuditEntry e{0,
                 i,
                 "ops",
                 "super-admin",
                 "call.acknowledge",
                 "call:" + std::to_string(i),
                 i % 2 == 0 ? "London" : "HQ",
                 "",
                 "{}"};
    ASSERT_TRUE(store->appendAudit(e).ok());
  }
  AuditQuery q;
  q.limit = 2;
  auto page = store->loadAudit(q).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].object, "call:5");
  q.beforeId = page[1].id;
  auto next = store->loadAudit(q).value();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].object, "call:3");
  AuditQuery london;
  london.sites = {"London"};
  auto onlyLondon = store->loadAudit(london).value();
  ASSERT_EQ(onlyLondon.size(), 2u);
  for (const auto& e : onlyLondon) EXPECT_EQ(e.site, "London");
}

// Issue 16: a company location written through the API passes the seed's checks, replaces its
// ELINs and networks whole, and is audited in the same transaction.
TEST_F(StoreTest, ALocationIsCreatedReplacedAndDeletedByTheSeedsRules) {
  auto store = openSeeded();
  const AuditEntry audit{0,  1,  "ops", "super-admin", "location.create", "location:hq-floor-4",
                         "", "", "{}"};
  const std::string floor4 =
      R"({"key": "hq-floor-4", "name": "HQ Floor 4", "site": "HQ",
          "civic": {"country": "US", "FLR": "4"}, "elins": ["+12175550104"],
          "subnets": ["10.1.4.0/24"], "bssids": ["00:11:22:33:44:6*"]})";
  // Every committed change counts one more data version (a running proxy rebuilds on it); a
  // refused one counts nothing.
  const int64_t seeded = store->dataVersion().value();
  EXPECT_EQ(store->loadLocationData().value().version, seeded);
  auto made = store->putLocation(floor4, "", audit);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(store->dataVersion().value(), seeded + 1);
  EXPECT_TRUE(made.value().created);
  EXPECT_EQ(made.value().site, "HQ");
  EXPECT_EQ(one("SELECT location_key FROM subnets WHERE cidr = '10.1.4.0/24'"), "hq-floor-4");
  EXPECT_EQ(one("SELECT elin FROM location_elins WHERE location_key = 'hq-floor-4'"),
            "+12175550104");

  auto again = store->putLocation(floor4, "", audit);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "store.conflict");
  EXPECT_EQ(store->dataVersion().value(), seeded + 1);

  // Replaced whole: the BSSID is gone, the subnet changed.
  auto replaced = store->putLocation(
      R"({"key": "hq-floor-4", "name": "HQ Floor 4 East", "site": "HQ",
          "civic": {"country": "US", "FLR": "4"}, "subnets": ["10.1.5.0/24"]})",
      "hq-floor-4", audit);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_FALSE(replaced.value().created);
  EXPECT_EQ(rows("SELECT cidr FROM subnets WHERE location_key = 'hq-floor-4'"),
            std::vector<std::string>{"10.1.5.0/24"});
  EXPECT_EQ(one("SELECT COUNT(*) FROM bssids WHERE location_key = 'hq-floor-4'"), "0");
  EXPECT_EQ(one("SELECT COUNT(*) FROM location_elins WHERE location_key = 'hq-floor-4'"), "0");

  // The seed's checks and messages, placed in the text.
  auto typo = store->putLocation("{\"key\": \"hq-floor-9\", \"name\": \"X\",\n \"site\": \"HQQ\"}",
                                 "", audit);
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().code, "store.invalid-location");
  EXPECT_EQ(typo.error().message,
            "1:1: civic: required key is missing\n"
            "2:10: site: no site is named \"HQQ\" under sites; did you mean \"HQ\"?");
  // Another location's subnet: a conflict, nothing written.
  auto taken = store->putLocation(
      R"({"key": "hq-annex", "name": "Annex", "site": "HQ", "civic": {"country": "US"},
          "subnets": ["10.1.5.0/24"]})",
      "", audit);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, "store.conflict") << taken.error().message;
  EXPECT_EQ(one("SELECT COUNT(*) FROM locations WHERE key = 'hq-annex'"), "0");
  auto wrongKey = store->putLocation(floor4, "hq-lobby", audit);
  ASSERT_FALSE(wrongKey.ok());
  EXPECT_EQ(wrongKey.error().code, "store.invalid-location");

  // A site's default stays; a company location goes with its networks.
  auto lobby = store->deleteLocation("hq-lobby", audit);
  ASSERT_FALSE(lobby.ok());
  EXPECT_EQ(lobby.error().code, "store.conflict");
  EXPECT_TRUE(store->deleteLocation("hq-floor-4", audit).value());
  EXPECT_FALSE(store->deleteLocation("hq-floor-4", audit).value());
  EXPECT_EQ(one("SELECT COUNT(*) FROM subnets WHERE location_key = 'hq-floor-4'"), "0");
  EXPECT_EQ(one("SELECT COUNT(*) FROM audit_log"), "3");  // create, replace, delete
}

// Issue 16: call records as the API asks for them: by time, site, kind, outcome, Call-ID, and
// paged backwards.
TEST_F(StoreTest, CallRecordsAreFoundByEachFilterNewestFirst) {
  auto store = open();
  for (int i = 0; i < 6; ++i) {
    CallRecord r = failedOverCall();
    r.callId = "call-" + std::to_string(i);
    r.startedAtMs = 1000 + i;
    r.site = i % 2 == 0 ? "HQ" : "London";
    r.emergency = i < 4;
    r.outcome = i == 5 ? "failed" : "answered";
    ASSERT_TRUE(store->saveCallRecord(r).ok());
  }
  auto ids = [&](const CallQuery& q) {
    std::vector<std::string> out;
    for (const auto& r : store->findCallRecords(q).value()) out.push_back(r.callId);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"call-5", "call-4", "call-3", "call-2", "call-1", "call-0"}));
  CallQuery window;
  window.sinceMs = 1002;
  window.untilMs = 1004;
  EXPECT_EQ(ids(window), (V{"call-3", "call-2"}));
  CallQuery london;
  london.sites = {"London"};
  EXPECT_EQ(ids(london), (V{"call-5", "call-3", "call-1"}));
  CallQuery ordinary;
  ordinary.emergency = false;
  EXPECT_EQ(ids(ordinary), (V{"call-5", "call-4"}));
  CallQuery failed;
  failed.outcome = "failed";
  EXPECT_EQ(ids(failed), (V{"call-5"}));
  CallQuery one;
  one.callId = "call-2";
  EXPECT_EQ(ids(one), (V{"call-2"}));
  CallQuery page;
  page.limit = 2;
  auto first = store->findCallRecords(page).value();
  page.beforeId = first.back().id;
  EXPECT_EQ(ids(page), (V{"call-3", "call-2"}));
}

// ---- Issue 16: users, desk phones and locations from CSV ----

namespace {

ImportRequest csvRequest(const std::string& text, bool replace = false, bool dryRun = false) {
  auto input = readCsvInput(text, "in.csv");
  EXPECT_TRUE(input.ok()) << input.error().message;
  ImportRequest r;
  r.kind = input.value().kind;
  r.records = input.value().records;
  r.replace = replace;
  r.dryRun = dryRun;
  r.source = "in.csv";
  r.actor = "ops";
  r.role = "super-admin";
  r.atMs = 1000;
  return r;
}

}  // namespace

TEST_F(StoreTest, AnExportImportedBackChangesNothing) {
  auto store = openSeeded();
  for (DataKind kind : {DataKind::Users, DataKind::Devices, DataKind::Locations}) {
    auto csv = store->exportCsv(kind);
    ASSERT_TRUE(csv.ok()) << csv.error().message;
    auto result = store->applyRecords(csvRequest(csv.value(), /*replace=*/true));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result.value().changes.empty()) << diffText(result.value());
    EXPECT_FALSE(result.value().written);
    EXPECT_EQ(result.value().unchanged, store->loadRecords(kind).value().size());
  }
  // What the demo's users file looks like (the README documents these columns).
  const std::string head =
      "extension,did,name,site,nomadic,location_permission,email\r\n"
      "1001,+12175551001,Alice Adams,HQ,no,yes,\r\n";
  EXPECT_EQ(store->exportCsv(DataKind::Users).value().substr(0, head.size()), head);
}

TEST_F(StoreTest, MergeAddsAndUpdatesByKeyADryRunWritesNothingReplaceDeletesTheRest) {
  auto store = openSeeded();
  const int64_t version = store->dataVersion().value();
  const std::string csv =
      "extension,name,site,nomadic\n"
      "1001,Alice Abel,HQ,no\n"
      "1005,\"Ames, Dana\",London,yes\n";
  auto dry = store->applyRecords(csvRequest(csv, false, /*dryRun=*/true));
  ASSERT_TRUE(dry.ok()) << dry.error().message;
  EXPECT_EQ(diffText(dry.value()),
            "users: 1 added, 1 changed, 0 removed, 3 unchanged\n"
            "~ 1001: name \"Alice Adams\" -> \"Alice Abel\"\n"
            "+ 1005: name \"Ames, Dana\", site \"London\", nomadic \"yes\", location_permission "
            "\"yes\"\n");
  EXPECT_FALSE(dry.value().written);
  EXPECT_EQ(one("SELECT name FROM users WHERE extension = '1001'"), "Alice Adams");
  EXPECT_EQ(one("SELECT COUNT(*) FROM users"), "4");
  EXPECT_EQ(store->dataVersion().value(), version);

  auto merged = store->applyRecords(csvRequest(csv));
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_TRUE(merged.value().written);
  EXPECT_EQ(store->dataVersion().value(), version + 1);
  // An update keeps what hangs off the user: the DID the file did not give, the desk phone.
  EXPECT_EQ(one("SELECT name, did, site FROM users WHERE extension = '1001'"),
            "Alice Abel|+12175551001|HQ");
  EXPECT_EQ(one("SELECT extension FROM devices WHERE mac = '00:04:f2:00:10:01'"), "1001");
  EXPECT_EQ(one("SELECT name, did, nomadic, location_permission FROM users "
                "WHERE extension = '1005'"),
            "Ames, Dana|NULL|1|1");
  // Every record changed is in the audit trail with who changed it, before and after.
  EXPECT_EQ(rows("SELECT action, object, site, actor FROM audit_log ORDER BY id"),
            (std::vector<std::string>{"user.update|user:1001|HQ|ops",
                                      "user.create|user:1005|London|ops"}));
  EXPECT_EQ(one("SELECT before FROM audit_log WHERE object = 'user:1001'").find("Alice Adams") !=
                std::string::npos,
            true);

  // Replace: the file is the whole list, so 1002, 1003 and 2001 go (with their personal data).
  auto replaced = store->applyRecords(csvRequest(csv, /*replace=*/true));
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(diffText(replaced.value()),
            "users: 0 added, 0 changed, 3 removed, 2 unchanged\n- 1002\n- 1003\n- 2001\n");
  EXPECT_EQ(rows("SELECT extension FROM users ORDER BY extension"),
            (std::vector<std::string>{"1001", "1005"}));
  EXPECT_EQ(one("SELECT COUNT(*) FROM personal_locations WHERE extension = '1003'"), "0");
}

TEST_F(StoreTest, OneBadRowWritesNothingAndEveryProblemIsNamedByLineColumnAndField) {
  auto store = openSeeded();
  const std::string csv =
      "extension,did,name,site,nomadic\n"
      "1001,+12175551001,Alice,HQ,no\n"
      "10x2,,Bob,HQ,no\n"
      "1007,+12175551001,Gus,HQ,no\n"
      "1008,,Hal,HQQ,perhaps\n"
      "1009,,Ida,,no\n";
  auto result = store->applyRecords(csvRequest(csv));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "import.invalid");
  EXPECT_EQ(result.error().message,
            "in.csv:3:1: extension: \"10x2\" is not valid; expected digits, e.g. \"1001\"\n"
            "in.csv:5:5: nomadic: \"perhaps\" is not valid; expected yes or no\n"
            "in.csv:6:4: site: required");
  // Problems between records are found once each record is fine on its own.
  auto clash = store->applyRecords(
      csvRequest("extension,did,name,site\n1001,+12175551001,Alice,HQ\n1007,+12175551001,Gus,HQ\n"
                 "1008,,Hal,HQQ\n"));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message,
            "in.csv:3:2: did: DID \"+12175551001\" is 1001's already (line 2)\n"
            "in.csv:4:4: site: no site is named \"HQQ\"; did you mean \"HQ\"?");
  EXPECT_EQ(one("SELECT COUNT(*) FROM users"), "4");
  EXPECT_EQ(one("SELECT name FROM users WHERE extension = '1001'"), "Alice Adams");

  auto header = readCsvInput("extension,nmae\n1001,x\n", "in.csv");
  ASSERT_FALSE(header.ok());
  const std::string typo =
      "in.csv:1:2: (header): \"nmae\" is not a column of users; did you mean \"name\"?";
  EXPECT_EQ(header.error().message.substr(0, typo.size()), typo);
  auto ragged = readCsvInput("extension,name\n1001\n", "in.csv");
  ASSERT_FALSE(ragged.ok());
  EXPECT_EQ(ragged.error().message, "in.csv:2:2: (row): 1 fields; the header has 2");
}

TEST_F(StoreTest, LocationsImportWithTheirNetworksAndTheSnapshotSeesThem) {
  auto store = openSeeded();
  // An ELIN moves from Floor 3 to a new Floor 4 in one file; Floor 3 keeps its subnet.
  const std::string csv =
      "key,name,site,country,FLR,elins,subnets,bssids,switches,latitude,longitude\n"
      "hq-floor-3,HQ Floor 3,HQ,US,3,,10.1.3.0/24,,,,\n"
      "hq-floor-4,HQ Floor 4,HQ,US,4,+12175550103;+12175550104,10.1.4.0/24;2001:db8:4::/48,"
      "00-11-22-33-44-6*,00:AA:BB:CC:DD:01 Gi1/0/4,39.8,-89.65\n";
  auto result = store->applyRecords(csvRequest(csv));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value().added, 1u);
  EXPECT_EQ(result.value().changed, 1u);
  auto data = store->loadLocationData().value();
  auto floor4 = std::find_if(data.locations.begin(), data.locations.end(),
                             [](const auto& l) { return l.key == "hq-floor-4"; });
  ASSERT_NE(floor4, data.locations.end());
  EXPECT_EQ(floor4->elins, (std::vector<std::string>{"+12175550103", "+12175550104"}));
  EXPECT_EQ(floor4->civic.flr, "4");
  EXPECT_EQ(floor4->latitude, 39.8);
  EXPECT_EQ(one("SELECT location_key FROM subnets WHERE cidr = '2001:db8:4::/48'"), "hq-floor-4");
  EXPECT_EQ(one("SELECT bssid FROM bssids WHERE location_key = 'hq-floor-4'"), "00:11:22:33:44:6*");
  EXPECT_EQ(one("SELECT chassis, port FROM switches WHERE location_key = 'hq-floor-4'"),
            "00:aa:bb:cc:dd:01|Gi1/0/4");
  EXPECT_EQ(one("SELECT COUNT(*) FROM location_elins WHERE location_key = 'hq-floor-3'"), "0");
  // Exported and imported back: nothing changes (normalized spellings included).
  auto again = store->applyRecords(csvRequest(store->exportCsv(DataKind::Locations).value()));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value().changes.empty()) << diffText(again.value());

  // A network another location keeps is refused; a site's default is never deleted.
  auto taken = store->applyRecords(
      csvRequest("key,name,site,country,subnets\nhq-annex,Annex,HQ,US,10.1.2.0/24\n"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().message,
            "in.csv:2:5: subnets: subnet \"10.1.2.0/24\" is hq-floor-2's already");
  auto lobby = store->applyRecords(
      csvRequest("key,name,site,country\nhq-floor-2,HQ Floor 2,HQ,US\n", /*replace=*/true));
  ASSERT_FALSE(lobby.ok());
  EXPECT_NE(lobby.error().message.find("\"hq-lobby\" is a site's or the account's default"),
            std::string::npos)
      << lobby.error().message;
  auto missingCountry = store->applyRecords(csvRequest("key,name,site\nhq-floor-9,Nine,HQ\n"));
  ASSERT_FALSE(missingCountry.ok());
  EXPECT_EQ(missingCountry.error().message,
            "in.csv:2: country: required: a PSAP cannot place an address without the country");
}

TEST_F(StoreTest, ASiteAdminsImportStaysInsideItsSites) {
  auto store = openSeeded();
  auto request = csvRequest("extension,name,site\n1001,Alice,HQ\n2001,David,London\n");
  request.sites = {"HQ"};
  auto refused = store->applyRecords(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "import.forbidden");
  EXPECT_EQ(refused.error().message,
            "in.csv:3:3: site: \"London\" is not one of the sites this token may change");
  // Replace within HQ: London's user is outside the file's reach and stays.
  auto hq = csvRequest("extension,name,site\n1001,Alice,HQ\n", /*replace=*/true);
  hq.sites = {"HQ"};
  auto replaced = store->applyRecords(hq);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(rows("SELECT extension FROM users ORDER BY extension"),
            (std::vector<std::string>{"1001", "2001"}));
  EXPECT_EQ(store->exportCsv(DataKind::Users, {"London"}).value(),
            "extension,did,name,site,nomadic,location_permission,email\r\n"
            "2001,+442079460001,David Davies,London,no,yes,\r\n");
}

TEST_F(StoreTest, DeskPhonesNameTheirUserBrandModelAndCommonArea) {
  auto store = openSeeded();
  auto result =
      store->applyRecords(csvRequest("mac,extension,brand,model,common_area\n"
                                     "00-04-F2-00-10-01,1001,Poly,VVX 450,no\n"
                                     "00:04:f2:00:20:02,1002,Yealink,T54W,yes\n"
                                     "00:04:f2:00:20:03,1999,Yealink,T54W,no\n"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "in.csv:4:2: extension: no user has extension \"1999\"");
  result =
      store->applyRecords(csvRequest("mac,extension,brand,model,common_area\n"
                                     "00-04-F2-00-10-01,1001,Poly,VVX 450,no\n"
                                     "00:04:f2:00:20:02,1002,Yealink,T54W,yes\n"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(diffText(result.value()),
            "devices: 1 added, 1 changed, 0 removed, 0 unchanged\n"
            "~ 00:04:f2:00:10:01: brand \"\" -> \"Poly\", model \"\" -> \"VVX 450\"\n"
            "+ 00:04:f2:00:20:02: extension \"1002\", brand \"Yealink\", model \"T54W\", "
            "common_area \"yes\"\n");
  EXPECT_EQ(one("SELECT extension, brand, model, common_area FROM devices "
                "WHERE mac = '00:04:f2:00:20:02'"),
            "1002|Yealink|T54W|1");
  // The user's phones are what the snapshot matches reports by.
  auto data = store->loadLocationData().value();
  auto bob = std::find_if(data.users.begin(), data.users.end(),
                          [](const auto& u) { return u.extension == "1002"; });
  ASSERT_NE(bob, data.users.end());
  EXPECT_EQ(bob->macs, std::vector<std::string>{"00:04:f2:00:20:02"});
}

TEST_F(StoreTest, PersonalLocationsImportWithTheirNetworksAndStayClearOfCompanyOnes) {
  auto store = openSeeded();
  const std::string header =
      "key,extension,name,confirmed,country,A1,A3,HNO,RD,PC,elin,networks,bssids\n";
  auto result =
      store->applyRecords(csvRequest(
          header + "bob-home,1002,Bob's home,yes,US,IL,Springfield,12,Elm,62704,,198.51.100.7;"
                   "198.51.100.0/28,00:11:22:33:44:77\n"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value().kind, DataKind::PersonalLocations);
  auto data = store->loadLocationData().value();
  auto bob = std::find_if(data.personal.begin(), data.personal.end(),
                          [](const auto& p) { return p.location.key == "bob-home"; });
  ASSERT_NE(bob, data.personal.end());
  EXPECT_EQ(bob->extension, "1002");
  EXPECT_TRUE(bob->location.confirmed);
  EXPECT_EQ(bob->location.civic.rd, "Elm");
  EXPECT_EQ(bob->matchNetworks, (std::vector<std::string>{"198.51.100.0/28", "198.51.100.7"}));
  EXPECT_EQ(bob->matchBssids, std::vector<std::string>{"00:11:22:33:44:77"});
  // Exported and imported back: nothing changes (Carol's home from the seed included).
  auto again =
      store->applyRecords(csvRequest(store->exportCsv(DataKind::PersonalLocations).value()));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again.value().changes.empty()) << diffText(again.value());

  // A company location's key or ELIN, or a user that does not exist, is refused.
  auto clash =
      store->applyRecords(csvRequest(header + "hq-lobby,1002,Lobby,no,US,,,,,,,,\n"
                                              "bob-cabin,1002,Cabin,no,US,,,,,,+12175550100,,\n"
                                              "eve-home,1999,Eve,no,US,,,,,,,,\n"));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message,
            "in.csv:2:1: key: \"hq-lobby\" is a company location's key\n"
            "in.csv:3:11: elin: ELIN \"+12175550100\" is location hq-lobby's already\n"
            "in.csv:4:2: extension: no user has extension \"1999\"");
}

// Issue 17, "this emergency only": a personal location written with a hold keeps its end time
// (a kept one has none), in the same commit that moves the data version, and the hold is
// removed with the next one.
TEST_F(StoreTest, APersonalLocationHeldForOneEmergencyKeepsItsEndAndIsReplaced) {
  auto store = openSeeded();
  const std::string header = "key,extension,name,confirmed,country,A1,A3,HNO,RD,PC,networks\n";
  const int64_t version = store->dataVersion().value();
  auto held = csvRequest(header + "1002-hold-1,1002,Hotel,yes,US,IL,Chicago,10,Lake,60601," +
                         "198.51.100.20\n");
  held.holdUntilMs = 1'700'000'000'000;
  ASSERT_TRUE(store->applyRecords(held).ok());
  EXPECT_EQ(store->dataVersion().value(), version + 1);
  auto kept = csvRequest(header + "1002-1,1002,Home,yes,US,IL,Springfield,12,Elm,62704,\n");
  ASSERT_TRUE(store->applyRecords(kept).ok());
  auto holdOf = [&](const std::string& key) -> int64_t {
    for (const auto& p : store->loadLocationData().value().personal) {
      if (p.location.key == key) return p.holdUntilMs;
    }
    return -1;
  };
  EXPECT_EQ(holdOf("1002-hold-1"), 1'700'000'000'000);
  EXPECT_EQ(holdOf("1002-1"), 0);
  auto next = csvRequest(header + "1002-hold-2,1002,Hotel 2,yes,US,IL,Chicago,11,Lake,60601," +
                         "198.51.100.20\n");
  next.holdUntilMs = 1'700'000'100'000;
  next.remove = {"1002-hold-1"};
  ASSERT_TRUE(store->applyRecords(next).ok());
  EXPECT_EQ(holdOf("1002-hold-1"), -1);
  EXPECT_EQ(holdOf("1002-hold-2"), 1'700'000'100'000);
}

// Issue 17: a CSV export of personal locations carries a hold's end (hold_until_ms), so that
// importing the export into another database keeps it a hold rather than a kept address; a
// kept address has none, and a value that is no time is refused at its place.
TEST_F(StoreTest, AnExportOfPersonalLocationsKeepsAHoldsEnd) {
  auto store = openSeeded();
  const std::string header = "key,extension,name,confirmed,country,A1,A3,HNO,RD,PC,networks\n";
  auto held = csvRequest(header + "1002-hold-1,1002,Hotel,yes,US,IL,Chicago,10,Lake,60601," +
                         "198.51.100.20\n");
  held.holdUntilMs = 1'700'000'000'000;
  ASSERT_TRUE(store->applyRecords(held).ok());
  const std::string csv = store->exportCsv(DataKind::PersonalLocations).value();
  EXPECT_NE(csv.find(",hold_until_ms"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",1700000000000"), std::string::npos) << csv;
  // Exported and imported back: nothing changes.
  auto again = store->applyRecords(csvRequest(csv));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again.value().changes.empty()) << diffText(again.value());

  // Into another database: the hold is a hold there too, Carol's home (from the seed) is kept.
  auto other = Store::open((dir_ / "other.db").string());
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE(other.value()->seedIfEmpty(kDemoSeed).ok());
  auto imported = other.value()->applyRecords(csvRequest(csv));
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  std::map<std::string, int64_t> holds;
  for (const auto& p : other.value()->loadLocationData().value().personal) {
    holds[p.location.key] = p.holdUntilMs;
  }
  EXPECT_EQ(holds["1002-hold-1"], 1'700'000'000'000);
  EXPECT_EQ(holds["1003-home"], 0);

  auto bad = store->applyRecords(csvRequest(header.substr(0, header.size() - 1) +
                                            ",hold_until_ms\n1002-hold-2,1002,Inn,yes,US,IL," +
                                            "Chicago,11,Lake,60601,198.51.100.20,tomorrow\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "in.csv:2:12: hold_until_ms: \"tomorrow\" is not valid; expected a time in Unix "
            "milliseconds, e.g. 1767225600000");
}

TEST_F(StoreTest, SitesAreAddedWithADefaultAndOneInUseIsNotDeleted) {
  auto store = openSeeded();
  auto added = store->applyRecords(
      csvRequest("name,country,default_location\nParis,FR,\nHQ,US,hq-floor-2\n"));
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(diffText(added.value()),
            "sites: 1 added, 1 changed, 0 removed, 1 unchanged\n"
            "+ Paris: country \"FR\"\n"
            "~ HQ: default_location \"hq-lobby\" -> \"hq-floor-2\"\n");
  EXPECT_EQ(one("SELECT location_key FROM site_defaults WHERE site = 'HQ'"), "hq-floor-2");
  // A location of the new site is accepted from now on.
  auto paris = store->applyRecords(csvRequest("key,name,site,country\nparis-1,Paris 1,Paris,FR\n"));
  ASSERT_TRUE(paris.ok()) << paris.error().message;

  ImportRequest remove;
  remove.kind = DataKind::Sites;
  remove.remove = {"London"};
  remove.source = "request";
  auto london = store->applyRecords(remove);
  ASSERT_FALSE(london.ok());
  EXPECT_EQ(london.error().message,
            "name: site \"London\" still has 1 location and 1 user: move or delete them first");
  auto bad = store->applyRecords(csvRequest("name,country,default_location\nRome,it,nowhere\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "in.csv:2:2: country: \"it\" is not valid; expected two upper-case letters (ISO "
            "3166), e.g. \"US\"");
}

TEST_F(StoreTest, APersonalAddressOutsideTheUsAndCanadaNeedsAnElin) {
  auto store = openSeeded();
  const std::string header = "key,extension,name,country,A3,elin\n";
  // Bob's site (HQ) has ELINs, but in the US: a flat in Paris needs its own.
  auto refused = store->applyRecords(csvRequest(header + "bob-paris,1002,Paris flat,FR,Paris,\n"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "in.csv:2:6: elin: an address in FR needs an ELIN: outside the US and Canada a PSAP "
            "calls back the number the call gave, and site \"HQ\" has no ELINs in FR; give the "
            "address its own elin");
  EXPECT_TRUE(store
                  ->applyRecords(csvRequest(header + "bob-paris,1002,Paris flat,FR,Paris,"
                                                     "+33140000001\n"))
                  .ok());
  EXPECT_TRUE(store->applyRecords(csvRequest(header + "bob-ottawa,1002,Ottawa,CA,Ottawa,\n")).ok());
  // David's site (London) has a pool in GB: his London flat may take its ELIN from there.
  EXPECT_TRUE(store->applyRecords(csvRequest(header + "david-flat,2001,Flat,GB,London,\n")).ok());
}

}  // namespace
}  // namespace sos::store
