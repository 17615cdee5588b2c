// Operations (issue 21): what an operator, a load balancer and systemd see of the running
// binary. --version and sosproxy_build_info agree; /healthz follows the SIP thread's own event
// loop and /readyz names what is not ready (every trunk of a site's route down by its probe, a
// database deleted under it); the routing log moved away by logrotate is followed by a new file
// after SIGHUP; READY=1 reaches NOTIFY_SOCKET after the ready line, WATCHDOG=1 comes from the SIP
// thread and stops when that thread stops.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>

#include "b2bua_fixture.h"
#include "tests/store/test_database.h"

namespace sos::itest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A datagram socket standing in for systemd's notification socket (sd_notify(3)).
class NotifySocket {
 public:
  explicit NotifySocket(fs::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    bound_ = path_.string().size() < sizeof a.sun_path &&
             ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const fs::path& path() const { return path_; }
  // The next datagram, or "" when none came within `timeout`.
  std::string receive(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Reads datagrams until one satisfies `want` (returned) or `timeout` passes (""); the others
  // are counted in `others` by content.
  template <typename Want>
  std::string until(Want want, milliseconds timeout, std::vector<std::string>* others = nullptr) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      std::string m = receive(std::max(left, 1ms));
      if (m.empty()) continue;
      if (want(m)) return m;
      if (others) others->push_back(m);
    }
    return "";
  }
  void drain() {
    while (!receive(0ms).empty()) {
    }
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

// Sets an environment variable for the processes this test starts, and unsets it at the end.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// The thread of `pid` named `name` (/proc/PID/task/TID/comm), or -1.
pid_t threadNamed(pid_t pid, const std::string& name) {
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string comm = readFile(task.path() / "comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm == name) return std::atoi(task.path().filename().c_str());
  }
  return -1;
}

// Holds one thread of a child in a ptrace stop: the rest of the process runs on. Detached (the
// thread resumes) by the destructor at the latest.
class ThreadStop {
 public:
  explicit ThreadStop(pid_t tid) : tid_(tid) {
    if (::ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
      error_ = std::string("ptrace(PTRACE_SEIZE): ") + std::strerror(errno);
      return;
    }
    seized_ = true;
    int status = 0;
    if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0 ||
        ::waitpid(tid_, &status, __WALL) != tid_ || !WIFSTOPPED(status))
      error_ = std::string("could not stop thread ") + std::to_string(tid_);
  }
  ~ThreadStop() { resume(); }
  bool stopped() const { return seized_ && error_.empty(); }
  const std::string& error() const { return error_; }
  void resume() {
    if (seized_) ::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
    seized_ = false;
  }

 private:
  pid_t tid_;
  bool seized_ = false;
  std::string error_;
};

class Ops : public B2buaTest {
 protected:
  HttpReply get(const std::string& path) { return httpRequest("GET", ports_.admin, path); }

  // One ordinary call, answered by the carrier and hung up by the caller; returns the caller's
  // Call-ID once its final routing-log line is in routing.log.
  std::string ordinaryCall(const std::string& name) {
    auto carrier = startTrunk("uas-answer-expect-bye.xml", ports_.carrier, name + "-carrier", "u1",
                              {{"expect_user", "5551234"}});
    auto caller = startCaller("uac-call-caller-hangs-up.xml", name, "5551234");
    EXPECT_EQ(caller->wait(), 0) << report({caller.get(), carrier.get()});
    EXPECT_EQ(carrier->wait(), 0) << report({caller.get(), carrier.get()});
    const std::string cid = inviteCallId(*caller, false);
    EXPECT_FALSE(waitForLogLine({{"event", "final"}, {"call_id", cid}}).raw.empty())
        << "no final line for " << cid << " in routing.log\n"
        << report({});
    return cid;
  }
};

TEST_F(Ops, VersionPrintsTheVersionAndTheCommitThatMetricsShow) {
  Process version({sosproxyBinary(), "--version"}, dir_.path() / "version.stdout",
                  dir_.path() / "version.stderr");
  ASSERT_EQ(version.wait(10000ms), std::optional<int>(0));
  const std::string out = readFile(dir_.path() / "version.stdout");
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(out, m, std::regex("sosproxy ([0-9.]+) \\(commit ([A-Za-z0-9._+-]+)\\)\n")))
      << out;
  EXPECT_EQ(m[1].str(), SOS_PROJECT_VERSION);
  const std::string commit = m[2].str();
  if (commit != "unknown") {  // built from a git checkout: a short hash
    EXPECT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{12}(\\+dirty)?"))) << commit;
  }

  ASSERT_NO_FATAL_FAILURE(startProxy());
  const std::string sample =
      "\nsosproxy_build_info{version=\"" + m[1].str() + "\",commit=\"" + commit + "\"} 1\n";
  EXPECT_NE(metrics().find(sample), std::string::npos) << metrics();
}

