// The SIP edge's TCP connections (proxy/edge.h): the timers it arms when attached, the sweep
// that finds established connections over the limits or idle, and the closing of those a few
// at a time; and the descriptor limit the process starts with. SIP thread only.

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "proxy/b2bua.h"
#include "proxy/edge.h"
#include "proxy/invite_gate.h"
#include "proxy/sofia_log.h"

namespace sos::proxy {

namespace {

constexpr su_duration_t kSweepMs = 1000;
// Connections closed at most kClosesPerTick every kCloseTickMs: 500 a second, about 15 ms of
// the SIP thread's time in slices of 1.5 ms.
constexpr su_duration_t kCloseTickMs = 100;

// One established TCP connection to our SIP port.
struct TcpPeer {
  std::string address;
  uint16_t port = 0;
};

// Asks the kernel for the established TCP connections whose local port is `localPort`
// (NETLINK_SOCK_DIAG, filtered in the kernel): Sofia's own list of connections cannot be walked
// whole through its public interface (tport_secondary() gives the root of a search tree), and
// /proc/net/tcp costs milliseconds per thousand sockets, TIME_WAIT ones included. This answers
// in well under a millisecond for thousands of connections. False when the kernel refuses.
bool establishedPeers(uint16_t localPort, std::vector<TcpPeer>& out) {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return false;
  bool ok = true;
  for (int family : {AF_INET, AF_INET6}) {
    // Bytecode: source port >= P and <= P, else reject (a jump 4 bytes past the end).
    struct {
      nlmsghdr nlh;
      inet_diag_req_v2 req;
      nlattr attr;
      inet_diag_bc_op ops[4];
    } msg{};
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = static_cast<uint8_t>(family);
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = 1u << 1;  // TCP_ESTABLISHED
    msg.attr.nla_len = sizeof msg.attr + sizeof msg.ops;
    msg.attr.nla_type = INET_DIAG_REQ_BYTECODE;
    msg.ops[0] = {INET_DIAG_BC_S_GE, 8, 20};
    msg.ops[1] = {0, 0, localPort};
    msg.ops[2] = {INET_DIAG_BC_S_LE, 8, 12};
    msg.ops[3] = {0, 0, localPort};
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
        0) {
      ok = false;
      break;
    }
    bool done = false;
    alignas(nlmsghdr) char buf[32768];
    while (!done) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ok = false;
        break;
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          ok = false;
          break;
        }
        const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        char text[INET6_ADDRSTRLEN] = "";
        inet_ntop(d->idiag_family, d->id.idiag_dst, text, sizeof text);
        // An IPv4 peer of a dual-stack socket: Sofia names it by its IPv4 form.
        if (std::strncmp(text, "::ffff:", 7) == 0 && std::strchr(text + 7, '.'))
          std::memmove(text, text + 7, std::strlen(text + 7) + 1);
        out.push_back({text, ntohs(d->id.idiag_dport)});
      }
    }
    if (!ok) break;
  }
  ::close(fd);
  return ok;
}

tport_t* tcpPrimary(nta_agent_t* agent) {
  for (tport_t* tp = tport_primaries(nta_agent_tports(agent)); tp; tp = tport_next(tp))
    if (tport_is_tcp(tp)) return tp;
  return nullptr;
}

// Sofia's connection to a peer, by address and port; null when it has none.
tport_t* connectionTo(tport_t* primary, const std::string& address, uint16_t port) {
  const std::string portText = std::to_string(port);
  tp_name_t tpn{};
  tpn.tpn_proto = "tcp";
  tpn.tpn_canon = address.c_str();
  tpn.tpn_host = address.c_str();
  tpn.tpn_port = portText.c_str();
  tport_t* tp = tport_by_name(primary, &tpn);
  return tp != nullptr && tport_is_secondary(tp) ? tp : nullptr;
}

