#pragma once
// Hand-made SIP over UDP and TCP for the edge tests (issue 14): whole messages as bytes, sent
// from a chosen loopback address, and the answers read back with the time they came. SIPp
// cannot send a malformed message (RFC 4475) or say when a response arrived to the
// millisecond; these can. Everything runs on the test's thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"

namespace sos::itest {

// A UDP socket bound to `localIp` on a free port.
class RawUdp {
 public:
  // Bound to `localIp` at `localPort` (0: a free one).
  explicit RawUdp(const std::string& localIp = "127.0.0.1", uint16_t localPort = 0);
  ~RawUdp();
  RawUdp(const RawUdp&) = delete;
  RawUdp& operator=(const RawUdp&) = delete;
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  const std::string& ip() const { return ip_; }
  bool send(const std::string& datagram, uint16_t toPort, const std::string& toIp = "127.0.0.1");
  // The next datagram that arrives within `timeout`; nullopt when none did.
  std::optional<std::string> receive(milliseconds timeout);
  // Datagrams until one whose start line begins with `prefix` ("SIP/2.0 200"), within
  // `timeout` in all; nullopt when none did.
  std::optional<std::string> receiveStarting(const std::string& prefix, milliseconds timeout);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string ip_;
};

// A TCP connection from `localIp` to 127.0.0.1:`port`.
class RawTcp {
 public:
  RawTcp(uint16_t port, const std::string& localIp = "127.0.0.1");
  ~RawTcp();
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;
  bool ok() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // What arrives within `timeout`: until the peer closes, or the time is up, or a message's
  // header section is complete and nothing more comes for 100 ms.
  std::string receive(milliseconds timeout);
  // Has the peer closed the connection (end of stream or reset) within `timeout`?
  bool closedByPeer(milliseconds timeout);

 private:
  int fd_ = -1;
};

// A TCP listener on 127.0.0.1:`port` taking one connection: a trunk's stand-in for messages
// SIPp cannot read (SIPp reads at most 64 KB at a time).
class RawTcpServer {
 public:
  explicit RawTcpServer(uint16_t port);
  ~RawTcpServer();
  RawTcpServer(const RawTcpServer&) = delete;
  RawTcpServer& operator=(const RawTcpServer&) = delete;
  bool ok() const { return listener_ >= 0; }
  // The first whole message (headers and Content-Length bytes of body) on the first connection,
  // within `timeout`.
  std::optional<std::string> receiveMessage(milliseconds timeout);
  bool send(const std::string& bytes);

 private:
  int listener_ = -1;
  int connection_ = -1;
  std::string buffer_;
};

// The start line of a message ("SIP/2.0 403 Forbidden"), or "" for none.
std::string startLine(const std::string& message);
// The status code of a response, or 0.
int statusOf(const std::string& message);

// A request as a phone would send it: start line, Via (this address and port, `branch`), From
// with a tag, To, Call-ID, CSeq, Max-Forwards, Contact, and `extra` header lines (each ending
// in CRLF), then `body` with its Content-Type and Content-Length.
struct RawRequest {
  std::string method = "INVITE";
  std::string requestUri;  // "sip:911@127.0.0.1:5060"
  std::string fromUser = "1001";
  std::string callId;
  std::string branch;
  int cseq = 1;
  std::string toUri;  // empty: the Request-URI
  std::string toTag;  // for in-dialog requests
  std::string extra;
  std::string contentType = "application/sdp";
  std::string body;
  std::string transport = "UDP";
};
std::string buildRequest(const RawRequest& r, const std::string& localIp, uint16_t localPort);

// A small SDP offer from `ip`.
std::string sdpOffer(const std::string& ip);

// Every value of the header `name` in `message`, in order (one a header line).
std::vector<std::string> headerValues(const std::string& message, const std::string& name);

// The branch parameter of a Via value ("" when it has none).
std::string viaBranch(const std::string& via);

// A trunk's answer to `request`: its Vias, Record-Route, From, Call-ID and CSeq copied, its To
// with `toTag`, a Contact at `contactIp`:`port`.
std::string answerFrom(const std::string& request, const std::string& status,
                       const std::string& toTag, uint16_t port,
                       const std::string& contactIp = "127.0.0.1");

// The value of the first header named `name` in `message` ("" when absent).
std::string rawHeader(const std::string& message, const std::string& name);

}  // namespace sos::itest
