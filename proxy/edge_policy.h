#pragma once
// What the SIP edge does with a request that belongs to no transaction and no dialog, decided
// before a transaction exists and before its body is read (issue 14). Pure: no Sofia, no I/O,
// no clock of its own; proxy/edge.cpp gathers the facts and carries the verdict out.
//
// The steps, in order (RFC 3261 8.2.1 puts the method before the Request-URI):
//   1. a source outside trusted_networks that is no trunk's address: refused (403, sent without
//      keeping a transaction) or dropped, as edge.untrusted says; an emergency call among them
//      is an alarm (logged, and the responders alerted) all the same;
//   2. an ACK that matched nothing: dropped (there is nothing to answer);
//   3. a method Sofia does not know: 501, with Allow;
//   4. a known method sosproxy does not take outside a dialog (REGISTER, SUBSCRIBE, ...): 405;
//   5. a Request-URI with a scheme other than sip, sips, tel or urn: 416 (RFC 3261 8.2.2.1),
//      unless the dial plan calls it an emergency call;
//   6. OPTIONS: 200 with Allow, Accept and Supported (RFC 3261 11.2);
//   7. BYE, CANCEL, UPDATE, INFO, PRACK and an INVITE with a To-tag: 481 (no such dialog);
//   8. an INVITE while nta holds edge.max_server_transactions: 503, unless it is an emergency
//      call, which is never refused;
//   9. the rest (INVITEs) go on to the B2BUA, statefully.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sos::proxy {

enum class EdgeMethod {
  Invite,
  Ack,
  Options,
  NoDialog,    // BYE, CANCEL, UPDATE, INFO, PRACK: only inside a dialog or transaction
  NotAllowed,  // REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH, REFER: known, not taken here
  Unknown,     // a method Sofia does not know
};

// Is `requestUri`'s scheme one sosproxy routes (sip, sips, tel, urn), or none at all (a bare
// "911" reaches the dial plan too)? False for any other scheme ("soap.beep:...").
bool knownUriScheme(std::string_view requestUri);

struct EdgeFacts {
  EdgeMethod method = EdgeMethod::Unknown;
  bool toTag = false;             // the request names a dialog (To has a tag)
  bool trusted = false;           // the source is inside trusted_networks
  bool fromTrunk = false;         // the source is a configured trunk's address (PSAP callbacks)
  bool emergency = false;         // an INVITE the dial plan calls an emergency call
  bool knownScheme = true;        // knownUriScheme(Request-URI)
  size_t serverTransactions = 0;  // nta's server transactions right now
};

// Why the edge answered or dropped a request; each cause is counted and logged on its own.
enum class EdgeCause {
  None,            // accepted
  Untrusted,       // source outside trusted_networks
  StrayAck,        // an ACK for nothing
  UnknownMethod,   // 501
  NotAllowed,      // 405
  UnknownScheme,   // 416
  Options,         // 200 to OPTIONS
  NoDialog,        // 481
  TransactionCap,  // 503: edge.max_server_transactions reached
};
std::string_view toString(EdgeCause c);

struct EdgeVerdict {
  enum class Action { Accept, Reply, Drop };
  Action action = Action::Accept;
  int status = 0;  // with Reply
  EdgeCause cause = EdgeCause::None;
  bool alarm = false;    // an emergency call from an untrusted source
  bool overCap = false;  // accepted although the transaction cap is reached (emergency)
};

EdgeVerdict screen(const EdgeFacts& facts, const config::Edge& settings);