bool closeConnection(tport_t* primary, const std::string& address, uint16_t port) {
  tport_t* tp = connectionTo(primary, address, port);
  if (tp == nullptr) return false;
  tport_shutdown(tp, 2);  // closes it; Sofia frees it once no transaction holds it
  return true;
}

// Sofia arms a connection's idle timer only after it has sent, received or been released
// (tport.c): one accepted and never used would never time out. Releasing a reference arms it,
// from the time of the accept.
void armIdleTimer(tport_t* primary, const std::string& address, uint16_t port) {
  if (tport_t* tp = connectionTo(primary, address, port)) tport_unref(tport_ref(tp));
}

}  // namespace

int64_t raiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot read the descriptor limit: {}", std::strerror(errno));
    return -1;
  }
  const rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      spdlog::warn("cannot raise the descriptor limit from {} to {}: {}", before, lim.rlim_max,
                   std::strerror(errno));
      lim.rlim_cur = before;
    } else {
      spdlog::info("descriptor limit raised from {} to {} (the hard limit)", before, lim.rlim_cur);
    }
  }
  return lim.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(lim.rlim_cur);
}

void Edge::attach(nta_agent_t* agent, B2bua* b2bua, uint16_t sipPort) {
  agent_ = agent;
  b2bua_ = b2bua;
  sipPort_ = sipPort;
  // The stateless relay's Record-Route names sosproxy's UDP address as its Via does.
  for (const sip_via_t* v = nta_agent_via(agent); v != nullptr; v = v->v_next) {
    if (v->v_protocol && strcasecmp(v->v_protocol, "SIP/2.0/UDP") == 0 && v->v_host) {
      tap_ = std::make_unique<RelayTap>(InviteGate::udpSockets(sipPort),
                                        [this](const wire::Message& m, const Peer& from) {
                                          return relayDatagram(m, from, true);
                                        });
      relay_ = std::make_unique<StatelessRelay>(
          agent, v->v_host, v->v_port ? v->v_port : std::to_string(sipPort), *tap_,
          StatelessRelay::Counts{counters_.relayedInitial, counters_.relayedInDialog,
                                 counters_.relayedResponses});
      emergency_ = std::make_unique<EmergencyRelay>(root_, *b2bua, *relay_, *tap_);
      break;
    }
  }
  applySettings();
  sweepTimer_ = su_timer_create(su_root_task(root_), kSweepMs);
  if (sweepTimer_)
    su_timer_set_for_ever(sweepTimer_, onSweep, reinterpret_cast<su_timer_arg_t*>(this));
  closeTimer_ = su_timer_create(su_root_task(root_), kCloseTickMs);
  if (closeTimer_)
    su_timer_set_for_ever(closeTimer_, onCloseTick, reinterpret_cast<su_timer_arg_t*>(this));
}

void Edge::onSweep(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  try {
    reinterpret_cast<Edge*>(arg)->sweep();
  } catch (const std::exception& e) {
    spdlog::error("edge: connection sweep failed: {}", e.what());
  } catch (...) {
    spdlog::error("edge: connection sweep failed");
  }
}

