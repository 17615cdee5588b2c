#include "notify/channels.h"

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/text.h"

namespace sos::notify {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// What the other end may make us hold in memory: a webhook answer's body (only a few bytes of it
// are ever shown) and one SMTP reply, all its lines together.
constexpr size_t kMaxResponseBody = size_t{64} * 1024;
constexpr size_t kMaxSmtpReply = size_t{64} * 1024;
// The most of the other end's words an Error carries: they end up in one log line.
constexpr size_t kMaxDetail = 300;
// RFC 5322 2.1.1: no line may be longer than this (without its CRLF).
constexpr size_t kMaxMailLine = 998;

// Text from the other end, fit for one log line: controls and non-ASCII bytes become '?'.
std::string printable(std::string_view s, size_t max = kMaxDetail) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (s.size() > max) out += "...";
  return out;
}

// "host:port", "[v6]:port".
std::string hostPortText(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// The delivery of an Error found before any I/O: through `io` too, so that `done` never runs
// inside postWebhook or sendMail, where the caller may not expect it.
void reportLater(asio::io_context& io, Done done, Error e) {
  asio::post(io, [done = std::move(done), e = std::move(e)]() mutable { done(std::move(e)); });
}

// A client context that verifies the server: against `caFile`, or the system's store when it is
// empty. TLS 1.2 and later. Throws boost::system::system_error when the file cannot be used.
std::shared_ptr<ssl::context> clientContext(const std::string& caFile) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer);
  if (caFile.empty()) {
    context->set_default_verify_paths();
  } else {
    context->load_verify_file(caFile);
  }
  return context;
}

// One connection to a server: the strand everything done with it runs on, the socket, and TLS
// once started. A webhook's connection can outlive its attempt (IdleConnections, below).
struct Connection {
  explicit Connection(asio::io_context& io) : strand(asio::make_strand(io)), socket(strand) {}
  asio::strand<asio::io_context::executor_type> strand;
  tcp::socket socket;
  std::shared_ptr<ssl::context> context;         // before the stream that refers to it
  std::optional<ssl::stream<tcp::socket&>> tls;  // once TLS has started
};

