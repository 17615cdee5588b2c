// RFC 4475's torture messages (tests/data/sip-torture/, see its PROVENANCE.md) sent to a running
// sosproxy, each as bytes over UDP from a trusted phone's address, and those whose top Via names
// TCP over TCP too (over UDP, nta drops a request whose Via names another transport than the one
// it came on: nta.c, agent_check_request_via). Each row says what must come back first, or that
// nothing may, and why. Requests sosproxy takes are INVITEs relayed as ordinary calls to the
// carrier, here a UDP port that never answers: they get 100 Trying and nothing more in the time
// the test waits. What reaches the carrier must have a clean Request-URI (RFC 4475 3.1.2.7-11:
// odd request lines are never forwarded as they came).

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "b2bua_fixture.h"
#include "raw_sip.h"

#ifndef SOS_SOURCE_DIR
#error "SOS_SOURCE_DIR must be defined by the build"
#endif

namespace sos::itest {
namespace {

constexpr int kNoAnswer = 0;
constexpr int kNotSent = -1;

struct TortureRow {
  const char* file;
  const char* section;  // RFC 4475
  int udp;              // first status over UDP, or kNoAnswer
  int tcp;              // over TCP (only when the top Via names TCP), or kNotSent
  const char* why;
};

// clang-format off
const TortureRow kRows[] = {
  // 3.1.1: valid messages
  {"wsinv.dat", "3.1.1.1", 481, kNotSent, "well formed; an INVITE with a To-tag names a dialog sosproxy does not have (RFC 3261 12.2.2)"},
  {"intmeth.dat", "3.1.1.2", kNoAnswer, kNoAnswer, "Via TCP over UDP: dropped by nta; over TCP Sofia cannot parse its request line (the URI) and drops it as garbage, so no 501 can be sent"},
  {"esc01.dat", "3.1.1.3", 100, kNotSent, "well formed INVITE: relayed to the carrier"},
  {"escnull.dat", "3.1.1.4", 405, kNotSent, "well formed REGISTER: sosproxy is no registrar (405 with Allow)"},
  {"esc02.dat", "3.1.1.5", kNoAnswer, 501, "RE%47IST%45R is an unknown method: 501 with Allow (over UDP its TCP Via gets it dropped)"},
  {"lwsdisp.dat", "3.1.1.6", 200, kNotSent, "OPTIONS accepted: 200 with Allow, Accept, Supported"},
  {"longreq.dat", "3.1.1.7", kNoAnswer, 100, "long values parse: INVITE relayed (over UDP its TCP Via gets it dropped)"},
  {"dblreq.dat", "3.1.1.8", 405, kNotSent, "the REGISTER is answered, the trailing octets ignored (RFC 3261 18.3)"},
  {"semiuri.dat", "3.1.1.9", 200, kNotSent, "OPTIONS with ';' in the user part: 200"},
  {"transports.dat", "3.1.1.10", 200, kNotSent, "varied Via transports below the top one: 200"},
  {"mpart01.dat", "3.1.1.11", 405, kNotSent, "a multipart MESSAGE parses; MESSAGE is not taken outside a dialog: 405"},
  {"unreason.dat", "3.1.1.12", kNoAnswer, kNotSent, "a response for no transaction: dropped, never relayed"},
  {"noreason.dat", "3.1.1.13", kNoAnswer, kNotSent, "a response for no transaction: dropped"},
  // 3.1.2: invalid messages
  {"badinv01.dat", "3.1.2.1", kNoAnswer, kNotSent, "its Via does not parse: nta has nowhere to send a 400 and drops it"},
  {"clerr.dat", "3.1.2.2", 400, kNotSent, "Content-Length larger than the datagram: 400 (nta)"},
  {"ncl.dat", "3.1.2.3", 400, kNotSent, "negative Content-Length: 400 Bad Content-Length Header (nta)"},
  {"scalar02.dat", "3.1.2.4", kNoAnswer, 400, "CSeq over 2^32-1: 400 over TCP; over UDP nta's 400 would go to its Via's host name, which the SIP thread does not resolve (no DNS there)"},
  {"scalarlg.dat", "3.1.2.5", kNoAnswer, kNoAnswer, "a response with overlarge values: discarded"},
  {"quotbal.dat", "3.1.2.6", 400, kNotSent, "unterminated quoted display name: 400 Bad To Header (nta)"},
  {"ltgtruri.dat", "3.1.2.7", 400, kNotSent, "<> around the Request-URI: 400 (nta)"},
  {"lwsruri.dat", "3.1.2.8", kNoAnswer, kNotSent, "LWS inside the Request-URI: the request line does not parse, dropped as garbage"},
  {"lwsstart.dat", "3.1.2.9", 100, kNotSent, "extra SPs in the request line are tolerated; the INVITE goes on with a Request-URI of sosproxy's own"},
  {"trws.dat", "3.1.2.10", kNoAnswer, 200, "trailing SP after the version is tolerated: OPTIONS 200 over TCP"},
  {"escruri.dat", "3.1.2.11", 100, kNotSent, "escaped headers in the Request-URI: tolerated, and never forwarded (the carrier's Request-URI is rebuilt)"},
  {"baddate.dat", "3.1.2.12", 100, kNotSent, "a Date in EST does not matter to routing: relayed"},
  {"regbadct.dat", "3.1.2.13", 405, kNotSent, "a REGISTER: 405 (method before header checks, RFC 3261 8.2.1)"},
  {"badaspec.dat", "3.1.2.14", 200, kNotSent, "spaces in an addr-spec are tolerated: OPTIONS 200"},
  {"baddn.dat", "3.1.2.15", 400, kNotSent, "non-token display name: 400 Bad From Header (nta)"},
  {"badvers.dat", "3.1.2.16", kNoAnswer, kNotSent, "SIP/7.0: nta's 505 would go to its Via's host name c.example.com, which the SIP thread does not resolve (no DNS there)"},
  {"mismatch01.dat", "3.1.2.17", 400, kNotSent, "start line and CSeq methods differ: 400 (nta)"},
  {"mismatch02.dat", "3.1.2.18", 400, kNotSent, "unknown method with a CSeq mismatch: 400 (acceptable; 501 preferred)"},
  {"bigcode.dat", "3.1.2.19", kNoAnswer, kNotSent, "a response code over 699: dropped"},
  // 3.2: transaction layer
  {"badbranch.dat", "3.2.1", 200, kNotSent, "branch is only the magic cookie: matched the RFC 2543 way, OPTIONS 200"},
  // 3.3: application layer
  {"insuf.dat", "3.3.1", 400, kNotSent, "no Call-ID, From, To: 400 (nta)"},
  {"unkscm.dat", "3.3.2", kNoAnswer, 416, "unknown Request-URI scheme: 416 (over UDP its TCP Via gets it dropped)"},
  {"novelsc.dat", "3.3.3", kNoAnswer, 416, "soap.beep: is no scheme sosproxy routes: 416"},
  {"unksm2.dat", "3.3.4", 405, kNotSent, "a REGISTER with odd schemes in To/From/Contact: 405"},
  {"bext01.dat", "3.3.5", kNoAnswer, kNotSent, "its Via names TLS, which sosproxy does not listen on: dropped (a 420 would need Require checks sosproxy does not make on OPTIONS)"},
  {"invut.dat", "3.3.6", 100, kNotSent, "an unknown Content-Type is the far end's business: relayed"},
  {"regaut01.dat", "3.3.7", kNoAnswer, 405, "a non-registrar answers REGISTER 405 (over UDP its TCP Via gets it dropped)"},
  {"multi01.dat", "3.3.8", 400, kNotSent, "several CSeq values: 400 Bad CSeq Header (nta)"},
  {"mcl01.dat", "3.3.9", 400, kNotSent, "several Content-Length values: 400 (nta)"},
  {"bcast.dat", "3.3.10", kNoAnswer, kNotSent, "a 200 with a broadcast Via: dropped, never forwarded"},
  {"zeromf.dat", "3.3.11", 200, kNotSent, "OPTIONS to sosproxy itself with Max-Forwards 0: answered as an endpoint"},
  {"cparam01.dat", "3.3.12", 405, kNotSent, "a REGISTER: 405"},
  {"cparam02.dat", "3.3.13", 405, kNotSent, "a REGISTER: 405"},
  {"regescrt.dat", "3.3.14", 405, kNotSent, "a REGISTER: 405"},
  {"sdp01.dat", "3.3.15", 100, kNotSent, "Accept without application/sdp is for the answering end: relayed"},
  // 3.4: backward compatibility
  {"inv2543.dat", "3.4.1", 100, kNotSent, "RFC 2543 syntax (no branch, no Max-Forwards): relayed"},
};
// clang-format on

std::string statusText(int status) {
  if (status == kNoAnswer) return "no answer";
  if (status == kNotSent) return "-";
  return std::to_string(status);
}

std::vector<std::string> responses(RawUdp& socket) {
  std::vector<std::string> out;
  while (auto m = socket.receive(milliseconds(0))) out.push_back(*m);
  return out;
}

class Torture : public B2buaTest {};

TEST_F(Torture, EachRfc4475MessageGetsItsAnswer) {
  // The carrier never answers: relayed INVITEs stay at 100 Trying while the test looks.
  UdpBlackHole carrier(ports_.carrier);
  ASSERT_TRUE(carrier.ok());
  startProxy();
  const std::filesystem::path dir =
      std::filesystem::path(SOS_SOURCE_DIR) / "tests" / "data" / "sip-torture";
  EXPECT_EQ(std::size(kRows), 49u) << "every message of RFC 4475 has a row";

  // Over UDP, all at once, each from its own socket.
  std::vector<std::unique_ptr<RawUdp>> sockets;
  std::vector<std::vector<std::string>> got(std::size(kRows));
  for (const TortureRow& row : kRows) {
    sockets.push_back(std::make_unique<RawUdp>());
    const std::string bytes = readFile(dir / row.file);
    ASSERT_FALSE(bytes.empty()) << row.file;
    ASSERT_TRUE(sockets.back()->send(bytes, ports_.proxy)) << row.file;
  }
  const auto sent = Clock::now();
  waitFor(
      [&] {
        bool all = true;
        for (size_t i = 0; i < std::size(kRows); ++i) {
          for (auto& m : responses(*sockets[i])) got[i].push_back(m);
          if (kRows[i].udp != kNoAnswer && got[i].empty()) all = false;
        }
        // Rows that must get nothing have had their chance once the others are answered and
        // half a second has gone by.
        return all && Clock::now() - sent >= milliseconds(500);
      },
      milliseconds(5000));

  // Over TCP, for the messages whose top Via says TCP.
  std::vector<std::string> tcpGot(std::size(kRows));
  {
    std::vector<std::unique_ptr<RawTcp>> connections(std::size(kRows));
    for (size_t i = 0; i < std::size(kRows); ++i) {
      if (kRows[i].tcp == kNotSent) continue;
      connections[i] = std::make_unique<RawTcp>(ports_.proxy);
      ASSERT_TRUE(connections[i]->ok()) << kRows[i].file;
      ASSERT_TRUE(connections[i]->send(readFile(dir / kRows[i].file))) << kRows[i].file;
    }
    for (size_t i = 0; i < std::size(kRows); ++i)
      if (connections[i]) tcpGot[i] = connections[i]->receive(milliseconds(1000));
  }

  std::string table = "message | RFC 4475 | UDP: expected / got | TCP: expected / got | why\n";
  for (size_t i = 0; i < std::size(kRows); ++i) {
    const TortureRow& row = kRows[i];
    const int udp = got[i].empty() ? kNoAnswer : statusOf(got[i].front());
    const int tcp = row.tcp == kNotSent ? kNotSent : statusOf(tcpGot[i]);
    table += std::string(row.file) + " | " + row.section + " | " + statusText(row.udp) + " / " +
             statusText(udp) + " | " + statusText(row.tcp) + " / " + statusText(tcp) + " | " +
             row.why + "\n";
    EXPECT_EQ(udp, row.udp) << row.file << " over UDP (" << row.why << "): got "
                            << (got[i].empty() ? "nothing" : startLine(got[i].front()));
    if (row.tcp != kNotSent) {
      EXPECT_EQ(tcp, row.tcp) << row.file << " over TCP (" << row.why << "): got\n" << tcpGot[i];
    }
    // An INVITE sosproxy takes gets its 100 and nothing more while the carrier is silent.
    if (row.udp == 100) {
      EXPECT_EQ(got[i].size(), 1u) << row.file;
    }
  }
  std::printf("%s", table.c_str());

  // What reached the carrier: one INVITE per relayed message (UDP and TCP), each with a
  // Request-URI sosproxy wrote (user@trunk), never the odd ones of the torture messages.
  int relayed = 0;
  for (const TortureRow& row : kRows) relayed += (row.udp == 100) + (row.tcp == 100);
  EXPECT_TRUE(waitFor([&] { return carrier.receivedStartingWith("INVITE ") >= relayed; },
                      milliseconds(5000)))
      << carrier.receivedStartingWith("INVITE ") << " of " << relayed;
  const std::regex clean("INVITE sip:[^ ?<>;]*@127\\.0\\.0\\.1:[0-9]+ SIP/2\\.0");
  for (const std::string& line : carrier.startLines())
    if (line.rfind("INVITE ", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, clean)) << line;
    }

  // Still standing: an OPTIONS after all of it is answered.
  RawUdp monitor;
  RawRequest options;
  options.method = "OPTIONS";
  options.requestUri = "sip:127.0.0.1:" + std::to_string(ports_.proxy);
  options.callId = "torture-after";
  options.branch = "z9hG4bK-torture-after";
  ASSERT_TRUE(monitor.send(buildRequest(options, monitor.ip(), monitor.port()), ports_.proxy));
  const auto ok = monitor.receive(milliseconds(5000));
  ASSERT_TRUE(ok);
  EXPECT_EQ(statusOf(*ok), 200);
}

}  // namespace
}  // namespace sos::itest
