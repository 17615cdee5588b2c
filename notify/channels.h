#pragma once
// The delivery channels of responder alerts (issue 6), each one attempt, asynchronous on the
// I/O thread's io_context, bounded by a timeout, reporting through `done` exactly once. Retries
// are the outbox's business (notify/notifier.h), not theirs. SIP MESSAGE is sent by the SIP
// thread; the notifier reaches it through a function it is given.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "config/config.h"

namespace sos::notify {

// Ok(true) delivered; an Error says why not ("webhook.status": "HTTP 500", "smtp.refused":
// "550 ...", "timeout": "no answer within 5000 ms", "connect": "connection refused").
//
// Every code: "webhook.url" (not http[s]://HOST[:PORT][/PATH]), "webhook.sign",
// "webhook.delivery" (a control character in the id), "webhook.tls" (the TLS handshake failed:
// a certificate not trusted or not for the host, ...), "webhook.io" (the connection failed
// before an answer), "webhook.status" (an answer other than 2xx), "smtp.host" (no host or
// port), "smtp.address" (from or to not a plain ASCII address), "smtp.tls" (STARTTLS not
// offered or refused when required, or the handshake failed), "smtp.auth" (AUTH refused, no
// mechanism in common, or no TLS to send the password over), "smtp.io" (the connection failed
// mid-dialogue), "smtp.protocol" (not an SMTP reply, or one that makes no sense),
// "smtp.refused" (a 4xx or 5xx reply), "dns" (the host name could not be looked up),
// "connect", "timeout".
//
// `done` is called exactly once, on a thread running the io_context, and never from inside
// postWebhook or sendMail (a bad URL or address is reported through the io_context too). The
// timeout covers the whole attempt: looking up the host, connecting, the TLS handshake, sending
// and every answer. A host name is looked up by Asio's resolver (getaddrinfo on a thread of its
// own), never on the SIP thread. A stopped io_context
// only delays `done` until it runs again; an io_context destroyed with the attempt in flight
// destroys the attempt with its pending handlers, and `done` is then never called.
using Done = std::function<void(Result<void>)>;

// HMAC-SHA256 of `body` keyed with `secret`, lower-case hex (the signature header's value is
// "sha256=" + this). Empty only if OpenSSL fails.
std::string hmacSha256Hex(const std::string& secret, const std::string& body);

// The header carrying the signature, and the one carrying the delivery's id (for receivers that
// want to drop a repeat after a retry).
inline constexpr const char* kSignatureHeader = "X-Sosproxy-Signature";
inline constexpr const char* kDeliveryHeader = "X-Sosproxy-Delivery";

struct WebhookRequest {
  std::string url;       // "https://alerts.example.com/hook", "http://127.0.0.1:8089/alerts"
  std::string caFile;    // https: the certificates trusted; empty: the system's store
  std::string secret;    // empty: no signature header
  std::string body;      // JSON
  std::string delivery;  // unique id of this job, sent as kDeliveryHeader
  std::chrono::milliseconds timeout{5000};
};
// POSTs `body` as application/json. 2xx is delivered; anything else is an Error.
void postWebhook(boost::asio::io_context& io, WebhookRequest request, Done done);

// The subject's control characters become spaces (a line end there would start a header);
// a non-ASCII or very long subject is sent as RFC 2047 encoded words (UTF-8). A body that is
// not plain ASCII with lines of at most 998 bytes is sent quoted-printable, which needs no
// 8BITMIME from the relay. Addresses are plain ASCII, without display name (no SMTPUTF8).
struct MailRequest {
  std::string host;  // the SMTP server: a name or a numeric address
  uint16_t port = 25;
  config::SmtpTls tls = config::SmtpTls::Off;
  std::string caFile;                   // the certificates trusted; empty: the system's store
  std::string username, password;       // AUTH when username is set; the password is never logged
  std::string from, to, subject, body;  // body: plain text, any line ends (sent as CRLF)
  std::string messageId;                // "<job-17@sosproxy>", sent as Message-ID
  std::chrono::milliseconds timeout{5000};
};
// One SMTP session (RFC 5321: EHLO or HELO, MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT),
// with STARTTLS (RFC 3207) or TLS from the start (RFC 8314) as `tls` says, the relay's
// certificate verified for `host`, and AUTH PLAIN or LOGIN (RFC 4954) when a user name is given.
// A 4xx/5xx reply is an Error.
void sendMail(boost::asio::io_context& io, MailRequest request, Done done);

// A request to the relay of `n` (host, port, TLS, CA file, credentials, sender); the caller adds
// the recipient, the text and the timeout.
MailRequest relayRequest(const config::Notifications& n);

// SIP MESSAGE (RFC 3428): sent by the SIP thread; `done` is called back on the I/O thread.
struct SipMessageRequest {
  std::string uri;       // "sip:security-desk@127.0.0.1:5094"
  std::string body;      // text/plain
  std::string delivery;  // the job's delivery id, sent as X-Sosproxy-Delivery; "" for none
  std::chrono::milliseconds timeout{5000};
};
using SipSender = std::function<void(SipMessageRequest, Done)>;

}  // namespace sos::notify
