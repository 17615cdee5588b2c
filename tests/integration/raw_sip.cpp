#include "raw_sip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>

#include <cctype>
#include <cstring>

namespace sos::itest {

namespace {

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool readable(int fd, milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  const int ms = static_cast<int>(std::max<int64_t>(timeout.count(), 0));
  return ::poll(&p, 1, ms) > 0;
}

}  // namespace

RawUdp::RawUdp(const std::string& localIp, uint16_t localPort) : ip_(localIp) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd_ < 0) return;
  sockaddr_in a = address(localIp, localPort);
  socklen_t len = sizeof a;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = ntohs(a.sin_port);
}

RawUdp::~RawUdp() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawUdp::send(const std::string& datagram, uint16_t toPort, const std::string& toIp) {
  sockaddr_in to = address(toIp, toPort);
  return ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                  sizeof to) == static_cast<ssize_t>(datagram.size());
}

std::optional<std::string> RawUdp::receive(milliseconds timeout) {
  if (fd_ < 0 || !readable(fd_, timeout)) return std::nullopt;
  std::string buf(65536, '\0');
  ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::optional<std::string> RawUdp::receiveStarting(const std::string& prefix,
                                                   milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto m = receive(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    if (!m) return std::nullopt;
    if (m->rfind(prefix, 0) == 0) return m;
  }
  return std::nullopt;
}

RawTcp::RawTcp(uint16_t port, const std::string& localIp) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in local = address(localIp, 0);
  sockaddr_in to = address("127.0.0.1", port);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawTcp::~RawTcp() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawTcp::send(const std::string& bytes) {
  return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                         static_cast<ssize_t>(bytes.size());
}

std::string RawTcp::receive(milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  while (fd_ >= 0 && Clock::now() < deadline) {
    auto wait = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (out.find("\r\n\r\n") != std::string::npos) wait = std::min(wait, milliseconds(100));
    if (!readable(fd_, wait)) break;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool RawTcp::closedByPeer(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (fd_ >= 0 && Clock::now() < deadline) {
    if (!readable(fd_, std::chrono::duration_cast<milliseconds>(deadline - Clock::now())))
      return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

RawTcpServer::RawTcpServer(uint16_t port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener_ < 0) return;
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = address("127.0.0.1", port);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 8) != 0) {
    ::close(listener_);
    listener_ = -1;
  }
}

RawTcpServer::~RawTcpServer() {
  if (connection_ >= 0) ::close(connection_);
  if (listener_ >= 0) ::close(listener_);
}

std::optional<std::string> RawTcpServer::receiveMessage(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto left = [&] { return std::chrono::duration_cast<milliseconds>(deadline - Clock::now()); };
  if (connection_ < 0) {
    if (listener_ < 0 || !readable(listener_, left())) return std::nullopt;
    connection_ = ::accept(listener_, nullptr, nullptr);
    if (connection_ < 0) return std::nullopt;
  }
  while (true) {
    const size_t end = buffer_.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t length = static_cast<size_t>(
          std::atol(rawHeader(buffer_.substr(0, end + 4), "Content-Length").c_str()));
      if (buffer_.size() >= end + 4 + length) {
        std::string message = buffer_.substr(0, end + 4 + length);
        buffer_.erase(0, end + 4 + length);
        return message;
      }
    }
    if (left().count() <= 0 || !readable(connection_, left())) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(connection_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool RawTcpServer::send(const std::string& bytes) {
  return connection_ >= 0 && ::send(connection_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                                 static_cast<ssize_t>(bytes.size());
}

std::string startLine(const std::string& message) {
  return message.substr(0, message.find("\r\n"));
}

int statusOf(const std::string& message) {
  if (message.rfind("SIP/2.0 ", 0) != 0 || message.size() < 11) return 0;
  return std::atoi(message.substr(8, 3).c_str());
}

std::string buildRequest(const RawRequest& r, const std::string& localIp, uint16_t localPort) {
  const std::string hostPort = localIp + ":" + std::to_string(localPort);
  std::string m = r.method + " " + r.requestUri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + r.transport + " " + hostPort + ";branch=" + r.branch + "\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:" + r.fromUser + "@" + hostPort + ">;tag=from-" + r.callId + "\r\n";
  m += "To: <" + (r.toUri.empty() ? r.requestUri : r.toUri) + ">" +
       (r.toTag.empty() ? "" : ";tag=" + r.toTag) + "\r\n";
  m += "Call-ID: " + r.callId + "\r\n";
  m += "CSeq: " + std::to_string(r.cseq) + " " + r.method + "\r\n";
  m += "Contact: <sip:" + r.fromUser + "@10.1.2.45:5060>\r\n";
  m += r.extra;
  if (!r.body.empty()) m += "Content-Type: " + r.contentType + "\r\n";
  m += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  return m;
}

std::string sdpOffer(const std::string& ip) {
  return "v=0\r\no=caller 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip +
         "\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
}

std::string rawHeader(const std::string& message, const std::string& name) {
  const size_t end = message.find("\r\n\r\n");
  const std::string head = message.substr(0, end);
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (head.size() - pos > name.size() && head[pos + name.size()] == ':' &&
        strncasecmp(head.c_str() + pos, name.c_str(), name.size()) == 0) {
      const size_t eol = head.find("\r\n", pos);
      std::string v =
          head.substr(pos + name.size() + 1,
                      eol == std::string::npos ? std::string::npos : eol - pos - name.size() - 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
      return v;
    }
  }
  return "";
}

std::vector<std::string> headerValues(const std::string& message, const std::string& name) {
  std::vector<std::string> out;
  const std::string head = message.substr(0, message.find("\r\n\r\n"));
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    const size_t eol = std::min(head.find("\r\n", pos), head.size());
    const std::string line = head.substr(pos, eol - pos);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      std::string v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      out.push_back(v);
    }
  }
  return out;
}

std::string answerFrom(const std::string& request, const std::string& status,
                       const std::string& toTag, uint16_t carrierPort,
                       const std::string& contactIp) {
  std::string m = "SIP/2.0 " + status + "\r\n";
  for (const auto& v : headerValues(request, "Via")) m += "Via: " + v + "\r\n";
  for (const auto& r : headerValues(request, "Record-Route")) m += "Record-Route: " + r + "\r\n";
  m += "From: " + rawHeader(request, "From") + "\r\n";
  std::string to = rawHeader(request, "To");
  if (to.find(";tag=") == std::string::npos) to += ";tag=" + toTag;
  m += "To: " + to + "\r\n";
  m += "Call-ID: " + rawHeader(request, "Call-ID") + "\r\n";
  m += "CSeq: " + rawHeader(request, "CSeq") + "\r\n";
  m += "Contact: <sip:carrier@" + contactIp + ":" + std::to_string(carrierPort) + ">\r\n";
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

std::string viaBranch(const std::string& via) {
  const size_t at = via.find("branch=");
  return at == std::string::npos ? "" : via.substr(at + 7, via.find(';', at) - at - 7);
}

}  // namespace sos::itest
