#include "admin/http_server.h"

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

namespace sos::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
// A TLS handshake or close_notify that takes longer is given up (a client that stalls).
constexpr auto kTlsTimeout = std::chrono::seconds(10);
// After a failed accept (EMFILE, ENFILE, ENOBUFS, ...) the listening socket stays readable: an
// accept loop that retried at once would spin on the I/O thread (issue 14).
constexpr auto kFirstBackoff = std::chrono::milliseconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
constexpr auto kAcceptLogEvery = std::chrono::seconds(60);
std::atomic<uint64_t> gAcceptErrors{0};

}  // namespace

HttpResponse jsonError(int status, const std::string& message) {
  return HttpResponse{status,
                      "application/json",
                      nlohmann::json{{"error", message}}.dump(
                          -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                          "\n",
                      {}};
}

namespace {

// One connection: read a request, answer it, repeat while the client keeps it alive. An answer
// that stays open (HttpResponse::stream) is the connection's last: from then on the session
// writes what it is given, as chunks, and reads only to learn that the client has gone. `S` is
// beast::tcp_stream (HTTP) or TlsStream (HTTPS: a handshake first, close_notify at the end).
template <class S>
class Session : public std::enable_shared_from_this<Session<S>> {
  static constexpr bool kTls = std::is_same_v<S, TlsStream>;

 public:
  // `tls` is null for plain HTTP; kept by the session, so that a reload that replaces the
  // server's context does not pull it from under a connection.
  Session(tcp::socket socket, std::shared_ptr<ssl::context> tls,
          std::shared_ptr<const HttpHandler> handler)
      : tls_(std::move(tls)),
        stream_(makeStream(std::move(socket), tls_.get())),
        handler_(std::move(handler)) {}

  void run() {
    if constexpr (kTls) {
      lowest().expires_after(kTlsTimeout);
      stream_.async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {
              spdlog::debug("admin HTTPS: TLS handshake failed: {}", ec.message());
              return;
            }
            self->read();
          });
    } else {
      read();
    }
  }

  // The open answer's side (EventStream, through Stream below).
  bool streamSend(std::string text) {
    if (ended_ || ending_ || queuedBytes_ + text.size() > EventStream::kMaxBacklog) return false;
    queuedBytes_ += text.size();
    queue_.push_back(std::move(text));
    flush();
    return true;
  }
  void streamEnd() {
    if (ended_ || ending_) return;
    ending_ = true;
    flush();
  }
  bool streamEnded() const { return ended_ || ending_; }

 private:
  // The handle given to whoever writes to an open answer: it does not keep the session alive.
  class Stream final : public EventStream {
   public:
    explicit Stream(std::weak_ptr<Session> session) : session_(std::move(session)) {}
    bool send(std::string text) override {
      auto s = session_.lock();
      return s && s->streamSend(std::move(text));
    }
    void end() override {
      if (auto s = session_.lock()) s->streamEnd();
    }
    bool ended() const override {
      auto s = session_.lock();
      return !s || s->streamEnded();
    }

   private:
    std::weak_ptr<Session> session_;
  };

  void read() {
    parser_.emplace();
    // Beast checks a Content-Length against the limit as the headers are read, before the
    // path is known: the larger limit first, the path's own once the headers are in.
    parser_->body_limit(HttpServer::kMaxUploadBytes);
    parser_->header_limit(static_cast<uint32_t>(HttpServer::kMaxHeaderBytes));
    lowest().expires_after(kIdleTimeout);
    // The headers first: an import (a whole CSV file) may have a larger body than the rest.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->onRead(ec);
                              self->readBody();
                            });
  }

  void readBody() {
    const auto target = parser_->get().target();
    if (!std::string_view(target.data(), target.size()).starts_with(HttpServer::kUploadPrefix)) {
      const auto length = parser_->content_length();
      if (length && *length > HttpServer::kMaxBodyBytes) {
        return onRead(http::error::body_limit);
      }
      parser_->body_limit(HttpServer::kMaxBodyBytes);  // a chunked body
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit) {
      return reply(jsonError(413, "body over 64 KiB (16 MiB for an import)"), false);
    }
    if (ec == http::error::header_limit) {
      return reply(jsonError(431, "request line and headers over 16 KiB"), false);
    }
    if (ec == http::error::bad_target || ec == http::error::bad_method ||
        ec == http::error::bad_version || ec == http::error::bad_field ||
        ec == http::error::bad_value || ec == http::error::bad_line_ending) {
      return reply(jsonError(400, "malformed HTTP request: " + ec.message()), false);
    }
    if (ec) return;  // timeout or reset: nothing to answer
    const auto& req = parser_->get();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.contentType = std::string(req[http::field::content_type]);
    r.authorization = std::string(req[http::field::authorization]);
    r.host = std::string(req[http::field::host]);
    r.ifMatch = std::string(req[http::field::if_match]);
    r.cookie = std::string(req[http::field::cookie]);
    r.csrfToken = std::string(req["X-CSRF-Token"]);
    r.body = req.body();
    r.secure = kTls;
    beast::error_code pe;
    auto peer = lowest().socket().remote_endpoint(pe);
    if (!pe) r.peerAddress = peer.address().to_string();
    HttpResponse out;
    try {
      out = (*handler_)(r);
    } catch (const std::exception& e) {
      out = jsonError(500, e.what());
    }
    if (out.stream) return open(out);
    reply(std::move(out), req.keep_alive());
  }

  void reply(HttpResponse out, bool keepAlive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(out.status));
    res->version(11);
    res->set(http::field::server, "sosproxy");
    res->set(http::field::content_type, out.contentType);
    for (const auto& [name, value] : out.headers) res->set(name, value);
    res->keep_alive(keepAlive);
    res->body() = std::move(out.body);
    res->prepare_payload();
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keepAlive](beast::error_code ec, size_t) {
          if (ec) return;
          if (keepAlive) {
            self->read();
          } else {
            self->close();
          }
        });
  }

  // An answer that stays open: its head now, then chunks as they are sent.
  void open(const HttpResponse& out) {
    auto res = std::make_shared<http::response<http::empty_body>>();
    res->result(static_cast<unsigned>(out.status));
    res->version(11);
    res->set(http::field::server, "sosproxy");
    res->set(http::field::content_type, out.contentType);
    for (const auto& [name, value] : out.headers) res->set(name, value);
    res->keep_alive(false);
    res->chunked(true);
    auto head = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    lowest().expires_never();
    writing_ = true;
    http::async_write_header(
        stream_, *head, [self = this->shared_from_this(), res, head](beast::error_code ec, size_t) {
          self->writing_ = false;
          if (ec) return self->failed();
          self->watchPeer();
          self->flush();
        });
    out.stream(std::make_shared<Stream>(this->weak_from_this()));
  }

  // One write at a time: what is queued goes as one chunk; at the end, the last chunk.
  void flush() {
    if (writing_ || ended_) return;
    if (queue_.empty()) {
      if (!ending_) return;
      ended_ = true;
      writing_ = true;
      asio::async_write(stream_, http::make_chunk_last(),
                        [self = this->shared_from_this()](beast::error_code, size_t) {
                          self->writing_ = false;
                          self->close();
                        });
      return;
    }
    auto text = std::make_shared<std::string>();
    text->reserve(queuedBytes_);
    for (auto& part : queue_) *text += part;
    queue_.clear();
    queuedBytes_ = 0;
    writing_ = true;
    asio::async_write(stream_, http::make_chunk(asio::buffer(*text)),
                      [self = this->shared_from_this(), text](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->failed();
                        self->flush();
                      });
  }

  // An open answer's client sends nothing more: a read that completes says it has gone (or
  // broke the protocol); either way the stream ends.
  void watchPeer() {
    stream_.async_read_some(asio::buffer(peerBytes_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->failed();
                              self->watchPeer();
                            });
  }

  void failed() {
    if (ended_ && !lowest().socket().is_open()) return;
    ended_ = true;
    queue_.clear();
    queuedBytes_ = 0;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }

  void close() {
    if constexpr (kTls) {
      // close_notify first: a client then knows the answer was not cut short.
      lowest().expires_after(kTlsTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec;
        self->lowest().socket().close(ec);
      });
    } else {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  static S makeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return S(std::move(socket), *tls);
    } else {
      (void)tls;
      return S(std::move(socket));
    }
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  std::shared_ptr<ssl::context> tls_;  // before the stream, which refers to it
  S stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpHandler> handler_;
  // An open answer's state.
  std::deque<std::string> queue_;  // sent, not yet written
  size_t queuedBytes_ = 0;
  bool writing_ = false;
  bool ending_ = false;  // end() asked: the queue goes out, then the last chunk
  bool ended_ = false;   // nothing more goes out
  std::array<char, 512> peerBytes_{};
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, HttpHandler h)
      : io(io),
        acceptor(io),
        retry(io),
        handler(std::make_shared<const HttpHandler>(std::move(h))) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec,
                                                                             tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) return self->failed(ec);
      self->backoff = std::chrono::milliseconds(0);
      if (self->tls) {
        std::make_shared<Session<TlsStream>>(std::move(s), self->tls, self->handler)->run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(std::move(s), nullptr, self->handler)->run();
      }
      if (self->acceptor.is_open()) self->accept();
    });
  }

  // Waits before the next accept, longer after each failure in a row; one log line a minute.
  void failed(beast::error_code ec) {
    const uint64_t total = gAcceptErrors.fetch_add(1, std::memory_order_relaxed) + 1;
    backoff = backoff.count() == 0 ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
    const auto now = std::chrono::steady_clock::now();
    if (!logged || now - lastLog >= kAcceptLogEvery) {
      spdlog::warn(
          "admin HTTP server: accept failed ({}); accepting again in {} ms ({} failures "
          "so far)",
          ec.message(), backoff.count(), total);
      logged = true;
      lastLog = now;
    }
    if (!acceptor.is_open()) return;
    retry.expires_after(backoff);
    retry.async_wait([self = shared_from_this()](beast::error_code wait) {
      if (!wait && self->acceptor.is_open()) self->accept();
    });
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point lastLog{};
  bool logged = false;
  std::shared_ptr<const HttpHandler> handler;
  std::optional<TlsFiles> files;      // HTTPS: where the certificate and key are read from
  std::shared_ptr<ssl::context> tls;  // what new connections use; null: plain HTTP
};

