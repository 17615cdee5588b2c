#include "proxy/invite_gate.h"

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace sos::proxy {

namespace {

constexpr su_duration_t kCheckMs = 100;
constexpr uint32_t kUdpHeader = 8;  // a UDP socket's filter sees the UDP header first
// "INVITE " as the filter loads it: four bytes, two, one (network byte order).
constexpr uint32_t kInvi = 0x494e5649, kTe = 0x5445, kSpace = 0x20;

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

struct MemInfo {
  uint64_t queued = 0, buffer = 0, drops = 0;
};

bool memInfo(int fd, MemInfo& out) {
  std::array<uint32_t, SK_MEMINFO_VARS> v{};
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, v.data(), &len) != 0) return false;
  out.queued += v[SK_MEMINFO_RMEM_ALLOC];
  out.buffer += v[SK_MEMINFO_RCVBUF];
  out.drops += v[SK_MEMINFO_DROPS];
  return true;
}

uint16_t boundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

}  // namespace

std::vector<sock_filter> inviteGateFilter(uint32_t permille) {
  // Labels counted from the end: the last two instructions are "drop" and "pass".
  std::vector<sock_filter> f;
  const bool always = permille >= 1000;
  const uint8_t body = always ? 8 : 10;  // instructions before "drop" (its index)
  auto toPass = [&](size_t at) { return static_cast<uint8_t>(body - at); };  // from f[at]
  auto toDrop = [&](size_t at) { return static_cast<uint8_t>(body - at - 1); };
  f.push_back(stmt(BPF_LD | BPF_W | BPF_LEN, 0));
  f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kUdpHeader + 7, 0, toPass(1)));  // too short
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, kUdpHeader));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kInvi, 0, toPass(3)));
  f.push_back(stmt(BPF_LD | BPF_H | BPF_ABS, kUdpHeader + 4));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kTe, 0, toPass(5)));
  f.push_back(stmt(BPF_LD | BPF_B | BPF_ABS, kUdpHeader + 6));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kSpace, always ? toDrop(7) : 0, toPass(7)));
  if (!always) {
    // A random 32-bit number below permille/1000 of the range: dropped.
    const auto threshold = static_cast<uint32_t>((static_cast<uint64_t>(permille) << 32U) / 1000U);
    f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_RANDOM)));
    f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, threshold, toPass(9), toDrop(9)));
  }
  f.push_back(stmt(BPF_RET | BPF_K, 0));           // drop
  f.push_back(stmt(BPF_RET | BPF_K, 0xffffffff));  // pass, whole
  return f;
}

uint32_t GateControl::next(uint64_t queued, uint64_t buffer) {
  if (buffer == 0) return share_;
  const uint64_t high = std::min<uint64_t>(buffer / 4, kHighBytes);
  const uint64_t low = high / 4;
  uint32_t up = 0, down = 0;
  if (queued >= 4 * high) {
    up = 5 * kStep;
  } else if (queued >= high) {
    up = kStep;
  } else if (queued < low / 4) {
    down = 5 * kStep / 2;
  } else if (queued < low) {
    down = kStep / 2;
  }
  share_ = std::min(kMax, share_ + up);
  share_ = share_ > down ? share_ - down : 0;
  return share_;
}

std::vector<int> InviteGate::udpSockets(uint16_t port) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) continue;
    if (boundPort(fd) == port) out.push_back(fd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

InviteGate::InviteGate(su_root_t* root, uint16_t port, InviteGateCounters& counters)
    : fds_(udpSockets(port)), counters_(counters) {
  MemInfo m;
  for (int fd : fds_) memInfo(fd, m);
  drops_ = m.drops;
  if (fds_.empty()) return;  // no UDP on this port
  timer_ = su_timer_create(su_root_task(root), kCheckMs);
  if (timer_) su_timer_run(timer_, onTimer, this);
  spdlog::debug("SIP over UDP: {} socket(s) on port {} watched for a long receive queue",
                fds_.size(), port);
}

InviteGate::~InviteGate() {
  if (timer_) su_timer_destroy(timer_);
  if (applied_ != 0) apply(0);
}

void InviteGate::onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  try {
    static_cast<InviteGate*>(arg)->check();
  } catch (...) {
    spdlog::error("SIP over UDP: the receive queue check failed (internal error)");
  }
}

void InviteGate::check() {
  MemInfo m;
  for (int fd : fds_) memInfo(fd, m);
  const uint64_t newDrops = m.drops >= drops_ ? m.drops - drops_ : 0;
  drops_ = m.drops;
  counters_.kernelDrops += newDrops;
  const uint32_t before = control_.share();
  const uint32_t share = control_.next(m.queued, m.buffer);
  if (before != 0) dropsWhileClosed_ += newDrops;
  if (share == before) return;
  if (!apply(share)) return;
  counters_.dropPermille = share;
  if (before == 0) {
    ++counters_.closings;
    dropsWhileClosed_ = 0;
    spdlog::warn(
        "SIP over UDP: receive queue at {} of {} kB ({} datagrams dropped by the kernel in the "
        "last {} ms): {}% of INVITE requests now dropped before they are read, so that calls "
        "under way are served first (callers repeat an INVITE after 500 ms)",
        m.queued / 1024, m.buffer / 1024, newDrops, kCheckMs, share / 10.0);
  } else if (share == 0) {
    spdlog::info(
        "SIP over UDP: receive queue short again ({} kB): every INVITE read again; {} datagrams "
        "dropped while INVITEs were held back",
        m.queued / 1024, dropsWhileClosed_);
  } else {
    spdlog::debug("SIP over UDP: receive queue at {} of {} kB: {}% of INVITE requests dropped",
                  m.queued / 1024, m.buffer / 1024, share / 10.0);
  }
}

bool InviteGate::apply(uint32_t permille) {
  bool ok = true;
  std::vector<sock_filter> code;
  sock_fprog prog{};
  if (permille != 0) {
    code = inviteGateFilter(permille);
    prog.len = static_cast<unsigned short>(code.size());
    prog.filter = code.data();
  }
  for (int fd : fds_) {
    int none = 0;  // the kernel wants an int's length even for an option without a value
    const int rc = permille != 0 ? setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog)
                                 : setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &none, sizeof none);
    if (rc != 0 && !(permille == 0 && errno == ENOENT)) {
      spdlog::error("SIP over UDP: cannot {} the INVITE filter on socket {}: {}",
                    permille != 0 ? "attach" : "detach", fd, std::strerror(errno));
      ok = false;
    }
  }
  applied_ = permille;
  return ok;
}

}  // namespace sos::proxy