// What both channels share: one connection, one deadline for the whole attempt, and `done`
// called once by whichever comes first, the end of the dialogue or the deadline. Everything runs
// on the connection's strand, so that the deadline and the I/O never race even when several
// threads run the io_context. Each pending handler holds the attempt alive; finish() closes the
// socket (unless the connection was kept for another attempt) and cancels the timer and the
// lookup, so that all of them complete (aborted) and the attempt goes away. A host name is
// looked up by Asio's resolver, whose getaddrinfo runs on a thread of its own: the I/O thread
// does not wait on DNS (and the SIP thread never sees it). An attempt given an open connection
// (`reused`) starts with onConnected() at once.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  virtual ~Attempt() = default;

 protected:
  // `channel` prefixes the TLS error code ("webhook" -> "webhook.tls").
  Attempt(asio::io_context& io, std::string host, uint16_t port, std::chrono::milliseconds timeout,
          Done done, std::string channel, std::shared_ptr<Connection> reused = nullptr)
      : reused_(reused != nullptr),
        connection_(reused ? std::move(reused) : std::make_shared<Connection>(io)),
        strand_(connection_->strand),
        timer_(strand_),
        resolver_(strand_),
        host_(std::move(host)),
        port_(port),
        timeout_(timeout),
        done_(std::move(done)),
        channel_(std::move(channel)) {}

  // Starts the deadline and the connection; onConnected() follows. Posted to the strand, as the
  // caller's thread is not the strand's.
  void begin() {
    asio::post(strand_, [self = shared_from_this()] { self->start(); });
  }

  virtual void onConnected() = 0;

  // What the deadline reports.
  virtual Result<void> onDeadline() {
    return Error{"timeout",
                 "no answer within " + std::to_string(timeout_.count()) + " ms (" + stage_ + ")"};
  }

  // `keepConnection`: the connection has been handed on (IdleConnections) and stays open.
  void finish(Result<void> result, bool keepConnection = false) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    error_code ignored;
    if (!keepConnection) connection_->socket.close(ignored);
    auto done = std::exchange(done_, nullptr);
    if (done) done(std::move(result));
  }

  // Ends this attempt without reporting: `done`, for another attempt to report through.
  Done handOver() {
    Done done = std::exchange(done_, nullptr);
    finish(Result<void>{});
    return done;
  }
  // What is left of the deadline (at least 1 ms).
  std::chrono::milliseconds timeLeft() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        startedAt_ + timeout_ - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }

  bool finished() const { return finished_; }

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  // TLS over the connection, the server's certificate verified against `caFile` (the system's
  // store when empty) and for host_ (a name: SNI and the certificate's DNS names; an address:
  // its IP addresses). `then` follows a handshake that succeeded; a failure finishes the attempt
  // with CHANNEL.tls.
  void startTls(const std::string& caFile, std::function<void()> then) {
    stage_ = "TLS handshake with " + hostPortText(host_, port_);
    Connection& c = *connection_;
    try {
      c.context = clientContext(caFile);
    } catch (const boost::system::system_error& e) {
      return finish(Error{channel_ + ".tls", "cannot use the CA file '" + printable(caFile) +
                                                 "': " + e.code().message()});
    }
    c.tls.emplace(c.socket, *c.context);
    SSL* ssl = c.tls->native_handle();
    error_code ec;
    asio::ip::make_address(host_, ec);
    if (ec) {
      SSL_set_tlsext_host_name(ssl, host_.c_str());
      SSL_set1_host(ssl, host_.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
    }
    c.tls->async_handshake(ssl::stream_base::client,
                           [self = shared_from_this(), then = std::move(then)](error_code ec) {
                             if (self->finished_) return;
                             if (ec) return self->finish(self->tlsError(ec));
                             then();
                           });
  }

  // Calls `f` with the stream the dialogue goes over now: TLS once started, else the socket.
  template <class F>
  void withStream(F&& f) {
    if (connection_->tls) {
      f(*connection_->tls);
    } else {
      f(connection_->socket);
    }
  }

  bool encrypted() const { return connection_->tls.has_value(); }
  bool reused() const { return reused_; }
  const std::string& host() const { return host_; }
  const std::shared_ptr<Connection>& connection() const { return connection_; }

 private:
  const bool reused_;
  std::shared_ptr<Connection> connection_;  // before the strand, the timer and the lookup

 protected:
  asio::strand<asio::io_context::executor_type> strand_;
  std::string stage_;  // what the attempt waits for, for the timeout's message

 private:
  void start() {
    stage_ = "looking up " + host_;
    startedAt_ = std::chrono::steady_clock::now();
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      // A timer cancelled by finish() completes with an error; one that expired just before
      // finish() may still come with success, and finish() then ignores it.
      if (!ec) self->finish(self->onDeadline());
    });
    if (reused_) {
      stage_ = "connected to " + hostPortText(host_, port_);
      return onConnected();
    }
    error_code numeric;
    asio::ip::make_address(host_, numeric);
    auto flags = tcp::resolver::numeric_service;
    if (!numeric) flags |= tcp::resolver::numeric_host;
    resolver_.async_resolve(
        host_, std::to_string(port_), flags,
        [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& found) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(
                Error{"dns", "cannot look up '" + printable(self->host_) + "': " + ec.message()});
          }
          self->connect(found);
        });
  }

  void connect(const tcp::resolver::results_type& found) {
    stage_ = "connecting to " + hostPortText(host_, port_);
    asio::async_connect(
        connection_->socket, found,
        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(Error{"connect", "cannot connect to " +
                                                     hostPortText(self->host_, self->port_) + ": " +
                                                     ec.message()});
          }
          self->onConnected();
        });
  }

  // A certificate refused says why (OpenSSL's verify result); anything else, the error.
  Error tlsError(error_code ec) {
    const long verify = SSL_get_verify_result(connection_->tls->native_handle());
    std::string why = ec.message();
    if (verify != X509_V_OK) {
      why = std::string("certificate not accepted: ") + X509_verify_cert_error_string(verify);
    }
    return Error{channel_ + ".tls", "TLS with " + hostPortText(host_, port_) + " failed: " + why};
  }

  asio::steady_timer timer_;
  tcp::resolver resolver_;
  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  Done done_;
  std::string channel_;
  std::chrono::steady_clock::time_point startedAt_;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// Webhook

