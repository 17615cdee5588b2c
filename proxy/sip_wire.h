#pragma once
// SIP messages read and written as bytes, for the stateless relay's datagrams taken off the SIP
// port before Sofia reads them (proxy/relay_tap.h): only what a stateless proxy needs of a datagram
// (RFC 3261 16.11) is looked at (the start line, the top Via, the top Route, Max-Forwards, the
// To-tag, and the headers an answer copies); every other byte passes as it came. Nothing is
// allocated but the output string. No Sofia; any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sos::proxy::wire {

enum class Kind : uint8_t {
  Other,
  Via,
  Route,
  RecordRoute,
  MaxForwards,
  To,
  From,
  CallId,
  CSeq,
  Contact,
  ContentLength
};

struct Header {
  Kind kind = Kind::Other;
  std::string_view value;  // without the name, the colon and the surrounding whitespace
  size_t begin = 0;        // the offset of the line's first byte
  size_t end = 0;          // the offset after its line end (continuation lines included)
};

// A message this relay can pass on: a request or a response with at most kMaxHeaders header
// lines, a body no shorter than its Content-Length says (a longer datagram is cut to it, RFC
// 3261 18.3).
struct Message {
  static constexpr size_t kMaxHeaders = 96;
  std::string_view data;
  bool response = false;
  int status = 0;           // a response's
  std::string_view method;  // a request's
  std::string_view uri;     // a request's
  size_t headersBegin = 0;  // after the start line
  size_t headersEnd = 0;    // where the empty line that ends the headers begins
  size_t bodyBegin = 0;
  size_t bodyLength = 0;
  std::array<Header, kMaxHeaders> headers{};
  size_t count = 0;

  // The first header of `kind`, or null.
  const Header* first(Kind kind) const;
};

// Reads `data` into `out` (whose views point into `data`). False, with what was wrong in `why`,
// for anything else.
bool parse(std::string_view data, Message& out, const char** why);

// A comma-separated header value's first element (quoted strings and <...> kept whole) and
// what follows its comma (empty when it was the only one).
struct Split {
  std::string_view first;
  std::string_view rest;
};
Split splitFirst(std::string_view value);

// One Via value: "SIP/2.0/UDP host:port;branch=...;rport".
struct Via {
  std::string_view protocol;    // "SIP/2.0/UDP"
  std::string_view transport;   // "UDP"
  std::string_view host;        // "[::1]" keeps its brackets
  std::string_view port;        // empty: none written
  std::string_view branch;      // empty: none
  std::string_view received;    // empty: none
  bool rport = false;           // the rport parameter is there (RFC 3581)
  std::string_view rportValue;  // ... with this value; empty: asked for, not filled in
  size_t rportAt = 0;           // where "rport" begins in the value, when it has no value
};
bool parseVia(std::string_view value, Via& out);

// A sip: or sips: URI, bare or as a name-addr ("Name" <sip:...>): its host, port and params.
struct Uri {
  std::string_view host;    // "[::1]" keeps its brackets
  std::string_view port;    // empty: none written
  std::string_view params;  // ";lr;transport=udp" (URI parameters, not header ones)
  bool hasParam(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};
bool parseUri(std::string_view text, Uri& out);

// The number of a CSeq value ("2 BYE" -> "2").
std::string_view cseqNumber(std::string_view value);
// The method of a CSeq value ("2 BYE" -> "BYE").
std::string_view cseqMethod(std::string_view value);
// Does the To value carry a tag parameter?
bool hasTag(std::string_view toValue);

// What forwardRequest changes.
struct RequestEdits {
  std::string_view via;           // sosproxy's Via value, put on top
  std::string_view topViaSuffix;  // appended to the sender's Via (";received=...")
  std::string_view rportValue;    // fills in the sender's bare rport; empty: left alone
  bool popRoute = false;          // the first Route value taken off
  std::string_view maxForwards;   // Max-Forwards' new value; added after the Via when none
  std::string_view recordRoute;   // a Record-Route value put first among the headers; empty: none
};
// `m` (a request) as it leaves with `edits`, into `out` (cleared first).
void forwardRequest(const Message& m, const RequestEdits& edits, std::string& out);
// What forwardInvite changes besides RequestEdits: an emergency INVITE toward its trunk, as an
// EmergencyInvite (proxy/emergency_invite.h) says.
struct InviteEdits {
  std::string_view uri;           // the Request-URI toward the trunk
  unsigned skip = 0;              // CopySkip flags (proxy/copy_skip.h): what does not go on
  std::string_view contentType;   // with kSkipBody: the new body's type
  std::string_view body;          // with kSkipBody: the new body (empty: none)
  std::string_view extraHeaders;  // CRLF-separated header lines added
  std::string_view fromUser;      // not empty: the From URI's user becomes this
  std::string_view identity;      // not empty: a P-Asserted-Identity with this value added
};
// `m` (an INVITE) with `e` and `i`, every Route taken off (it goes to the trunk), into `out`.
void forwardInvite(const Message& m, const RequestEdits& e, const InviteEdits& i, std::string& out);
// `m` (a response) without its first Via value, into `out` (cleared first); with
// `firstRecordRoute`, the first Record-Route value replaced by it.
void forwardResponse(const Message& m, std::string& out, std::string_view firstRecordRoute = {});
// A response to the request `m` without a body: its Vias (the top one with `topViaSuffix` and
// `rportValue` as in forwardRequest), From, To, Call-ID and CSeq as received.
void answer(const Message& m, int status, std::string_view phrase, std::string_view topViaSuffix,
            std::string_view rportValue, std::string& out);

}  // namespace sos::proxy::wire
