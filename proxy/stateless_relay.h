#pragma once
// Ordinary calls relayed as a stateless proxy (edge.ordinary_relay: stateless; RFC 3261 16.11).
// An ordinary call's INVITE over UDP goes to the UDP carrier trunk with sosproxy's Via on top and
// its Record-Route, so that the dialog's requests come back through here; responses go back by
// their Via; nothing is kept between messages. The responses and the dialog's requests are
// taken off the SIP port before Sofia reads them (proxy/relay_tap.h) and relayed as bytes. The
// Via's branch is derived from the incoming one with a key made at the start, so that a
// retransmission, its CANCEL and the ACK of a failure leave with the branch of their INVITE, and so
// that a response is relayed only when its top Via is one this relay put there (a spoofed response
// is dropped, not reflected).
//
// The Record-Route carries a dialog token (";tok=", 16 hex digits of a SipHash-2-4 with the
// same key, over the direction, the Call-ID and the far end's Contact host and port): in the
// INVITE, toward the phone over its Contact; rewritten in the INVITE's 1xx and 2xx responses
// with a Contact (RFC 3261 16.7 step 4), toward the carrier over the answerer's. A dialog's
// request whose token matches its direction and destination is one the dialog's other end sent
// to the address that end was given, so a carrier that answers from another address than its
// trunk's (its Contact elsewhere) still gets, and sends, the dialog's requests; a token made by
// another run of sosproxy matches nothing.
//
// The edge (proxy/edge.cpp) decides what comes here: the trust of sources and destinations and
// the ordinary-call limits are its. SIP thread only.

#include <openssl/evp.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/relay_tap.h"
#include "proxy/sip_wire.h"
#include "proxy/sofia.h"

namespace sos::proxy {

// SipHash-2-4 (Aumasson and Bernstein, 2012; OpenSSL's), a pseudorandom function made for short
// inputs, with a key given once: the relay's branches and dialog tokens, 16 hex digits each, of
// which a phone that sees them learns nothing of the key (unlike a keyed hash such as FNV, which
// can be run backwards from one output). The key's bytes are folded into SipHash's 128 bits
// (XORed in 16-byte blocks). About 140 ns a branch, where HMAC-SHA256 took 330. One thread at a
// time.
class RelayMac {
 public:
  explicit RelayMac(std::string_view key);
  ~RelayMac();
  RelayMac(const RelayMac&) = delete;
  RelayMac& operator=(const RelayMac&) = delete;
  // The SipHash-2-4 of `text`, its 8 bytes in hex (16 digits). Empty when OpenSSL fails: a
  // branch or token made of it is never one this relay checks.
  std::string hex16(std::string_view text) const;

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;  // null: OpenSSL refused (every MAC is then empty)
};

// The branch the relay gives a request whose top Via carries `incoming` (the request's own
// branch, or for a request with none, its Call-ID and CSeq): "z9hG4bKsl" and the MAC of
// "branch\n" and `incoming`.
std::string relayBranch(const RelayMac& mac, std::string_view incoming);
// Is `branch` one relayBranch(mac, incoming) made?
bool isRelayBranch(const RelayMac& mac, std::string_view branch, std::string_view incoming);

class StatelessRelay {
 public:
  // What was relayed, counted before it leaves (whoever received it sees it counted).
  struct Counts {
    std::atomic<uint64_t>& initial;    // INVITEs, their CANCELs and ACKs
    std::atomic<uint64_t>& inDialog;   // requests of relayed dialogs
    std::atomic<uint64_t>& responses;  // responses
  };
  // `host` and `port`: sosproxy's UDP address as its Via and the Record-Route name it. What
  // the relay sends leaves from `tap`'s sockets (the SIP port's).
  StatelessRelay(nta_agent_t* agent, std::string host, std::string port, const RelayTap& tap,
                 Counts counts);

  // What a request forwarded by forwardInitial had taken out (the edge decides it).
  struct Unvouched {
    bool identity = false;          // P-Asserted-Identity from outside pbx_sources
    bool networkMark = false;       // "network-provided" P-Access-Network-Info from elsewhere
    std::string accessNetworkInfo;  // with networkMark: the P-Access-Network-Info that goes
  };
  // An ordinary call's INVITE, or the CANCEL or ACK of one, as Sofia read it: a Route naming
  // sosproxy removed, Max-Forwards counted down, what the source cannot vouch for removed,
  // sosproxy's Via and (INVITE) Record-Route added, and sent to `host`:`port` (the carrier
  // trunk). Takes `msg`. Returns the status answered instead (483)
  // or 0; false-y sends are logged.
  int forwardInitial(msg_t* msg, sip_t* sip, const std::string& host, uint16_t port,
                     const Unvouched& drop);

  // The relay's datagrams as bytes (proxy/sip_wire.h), read by the edge:
  // Does the request's top Route name this relay's Record-Route (a request of a dialog it
  // relayed)?
  bool routedHere(const wire::Message& m) const;
  // Where the request goes once the top Route is popped: the next loose Route's host and port,
  // or the Request-URI's. False when neither is a sip: URI.
  static bool nextHop(const wire::Message& m, std::string_view& host, std::string_view& port);
  // Which end of a relayed dialog a token lets requests reach: the phone (the INVITE's token,
  // over its Contact) or the carrier (the answer's, over the carrier's Contact).
  enum class Toward { Phone, Carrier };
  // Does the top Route's dialog token name `host`:`port` (nextHop's) for the request's Call-ID,
  // toward that end?
  bool tokenAllows(const wire::Message& m, Toward toward, std::string_view host,
                   std::string_view port) const;
  // The dialog token of `callId` toward `host`:`port` (no port: 5060).
  std::string dialogToken(Toward toward, std::string_view callId, std::string_view host,
                          std::string_view port) const;
  // A request of such a dialog from `from`: the top Route popped, Max-Forwards counted down,
  // sosproxy's Via on top, sent to `host`:`port`. Returns the status answered instead (483;
  // none for an ACK) or 0.
  int forwardInDialog(const wire::Message& m, const Peer& from, std::string_view host,
                      uint16_t port);
  // Is the response's top Via one this relay put there (its address, and a branch its key made
  // for the Via below)?
  bool sentByUs(const wire::Message& m) const;
  // Such a response: the Via removed, sent to the next one (its received and rport).
  void forwardResponse(const wire::Message& m);
  // Answers the request `m` from `from` with `status` and no body.
  void answer(const wire::Message& m, const Peer& from, int status, std::string_view phrase);
  // sosproxy's Via with `branch`, and its Record-Route value with `token` when not empty (the
  // emergency relay's requests carry them too).
  std::string viaValue(std::string_view branch) const;
  std::string recordRoute(std::string_view token) const;
  const std::string& host() const { return host_; }

 private:
  // The sender's Via as it goes on: ";received=" when it named another address, its bare rport
  // filled in (RFC 3261 18.2.1, RFC 3581).
  struct SenderVia {
    std::string suffix;
    std::string rport;
  };
  static SenderVia senderVia(const wire::Message& m, const Peer& from);
  // The Via below the top one (in the same header line or the next Via line); empty: none.
  static std::string_view secondVia(const wire::Message& m);

  nta_agent_t* agent_;
  std::string host_;
  std::string port_;
  const RelayTap& tap_;
  Counts counts_;
  // A response's Record-Route rewritten for the phone's side of the dialog (see above), or "".
  std::string answerersRecordRoute(const wire::Message& m) const;

  RelayMac mac_;     // keyed with 32 random bytes made at the start
  std::string out_;  // the datagram being written
};

}  // namespace sos::proxy