struct HttpUrl {
  std::string host;  // a name, or an address (without brackets)
  uint16_t port = 80;
  bool tls = false;       // https://
  std::string authority;  // as written: the Host header
  std::string target;     // "/alerts?x=1"
};

// http[s]://HOST[:PORT][/PATH][?QUERY], HOST a name, a numeric IPv4 address or a bracketed IPv6
// one.
Result<HttpUrl> parseHttpUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error{"webhook.url", "'" + printable(url) + "': " + why};
  };
  HttpUrl out;
  std::string_view rest(url);
  auto scheme = [&rest](std::string_view s) {
    return rest.size() >= s.size() && equalsNoCase(rest.substr(0, s.size()), s);
  };
  if (scheme("https://")) {
    out.tls = true;
    out.port = 443;
    rest.remove_prefix(8);
  } else if (scheme("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("only http:// and https:// URLs are supported");
  }
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f) return bad("spaces, controls and non-ASCII must be %-encoded");
  if (auto hash = rest.find('#'); hash != rest.npos) rest = rest.substr(0, hash);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  out.target = std::string(end == rest.npos ? "/" : rest.substr(end));
  if (out.target[0] == '?') out.target.insert(0, "/");
  // Said without the URL, which would carry a password into the log.
  if (authority.find('@') != authority.npos)
    return Error{"webhook.url", "user information in a webhook URL is not supported"};

  std::string_view host = authority, port;
  bool hasPort = false;
  bool bracketed = !authority.empty() && authority[0] == '[';
  if (bracketed) {
    size_t close = authority.find(']');
    if (close == authority.npos) return bad("']' missing after the IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return bad("unexpected text after ']'");
    hasPort = !after.empty();
    if (hasPort) port = after.substr(1);
  } else if (size_t colon = authority.find(':'); colon != authority.npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    hasPort = true;
  }
  if (host.empty()) return bad("no host");
  if (hasPort) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
      return bad("the port is not a number");
    const unsigned long number = std::stoul(std::string(port));
    if (number == 0 || number > 65535) return bad("the port is out of range");
    out.port = static_cast<uint16_t>(number);
  }
  out.host = std::string(host);
  error_code ec;
  if (bracketed) asio::ip::make_address_v6(out.host, ec);
  if (ec) return bad("'" + out.host + "' is not an IPv6 address");
  out.authority = std::string(authority);
  return out;
}

// Webhook connections the server keeps open, for the next request to the same server: no new
// TCP connection and no new TLS handshake for the alerts of a call after the first. Per
// io_context (an Asio service, gone with it), by scheme, host, port and CA file; at most
// kIdlePerServer each, for kIdleFor each. A connection taken is checked first: one the server
// has closed meanwhile (or that holds bytes nobody asked for) is dropped.
class IdleConnections final : public asio::execution_context::service {
 public:
  using key_type = IdleConnections;
  static inline asio::execution_context::id id;  // NOLINT(readability-identifier-naming): Asio's
  explicit IdleConnections(asio::execution_context& context) : service(context) {}

  static constexpr size_t kIdlePerServer = 4;
  static constexpr std::chrono::seconds kIdleFor{30};

  std::shared_ptr<Connection> take(const std::string& server) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::shared_ptr<Connection> found;
    // The most recently kept first: the least likely to have been closed by the server.
    while (!found) {
      const auto [from, to] = idle_.equal_range(server);
      if (from == to) break;
      const auto last = std::prev(to);
      if (now - last->second.since < kIdleFor && stillOpen(last->second.connection->socket))
        found = last->second.connection;
      idle_.erase(last);
    }
    return found;
  }

  void keep(const std::string& server, std::shared_ptr<Connection> connection) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.count(server) >= kIdlePerServer) idle_.erase(idle_.find(server));  // the oldest
    idle_.emplace(server, Idle{std::move(connection), std::chrono::steady_clock::now()});
  }

 private:
  struct Idle {
    std::shared_ptr<Connection> connection;
    std::chrono::steady_clock::time_point since;
  };

  void shutdown() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    idle_.clear();
  }

  // Nothing to read yet, and not closed: a peek that would block.
  static bool stillOpen(tcp::socket& socket) {
    if (!socket.is_open()) return false;
    char byte = 0;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  std::mutex mutex_;
  std::multimap<std::string, Idle> idle_;  // in the order kept, within a server
};

