// The delivery channels against small in-process servers on loopback: what arrives, what each
// kind of failure reports, the deadline, and `done` called exactly once.
#include "notify/channels.h"

#include <gtest/gtest.h>

#include <utility>  // before Asio in C++20 on Boost 1.74 (std::exchange)

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sos::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

// Everything (servers and clients) runs on the test's thread: `io` is run until `done` has been
// called, within a generous bound, and stops early when nothing is left that could call it.
void runUntil(asio::io_context& io, const std::optional<Result<void>>& outcome,
              std::chrono::seconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!outcome && std::chrono::steady_clock::now() < end) {
    io.run_one_for(100ms);
    if (io.stopped()) break;
  }
}

tcp::endpoint loopback() { return {asio::ip::make_address("127.0.0.1"), 0}; }

// Records each request, then answers `status` (or, when `silent`, reads nothing and never
// answers, holding the connection open). The connection is closed after the answer unless
// `keepAlive`; `closeAfterAnswer` closes it after an answer that said keep-alive (a server's idle
// timeout); `dropRequest` N closes a connection on its Nth request without answering.
class HttpServer {
 public:
  explicit HttpServer(asio::io_context& io, tcp::endpoint at = loopback()) : acceptor_(io, at) {
    accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  unsigned status = 200;
  bool silent = false;
  bool keepAlive = false;
  bool closeAfterAnswer = false;
  int dropRequest = 0;
  int accepted = 0;
  std::vector<http::request<http::string_body>> requests;

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    int served = 0;
  };

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted;
      auto c = std::make_shared<Connection>(std::move(socket));
      connections_.push_back(c);
      if (!silent) serve(c);
      accept();
    });
  }

  void serve(std::shared_ptr<Connection> c) {
    c->request = {};
    http::async_read(c->socket, c->buffer, c->request, [this, c](error_code ec, size_t) {
      if (ec) return;
      requests.push_back(c->request);
      error_code ignored;
      if (++c->served == dropRequest) {
        c->socket.close(ignored);
        return;
      }
      c->response = {};
      c->response.result(status);
      c->response.version(11);
      c->response.set(http::field::content_type, "text/plain");
      c->response.body() = status / 100 == 2 ? "" : "receiver says no";
      c->response.keep_alive(keepAlive);
      c->response.prepare_payload();
      http::async_write(c->socket, c->response, [this, c](error_code ec, size_t) {
        error_code ignored;
        if (!ec && keepAlive && !closeAfterAnswer) return serve(c);
        c->socket.shutdown(tcp::socket::shutdown_send, ignored);
        if (closeAfterAnswer) c->socket.close(ignored);
      });
    });
  }

  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Connection>> connections_;
};

