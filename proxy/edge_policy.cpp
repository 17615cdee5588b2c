#include "proxy/edge_policy.h"

#include <algorithm>
#include <functional>

namespace sos::proxy {

namespace {

bool schemeChar(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

bool knownUriScheme(std::string_view uri) {
  // RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':'. Anything
  // else before the first ':' is no scheme at all (a bare number, "911"): the dial plan's.
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return true;
  const std::string_view scheme = uri.substr(0, colon);
  for (size_t i = 0; i < scheme.size(); ++i)
    if (!schemeChar(scheme[i], i == 0)) return true;
  for (std::string_view known : {"sip", "sips", "tel", "urn"})
    if (equalsNoCase(scheme, known)) return true;
  return false;
}

std::string_view toString(EdgeCause c) {
  switch (c) {
    case EdgeCause::None:
      return "accepted";
    case EdgeCause::Untrusted:
      return "untrusted source";
    case EdgeCause::StrayAck:
      return "ACK matching no transaction";
    case EdgeCause::UnknownMethod:
      return "unknown method";
    case EdgeCause::NotAllowed:
      return "method not taken outside a dialog";
    case EdgeCause::UnknownScheme:
      return "unknown Request-URI scheme";
    case EdgeCause::Options:
      return "OPTIONS";
    case EdgeCause::NoDialog:
      return "no such dialog or transaction";
    case EdgeCause::TransactionCap:
      return "server transaction cap reached";
  }
  return "?";
}

EdgeVerdict screen(const EdgeFacts& f, const config::Edge& settings) {
  using Action = EdgeVerdict::Action;
  EdgeVerdict v;
  auto reply = [&](int status, EdgeCause cause) {
    v.action = Action::Reply;
    v.status = status;
    v.cause = cause;
    return v;
  };
  if (!f.trusted && !f.fromTrunk) {
    // sosproxy is never an open relay; a caller in need from outside is still an alarm.
    v.alarm = f.method == EdgeMethod::Invite && f.emergency;
    if (f.method == EdgeMethod::Ack || settings.untrusted == config::UntrustedPolicy::Drop) {
      v.action = Action::Drop;
      v.cause = EdgeCause::Untrusted;
      return v;
    }
    return reply(403, EdgeCause::Untrusted);
  }
  switch (f.method) {
    case EdgeMethod::Ack:
      v.action = Action::Drop;
      v.cause = EdgeCause::StrayAck;
      return v;
    case EdgeMethod::Unknown:
      return reply(501, EdgeCause::UnknownMethod);
    case EdgeMethod::NotAllowed:
      return reply(405, EdgeCause::NotAllowed);
    default:
      break;
  }
  if (!f.knownScheme && !f.emergency) return reply(416, EdgeCause::UnknownScheme);
  if (f.method == EdgeMethod::Options) return reply(200, EdgeCause::Options);
  if (f.method == EdgeMethod::NoDialog || f.toTag) return reply(481, EdgeCause::NoDialog);
  const size_t cap = static_cast<size_t>(std::max(settings.maxServerTransactions, 0));
  if (cap > 0 && f.serverTransactions >= cap) {
    if (!f.emergency) return reply(503, EdgeCause::TransactionCap);
    v.overCap = true;  // an emergency call is never refused: it goes on, counted
  }
  return v;
}

// ---- SourceRateLimiter ----

SourceRateLimiter::SourceRateLimiter(double rate, double burst, double totalRate, size_t buckets)
    : rate_(rate), burst_(burst), totalRate_(totalRate), buckets_(std::max<size_t>(buckets, 1)) {}

void SourceRateLimiter::setRates(double rate, double burst, double totalRate) {
  rate_ = rate;
  burst_ = burst;
  totalRate_ = totalRate;
}

bool SourceRateLimiter::take(Bucket& b, double rate, double burst, EdgeClock::time_point now) {
  if (!b.used) {
    b.used = true;
    b.tokens = burst;
    b.at = now;
  } else if (now > b.at) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst, b.tokens + elapsed * rate);
    b.at = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

bool SourceRateLimiter::allow(std::string_view source, EdgeClock::time_point now) {
  if (rate_ <= 0 || totalRate_ <= 0) return false;
  Bucket& own = buckets_[std::hash<std::string_view>{}(source) % buckets_.size()];
  // Peek at the total first, so that a source refused by the total keeps its own tokens.
  Bucket probe = total_;
  if (!take(probe, totalRate_, std::max(totalRate_, 1.0), now)) {
    total_ = probe;
    return false;
  }
  if (!take(own, rate_, std::max(burst_, 1.0), now)) return false;
  total_ = probe;
  return true;
}

// ---- LogLimiter ----

bool LogLimiter::shouldLog(EdgeClock::time_point now, uint64_t& suppressed) {
  ++count_;
  if (logged_ && now - last_ < every_) return false;
  suppressed = count_ - 1;
  count_ = 0;
  last_ = now;
  logged_ = true;
  return true;
}

}  // namespace sos::proxy