class WebhookAttempt final : public Attempt {
 public:
  WebhookAttempt(asio::io_context& io, const HttpUrl& url, WebhookRequest r,
                 const std::string& signature, Done done)
      : WebhookAttempt(io, url, std::move(done), r.timeout, r.caFile) {
    request_.method(http::verb::post);
    request_.target(url.target);
    request_.version(11);
    request_.set(http::field::host, url.authority);
    request_.set(http::field::user_agent, "sosproxy");
    request_.set(http::field::content_type, "application/json");
    if (!signature.empty()) request_.set(kSignatureHeader, "sha256=" + signature);
    if (!r.delivery.empty()) request_.set(kDeliveryHeader, r.delivery);
    request_.keep_alive(true);  // HTTP/1.1's default: the connection may serve the next alert
    request_.body() = std::move(r.body);
    request_.prepare_payload();
  }

  void run() { begin(); }

 private:
  // On a connection kept open, if there is one for this server; else on a new one.
  WebhookAttempt(asio::io_context& io, const HttpUrl& url, Done done,
                 std::chrono::milliseconds timeout, std::string caFile, bool fresh = false)
      : Attempt(
            io, url.host, url.port, timeout, std::move(done), "webhook",
            fresh ? nullptr : asio::use_service<IdleConnections>(io).take(serverKey(url, caFile))),
        io_(io),
        url_(url),
        https_(url.tls),
        caFile_(std::move(caFile)) {}

  static std::string serverKey(const HttpUrl& url, const std::string& caFile) {
    return std::string(url.tls ? "https " : "http ") + hostPortText(url.host, url.port) + " " +
           caFile;
  }

  // A kept connection the server closed before it answered (its idle timeout came just as
  // the request left): the same request once more on a new connection, within what is left of
  // the deadline. A receiver that did read the first can drop the repeat by its delivery id.
  void retryOnNewConnection() {
    const std::chrono::milliseconds left = timeLeft();
    Done done = handOver();
    auto retry = std::shared_ptr<WebhookAttempt>(
        new WebhookAttempt(io_, url_, std::move(done), left, caFile_, /*fresh=*/true));
    retry->request_ = std::move(request_);
    retry->run();
  }

  void onConnected() override {
    if (!https_ || encrypted()) return send();
    startTls(caFile_, [self = self<WebhookAttempt>()] { self->send(); });
  }

  void send() {
    stage_ = "sending the request";
    withStream([this](auto& stream) {
      http::async_write(stream, request_, [self = self<WebhookAttempt>()](error_code ec, size_t) {
        self->onWritten(ec);
      });
    });
  }

  void onWritten(error_code ec) {
    if (finished()) return;
    if (ec && reused()) return retryOnNewConnection();
    if (ec) return finish(Error{"webhook.io", "sending the request failed: " + ec.message()});
    stage_ = "waiting for the answer";
    read();
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxResponseBody);
    withStream([this](auto& stream) {
      http::async_read(
          stream, buffer_, *parser_,
          [self = self<WebhookAttempt>()](error_code ec, size_t) { self->onRead(ec); });
    });
  }

  void onRead(error_code ec) {
    if (finished()) return;
    // The status line decides; a body cut short or too long changes nothing about it.
    if (ec && !parser_->is_header_done()) {
      if (reused() && !answered_) return retryOnNewConnection();
      return finish(Error{"webhook.io", "no HTTP answer: " + ec.message()});
    }
    answered_ = true;
    const auto& response = parser_->get();
    unsigned status = response.result_int();
    // An interim answer (100 Continue, 102 Processing): the final one follows.
    if (!ec && status >= 100 && status < 200 && status != 101) return read();
    // A whole answer on a connection the server keeps open: kept for the next alert.
    const bool keep = !ec && parser_->is_done() && response.keep_alive() && buffer_.size() == 0;
    if (keep) asio::use_service<IdleConnections>(io_).keep(serverKey(url_, caFile_), connection());
    if (status >= 200 && status < 300) return finish(Result<void>{}, keep);
    std::string message = "HTTP " + std::to_string(status);
    if (!response.reason().empty())
      message += " " + printable({response.reason().data(), response.reason().size()});
    if (!ec && !response.body().empty()) message += ": " + printable(response.body(), 200);
    finish(Error{"webhook.status", message}, keep);
  }

  asio::io_context& io_;
  HttpUrl url_;
  bool https_;
  std::string caFile_;
  bool answered_ = false;  // an answer (interim or final) came on this connection
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