// Speaks the server side of RFC 5321 (no pipelining, as the client does not pipeline), records
// the commands and the DATA lines as they arrive (still dot-stuffed).
class SmtpServer {
 public:
  explicit SmtpServer(asio::io_context& io) : acceptor_(io, loopback()) { accept(); }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  bool greet = true;
  bool refuseEhlo = false;
  bool refuseRcpt = false;
  bool offerAuth = false;  // EHLO says AUTH PLAIN LOGIN, and any AUTH is taken
  int accepted = 0;
  std::vector<std::string> commands;
  std::string data;

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string in, out;
    bool inData = false;
  };
  using Ptr = std::shared_ptr<Connection>;

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted;
      // The EHLO answer goes out in two writes: without this, the second waits on a delayed ACK.
      socket.set_option(tcp::no_delay(true), ec);
      auto c = std::make_shared<Connection>(std::move(socket));
      connections_.push_back(c);
      if (greet) reply(c, "220 test.local ESMTP ready\r\n");
      accept();
    });
  }

  void reply(Ptr c, std::string text, bool close = false) {
    c->out = std::move(text);
    asio::async_write(c->socket, asio::buffer(c->out), [this, c, close](error_code ec, size_t) {
      if (ec) return;
      if (close) {
        error_code ignored;
        c->socket.shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      readLine(c);
    });
  }

  void readLine(Ptr c) {
    asio::async_read_until(c->socket, asio::dynamic_buffer(c->in), "\r\n",
                           [this, c](error_code ec, size_t n) {
                             if (ec) return;
                             std::string line = c->in.substr(0, n - 2);
                             c->in.erase(0, n);
                             onLine(c, line);
                           });
  }

  void onLine(Ptr c, const std::string& line) {
    if (c->inData) {
      if (line != ".") {
        data += line + "\r\n";
        return readLine(c);
      }
      c->inData = false;
      return reply(c, "250 2.0.0 queued as 17\r\n");
    }
    commands.push_back(line);
    std::string verb = line.substr(0, 4);
    if (verb == "EHLO" && refuseEhlo) return reply(c, "502 5.5.2 command not recognized\r\n");
    if (verb == "EHLO") {
      // Sent in two pieces, the cut inside a line, so the client must put lines together.
      c->out = "250-test.local greets sosproxy\r\n250-8BI";
      asio::async_write(c->socket, asio::buffer(c->out), [this, c](error_code ec, size_t) {
        if (!ec) {
          reply(c, std::string("TMIME\r\n250-SIZE 1000000\r\n") +
                       (offerAuth ? "250-AUTH PLAIN LOGIN\r\n" : "") + "250 HELP\r\n");
        }
      });
      return;
    }
    if (verb == "HELO") return reply(c, "250 test.local\r\n");
    if (verb == "AUTH" && offerAuth) return reply(c, "235 2.7.0 authenticated\r\n");
    if (verb == "MAIL") return reply(c, "250 2.1.0 sender ok\r\n");
    if (verb == "RCPT" && refuseRcpt)
      return reply(c, "550 5.1.1 <desk@example.com>: mailbox unavailable\r\n");
    if (verb == "RCPT") return reply(c, "250 2.1.5 recipient ok\r\n");
    if (verb == "DATA") {
      c->inData = true;
      return reply(c, "354 end data with <CR><LF>.<CR><LF>\r\n");
    }
    if (verb == "QUIT") return reply(c, "221 2.0.0 bye\r\n", true);
    reply(c, "500 5.5.1 unknown command\r\n");
  }

  tcp::acceptor acceptor_;
  std::vector<Ptr> connections_;
};

// The value of the header `name` of a mail as received (before the blank line; not folded).
std::string headerValue(const std::string& mail, const std::string& name) {
  std::string head = "\r\n" + mail.substr(0, mail.find("\r\n\r\n") + 2);
  size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 4;
  return head.substr(at, head.find("\r\n", at) - at);
}

// RFC 5322 3.3 as sent: "Thu, 01 Feb 2024 12:00:00 +0000".
bool isMailDate(const std::string& v) {
  static const std::vector<std::string> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const std::vector<std::string> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 31) return false;
  std::string shape;
  for (char c : v) shape += (c >= '0' && c <= '9') ? '9' : c;
  auto in = [](const std::vector<std::string>& names, const std::string& word) {
    return std::find(names.begin(), names.end(), word) != names.end();
  };
  return in(kDays, v.substr(0, 3)) && in(kMonths, v.substr(8, 3)) &&
         shape.substr(3, 5) == ", 99 " && shape.substr(11, 15) == " 9999 99:99:99 " &&
         v.substr(26) == "+0000";
}

// A port nobody listens on (bound, then closed at once).
uint16_t closedPort(asio::io_context& io) {
  tcp::acceptor a(io, loopback());
  return a.local_endpoint().port();
}

struct Channels : ::testing::Test {
  asio::io_context io;
  std::optional<Result<void>> outcome;
  int calls = 0;

  Done recorder() {
    return [this](Result<void> r) {
      ++calls;
      outcome.emplace(std::move(r));
    };
  }

  Result<void> webhook(WebhookRequest r) {
    postWebhook(io, std::move(r), recorder());
    runUntil(io, outcome);
    EXPECT_TRUE(outcome.has_value()) << "done was not called";
    return outcome ? *outcome : Error{"test", "done was not called"};
  }

  Result<void> mail(MailRequest r) {
    sendMail(io, std::move(r), recorder());
    runUntil(io, outcome);
    EXPECT_TRUE(outcome.has_value()) << "done was not called";
    return outcome ? *outcome : Error{"test", "done was not called"};
  }

