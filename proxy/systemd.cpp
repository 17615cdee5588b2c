#include "proxy/systemd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace sos::proxy {

namespace {

bool parseUnsigned(const char* text, unsigned long long& out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

}  // namespace

std::chrono::microseconds watchdogFromEnvironment(const char* usec, const char* pid) {
  unsigned long long value = 0;
  if (!parseUnsigned(usec, value) || value == 0) return std::chrono::microseconds{0};
  unsigned long long forPid = 0;
  if (pid != nullptr && *pid != '\0' &&
      (!parseUnsigned(pid, forPid) || forPid != static_cast<unsigned long long>(::getpid())))
    return std::chrono::microseconds{0};
  return std::chrono::microseconds{static_cast<int64_t>(value)};
}

SystemdNotifier SystemdNotifier::fromEnvironment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return SystemdNotifier(
      socket != nullptr ? socket : "",
      watchdogFromEnvironment(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID")));
}

SystemdNotifier::SystemdNotifier(const std::string& socketPath, std::chrono::microseconds watchdog)
    : watchdog_(watchdog) {
  // Only a file system path or an abstract name (sd_notify(3)); anything else (vsock, an
  // over-long path) leaves the notifier disabled.
  if (socketPath.empty() || (socketPath[0] != '/' && socketPath[0] != '@') ||
      socketPath.size() >= sizeof(address_.sun_path))
    return;
  address_.sun_family = AF_UNIX;
  std::memcpy(address_.sun_path, socketPath.data(), socketPath.size());
  if (socketPath[0] == '@') address_.sun_path[0] = '\0';  // abstract namespace
  addressLength_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size() +
                                          (socketPath[0] == '@' ? 0 : 1));
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept { *this = std::move(other); }

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this == &other) return *this;
  if (fd_ >= 0) ::close(fd_);
  fd_ = std::exchange(other.fd_, -1);
  address_ = other.address_;
  addressLength_ = other.addressLength_;
  watchdog_ = other.watchdog_;
  return *this;
}

bool SystemdNotifier::notify(std::string_view state) const {
  if (fd_ < 0) return false;
  const ssize_t sent = ::sendto(fd_, state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address_), addressLength_);
  return sent == static_cast<ssize_t>(state.size());
}

bool isJournalStream(const char* journalStream, int fd) {
  if (journalStream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(journalStream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}

bool stderrIsJournal() { return isJournalStream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO); }

int syslogPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG: debug and trace
  }
}

}  // namespace sos::proxy