// ---------------------------------------------------------------------------------------------
// Mail

// An address fit for the envelope and the headers as they are: plain ASCII, no spaces, no angle
// brackets, no line end (which would let the text inject SMTP commands or headers).
bool plainAddress(const std::string& a) {
  if (a.empty() || a.size() > 320) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>') return false;
  return true;
}

// "a\r\nb\rc\nd" -> a, b, c, d; a line end at the very end adds no empty line.
std::vector<std::string_view> splitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\r' && s[i] != '\n') continue;
    lines.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

std::string hexByte(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[c >> 4], kHex[c & 15]};
}

// RFC 2045 6.7 quoted-printable of one line (without its line end), with soft line breaks so
// that no encoded line is longer than 76 characters.
void appendQuotedPrintable(std::string& out, std::string_view line) {
  size_t column = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = line[i];
    bool last = i + 1 == line.size();
    // Trailing white space is encoded: relays may strip it.
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    std::string piece = literal ? std::string(1, char(c)) : "=" + hexByte(c);
    // Leave room for the soft break's '=' unless this piece ends the line.
    if (column + piece.size() > (last ? 76 : 75)) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  }
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// The Subject header's value. Control characters (a caller's display name is in it, and a line
// end there would start a header of the caller's choosing) become spaces. Non-ASCII text, and
// text too long for one header line, is sent as RFC 2047 encoded words (UTF-8, base64), each of
// whole characters and at most 75 long, on folded lines.
std::string subjectValue(std::string_view subject) {
  std::string clean;
  bool ascii = true;
  for (unsigned char c : subject) {
    clean += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
    if (c >= 0x80) ascii = false;
  }
  if (ascii && clean.size() <= 900) return clean;
  // "=?UTF-8?B?" + 60 characters of base64 (45 bytes) + "?=" is 72.
  constexpr size_t kChunk = 45;
  std::string out;
  size_t start = 0;
  while (start < clean.size()) {
    size_t end = std::min(start + kChunk, clean.size());
    // Back off to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
    while (end < clean.size() && end > start + 1 &&
           (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80)
      --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(clean).substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

// RFC 5322 3.3, in UTC; names written out rather than taken from the C locale.
std::string mailDate(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return text;
}

// The given Message-ID when it is one header token, else a made-up one: a malformed id must not
// cost the alert.
std::string messageIdValue(const std::string& id) {
  bool usable = id.size() >= 3 && id.size() <= 900 && id.front() == '<' && id.back() == '>';
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f) usable = false;
  if (usable) return id;
  static std::atomic<uint64_t> counter{0};
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return "<" + std::to_string(ms) + "." + std::to_string(++counter) + "@sosproxy>";
}

// What follows DATA: headers, body with CRLF line ends, dot-stuffed (RFC 5321 4.5.2), and the
// final ".". A body that is not plain short-lined ASCII goes quoted-printable, which every relay
// carries (8BITMIME is not everywhere) and which also breaks lines too long for RFC 5322.
std::string mailContent(const MailRequest& r) {
  auto lines = splitLines(r.body);
  bool quoted = false;
  for (auto line : lines) {
    if (line.size() > kMaxMailLine) quoted = true;
    for (unsigned char c : line)
      if ((c < 0x20 && c != '\t') || c >= 0x7f) quoted = true;
  }
  std::string text = "Date: " + mailDate(std::chrono::system_clock::now()) + "\r\n";
  text += "From: " + r.from + "\r\n";
  text += "To: " + r.to + "\r\n";
  text += "Subject: " + subjectValue(r.subject) + "\r\n";
  text += "Message-ID: " + messageIdValue(r.messageId) + "\r\n";
  text += "MIME-Version: 1.0\r\n";
  text += "Content-Type: text/plain; charset=utf-8\r\n";
  text += std::string("Content-Transfer-Encoding: ") + (quoted ? "quoted-printable" : "7bit") +
          "\r\n\r\n";
  for (auto line : lines) {
    if (quoted) {
      appendQuotedPrintable(text, line);
    } else {
      text += line;
    }
    text += "\r\n";
  }
  std::string stuffed;
  stuffed.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.' && (i == 0 || text[i - 1] == '\n')) stuffed += '.';
    stuffed += text[i];
  }
  return stuffed + ".\r\n";
}

// One SMTP session. With tls Optional or Required it says STARTTLS when the relay offers it and
// starts again with EHLO over TLS (RFC 3207), Required failing when the relay does not offer it;
// with Implicit the connection is TLS from the first byte (RFC 8314). With a user name it
// authenticates (RFC 4954) with PLAIN, else LOGIN, as the relay offers, and only over TLS unless
// tls is Off. The password goes into no message and no log.
class MailAttempt final : public Attempt {
 public:
  MailAttempt(asio::io_context& io, MailRequest r, Done done)
      : Attempt(io, r.host, r.port, r.timeout, std::move(done), "smtp"), request_(std::move(r)) {}

  void run() { begin(); }

 private:
  enum class Step {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthPlain,
    AuthLogin,
    AuthUser,
    AuthPassword,
    MailFrom,
    RcptTo,
    Data,
    Content,
    Quit
  };

  static const char* name(Step s) {
    switch (s) {
      case Step::Greeting:
        return "the greeting";
      case Step::Ehlo:
        return "EHLO";
      case Step::Helo:
        return "HELO";
      case Step::StartTls:
        return "STARTTLS";
      case Step::AuthPlain:
        return "AUTH PLAIN";
      case Step::AuthLogin:
        return "AUTH LOGIN";
      case Step::AuthUser:
        return "the AUTH LOGIN user name";
      case Step::AuthPassword:
        return "the AUTH LOGIN password";
      case Step::MailFrom:
        return "MAIL FROM";
      case Step::RcptTo:
        return "RCPT TO";
      case Step::Data:
        return "DATA";
      case Step::Content:
        return "the message";
      case Step::Quit:
        return "QUIT";
    }
    return "?";
  }

  static int expectedCode(Step s) {
    switch (s) {
      case Step::Greeting:
      case Step::StartTls:
        return 220;
      case Step::AuthPlain:
      case Step::AuthPassword:
        return 235;
      case Step::AuthLogin:
      case Step::AuthUser:
        return 334;
      case Step::Data:
        return 354;
      default:
        return 250;
    }
  }

  void onConnected() override {
    step_ = Step::Greeting;
    if (request_.tls != config::SmtpTls::Implicit) return readReply();
    startTls(request_.caFile, [self = self<MailAttempt>()] { self->readReply(); });
  }

  // Once the message is accepted it is delivered, whatever QUIT brings; before, the refusal
  // already recorded is the better news than "timeout".
  Result<void> onDeadline() override { return outcome_ ? *outcome_ : Attempt::onDeadline(); }

  void send(Step step, std::string text) {
    step_ = step;
    stage_ = std::string("sending ") + name(step);
    out_ = std::move(text);
    withStream([this](auto& stream) {
      asio::async_write(stream, asio::buffer(out_),
                        [self = self<MailAttempt>()](error_code ec, size_t) {
                          if (self->finished()) return;
                          if (ec) return self->lost(ec);
                          self->readReply();
                        });
    });
  }

  void readReply() {
    stage_ = std::string("waiting for the answer to ") + name(step_);
    if (step_ == Step::Greeting) stage_ = "waiting for the greeting";
    reply_.clear();
    lines_.clear();
    readLine();
  }

  void readLine() {
    withStream([this](auto& stream) {
      asio::async_read_until(
          stream, asio::dynamic_buffer(in_, kMaxSmtpReply), '\n',
          [self = self<MailAttempt>()](error_code ec, size_t n) { self->onLine(ec, n); });
    });
  }

  // RFC 5321 4.2: "250-first", "250-more", "250 last"; a reply is whole at its last line.
  void onLine(error_code ec, size_t n) {
    if (finished()) return;
    if (ec == asio::error::not_found) return protocolError("a reply line over 64 KiB");
    if (ec) return lost(ec);
    std::string line = in_.substr(0, n);
    in_.erase(0, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    bool coded = line.size() >= 3 && line.find_first_not_of("0123456789") >= 3 &&
                 (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!coded) return protocolError("not an SMTP reply: '" + printable(line) + "'");
    if (!reply_.empty()) reply_ += " / ";
    reply_ += line;
    lines_.push_back(line.size() > 4 ? line.substr(4) : "");
    if (reply_.size() > kMaxSmtpReply) return protocolError("a reply over 64 KiB");
    if (line.size() > 3 && line[3] == '-') return readLine();
    onReply(std::stoi(line.substr(0, 3)));
  }

  void onReply(int code) {
    if (step_ == Step::Quit) return finish(*outcome_);
    if (code == expectedCode(step_) || (step_ == Step::RcptTo && code == 251)) return next();
    // Servers that know no ESMTP answer EHLO with 500 or 502 and take HELO.
    if (step_ == Step::Ehlo && code >= 500) return send(Step::Helo, "HELO sosproxy\r\n");
    const std::string answer = printable(reply_) + " (answer to " + name(step_) + ")";
    if (step_ == Step::StartTls) {
      outcome_ = Error{"smtp.tls", answer};
    } else if (step_ >= Step::AuthPlain && step_ <= Step::AuthPassword) {
      outcome_ = Error{"smtp.auth", answer};
    } else if (code >= 400) {
      outcome_ = Error{"smtp.refused", answer};
    } else {
      outcome_ = Error{"smtp.protocol", "unexpected answer to " + std::string(name(step_)) + ": " +
                                            printable(reply_)};
    }
    quit();
  }

  void next() {
    switch (step_) {
      case Step::Greeting:
        return send(Step::Ehlo, "EHLO sosproxy\r\n");
      case Step::Ehlo:
      case Step::Helo:
        if (step_ == Step::Ehlo) capabilities_ = lines_;
        return afterHello();
      case Step::StartTls:
        return upgrade();
      case Step::AuthLogin:
        return send(Step::AuthUser, base64(request_.username) + "\r\n");
      case Step::AuthUser:
        return send(Step::AuthPassword, base64(request_.password) + "\r\n");
      case Step::AuthPlain:
      case Step::AuthPassword:
        return mailFrom();
      case Step::MailFrom:
        return send(Step::RcptTo, "RCPT TO:<" + request_.to + ">\r\n");
      case Step::RcptTo:
        return send(Step::Data, "DATA\r\n");
      case Step::Data:
        return send(Step::Content, mailContent(request_));
      case Step::Content:
        outcome_ = Result<void>{};
        return quit();
      case Step::Quit:
        return;
    }
  }

  void mailFrom() { send(Step::MailFrom, "MAIL FROM:<" + request_.from + ">\r\n"); }

  // The relay has said what it offers (EHLO) or nothing (HELO): STARTTLS, AUTH, or the mail.
  void afterHello() {
    const auto tls = request_.tls;
    const bool wantTls = tls == config::SmtpTls::Optional || tls == config::SmtpTls::Required;
    if (!encrypted() && wantTls && offers("STARTTLS")) return send(Step::StartTls, "STARTTLS\r\n");
    if (!encrypted() && tls == config::SmtpTls::Required) {
      outcome_ = Error{"smtp.tls", "the relay does not offer STARTTLS (tls: required)"};
      return quit();
    }
    if (request_.username.empty()) return mailFrom();
    if (!encrypted() && tls != config::SmtpTls::Off) {
      outcome_ = Error{"smtp.auth",
                       "no TLS (the relay does not offer STARTTLS): the password is "
                       "not sent in clear"};
      return quit();
    }
    if (offersAuth("PLAIN")) {
      std::string credentials(1, '\0');
      credentials += request_.username + '\0' + request_.password;
      return send(Step::AuthPlain, "AUTH PLAIN " + base64(credentials) + "\r\n");
    }
    if (offersAuth("LOGIN")) return send(Step::AuthLogin, "AUTH LOGIN\r\n");
    outcome_ = Error{"smtp.auth", "the relay offers neither AUTH PLAIN nor AUTH LOGIN"};
    quit();
  }

  // After 220 to STARTTLS: the handshake, then EHLO again (RFC 3207 4.2: what was said before
  // TLS is forgotten). Bytes already received past the 220 were sent before TLS by whoever sits
  // on the path: refused rather than read as the relay's words.
  void upgrade() {
    if (!in_.empty()) return protocolError("data after the answer to STARTTLS");
    capabilities_.clear();
    startTls(request_.caFile,
             [self = self<MailAttempt>()] { self->send(Step::Ehlo, "EHLO sosproxy\r\n"); });
  }

  // An EHLO keyword, as the first word of a line after the greeting line.
  bool offers(std::string_view keyword) const {
    for (size_t i = 1; i < capabilities_.size(); ++i) {
      std::string_view line = capabilities_[i];
      if (equalsNoCase(line.substr(0, line.find(' ')), keyword)) return true;
    }
    return false;
  }

  // "AUTH PLAIN LOGIN" (or the older "AUTH=PLAIN LOGIN").
  bool offersAuth(std::string_view mechanism) const {
    for (size_t i = 1; i < capabilities_.size(); ++i) {
      std::string_view line = capabilities_[i];
      if (line.size() < 5 || !equalsNoCase(line.substr(0, 4), "AUTH") ||
          (line[4] != ' ' && line[4] != '='))
        continue;
      line.remove_prefix(5);
      while (!line.empty()) {
        const size_t space = line.find(' ');
        if (equalsNoCase(line.substr(0, space), mechanism)) return true;
        if (space == std::string_view::npos) break;
        line.remove_prefix(space + 1);
      }
    }
    return false;
  }

  // RFC 5321 4.1.1.10: the client ends the session with QUIT, after a refusal too.
  void quit() { send(Step::Quit, "QUIT\r\n"); }

  void lost(error_code ec) {
    if (outcome_) return finish(*outcome_);
    finish(Error{"smtp.io", "connection lost " + stage_ + ": " + ec.message()});
  }

  void protocolError(const std::string& what) {
    if (outcome_) return finish(*outcome_);
    finish(Error{"smtp.protocol", std::string(name(step_)) + ": " + what});
  }

  MailRequest request_;
  Step step_ = Step::Greeting;
  std::string in_, out_, reply_;
  std::vector<std::string> lines_;         // the reply's lines, without their codes
  std::vector<std::string> capabilities_;  // the last EHLO's lines
  std::optional<Result<void>> outcome_;    // set once the server has decided
};

}  // namespace

std::string hmacSha256Hex(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length))
    return {};
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < length; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return hex;
}

