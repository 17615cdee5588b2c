#pragma once
// A TCP relay on 127.0.0.1 to a local port, for a database server that stops answering: while
// frozen it closes the connections it relayed and accepts no new one, yet keeps listening, so a
// new connection completes in the kernel and then hears nothing (a host that does not answer,
// without firewall rules). Thawed, it relays again, the connections that waited included.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace sos::store::testing {

class TcpRelay {
 public:
  explicit TcpRelay(uint16_t target) : target_(target) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), size) == 0 && ::listen(listen_, 64) == 0 &&
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &size) == 0) {
      port_ = ntohs(a.sin_port);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~TcpRelay() {
    stop_ = true;
    thread_.join();
    ::close(listen_);
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  uint16_t port() const { return port_; }  // 0: it could not listen
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }

 private:
  void run() {
    std::vector<std::pair<int, int>> pairs;  // client, server
    auto closePair = [](std::pair<int, int>& p) {
      ::close(p.first);
      ::close(p.second);
    };
    while (!stop_) {
      if (frozen_) {
        for (auto& p : pairs) closePair(p);
        pairs.clear();
        ::poll(nullptr, 0, 10);  // the relay's own pace while frozen
        continue;
      }
      std::vector<pollfd> fds{{listen_, POLLIN, 0}};
      for (const auto& [client, server] : pairs) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) accept();
      for (size_t i = 0; i < pairs.size(); ++i) {
        const bool fromClient = (fds[1 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        const bool fromServer = (fds[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        if ((fromClient && !pass(pairs[i].first, pairs[i].second)) ||
            (fromServer && !pass(pairs[i].second, pairs[i].first))) {
          closePair(pairs[i]);
          pairs[i] = {-1, -1};
        }
      }
      std::erase_if(pairs, [](const auto& p) { return p.first < 0; });
      newPairs(pairs);
    }
    for (auto& p : pairs) closePair(p);
  }

  void accept() {
    const int client = ::accept(listen_, nullptr, nullptr);
    if (client < 0) return;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(client);
      ::close(server);
      return;
    }
    accepted_.emplace_back(client, server);
  }
  void newPairs(std::vector<std::pair<int, int>>& pairs) {
    pairs.insert(pairs.end(), accepted_.begin(), accepted_.end());
    accepted_.clear();
  }
  // Copies what `from` has to `to`; false when `from` ended or either failed.
  static bool pass(int from, int to) {
    char buffer[16384];
    const ssize_t n = ::read(from, buffer, sizeof buffer);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t w = ::write(to, buffer + sent, static_cast<size_t>(n - sent));
      if (w <= 0) return false;
      sent += w;
    }
    return true;
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listen_ = -1;
  std::vector<std::pair<int, int>> accepted_;  // the relay thread's only
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sos::store::testing