// What the edge did, for /metrics (relaxed atomics written on the SIP thread). Kept inside
// B2buaCounters, which the Server owns.
struct EdgeCounters {
  std::atomic<uint64_t> untrustedRefused{0};    // 403 sent without a transaction
  std::atomic<uint64_t> untrustedDropped{0};    // no answer: edge.untrusted drop, or rate limit
  std::atomic<uint64_t> untrustedEmergency{0};  // emergency calls among them (ALARM)
  std::atomic<uint64_t> untrustedAlerts{0};     // responder alerts raised for those
  std::atomic<uint64_t> unknownMethod{0};       // 501
  std::atomic<uint64_t> notAllowed{0};          // 405
  std::atomic<uint64_t> unknownScheme{0};       // 416
  std::atomic<uint64_t> options{0};             // OPTIONS answered 200
  std::atomic<uint64_t> noDialog{0};            // 481 outside any dialog
  std::atomic<uint64_t> strayAcks{0};           // ACKs for nothing, dropped
  std::atomic<uint64_t> transactionCap{0};      // 503: the transaction cap was reached
  std::atomic<uint64_t> emergencyOverCap{0};    // emergency calls taken over the cap
  std::atomic<uint64_t> maddrIgnored{0};        // Via maddr removed: answers go to the source
  std::atomic<uint64_t> strayResponses{0};      // responses for no transaction, dropped
  std::atomic<int64_t> serverTransactions{0};   // gauge: nta's server transactions
  std::atomic<int64_t> tcpConnections{0};       // gauge: open SIP TCP connections
  std::atomic<uint64_t> tcpClosedUntrusted{0};  // connections of untrusted peers closed
  std::atomic<uint64_t> tcpClosedOverCap{0};    // connections closed above the cap
  std::atomic<int64_t> descriptorLimit{0};      // gauge: RLIMIT_NOFILE in force
  std::atomic<uint64_t> oversizeOverTcp{0};     // requests too big for UDP sent over TCP
  std::atomic<uint64_t> oversizeTrimmed{0};     // emergency INVITEs trimmed to fit UDP
  // edge.ordinary_relay: stateless
  std::atomic<uint64_t> relayedInitial{0};    // ordinary INVITEs (and their CANCELs, ACKs) relayed
  std::atomic<uint64_t> relayedInDialog{0};   // requests of relayed dialogs
  std::atomic<uint64_t> relayedResponses{0};  // responses relayed by their Via
  std::atomic<uint64_t> relayTaken{
      0};  // of the relay's datagrams, those taken before Sofia read them
  std::atomic<uint64_t> relayRefused{0};  // in-dialog requests to where their source may not go
  std::atomic<uint64_t> relayLimited{0};  // ordinary INVITEs answered 503 by the limits
};

// Methods sosproxy takes (Allow) and bodies it reads (Accept), for OPTIONS, 405 and 501.
inline constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO";
inline constexpr const char* kAccept = "application/sdp, application/pidf+xml, multipart/mixed";

using EdgeClock = std::chrono::steady_clock;

// Token buckets per source address: `rate` events a second, up to `burst` at once, for each
// source, and `totalRate` for all sources together (so spoofed addresses cannot multiply the
// answers). A fixed table of buckets indexed by the address's hash keeps memory bounded
// whatever the number of sources; two sources that share a bucket share its tokens.
class SourceRateLimiter {
 public:
  SourceRateLimiter(double rate, double burst, double totalRate, size_t buckets = 4096);
  // May one more event from `source` happen at `now`? Takes a token when it may.
  bool allow(std::string_view source, EdgeClock::time_point now);
  void setRates(double rate, double burst, double totalRate);

 private:
  struct Bucket {
    double tokens = 0;
    EdgeClock::time_point at{};
    bool used = false;
  };
  static bool take(Bucket& b, double rate, double burst, EdgeClock::time_point now);
  double rate_, burst_, totalRate_;
  std::vector<Bucket> buckets_;
  Bucket total_;
};

// One log line per cause per interval, saying how many times the cause occurred meanwhile.
class LogLimiter {
 public:
  explicit LogLimiter(EdgeClock::duration every) : every_(every) {}
  // Counts one occurrence; true when a line should be written now. `suppressed` then says how
  // many occurrences since the last line were not logged.
  bool shouldLog(EdgeClock::time_point now, uint64_t& suppressed);

 private:
  EdgeClock::duration every_;
  EdgeClock::time_point last_{};
  bool logged_ = false;
  uint64_t count_ = 0;
};

}  // namespace sos::proxy