  MailRequest mailTo(uint16_t port) {
    MailRequest r;
    r.host = "127.0.0.1";
    r.port = port;
    r.from = "sosproxy@localhost";
    r.to = "desk@example.com";
    r.subject = "EMERGENCY CALL 911 from 1001 (HQ)";
    r.body = "first line\n.hidden\r\n..two dots\rlast";
    r.messageId = "<job-17@sosproxy>";
    return r;
  }
};

TEST(Hmac, Rfc4231) {
  // Test case 2: a key shorter than the block.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1.
  EXPECT_EQ(hmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmacSha256Hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_F(Channels, WebhookPostArrivesSignedWithDeliveryId) {
  HttpServer server(io);
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts?site=HQ";
  r.secret = "s3cret";
  r.body = R"({"event":"started","call_id":"1-2@x"})";
  r.delivery = "job-17";
  auto result = webhook(r);
  ASSERT_TRUE(result.ok()) << result.error().code << ": " << result.error().message;
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(server.requests.size(), 1u);
  const auto& got = server.requests[0];
  EXPECT_EQ(got.method(), http::verb::post);
  EXPECT_EQ(got.target(), "/alerts?site=HQ");
  EXPECT_EQ(got[http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(got[http::field::content_type], "application/json");
  EXPECT_EQ(got[http::field::content_length], std::to_string(r.body.size()));
  EXPECT_EQ(got.count(http::field::connection), 0u);  // HTTP/1.1: kept open unless said
  EXPECT_EQ(got.body(), r.body);
  EXPECT_EQ(got[kSignatureHeader], "sha256=" + hmacSha256Hex("s3cret", got.body()));
  EXPECT_EQ(got[kDeliveryHeader], "job-17");
}

TEST_F(Channels, WebhookWithoutSecretHasNoSignatureAndAnyTwoHundredDelivers) {
  HttpServer server(io);
  server.status = 204;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port());  // no path: "/"
  r.body = "{}";
  auto result = webhook(r);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].target(), "/");
  EXPECT_EQ(server.requests[0].count(kSignatureHeader), 0u);
}

// A server that keeps its connections open gets a call's alerts over one connection; one that
// closes them gets a connection each.
TEST_F(Channels, WebhookConnectionKeptOpenServesTheNextAlert) {
  HttpServer server(io);
  server.keepAlive = true;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  for (const char* id : {"job-1", "job-2", "job-3"}) {
    r.delivery = id;
    outcome.reset();
    auto result = webhook(r);
    ASSERT_TRUE(result.ok()) << result.error().message;
  }
  EXPECT_EQ(server.accepted, 1);
  ASSERT_EQ(server.requests.size(), 3u);
  EXPECT_EQ(server.requests[2][kDeliveryHeader], "job-3");

  HttpServer closing(io);
  r.url = "http://127.0.0.1:" + std::to_string(closing.port()) + "/alerts";
  for (int i = 0; i < 2; ++i) {
    outcome.reset();
    auto result = webhook(r);
    ASSERT_TRUE(result.ok()) << result.error().message;
  }
  EXPECT_EQ(closing.accepted, 2);
  EXPECT_EQ(calls, 5);
}

// The server closes a kept connection after its answer (its idle timeout): the next alert goes
// over a new connection and is delivered.
TEST_F(Channels, WebhookConnectionClosedByTheServerIsNotUsedAgain) {
  HttpServer server(io);
  server.keepAlive = true;
  server.closeAfterAnswer = true;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  for (int i = 0; i < 2; ++i) {
    outcome.reset();
    auto result = webhook(r);
    ASSERT_TRUE(result.ok()) << result.error().code << ": " << result.error().message;
  }
  EXPECT_EQ(server.accepted, 2);
  EXPECT_EQ(server.requests.size(), 2u);
  EXPECT_EQ(calls, 2);
}

// The kept connection is closed as the next request arrives, unanswered: the request goes once
// more over a new connection, with the same delivery id, and `done` reports once.
TEST_F(Channels, WebhookDroppedOnAKeptConnectionIsSentOnceMoreOnANewOne) {
  HttpServer server(io);
  server.keepAlive = true;
  server.dropRequest = 2;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  r.delivery = "job-1";
  ASSERT_TRUE(webhook(r).ok());
  outcome.reset();
  r.delivery = "job-2";
  auto result = webhook(r);
  ASSERT_TRUE(result.ok()) << result.error().code << ": " << result.error().message;
  EXPECT_EQ(server.accepted, 2);
  ASSERT_EQ(server.requests.size(), 3u);
  EXPECT_EQ(server.requests[1][kDeliveryHeader], "job-2");
  EXPECT_EQ(server.requests[2][kDeliveryHeader], "job-2");
  io.restart();
  io.poll();
  EXPECT_EQ(calls, 2);
}

TEST_F(Channels, WebhookServerErrorIsAnError) {
  HttpServer server(io);
  server.status = 500;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  r.body = "{}";
  auto result = webhook(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "webhook.status");
  EXPECT_EQ(result.error().message.rfind("HTTP 500", 0), 0u) << result.error().message;
  EXPECT_NE(result.error().message.find("receiver says no"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST_F(Channels, WebhookSilentServerTimesOut) {
  HttpServer server(io);
  server.silent = true;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  r.body = "{}";
  r.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto result = webhook(r);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "timeout");
  EXPECT_NE(result.error().message.find("no answer within 200 ms"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(server.accepted, 1);
  EXPECT_GE(elapsed, 200ms);  // a steady timer never fires early
  EXPECT_LT(elapsed, 5s);
  // Nothing is left to call `done` a second time.
  io.restart();
  io.poll();
  EXPECT_EQ(calls, 1);
}

// A name that cannot be looked up (an empty label: refused before any DNS server is asked) is
// the "dns" error, with the name.
TEST_F(Channels, WebhookHostThatCannotBeLookedUpIsADnsError) {
  WebhookRequest r;
  r.url = "https://no..such.invalid/alerts";
  r.body = "{}";
  r.timeout = 10s;
  auto result = webhook(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "dns") << result.error().message;
  EXPECT_NE(result.error().message.find("cannot look up 'no..such.invalid'"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(calls, 1);
}

TEST_F(Channels, WebhookConnectionRefused) {
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(closedPort(io)) + "/alerts";
  r.body = "{}";
  auto result = webhook(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "connect");
  EXPECT_NE(result.error().message.find("refused"), std::string::npos) << result.error().message;
}

TEST_F(Channels, WebhookOverIpv6) {
  error_code ec;
  tcp::acceptor probe(io);
  probe.open(tcp::v6(), ec);
  if (!ec) probe.bind({asio::ip::make_address("::1"), 0}, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback here";
  probe.close();
  HttpServer server(io, {asio::ip::make_address("::1"), 0});
  WebhookRequest r;
  r.url = "http://[::1]:" + std::to_string(server.port()) + "/v6";
  r.body = "{}";
  auto result = webhook(r);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0][http::field::host], "[::1]:" + std::to_string(server.port()));
}

TEST_F(Channels, WebhookBadUrlsAreRefusedWithoutNetwork) {
  for (std::string url : {"ftp://127.0.0.1/alerts", "127.0.0.1:8089/alerts", "http://127.0.0.1:0/",
                          "http://127.0.0.1:99999/", "http://127.0.0.1:/", "http://127.0.0.1:80x/",
                          "http://[::1/", "http://::1/", "http://user@127.0.0.1/", "http:///alerts",
                          "http://127.0.0.1/a b", "http://127.0.0.1/a\r\nX-Injected: 1"}) {
    outcome.reset();
    calls = 0;
    WebhookRequest r;
    r.url = url;
    postWebhook(io, r, recorder());
    EXPECT_EQ(calls, 0) << url << ": done must not run inside postWebhook";
    // No socket, no timer: `io` runs out of work as soon as the report is out.
    io.restart();
    io.run();
    ASSERT_TRUE(outcome.has_value()) << url;
    ASSERT_FALSE(outcome->ok()) << url;
    EXPECT_EQ(outcome->error().code, "webhook.url") << url;
    EXPECT_EQ(calls, 1) << url;
  }
}

TEST_F(Channels, WebhookDoneOnceAcrossAStoppedContext) {
  HttpServer server(io);
  server.silent = true;
  WebhookRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
  r.timeout = 300ms;
  postWebhook(io, r, recorder());
  auto end = std::chrono::steady_clock::now() + 10s;
  while (server.accepted == 0 && std::chrono::steady_clock::now() < end) io.run_one_for(100ms);
  ASSERT_EQ(server.accepted, 1);
  io.stop();  // in flight: the request is out, the answer awaited
  EXPECT_EQ(calls, 0);
  runUntil(io, outcome);  // runs again: the deadline still reports
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->error().code, "timeout");
  io.restart();
  io.poll();
  EXPECT_EQ(calls, 1);
}

TEST(ChannelsLifetime, DestroyedContextDropsTheAttemptWithoutCallingDone) {
  auto calls = std::make_shared<int>(0);
  {
    asio::io_context io;
    HttpServer server(io);
    server.silent = true;
    WebhookRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/alerts";
    postWebhook(io, r, [calls](Result<void>) { ++*calls; });
    auto end = std::chrono::steady_clock::now() + 10s;
    while (server.accepted == 0 && std::chrono::steady_clock::now() < end) io.run_one_for(100ms);
    ASSERT_EQ(server.accepted, 1);
  }
  EXPECT_EQ(*calls, 0);
  // The pending handlers were destroyed with the context, and the attempt (holding `done`) with
  // them: nothing keeps a reference.
  EXPECT_EQ(calls.use_count(), 1);
}

TEST_F(Channels, MailArrivesWithHeadersAndDotStuffedBody) {
  SmtpServer server(io);
  auto result = mail(mailTo(server.port()));
  ASSERT_TRUE(result.ok()) << result.error().code << ": " << result.error().message;
  EXPECT_EQ(calls, 1);
  // The multi-line EHLO answer was read whole: the next command is MAIL, not a second EHLO.
  EXPECT_EQ(server.commands,
            (std::vector<std::string>{"EHLO sosproxy", "MAIL FROM:<sosproxy@localhost>",
                                      "RCPT TO:<desk@example.com>", "DATA", "QUIT"}));
  const std::string& d = server.data;
  EXPECT_NE(d.find("\r\nFrom: sosproxy@localhost\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nTo: desk@example.com\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nSubject: EMERGENCY CALL 911 from 1001 (HQ)\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nMessage-ID: <job-17@sosproxy>\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << d;
  EXPECT_TRUE(isMailDate(headerValue(d, "Date"))) << d;
  // Every line end is CRLF, and a line starting with '.' got another one.
  size_t body = d.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(d.substr(body + 4), "first line\r\n..hidden\r\n...two dots\r\nlast\r\n");
}

TEST_F(Channels, MailFallsBackToHeloWhenEhloIsRefused) {
  SmtpServer server(io);
  server.refuseEhlo = true;
  auto result = mail(mailTo(server.port()));
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_GE(server.commands.size(), 3u);
  EXPECT_EQ(server.commands[0], "EHLO sosproxy");
  EXPECT_EQ(server.commands[1], "HELO sosproxy");
  EXPECT_EQ(server.commands[2], "MAIL FROM:<sosproxy@localhost>");
}

TEST_F(Channels, MailRecipientRefusedIsAnErrorWithTheReply) {
  SmtpServer server(io);
  server.refuseRcpt = true;
  auto result = mail(mailTo(server.port()));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "smtp.refused");
  EXPECT_NE(result.error().message.find("550 5.1.1 <desk@example.com>: mailbox unavailable"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(calls, 1);
  // The session was ended properly, and no message was sent.
  ASSERT_FALSE(server.commands.empty());
  EXPECT_EQ(server.commands.back(), "QUIT");
  EXPECT_TRUE(server.data.empty());
}

TEST_F(Channels, MailServerWithoutGreetingTimesOut) {
  SmtpServer server(io);
  server.greet = false;
  auto r = mailTo(server.port());
  r.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto result = mail(r);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "timeout");
  EXPECT_NE(result.error().message.find("no answer within 200 ms"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("greeting"), std::string::npos);
  EXPECT_EQ(server.accepted, 1);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 5s);
  io.restart();
  io.poll();
  EXPECT_EQ(calls, 1);
}

// Issue 20: tls required and a relay that does not offer STARTTLS: nothing is sent in clear.
TEST_F(Channels, MailWithTlsRequiredAndNoStartTlsOfferedSendsNothing) {
  SmtpServer server(io);
  auto r = mailTo(server.port());
  r.tls = config::SmtpTls::Required;
  auto result = mail(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "smtp.tls");
  EXPECT_EQ(result.error().message, "the relay does not offer STARTTLS (tls: required)");
  EXPECT_EQ(server.commands, (std::vector<std::string>{"EHLO sosproxy", "QUIT"}));
  EXPECT_TRUE(server.data.empty());
}

// AUTH PLAIN in clear only when tls is off; with tls optional and no STARTTLS offered the
// password is not sent at all.
TEST_F(Channels, MailAuthenticatesInClearOnlyWithTlsOff) {
  SmtpServer server(io);
  server.offerAuth = true;
  auto r = mailTo(server.port());
  r.username = "alerts";
  r.password = "pw";
  auto result = mail(r);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_GE(server.commands.size(), 3u);
  EXPECT_EQ(server.commands[1], "AUTH PLAIN AGFsZXJ0cwBwdw==");  // "\0alerts\0pw"
  EXPECT_EQ(server.commands[2], "MAIL FROM:<sosproxy@localhost>");

  SmtpServer optional(io);
  optional.offerAuth = true;
  r.port = optional.port();
  r.tls = config::SmtpTls::Optional;
  outcome.reset();
  result = mail(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "smtp.auth");
  EXPECT_EQ(optional.commands, (std::vector<std::string>{"EHLO sosproxy", "QUIT"}));
}

TEST_F(Channels, MailConnectionRefused) {
  auto result = mail(mailTo(closedPort(io)));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "connect");
}

TEST_F(Channels, MailNonAsciiIsEncoded) {
  SmtpServer server(io);
  auto r = mailTo(server.port());
  r.subject = "Notruf: Müller";
  r.body = "Grüße\n.x";
  ASSERT_TRUE(mail(r).ok());
  const std::string& d = server.data;
  EXPECT_NE(d.find("\r\nSubject: =?UTF-8?B?Tm90cnVmOiBNw7xsbGVy?=\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("\r\nContent-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_EQ(d.substr(d.find("\r\n\r\n") + 4), "Gr=C3=BC=C3=9Fe\r\n..x\r\n");
}

TEST_F(Channels, MailLongNonAsciiSubjectIsFoldedOnWholeCharacters) {
  SmtpServer server(io);
  auto r = mailTo(server.port());
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "Ä";  // 80 bytes: 22 + 18 characters
  r.subject = subject;
  ASSERT_TRUE(mail(r).ok());
  EXPECT_NE(server.data.find("\r\nSubject: =?UTF-8?B?"
                             "w4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4Q=?=\r\n"
                             " =?UTF-8?B?w4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOEw4TDhMOE?=\r\n"),
            std::string::npos)
      << server.data;
}

TEST_F(Channels, MailSubjectCannotAddHeaders) {
  SmtpServer server(io);
  auto r = mailTo(server.port());
  r.subject = "Call from x\r\nBcc: someone@example.com";
  ASSERT_TRUE(mail(r).ok());
  EXPECT_NE(server.data.find("\r\nSubject: Call from x  Bcc: someone@example.com\r\n"),
            std::string::npos)
      << server.data;
  EXPECT_EQ(server.data.find("\r\nBcc:"), std::string::npos);
}

TEST_F(Channels, MailWithoutHostAndBadAddressesAreRefusedWithoutNetwork) {
  auto check = [&](MailRequest r, const std::string& code) {
    outcome.reset();
    calls = 0;
    sendMail(io, std::move(r), recorder());
    EXPECT_EQ(calls, 0);
    io.restart();
    io.run();
    ASSERT_TRUE(outcome.has_value());
    ASSERT_FALSE(outcome->ok());
    EXPECT_EQ(outcome->error().code, code);
    EXPECT_EQ(calls, 1);
  };
  auto r = mailTo(25);
  r.host = "";
  check(r, "smtp.host");
  r = mailTo(0);
  check(r, "smtp.host");
  r = mailTo(25);
  r.to = "desk@example.com>\r\nRCPT TO:<other@example.com";
  check(r, "smtp.address");
  r = mailTo(25);
  r.from = "";
  check(r, "smtp.address");
}

}  // namespace
}  // namespace sos::notify