void postWebhook(asio::io_context& io, WebhookRequest request, Done done) {
  auto url = parseHttpUrl(request.url);
  if (!url) return reportLater(io, std::move(done), url.error());
  std::string signature;
  if (!request.secret.empty()) {
    signature = hmacSha256Hex(request.secret, request.body);
    if (signature.empty()) {
      return reportLater(io, std::move(done), Error{"webhook.sign", "HMAC-SHA256 failed"});
    }
  }
  for (unsigned char c : request.delivery) {
    if (c < 0x20 || c == 0x7f) {
      return reportLater(io, std::move(done),
                         Error{"webhook.delivery", "control character in the delivery id"});
    }
  }
  std::make_shared<WebhookAttempt>(io, std::move(url).value(), std::move(request),
                                   std::move(signature), std::move(done))
      ->run();
}

void sendMail(asio::io_context& io, MailRequest request, Done done) {
  if (request.host.empty() || request.port == 0) {
    return reportLater(
        io, std::move(done),
        Error{"smtp.host", "'" + printable(request.host) + ":" + std::to_string(request.port) +
                               "' is not a host and port"});
  }
  for (const auto* a : {&request.from, &request.to}) {
    if (!plainAddress(*a)) {
      return reportLater(
          io, std::move(done),
          Error{"smtp.address", "'" + printable(*a) + "' is not a plain ASCII mail address"});
    }
  }
  std::make_shared<MailAttempt>(io, std::move(request), std::move(done))->run();
}

MailRequest relayRequest(const config::Notifications& n) {
  MailRequest r;
  r.host = n.smtpHost;
  r.port = n.smtpPort;
  r.tls = n.smtpTls;
  r.caFile = n.smtpCaFile;
  r.username = n.smtpAuth.username;
  r.password = n.smtpAuth.password;
  r.from = n.mailFrom;
  return r;
}

}  // namespace sos::notify
