// The stateless relay's byte-level reading and writing of SIP (proxy/sip_wire.h): what it reads
// of a datagram, what it refuses, and what leaves, byte for byte.

#include "proxy/sip_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace sos::proxy::wire {
namespace {

const std::string kBye =
    "BYE sip:carrier@127.0.0.1:5080 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.1.2.45:5070;branch=z9hG4bK-1;rport\r\n"
    "Route: <sip:127.0.0.1:5062;lr;sosrelay>, <sip:10.9.9.9;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:1001@hq.example>;tag=a\r\n"
    "t: <sip:5551234@carrier.example>;tag=b\r\n"
    "i: call-1\r\n"
    "CSeq: 2 BYE\r\n"
    "X-Kept: as it came\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(SipWire, ReadsARequestAndItsHeadersByKindWithCompactNames) {
  Message m;
  const char* why = nullptr;
  ASSERT_TRUE(parse(kBye, m, &why)) << why;
  EXPECT_FALSE(m.response);
  EXPECT_EQ(m.method, "BYE");
  EXPECT_EQ(m.uri, "sip:carrier@127.0.0.1:5080");
  EXPECT_EQ(m.count, 9u);
  ASSERT_NE(m.first(Kind::To), nullptr);
  EXPECT_EQ(m.first(Kind::To)->value, "<sip:5551234@carrier.example>;tag=b");
  EXPECT_EQ(m.first(Kind::CallId)->value, "call-1");
  EXPECT_TRUE(hasTag(m.first(Kind::To)->value));
  EXPECT_FALSE(hasTag("<sip:5551234@carrier.example;tag=x>"));  // a URI parameter, not the tag
  EXPECT_EQ(cseqNumber(m.first(Kind::CSeq)->value), "2");
  EXPECT_EQ(m.bodyLength, 0u);
}

TEST(SipWire, ReadsAResponseAndCutsABodyToItsContentLength) {
  Message m;
  const char* why = nullptr;
  ASSERT_TRUE(parse("SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP a\r\nl: 3\r\n\r\nabcdef", m, &why))
      << why;
  EXPECT_TRUE(m.response);
  EXPECT_EQ(m.status, 180);
  EXPECT_EQ(m.bodyLength, 3u);
  std::string out;
  forwardResponse(m, out);
  EXPECT_EQ(out, "SIP/2.0 180 Ringing\r\nl: 3\r\n\r\nabc");
}

TEST(SipWire, RefusesWhatItCannotPassOn) {
  Message m;
  const char* why = nullptr;
  EXPECT_FALSE(parse("", m, &why));
  EXPECT_FALSE(parse("hello\r\n\r\n", m, &why));
  EXPECT_STREQ(why, "neither a request line nor a status line of SIP/2.0");
  EXPECT_FALSE(parse("BYE sip:a SIP/2.0\r\nVia: x\r\n", m, &why));
  EXPECT_STREQ(why, "no empty line after the headers");
  EXPECT_FALSE(parse("BYE sip:a SIP/2.0\r\nno colon here\r\n\r\n", m, &why));
  EXPECT_STREQ(why, "a header line without a colon");
  EXPECT_FALSE(parse("BYE sip:a SIP/2.0\r\n\r!a name: x\r\n\r\n", m, &why));
  EXPECT_STREQ(why, "a header name that is no token");
  EXPECT_FALSE(parse("BYE sip:a SIP/2.0\r\nContent-Length: 9\r\n\r\nshort", m, &why));
  EXPECT_STREQ(why, "a body shorter than its Content-Length");
  EXPECT_FALSE(parse("BYE sip:a SIP/2.0\r\nContent-Length: 1x\r\n\r\n", m, &why));
  EXPECT_STREQ(why, "a Content-Length that is no number");
  EXPECT_FALSE(parse("SIP/2.0 abc OK\r\n\r\n", m, &why));
  EXPECT_FALSE(parse("B(E sip:a SIP/2.0\r\n\r\n", m, &why));
  EXPECT_STREQ(why, "a method that is no token");
  std::string many = "BYE sip:a SIP/2.0\r\n";
  for (size_t i = 0; i <= Message::kMaxHeaders; ++i) many += "X-N: 1\r\n";
  EXPECT_FALSE(parse(many + "\r\n", m, &why));
  EXPECT_STREQ(why, "too many header lines");
}

