#pragma once
// The fixture shared by the integration tests: a temp dir, the demo configuration on free ports,
// a running sosproxy, and helpers to run SIPp peers against it and read what they saw.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace sos::itest {

// Issue 22: the integration suite on PostgreSQL. SOSPROXY_TEST_POSTGRESQL names a database on a
// scratch server (what scripts/pg-local.sh prints); each test then has a database of its own on
// that server, made by the constructor and dropped (its connections ended) by the destructor,
// so that tests running at once never share one.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(const std::string& serverUrl);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  // The new database's URI; "" when it could not be made (error() says why).
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }

 private:
  std::string serverUrl_, name_, url_, error_;
};

// A location the demo's seed does not have, for the API (POST /api/v1/locations): HQ Floor 4,
// subnet 10.1.4.0/24, one ELIN.
inline constexpr const char* kHqFloor4Location =
    R"({"key": "hq-floor-4", "name": "HQ Floor 4", "site": "HQ",
    "civic": {"country": "US", "A1": "IL", "A3": "Springfield", "HNO": "100", "RD": "Main",
              "STS": "St", "FLR": "4", "PC": "62701"},
    "elins": ["+12175550104"], "subnets": ["10.1.4.0/24"]})";

// The value of one metric in a /metrics body: an unlabelled one's, or the sum of a labelled
// one's series; -1 when absent.
long metricIn(const std::string& metrics, const std::string& name);

class B2buaTest : public ::testing::Test {
 protected:
  B2buaTest();
  // Stops sosproxy with SIGTERM and expects a clean exit (0): under the sanitizer build a leak
  // or undefined behaviour found at any point makes it fail.
  void TearDown() override;

  // Writes the configuration (every trunk on `trunkTransport`) and starts sosproxy; a failure
  // to start fails the test with sosproxy's output.
  // With `withLocations`, the store is a file in the test's directory, seeded with the demo
  // enterprise's location data (config/examples/demo-locations.yaml).
  void startProxy(const std::string& trunkTransport = "udp", bool withLocations = false);
  // Without `withLocations` the store is that file too, holding no locations. Under
  // SOSPROXY_TEST_POSTGRESQL the store is this test's database on that server instead
  // (ports_.storePostgresql): storeTarget() names whichever it is, for queryRows
  // (tests/store/test_database.h); tests of the file itself skip (SOS_SQLITE_ONLY).
  std::filesystem::path storePath() const { return dir_.path() / "sosproxy.db"; }
  std::string storeTarget() const {
    return ports_.storePostgresql.empty() ? storePath().string() : ports_.storePostgresql;
  }
  // The rows of `sql` on the store, each row's columns joined by '|' (NULL as "NULL"), read
  // through a connection of its own as an operator would; a failure is a test failure.
  std::vector<std::string> storeRows(const std::string& sql) const;
  // The number a `SELECT COUNT(*) ...` gives; -1 when it gave none.
  long long storeCount(const std::string& sql) const;
  // Another process takes the SQLite database's exclusive lock and holds it (up to 120 s).
  void lockDatabase(std::unique_ptr<Process>& locker);

  // The admin API as a super-admin: the token is made once per test by `sosproxy token create`
  // (after startProxy, which writes the configuration).
  HttpReply api(const std::string& method, const std::string& path, const std::string& body = "");
  const std::string& adminToken();
  // A token of another role, e.g. {"--role", "device", "--user", "1002"}; fails the test when
  // the CLI refuses it.
  std::string makeToken(const std::string& name, const std::vector<std::string>& args);

  // `sosproxy ARGS... --config CONFIG` (import, export, token ...) run to its end.
  CommandRun sosproxyCommand(std::vector<std::string> args);

  // A SIPp UAS standing in for a trunk, already listening on `port` when this returns.
  std::unique_ptr<Sipp> startTrunk(const std::string& scenario, uint16_t port,
                                   const std::string& name, const std::string& transport = "u1",
                                   std::vector<std::pair<std::string, std::string>> sets = {},
                                   int timeoutSeconds = 40);
  // HQ's security desk (ports_.securityDesk): a SIPp UAS taking up to 50 SIP MESSAGE alerts
  // within 90 s, already listening when this returns.
  std::unique_ptr<Sipp> startSecurityDesk();
  // A SIPp UAC sending to sosproxy (started, not waited for).
  std::unique_ptr<Sipp> startCaller(const std::string& scenario, const std::string& name,
                                    const std::string& service, const std::string& transport = "u1",
                                    const std::string& localIp = "127.0.0.1",
                                    int timeoutSeconds = 30);

  // A 911 from extension `caller` whose phone is at `contactHost` (its Contact, with PANI
  // IEEE-802.3; uac-911-from-network-expect-200.xml), to sosproxy: start it with Sipp.
  SippOptions call911Options(const std::string& caller, const std::string& contactHost,
                             const std::string& name) const;

  // Waits until sosproxy's stdout or stderr holds `text`.
  bool outputShows(const std::string& text, milliseconds timeout = milliseconds(10000));

  // Waits for the routing log to hold a line with all these key=value pairs; returns it, or an
  // empty line (raw == "") after `timeout`.
  RoutingLogLine waitForLogLine(const std::vector<std::pair<std::string, std::string>>& match,
                                milliseconds timeout = milliseconds(10000));
  std::string routingLogText() const;

  // sosproxy's /metrics (expects 200), and the value of one unlabelled metric there (-1: absent).
  std::string metrics();
  long metric(const std::string& name);

  // A report of everything, for failure messages.
  std::string report(std::initializer_list<const Sipp*> peers) const;

  TempDir dir_;
  std::unique_ptr<ScratchDatabase> database_;  // under SOSPROXY_TEST_POSTGRESQL only
  DemoPorts ports_;
  std::filesystem::path configPath_;
  std::filesystem::path routingLogPath_;
  std::unique_ptr<Sosproxy> proxy_;
  std::string adminToken_;
  std::vector<std::string> proxyLauncher_;  // startProxy runs sosproxy under it (setLauncher)
};

// The Call-ID of the first INVITE a SIPp sent (received = false) or received (received = true).
std::string inviteCallId(const Sipp& sipp, bool received);
// The first message in the trace whose start line begins with `prefix`, or "".
std::string findMessage(const Sipp& sipp, bool received, const std::string& prefix);
// How many messages in the trace start with `prefix`.
int countMessages(const Sipp& sipp, bool received, const std::string& prefix);

}  // namespace sos::itest
