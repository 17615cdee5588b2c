#pragma once
// The stateless relay's datagrams taken off the SIP port's UDP sockets before Sofia reads them
// (edge.ordinary_relay: stateless; proxy/stateless_relay.h). Before each turn of Sofia's event
// loop the SIP thread looks at the datagram at the head of each socket's queue (MSG_PEEK) and
// reads it as bytes (proxy/sip_wire.h); when it is the relay's (a response to what the relay
// sent, a request of a dialog it relays) the handler takes it and it is dropped from the queue;
// at the first that is not, Sofia reads the rest as before. The relay's messages so cost a look,
// a read and a sendto, instead of Sofia's transport (FIONREAD before each read, SO_ERROR before
// each write), its parser and its encoder. SIP thread only.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/sip_wire.h"

namespace sos::proxy {

// Where a datagram came from.
struct Peer {
  std::string ip;  // "127.0.0.1", "::1"
  uint16_t port = 0;
};

class RelayTap {
 public:
  // True: the handler took the datagram (relayed, answered or dropped it); false: Sofia's.
  using Handler = std::function<bool(const wire::Message& m, const Peer& from)>;

  // `fds`: the SIP port's UDP sockets (Sofia's; not owned).
  RelayTap(std::vector<int> fds, Handler handler);

  // Looks only while on (edge.ordinary_relay: stateless): otherwise every datagram is Sofia's
  // without a look.
  void setOn(bool on) { on_ = on && !fds_.empty(); }
  bool on() const { return on_; }
  // Takes the relay's datagrams at the heads of the queues, at most kPerTurn a socket.
  void take();
  // Sends `data` from the SIP port to `host` (an address literal, brackets allowed) and `port`.
  // False when the host is no address, there is no socket of its family, or the kernel would
  // not take it.
  bool send(std::string_view data, std::string_view host, uint16_t port) const;

  static constexpr int kPerTurn = 64;

 private:
  std::vector<int> fds_;
  std::vector<int> families_;  // AF_INET or AF_INET6 of each of fds_
  Handler handler_;
  bool on_ = false;
  std::vector<char> buffer_;
  wire::Message message_;
};

// "[::1]" -> "::1"; anything else as it is.
std::string_view bareHost(std::string_view host);

}  // namespace sos::proxy