TEST(SipWire, AContinuationLineBelongsToItsHeader) {
  Message m;
  const char* why = nullptr;
  ASSERT_TRUE(parse("BYE sip:a SIP/2.0\r\nSubject: one\r\n  two\r\nCSeq: 1 BYE\r\n\r\n", m, &why))
      << why;
  ASSERT_EQ(m.count, 2u);
  EXPECT_EQ(m.headers[0].value, "one\r\n  two");
  EXPECT_EQ(m.first(Kind::CSeq)->value, "1 BYE");
}

TEST(SipWire, SplitsTheFirstValueKeepingQuotesAndAngleBracketsWhole) {
  EXPECT_EQ(splitFirst("<sip:a;x=1,2>, <sip:b>").first, "<sip:a;x=1,2>");
  EXPECT_EQ(splitFirst("<sip:a;x=1,2>, <sip:b>").rest, "<sip:b>");
  EXPECT_EQ(splitFirst("\"a, b\" <sip:c>").first, "\"a, b\" <sip:c>");
  EXPECT_EQ(splitFirst("\"a, b\" <sip:c>").rest, "");
}

TEST(SipWire, ReadsAVia) {
  Via v;
  ASSERT_TRUE(parseVia("SIP / 2.0 / UDP [::1]:5070 ; branch=z9hG4bK-x ;rport;received=::2", v));
  EXPECT_EQ(v.transport, "UDP");
  EXPECT_EQ(v.host, "[::1]");
  EXPECT_EQ(v.port, "5070");
  EXPECT_EQ(v.branch, "z9hG4bK-x");
  EXPECT_EQ(v.received, "::2");
  EXPECT_TRUE(v.rport);
  EXPECT_EQ(v.rportValue, "");
  ASSERT_TRUE(parseVia("SIP/2.0/UDP host.example;rport=5071", v));
  EXPECT_EQ(v.host, "host.example");
  EXPECT_EQ(v.port, "");
  EXPECT_EQ(v.rportValue, "5071");
  EXPECT_FALSE(parseVia("SIP/2.0 host", v));
  EXPECT_FALSE(parseVia("SIP/2.0/UDP", v));
}

TEST(SipWire, ReadsAUriBareOrAsANameAddr) {
  Uri u;
  ASSERT_TRUE(parseUri("\"Relay <1>\" <sip:user@127.0.0.1:5062;lr;sosrelay>;x=y", u));
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "5062");
  EXPECT_TRUE(u.hasParam("lr"));
  EXPECT_TRUE(u.hasParam("SOSRELAY"));
  EXPECT_FALSE(u.hasParam("x"));  // a header parameter
  ASSERT_TRUE(parseUri("sip:carrier@[::1]:5080;transport=udp?h=v", u));
  EXPECT_EQ(u.host, "[::1]");
  EXPECT_EQ(u.param("transport"), "udp");
  EXPECT_FALSE(parseUri("tel:+15551234", u));
  EXPECT_FALSE(parseUri("<sip:>", u));
}