namespace {

// What OpenSSL says went wrong, without the error queue's numbers.
std::string tlsReason(const boost::system::system_error& e) {
  std::string reason = e.code().message();
  return reason.empty() ? e.what() : reason;
}

// A server context over `files`: TLS 1.2 and later, the certificate chain and its key (which
// must match). Throws std::runtime_error naming the file that could not be used.
std::shared_ptr<ssl::context> serverContext(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  try {
    context->use_certificate_chain_file(files.certFile);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot use the admin certificate " + files.certFile + ": " +
                             tlsReason(e));
  }
  try {
    context->use_private_key_file(files.keyFile, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot use the admin private key " + files.keyFile +
                             " (with the certificate " + files.certFile + "): " + tlsReason(e));
  }
  return context;
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const std::string& address, uint16_t port,
                       HttpHandler handler, std::optional<TlsFiles> tls)
    : impl_(std::make_shared<Impl>(io, std::move(handler))) {
  if (tls) {
    impl_->tls = serverContext(*tls);
    impl_->files = std::move(tls);
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("admin address '" + address + "' is not an IP address");
  tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen for the admin API on " + address + ":" +
                             std::to_string(port) + ": " + ec.message());
  }
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() { impl_->accept(); }

void HttpServer::stop() {
  beast::error_code ec;
  if (impl_ && impl_->acceptor.is_open()) impl_->acceptor.close(ec);
}

bool HttpServer::https() const { return impl_->tls != nullptr; }

std::optional<std::string> HttpServer::reloadTls() {
  if (!impl_->files) return std::nullopt;
  try {
    impl_->tls = serverContext(*impl_->files);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

uint64_t HttpServer::acceptErrors() { return gAcceptErrors.load(std::memory_order_relaxed); }

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace sos::admin