void Edge::sweep() {
  applySettings();
  sofia_log::flush();
  usize_t irqs = 0;
  nta_agent_get_stats(agent_, NTATAG_S_IRQ_HASH_USED_REF(irqs), TAG_END());
  counters_.serverTransactions.store(static_cast<int64_t>(irqs), std::memory_order_relaxed);
  tport_t* primary = tcpPrimary(agent_);
  if (primary == nullptr) return;
  if (tport_secondary(primary) == nullptr) {
    // Sofia has no connection open (it keeps each in a tree under the primary): nothing to
    // count or close, and no need to have the kernel walk its TCP sockets (1.2 % of the
    // samples of a profile at 300 calls/s, bench/RESULTS.md).
    counters_.tcpConnections.store(0, std::memory_order_relaxed);
    untrustedSeen_.clear();
    trustedSeen_.clear();
    closing_.clear();
    closingNext_ = 0;
    return;
  }
  const std::shared_ptr<const routing::Router> router = b2bua_->router();
  std::vector<TcpPeer> peers;
  if (!establishedPeers(sipPort_, peers)) {
    uint64_t suppressed = 0;
    if (tcpLog_.shouldLog(EdgeClock::now(), suppressed)) {
      spdlog::warn(
          "edge: the kernel did not list the TCP connections (sock_diag: {}); "
          "connections are not counted or capped this time",
          std::strerror(errno));
    }
    return;
  }
  counters_.tcpConnections.store(static_cast<int64_t>(peers.size()), std::memory_order_relaxed);

  // What to close is decided here and done a few at a time (closeSome), so that the SIP thread
  // never spends long on it: closing a connection costs Sofia tens of microseconds, and an
  // attacker can open thousands a second.
  closing_.clear();
  closingNext_ = 0;
  // Strangers' connections: they can send nothing sosproxy would take. Each is closed once a
  // sweep has seen it before, so that it has had a second to receive its answer.
  std::set<std::pair<std::string, uint16_t>> untrusted, seen;
  std::map<std::string, std::vector<uint16_t>> trusted;  // by peer address
  size_t trustedOpen = 0;
  for (const TcpPeer& p : peers) {
    auto key = std::make_pair(p.address, p.port);
    if (router->trusts(p.address) || fromTrunk(p.address)) {
      trusted[p.address].push_back(p.port);
      ++trustedOpen;
      if (!trustedSeen_.count(key)) armIdleTimer(primary, p.address, p.port);
      seen.insert(std::move(key));
      continue;
    }
    if (untrustedSeen_.count(key)) closing_.push_back({p.address, p.port, false});
    untrusted.insert(std::move(key));
  }
  untrustedSeen_ = std::move(untrusted);
  trustedSeen_ = std::move(seen);

  // Above the cap, the busiest trusted peers give up connections first, each keeping one.
  const size_t cap = static_cast<size_t>(std::max(settings_.maxTcpConnections, 0));
  while (cap > 0 && trustedOpen > cap) {
    auto busiest = std::max_element(
        trusted.begin(), trusted.end(),
        [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
    if (busiest == trusted.end() || busiest->second.size() <= 1) break;
    closing_.push_back({busiest->first, busiest->second.back(), true});
    busiest->second.pop_back();
    --trustedOpen;
  }
  closeSome();
}

void Edge::onCloseTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  try {
    reinterpret_cast<Edge*>(arg)->closeSome();
  } catch (...) {
    spdlog::error("edge: closing connections failed");
  }
}

void Edge::closeSome() {
  if (closingNext_ >= closing_.size()) return;
  tport_t* primary = tcpPrimary(agent_);
  if (primary == nullptr) return;
  uint64_t untrusted = 0, overCap = 0;
  const size_t end = std::min(closing_.size(), closingNext_ + kClosesPerTick);
  for (; closingNext_ < end; ++closingNext_) {
    const PendingClose& c = closing_[closingNext_];
    if (!closeConnection(primary, c.address, c.port)) continue;  // gone already
    ++(c.overCap ? overCap : untrusted);
    counters_.tcpConnections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (untrusted) counters_.tcpClosedUntrusted.fetch_add(untrusted, std::memory_order_relaxed);
  if (overCap) counters_.tcpClosedOverCap.fetch_add(overCap, std::memory_order_relaxed);
  uint64_t suppressed = 0;
  if ((untrusted || overCap) && tcpLog_.shouldLog(EdgeClock::now(), suppressed)) {
    spdlog::warn(
        "edge: closing TCP connections of untrusted sources ({} now) and above "
        "edge.max_tcp_connections {} ({} now); {} open{}",
        untrusted, settings_.maxTcpConnections, overCap, counters_.tcpConnections.load(),
        suppressedNote(suppressed));
  }
}

}  // namespace sos::proxy
