// The edge's decision for requests outside any dialog (issue 14), as a table: who gets what,
// before a transaction exists. And the per-source rate limiter of the answers to strangers.

#include "proxy/edge_policy.h"
#include "proxy/stateless_relay.h"

#include <gtest/gtest.h>

namespace sos::proxy {
namespace {

using Action = EdgeVerdict::Action;
using std::chrono::milliseconds;

TEST(EdgePolicy, UriSchemes) {
  for (const char* known :
       {"sip:911@10.0.0.5", "SIP:911@x", "sips:a@b", "tel:911", "urn:service:sos",
        "URN:service:sos.fire", "911", "", ":x", "192.0.2.1:5060", "9 11:x"})
    EXPECT_TRUE(knownUriScheme(known)) << known;
  for (const char* unknown :
       {"nobodyknowsthisscheme:totallyopaquecontent", "soap.beep://192.0.2.103:3002",
        "http://example.com/", "im:a@b", "mailto:a@b"})
    EXPECT_FALSE(knownUriScheme(unknown)) << unknown;
}

struct Row {
  const char* what;
  EdgeFacts facts;
  config::UntrustedPolicy policy;
  Action action;
  int status;
  EdgeCause cause;
  bool alarm;
};

EdgeFacts facts(EdgeMethod m, bool trusted, bool emergency = false) {
  EdgeFacts f;
  f.method = m;
  f.trusted = trusted;
  f.emergency = emergency;
  return f;
}

TEST(EdgePolicy, EachRequestGetsItsAnswerBeforeATransactionExists) {
  using P = config::UntrustedPolicy;
  EdgeFacts trunkInvite = facts(EdgeMethod::Invite, false);
  trunkInvite.fromTrunk = true;
  EdgeFacts unknownScheme = facts(EdgeMethod::Options, true);
  unknownScheme.knownScheme = false;
  EdgeFacts emergencyNoScheme = facts(EdgeMethod::Invite, true, true);
  emergencyNoScheme.knownScheme = false;
  EdgeFacts inviteWithTag = facts(EdgeMethod::Invite, true);
  inviteWithTag.toTag = true;
  EdgeFacts overCap = facts(EdgeMethod::Invite, true);
  overCap.serverTransactions = 100;
  EdgeFacts emergencyOverCap = facts(EdgeMethod::Invite, true, true);
  emergencyOverCap.serverTransactions = 100;
  EdgeFacts unknownMethodBadScheme = facts(EdgeMethod::Unknown, true);
  unknownMethodBadScheme.knownScheme = false;

  const Row rows[] = {
      {"ordinary INVITE from a stranger: 403, no transaction", facts(EdgeMethod::Invite, false),
       P::Reject, Action::Reply, 403, EdgeCause::Untrusted, false},
      {"911 from a stranger: 403 and an alarm", facts(EdgeMethod::Invite, false, true), P::Reject,
       Action::Reply, 403, EdgeCause::Untrusted, true},
      {"911 from a stranger, drop policy: no answer, still an alarm",
       facts(EdgeMethod::Invite, false, true), P::Drop, Action::Drop, 0, EdgeCause::Untrusted,
       true},
      {"OPTIONS from a stranger: refused like the rest", facts(EdgeMethod::Options, false),
       P::Reject, Action::Reply, 403, EdgeCause::Untrusted, false},
      {"ACK from a stranger: never answered", facts(EdgeMethod::Ack, false), P::Reject,
       Action::Drop, 0, EdgeCause::Untrusted, false},
      {"a trunk's INVITE (PSAP callback) goes on", trunkInvite, P::Reject, Action::Accept, 0,
       EdgeCause::None, false},
      {"stray ACK: dropped", facts(EdgeMethod::Ack, true), P::Reject, Action::Drop, 0,
       EdgeCause::StrayAck, false},
      {"unknown method: 501", facts(EdgeMethod::Unknown, true), P::Reject, Action::Reply, 501,
       EdgeCause::UnknownMethod, false},
      {"method before URI (RFC 3261 8.2.1): 501 even with an odd scheme", unknownMethodBadScheme,
       P::Reject, Action::Reply, 501, EdgeCause::UnknownMethod, false},
      {"REGISTER: 405", facts(EdgeMethod::NotAllowed, true), P::Reject, Action::Reply, 405,
       EdgeCause::NotAllowed, false},
      {"unknown scheme: 416", unknownScheme, P::Reject, Action::Reply, 416,
       EdgeCause::UnknownScheme, false},
      {"an emergency call is never refused for its scheme", emergencyNoScheme, P::Reject,
       Action::Accept, 0, EdgeCause::None, false},
      {"OPTIONS: 200", facts(EdgeMethod::Options, true), P::Reject, Action::Reply, 200,
       EdgeCause::Options, false},
      {"BYE outside a dialog: 481", facts(EdgeMethod::NoDialog, true), P::Reject, Action::Reply,
       481, EdgeCause::NoDialog, false},
      {"INVITE naming an unknown dialog: 481", inviteWithTag, P::Reject, Action::Reply, 481,
       EdgeCause::NoDialog, false},
      {"ordinary INVITE over the transaction cap: 503", overCap, P::Reject, Action::Reply, 503,
       EdgeCause::TransactionCap, false},
      {"911 over the transaction cap: taken", emergencyOverCap, P::Reject, Action::Accept, 0,
       EdgeCause::None, false},
      {"ordinary INVITE from a trusted phone", facts(EdgeMethod::Invite, true), P::Reject,
       Action::Accept, 0, EdgeCause::None, false},
  };
  for (const Row& r : rows) {
    config::Edge settings;
    settings.untrusted = r.policy;
    settings.maxServerTransactions = 100;
    EdgeVerdict v = screen(r.facts, settings);
    EXPECT_EQ(v.action, r.action) << r.what;
    EXPECT_EQ(v.status, r.status) << r.what;
    EXPECT_EQ(v.cause, r.cause) << r.what << ": " << toString(v.cause);
    EXPECT_EQ(v.alarm, r.alarm) << r.what;
  }
  config::Edge noCap;
  noCap.maxServerTransactions = 0;
  EXPECT_EQ(screen(overCap, noCap).action, Action::Accept);
  EXPECT_TRUE(screen(emergencyOverCap, config::Edge{}).action == Action::Accept);
  config::Edge cap;
  cap.maxServerTransactions = 100;
  EXPECT_TRUE(screen(emergencyOverCap, cap).overCap);
}

TEST(EdgePolicy, RateLimiterHoldsEachSourceAndAllSources) {
  const auto t0 = EdgeClock::time_point{} + std::chrono::hours(1);
  SourceRateLimiter limit(5, 5, 8);
  int a = 0, b = 0;
  for (int i = 0; i < 10; ++i) a += limit.allow("192.0.2.1", t0);
  EXPECT_EQ(a, 5);  // a burst of 5 for one source
  for (int i = 0; i < 10; ++i) b += limit.allow("192.0.2.2", t0);
  EXPECT_EQ(b, 3);  // 8 for all sources together
  // A second later each source has 5 more tokens, the total 8 more.
  a = b = 0;
  for (int i = 0; i < 10; ++i) a += limit.allow("192.0.2.1", t0 + milliseconds(1000));
  for (int i = 0; i < 10; ++i) b += limit.allow("192.0.2.2", t0 + milliseconds(1000));
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, 3);
  // 200 ms later: one token each, refilled at the rate.
  EXPECT_TRUE(limit.allow("192.0.2.1", t0 + milliseconds(1200)));
  EXPECT_FALSE(limit.allow("192.0.2.1", t0 + milliseconds(1200)));
  limit.setRates(0, 0, 0);
  EXPECT_FALSE(limit.allow("192.0.2.9", t0 + milliseconds(5000)));
}

TEST(EdgePolicy, LogLimiterWritesOneLinePerIntervalAndCountsTheRest) {
  const auto t0 = EdgeClock::time_point{} + std::chrono::hours(1);
  LogLimiter log(std::chrono::seconds(10));
  uint64_t suppressed = 99;
  EXPECT_TRUE(log.shouldLog(t0, suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 1; i < 5; ++i) EXPECT_FALSE(log.shouldLog(t0 + std::chrono::seconds(i), suppressed));
  EXPECT_TRUE(log.shouldLog(t0 + std::chrono::seconds(10), suppressed));
  EXPECT_EQ(suppressed, 4u);
}

// The stateless relay's branches (RFC 3261 16.11): the same incoming branch gives the same one
// (a retransmission, the CANCEL and the ACK of a failure leave with their INVITE's), another key
// or another incoming branch gives another, and only a branch made with the key is recognised.
TEST(StatelessRelayBranch, IsDerivedFromTheIncomingBranchWithAKey) {
  RelayMac key42("key-42");
  RelayMac key43("key-43");
  const std::string b = relayBranch(key42, "z9hG4bK-phone-1");
  // SipHash-2-4 of "branch\n" + incoming with the key "key-42" (zero-padded to 16 bytes), its
  // bytes in hex: a phone that sees the branches of the requests relayed to it learns nothing of
  // the key.
  EXPECT_EQ(b, "z9hG4bKsldd5737c20e73b424");
  EXPECT_EQ(relayBranch(key42, "z9hG4bK-phone-1"), b);
  EXPECT_NE(relayBranch(key43, "z9hG4bK-phone-1"), b);
  EXPECT_NE(relayBranch(key42, "z9hG4bK-phone-2"), b);
  EXPECT_TRUE(isRelayBranch(key42, b, "z9hG4bK-phone-1"));
  EXPECT_FALSE(isRelayBranch(key43, b, "z9hG4bK-phone-1"));
  EXPECT_FALSE(isRelayBranch(key42, b, "z9hG4bK-phone-2"));
  EXPECT_FALSE(isRelayBranch(key42, "z9hG4bKsl0123456789abcdef", "z9hG4bK-phone-1"));
  EXPECT_FALSE(isRelayBranch(key42, b.substr(0, 24), "z9hG4bK-phone-1"));
}

// The SipHash-2-4 test vectors of its paper (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012, appendix A, and its reference vectors, as bytes): the key 00 01 ... 0f,
// the messages of 0, 8 and 15 bytes 00 01 ...; and a 32-byte key folds into the same 16 bytes.
TEST(RelayMacTest, GivesSipHash24sPublishedValues) {
  std::string key;
  for (int i = 0; i < 16; ++i) key.push_back(static_cast<char>(i));
  std::string fifteen;
  for (int i = 0; i < 15; ++i) fifteen.push_back(static_cast<char>(i));
  const RelayMac mac(key);
  EXPECT_EQ(mac.hex16(""), "310e0edd47db6f72");
  EXPECT_EQ(mac.hex16(fifteen), "e545be4961ca29a1");
  EXPECT_EQ(mac.hex16(fifteen.substr(0, 8)), "6224939a79f5f593");  // one whole word
  EXPECT_EQ(RelayMac(key + std::string(16, '\0')).hex16(fifteen), "e545be4961ca29a1");
  EXPECT_NE(RelayMac(key + "x").hex16(fifteen), "e545be4961ca29a1");
}

}  // namespace
}  // namespace sos::proxy
