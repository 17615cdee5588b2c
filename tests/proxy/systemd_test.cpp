// systemd without libsystemd (issue 21): sd_notify datagrams reach the socket named in
// NOTIFY_SOCKET (a path or an abstract name), the watchdog interval is read as sd_watchdog_enabled
// reads it, the journal is recognised by JOURNAL_STREAM, and the SIP heartbeat stamps the health
// and pings the watchdog from the event loop it runs on.

#include "proxy/systemd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "proxy/sip_heartbeat.h"

namespace sos::proxy {
namespace {

using namespace std::chrono_literals;

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    if (name[0] == '@') a.sun_path[0] = '\0';
    const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                                 (name[0] == '@' ? 0 : 1));
    if (name[0] == '/') ::unlink(name.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" when none comes within `timeout`.
  std::string receive(std::chrono::milliseconds timeout = 5000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string tempSocketPath() {
  return (std::filesystem::temp_directory_path() /
          ("sos-notify-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

TEST(SystemdNotifier, SendsEachStateAsOneDatagramToAPath) {
  NotifySocket systemd(tempSocketPath());
  ASSERT_TRUE(systemd.bound());
  SystemdNotifier n(tempSocketPath(), 0us);
  ASSERT_TRUE(n.enabled());
  EXPECT_TRUE(n.notify("READY=1\nSTATUS=SIP on udp:127.0.0.1:5060"));
  EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=SIP on udp:127.0.0.1:5060");
  EXPECT_TRUE(n.notify("STOPPING=1"));
  EXPECT_EQ(systemd.receive(), "STOPPING=1");
}

TEST(SystemdNotifier, SendsToAnAbstractSocket) {
  const std::string name = "@sos-notify-test-" + std::to_string(::getpid());
  NotifySocket systemd(name);
  ASSERT_TRUE(systemd.bound());
  SystemdNotifier n(name, 0us);
  EXPECT_TRUE(n.notify("READY=1"));
  EXPECT_EQ(systemd.receive(), "READY=1");
}

TEST(SystemdNotifier, OutsideSystemdEverythingIsANoOp) {
  SystemdNotifier none("", 10s);
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(none.notify("READY=1"));
  EXPECT_EQ(none.watchdog(), 0us) << "no watchdog without a socket to ping";
  SystemdNotifier relative("relative/path", 0us);  // neither a path nor an abstract name
  EXPECT_FALSE(relative.enabled());
  // Nobody listening at the path: not sent, and no wait.
  SystemdNotifier nobody(tempSocketPath() + ".absent", 0us);
  EXPECT_FALSE(nobody.notify("READY=1"));
}

TEST(SystemdNotifier, WatchdogIntervalIsForThisProcessOnly) {
  const std::string me = std::to_string(::getpid());
  EXPECT_EQ(watchdogFromEnvironment("10000000", nullptr), 10s);
  EXPECT_EQ(watchdogFromEnvironment("10000000", me.c_str()), 10s);
  EXPECT_EQ(watchdogFromEnvironment("10000000", "1"), 0us) << "another process's watchdog";
  EXPECT_EQ(watchdogFromEnvironment(nullptr, nullptr), 0us);
  EXPECT_EQ(watchdogFromEnvironment("0", nullptr), 0us);
  EXPECT_EQ(watchdogFromEnvironment("ten", nullptr), 0us);
  EXPECT_EQ(watchdogFromEnvironment("10000000", "12x"), 0us);
}

TEST(Journal, StandardErrorIsTheJournalOnlyWhenDeviceAndInodeMatch) {
  const auto path =
      std::filesystem::temp_directory_path() / ("sos-journal-" + std::to_string(::getpid()));
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(isJournalStream(same.c_str(), fd));
  EXPECT_FALSE(isJournalStream(other.c_str(), fd));
  EXPECT_FALSE(isJournalStream(nullptr, fd));
  EXPECT_FALSE(isJournalStream("garbage", fd));
  ::close(fd);
  std::filesystem::remove(path);
}

TEST(Journal, SyslogPriorities) {
  EXPECT_EQ(syslogPriority(spdlog::level::critical), 2);
  EXPECT_EQ(syslogPriority(spdlog::level::err), 3);
  EXPECT_EQ(syslogPriority(spdlog::level::warn), 4);
  EXPECT_EQ(syslogPriority(spdlog::level::info), 6);
  EXPECT_EQ(syslogPriority(spdlog::level::debug), 7);
  EXPECT_EQ(syslogPriority(spdlog::level::trace), 7);
}

TEST(SipHeartbeat, FiresEveryHalfSecondOrAQuarterOfAShorterWatchdog) {
  EXPECT_EQ(SipHeartbeat::interval(0us), 500ms);
  EXPECT_EQ(SipHeartbeat::interval(10s), 500ms);
  EXPECT_EQ(SipHeartbeat::interval(400ms), 100ms);
  EXPECT_EQ(SipHeartbeat::interval(2ms), 1ms);
}

// The heartbeat runs on the event loop it was created on: each turn of that loop stamps the
// health, hands over the down trunks and pings the watchdog. Nobody else sends the pings.
TEST(SipHeartbeat, StampsHealthAndPingsTheWatchdogFromItsLoop) {
  NotifySocket systemd(tempSocketPath());
  ASSERT_TRUE(systemd.bound());
  SystemdNotifier notifier(tempSocketPath(), 40ms);  // ping every 10 ms
  ASSERT_EQ(su_init(), 0);
  su_root_t* root = su_root_create(nullptr);
  ASSERT_NE(root, nullptr);
  SipHealth health;
  int asked = 0;
  {
    SipHeartbeat beat(
        root, health,
        [&asked] {
          ++asked;
          return std::vector<std::string>{"il-psap-a"};
        },
        &notifier);
    // The first beat comes at once, from the constructor (on the loop's thread).
    EXPECT_TRUE(health.view().lastBeat.has_value());
    EXPECT_EQ(health.view().downTrunks, std::vector<std::string>{"il-psap-a"});
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    const auto first = *health.view().lastBeat;
    // Then one per turn of the loop that is due.
    int pings = 0;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (pings < 3 && std::chrono::steady_clock::now() < deadline) {
      su_root_step(root, 20);
      if (systemd.receive(0ms) == "WATCHDOG=1") ++pings;
    }
    EXPECT_EQ(pings, 3);
    EXPECT_GT(*health.view().lastBeat, first);
    EXPECT_GE(asked, 4);
  }
  su_root_destroy(root);
  su_deinit();
}

}  // namespace
}  // namespace sos::proxy