// logrotate's way (issue 21, "what it must show" 5): the file is moved, sosproxy gets SIGHUP,
// and the next calls' lines are in a new routing.log while the moved file keeps the earlier ones.
TEST_F(Ops, AfterTheRoutingLogIsMovedAwaySighupStartsANewOne) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  const std::string before = ordinaryCall("before");
  const fs::path rotated = dir_.path() / "routing.log.1";
  fs::rename(routingLogPath_, rotated);
  ASSERT_TRUE(proxy_->process()->sendSignal(SIGHUP));
  ASSERT_TRUE(waitFor(
      [&] {
        return readFile(proxy_->process()->stderrPath())
                   .find("routing log " + routingLogPath_.string() + " reopened") !=
               std::string::npos;
      },
      10000ms))
      << proxy_->output();
  EXPECT_TRUE(fs::exists(routingLogPath_)) << "no new routing.log after SIGHUP";

  const std::string after = ordinaryCall("after");
  const std::string now = readFile(routingLogPath_);
  const std::string old = readFile(rotated);
  EXPECT_NE(now.find("call_id=" + after), std::string::npos) << now;
  EXPECT_EQ(now.find("call_id=" + before), std::string::npos) << now;
  EXPECT_NE(old.find("event=final call_id=" + before), std::string::npos) << old;
  EXPECT_EQ(old.find("call_id=" + after), std::string::npos) << old;
  // The reload that SIGHUP also does went through as before.
  EXPECT_EQ(metric("sosproxy_config_reloads_total"), 1);
  EXPECT_EQ(metric("sosproxy_routing_log_reopen_failures_total"), 0);
}

TEST_F(Ops, LiveAndReadyWhenEverythingIsInPlace) {
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  const auto live = get("/healthz");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, "ok\n");
  const auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.body, "{\"ready\":true,\"not_ready\":[]}\n");
}

// Every trunk of HQ's route (il-psap-a, il-psap-b, the ERC) is probed and silent: HQ cannot reach
// a PSAP, and /readyz says so while /healthz stays live. London still has uk-999 (not probed).
// Once the ERC answers its probe, HQ is served again.
TEST_F(Ops, NotReadyWhileEveryTrunkOfASitesRouteIsDownByItsProbe) {
  UdpBlackHole deadA(ports_.psapA), deadB(ports_.psapB);
  auto deadErc = std::make_unique<UdpBlackHole>(ports_.erc);
  ASSERT_TRUE(deadA.ok() && deadB.ok() && deadErc->ok());
  ports_.psapAOptionsInterval = "1";
  ports_.otherPsapOptionsInterval = "1";
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  HttpReply ready;
  ASSERT_TRUE(waitFor(
      [&] {
        ready = get("/readyz");
        return ready.status == 503;
      },
      15000ms))
      << ready.status << " " << ready.body << proxy_->output();
  EXPECT_EQ(ready.body,
            "{\"ready\":false,\"not_ready\":[{\"check\":\"routes\",\"reason\":\"site HQ: every "
            "trunk of its route is down: il-psap-a, il-psap-b, erc\"}]}\n");
  EXPECT_EQ(get("/healthz").status, 200) << "not ready is not dead";

  deadErc.reset();
  SippOptions o;  // the ERC's SBC, back: it answers every probe
  o.scenario = "uas-options-answer-200.xml";
  o.name = "erc-options";
  o.port = ports_.erc;
  o.calls = 1000;
  o.timeoutSeconds = 60;
  Sipp ercUp(o, dir_.path());
  ASSERT_TRUE(ercUp.start()) << ercUp.report();
  EXPECT_TRUE(waitFor(
      [&] {
        ready = get("/readyz");
        return ready.status == 200;
      },
      15000ms))
      << ready.status << " " << ready.body << proxy_->output();
  EXPECT_EQ(ready.body, "{\"ready\":true,\"not_ready\":[]}\n");
}

// README: a database deleted while sosproxy runs changes nothing for calls; it is no longer
// ready, though: what it writes now would be lost.
TEST_F(Ops, NotReadyWhenTheDatabaseIsDeletedWhileOpen) {
  SOS_SQLITE_ONLY("a database file deleted while open: PostgreSQL has no file");
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  ASSERT_EQ(get("/readyz").status, 200);
  fs::remove(storePath());
  const auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "{\"ready\":false,\"not_ready\":[{\"check\":\"store\",\"reason\":\"" +
                            storePath().string() +
                            ": the database file is gone (deleted while open): writes would be "
                            "lost\"}]}\n");
  EXPECT_EQ(get("/healthz").status, 200);
}

