#pragma once
// systemd's side of sosproxy, written against the documented protocols rather than libsystemd
// (README: Libraries and why):
// - sd_notify(3): READY=1, WATCHDOG=1, STOPPING=1 and STATUS= as datagrams to NOTIFY_SOCKET,
//   sent without ever blocking, from one socket opened at start;
// - the watchdog interval the service manager asks for (WATCHDOG_USEC, for WATCHDOG_PID);
// - whether standard error is the journal (JOURNAL_STREAM), so that each operational-log line
//   can carry its syslog priority as a "<N>" prefix (sd-daemon(3)), which journald reads.
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op.

#include <spdlog/common.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <string>
#include <string_view>

namespace sos::proxy {

class SystemdNotifier {
 public:
  // What the service manager asked for, read from the process environment once.
  static SystemdNotifier fromEnvironment();
  // `socketPath`: a file system path, or "@name" for an abstract socket; empty: disabled.
  // `watchdog`: the interval within which WATCHDOG=1 must come (0: no watchdog).
  SystemdNotifier(const std::string& socketPath, std::chrono::microseconds watchdog);
  SystemdNotifier() = default;  // disabled
  ~SystemdNotifier();
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Sends `state` ("READY=1", "WATCHDOG=1", several lines) as one datagram. Never blocks
  // (MSG_DONTWAIT): a service manager that does not read costs this message, never the
  // caller's time. False when disabled or not sent. Any thread.
  bool notify(std::string_view state) const;
  // How often the watchdog must hear from us; 0 when no watchdog was asked for (or no socket).
  std::chrono::microseconds watchdog() const { return enabled() ? watchdog_ : watchdog_.zero(); }

 private:
  int fd_ = -1;
  sockaddr_un address_{};
  socklen_t addressLength_ = 0;
  std::chrono::microseconds watchdog_{0};
};

// The watchdog interval systemd asks of this process: WATCHDOG_USEC, when WATCHDOG_PID is unset
// or is this process (the variables are inherited by children, who must ignore them). 0: none.
std::chrono::microseconds watchdogFromEnvironment(const char* usec, const char* pid);

// Is standard error the journal's stream? JOURNAL_STREAM holds "DEVICE:INODE" of the stream
// systemd connected; it counts only when it still is our standard error (a child whose stderr
// was redirected inherits the variable too).
bool stderrIsJournal();
bool isJournalStream(const char* journalStream, int fd);

// The syslog priority of a log level (sd-daemon(3): "<N>" in front of a line sets it):
// critical 2, error 3, warn 4, info 6, debug and trace 7.
int syslogPriority(spdlog::level::level_enum level);

}  // namespace sos::proxy