TEST(SipWire, ForwardsARequestWithOnlyWhatAProxyChanges) {
  Message m;
  ASSERT_TRUE(parse(kBye, m, nullptr));
  RequestEdits e;
  e.via = "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKsl0011223344556677";
  e.topViaSuffix = ";received=10.1.2.46";
  e.rportValue = "5071";
  e.popRoute = true;
  e.maxForwards = "69";
  std::string out;
  forwardRequest(m, e, out);
  EXPECT_EQ(out,
            "BYE sip:carrier@127.0.0.1:5080 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKsl0011223344556677\r\n"
            "Via: SIP/2.0/UDP 10.1.2.45:5070;branch=z9hG4bK-1;rport=5071;received=10.1.2.46\r\n"
            "Route: <sip:10.9.9.9;lr>\r\n"
            "Max-Forwards: 69\r\n"
            "From: <sip:1001@hq.example>;tag=a\r\n"
            "t: <sip:5551234@carrier.example>;tag=b\r\n"
            "i: call-1\r\n"
            "CSeq: 2 BYE\r\n"
            "X-Kept: as it came\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(SipWire, AddsMaxForwardsAndARecordRouteAndDropsALoneRoute) {
  Message m;
  ASSERT_TRUE(
      parse("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP p, SIP/2.0/UDP q\r\n"
            "Route: <sip:r;lr>\r\nContent-Length: 2\r\n\r\nhi",
            m, nullptr));
  RequestEdits e;
  e.via = "SIP/2.0/UDP me";
  e.popRoute = true;
  e.maxForwards = "70";
  e.recordRoute = "<sip:me;lr>";
  std::string out;
  forwardRequest(m, e, out);
  EXPECT_EQ(out,
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP me\r\nRecord-Route: <sip:me;lr>\r\n"
            "Via: SIP/2.0/UDP p, SIP/2.0/UDP q\r\nContent-Length: 2\r\nMax-Forwards: 70\r\n\r\nhi");
}

TEST(SipWire, ARelayedResponseLosesOnlyTheFirstVia) {
  Message m;
  ASSERT_TRUE(
      parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP me;branch=z9hG4bKsl1, "
            "SIP/2.0/UDP phone;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP more\r\nCSeq: 1 BYE\r\n"
            "\r\n",
            m, nullptr));
  std::string out;
  forwardResponse(m, out);
  EXPECT_EQ(out,
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP phone;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP more\r\n"
            "CSeq: 1 BYE\r\n\r\n");
}

// RFC 3261 16.7 step 4: the relay may rewrite its own Record-Route value in a response; the
// other values of that header line, and the other Record-Route lines, pass as they came.
TEST(SipWire, ARelayedResponseMayHaveItsFirstRecordRouteValueRewritten) {
  Message m;
  ASSERT_TRUE(
      parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP me;branch=z9hG4bKsl1\r\n"
            "Via: SIP/2.0/UDP phone;branch=z9hG4bK2\r\n"
            "Record-Route: <sip:me;lr;sosrelay;tok=a>, <sip:other;lr>\r\n"
            "Record-Route: <sip:third;lr>\r\nm: <sip:carrier@10.9.9.9:5080>\r\n"
            "CSeq: 1 INVITE\r\n\r\n",
            m, nullptr));
  ASSERT_NE(m.first(Kind::RecordRoute), nullptr);
  EXPECT_EQ(m.first(Kind::Contact)->value, "<sip:carrier@10.9.9.9:5080>");
  EXPECT_EQ(cseqMethod(m.first(Kind::CSeq)->value), "INVITE");
  EXPECT_EQ(cseqMethod("  12   BYE "), "BYE");
  std::string out;
  forwardResponse(m, out, "<sip:me;lr;sosrelay;tok=b>");
  EXPECT_EQ(out,
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP phone;branch=z9hG4bK2\r\n"
            "Record-Route: <sip:me;lr;sosrelay;tok=b>, <sip:other;lr>\r\n"
            "Record-Route: <sip:third;lr>\r\nm: <sip:carrier@10.9.9.9:5080>\r\n"
            "CSeq: 1 INVITE\r\n\r\n");
}

TEST(SipWire, AnAnswerCopiesWhatRfc3261Wants) {
  Message m;
  ASSERT_TRUE(parse(kBye, m, nullptr));
  std::string out;
  answer(m, 403, "Forbidden", "", "5070", out);
  EXPECT_EQ(out,
            "SIP/2.0 403 Forbidden\r\n"
            "Via: SIP/2.0/UDP 10.1.2.45:5070;branch=z9hG4bK-1;rport=5070\r\n"
            "From: <sip:1001@hq.example>;tag=a\r\n"
            "t: <sip:5551234@carrier.example>;tag=b\r\n"
            "i: call-1\r\n"
            "CSeq: 2 BYE\r\n"
            "Content-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace sos::proxy::wire
