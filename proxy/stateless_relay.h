#pragma once
// Ordinary calls relayed as a stateless proxy (edge.ordinary_relay: stateless; RFC 3261 16.11).
// An ordinary call's INVITE over UDP goes to the UDP carrier trunk with sosproxy's Via on top and
// its Record-Route, so that the dialog's requests come back through here; responses go back by
// their Via; nothing is kept between messages. The Via's branch is derived from the incoming
// one with a key made at the start, so that a retransmission, its CANCEL and the ACK of a
// failure leave with the branch of their INVITE, and so that a response is relayed only when
// its top Via is one this relay put there (a spoofed response is dropped, not reflected).
//
// The edge (proxy/edge.cpp) decides what comes here: the trust of sources and destinations and
// the ordinary-call limits are its. SIP thread only.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "proxy/sofia.h"

namespace sos::proxy {

// The branch the relay gives a request whose top Via carries `incoming` (the request's own
// branch, or for a request with none, its Call-ID and CSeq): "z9hG4bKsl" and 16 hex digits
// keyed by `key`.
std::string relayBranch(uint64_t key, std::string_view incoming);
// Is `branch` one relayBranch(key, incoming) made?
bool isRelayBranch(uint64_t key, std::string_view branch, std::string_view incoming);

class StatelessRelay {
 public:
  // `host` and `port`: sosproxy's UDP address as its Via and the Record-Route name it.
  StatelessRelay(nta_agent_t* agent, std::string host, std::string port);

  // What a request forwarded by forwardInitial had taken out (the edge decides it).
  struct Unvouched {
    bool identity = false;          // P-Asserted-Identity from outside pbx_sources
    bool networkMark = false;       // "network-provided" P-Access-Network-Info from elsewhere
    std::string accessNetworkInfo;  // with networkMark: the P-Access-Network-Info that goes
  };
  // An ordinary call's INVITE, or the CANCEL or ACK of one: a Route naming sosproxy removed,
  // Max-Forwards counted down, what the source cannot vouch for removed, sosproxy's
  // Record-Route added (INVITE), and sent to `nextHop` (nextHopFor(carrier)). Takes `msg`.
  // Returns the status answered instead (483) or 0; false-y sends are logged.
  int forwardInitial(msg_t* msg, sip_t* sip, const std::string& nextHop, const Unvouched& drop);

  // Does the request's top Route name this relay's Record-Route (a request of a dialog it
  // relayed)?
  bool routedHere(const sip_t* sip) const;
  // The host the request goes to once the top Route is popped: the next loose Route's host, or
  // the Request-URI's.
  static std::string nextHost(const sip_t* sip);
  // A request of such a dialog: the top Route popped, Max-Forwards counted down, sent on.
  // Takes `msg`; returns the status answered instead (483) or 0.
  int forwardInDialog(msg_t* msg, sip_t* sip);

  // A response whose top Via this relay put there: the Via removed, sent to the next one.
  // Takes `msg` when it returns true; false: not ours, `msg` untouched.
  bool forwardResponse(msg_t* msg, sip_t* sip);

 private:
  bool viaIsOurs(const sip_via_t* via) const;
  int send(msg_t* msg, sip_t* sip, const char* nextHop);
  std::string incomingBranch(const sip_t* sip) const;

  nta_agent_t* agent_;
  std::string host_;
  std::string port_;
  std::string recordRoute_;
  uint64_t key_;
};

}  // namespace sos::proxy