// Type=notify: READY=1 comes once sosproxy has printed its ready line (SIP sockets bound, admin
// server up); WATCHDOG=1 keeps coming as WATCHDOG_USEC asks; STOPPING=1 when it is told to stop.
TEST_F(Ops, SystemdHearsReadyAfterTheReadyLineThenWatchdogPingsAndStopping) {
  NotifySocket systemd(dir_.path() / "notify.sock");
  ASSERT_TRUE(systemd.bound()) << systemd.path();
  ScopedEnv socket("NOTIFY_SOCKET", systemd.path().string());
  ScopedEnv watchdog("WATCHDOG_USEC", "400000");  // a ping every 100 ms
  writeFile(configPath_, demoConfigYaml(ports_, routingLogPath_));
  Process proxy({sosproxyBinary(), "--config", configPath_.string()},
                dir_.path() / "sosproxy.stdout", dir_.path() / "sosproxy.stderr");
  ASSERT_TRUE(proxy.started());

  bool lineFirst = false, sipBound = false;
  const std::string ready = systemd.until(
      [&](const std::string& m) {
        if (m.rfind("READY=1", 0) != 0) return false;
        // What systemd is told must already be true when it hears it.
        lineFirst = readFile(proxy.stdoutPath()).find("sosproxy ready:") != std::string::npos;
        sipBound = portBound(ports_.proxy, false) && portBound(ports_.proxy, true);
        return true;
      },
      20000ms);
  ASSERT_FALSE(ready.empty()) << readFile(proxy.stdoutPath()) << readFile(proxy.stderrPath());
  EXPECT_TRUE(lineFirst) << "READY=1 before the ready line";
  EXPECT_TRUE(sipBound) << "READY=1 before the SIP sockets were bound";
  const std::string port = std::to_string(ports_.proxy);
  EXPECT_EQ(ready, "READY=1\nSTATUS=SIP on udp:127.0.0.1:" + port + " tcp:127.0.0.1:" + port);
  EXPECT_EQ(httpRequest("GET", ports_.admin, "/healthz").status, 200);

  int pings = 0;
  EXPECT_FALSE(
      systemd.until([&](const std::string& m) { return m == "WATCHDOG=1" && ++pings == 5; }, 5000ms)
          .empty())
      << pings << " watchdog pings after READY=1";

  ASSERT_TRUE(proxy.sendSignal(SIGTERM));
  EXPECT_EQ(systemd.until([](const std::string& m) { return m == "STOPPING=1"; }, 10000ms),
            "STOPPING=1");
  EXPECT_EQ(proxy.wait(20000ms), std::optional<int>(0)) << readFile(proxy.stderrPath());
}

// The pings and /healthz come from the SIP thread's own loop: with that one thread held still
// (a ptrace stop, while every other thread runs on), the watchdog hears nothing and /healthz
// answers 503 within its 5 s; once the thread runs again, both come back.
TEST_F(Ops, AStoppedSipThreadStopsTheWatchdogAndIsNotLive) {
  NotifySocket systemd(dir_.path() / "notify.sock");
  ASSERT_TRUE(systemd.bound()) << systemd.path();
  ScopedEnv socket("NOTIFY_SOCKET", systemd.path().string());
  ScopedEnv watchdog("WATCHDOG_USEC", "400000");
  ASSERT_NO_FATAL_FAILURE(startProxy("udp", /*withLocations=*/true));
  ASSERT_EQ(get("/healthz").status, 200);
  const pid_t sip = threadNamed(proxy_->process()->pid(), "sos-sip");
  ASSERT_GT(sip, 0) << "no thread named sos-sip";

  ThreadStop hold(sip);
  if (!hold.stopped()) GTEST_SKIP() << "cannot stop one thread here: " << hold.error();
  systemd.drain();  // pings sent before the stop
  EXPECT_EQ(systemd.receive(1000ms), "") << "a watchdog ping while the SIP thread was stopped";
  HttpReply live;
  ASSERT_TRUE(waitFor(
      [&] {
        live = get("/healthz");
        return live.status == 503;
      },
      15000ms))
      << live.status << " " << live.body;
  EXPECT_EQ(live.body.rfind("not live: the SIP thread last turned its event loop ", 0), 0u)
      << live.body;
  const auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("{\"check\":\"sip\",\"reason\":\"the SIP thread last turned"),
            std::string::npos)
      << ready.body;

  hold.resume();
  EXPECT_EQ(systemd.until([](const std::string& m) { return m == "WATCHDOG=1"; }, 5000ms),
            "WATCHDOG=1");
  EXPECT_TRUE(waitFor([&] { return get("/healthz").status == 200; }, 5000ms));
}

}  // namespace
}  // namespace sos::itest
