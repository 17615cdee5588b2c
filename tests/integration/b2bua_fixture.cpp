#include "b2bua_fixture.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "tests/store/test_database.h"

namespace sos::itest {

namespace {

// Runs `sql` on the server at `url`; "" when it went through, else the server's message.
std::string runOn(const std::string& url, const std::string& sql) {
  PGconn* pg = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(pg) != CONNECTION_OK) {
    error = PQerrorMessage(pg);
  } else {
    PGresult* r = PQexec(pg, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(pg);
  return error;
}

}  // namespace

ScratchDatabase::ScratchDatabase(const std::string& serverUrl) : serverUrl_(serverUrl) {
  // postgresql://user@host:port/NAME[?options]: a new NAME on the same server.
  const auto slash = serverUrl.rfind('/');
  const auto query = serverUrl.find('?', slash == std::string::npos ? 0 : slash);
  if (slash == std::string::npos || slash + 1 >= serverUrl.size()) {
    error_ = "SOSPROXY_TEST_POSTGRESQL names no database: " + serverUrl;
    return;
  }
  static std::atomic<int> made{0};
  const std::string base = serverUrl.substr(slash + 1, query - slash - 1);
  name_ = base.substr(0, 40) + "_" + std::to_string(::getpid()) + "_" + std::to_string(++made);
  error_ = runOn(serverUrl, "CREATE DATABASE " + name_);
  if (!error_.empty()) {
    error_ = "cannot create the database " + name_ + ": " + error_;
    name_.clear();
    return;
  }
  url_ = serverUrl.substr(0, slash + 1) + name_ +
         (query == std::string::npos ? "" : serverUrl.substr(query));
}

ScratchDatabase::~ScratchDatabase() {
  if (!name_.empty()) runOn(serverUrl_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

B2buaTest::B2buaTest()
    : dir_("sosproxy-it"),
      ports_(pickDemoPorts()),
      configPath_(dir_.path() / "sosproxy.yaml"),
      routingLogPath_(dir_.path() / "routing.log") {
  if (const char* server = std::getenv("SOSPROXY_TEST_POSTGRESQL"); server && *server) {
    database_ = std::make_unique<ScratchDatabase>(server);
    if (database_->url().empty()) ADD_FAILURE() << database_->error();
    ports_.storePostgresql = database_->url();
  }
}

void B2buaTest::TearDown() {
  if (!proxy_ || !proxy_->process()) return;
  const auto rc = proxy_->process()->stop(milliseconds(20000));
  EXPECT_EQ(rc, std::optional<int>(0)) << "sosproxy did not exit cleanly\n" << proxy_->output();
}

void B2buaTest::startProxy(const std::string& trunkTransport, bool withLocations) {
  ports_.trunkTransport = trunkTransport;
  writeFile(configPath_, withLocations
                             ? demoConfigYaml(ports_, routingLogPath_, storePath(),
                                              std::filesystem::path(SOS_SOURCE_DIR) / "config" /
                                                  "examples" / "demo-locations.yaml")
                             : demoConfigYaml(ports_, routingLogPath_, storePath()));
  proxy_ = std::make_unique<Sosproxy>(sosproxyBinary(), dir_.path());
  proxy_->setLauncher(proxyLauncher_);
  ASSERT_TRUE(proxy_->start(configPath_)) << proxy_->lastError() << "\n--- config:\n"
                                          << readFile(configPath_);
}

std::vector<std::string> B2buaTest::storeRows(const std::string& sql) const {
  return store::testing::queryRows(storeTarget(), sql);
}

long long B2buaTest::storeCount(const std::string& sql) const {
  const auto rows = storeRows(sql);
  return rows.size() == 1 ? std::atoll(rows[0].c_str()) : -1;
}

void B2buaTest::lockDatabase(std::unique_ptr<Process>& locker) {
  const auto lockOut = dir_.path() / "locker.stdout";
  locker = std::make_unique<Process>(
      std::vector<std::string>{"python3", "-c",
                               "import sqlite3, sys, time\n"
                               "c = sqlite3.connect(sys.argv[1], isolation_level=None, "
                               "timeout=10)\n"
                               "c.execute('BEGIN EXCLUSIVE')\n"
                               "print('locked', flush=True)\n"
                               "time.sleep(120)\n",
                               storePath().string()},
      lockOut, dir_.path() / "locker.stderr");
  ASSERT_TRUE(waitFor([&] { return readFile(lockOut).find("locked") != std::string::npos; },
                      milliseconds(15000)))
      << readFile(dir_.path() / "locker.stderr");
}

std::unique_ptr<Sipp> B2buaTest::startTrunk(const std::string& scenario, uint16_t port,
                                            const std::string& name, const std::string& transport,
                                            std::vector<std::pair<std::string, std::string>> sets,
                                            int timeoutSeconds) {
  SippOptions o;
  o.scenario = scenario;
  o.name = name;
  o.port = port;
  o.transport = transport;
  o.sets = std::move(sets);
  o.timeoutSeconds = timeoutSeconds;
  auto sipp = std::make_unique<Sipp>(o, dir_.path());
  EXPECT_TRUE(sipp->start()) << "SIPp UAS " << name << " did not bind port " << port << "\n"
                             << readFile(dir_.path() / (name + ".stderr"))
                             << readFile(dir_.path() / (name + ".stdout"));
  return sipp;
}

std::unique_ptr<Sipp> B2buaTest::startSecurityDesk() {
  SippOptions o;
  o.scenario = "uas-message-receive.xml";
  o.name = "desk";
  o.port = ports_.securityDesk;
  o.calls = 50;
  o.timeoutSeconds = 90;
  auto desk = std::make_unique<Sipp>(o, dir_.path());
  EXPECT_TRUE(desk->start()) << desk->report();
  return desk;
}

std::unique_ptr<Sipp> B2buaTest::startCaller(const std::string& scenario, const std::string& name,
                                             const std::string& service,
                                             const std::string& transport,
                                             const std::string& localIp, int timeoutSeconds) {
  SippOptions o;
  o.scenario = scenario;
  o.name = name;
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.localIp = localIp;
  o.transport = transport;
  o.service = service;
  o.timeoutSeconds = timeoutSeconds;
  auto sipp = std::make_unique<Sipp>(o, dir_.path());
  EXPECT_TRUE(sipp->start()) << "SIPp UAC " << name << " did not start";
  return sipp;
}

std::string B2buaTest::makeToken(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> all{"--name", name};
  all.insert(all.end(), args.begin(), args.end());
  std::string error;
  std::string token = createApiToken(sosproxyBinary(), configPath_, dir_.path(), all, &error);
  EXPECT_FALSE(token.empty()) << error;
  return token;
}

CommandRun B2buaTest::sosproxyCommand(std::vector<std::string> args) {
  args.insert(args.begin(), sosproxyBinary());
  args.insert(args.end(), {"--config", configPath_.string()});
  return runCommand(args, dir_.path());
}

const std::string& B2buaTest::adminToken() {
  if (adminToken_.empty()) adminToken_ = makeToken("test-admin", {"--role", "super-admin"});
  return adminToken_;
}

HttpReply B2buaTest::api(const std::string& method, const std::string& path,
                         const std::string& body) {
  return httpRequest(method, ports_.admin, path, body,
                     {{"Authorization", "Bearer " + adminToken()}});
}

std::string B2buaTest::metrics() {
  auto m = httpRequest("GET", ports_.admin, "/metrics");
  EXPECT_EQ(m.status, 200) << m.body;
  return m.body;
}

long B2buaTest::metric(const std::string& name) { return metricIn(metrics(), name); }

long metricIn(const std::string& metrics, const std::string& name) {
  // Appended, not `"\n" + metrics`: GCC 12 at -O3 warns about that form (-Wrestrict, a false
  // positive).
  std::string body = "\n";
  body += metrics;
  std::string line = "\n";
  line += name;
  line += ' ';
  if (const auto at = body.find(line); at != std::string::npos)
    return std::atol(body.c_str() + at + name.size() + 2);
  // A labelled counter (sosproxy_failovers_total{reason="timeout"}): the sum of its series.
  std::string labelled = "\n";
  labelled += name;
  labelled += '{';
  long sum = -1;
  for (auto at = body.find(labelled); at != std::string::npos; at = body.find(labelled, at + 1)) {
    const auto value = body.find("} ", at);
    if (value == std::string::npos) break;
    sum = (sum < 0 ? 0 : sum) + std::atol(body.c_str() + value + 2);
  }
  return sum;
}

RoutingLogLine B2buaTest::waitForLogLine(
    const std::vector<std::pair<std::string, std::string>>& match, milliseconds timeout) {
  RoutingLogLine found;
  waitFor(
      [&] {
        for (auto& line : readRoutingLog(routingLogPath_)) {
          const bool all = std::all_of(match.begin(), match.end(), [&](const auto& kv) {
            return line.get(kv.first) == kv.second;
          });
          if (all) {
            found = std::move(line);
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

std::string B2buaTest::routingLogText() const { return readFile(routingLogPath_); }

SippOptions B2buaTest::call911Options(const std::string& caller, const std::string& contactHost,
                                      const std::string& name) const {
  SippOptions o;
  o.scenario = "uac-911-from-network-expect-200.xml";
  o.name = name;
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.service = "911";
  o.sets = {{"caller", caller},
            {"contact_host", contactHost},
            {"contact_port", "5060"},
            {"pani", "IEEE-802.3"}};
  return o;
}

bool B2buaTest::outputShows(const std::string& text, milliseconds timeout) {
  return waitFor([&] { return proxy_->output().find(text) != std::string::npos; }, timeout);
}

std::string B2buaTest::report(std::initializer_list<const Sipp*> peers) const {
  std::string r =
      "=== test dir " + dir_.path().string() + " (set SOS_KEEP_TEST_DIRS=1 to keep it)\n";
  r += "=== routing log:\n" + routingLogText();
  for (const Sipp* p : peers)
    if (p != nullptr) r += "=== " + p->report();
  if (proxy_) r += "=== " + proxy_->output();
  return r;
}

std::string findMessage(const Sipp& sipp, bool received, const std::string& prefix) {
  for (const auto& m : traceMessages(sipp.messages(), received))
    if (m.rfind(prefix, 0) == 0) return m;
  return "";
}

int countMessages(const Sipp& sipp, bool received, const std::string& prefix) {
  int n = 0;
  for (const auto& m : traceMessages(sipp.messages(), received))
    if (m.rfind(prefix, 0) == 0) ++n;
  return n;
}

std::string inviteCallId(const Sipp& sipp, bool received) {
  return headerValue(findMessage(sipp, received, "INVITE "), "Call-ID");
}

}  // namespace sos::itest
