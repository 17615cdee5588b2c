#pragma once
// A small HTTP/1.1 server (Boost.Beast) for the admin API: one handler function decides, the
// server only moves bytes (the shape of Beast's own examples), over plain TCP or TLS. Runs on
// the I/O thread's io_context; the handler is called there too.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sos::admin {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/api/v1/location-reports?x=y"
  std::string contentType;
  std::string authorization;  // the Authorization header, as sent
  std::string host;           // the Host header, as sent ("" when absent)
  std::string ifMatch;        // the If-Match header, as sent
  std::string cookie;         // the Cookie header, as sent (the dashboard's session)
  std::string csrfToken;      // the X-CSRF-Token header, as sent
  std::string body;
  std::string peerAddress;  // the client's IP address as seen on the socket
  bool secure = false;      // it came over TLS (HTTPS)
};

// A response that stays open and is written to as things happen (Server-Sent Events, the
// dashboard's GET /api/v1/events). Used on the I/O thread only. The connection's own reads and
// writes keep it alive; whoever holds this handle does not: once the client has gone, ended()
// says so and send() does nothing.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues `text` to go out as it is. False, and nothing queued, when the stream has ended or
  // already holds kMaxBacklog bytes its client has not taken (a client that does not keep up:
  // the caller decides what it misses).
  virtual bool send(std::string text) = 0;
  // Ends the stream: what is queued goes out, then the connection is closed.
  virtual void end() = 0;
  virtual bool ended() const = 0;

  static constexpr size_t kMaxBacklog = size_t{256} * 1024;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  // Further headers ("Allow", "WWW-Authenticate", ...), written as given.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a response that stays open: the status line and headers are sent (chunked, no
  // body of its own, the connection closed at its end), then `stream` is called once with it;
  // `body` is not sent. The idle timeout no longer applies to that connection.
  std::function<void(std::shared_ptr<EventStream>)> stream = nullptr;
};

// {"error": message} and a line feed: the body of every error answer. Messages may quote what a
// client sent: invalid UTF-8 is replaced, never an exception.
HttpResponse jsonError(int status, const std::string& message);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// HTTPS (issue 20): the server's certificate (PEM, its chain after it) and private key (PEM).
struct TlsFiles {
  std::string certFile;
  std::string keyFile;
};

class HttpServer {
 public:
  // Binds at once (so a port in use is reported at start-up); serves once start() is called.
  // With `tls`, HTTPS (TLS 1.2 or later) with that certificate and key, read now. Throws
  // std::runtime_error naming the address, or the file that cannot be used, on failure.
  HttpServer(boost::asio::io_context& io, const std::string& address, uint16_t port,
             HttpHandler handler, std::optional<TlsFiles> tls = std::nullopt);
  ~HttpServer();
  void start();
  void stop();
  uint16_t port() const;  // the bound port (useful with port 0)
  bool https() const;
  // Reads the certificate and key again (a renewed certificate, on SIGHUP): connections accepted
  // from then on use them, open ones keep theirs. On failure the server keeps what it had and
  // the message says why. Nothing to do for plain HTTP. On the io_context's thread.
  std::optional<std::string> reloadTls();
  // Accept failures of all admin servers of the process (descriptors exhausted, ...): after
  // each the server waits, 10 ms doubling to 1 s, before it accepts again.
  static uint64_t acceptErrors();

  static constexpr size_t kMaxBodyBytes = size_t{64} * 1024;
  // Paths under this prefix take a whole file (a CSV import) up to this size.
  static constexpr std::string_view kUploadPrefix = "/api/v1/import/";
  static constexpr size_t kMaxUploadBytes = size_t{16} * 1024 * 1024;
  // The request line and headers together; more is answered 431.
  static constexpr size_t kMaxHeaderBytes = size_t{16} * 1024;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sos::admin
