#include "proxy/relay_tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>

namespace sos::proxy {

namespace {

constexpr size_t kDatagram = 65536;  // the largest UDP payload, and then some

// `host` and `port` as a socket address; false when `host` is no address literal.
bool toAddress(std::string_view host, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  char text[INET6_ADDRSTRLEN] = {};
  const std::string_view bare = bareHost(host);
  if (bare.size() >= sizeof text) return false;
  std::memcpy(text, bare.data(), bare.size());
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

Peer peerOf(const sockaddr_storage& a) {
  Peer p;
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    p.port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    p.port = ntohs(v6->sin6_port);
    // An IPv4 peer of a dual-stack socket: as IPv4, as Sofia names it.
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof text);
  }
  p.ip = text;
  return p;
}

int familyOf(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? a.ss_family : AF_UNSPEC;
}

}  // namespace

std::string_view bareHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

RelayTap::RelayTap(std::vector<int> fds, Handler handler)
    : fds_(std::move(fds)), handler_(std::move(handler)), buffer_(kDatagram) {
  for (int fd : fds_) families_.push_back(familyOf(fd));
}

void RelayTap::take() {
  if (!on_) return;
  for (int fd : fds_) {
    for (int n = 0; n < kPerTurn; ++n) {
      sockaddr_storage from{};
      iovec iov{buffer_.data(), buffer_.size()};
      msghdr h{};
      h.msg_name = &from;
      h.msg_namelen = sizeof from;
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      const ssize_t got = recvmsg(fd, &h, MSG_PEEK | MSG_DONTWAIT);
      if (got <= 0 || (h.msg_flags & MSG_TRUNC)) break;  // empty, or not a datagram for us
      if (!wire::parse(std::string_view(buffer_.data(), static_cast<size_t>(got)), message_,
                       nullptr))
        break;  // Sofia's to read (and to count as it does)
      bool took = false;
      try {
        took = handler_(message_, peerOf(from));
      } catch (const std::exception& e) {
        spdlog::error("relay: internal error: {}", e.what());
        took = true;  // not handed to Sofia twice
      }
      if (!took) break;
      (void)recv(fd, buffer_.data(), 0, MSG_DONTWAIT);  // the datagram leaves the queue
    }
  }
}

bool RelayTap::send(std::string_view data, std::string_view host, uint16_t port) const {
  sockaddr_storage to{};
  socklen_t len = 0;
  if (!toAddress(host, port, to, len)) return false;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (families_[i] != to.ss_family) continue;
    return ::sendto(fds_[i], data.data(), data.size(), MSG_DONTWAIT,
                    reinterpret_cast<sockaddr*>(&to), len) == static_cast<ssize_t>(data.size());
  }
  return false;
}

}  // namespace sos::proxy
